//! Who fills how much at the clearing price, the welfare of it, and the bilateral fills.

use alloc::vec;
use alloc::vec::Vec;

use super::ladder::Ladder;
use super::{Allocation, Fill};
use crate::money::largest_remainder;
use crate::types::OrderSource;

/// How one side fills at the price: everything at least as good as `full_through` (and the
/// market orders when `market_full`) fills completely; `marginal` is the one level that shares
/// what is left, as a range of `Ladder::order` with the quantity it shares.
struct Cut {
    market_full: bool,
    full_through: Option<i64>,
    marginal: Option<(core::ops::Range<usize>, u64, Option<i64>)>,
}

fn cut(ladder: &Ladder, price: i64, volume: u64) -> Cut {
    let mut left = volume;
    let mut cut = Cut { market_full: false, full_through: None, marginal: None };
    if ladder.market_qty > 0 {
        if ladder.market_qty <= left {
            left -= ladder.market_qty;
            cut.market_full = true;
        } else {
            cut.marginal = Some((0..ladder.market_end, left, None));
            return cut;
        }
    }
    for (i, level) in ladder.levels.iter().enumerate() {
        if left == 0 || !ladder.accepts(level.price, price) {
            break;
        }
        if level.qty <= left {
            left -= level.qty;
            cut.full_through = Some(level.price);
        } else {
            cut.marginal = Some((ladder.level_start(i)..level.end, left, Some(level.price)));
            break;
        }
    }
    cut
}

/// Per-order fills aligned with the input, how many orders of each side filled, and the
/// welfare: buyers' plus sellers' surplus at the price over limit orders (market orders state
/// no value).
pub(crate) struct Allocated {
    pub filled: Vec<u64>,
    pub counts: [usize; 2],
    pub welfare: u128,
}

pub(crate) fn allocate<S: OrderSource + ?Sized>(
    src: &S,
    sides: [&Ladder; 2],
    price: i64,
    volume: u64,
    allocation: Allocation,
) -> Allocated {
    let cuts = sides.map(|ladder| cut(ladder, price, volume));
    let mut filled = vec![0u64; src.len()];
    let mut counts = [0usize; 2];
    let mut welfare: u128 = 0;
    for (i, slot) in filled.iter_mut().enumerate() {
        let rec = src.record(i);
        let s = if rec.side == 1 { 0 } else { 1 };
        let (ladder, cut) = (sides[s], &cuts[s]);
        let full = if rec.kind == 1 {
            cut.market_full
        } else {
            cut.full_through.is_some_and(|through| ladder.accepts(rec.price, through))
        };
        if full {
            *slot = rec.qty;
            counts[s] += 1;
            if rec.kind == 0 {
                welfare += rec.qty as u128 * rec.price.abs_diff(price) as u128;
            }
        }
    }
    for (s, (ladder, cut)) in sides.iter().zip(&cuts).enumerate() {
        if let Some((range, shared, level_price)) = cut.marginal.clone() {
            let members = &ladder.order[range];
            for (&i, qty) in members.iter().zip(share(src, members, shared, allocation)) {
                filled[i as usize] = qty;
                counts[s] += (qty > 0) as usize;
            }
            if let Some(level_price) = level_price {
                welfare += shared as u128 * level_price.abs_diff(price) as u128;
            }
        }
    }
    Allocated { filled, counts, welfare }
}

/// Shares `shared` (less than the members' total) over one level's orders, given in time
/// priority.
fn share<S: OrderSource + ?Sized>(src: &S, members: &[u32], shared: u64, allocation: Allocation) -> Vec<u64> {
    let qtys: Vec<u64> = members.iter().map(|&i| src.record(i as usize).qty).collect();
    match allocation {
        Allocation::Time => {
            let mut left = shared;
            qtys.iter()
                .map(|&q| {
                    let take = q.min(left);
                    left -= take;
                    take
                })
                .collect()
        }
        Allocation::ProRata => {
            let total = qtys.iter().map(|&q| q as u128).sum();
            largest_remainder(shared, &qtys, total)
        }
    }
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
    let filled = &allocated.filled;
    let (mut buys, mut sells) = (filled_in_order(bids, filled), filled_in_order(asks, filled));
    let (mut buy, mut sell) = (buys.next(), sells.next());
    let (mut buy_left, mut sell_left) = (buy.map_or(0, |i| filled[i]), sell.map_or(0, |i| filled[i]));
    let mut fills = Vec::with_capacity(allocated.counts.iter().sum::<usize>().saturating_sub(1));
    while let (Some(b), Some(s)) = (buy, sell) {
        let qty = buy_left.min(sell_left);
        let (bought, sold) = (src.record(b), src.record(s));
        fills.push(Fill {
            buy_id: bought.id,
            sell_id: sold.id,
            buyer: bought.trader,
            seller: sold.trader,
            qty,
            price,
        });
        buy_left -= qty;
        sell_left -= qty;
        if buy_left == 0 {
            buy = buys.next();
            buy_left = buy.map_or(0, |i| filled[i]);
        }
        if sell_left == 0 {
            sell = sells.next();
            sell_left = sell.map_or(0, |i| filled[i]);
        }
    }
    fills
}

fn filled_in_order<'a>(ladder: &'a Ladder, filled: &'a [u64]) -> impl Iterator<Item = usize> + 'a {
    ladder.order.iter().map(|&i| i as usize).filter(move |&i| filled[i] > 0)
}
