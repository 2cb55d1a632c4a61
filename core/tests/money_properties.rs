//! Properties of the money module: fees, trade amounts and apportioning (README.md, "Money").
//!
//! Expectations are computed here from the definitions with arithmetic written independently
//! of the crate (an exact long division for `|notional| * bps / 10_000`, largest remainder by
//! sorting). Cases per property: `PROPTEST_CASES` (default [`DEFAULT_CASES`]). Failures persist
//! to `tests/proptest-regressions/money_properties.txt`.

use std::cmp::Reverse;

use gridmatch_core::money::{apportion, fee, notional, trade_amounts, FeePayer, Rounding, BPS_DENOMINATOR};
use gridmatch_core::CoreError;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Cases per property when `PROPTEST_CASES` is not set: the module is cheap, so many.
const DEFAULT_CASES: u32 = 2048;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/money_properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn quantity() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0u64..1_000,
        2 => any::<u64>(),
        1 => (0u64..16).prop_map(|d| u64::MAX - d),
        1 => (0u32..64).prop_map(|s| 1u64 << s),
    ]
}

fn price() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => -1_000i64..1_000,
        2 => any::<i64>(),
        1 => (0i64..16).prop_map(|d| i64::MIN + d),
        1 => (0i64..16).prop_map(|d| i64::MAX - d),
    ]
}

/// Notionals of real trades (`qty * price`), anything in i128, and the ends of i128.
fn any_notional() -> impl Strategy<Value = i128> {
    prop_oneof![
        3 => -100_000i128..100_000,
        3 => (quantity(), price()).prop_map(|(q, p)| q as i128 * p as i128),
        2 => any::<i128>(),
        1 => prop_oneof![Just(i128::MIN), Just(i128::MIN + 1), Just(i128::MAX), Just(0)],
        // Exact multiples of 10_000 and their neighbours: where rounding switches.
        1 => (-1_000_000i128..1_000_000, -1i128..=1).prop_map(|(k, d)| k * 10_000 + d),
    ]
}

fn bps() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => 0u16..=BPS_DENOMINATOR,
        1 => prop_oneof![Just(0u16), Just(1), Just(100), Just(5_000), Just(9_999), Just(BPS_DENOMINATOR)],
    ]
}

fn rounding() -> impl Strategy<Value = Rounding> {
    prop_oneof![Just(Rounding::Down), Just(Rounding::Up), Just(Rounding::HalfEven)]
}

fn payer() -> impl Strategy<Value = FeePayer> {
    prop_oneof![Just(FeePayer::Buyer), Just(FeePayer::Seller), Just(FeePayer::Split)]
}

fn weight() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..10,
        2 => any::<u64>(),
        1 => Just(u64::MAX),
        1 => Just(0u64),
    ]
}

/// Weights, and a total: anything, small, a fraction of the weights' sum, the sum itself, or
/// a little more than the sum.
fn apportion_input() -> impl Strategy<Value = (u64, Vec<u64>)> {
    (vec(weight(), 0..30), 0u8..5, any::<u64>(), 0u64..=1_000).prop_map(|(weights, how, raw, per_mille)| {
        let sum: u128 = weights.iter().map(|&w| w as u128).sum();
        let clip = |x: u128| x.min(u64::MAX as u128) as u64;
        let total = match how {
            0 => raw,
            1 => raw % 100,
            2 => clip(sum * per_mille as u128 / 1_000),
            3 => clip(sum),
            _ => clip(sum + (raw % 5) as u128),
        };
        (total, weights)
    })
}

// ---------------------------------------------------------------------------------------------
// Exact arithmetic from the definitions
// ---------------------------------------------------------------------------------------------

/// `(x * m) / d` and `(x * m) % d` exactly, for `m <= d <= 2^16`, without forming `x * m`
/// (which may not fit in u128): long division of x's 32-bit digits, most significant first.
/// Invariant: (the digits of x read so far) * m == q * d + r, with r < d.
fn mul_div_rem(x: u128, m: u128, d: u128) -> (u128, u128) {
    assert!(m <= d && d > 0 && d <= 1 << 16);
    let (mut q, mut r) = (0u128, 0u128);
    for shift in [96u32, 64, 32, 0] {
        let digit = (x >> shift) & 0xffff_ffff;
        let t = (r << 32) + digit * m; // < 2^16 * 2^32 + 2^32 * 2^16
        q = (q << 32) + t / d;
        r = t % d;
    }
    (q, r)
}

/// The fee of README.md, "Money": |notional| * bps / 10_000 rounded once as asked.
fn expected_fee(notional: i128, bps: u16, rounding: Rounding) -> u128 {
    let d = BPS_DENOMINATOR as u128;
    let (q, r) = mul_div_rem(notional.unsigned_abs(), bps as u128, d);
    let up = match rounding {
        Rounding::Down => false,
        Rounding::Up => r > 0,
        Rounding::HalfEven => 2 * r > d || (2 * r == d && q % 2 == 1),
    };
    q + up as u128
}

proptest! {
    #![proptest_config(config())]

    /// The long division above agrees with plain multiplication wherever that fits.
    #[test]
    fn long_division_matches_plain_arithmetic(x in 0u128..(1u128 << 112), bps in bps()) {
        let product = x * bps as u128;
        prop_assert_eq!(mul_div_rem(x, bps as u128, 10_000), (product / 10_000, product % 10_000));
    }

    /// `fee` is |notional| * bps / 10_000 rounded as asked; it never exceeds |notional|;
    /// Down <= HalfEven <= Up and Up - Down <= 1; the sign of the notional does not matter.
    #[test]
    fn fee_is_the_rounded_share_of_the_notional(n in any_notional(), bps in bps()) {
        let [down, half_even, up] = [Rounding::Down, Rounding::HalfEven, Rounding::Up]
            .map(|r| fee(n, bps, r).expect("bps <= 10000 is valid"));
        prop_assert_eq!(down, expected_fee(n, bps, Rounding::Down));
        prop_assert_eq!(half_even, expected_fee(n, bps, Rounding::HalfEven));
        prop_assert_eq!(up, expected_fee(n, bps, Rounding::Up));
        prop_assert!(down <= half_even && half_even <= up && up - down <= 1, "{} {} {}", down, half_even, up);
        prop_assert!(up <= n.unsigned_abs());
        if bps == 0 {
            prop_assert_eq!(up, 0);
        }
        if bps == BPS_DENOMINATOR {
            prop_assert_eq!(down, n.unsigned_abs());
        }
        if n != i128::MIN {
            for r in [Rounding::Down, Rounding::HalfEven, Rounding::Up] {
                prop_assert_eq!(fee(-n, bps, r), fee(n, bps, r));
            }
        }
    }

    /// More than 100% is refused, naming the parameter.
    #[test]
    fn fee_above_one_hundred_percent_is_refused(
        n in any_notional(),
        bps in prop_oneof![Just(BPS_DENOMINATOR + 1), BPS_DENOMINATOR + 1..=u16::MAX],
        r in rounding(),
    ) {
        let got = fee(n, bps, r);
        prop_assert!(matches!(got, Err(CoreError::InvalidParameter { name: "fee_bps", .. })), "got {:?}", got);
        let got = trade_amounts(1, 1, bps, FeePayer::Buyer, r);
        prop_assert!(matches!(got, Err(CoreError::InvalidParameter { name: "fee_bps", .. })), "got {:?}", got);
    }

    /// `notional` is the exact product, negative for negative prices.
    #[test]
    fn notional_is_exact(q in quantity(), p in price()) {
        let n = notional(q, p);
        prop_assert_eq!(n, q as i128 * p as i128);
        prop_assert_eq!(n.signum(), if q == 0 { 0 } else { p.signum() as i128 });
    }

    /// `trade_amounts` conserves: buyer_pays == seller_receives + fee, for every payer and any
    /// price (negative too); the fee is `fee(notional)` and lands where the payer says. When
    /// buyer_pays or seller_receives cannot be represented in i128 the answer is an overflow
    /// error, and only then.
    #[test]
    fn trade_amounts_conserve(q in quantity(), p in price(), bps in bps(), payer in payer(), r in rounding()) {
        let n = q as i128 * p as i128;
        let total = expected_fee(n, bps, r) as i128; // <= |n| < 2^127
        let (buyer_fee, seller_fee) = match payer {
            FeePayer::Buyer => (total, 0),
            FeePayer::Seller => (0, total),
            // both halves; the buyer pays the odd unit
            FeePayer::Split => ((total + 1) / 2, total / 2),
        };
        let got = trade_amounts(q, p, bps, payer, r);
        match (n.checked_add(buyer_fee), n.checked_sub(seller_fee)) {
            (Some(buyer_pays), Some(seller_receives)) => {
                let t = got.expect("representable amounts are not an error");
                prop_assert_eq!(t.notional, n);
                prop_assert_eq!((t.buyer_fee, t.seller_fee), (buyer_fee, seller_fee));
                prop_assert_eq!((t.buyer_pays, t.seller_receives), (buyer_pays, seller_receives));
                prop_assert_eq!(t.fee(), total);
                // conservation, checked without overflow: seller_receives + fee == buyer_pays
                prop_assert_eq!(t.buyer_pays.checked_sub(t.fee()), Some(t.seller_receives));
                prop_assert!(t.buyer_fee >= 0 && t.seller_fee >= 0);
            }
            _ => {
                prop_assert!(matches!(got, Err(CoreError::Overflow { .. })), "got {:?}", got);
            }
        }
    }

    /// `apportion`: the parts sum to the total, each is the floor or the ceiling of its exact
    /// share (the ceiling only when the share is not whole), the leftover units go to the
    /// largest remainders with ties to the earlier position, and no part exceeds its weight
    /// when the total does not exceed the weights' sum. Zero weight takes only a zero total.
    #[test]
    fn apportion_by_largest_remainder((total, weights) in apportion_input()) {
        let sum: u128 = weights.iter().map(|&w| w as u128).sum();
        let got = apportion(total, &weights);
        if sum == 0 {
            if total == 0 {
                prop_assert_eq!(got, Ok(vec![0; weights.len()]));
            } else {
                prop_assert!(matches!(got, Err(CoreError::InvalidParameter { name: "weights", .. })), "got {:?}", got);
            }
            return Ok(());
        }
        let parts = got.expect("positive weight apportions");
        prop_assert_eq!(parts.len(), weights.len());
        prop_assert_eq!(parts.iter().map(|&p| p as u128).sum::<u128>(), total as u128);
        // exact share of position i = total * w_i / sum; total * w_i < 2^128
        let floor = |i: usize| total as u128 * weights[i] as u128 / sum;
        let rem = |i: usize| total as u128 * weights[i] as u128 % sum;
        let mut bumped = Vec::new();
        for (i, &part) in parts.iter().enumerate() {
            let part = part as u128;
            prop_assert!(part == floor(i) || (part == floor(i) + 1 && rem(i) > 0),
                "part {} = {}, exact share {} + {}/{}", i, part, floor(i), rem(i), sum);
            if part > floor(i) {
                bumped.push(i);
            }
            if total as u128 <= sum {
                prop_assert!(part <= weights[i] as u128, "part {} = {} exceeds weight {}", i, part, weights[i]);
            }
        }
        // The bumped positions are exactly the first ones by (largest remainder, position).
        let mut by_remainder: Vec<usize> = (0..weights.len()).filter(|&i| rem(i) > 0).collect();
        by_remainder.sort_by_key(|&i| (Reverse(rem(i)), i));
        let mut expected: Vec<usize> = by_remainder[..bumped.len()].to_vec();
        expected.sort_unstable();
        prop_assert_eq!(bumped, expected);
    }
}
