//! Amounts: what an order escrows and what its result makes it owed, from the core crate's `money` (the
//! engine's own arithmetic), so that on-chain and off-chain amounts agree to the base unit.
//!
//! A price of `p` ticks is `p * tick` payment base units per lot; a fill of `q` lots at `p` has
//! the notional `money::notional(q, p * tick)`, split by `money::split` with the market's fee
//! basis points, fee payer and rounding (exactly the engine's `Market.split(Market.notional(q, p))`).
//!
//! Escrow: `qty` times the worst a single lot can cost at the limit, its fee rounded up and
//! charged whole to the side that pays any of it. An order's result is one notional at the
//! uniform price, split once, so what it takes is at most that: `ceil(q * x) <= q * ceil(x)`,
//! every rounding is at most the upward one, and a price within the limit costs no more than the
//! limit. (A per-lot bound also keeps the escrow independent of how the engine fills.) What is
//! left is claimed once the epoch is finalised or abandoned.
//!
//! Negative prices: the buyer is paid to take the energy and the seller pays, so a sell order
//! with a negative limit escrows payment as well as its GRID; a buy order with a negative limit
//! escrows nothing.

use crate::error::TradingError;
use gridmatch_core::money::{notional, split, FeePayer, Rounding, TradeAmounts, BPS_DENOMINATOR};
use program_support::math::mul_wide;

/// `a * b`, or `None` on overflow. Not `program_support::math::checked_mul`: LLVM turns its
/// division test into `umul.with.overflow` when neither factor is a constant, which the BPF
/// backend lowers to a call to `__multi3` and refuses. The high word of the 128-bit product
/// from 32-bit halves is the test here.
#[inline(always)]
pub fn checked_mul(a: u64, b: u64) -> Option<u64> {
    match mul_wide(a, b) {
        (0, low) => Some(low),
        _ => None,
    }
}

/// A market's rules for amounts. `fee_payer` and `fee_rounding` are borsh indices of
/// [`FeePayer`] (`Buyer`, `Seller`, `Split`) and [`Rounding`] (`Down`, `Up`, `HalfEven`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    pub lot: u64,
    pub tick: u64,
    pub fee_bps: u16,
    pub fee_payer: u8,
    pub fee_rounding: u8,
}

#[inline(always)]
fn payer(index: u8) -> FeePayer {
    match index {
        0 => FeePayer::Buyer,
        1 => FeePayer::Seller,
        _ => FeePayer::Split,
    }
}

#[inline(always)]
fn rounding(index: u8) -> Rounding {
    match index {
        0 => Rounding::Down,
        1 => Rounding::Up,
        _ => Rounding::HalfEven,
    }
}

#[inline(always)]
fn u64_of(value: i128) -> Result<u64, TradingError> {
    u64::try_from(value).map_err(|_| TradingError::AmountOverflow)
}

/// `price * tick`: payment base units per lot at `price` ticks, when it fits an i64.
#[inline(always)]
pub fn price_per_lot(price: i64, tick: u64) -> Result<i64, TradingError> {
    let magnitude = checked_mul(price.unsigned_abs(), tick).ok_or(TradingError::AmountOverflow)?;
    if magnitude > i64::MAX as u64 {
        return Err(TradingError::AmountOverflow);
    }
    Ok(if price < 0 { -(magnitude as i64) } else { magnitude as i64 })
}

/// `money::split(money::notional(qty, price_per_lot), ...)`, the one place the program calls
/// them. Not inlined, with one pointer in and a flag out: `split` returns a large `Result` and
/// takes six registers' worth of arguments, which upstream LLVM's BPF backend cannot pass
/// ("stack arguments are not supported", "only small returns supported") when `split` is not
/// inlined, and it is inlined only where it has a single call site: here.
#[inline(never)]
fn split_lots(io: &mut SplitIo) -> bool {
    // `split` refuses only a fee above 100%, with a formatted message: ruling that out here lets
    // the optimiser drop the formatting (core::fmt cannot be compiled for BPF either).
    if io.bps > BPS_DENOMINATOR {
        return false;
    }
    match split(notional(io.qty, io.price_per_lot), io.bps, io.payer, io.rounding) {
        Ok(t) => {
            io.out = [t.notional, t.buyer_pays, t.seller_receives, t.buyer_fee, t.seller_fee];
            true
        }
        Err(_) => false,
    }
}

struct SplitIo {
    qty: u64,
    price_per_lot: i64,
    bps: u16,
    payer: FeePayer,
    rounding: Rounding,
    out: [i128; 5],
}

/// The amounts of `qty` lots at `price_per_lot` base units a lot.
#[inline(always)]
fn split_trade(qty: u64, price_per_lot: i64, bps: u16, payer: FeePayer, rounding: Rounding) -> Result<TradeAmounts, TradingError> {
    let mut io = SplitIo { qty, price_per_lot, bps, payer, rounding, out: [0; 5] };
    if !split_lots(&mut io) {
        return Err(TradingError::InvalidMarketParameter);
    }
    let [notional, buyer_pays, seller_receives, buyer_fee, seller_fee] = io.out;
    Ok(TradeAmounts { notional, buyer_pays, seller_receives, buyer_fee, seller_fee })
}

/// The core's amounts of `qty` lots at `price` ticks under `terms`.
#[inline(always)]
pub fn trade(qty: u64, price: i64, terms: &Terms) -> Result<TradeAmounts, TradingError> {
    let ppl = price_per_lot(price, terms.tick)?;
    split_trade(qty, ppl, terms.fee_bps, payer(terms.fee_payer), rounding(terms.fee_rounding))
}

/// What an order escrows: GRID base units and payment base units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Escrow {
    pub grid: u64,
    pub payment: u64,
}

/// The escrow of a buy (`sell == false`) or sell order of `qty` lots limited at `limit` ticks.
#[inline(always)]
pub fn escrow(sell: bool, limit: i64, qty: u64, terms: &Terms) -> Result<Escrow, TradingError> {
    let ppl = price_per_lot(limit, terms.tick)?;
    // The side that pays any of the fee is charged all of it, rounded up (see the module).
    let market_payer = payer(terms.fee_payer);
    let (charged, spared) = if sell { (FeePayer::Seller, FeePayer::Buyer) } else { (FeePayer::Buyer, FeePayer::Seller) };
    let bound = if market_payer == spared { spared } else { charged };
    let t = split_trade(1, ppl, terms.fee_bps, bound, Rounding::Up)?;
    let (grid, payment_per_lot) = if sell {
        (checked_mul(qty, terms.lot).ok_or(TradingError::AmountOverflow)?, (-t.seller_receives).max(0))
    } else {
        (0, t.buyer_pays.max(0))
    };
    let payment = checked_mul(qty, u64_of(payment_per_lot)?).ok_or(TradingError::AmountOverflow)?;
    Ok(Escrow { grid, payment })
}

/// What crediting an order's result makes it owed, in base units: `grid`/`payment` are what
/// its claim pays out of the vaults, `fee` is its part of the treasury's fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dues {
    pub grid: u64,
    pub payment: u64,
    pub fee: u64,
}

/// The dues of an order (a sell when `sell`) holding `grid_escrow` and `payment_escrow`, filled
/// `filled` lots at the uniform `price`: its own notional split once (`money::split`, the
/// market's fee payer and rounding). A buy is owed its GRID and the rest of its escrow after
/// paying `buyer_pays`; a sell the rest of its GRID and its escrow plus `seller_receives` (which
/// is negative at a negative price: the seller pays).
#[inline(always)]
pub fn dues(sell: bool, filled: u64, price: i64, grid_escrow: u64, payment_escrow: u64, terms: &Terms) -> Result<Dues, TradingError> {
    let t = trade(filled, price, terms)?;
    let grid = checked_mul(filled, terms.lot).ok_or(TradingError::AmountOverflow)?;
    let (grid, payment, fee) = if sell {
        let grid = grid_escrow.checked_sub(grid).ok_or(TradingError::EscrowShortfall)?;
        (grid, payment_escrow as i128 + t.seller_receives, t.seller_fee)
    } else {
        (grid, payment_escrow as i128 - t.buyer_pays, t.buyer_fee)
    };
    if payment < 0 {
        return Err(TradingError::EscrowShortfall);
    }
    Ok(Dues { grid, payment: u64_of(payment)?, fee: u64_of(fee)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridmatch_core::money::trade_amounts;

    fn terms(tick: u64, bps: u16, payer: u8, rounding: u8) -> Terms {
        Terms { lot: 1_000_000, tick, fee_bps: bps, fee_payer: payer, fee_rounding: rounding }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn price_per_lot_is_exact_or_refused() {
        assert_eq!(price_per_lot(-7, 100), Ok(-700));
        assert_eq!(price_per_lot(i64::MAX, 1), Ok(i64::MAX));
        assert_eq!(price_per_lot(i64::MIN + 1, 1), Ok(i64::MIN + 1));
        assert_eq!(price_per_lot(i64::MAX, 2), Err(TradingError::AmountOverflow));
        assert_eq!(price_per_lot(i64::MIN, 1), Err(TradingError::AmountOverflow));
    }

    #[test]
    fn dues_are_the_engines_split_of_the_orders_notional() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let t = terms(1 + rng.below(1_000), rng.below(10_001) as u16, rng.below(3) as u8, rng.below(3) as u8);
            let filled = 1 + rng.below(1_000_000);
            let price = rng.below(200_001) as i64 - 100_000;
            let sell = rng.below(2) == 1;
            let (grid_escrow, payment_escrow) = (filled * t.lot + rng.below(1_000), 1u64 << 62);
            // The engine: Market.split(Market.notional(q, p)) = split_trade(q * p * tick).
            let e = trade_amounts(filled * t.tick, price, t.fee_bps, payer(t.fee_payer), rounding(t.fee_rounding)).unwrap();
            let d = dues(sell, filled, price, grid_escrow, payment_escrow, &t).unwrap();
            if sell {
                assert_eq!(d.grid, grid_escrow - filled * t.lot);
                assert_eq!(d.payment as i128, payment_escrow as i128 + e.seller_receives);
                assert_eq!(d.fee as i128, e.seller_fee);
            } else {
                assert_eq!(d.grid, filled * t.lot);
                assert_eq!(d.payment as i128, payment_escrow as i128 - e.buyer_pays);
                assert_eq!(d.fee as i128, e.buyer_fee);
            }
        }
    }

    #[test]
    fn payment_is_conserved_when_bought_equals_sold() {
        // Buyers' and sellers' orders of different sizes with the same total at one price: what
        // the buyers' escrows give up is what the sellers' gain plus every order's fee.
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..5_000 {
            let t = terms(1 + rng.below(300), rng.below(10_001) as u16, rng.below(3) as u8, rng.below(3) as u8);
            let price = rng.below(2_001) as i64 - 1_000;
            let bids: [u64; 3] = [1 + rng.below(50), 1 + rng.below(50), 1 + rng.below(50)];
            let total: u64 = bids.iter().sum();
            let first = 1 + rng.below(total - 1);
            let asks = [first, total - first];
            let big = 1u64 << 50;
            let (mut given, mut gained, mut fees) = (0i128, 0i128, 0i128);
            for q in bids {
                let d = dues(false, q, price, 0, big, &t).unwrap();
                given += big as i128 - d.payment as i128;
                fees += d.fee as i128;
            }
            for q in asks {
                let d = dues(true, q, price, q * t.lot, big, &t).unwrap();
                gained += d.payment as i128 - big as i128;
                fees += d.fee as i128;
            }
            assert_eq!(given, gained + fees, "{t:?} price={price} bids={bids:?} asks={asks:?}");
        }
    }

    #[test]
    fn the_escrow_covers_every_filling_within_the_limit() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let t = terms(1 + rng.below(50), rng.below(10_001) as u16, rng.below(3) as u8, rng.below(3) as u8);
            let qty = 1 + rng.below(40);
            let sell = rng.below(2) == 1;
            let limit = rng.below(2_001) as i64 - 1_000;
            let e = escrow(sell, limit, qty, &t).unwrap();
            assert_eq!(e.grid, if sell { qty * t.lot } else { 0 });
            let filled = 1 + rng.below(qty);
            let gap = rng.below(1_000) as i64;
            let price = if sell { limit + gap } else { limit - gap };
            let d = dues(sell, filled, price, e.grid, e.payment, &t);
            assert!(d.is_ok(), "{t:?} sell={sell} limit={limit} qty={qty} filled={filled} price={price}: {d:?}");
        }
    }

    #[test]
    fn the_escrow_is_the_worst_lot_times_the_quantity() {
        // 1% of 150 base units a lot, rounded up: 2 a lot whoever pays it.
        let t = terms(150, 100, 0, 0);
        assert_eq!(escrow(false, 1, 3, &t), Ok(Escrow { grid: 0, payment: 3 * 152 }));
        assert_eq!(escrow(true, 1, 3, &t), Ok(Escrow { grid: 3_000_000, payment: 0 }));
        assert_eq!(escrow(true, -1, 3, &t), Ok(Escrow { grid: 3_000_000, payment: 3 * 150 }));
        let seller_pays = terms(150, 100, 1, 0);
        assert_eq!(escrow(false, 1, 3, &seller_pays).unwrap().payment, 3 * 150);
        assert_eq!(escrow(true, -1, 3, &seller_pays).unwrap().payment, 3 * 152);
        let split_fee = terms(150, 100, 2, 2);
        assert_eq!(escrow(false, 1, 3, &split_fee).unwrap().payment, 3 * 152);
        assert_eq!(escrow(true, -1, 3, &split_fee).unwrap().payment, 3 * 152);
        assert_eq!(escrow(false, -1, 3, &t).unwrap().payment, 0);
        assert_eq!(escrow(false, i64::MAX / 2, 3, &t), Err(TradingError::AmountOverflow));
        assert_eq!(escrow(false, 1, u64::MAX, &t), Err(TradingError::AmountOverflow));
    }
}
