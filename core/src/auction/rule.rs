//! The price rule and the allocation rule of a call auction, and their names.

use alloc::format;

use crate::error::CoreError;

/// How the clearing price is picked from the prices that maximise executable volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PriceRule {
    /// `lo + floor(k * (hi - lo))` over the best-price interval `[lo, hi]`, with `k = num / den`
    /// in lowest terms.
    K { num: u64, den: u64 },
    /// The call-auction rule of continental equity exchanges (Xetra T7): limit prices as
    /// candidates, surplus and a reference price as tie-breakers.
    Exchange,
}

impl PriceRule {
    pub const MIDPOINT: PriceRule = PriceRule::K { num: 1, den: 2 };
    pub const MARGINAL_ASK: PriceRule = PriceRule::K { num: 0, den: 1 };
    pub const MARGINAL_BID: PriceRule = PriceRule::K { num: 1, den: 1 };

    /// The k-rule with `k = num / den`, which must lie in `[0, 1]`.
    pub fn k(num: u64, den: u64) -> Result<Self, CoreError> {
        if den == 0 || num > den {
            return Err(CoreError::InvalidParameter {
                name: "k",
                value: format!("{num}/{den}"),
                reason: "k = a/b needs b > 0 and 0 <= a/b <= 1",
            });
        }
        let g = gcd(num, den);
        Ok(PriceRule::K { num: num / g, den: den / g })
    }

    pub fn from_name(name: &str) -> Result<Self, CoreError> {
        match name {
            "midpoint" => Ok(Self::MIDPOINT),
            "marginal_ask" => Ok(Self::MARGINAL_ASK),
            "marginal_bid" => Ok(Self::MARGINAL_BID),
            "exchange" => Ok(Self::Exchange),
            _ => Err(CoreError::InvalidParameter {
                name: "rule",
                value: format!("{name:?}"),
                reason: "expected midpoint, marginal_ask, marginal_bid, exchange or PriceRule.k(a, b)",
            }),
        }
    }

    /// The rule's name, for the named rules.
    pub const fn name(&self) -> Option<&'static str> {
        match *self {
            PriceRule::Exchange => Some("exchange"),
            PriceRule::K { num: 1, den: 2 } => Some("midpoint"),
            PriceRule::K { num: 0, den: 1 } => Some("marginal_ask"),
            PriceRule::K { num: 1, den: 1 } => Some("marginal_bid"),
            PriceRule::K { .. } => None,
        }
    }
}

impl core::fmt::Display for PriceRule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match (self.name(), self) {
            (Some(name), _) => f.write_str(name),
            (None, PriceRule::K { num, den }) => write!(f, "k({num}/{den})"),
            (None, PriceRule::Exchange) => unreachable!("exchange is named"),
        }
    }
}

const fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// How the one partly filled price level on the long side shares the remaining volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Allocation {
    /// Earlier `ts` first, then lower id.
    #[default]
    Time,
    /// In proportion to quantity, largest remainder first, ties by time priority.
    ProRata,
}

impl Allocation {
    pub fn from_name(name: &str) -> Result<Self, CoreError> {
        match name {
            "time" => Ok(Allocation::Time),
            "pro_rata" => Ok(Allocation::ProRata),
            _ => Err(CoreError::InvalidParameter {
                name: "allocation",
                value: format!("{name:?}"),
                reason: "expected time or pro_rata",
            }),
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Allocation::Time => "time",
            Allocation::ProRata => "pro_rata",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_is_reduced_and_bounded() {
        assert_eq!(PriceRule::k(2, 4).unwrap(), PriceRule::MIDPOINT);
        assert_eq!(PriceRule::k(0, 7).unwrap(), PriceRule::MARGINAL_ASK);
        assert_eq!(PriceRule::k(5, 5).unwrap(), PriceRule::MARGINAL_BID);
        assert!(PriceRule::k(3, 2).is_err());
        assert!(PriceRule::k(0, 0).is_err());
        assert_eq!(alloc::string::ToString::to_string(&PriceRule::k(2, 6).unwrap()), "k(1/3)");
    }

    #[test]
    fn names_round_trip() {
        for name in ["midpoint", "marginal_ask", "marginal_bid", "exchange"] {
            assert_eq!(PriceRule::from_name(name).unwrap().name(), Some(name));
        }
        assert!(PriceRule::from_name("mid").is_err());
        assert_eq!(Allocation::from_name("pro_rata").unwrap(), Allocation::ProRata);
        assert!(Allocation::from_name("fifo").is_err());
    }
}
