//! Uniform-price clearing (the call auction) of DESIGN.md section 4.

mod allocate;
mod curve;
mod ladder;
mod rule;

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

pub use rule::{Allocation, PriceRule};

use crate::error::CoreError;
use crate::types::OrderSource;

/// The parameters of one clearing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClearingParams {
    pub rule: PriceRule,
    pub allocation: Allocation,
    /// Decides the `exchange` rule's ties; unused by the k-rules.
    pub reference_price: Option<i64>,
    /// Caps on the price: the k-rules search `[min_price, max_price]`, the `exchange` rule moves
    /// its candidates inside it.
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
}

impl Default for ClearingParams {
    fn default() -> Self {
        ClearingParams {
            rule: PriceRule::MIDPOINT,
            allocation: Allocation::Time,
            reference_price: None,
            min_price: None,
            max_price: None,
        }
    }
}

/// A bilateral trade record: `qty` lots from `seller`'s order `sell_id` to `buyer`'s order
/// `buy_id` at `price` ticks. `repr(C)` and all-integer, so a `Vec<Fill>` is a numpy buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Fill {
    pub buy_id: u64,
    pub sell_id: u64,
    pub buyer: u64,
    pub seller: u64,
    pub qty: u64,
    pub price: i64,
}

/// The outcome of one clearing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clearing {
    /// `None` when nothing crosses.
    pub price: Option<i64>,
    /// The best-price interval `[lo, hi]` of a k-rule; for `exchange`, the lowest and highest of
    /// the candidates left after volume and surplus.
    pub interval: Option<(i64, i64)>,
    pub volume: u64,
    /// D(price) and S(price); both zero when there is no price.
    pub demand: u64,
    pub supply: u64,
    /// Buyers' plus sellers' surplus at the price over filled limit orders.
    pub welfare: u128,
    /// Filled lots per order, aligned with the input.
    pub filled: Vec<u64>,
    pub fills: Vec<Fill>,
}

impl Clearing {
    /// D - S at the price: positive when demand is left over.
    pub fn imbalance(&self) -> i128 {
        self.demand as i128 - self.supply as i128
    }
}

/// Clears a batch of orders at one uniform price.
///
/// ```
/// use gridmatch_core::{clear, ClearingParams, Order, Side};
/// let orders = [
///     Order::limit(1, 10, Side::Buy, 105, 3, 0),
///     Order::limit(2, 20, Side::Sell, 95, 2, 1),
/// ];
/// let result = clear(&orders[..], &ClearingParams::default()).unwrap();
/// assert_eq!((result.price, result.volume, result.filled.as_slice()), (Some(100), 2, &[2, 2][..]));
/// ```
pub fn clear<S: OrderSource + ?Sized>(orders: &S, params: &ClearingParams) -> Result<Clearing, CoreError> {
    if let (Some(lo), Some(hi)) = (params.min_price, params.max_price) {
        if lo > hi {
            return Err(CoreError::InvalidParameter {
                name: "min_price",
                value: format!("{lo} (max_price {hi})"),
                reason: "must not exceed max_price",
            });
        }
    }
    let [bids, asks] = ladder::build(orders)?;
    let curve = curve::Curve::new(&bids, &asks);
    let priced = match params.rule {
        PriceRule::K { num, den } => curve.k_rule(num, den, params.min_price, params.max_price)?,
        PriceRule::Exchange => curve.exchange(params.reference_price, params.min_price, params.max_price)?,
    };
    let Some(curve::Priced { price, interval }) = priced else {
        return Ok(Clearing {
            price: None,
            interval: None,
            volume: 0,
            demand: 0,
            supply: 0,
            welfare: 0,
            filled: vec![0; orders.len()],
            fills: Vec::new(),
        });
    };
    let (demand, supply) = curve.at(price);
    let volume = demand.min(supply);
    let allocated = allocate::allocate(orders.len(), [&bids, &asks], price, volume, params.allocation);
    let fills = allocate::fills(&bids, &asks, &allocated, price);
    Ok(Clearing {
        price: Some(price),
        interval: Some(interval),
        volume,
        demand,
        supply,
        welfare: allocated.welfare,
        filled: allocated.filled,
        fills,
    })
}
