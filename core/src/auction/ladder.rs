//! Validation of a batch and each side's priority order: market orders first, then limit
//! orders best price first, and within one price earlier `ts` first, then lower id.
//!
//! Each side keeps compact entries in priority order, so that everything after the sort
//! (levels, allocation, fills) walks memory sequentially instead of gathering from the input.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::CoreError;
use crate::radix;
use crate::types::{OrderRecord, OrderSource, Side};

/// What the engine keeps of an order once it is in priority order: 12 bytes (packed: x86 and
/// ARM read unaligned words at full speed), so a million orders sort into 12 MB; the fills read
/// ids and traders back from the input.
#[repr(C, packed(4))]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Entry {
    pub qty: u64,
    /// Position in the input.
    pub index: u32,
}

impl Entry {
    fn of(rec: &OrderRecord, index: usize) -> Entry {
        Entry { qty: rec.qty, index: index as u32 }
    }
}

/// One distinct limit price of a side and where its run of entries ends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub price: i64,
    pub qty: u64,
    pub end: usize,
}

/// One side of the book in priority order.
pub(crate) struct Ladder {
    pub side: Side,
    /// `entries[..market_end]` are the market orders.
    pub entries: Vec<Entry>,
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
struct Tally {
    side: Side,
    market: usize,
    limit: usize,
    market_qty: u64,
    total: u64,
    min_price: i64,
    max_price: i64,
    last_time: Option<(u64, u64)>,
    out_of_time_order: bool,
}

impl Tally {
    fn new(side: Side) -> Tally {
        Tally {
            side,
            market: 0,
            limit: 0,
            market_qty: 0,
            total: 0,
            min_price: i64::MAX,
            max_price: i64::MIN,
            last_time: None,
            out_of_time_order: false,
        }
    }

    /// Bucket `price` by tick when the side is in time order and its prices span few enough
    /// ticks (at most about two per order, so the buckets cost no more than the orders): a
    /// stable counting sort then orders it in two linear passes.
    fn buckets(&self) -> Option<usize> {
        if self.out_of_time_order || self.limit == 0 {
            return None;
        }
        let span = self.max_price.abs_diff(self.min_price);
        (span < 2 * self.limit as u64 + 64).then_some(span as usize + 1)
    }

    /// The bucket of a limit price: ascending buckets are descending prices for bids.
    fn bucket(&self, price: i64) -> usize {
        match self.side {
            Side::Buy => self.max_price.abs_diff(price) as usize,
            Side::Sell => price.abs_diff(self.min_price) as usize,
        }
    }

    fn bucket_price(&self, bucket: usize) -> i64 {
        match self.side {
            Side::Buy => (self.max_price as i128 - bucket as i128) as i64,
            Side::Sell => (self.min_price as i128 + bucket as i128) as i64,
        }
    }
}

/// Validates every order, then builds both sides' ladders.
pub(crate) fn build<S: OrderSource + ?Sized>(src: &S) -> Result<[Ladder; 2], CoreError> {
    let tallies = tally(src)?;
    let mut builders = [Builder::new(&tallies[0]), Builder::new(&tallies[1])];
    // One pass for both sides: market entries in input (= time) order, and either the bucket
    // counts or the indices to sort.
    for i in 0..src.len() {
        let rec = src.record(i);
        let b = &mut builders[side_of(&rec) as usize];
        b.collect(&tallies[side_of(&rec) as usize], &rec, i);
    }
    if builders.iter().any(|b| b.counts.is_some()) {
        for b in builders.iter_mut() {
            b.start_scatter();
        }
        for i in 0..src.len() {
            let rec = src.record(i);
            if rec.kind == 0 {
                let s = side_of(&rec) as usize;
                builders[s].scatter(&tallies[s], &rec, i);
            }
        }
    }
    let [bids, asks] = builders;
    let [bid_tally, ask_tally] = tallies;
    Ok([bids.finish(src, &bid_tally), asks.finish(src, &ask_tally)])
}

fn side_of(rec: &OrderRecord) -> Side {
    if rec.side == 1 { Side::Buy } else { Side::Sell }
}

fn tally<S: OrderSource + ?Sized>(src: &S) -> Result<[Tally; 2], CoreError> {
    let n = src.len();
    if n > u32::MAX as usize {
        return Err(CoreError::InvalidParameter {
            name: "orders",
            value: alloc::format!("{n} orders"),
            reason: "at most 4294967295 orders per clearing",
        });
    }
    let mut tallies = [Tally::new(Side::Buy), Tally::new(Side::Sell)];
    let mut ids_ascending = true;
    let mut last_id = None;
    for i in 0..n {
        let rec = src.record(i);
        let side = validate(&rec)?;
        let t = &mut tallies[side as usize];
        t.total = t.total.checked_add(rec.qty).ok_or(CoreError::QuantityOverflow { side })?;
        if rec.kind == 1 {
            t.market += 1;
            t.market_qty += rec.qty;
        } else {
            t.limit += 1;
            t.min_price = t.min_price.min(rec.price);
            t.max_price = t.max_price.max(rec.price);
        }
        let time = (rec.ts, rec.id);
        t.out_of_time_order |= t.last_time.is_some_and(|last| time < last);
        t.last_time = Some(time);
        ids_ascending &= last_id.is_none_or(|last| rec.id > last);
        last_id = Some(rec.id);
    }
    if !ids_ascending {
        check_unique_ids(src)?;
    }
    Ok(tallies)
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
    let mut none = vec![(); ids.len()];
    radix::sort(&mut ids, &mut none);
    match ids.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(CoreError::DuplicateOrderId { id: w[0] }),
        None => Ok(()),
    }
}

/// One side under construction: by price buckets (`counts`) or by sorting indices.
struct Builder {
    market: Vec<Entry>,
    market_idx: Vec<u32>,
    limit_idx: Vec<u32>,
    /// Orders per bucket; turned into each bucket's next free slot before the scatter.
    counts: Option<Vec<u32>>,
    entries: Vec<Entry>,
}

impl Builder {
    fn new(t: &Tally) -> Builder {
        let buckets = t.buckets();
        let sorted = buckets.is_none();
        Builder {
            market: Vec::with_capacity(if sorted { 0 } else { t.market }),
            market_idx: Vec::with_capacity(if sorted { t.market } else { 0 }),
            limit_idx: Vec::with_capacity(if sorted { t.limit } else { 0 }),
            counts: buckets.map(|n| vec![0; n]),
            entries: Vec::new(),
        }
    }

    fn collect(&mut self, t: &Tally, rec: &OrderRecord, index: usize) {
        match (&mut self.counts, rec.kind) {
            (Some(_), 1) => self.market.push(Entry::of(rec, index)),
            (Some(counts), _) => counts[t.bucket(rec.price)] += 1,
            (None, 1) => self.market_idx.push(index as u32),
            (None, _) => self.limit_idx.push(index as u32),
        }
    }

    /// Turns the counts into each bucket's first slot, after the market entries.
    fn start_scatter(&mut self) {
        if let Some(counts) = &mut self.counts {
            let mut next = self.market.len() as u32;
            for slot in counts.iter_mut() {
                let count = *slot;
                *slot = next;
                next += count;
            }
            self.entries = core::mem::take(&mut self.market);
            self.entries.resize(next as usize, Entry::default());
        }
    }

    fn scatter(&mut self, t: &Tally, rec: &OrderRecord, index: usize) {
        if let Some(next) = &mut self.counts {
            let slot = &mut next[t.bucket(rec.price)];
            self.entries[*slot as usize] = Entry::of(rec, index);
            *slot += 1;
        }
    }

    fn finish<S: OrderSource + ?Sized>(mut self, src: &S, t: &Tally) -> Ladder {
        let (entries, market_end, ends) = match self.counts.take() {
            Some(ends) => {
                // After the scatter each bucket's slot is its end; an empty bucket's equals the
                // end before it.
                let market_end = t.market;
                let mut levels = Vec::new();
                let mut last = market_end as u32;
                for (bucket, &end) in ends.iter().enumerate() {
                    if end > last {
                        levels.push((t.bucket_price(bucket), end as usize));
                        last = end;
                    }
                }
                (self.entries, market_end, levels)
            }
            None => sort_side(src, t, self.market_idx, self.limit_idx),
        };
        let mut levels = Vec::with_capacity(ends.len());
        let mut start = market_end;
        for (price, end) in ends {
            let qty = entries[start..end].iter().map(|e| e.qty).sum();
            levels.push(Level { price, qty, end });
            start = end;
        }
        Ladder { side: t.side, entries, market_end, market_qty: t.market_qty, levels }
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

/// The general path, for sides out of time order or spanning too many ticks: stable radix
/// passes from the least significant key (id, then ts, then price) to the most. Returns the
/// entries, where the market orders end, and each level's price and end.
#[allow(clippy::type_complexity)]
fn sort_side<S: OrderSource + ?Sized>(
    src: &S,
    t: &Tally,
    mut market: Vec<u32>,
    mut limit: Vec<u32>,
) -> (Vec<Entry>, usize, Vec<(i64, usize)>) {
    if t.out_of_time_order {
        for idx in [&mut market, &mut limit] {
            sort_by(src, idx, |r| r.id);
            sort_by(src, idx, |r| r.ts);
        }
    }
    let keys = sort_by(src, &mut limit, |r| price_key(t.side, r.price));
    let market_end = market.len();
    let mut levels: Vec<(i64, usize)> = Vec::new();
    for (pos, &key) in keys.iter().enumerate() {
        if pos + 1 == keys.len() || keys[pos + 1] != key {
            let price = (match t.side { Side::Buy => !key, Side::Sell => key } ^ SIGN) as i64;
            levels.push((price, market_end + pos + 1));
        }
    }
    let entries = market.iter().chain(limit.iter()).map(|&i| Entry::of(&src.record(i as usize), i as usize)).collect();
    (entries, market_end, levels)
}
