"""Hand-checked tests of tests/reference.py, so that the oracle itself is trusted.

Every expected number below was worked out by hand from README.md, "Price rules"; the comments show
the D(p) / S(p) tables the numbers come from. No gridmatch import: plain pytest (+ hypothesis).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

# tests/ is on sys.path (conftest.py)
from reference import (
    I64_MAX,
    I64_MIN,
    IndeterminatePrice,
    MissingReferencePrice,
    RefOrder,
    clear,
    max_executable_volume,
    max_welfare,
)

MKT = None  # a market order's price in the tables below


def book(*rows: tuple) -> list[RefOrder]:
    """Rows of (id, side, price or MKT, qty, ts); the trader is 100 + id."""
    orders = []
    for oid, side, price, qty, ts in rows:
        kind = 1 if price is MKT else 0
        sign = 1 if side == "buy" else -1
        orders.append(RefOrder(oid, 100 + oid, sign, 0 if price is MKT else price, qty, ts, kind))
    return orders


def fill(b: int, s: int, qty: int, price: int) -> tuple[int, int, int, int, int, int]:
    return (b, s, 100 + b, 100 + s, qty, price)


# Book A: a wide interval, to tell the k-rules apart.
#   bids: 1: 10 @ 110    2: 10 @ 100        asks: 3: 10 @ 90    4: 10 @ 120
#   p        <90   90..100   101..110   111..119   >=120
#   D(p)      20      20        10          0         0
#   S(p)       0      10        10         10        20
#   V          0      10        10          0         0
#   |D-S|            10         0
# max V = 10 on [90, 110]; min |D-S| = 0 on [101, 110] -> interval [101, 110].
BOOK_A = book(
    (1, "buy", 110, 10, 0),
    (2, "buy", 100, 10, 0),
    (3, "sell", 90, 10, 0),
    (4, "sell", 120, 10, 0),
)


@pytest.mark.parametrize(
    ("rule", "price"),
    [
        ("marginal_ask", 101),  # k = 0
        ("midpoint", 105),  # 101 + 9 // 2
        ("marginal_bid", 110),  # k = 1
        ((1, 3), 104),  # 101 + 9 // 3
        ((2, 3), 107),  # 101 + 18 // 3
    ],
)
def test_k_rules_pick_within_the_interval(rule, price):
    r = clear(BOOK_A, rule=rule)
    assert r.interval == (101, 110)
    assert r.price == price
    # at any p in [101, 110] only bid 1 and ask 3 are eligible: D = S = 10
    assert (r.volume, r.demand, r.supply) == (10, 10, 10)
    assert r.filled == [10, 0, 10, 0]
    # welfare = 10 * (110 - p) + 10 * (p - 90) = 200 whatever the price
    assert r.welfare == 200
    assert r.fills == [fill(1, 3, 10, price)]


def test_caps_cut_the_interval():
    # max_price 104: ticks 89..104; best V 10 with |D-S| 0 on 101..104
    assert clear(BOOK_A, max_price=104).interval == (101, 104)
    assert clear(BOOK_A, max_price=104).price == 102
    # max_price 95: only 90..95 have V = 10 (|D-S| = 10) -> [90, 95], midpoint 92
    r = clear(BOOK_A, max_price=95)
    assert (r.interval, r.price, r.volume, r.demand, r.supply) == ((90, 95), 92, 10, 20, 10)
    # min 106, max 108: all three ticks tie
    assert clear(BOOK_A, min_price=106, max_price=108).interval == (106, 108)
    # caps wholly below every limit: V(85) = min(20, 0) = 0 -> no price
    assert clear(BOOK_A, max_price=85).price is None


# Book N: negative prices, a partly filled level with two orders.
#   bids: 1: 30 @ -5 (ts 3)   2: 20 @ -5 (ts 1)   3: 10 @ -2 (ts 5)
#   asks: 4: 40 @ -8 (ts 2)   5: 10 @ -6 (ts 4)
#   p       <-8   -8..-7   -6..-5   -4..-2   >-2
#   D(p)     60     60       60       10       0
#   S(p)      0     40       50       50      50
#   V         0     40       50       10       0
#   |D-S|           20       10
# -> interval [-6, -5]; midpoint -6 + 1 // 2 = -6 (floor, not towards zero).
BOOK_N = book(
    (1, "buy", -5, 30, 3),
    (2, "buy", -5, 20, 1),
    (3, "buy", -2, 10, 5),
    (4, "sell", -8, 40, 2),
    (5, "sell", -6, 10, 4),
)


def test_negative_prices_time_allocation():
    r = clear(BOOK_N)
    assert (r.price, r.interval) == (-6, (-6, -5))
    # asks are short (50 < 60) and fill; bids: level -2 fills (10), level -5 shares 40 by time:
    # order 2 (ts 1) takes 20, then order 1 (ts 3) takes the remaining 20
    assert (r.volume, r.demand, r.supply) == (50, 60, 50)
    assert r.filled == [20, 20, 10, 40, 10]
    # 10*(-2+6) + 20*(-5+6) + 20*(-5+6) + 40*(-6+8) + 10*0
    assert r.welfare == 160
    # bids in priority 3, 2, 1; asks 4, 5
    assert r.fills == [fill(3, 4, 10, -6), fill(2, 4, 20, -6), fill(1, 4, 10, -6), fill(1, 5, 10, -6)]


def test_negative_prices_pro_rata_allocation():
    r = clear(BOOK_N, allocation="pro_rata")
    # level -5 total 50 shares 40: order 1 30*40/50 = 24, order 2 20*40/50 = 16, no remainder
    assert r.filled == [24, 16, 10, 40, 10]
    assert r.fills == [fill(3, 4, 10, -6), fill(2, 4, 16, -6), fill(1, 4, 14, -6), fill(1, 5, 10, -6)]
    assert r.welfare == 160


def test_negative_prices_marginal_bid():
    r = clear(BOOK_N, rule="marginal_bid")
    assert r.price == -5
    assert r.filled == [20, 20, 10, 40, 10]
    # 10*3 + 0 + 0 + 40*3 + 10*1: the same total as at -6, split differently
    assert r.welfare == 160
    assert max_welfare(BOOK_N) == 160


# Book P: one level of bids at 100 against a smaller ask; D = 11, S = 6 only at p = 100.
#   bids: 1: 5 @ 100 (ts 1)   2: 3 @ 100 (ts 9)   3: 3 @ 100 (ts 4)     ask 4: 6 @ 100
# pro rata, left 6 of 11: order 1 30/11 = 2 r 8; order 2 18/11 = 1 r 7; order 3 1 r 7;
# 4 handed out, 2 left over: order 1 (largest remainder), then order 3 (tie at 7, earlier ts).
BOOK_P = book(
    (1, "buy", 100, 5, 1),
    (2, "buy", 100, 3, 9),
    (3, "buy", 100, 3, 4),
    (4, "sell", 100, 6, 0),
)


def test_pro_rata_largest_remainder_ties_by_time():
    r = clear(BOOK_P, allocation="pro_rata")
    assert (r.price, r.interval, r.volume) == (100, (100, 100), 6)
    assert r.filled == [3, 1, 2, 6]
    # fills in time priority within the level: 1, 3, 2
    assert r.fills == [fill(1, 4, 3, 100), fill(3, 4, 2, 100), fill(2, 4, 1, 100)]


def test_time_allocation_same_book():
    # time priority: order 1 (ts 1) takes 5, order 3 (ts 4) takes 1, order 2 (ts 9) nothing
    assert clear(BOOK_P, allocation="time").filled == [5, 0, 1, 6]


def test_pro_rata_equal_ts_ties_by_lower_id():
    orders = book((1, "buy", 100, 5, 1), (2, "buy", 100, 3, 4), (3, "buy", 100, 3, 4), (4, "sell", 100, 6, 0))
    assert clear(orders, allocation="pro_rata").filled == [3, 2, 1, 6]


def test_pro_rata_exact_with_huge_quantities():
    q = 10**18
    orders = book((1, "buy", 7, q, 2), (2, "buy", 7, q, 0), (3, "buy", 7, q, 1), (4, "sell", 7, q + 1, 0))
    # each q*(q+1)/(3q) = 333333333333333333 r (equal); 2 left over go to ts 0 and ts 1
    third = (q + 1) // 3
    assert clear(orders, allocation="pro_rata").filled == [third, third + 1, third + 1, q + 1]


def test_market_orders_only_need_both_caps():
    orders = book((1, "buy", MKT, 30, 2), (2, "buy", MKT, 20, 1), (3, "sell", MKT, 30, 0))
    with pytest.raises(IndeterminatePrice):
        clear(orders)
    with pytest.raises(IndeterminatePrice):
        clear(orders, min_price=10)
    r = clear(orders, min_price=10, max_price=20)
    assert (r.interval, r.price, r.volume, r.demand, r.supply) == ((10, 20), 15, 30, 50, 30)
    assert clear(orders, rule=(1, 3), min_price=10, max_price=20).price == 13  # 10 + 10 // 3
    # the market bids are one partly filled group: time priority, order 2 (ts 1) first
    assert r.filled == [10, 20, 30]
    assert r.welfare == 0  # market orders carry no welfare
    assert r.fills == [fill(2, 3, 20, 15), fill(1, 3, 10, 15)]


def test_k_rule_arithmetic_is_exact_on_the_whole_i64_range():
    orders = book((1, "buy", MKT, 1, 0), (2, "sell", MKT, 1, 0))
    whole = {"min_price": I64_MIN, "max_price": I64_MAX}
    assert clear(orders, **whole).interval == (I64_MIN, I64_MAX)
    assert clear(orders, **whole).price == -1  # I64_MIN + (2**64 - 1) // 2
    # (2**64 - 1) / 3 is exact in integers but not in floats
    assert clear(orders, rule=(1, 3), **whole).price == I64_MIN + 6148914691236517205
    assert clear(orders, rule="marginal_bid", **whole).price == I64_MAX


# Book M: a market bid against two limit asks.
#   bid 1: 10 MKT          asks: 2: 4 @ 50    3: 10 @ 60
#   p      <50   50..59   >=60
#   D       10     10      10
#   S        0      4      14
#   V        0      4      10  (|D-S| 4)
# The best prices are everything from 60 up: the region above the highest limit.
BOOK_M = book((1, "buy", MKT, 10, 0), (2, "sell", 50, 4, 0), (3, "sell", 60, 10, 0))


def test_region_above_needs_max_price():
    with pytest.raises(IndeterminatePrice):
        clear(BOOK_M)
    r = clear(BOOK_M, max_price=70)
    assert (r.interval, r.price, r.volume, r.demand, r.supply) == ((60, 70), 65, 10, 10, 14)
    # asks: level 50 fills (4), level 60 gets the other 6
    assert r.filled == [10, 4, 6]
    assert r.welfare == 4 * (65 - 50) + 6 * (65 - 60)
    assert r.fills == [fill(1, 2, 4, 65), fill(1, 3, 6, 65)]
    with pytest.raises(IndeterminatePrice):  # k = 0 still needs the interval to be bounded
        clear(BOOK_M, rule="marginal_ask")


def test_region_below_needs_min_price():
    #   ask 1: 10 MKT     bids: 2: 4 @ 50    3: 10 @ 40
    #   p     <=40   41..50   >50
    #   D       14      4       0
    #   S       10     10      10
    #   V       10      4       0     -> best: everything up to 40
    orders = book((1, "sell", MKT, 10, 0), (2, "buy", 50, 4, 0), (3, "buy", 40, 10, 0))
    with pytest.raises(IndeterminatePrice):
        clear(orders, rule="marginal_bid")
    r = clear(orders, min_price=30)
    assert (r.interval, r.price) == ((30, 40), 35)
    assert r.filled == [10, 4, 6]


def test_caps_beyond_the_limits_stand_for_a_region():
    # bid 1: 5 MKT, ask 3: 5 MKT, ask 2: 5 @ 100. Caps [40, 50] lie below every limit:
    # there D = 5, S = 5 (the ask at 100 is not eligible) -> interval [40, 50]
    orders = book((1, "buy", MKT, 5, 0), (2, "sell", 100, 5, 0), (3, "sell", MKT, 5, 0))
    r = clear(orders, min_price=40, max_price=50)
    assert (r.interval, r.price, r.filled) == ((40, 50), 45, [5, 0, 5])
    with pytest.raises(IndeterminatePrice):
        clear(orders, max_price=50)


def test_no_cross_no_price():
    orders = book((1, "buy", 99, 10, 0), (2, "sell", 100, 10, 0))
    for rule in ("midpoint", "marginal_ask", "marginal_bid", (1, 3), "exchange"):
        r = clear(orders, rule=rule, reference_price=100)
        assert (r.price, r.interval, r.volume, r.demand, r.supply, r.welfare) == (None, None, 0, 0, 0, 0)
        assert (r.filled, r.fills) == ([0, 0], [])
    # one-sided market interest does not cross either
    assert clear(book((1, "buy", MKT, 5, 0))).price is None


def test_market_orders_come_first_in_fills():
    #   bids: 1: 5 MKT (ts 9)   2: 5 @ 101 (ts 0)     asks: 3: 3 MKT   4: 10 @ 99
    #   p      <99   99..101   >101
    #   D       10      10       5
    #   S        3      13      13
    #   V        3      10       5  (|D-S| 3) -> [99, 101], midpoint 100
    orders = book((1, "buy", MKT, 5, 9), (2, "buy", 101, 5, 0), (3, "sell", MKT, 3, 0), (4, "sell", 99, 10, 0))
    r = clear(orders)
    assert (r.price, r.volume, r.demand, r.supply) == (100, 10, 10, 13)
    assert r.filled == [5, 5, 3, 7]
    assert r.welfare == 5 * 1 + 7 * 1
    # the market bid leads although its ts is later; 3 fills = 2 bids + 2 asks - 1
    assert r.fills == [fill(1, 3, 3, 100), fill(1, 4, 2, 100), fill(2, 4, 5, 100)]


def test_i64_edges():
    # bid 1 @ MIN+1, ask 1 @ MIN: V = 1 at MIN and MIN+1, 0 above.
    # The window starts at MIN = lowest limit - 1, a tick below every limit -> unbounded below.
    orders = book((1, "buy", I64_MIN + 1, 1, 0), (2, "sell", I64_MIN, 1, 0))
    assert clear(orders).interval == (I64_MIN, I64_MIN + 1)
    # ask at MIN is the lowest limit; no i64 tick lies below it, so no region there
    orders = book((1, "buy", I64_MIN, 1, 0), (2, "sell", MKT, 1, 0))
    assert clear(orders).price == I64_MIN
    # with the lowest limit at MIN+1 the tick MIN is a region of its own, uncapped -> error
    orders = book((1, "buy", I64_MIN + 1, 1, 0), (2, "sell", MKT, 1, 0))
    with pytest.raises(IndeterminatePrice):
        clear(orders)
    assert clear(orders, min_price=I64_MIN).interval == (I64_MIN, I64_MIN + 1)
    # the top end
    orders = book((1, "buy", I64_MAX, 3, 0), (2, "sell", I64_MAX - 1, 3, 0))
    r = clear(orders)
    assert (r.interval, r.price, r.welfare) == ((I64_MAX - 1, I64_MAX), I64_MAX - 1, 3)


# Exchange rule. Book X: four candidates with equal V and |surplus|, mixed signs.
#   bids: 1: 10 @ 110   2: 5 @ 95        asks: 3: 10 @ 90   4: 5 @ 105
#   candidate   90    95   105   110
#   D           15    15    10    10
#   S           10    10    15    15
#   V           10    10    10    10
#   D-S         +5    +5    -5    -5    -> the reference price decides; interval (90, 110)
BOOK_X = book((1, "buy", 110, 10, 0), (2, "buy", 95, 5, 0), (3, "sell", 90, 10, 0), (4, "sell", 105, 5, 0))


@pytest.mark.parametrize(
    ("reference", "price"),
    [
        (0, 90),  # at or below the lowest
        (90, 90),
        (95, 95),  # a candidate itself
        (97, 95),  # nearest
        (100, 105),  # exactly between 95 and 105 -> the higher
        (104, 105),
        (110, 110),
        (10**6, 110),  # at or above the highest
    ],
)
def test_exchange_reference_price_decides(reference, price):
    r = clear(BOOK_X, rule="exchange", reference_price=reference)
    assert (r.price, r.interval, r.volume) == (price, (90, 110), 10)


def test_exchange_needs_reference_when_surplus_is_mixed_or_zero():
    with pytest.raises(MissingReferencePrice):
        clear(BOOK_X, rule="exchange")
    # a single candidate left needs no reference price: every reference price gives it
    r = clear(book((1, "buy", 100, 5, 0), (2, "sell", 100, 5, 0)), rule="exchange")
    assert (r.price, r.volume) == (100, 5)


def test_exchange_one_sided_surplus():
    # BOOK_M: candidates 50 (V 4) and 60 (V 10, D-S = -4) -> 60 without a reference price
    r = clear(BOOK_M, rule="exchange")
    assert (r.price, r.interval, r.volume, r.filled) == (60, (60, 60), 10, [10, 4, 6])
    # BOOK_A: candidates 90 (D-S +10), 100 (+10), 110 (0), 120 (V 0) -> 110 alone, surplus 0
    assert clear(BOOK_A, rule="exchange", reference_price=0).price == 110


def test_exchange_caps_clamp_candidates():
    # bid 1: 10 @ 110, ask 2: 10 @ 90, max_price 100: candidates 90 and 100 (110 clamped);
    # both have D = S = 10 -> reference decides; 95 is exactly between -> the higher
    orders = book((1, "buy", 110, 10, 0), (2, "sell", 90, 10, 0))
    r = clear(orders, rule="exchange", reference_price=95, max_price=100)
    assert (r.price, r.interval, r.filled) == (100, (90, 100), [10, 10])
    assert clear(orders, rule="exchange", reference_price=92, max_price=100).price == 90


def test_exchange_only_market_orders_use_the_reference_price():
    orders = book((1, "buy", MKT, 10, 0), (2, "sell", MKT, 5, 0))
    with pytest.raises(MissingReferencePrice):
        clear(orders, rule="exchange")
    r = clear(orders, rule="exchange", reference_price=1000, max_price=500)
    assert (r.price, r.interval, r.volume, r.demand, r.supply, r.filled) == (500, (500, 500), 5, 10, 5, [5, 5])


def test_brute_force_helpers():
    assert max_executable_volume(BOOK_A) == 10
    assert max_executable_volume(BOOK_A, max_price=85) == 0
    assert max_executable_volume(BOOK_N) == 50
    assert max_executable_volume(book((1, "buy", MKT, 7, 0), (2, "sell", MKT, 4, 0))) == 4
    # 10 units at 110 - 90; the bid at 100 cannot pay the ask at 120
    assert max_welfare(BOOK_A) == 200
    # N: 10*(-2+8) + 30*(-5+8) + 10*(-5+6) = 60 + 90 + 10
    assert max_welfare(BOOK_N) == 160


# Internal consistency of the reference on random books (it must agree with its own brute force).

RULES = st.sampled_from(["midpoint", "marginal_ask", "marginal_bid", (1, 3), (2, 7), "exchange"])


@st.composite
def books(draw, limit_only: bool = False):
    base = draw(st.sampled_from([0, -1000, 2**62, -(2**62)]))
    n = draw(st.integers(1, 12))
    orders = []
    for i in range(n):
        market = not limit_only and draw(st.integers(0, 5)) == 0
        orders.append(
            RefOrder(
                id=i + 1,
                trader=draw(st.integers(1, 4)),
                side=draw(st.sampled_from([1, -1])),
                price=0 if market else base + draw(st.integers(-20, 20)),
                qty=draw(st.integers(1, 50)),
                ts=draw(st.integers(0, 3)),
                kind=1 if market else 0,
            )
        )
    return base, orders


@given(books(), RULES, st.sampled_from(["time", "pro_rata"]), st.integers(-25, 25), st.integers(0, 30))
def test_reference_is_self_consistent(based, rule, allocation, cap_offset, cap_width):
    base, orders = based
    lo, hi = base + cap_offset, base + cap_offset + cap_width
    try:
        r = clear(orders, rule=rule, allocation=allocation, reference_price=base, min_price=lo, max_price=hi)
    except IndeterminatePrice:
        pytest.fail("both sides are capped")
    assert r.volume == max_executable_volume(orders, lo, hi)
    if r.price is None:
        return
    assert lo <= r.interval[0] <= r.price <= r.interval[1] <= hi
    by_side = {1: 0, -1: 0}
    for o, f in zip(orders, r.filled, strict=True):
        assert 0 <= f <= o.qty
        if f:
            assert o.kind == 1 or (o.price >= r.price if o.side == 1 else o.price <= r.price)
        by_side[o.side] += f
    assert by_side[1] == by_side[-1] == r.volume == sum(f[4] for f in r.fills)
    assert len(r.fills) <= max(0, sum(1 for f in r.filled if f) - 1)
    assert all(f[5] == r.price for f in r.fills)


@given(books(limit_only=True), RULES, st.sampled_from(["time", "pro_rata"]))
def test_uncapped_limit_books_maximise_welfare(based, rule, allocation):
    base, orders = based
    r = clear(orders, rule=rule, allocation=allocation, reference_price=base)
    assert r.welfare == max_welfare(orders)
