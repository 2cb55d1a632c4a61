//! Properties of uniform-price clearing (README.md, "Price rules").
//!
//! Every expectation is computed here by brute force, straight from the definitions: D(p) and
//! S(p) by summing the orders, the rules and the allocation by re-deriving them. Nothing calls
//! the crate's internals; only `clear` and the public types are used.
//!
//! Cases per property: `PROPTEST_CASES` (default [`DEFAULT_CASES`]). Failures persist to
//! `tests/proptest-regressions/properties.txt` (relative to the crate, where cargo runs tests).

use std::cmp::Reverse;
use std::ops::RangeInclusive;

use gridmatch_core::{
    clear, Allocation, Clearing, ClearingParams, CoreError, Fill, Kind, Order, OrderRecord, PriceRule, Side,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;

/// Cases per property when `PROPTEST_CASES` is not set; keeps the file to a few seconds in debug.
const DEFAULT_CASES: u32 = 512;
const MAX_ORDERS: usize = 40;
/// The largest quantity drawn: 40 orders of 2^58 lots still sum below 2^64.
const HUGE: u64 = 1 << 58;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Case {
    orders: Vec<Order>,
    params: ClearingParams,
}

/// Where a book's prices sit: prices are `base + offset` (saturating) with offsets in
/// -spread..spread, spread at most 50, so prices repeat and books near the ends of i64 touch
/// i64::MIN / i64::MAX exactly.
fn base() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        -200i64..0,
        Just(1i64 << 62),
        Just(-(1i64 << 62)),
        (0i64..60).prop_map(|d| i64::MIN + d),
        (0i64..60).prop_map(|d| i64::MAX - d),
    ]
}

#[derive(Clone, Copy, Debug)]
enum QtyMode {
    /// 1 or 2 lots: D == S at several prices, so the tie-breaks (surplus, reference) matter.
    Unit,
    Small,
    Huge,
    Mixed,
}

fn qty(mode: QtyMode) -> BoxedStrategy<u64> {
    match mode {
        QtyMode::Unit => (1u64..=2).boxed(),
        QtyMode::Small => (1u64..=9).boxed(),
        // Near-equal huge quantities, so D == S ties happen among huge orders too.
        QtyMode::Huge => prop_oneof![HUGE - 3..=HUGE, 1..=HUGE].boxed(),
        QtyMode::Mixed => prop_oneof![3 => 1u64..=9, 1 => 1..=HUGE, 1 => Just(HUGE)].boxed(),
    }
}

#[derive(Clone, Debug)]
struct Spec {
    buy: bool,
    market: bool,
    offset: i64,
    qty: u64,
    ts: u64,
    trader: u64,
}

/// One order; a market order with probability `markets`.
fn spec(mode: QtyMode, spread: i64, markets: f64) -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        prop::bool::weighted(markets),
        -spread..spread,
        qty(mode),
        prop_oneof![4 => 0u64..4, 1 => any::<u64>()],
        0u64..6,
    )
        .prop_map(move |(buy, market, offset, qty, ts, trader)| Spec { buy, market, offset, qty, ts, trader })
}

/// About `n` orders of a crossed book whose bids all sit at or above all its asks and whose
/// sides have equal totals: D == S on the whole gap between the highest ask and the lowest bid,
/// so the tie-breaks (surplus, reference price, k) decide the price.
fn balanced_specs(mode: QtyMode, n: usize) -> impl Strategy<Value = Vec<Spec>> {
    let row = (qty(mode), 0i64..=40, -40i64..=0, prop_oneof![4 => 0u64..4, 1 => any::<u64>()], 0u64..6, 0u64..6);
    vec(row, n / 2)
        .prop_flat_map(|rows| {
            let qtys: Vec<u64> = rows.iter().map(|r| r.0).collect();
            (Just(rows), Just(qtys).prop_shuffle())
        })
        .prop_map(|(rows, ask_qtys)| {
            rows.iter()
                .zip(ask_qtys)
                .flat_map(|(&(qty, bid, ask, ts, buyer, seller), ask_qty)| {
                    [
                        Spec { buy: true, market: false, offset: bid, qty, ts, trader: buyer },
                        Spec { buy: false, market: false, offset: ask, qty: ask_qty, ts, trader: seller },
                    ]
                })
                .collect()
        })
}

/// `n` distinct ids: small and consecutive, at the top of u64, or scattered by an odd multiplier
/// (a bijection of u64, so still distinct). The book is shuffled afterwards.
fn ids(n: usize) -> BoxedStrategy<Vec<u64>> {
    let n = n as u64;
    prop_oneof![
        (0u64..1000).prop_map(move |s| (0..n).map(|i| s + i).collect()),
        Just((0..n).map(|i| u64::MAX - i).collect()),
        (any::<u64>(), any::<u64>())
            .prop_map(move |(k, c)| (0..n).map(|i| i.wrapping_mul(k | 1).wrapping_add(c)).collect()),
    ]
    .boxed()
}

/// Caps and reference prices: mostly among and just beyond the book's prices, sometimes anywhere.
fn price_near(base: i64, spread: i64) -> BoxedStrategy<i64> {
    prop_oneof![
        6 => (-spread - 10..spread + 10).prop_map(move |d| base.saturating_add(d)),
        1 => any::<i64>(),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
    ]
    .boxed()
}

fn k_any() -> BoxedStrategy<PriceRule> {
    prop_oneof![
        (1u64..=12).prop_flat_map(|b| (0..=b, Just(b))),
        (any::<u64>(), any::<u64>()).prop_map(|(x, y)| (x.min(y), x.max(y).max(1))),
    ]
    .prop_map(|(a, b)| PriceRule::k(a, b).expect("0 <= a <= b, b > 0"))
    .boxed()
}

fn k_rules() -> BoxedStrategy<PriceRule> {
    prop_oneof![Just(PriceRule::MIDPOINT), Just(PriceRule::MARGINAL_ASK), Just(PriceRule::MARGINAL_BID), k_any()]
        .boxed()
}

fn any_rule() -> BoxedStrategy<PriceRule> {
    prop_oneof![4 => k_rules(), 1 => Just(PriceRule::Exchange)].boxed()
}

fn exchange_rule() -> BoxedStrategy<PriceRule> {
    Just(PriceRule::Exchange).boxed()
}

fn params(
    base: i64,
    spread: i64,
    rules: BoxedStrategy<PriceRule>,
    capped: bool,
) -> impl Strategy<Value = ClearingParams> {
    let caps = if capped {
        (option::weighted(0.35, price_near(base, spread)), option::weighted(0.35, price_near(base, spread)))
            .prop_map(|caps| match caps {
                (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                other => other,
            })
            .boxed()
    } else {
        Just((None, None)).boxed()
    };
    let allocation = prop_oneof![Just(Allocation::Time), Just(Allocation::ProRata)];
    (rules, allocation, option::of(price_near(base, spread)), caps).prop_map(
        |(rule, allocation, reference_price, (min_price, max_price))| ClearingParams {
            rule,
            allocation,
            reference_price,
            min_price,
            max_price,
        },
    )
}

/// A valid book of `sizes` orders (unique ids in random order; with `markets`, some market
/// orders; with probability `balanced`, a book of [`balanced_specs`]) and parameters drawn
/// from `rules` (with `capped`, optional caps min <= max).
fn case_with(
    rules: fn() -> BoxedStrategy<PriceRule>,
    markets: bool,
    capped: bool,
    sizes: RangeInclusive<usize>,
    balanced: f64,
) -> impl Strategy<Value = Case> {
    // Small books more often: they are where ties between candidate prices are common.
    let small = *sizes.start()..=(*sizes.start()).max((*sizes.end()).min(6));
    (
        base(),
        prop_oneof![1 => small, 2 => sizes],
        prop_oneof![Just(QtyMode::Unit), Just(QtyMode::Small), Just(QtyMode::Huge), Just(QtyMode::Mixed)],
        prop_oneof![Just(2i64), Just(8), Just(50)],
        prop::bool::weighted(balanced),
        // How many market orders: mostly some, sometimes many or only market orders.
        if markets { prop_oneof![8 => Just(0.15), 1 => Just(0.5), 1 => Just(1.0)].boxed() } else { Just(0.0).boxed() },
    )
        .prop_flat_map(move |(base, n, mode, spread, balanced, market_share)| {
            let specs = if balanced {
                balanced_specs(mode, n).boxed()
            } else {
                vec(spec(mode, spread, market_share), n).boxed()
            };
            (specs, ids(n), params(base, spread, rules(), capped), prop::bool::weighted(0.2), Just(base))
        })
        .prop_flat_map(|(specs, ids, params, time_sorted, base)| {
            let orders: Vec<Order> = specs
                .iter()
                .zip(ids)
                .map(|(s, id)| {
                    let side = if s.buy { Side::Buy } else { Side::Sell };
                    if s.market {
                        Order::market(id, s.trader, side, s.qty, s.ts)
                    } else {
                        Order::limit(id, s.trader, side, base.saturating_add(s.offset), s.qty, s.ts)
                    }
                })
                .collect();
            (Just(orders).prop_shuffle(), Just(params), Just(time_sorted))
        })
        .prop_map(|(mut orders, params, time_sorted)| {
            // Sometimes hand the engine a book already in time priority (its fast path).
            if time_sorted {
                orders.sort_by_key(|o| (o.ts, o.id));
            }
            Case { orders, params }
        })
}

fn any_case() -> impl Strategy<Value = Case> {
    case_with(any_rule, true, true, 0..=MAX_ORDERS, 0.2)
}

// ---------------------------------------------------------------------------------------------
// Brute force from the definitions
// ---------------------------------------------------------------------------------------------

fn is_market(o: &Order) -> bool {
    o.kind == Kind::Market
}

/// Whether `o` is willing to trade at `p`.
fn accepts(o: &Order, p: i64) -> bool {
    is_market(o)
        || match o.side {
            Side::Buy => o.price >= p,
            Side::Sell => o.price <= p,
        }
}

/// D(p): bid quantity with limit >= p, market bids at every price.
fn demand(orders: &[Order], p: i64) -> u64 {
    orders.iter().filter(|o| o.side == Side::Buy && accepts(o, p)).map(|o| o.qty).sum()
}

/// S(p): ask quantity with limit <= p, market asks at every price.
fn supply(orders: &[Order], p: i64) -> u64 {
    orders.iter().filter(|o| o.side == Side::Sell && accepts(o, p)).map(|o| o.qty).sum()
}

fn volume(orders: &[Order], p: i64) -> u64 {
    demand(orders, p).min(supply(orders, p))
}

/// The k-rules' ranking of a price: more volume first, then less |D - S|. Larger is better.
fn rank(orders: &[Order], p: i64) -> (u64, Reverse<u64>) {
    let (d, s) = (demand(orders, p), supply(orders, p));
    (d.min(s), Reverse(d.abs_diff(s)))
}

fn caps(params: &ClearingParams) -> (i64, i64) {
    (params.min_price.unwrap_or(i64::MIN), params.max_price.unwrap_or(i64::MAX))
}

/// The distinct limit prices of both sides, ascending.
fn limit_prices(orders: &[Order]) -> Vec<i64> {
    let mut prices: Vec<i64> = orders.iter().filter(|o| !is_market(o)).map(|o| o.price).collect();
    prices.sort_unstable();
    prices.dedup();
    prices
}

/// The largest V(p) over all integer p in the caps [lo, hi].
///
/// Why the candidates (limit prices in the caps, plus lo and hi) suffice: take any p in
/// [lo, hi] and let q be the largest candidate <= p (lo is one, so q exists). No limit price
/// lies in (q, p], else it would be a larger candidate <= p. So S(p) - S(q), the asks with
/// limit in (q, p], is 0, while D(q) >= D(p) because D never increases with the price. Hence
/// V(q) >= V(p): some candidate is at least as good as every price.
fn max_volume(orders: &[Order], params: &ClearingParams) -> u64 {
    let (lo, hi) = caps(params);
    limit_prices(orders)
        .into_iter()
        .filter(|p| (lo..=hi).contains(p))
        .chain([lo, hi])
        .map(|p| volume(orders, p))
        .max()
        .expect("lo and hi are candidates")
}

/// One price from every maximal run of prices in [lo, hi] on which D and S are constant, plus
/// a few more. D changes only between b and b + 1 for a bid limit b, S only between a - 1 and a
/// for an ask limit a, so every run starts at lo, at an ask limit or at a bid limit + 1: all of
/// these are here (x - 1 and x + 1 for every limit x, clipped to the caps, and both caps).
fn region_points(orders: &[Order], lo: i64, hi: i64) -> Vec<i64> {
    let mut points = vec![lo, hi];
    for x in limit_prices(orders) {
        for d in [-1i128, 0, 1] {
            let p = x as i128 + d;
            if (lo as i128..=hi as i128).contains(&p) {
                points.push(p as i64);
            }
        }
    }
    points.sort_unstable();
    points.dedup();
    points
}

/// Order indices of one side in priority: market orders, then limit orders best price first;
/// within each, earlier `ts`, then lower id.
fn priority(orders: &[Order], side: Side) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..orders.len()).filter(|&i| orders[i].side == side).collect();
    idx.sort_by_key(|&i| {
        let o = &orders[i];
        let price_key: i128 = match (o.kind, side) {
            (Kind::Market, _) => i128::MIN,
            (Kind::Limit, Side::Buy) => -(o.price as i128),
            (Kind::Limit, Side::Sell) => o.price as i128,
        };
        (price_key, o.ts, o.id)
    });
    idx
}

/// The price levels of one side in priority: the market orders (when there are any) form the
/// first level, then one level per limit price, best first; each level in time priority.
fn levels(orders: &[Order], side: Side) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut last: Option<Option<i64>> = None;
    for i in priority(orders, side) {
        let key = if is_market(&orders[i]) { None } else { Some(orders[i].price) };
        if last == Some(key) {
            out.last_mut().expect("a level is open").push(i);
        } else {
            out.push(vec![i]);
            last = Some(key);
        }
    }
    out
}

/// Bilateral fills from pairing the filled bids and asks greedily in priority order.
fn greedy_fills(orders: &[Order], filled: &[u64], price: i64) -> Vec<Fill> {
    let take = |side| priority(orders, side).into_iter().filter(|&i| filled[i] > 0).map(|i| (i, filled[i]));
    let (mut bids, mut asks): (Vec<_>, Vec<_>) = (take(Side::Buy).collect(), take(Side::Sell).collect());
    let (mut b, mut a) = (0, 0);
    let mut fills = Vec::new();
    while b < bids.len() && a < asks.len() {
        let qty = bids[b].1.min(asks[a].1);
        let (buy, sell) = (&orders[bids[b].0], &orders[asks[a].0]);
        fills.push(Fill { buy_id: buy.id, sell_id: sell.id, buyer: buy.trader, seller: sell.trader, qty, price });
        bids[b].1 -= qty;
        asks[a].1 -= qty;
        if bids[b].1 == 0 {
            b += 1;
        }
        if asks[a].1 == 0 {
            a += 1;
        }
    }
    fills
}

/// Buyers' plus sellers' surplus over filled limit orders at `price`.
fn welfare_at(orders: &[Order], filled: &[u64], price: i64) -> u128 {
    orders
        .iter()
        .zip(filled)
        .filter(|(o, &f)| !is_market(o) && f > 0)
        .map(|(o, &f)| {
            let gain: i128 = match o.side {
                Side::Buy => o.price as i128 - price as i128,
                Side::Sell => price as i128 - o.price as i128,
            };
            assert!(gain >= 0, "a filled limit order trades at a price it refuses");
            f as u128 * gain as u128
        })
        .sum()
}

/// Limit-only books: the largest gains from trade, pairing the highest bids with the lowest
/// asks while bid >= ask.
fn max_welfare(orders: &[Order]) -> u128 {
    let mut bids: Vec<(i64, u64)> = orders.iter().filter(|o| o.side == Side::Buy).map(|o| (o.price, o.qty)).collect();
    let mut asks: Vec<(i64, u64)> = orders.iter().filter(|o| o.side == Side::Sell).map(|o| (o.price, o.qty)).collect();
    bids.sort_by_key(|&(p, _)| Reverse(p));
    asks.sort_by_key(|&(p, _)| p);
    let (mut b, mut a, mut total) = (0, 0, 0u128);
    while b < bids.len() && a < asks.len() && bids[b].0 >= asks[a].0 {
        let qty = bids[b].1.min(asks[a].1);
        total += qty as u128 * bids[b].0.abs_diff(asks[a].0) as u128;
        bids[b].1 -= qty;
        asks[a].1 -= qty;
        if bids[b].1 == 0 {
            b += 1;
        }
        if asks[a].1 == 0 {
            a += 1;
        }
    }
    total
}

/// Shares `shared` over one level's orders (in time priority) by largest remainder: floors of
/// the exact shares, one more unit each to the largest remainders, ties to the earlier order.
fn pro_rata(qtys: &[u64], shared: u64) -> Vec<u64> {
    let total: u128 = qtys.iter().map(|&q| q as u128).sum();
    let mut parts: Vec<u64> = qtys.iter().map(|&q| (shared as u128 * q as u128 / total) as u64).collect();
    let left = shared - parts.iter().sum::<u64>();
    let mut by_remainder: Vec<usize> = (0..qtys.len()).collect();
    by_remainder.sort_by_key(|&i| (Reverse(shared as u128 * qtys[i] as u128 % total), i));
    for &i in by_remainder.iter().take(left as usize) {
        parts[i] += 1;
    }
    parts
}

/// The exchange rule of README.md, "Price rules", over the limit prices moved inside the caps.
#[derive(Debug, PartialEq)]
enum ExchangeOutcome {
    NoTrade,
    Priced { price: i64, interval: (i64, i64) },
    MissingReference,
}

/// The candidates (limit prices moved inside the caps) left after max V, then min |D - S|;
/// empty when the book has no limit orders or nothing crosses at any candidate.
fn exchange_finalists(orders: &[Order], params: &ClearingParams) -> Vec<i64> {
    let (lo, hi) = caps(params);
    let mut candidates: Vec<i64> = limit_prices(orders).iter().map(|p| (*p).clamp(lo, hi)).collect();
    candidates.dedup();
    let Some(best_volume) = candidates.iter().map(|&p| volume(orders, p)).max() else { return candidates };
    if best_volume == 0 {
        return Vec::new();
    }
    candidates.retain(|&p| volume(orders, p) == best_volume);
    let least = candidates.iter().map(|&p| demand(orders, p).abs_diff(supply(orders, p))).min().expect("non-empty");
    candidates.retain(|&p| demand(orders, p).abs_diff(supply(orders, p)) == least);
    candidates
}

fn exchange_brute(orders: &[Order], params: &ClearingParams) -> ExchangeOutcome {
    let (lo, hi) = caps(params);
    let candidates = exchange_finalists(orders, params);
    if limit_prices(orders).is_empty() {
        // Market orders only: D and S are the same at every price.
        if volume(orders, 0) == 0 {
            return ExchangeOutcome::NoTrade;
        }
        return match params.reference_price {
            None => ExchangeOutcome::MissingReference,
            Some(r) => {
                let price = r.clamp(lo, hi);
                ExchangeOutcome::Priced { price, interval: (price, price) }
            }
        };
    }
    if candidates.is_empty() {
        return ExchangeOutcome::NoTrade;
    }
    let surplus = |p: i64| demand(orders, p) as i128 - supply(orders, p) as i128;
    let (lowest, highest) = (candidates[0], candidates[candidates.len() - 1]);
    let interval = (lowest, highest);
    let price = if candidates.iter().all(|&p| surplus(p) > 0) {
        highest
    } else if candidates.iter().all(|&p| surplus(p) < 0) || candidates.len() == 1 {
        lowest
    } else {
        let Some(r) = params.reference_price else {
            return ExchangeOutcome::MissingReference;
        };
        if r >= highest {
            highest
        } else if r <= lowest {
            lowest
        } else {
            // the nearest candidate (the reference itself when it is one); halfway -> higher
            *candidates.iter().min_by_key(|&&p| (p.abs_diff(r), Reverse(p))).expect("non-empty")
        }
    };
    ExchangeOutcome::Priced { price, interval }
}

fn sum_side(orders: &[Order], filled: &[u64], side: Side) -> u128 {
    orders.iter().zip(filled).filter(|(o, _)| o.side == side).map(|(_, &f)| f as u128).sum()
}

/// The outcome when nothing trades.
fn check_no_trade(c: &Clearing, n: usize) -> Result<(), TestCaseError> {
    prop_assert_eq!(c.price, None);
    prop_assert_eq!(c.interval, None);
    prop_assert_eq!((c.volume, c.demand, c.supply, c.welfare), (0, 0, 0, 0));
    prop_assert_eq!(&c.filled, &vec![0; n]);
    prop_assert!(c.fills.is_empty());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// 1. The volume is the largest V(p) over the prices within the caps; the only errors for
    ///    a valid book are an indeterminate price (k-rules) and a missing reference (exchange).
    #[test]
    fn volume_is_the_brute_force_maximum(case in any_case()) {
        let (orders, params) = (&case.orders[..], &case.params);
        let best = max_volume(orders, params);
        let (lo, hi) = caps(params);
        match clear(orders, params) {
            Ok(c) => {
                prop_assert_eq!(c.volume, best);
                match c.price {
                    Some(p) => {
                        prop_assert!(best > 0);
                        prop_assert!((lo..=hi).contains(&p), "price {} outside caps [{}, {}]", p, lo, hi);
                        prop_assert_eq!(volume(orders, p), best);
                    }
                    None => {
                        prop_assert_eq!(best, 0);
                        check_no_trade(&c, orders.len())?;
                    }
                }
            }
            Err(CoreError::IndeterminatePrice { .. }) => {
                prop_assert!(matches!(params.rule, PriceRule::K { .. }), "{:?} is not a k-rule", params.rule);
                prop_assert!(best > 0);
            }
            Err(CoreError::MissingReferencePrice { .. }) => {
                prop_assert_eq!(params.rule, PriceRule::Exchange);
                prop_assert_eq!(params.reference_price, None);
                prop_assert!(best > 0);
            }
            Err(e) => prop_assert!(false, "unexpected error for a valid book: {:?}", e),
        }
    }

    /// 2. Filled orders accept the price and fill at most their quantity; both sides fill the
    ///    volume; demand and supply are D and S at the price.
    #[test]
    fn filled_orders_accept_the_price_and_balance(case in any_case()) {
        let (orders, params) = (&case.orders[..], &case.params);
        let Ok(c) = clear(orders, params) else { return Ok(()) };
        let Some(p) = c.price else { return check_no_trade(&c, orders.len()) };
        prop_assert_eq!(c.filled.len(), orders.len());
        for (o, &f) in orders.iter().zip(&c.filled) {
            prop_assert!(f <= o.qty, "order {} filled {} of {}", o.id, f, o.qty);
            if f > 0 {
                prop_assert!(accepts(o, p), "order {} ({:?} {:?} at {}) filled at {}",
                    o.id, o.side, o.kind, o.price, p);
            }
        }
        prop_assert_eq!(sum_side(orders, &c.filled, Side::Buy), c.volume as u128);
        prop_assert_eq!(sum_side(orders, &c.filled, Side::Sell), c.volume as u128);
        prop_assert_eq!((c.demand, c.supply), (demand(orders, p), supply(orders, p)));
        prop_assert_eq!(c.volume, c.demand.min(c.supply));
    }

    /// 3. Fills: at the price, positive, adding up to each order's fill, naming the orders'
    ///    traders, at most (filled orders - 1) of them, and exactly the greedy pairing of the
    ///    filled bids and asks in priority order.
    #[test]
    fn fills_pair_the_filled_orders(case in any_case()) {
        let (orders, params) = (&case.orders[..], &case.params);
        let Ok(c) = clear(orders, params) else { return Ok(()) };
        let Some(p) = c.price else { return check_no_trade(&c, orders.len()) };
        let mut per_order = vec![0u128; orders.len()];
        let find = |id: u64| orders.iter().position(|o| o.id == id);
        for fill in &c.fills {
            prop_assert_eq!(fill.price, p);
            prop_assert!(fill.qty > 0);
            let b = find(fill.buy_id).expect("fill names an order of the book");
            let s = find(fill.sell_id).expect("fill names an order of the book");
            prop_assert_eq!((orders[b].side, orders[s].side), (Side::Buy, Side::Sell));
            prop_assert_eq!((fill.buyer, fill.seller), (orders[b].trader, orders[s].trader));
            per_order[b] += fill.qty as u128;
            per_order[s] += fill.qty as u128;
        }
        for (i, &f) in c.filled.iter().enumerate() {
            prop_assert_eq!(per_order[i], f as u128, "order {}", orders[i].id);
        }
        let filled_orders = c.filled.iter().filter(|&&f| f > 0).count();
        prop_assert_eq!(c.fills.is_empty(), c.volume == 0);
        if !c.fills.is_empty() {
            prop_assert!(c.fills.len() < filled_orders, "{} fills for {} filled orders", c.fills.len(), filled_orders);
        }
        prop_assert_eq!(&c.fills, &greedy_fills(orders, &c.filled, p));
    }

    /// 4. Per side at most one partly filled level (market orders are the first level); the
    ///    levels before it fill completely, the ones after not at all; inside it quantity goes
    ///    by time priority, or pro rata by largest remainder with ties by time.
    #[test]
    fn one_partly_filled_level_per_side(case in any_case()) {
        let (orders, params) = (&case.orders[..], &case.params);
        let Ok(c) = clear(orders, params) else { return Ok(()) };
        for side in [Side::Buy, Side::Sell] {
            let levels = levels(orders, side);
            let qty = |level: &[usize]| level.iter().map(|&i| orders[i].qty as u128).sum::<u128>();
            let got = |level: &[usize]| level.iter().map(|&i| c.filled[i] as u128).sum::<u128>();
            let Some(k) = levels.iter().position(|l| got(l) < qty(l)) else { continue };
            for later in &levels[k + 1..] {
                prop_assert_eq!(got(later), 0, "{:?}: a level after the partly filled one trades", side);
            }
            let shared = got(&levels[k]) as u64;
            let qtys: Vec<u64> = levels[k].iter().map(|&i| orders[i].qty).collect();
            let expected: Vec<u64> = match params.allocation {
                Allocation::Time => {
                    let mut left = shared;
                    qtys.iter().map(|&q| { let take = q.min(left); left -= take; take }).collect()
                }
                Allocation::ProRata => pro_rata(&qtys, shared),
            };
            let actual: Vec<u64> = levels[k].iter().map(|&i| c.filled[i]).collect();
            prop_assert_eq!(actual, expected, "{:?} level {} ({:?})", side, k, params.allocation);
        }
    }

    /// 5. Same input, same output; a shuffled book clears the same, its `filled` permuted
    ///    alike; the record form of the book clears the same as the struct form.
    #[test]
    fn deterministic_and_permutation_invariant(
        (case, perm) in any_case().prop_flat_map(|case| {
            let n = case.orders.len();
            (Just(case), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        })
    ) {
        let (orders, params) = (&case.orders[..], &case.params);
        let first = clear(orders, params);
        prop_assert_eq!(&first, &clear(orders, params));
        let records: Vec<OrderRecord> = orders.iter().map(Order::record).collect();
        prop_assert_eq!(&first, &clear(&records[..], params));
        let shuffled: Vec<Order> = perm.iter().map(|&i| orders[i]).collect();
        match (first, clear(&shuffled[..], params)) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!((a.price, a.interval, a.volume), (b.price, b.interval, b.volume));
                prop_assert_eq!((a.demand, a.supply, a.welfare), (b.demand, b.supply, b.welfare));
                prop_assert_eq!(&a.fills, &b.fills);
                let permuted: Vec<u64> = perm.iter().map(|&i| a.filled[i]).collect();
                prop_assert_eq!(permuted, b.filled);
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "original {:?}, shuffled {:?}", a, b),
        }
    }

    /// 6a. Welfare is the buyers' plus sellers' surplus over the filled limit orders.
    #[test]
    fn welfare_is_the_surplus_of_filled_limit_orders(case in any_case()) {
        let (orders, params) = (&case.orders[..], &case.params);
        let Ok(c) = clear(orders, params) else { return Ok(()) };
        let Some(p) = c.price else { return check_no_trade(&c, orders.len()) };
        prop_assert_eq!(c.welfare, welfare_at(orders, &c.filled, p));
    }

    /// 6b. Limit-only books without caps: the welfare is the largest possible gains from trade.
    #[test]
    fn welfare_is_maximal_for_uncapped_limit_books(case in case_with(any_rule, false, false, 0..=MAX_ORDERS, 0.2)) {
        let (orders, params) = (&case.orders[..], &case.params);
        match clear(orders, params) {
            Ok(c) => prop_assert_eq!(c.welfare, max_welfare(orders)),
            // Without market orders and caps the best interval of a k-rule is bounded.
            Err(e) => prop_assert!(
                params.rule == PriceRule::Exchange && matches!(e, CoreError::MissingReferencePrice { .. }),
                "unexpected error {:?}", e
            ),
        }
    }

    /// 7. k-rules: the reported interval is exactly the set of best prices in the caps (max V,
    ///    then min |D - S|): its ends are best, the prices just outside are strictly worse, and
    ///    every price region inside is best and outside is not; the price is
    ///    lo + floor(k (hi - lo)). The interval is unbounded (an error) exactly when the best
    ///    prices run past every limit price to an uncapped end.
    #[test]
    fn k_rule_price_comes_from_the_best_interval(case in case_with(k_rules, true, true, 0..=MAX_ORDERS, 0.2)) {
        let (orders, params) = (&case.orders[..], &case.params);
        let PriceRule::K { num, den } = params.rule else { unreachable!("k-rules only") };
        let (lo_cap, hi_cap) = caps(params);
        let points = region_points(orders, lo_cap, hi_cap);
        let best = points.iter().map(|&p| rank(orders, p)).max().expect("the caps are points");
        let result = clear(orders, params);
        if best.0 == 0 {
            prop_assert!(matches!(&result, Ok(c) if c.price.is_none()), "nothing crosses, got {:?}", result);
            return Ok(());
        }
        let limits = limit_prices(orders);
        // The regions below the lowest and above the highest limit price reach i64's ends; they
        // are empty when a limit price sits on the end itself.
        let below = params.min_price.is_none() && rank(orders, i64::MIN) == best && limits.first() != Some(&i64::MIN);
        let above = params.max_price.is_none() && rank(orders, i64::MAX) == best && limits.last() != Some(&i64::MAX);
        if below || above {
            prop_assert_eq!(result, Err(CoreError::IndeterminatePrice { below }));
            return Ok(());
        }
        let c = match result {
            Ok(c) => c,
            Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e:?}"))),
        };
        let (lo, hi) = c.interval.expect("a price comes with its interval");
        prop_assert!(lo_cap <= lo && lo <= hi && hi <= hi_cap,
            "interval [{}, {}] caps [{}, {}]", lo, hi, lo_cap, hi_cap);
        prop_assert_eq!(rank(orders, lo), best);
        prop_assert_eq!(rank(orders, hi), best);
        if lo > lo_cap {
            prop_assert!(rank(orders, lo - 1) < best, "lo - 1 = {} is as good as lo", lo - 1);
        }
        if hi < hi_cap {
            prop_assert!(rank(orders, hi + 1) < best, "hi + 1 = {} is as good as hi", hi + 1);
        }
        for &p in &points {
            prop_assert_eq!(rank(orders, p) == best, (lo..=hi).contains(&p), "price {} vs [{}, {}]", p, lo, hi);
        }
        let step = num as u128 * (hi as i128 - lo as i128) as u128 / den as u128;
        let expected = lo as i128 + step as i128;
        prop_assert_eq!(c.price.map(i128::from), Some(expected));
    }

    /// The exchange rule: candidates are the limit prices moved inside the caps; max V, then
    /// min surplus, then the side of the surplus, then the reference price (README.md, "Price rules").
    #[test]
    fn exchange_rule_follows_the_design(
        case in case_with(exchange_rule, true, true, 0..=MAX_ORDERS, 0.5),
        among_finalists in option::of(any::<Index>()),
    ) {
        let (orders, mut params) = (&case.orders[..], case.params);
        // Half the time draw the reference between the lowest and highest finalist, so that it
        // falls strictly between them (and halfway between two) often enough.
        let finalists = exchange_finalists(orders, &params);
        if let (Some(at), Some(lowest), Some(highest)) = (among_finalists, finalists.first(), finalists.last()) {
            let span = highest.abs_diff(*lowest).min(1 << 20) as usize + 1;
            params.reference_price = Some(lowest + at.index(span) as i64);
        }
        let params = &params;
        let expected = exchange_brute(orders, params);
        match (clear(orders, params), expected) {
            (Ok(c), ExchangeOutcome::NoTrade) => check_no_trade(&c, orders.len())?,
            (Ok(c), ExchangeOutcome::Priced { price, interval }) => {
                prop_assert_eq!((c.price, c.interval), (Some(price), Some(interval)));
            }
            (Err(CoreError::MissingReferencePrice { .. }), ExchangeOutcome::MissingReference) => {}
            (got, expected) => prop_assert!(false, "got {:?}, expected {:?}", got, expected),
        }
    }

    /// The exchange rule when only market orders are in the book: the reference price, moved
    /// inside the caps; without one, an error.
    #[test]
    fn exchange_rule_with_only_market_orders(case in case_with(exchange_rule, true, true, 0..=MAX_ORDERS, 0.0)) {
        let orders: Vec<Order> =
            case.orders.iter().map(|o| Order::market(o.id, o.trader, o.side, o.qty, o.ts)).collect();
        let params = &case.params;
        match (clear(&orders[..], params), exchange_brute(&orders, params)) {
            (Ok(c), ExchangeOutcome::NoTrade) => check_no_trade(&c, orders.len())?,
            (Ok(c), ExchangeOutcome::Priced { price, interval }) => {
                prop_assert_eq!((c.price, c.interval), (Some(price), Some(interval)));
                prop_assert_eq!(c.welfare, 0);
            }
            (Err(CoreError::MissingReferencePrice { .. }), ExchangeOutcome::MissingReference) => {}
            (got, expected) => prop_assert!(false, "got {:?}, expected {:?}", got, expected),
        }
    }

    /// Validation: a zero quantity, a side code other than +1/-1, a kind other than 0/1 or a
    /// repeated id is refused with the variant naming the order and the field.
    #[test]
    fn invalid_orders_are_refused_by_name(
        case in case_with(any_rule, true, true, 2..=MAX_ORDERS, 0.2),
        at in any::<Index>(),
        other in any::<Index>(),
        fault in 0u8..4,
        side in prop_oneof![Just(3i8), Just(0i8), Just(2i8), Just(-2i8), Just(i8::MIN), Just(i8::MAX)],
        kind in 2u8..=u8::MAX,
    ) {
        let mut records: Vec<OrderRecord> = case.orders.iter().map(Order::record).collect();
        let n = records.len();
        let i = at.index(n);
        let id = records[i].id;
        let got = match fault {
            0 => {
                records[i].qty = 0;
                clear(&records[..], &case.params)
            }
            1 => {
                records[i].side = side;
                clear(&records[..], &case.params)
            }
            2 => {
                records[i].kind = kind;
                clear(&records[..], &case.params)
            }
            _ => {
                let j = (i + 1 + other.index(n - 1)) % n;
                records[j].id = id;
                clear(&records[..], &case.params)
            }
        };
        match (fault, got) {
            (0, Err(CoreError::InvalidOrder { id: got, field: "qty", value: 0, .. })) => prop_assert_eq!(got, id),
            (1, Err(CoreError::InvalidOrder { id: got, field: "side", value, .. })) => {
                prop_assert_eq!((got, value), (id, i128::from(side)));
            }
            (2, Err(CoreError::InvalidOrder { id: got, field: "kind", value, .. })) => {
                prop_assert_eq!((got, value), (id, i128::from(kind)));
            }
            (3, Err(CoreError::DuplicateOrderId { id: got })) => prop_assert_eq!(got, id),
            (fault, got) => prop_assert!(false, "fault {} on order {}: got {:?}", fault, id, got),
        }
    }

    /// Caps the wrong way round are refused before anything else.
    #[test]
    fn min_price_above_max_price_is_refused(case in any_case(), a in any::<i64>(), b in any::<i64>()) {
        prop_assume!(a != b);
        let params = ClearingParams { min_price: Some(a.max(b)), max_price: Some(a.min(b)), ..case.params };
        let got = clear(&case.orders[..], &params);
        prop_assert!(matches!(got, Err(CoreError::InvalidParameter { name: "min_price", .. })), "got {:?}", got);
    }

    /// A side whose total quantity leaves u64 is refused with that side.
    #[test]
    fn side_total_overflow_is_refused(case in any_case(), buy in any::<bool>(), at in any::<Index>()) {
        let side = if buy { Side::Buy } else { Side::Sell };
        let mut orders = case.orders.clone();
        let fresh: Vec<u64> = (0..).filter(|id| orders.iter().all(|o| o.id != *id)).take(2).collect();
        let big = [
            Order::limit(fresh[0], 0, side, 0, u64::MAX / 2 + 1, 0),
            Order::market(fresh[1], 0, side, u64::MAX / 2 + 1, 0),
        ];
        let i = at.index(orders.len() + 1);
        orders.splice(i..i, big);
        prop_assert_eq!(clear(&orders[..], &case.params), Err(CoreError::QuantityOverflow { side }));
    }
}
