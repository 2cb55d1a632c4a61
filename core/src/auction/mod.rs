//! Uniform-price clearing (the call auction) of README.md, "Price rules".

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
    let fills = allocate::fills(orders, &bids, &asks, &allocated, price);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Order, Side};

    fn params(rule: PriceRule) -> ClearingParams {
        ClearingParams { rule, ..ClearingParams::default() }
    }

    // Bids 105 x4, 101 x2; asks 95 x3, 100 x3. D = 6 up to 101, 4 up to 105; S = 3 from 95,
    // 6 from 100. V = 6 with no surplus on [100, 101].
    const BOOK: [Order; 4] = [
        Order::limit(1, 10, Side::Buy, 105, 4, 0),
        Order::limit(2, 11, Side::Buy, 101, 2, 1),
        Order::limit(3, 20, Side::Sell, 95, 3, 2),
        Order::limit(4, 21, Side::Sell, 100, 3, 3),
    ];

    #[test]
    fn k_rules_pick_within_the_interval() {
        for (rule, price) in [
            (PriceRule::MARGINAL_ASK, 100),
            (PriceRule::MIDPOINT, 100),
            (PriceRule::MARGINAL_BID, 101),
        ] {
            let r = clear(&BOOK[..], &params(rule)).unwrap();
            assert_eq!((r.price, r.interval, r.volume, r.imbalance()), (Some(price), Some((100, 101)), 6, 0));
        }
    }

    #[test]
    fn fills_pair_in_priority_order() {
        let r = clear(&BOOK[..], &params(PriceRule::MIDPOINT)).unwrap();
        assert_eq!(r.filled, [4, 2, 3, 3]);
        let pairs: Vec<_> = r.fills.iter().map(|f| (f.buy_id, f.sell_id, f.qty)).collect();
        assert_eq!(pairs, [(1, 3, 3), (1, 4, 1), (2, 4, 2)]);
        assert_eq!(r.welfare, 4 * 5 + 2 + 3 * 5);
    }

    #[test]
    fn nothing_crosses() {
        let apart = [Order::limit(1, 1, Side::Buy, 90, 5, 0), Order::limit(2, 2, Side::Sell, 91, 5, 0)];
        let r = clear(&apart[..], &ClearingParams::default()).unwrap();
        assert_eq!((r.price, r.volume, r.filled.as_slice()), (None, 0, &[0, 0][..]));
    }

    #[test]
    fn market_orders_need_a_cap_on_their_open_side() {
        let book = [Order::limit(1, 1, Side::Buy, 10, 5, 0), Order::market(2, 2, Side::Sell, 5, 1)];
        assert_eq!(clear(&book[..], &ClearingParams::default()), Err(CoreError::IndeterminatePrice { below: true }));
        let capped = ClearingParams { min_price: Some(0), ..ClearingParams::default() };
        assert_eq!(clear(&book[..], &capped).unwrap().price, Some(5));
        // marginal_bid needs no lower end, but the interval is still unbounded: the rule refuses it.
        assert!(clear(&book[..], &params(PriceRule::MARGINAL_BID)).is_err());
    }

    #[test]
    fn the_ends_of_the_price_range() {
        // A limit at i64::MIN leaves no tick below it: the interval is closed there.
        let book = [Order::market(1, 1, Side::Buy, 5, 0), Order::limit(2, 2, Side::Sell, i64::MIN, 5, 1)];
        let capped = ClearingParams { max_price: Some(i64::MIN + 10), ..params(PriceRule::MARGINAL_ASK) };
        let r = clear(&book[..], &capped).unwrap();
        assert_eq!((r.price, r.interval), (Some(i64::MIN), Some((i64::MIN, i64::MIN + 10))));
        let top = [Order::limit(1, 1, Side::Buy, i64::MAX, 5, 0), Order::limit(2, 2, Side::Sell, i64::MIN, 5, 1)];
        let r = clear(&top[..], &params(PriceRule::MIDPOINT)).unwrap();
        assert_eq!(r.price, Some(-1)); // MIN + floor((MAX - MIN) / 2)
    }

    #[test]
    fn exchange_rule_ties_go_to_the_reference_price() {
        let with = |reference| ClearingParams { reference_price: Some(reference), ..params(PriceRule::Exchange) };
        // Candidates 95 (V 3), 100 and 101 (V 6, no surplus), 105 (V 4): 100 and 101 tie.
        assert_eq!(clear(&BOOK[..], &with(0)).unwrap().price, Some(100));
        assert_eq!(clear(&BOOK[..], &with(1000)).unwrap().price, Some(101));
        // Equal volume and opposite surpluses, 99 (+5) and 101 (-5).
        let book = [
            Order::market(1, 1, Side::Buy, 10, 0),
            Order::market(2, 2, Side::Sell, 10, 0),
            Order::limit(3, 3, Side::Buy, 99, 5, 0),
            Order::limit(4, 4, Side::Sell, 101, 5, 0),
        ];
        assert_eq!(clear(&book[..], &with(100)).unwrap().price, Some(101)); // between: the higher
        assert_eq!(clear(&book[..], &with(0)).unwrap().price, Some(99));
        assert!(matches!(
            clear(&book[..], &params(PriceRule::Exchange)),
            Err(CoreError::MissingReferencePrice { .. })
        ));
    }

    #[test]
    fn invalid_orders_name_id_and_field() {
        let zero = [Order::limit(7, 1, Side::Buy, 1, 0, 0)];
        assert!(matches!(
            clear(&zero[..], &ClearingParams::default()),
            Err(CoreError::InvalidOrder { id: 7, field: "qty", value: 0, .. })
        ));
        let twice = [Order::limit(7, 1, Side::Buy, 1, 1, 0), Order::limit(7, 1, Side::Sell, 1, 1, 0)];
        assert_eq!(clear(&twice[..], &ClearingParams::default()), Err(CoreError::DuplicateOrderId { id: 7 }));
        let heavy = [Order::limit(1, 1, Side::Sell, 1, u64::MAX, 0), Order::limit(2, 1, Side::Sell, 1, 1, 0)];
        assert_eq!(
            clear(&heavy[..], &ClearingParams::default()),
            Err(CoreError::QuantityOverflow { side: Side::Sell })
        );
    }
}
