//! Validation of a batch and each side's priority order: market orders first, then limit
//! orders best price first, and within one price earlier `ts` first, then lower id.

use alloc::vec::Vec;

use crate::error::CoreError;
use crate::radix;
use crate::types::{OrderRecord, OrderSource, Side};

/// One distinct limit price of a side and the run of `Ladder::order` that rests there.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub price: i64,
    pub qty: u64,
    pub end: usize,
}

/// One side of the book in priority order.
pub(crate) struct Ladder {
    pub side: Side,
    /// Order indices, best priority first; `order[..market_end]` are the market orders.
    pub order: Vec<u32>,
    pub market_end: usize,
    pub market_qty: u64,
    /// Distinct limit prices, best first.
    pub levels: Vec<Level>,
}

impl Ladder {
    /// Whether a limit of `limit` is willing to trade at `price`.
    pub fn accepts(&self, limit: i64, price: i64) -> bool {
        match self.side {
            Side::Buy => limit >= price,
            Side::Sell => limit <= price,
        }
    }

    pub fn level_start(&self, level: usize) -> usize {
        if level == 0 {
            self.market_end
        } else {
            self.levels[level - 1].end
        }
    }
}

/// What the validation pass learns about one side.
#[derive(Default)]
struct Tally {
    market: usize,
    limit: usize,
    total: u64,
    last_time: Option<(u64, u64)>,
    out_of_time_order: bool,
}

/// Validates every order, then builds both sides' ladders.
pub(crate) fn build<S: OrderSource + ?Sized>(src: &S) -> Result<(Ladder, Ladder), CoreError> {
    let n = src.len();
    if n > u32::MAX as usize {
        return Err(CoreError::InvalidParameter {
            name: "orders",
            value: alloc::format!("{n} orders"),
            reason: "at most 4294967295 orders per clearing",
        });
    }
    let mut tallies = [Tally::default(), Tally::default()];
    let mut ids_ascending = true;
    let mut last_id = None;
    for i in 0..n {
        let rec = src.record(i);
        let side = validate(&rec)?;
        let tally = &mut tallies[side as usize];
        tally.total = tally.total.checked_add(rec.qty).ok_or(CoreError::QuantityOverflow { side })?;
        if rec.kind == 1 {
            tally.market += 1;
        } else {
            tally.limit += 1;
        }
        let time = (rec.ts, rec.id);
        tally.out_of_time_order |= tally.last_time.is_some_and(|last| time < last);
        tally.last_time = Some(time);
        ids_ascending &= last_id.is_none_or(|last| rec.id > last);
        last_id = Some(rec.id);
    }
    if !ids_ascending {
        check_unique_ids(src)?;
    }
    let [bids, asks] = tallies;
    Ok((ladder(src, Side::Buy, &bids), ladder(src, Side::Sell, &asks)))
}

fn validate(rec: &OrderRecord) -> Result<Side, CoreError> {
    let invalid = |field, value: i128, reason| CoreError::InvalidOrder { id: rec.id, field, value, reason };
    let side = match rec.side {
        1 => Side::Buy,
        -1 => Side::Sell,
        other => return Err(invalid("side", other.into(), "must be +1 (buy) or -1 (sell)")),
    };
    if rec.qty == 0 {
        return Err(invalid("qty", 0, "must be positive"));
    }
    if rec.kind > 1 {
        return Err(invalid("kind", rec.kind.into(), "must be 0 (limit) or 1 (market)"));
    }
    Ok(side)
}

fn check_unique_ids<S: OrderSource + ?Sized>(src: &S) -> Result<(), CoreError> {
    let mut ids: Vec<u64> = (0..src.len()).map(|i| src.record(i).id).collect();
    let mut none = alloc::vec![(); ids.len()];
    radix::sort(&mut ids, &mut none);
    match ids.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(CoreError::DuplicateOrderId { id: w[0] }),
        None => Ok(()),
    }
}

const SIGN: u64 = 1 << 63;

/// A key that sorts ascending in price priority: asks by price up, bids by price down.
fn price_key(side: Side, price: i64) -> u64 {
    let key = price as u64 ^ SIGN;
    match side {
        Side::Buy => !key,
        Side::Sell => key,
    }
}

fn key_price(side: Side, key: u64) -> i64 {
    let key = match side {
        Side::Buy => !key,
        Side::Sell => key,
    };
    (key ^ SIGN) as i64
}

/// Stable-sorts `idx` by `key` of each order and returns the sorted keys.
fn sort_by<S, F>(src: &S, idx: &mut Vec<u32>, key: F) -> Vec<u64>
where
    S: OrderSource + ?Sized,
    F: Fn(&OrderRecord) -> u64,
{
    let mut keys: Vec<u64> = idx.iter().map(|&i| key(&src.record(i as usize))).collect();
    radix::sort(&mut keys, idx);
    keys
}

fn ladder<S: OrderSource + ?Sized>(src: &S, side: Side, tally: &Tally) -> Ladder {
    let code = side.code();
    let mut market = Vec::with_capacity(tally.market);
    let mut limit = Vec::with_capacity(tally.limit);
    for i in 0..src.len() {
        let rec = src.record(i);
        if rec.side == code {
            if rec.kind == 1 { market.push(i as u32) } else { limit.push(i as u32) }
        }
    }
    // Least significant key first: each stable pass keeps the order of the passes before it.
    // Input already in time order needs the price pass only.
    if tally.out_of_time_order {
        for idx in [&mut market, &mut limit] {
            sort_by(src, idx, |r| r.id);
            sort_by(src, idx, |r| r.ts);
        }
    }
    let keys = sort_by(src, &mut limit, |r| price_key(side, r.price));

    let market_end = market.len();
    let market_qty = market.iter().map(|&i| src.record(i as usize).qty).sum();
    let mut levels: Vec<Level> = Vec::new();
    for (pos, (&key, &i)) in keys.iter().zip(limit.iter()).enumerate() {
        let price = key_price(side, key);
        let qty = src.record(i as usize).qty;
        match levels.last_mut() {
            Some(level) if level.price == price => {
                level.qty += qty;
                level.end += 1;
            }
            _ => levels.push(Level { price, qty, end: market_end + pos + 1 }),
        }
    }
    let mut order = market;
    order.extend_from_slice(&limit);
    Ladder { side, order, market_end, market_qty, levels }
}
