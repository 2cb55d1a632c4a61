//! Who fills how much at the clearing price, the welfare of it, and the bilateral fills.

use alloc::vec;
use alloc::vec::Vec;

use super::ladder::{Entry, Ladder};
use super::{Allocation, Fill};
use crate::money::largest_remainder;
use crate::types::OrderSource;

/// How one side fills at the price: `entries[..full_end]` fill completely; `marginal` is the
/// one group (market orders or a price level) that shares what is left.
pub(crate) struct Cut {
    full_end: usize,
    marginal: Option<Marginal>,
}

struct Marginal {
    start: usize,
    /// What each of the group's entries gets, in priority order.
    shares: Vec<u64>,
    /// The level's price; `None` for the market orders.
    price: Option<i64>,
}

fn cut(ladder: &Ladder, price: i64, volume: u64, allocation: Allocation) -> Cut {
    let mut left = volume;
    let mut full_end = 0;
    let groups = core::iter::once((0, ladder.market_end, ladder.market_qty, None)).chain(
        ladder.levels.iter().enumerate().map(|(i, l)| (ladder.level_start(i), l.end, l.qty, Some(l.price))),
    );
    for (start, end, qty, level_price) in groups {
        if left == 0 || level_price.is_some_and(|p| !ladder.accepts(p, price)) {
            break;
        }
        if qty <= left {
            left -= qty;
            full_end = end;
        } else {
            let shares = share(&ladder.entries[start..end], left, allocation);
            return Cut { full_end, marginal: Some(Marginal { start, shares, price: level_price }) };
        }
    }
    Cut { full_end, marginal: None }
}

/// Shares `shared` (less than the group's total) over one group's entries, given in time
/// priority.
fn share(entries: &[Entry], shared: u64, allocation: Allocation) -> Vec<u64> {
    match allocation {
        Allocation::Time => {
            let mut left = shared;
            entries
                .iter()
                .map(|e| {
                    let take = e.qty.min(left);
                    left -= take;
                    take
                })
                .collect()
        }
        Allocation::ProRata => {
            let qtys: Vec<u64> = entries.iter().map(|e| e.qty).collect();
            let total = qtys.iter().map(|&q| q as u128).sum();
            largest_remainder(shared, &qtys, total)
        }
    }
}

/// The entries of one side that fill, with how much, in priority order.
fn filled_in_order<'a>(ladder: &'a Ladder, cut: &'a Cut) -> impl Iterator<Item = (&'a Entry, u64)> + 'a {
    let full = ladder.entries[..cut.full_end].iter().map(|e| (e, e.qty));
    let partial = cut.marginal.iter().flat_map(move |m| {
        ladder.entries[m.start..].iter().zip(m.shares.iter().copied()).filter(|&(_, q)| q > 0)
    });
    full.chain(partial)
}

/// The outcome at the price: per-order fills aligned with the input, the welfare (buyers'
/// plus sellers' surplus over limit orders; market orders state no value), and each side's cut.
pub(crate) struct Allocated {
    pub filled: Vec<u64>,
    pub welfare: u128,
    cuts: [Cut; 2],
}

pub(crate) fn allocate(n: usize, sides: [&Ladder; 2], price: i64, volume: u64, allocation: Allocation) -> Allocated {
    let cuts = sides.map(|ladder| cut(ladder, price, volume, allocation));
    let mut filled = vec![0u64; n];
    let mut welfare: u128 = 0;
    for (ladder, cut) in sides.iter().zip(&cuts) {
        for (entry, qty) in filled_in_order(ladder, cut) {
            filled[entry.index as usize] = qty;
        }
        let surplus = |qty: u64, limit: i64| qty as u128 * limit.abs_diff(price) as u128;
        for level in ladder.levels.iter().take_while(|l| l.end <= cut.full_end) {
            welfare += surplus(level.qty, level.price);
        }
        if let Some(Marginal { shares, price: Some(limit), .. }) = &cut.marginal {
            welfare += surplus(shares.iter().sum(), *limit);
        }
    }
    Allocated { filled, welfare, cuts }
}

/// Pairs the filled bids and asks greedily in priority order: at most
/// (filled bids + filled asks - 1) fills, all at `price`.
pub(crate) fn fills<S: OrderSource + ?Sized>(
    src: &S,
    bids: &Ladder,
    asks: &Ladder,
    allocated: &Allocated,
    price: i64,
) -> Vec<Fill> {
    let [bid_cut, ask_cut] = &allocated.cuts;
    let count = |cut: &Cut| cut.full_end + cut.marginal.as_ref().map_or(0, |m| m.shares.iter().filter(|&&q| q > 0).count());
    let mut fills = Vec::with_capacity((count(bid_cut) + count(ask_cut)).saturating_sub(1));
    // (id, trader, quantity left) of each filled order, in priority order.
    let who = |(entry, qty): (&Entry, u64)| {
        let rec = src.record(entry.index as usize);
        (rec.id, rec.trader, qty)
    };
    let mut buys = filled_in_order(bids, bid_cut).map(who);
    let mut sells = filled_in_order(asks, ask_cut).map(who);
    let (mut buy, mut sell) = (buys.next(), sells.next());
    while let (Some((buy_id, buyer, b_left)), Some((sell_id, seller, s_left))) = (buy, sell) {
        let qty = b_left.min(s_left);
        fills.push(Fill { buy_id, sell_id, buyer, seller, qty, price });
        buy = if b_left == qty { buys.next() } else { Some((buy_id, buyer, b_left - qty)) };
        sell = if s_left == qty { sells.next() } else { Some((sell_id, seller, s_left - qty)) };
    }
    fills
}
