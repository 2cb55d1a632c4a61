//! Notional, fees and apportioning, in exact integer arithmetic.
//!
//! Every function here is total over its integer domain: results that cannot be represented
//! are errors, never wrapped values, and every rounding is chosen by the caller and done once.
//! The module builds without `std` so on-chain programs compute the very same amounts.

use alloc::vec::Vec;

use crate::error::CoreError;

/// Basis points in one whole: a fee of `bps` takes `bps / 10_000` of the notional.
pub const BPS_DENOMINATOR: u16 = 10_000;

/// How a division that does not come out even is rounded. All amounts rounded here are
/// non-negative, so "down" is toward zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    Down,
    Up,
    /// To the nearest unit; an exact half goes to the even neighbour.
    HalfEven,
}

/// Who is charged the fee of a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeePayer {
    Buyer,
    Seller,
    /// Both halves of one fee; the buyer pays the odd base unit.
    Split,
}

/// Payment base units of `qty` lots at `price` ticks. Exact: `u64 * i64` always fits in `i128`.
pub const fn notional(qty: u64, price: i64) -> i128 {
    // |qty * price| < 2^64 * 2^63 = 2^127: the magnitude fits i128.
    let magnitude = wide::mul(qty, price.unsigned_abs()) as i128;
    if price < 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// `value * num / den`, rounded, for `num <= den`; never overflows because the quotient is
/// split before multiplying.
fn scale(value: u128, num: u32, den: u32, rounding: Rounding) -> u128 {
    debug_assert!(num <= den && den > 0);
    let (q, r) = wide::div(value, den);
    // q * num <= value; r * num < den * num < 2^64.
    let part = r as u64 * num as u64;
    let exact = wide::mul_small(q, num) + (part / den as u64) as u128;
    let rem = part % den as u64;
    let up = match rounding {
        Rounding::Down => false,
        Rounding::Up => rem > 0,
        Rounding::HalfEven => {
            let twice = rem * 2;
            twice > den as u64 || (twice == den as u64 && exact & 1 == 1)
        }
    };
    exact + up as u128
}

/// 128-bit products and quotients from 64-bit operations only: the SBF target of on-chain
/// programs cannot lower a 128-bit multiply or divide, and these are the money functions the
/// trading program shares. Shifts of 128-bit values are by constants (variable ones become
/// library calls there too).
mod wide {
    const LOW: u64 = 0xffff_ffff;

    /// `a * b` by 32-bit halves.
    pub const fn mul(a: u64, b: u64) -> u128 {
        let (a_hi, a_lo, b_hi, b_lo) = (a >> 32, a & LOW, b >> 32, b & LOW);
        let middle = (a_hi * b_lo) as u128 + (a_lo * b_hi) as u128;
        (((a_hi * b_hi) as u128) << 64) + (middle << 32) + (a_lo * b_lo) as u128
    }

    /// `a * b` for a product the caller knows fits in u128.
    pub const fn mul_small(a: u128, b: u32) -> u128 {
        mul(a as u64, b as u64) + (mul((a >> 64) as u64, b as u64) << 64)
    }

    /// `(a / d, a % d)` by dividing 32-bit limbs from the top: each step divides a u64.
    pub const fn div(a: u128, d: u32) -> (u128, u32) {
        let d = d as u64;
        let limbs = [(a >> 96) as u64 & LOW, (a >> 64) as u64 & LOW, (a >> 32) as u64 & LOW, a as u64 & LOW];
        let mut quotient = [0u64; 4];
        let mut rem = 0u64;
        let mut i = 0;
        while i < 4 {
            let current = (rem << 32) | limbs[i];
            quotient[i] = current / d;
            rem = current % d;
            i += 1;
        }
        let q = ((quotient[0] as u128) << 96)
            | ((quotient[1] as u128) << 64)
            | ((quotient[2] as u128) << 32)
            | quotient[3] as u128;
        (q, rem as u32)
    }
}

/// The fee on a trade of `notional` base units: `|notional| * bps / 10_000`, rounded once.
/// Fees are never negative; a negative price moves money the other way but still costs a fee.
pub fn fee(notional: i128, bps: u16, rounding: Rounding) -> Result<u128, CoreError> {
    check_bps(bps)?;
    Ok(scale(notional.unsigned_abs(), bps.into(), BPS_DENOMINATOR.into(), rounding))
}

fn check_bps(bps: u16) -> Result<(), CoreError> {
    if bps > BPS_DENOMINATOR {
        return Err(CoreError::InvalidParameter {
            name: "fee_bps",
            value: alloc::format!("{bps}"),
            reason: "must be at most 10000 (100%)",
        });
    }
    Ok(())
}

/// What one trade moves, in payment base units. Conserving by construction:
/// `buyer_pays == seller_receives + buyer_fee + seller_fee`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeAmounts {
    pub notional: i128,
    /// Negative when the price is negative: the buyer is paid to take the energy.
    pub buyer_pays: i128,
    pub seller_receives: i128,
    pub buyer_fee: i128,
    pub seller_fee: i128,
}

impl FeePayer {
    pub fn from_name(name: &str) -> Option<FeePayer> {
        Some(match name {
            "buyer" => FeePayer::Buyer,
            "seller" => FeePayer::Seller,
            "split" => FeePayer::Split,
            _ => return None,
        })
    }
}

impl Rounding {
    pub fn from_name(name: &str) -> Option<Rounding> {
        Some(match name {
            "down" => Rounding::Down,
            "up" => Rounding::Up,
            "half_even" => Rounding::HalfEven,
            _ => return None,
        })
    }
}

impl TradeAmounts {
    pub const fn fee(&self) -> i128 {
        self.buyer_fee + self.seller_fee
    }
}

/// Splits a trade of `qty` lots at `price` ticks into what the buyer pays, what the seller
/// receives and the fee, rounding the fee once with `rounding`.
pub fn trade_amounts(
    qty: u64,
    price: i64,
    bps: u16,
    payer: FeePayer,
    rounding: Rounding,
) -> Result<TradeAmounts, CoreError> {
    split(notional(qty, price), bps, payer, rounding)
}

/// [`trade_amounts`] for a notional already in payment base units (a market whose tick is
/// worth several base units scales `qty * price` first).
pub fn split(notional: i128, bps: u16, payer: FeePayer, rounding: Rounding) -> Result<TradeAmounts, CoreError> {
    // A fee is at most the notional's magnitude, which is below 2^127: the cast is exact.
    let total = fee(notional, bps, rounding)? as i128;
    let (buyer_fee, seller_fee) = match payer {
        FeePayer::Buyer => (total, 0),
        FeePayer::Seller => (0, total),
        FeePayer::Split => (total - total / 2, total / 2),
    };
    let overflow = || CoreError::Overflow { what: "trade amount", ty: "i128" };
    Ok(TradeAmounts {
        notional,
        buyer_pays: notional.checked_add(buyer_fee).ok_or_else(overflow)?,
        seller_receives: notional.checked_sub(seller_fee).ok_or_else(overflow)?,
        buyer_fee,
        seller_fee,
    })
}

/// Divides `total` among `weights` in proportion, by largest remainder: everyone gets the floor
/// of their exact share, and the units left over go one each to the largest remainders, ties to
/// the earlier position. The parts sum to `total` exactly. When `total` does not exceed the sum
/// of the weights, no part exceeds its weight.
pub fn apportion(total: u64, weights: &[u64]) -> Result<Vec<u64>, CoreError> {
    let sum: u128 = weights.iter().map(|&w| w as u128).sum();
    if sum == 0 {
        if total == 0 {
            return Ok(alloc::vec![0; weights.len()]);
        }
        return Err(CoreError::InvalidParameter {
            name: "weights",
            value: alloc::format!("{} weights summing to 0", weights.len()),
            reason: "cannot apportion a positive total over zero weight",
        });
    }
    Ok(largest_remainder(total, weights, sum))
}

/// [`apportion`] for weights known to sum to `sum > 0`.
pub(crate) fn largest_remainder(total: u64, weights: &[u64], sum: u128) -> Vec<u64> {
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: u64 = 0;
    for (pos, &w) in weights.iter().enumerate() {
        // total * w < 2^128, and the share is at most `total`.
        let exact = total as u128 * w as u128;
        let part = (exact / sum) as u64;
        parts.push(part);
        given += part;
        let rem = exact % sum;
        if rem > 0 {
            remainders.push((rem, pos));
        }
    }
    let left = (total - given) as usize;
    // Largest remainder first; equal remainders keep their order (earlier position first).
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, pos) in remainders.iter().take(left) {
        parts[pos] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_arithmetic_is_the_native_one() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let (a, b) = if round % 4 == 0 { (u64::MAX - next() % 3, u64::MAX - next() % 3) } else { (next(), next()) };
            assert_eq!(wide::mul(a, b), a as u128 * b as u128);
            let big = ((next() as u128) << 64 | next() as u128) >> (next() % 2);
            let d = (next() as u32).max(1) >> (next() % 31);
            let d = d.max(1);
            assert_eq!(wide::div(big, d), (big / d as u128, (big % d as u128) as u32));
            let small = big >> 40;
            let m = (next() % 1_000_001) as u32;
            assert_eq!(wide::mul_small(small, m), small * m as u128);
        }
        assert_eq!(wide::div(u128::MAX, 1), (u128::MAX, 0));
        assert_eq!(wide::div(u128::MAX, u32::MAX), (u128::MAX / u32::MAX as u128, 0));
    }

    #[test]
    fn notional_is_exact_at_the_extremes() {
        assert_eq!(notional(u64::MAX, i64::MIN), -(u64::MAX as i128) * (1i128 << 63));
        assert_eq!(notional(3, -7), -21);
    }

    #[test]
    fn fee_rounds_as_asked() {
        // 1% of 150 = 1.5
        assert_eq!(fee(150, 100, Rounding::Down).unwrap(), 1);
        assert_eq!(fee(150, 100, Rounding::Up).unwrap(), 2);
        assert_eq!(fee(150, 100, Rounding::HalfEven).unwrap(), 2);
        assert_eq!(fee(250, 100, Rounding::HalfEven).unwrap(), 2);
        assert_eq!(fee(251, 100, Rounding::HalfEven).unwrap(), 3);
        assert_eq!(fee(-150, 100, Rounding::Up).unwrap(), 2);
        assert_eq!(fee(i128::MIN + 1, 10_000, Rounding::Up).unwrap(), i128::MAX as u128);
    }

    #[test]
    fn fee_above_one_hundred_percent_is_refused() {
        assert!(matches!(
            fee(1, 10_001, Rounding::Down),
            Err(CoreError::InvalidParameter { name: "fee_bps", .. })
        ));
    }

    #[test]
    fn trade_amounts_conserve() {
        for payer in [FeePayer::Buyer, FeePayer::Seller, FeePayer::Split] {
            for price in [-17, 0, 1, 333] {
                let t = trade_amounts(7, price, 125, payer, Rounding::Up).unwrap();
                assert_eq!(t.buyer_pays, t.seller_receives + t.fee());
                assert!(t.buyer_fee >= 0 && t.seller_fee >= 0);
            }
        }
        let split = trade_amounts(1, 300, 100, FeePayer::Split, Rounding::Down).unwrap();
        assert_eq!((split.buyer_fee, split.seller_fee), (2, 1));
    }

    #[test]
    fn apportion_by_largest_remainder() {
        assert_eq!(apportion(10, &[1, 1, 1]).unwrap(), [4, 3, 3]);
        assert_eq!(apportion(5, &[3, 3, 4]).unwrap(), [2, 1, 2]);
        assert_eq!(apportion(0, &[0, 0]).unwrap(), [0, 0]);
        assert!(apportion(1, &[0]).is_err());
        let big = apportion(u64::MAX, &[u64::MAX, u64::MAX]).unwrap();
        assert_eq!(big[0] as u128 + big[1] as u128, u64::MAX as u128);
    }
}
