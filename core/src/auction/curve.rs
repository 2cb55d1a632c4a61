//! Aggregate demand and supply, and the price rules over them (README.md, "Price rules").

use alloc::vec::Vec;

use super::ladder::Ladder;
use crate::error::CoreError;

/// D(p) and S(p) at one distinct limit price p of either side.
#[derive(Clone, Copy, Debug)]
struct Step {
    price: i64,
    demand: u64,
    supply: u64,
}

/// The price chosen and the interval (or candidate range) it was chosen from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Priced {
    pub price: i64,
    pub interval: (i64, i64),
}

pub(crate) struct Curve {
    steps: Vec<Step>,
    market_demand: u64,
    market_supply: u64,
}

/// Executable volume and |D - S|: the two criteria, in order, that every rule ranks prices by.
fn rank(demand: u64, supply: u64) -> (u64, u64) {
    (demand.min(supply), demand.abs_diff(supply))
}

/// Whether `a` beats `b`: more volume, then less surplus.
fn better(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

impl Curve {
    pub fn new(bids: &Ladder, asks: &Ladder) -> Curve {
        // Merge both sides' distinct prices ascending, then fill in the cumulative sums:
        // S(p) counts asks at or below p (prefix), D(p) bids at or above p (suffix).
        let mut steps: Vec<Step> = Vec::with_capacity(bids.levels.len() + asks.levels.len());
        let (mut b, mut a) = (bids.levels.iter().rev().peekable(), asks.levels.iter().peekable());
        loop {
            let price = match (b.peek(), a.peek()) {
                (Some(x), Some(y)) => x.price.min(y.price),
                (Some(x), None) => x.price,
                (None, Some(y)) => y.price,
                (None, None) => break,
            };
            let demand = b.next_if(|l| l.price == price).map_or(0, |l| l.qty);
            let supply = a.next_if(|l| l.price == price).map_or(0, |l| l.qty);
            steps.push(Step { price, demand, supply });
        }
        let mut supply = asks.market_qty;
        for step in steps.iter_mut() {
            supply += step.supply;
            step.supply = supply;
        }
        let mut demand = bids.market_qty;
        for step in steps.iter_mut().rev() {
            demand += step.demand;
            step.demand = demand;
        }
        Curve { steps, market_demand: bids.market_qty, market_supply: asks.market_qty }
    }

    /// D(p) and S(p) at any price.
    pub fn at(&self, price: i64) -> (u64, u64) {
        let above = self.steps.partition_point(|s| s.price < price);
        let demand = self.steps.get(above).map_or(self.market_demand, |s| s.demand);
        let below = self.steps.partition_point(|s| s.price <= price);
        let supply = below.checked_sub(1).map_or(self.market_supply, |i| self.steps[i].supply);
        (demand, supply)
    }

    /// The k-rules. D and S are constant between consecutive limit prices, so the integer line
    /// splits into regions (each limit price, and the gaps between and beyond them); the best
    /// regions form one interval [lo, hi] because V and |D - S| are unimodal in p.
    pub fn k_rule(
        &self,
        num: u64,
        den: u64,
        min_price: Option<i64>,
        max_price: Option<i64>,
    ) -> Result<Option<Priced>, CoreError> {
        let mut best = Best::new(min_price, max_price);
        let (first, last) = match (self.steps.first(), self.steps.last()) {
            (Some(first), Some(last)) => (first, last),
            _ => {
                best.visit(None, None, self.market_demand, self.market_supply);
                return best.k_price(num, den);
            }
        };
        best.visit(None, Some(first.price as i128 - 1), first.demand, self.market_supply);
        for pair in self.steps.windows(2) {
            let (here, next) = (pair[0], pair[1]);
            best.visit(Some(here.price.into()), Some(here.price.into()), here.demand, here.supply);
            best.visit(Some(here.price as i128 + 1), Some(next.price as i128 - 1), next.demand, here.supply);
        }
        best.visit(Some(last.price.into()), Some(last.price.into()), last.demand, last.supply);
        best.visit(Some(last.price as i128 + 1), None, self.market_demand, last.supply);
        best.k_price(num, den)
    }

    /// The exchange rule (Xetra-style auction price determination, as README.md, "Price rules", states it step by step).
    pub fn exchange(
        &self,
        reference: Option<i64>,
        min_price: Option<i64>,
        max_price: Option<i64>,
    ) -> Result<Option<Priced>, CoreError> {
        let lo_cap = min_price.unwrap_or(i64::MIN);
        let hi_cap = max_price.unwrap_or(i64::MAX);
        // Candidates: the limit prices, each moved inside the caps.
        let mut candidates: Vec<(i64, (u64, u64))> = Vec::new();
        for step in &self.steps {
            let price = step.price.clamp(lo_cap, hi_cap);
            if candidates.last().is_some_and(|&(p, _)| p == price) {
                continue;
            }
            let (d, s) = if price == step.price { (step.demand, step.supply) } else { self.at(price) };
            candidates.push((price, (d, s)));
        }
        if candidates.is_empty() {
            if self.market_demand.min(self.market_supply) == 0 {
                return Ok(None);
            }
            let price = reference
                .ok_or(CoreError::MissingReferencePrice { why: "only market orders are executable" })?
                .clamp(lo_cap, hi_cap);
            return Ok(Some(Priced { price, interval: (price, price) }));
        }
        let top = candidates.iter().map(|&(_, (d, s))| rank(d, s)).fold((0, u64::MAX), |acc, r| {
            if better(r, acc) { r } else { acc }
        });
        if top.0 == 0 {
            return Ok(None);
        }
        candidates.retain(|&(_, (d, s))| rank(d, s) == top);
        let lowest = candidates[0].0;
        let highest = candidates[candidates.len() - 1].0;
        let interval = (lowest, highest);
        let price = if candidates.iter().all(|&(_, (d, s))| d > s) {
            highest
        } else if candidates.iter().all(|&(_, (d, s))| d < s) || candidates.len() == 1 {
            // One candidate left is both the highest and the lowest: no reference price can
            // move it, so none is asked for.
            lowest
        } else {
            let reference = reference.ok_or(CoreError::MissingReferencePrice {
                why: "the best candidates leave a surplus on both sides or on neither",
            })?;
            if reference >= highest {
                highest
            } else if reference <= lowest {
                lowest
            } else {
                // Nearest remaining candidate; the reference itself when it is one, and the
                // higher of two equally near.
                candidates
                    .iter()
                    .map(|&(p, _)| p)
                    .min_by_key(|&p| (p.abs_diff(reference), core::cmp::Reverse(p)))
                    .unwrap_or(highest)
            }
        };
        Ok(Some(Priced { price, interval }))
    }
}

/// Running best over regions for the k-rules. Bounds are i128 so `price ± 1` never overflows;
/// `None` is an unbounded end, closed by the cap on that side when there is one.
struct Best {
    lo_cap: i128,
    hi_cap: i128,
    open_below: bool,
    open_above: bool,
    rank: (u64, u64),
    lo: (i128, bool),
    hi: (i128, bool),
}

impl Best {
    fn new(min_price: Option<i64>, max_price: Option<i64>) -> Best {
        Best {
            lo_cap: min_price.unwrap_or(i64::MIN).into(),
            hi_cap: max_price.unwrap_or(i64::MAX).into(),
            open_below: min_price.is_none(),
            open_above: max_price.is_none(),
            rank: (0, u64::MAX),
            lo: (0, false),
            hi: (0, false),
        }
    }

    fn visit(&mut self, lo: Option<i128>, hi: Option<i128>, demand: u64, supply: u64) {
        let lo_end = (lo.unwrap_or(self.lo_cap).max(self.lo_cap), lo.is_none() && self.open_below);
        let hi_end = (hi.unwrap_or(self.hi_cap).min(self.hi_cap), hi.is_none() && self.open_above);
        if lo_end.0 > hi_end.0 {
            return;
        }
        let rank = rank(demand, supply);
        if better(rank, self.rank) {
            self.rank = rank;
            self.lo = lo_end;
            self.hi = hi_end;
        } else if rank == self.rank {
            self.hi = hi_end;
        }
    }

    fn k_price(&self, num: u64, den: u64) -> Result<Option<Priced>, CoreError> {
        if self.rank.0 == 0 {
            return Ok(None);
        }
        if self.lo.1 || self.hi.1 {
            return Err(CoreError::IndeterminatePrice { below: self.lo.1 });
        }
        let (lo, hi) = (self.lo.0, self.hi.0);
        // (hi - lo) < 2^64 and num <= den < 2^64: the product fits in u128.
        let step = (num as u128 * (hi - lo) as u128 / den as u128) as i128;
        let narrow = |x: i128| x as i64; // lo <= lo + step <= hi, all within the caps' i64 range
        Ok(Some(Priced { price: narrow(lo + step), interval: (narrow(lo), narrow(hi)) }))
    }
}
