"""Worked examples, cleared through the public API exactly as users call it.

Every example states its expected numbers, worked out by hand from README.md, "Price rules" (the
D(p) / S(p) tables are in the comments), and is also checked field by field against the
pure-Python reference (`tests/reference.py`). Order tables read: id, trader, side, price (MKT for
a market order), qty, ts.

Part (b) replays the auction examples that Deutsche Börse publishes for Xetra's auction price
determination with the `exchange` rule; see the note above XETRA_EX1 for the source.
"""

from __future__ import annotations

import numpy as np
import pytest

# tests/ is on sys.path (conftest.py)
from reference import IndeterminatePrice as RefIndeterminatePrice
from reference import MissingReferencePrice as RefMissingReferencePrice
from reference import RefOrder
from reference import clear as ref_clear

import gridmatch as gm

MKT = "MKT"
FILL_FIELDS = ("buy_id", "sell_id", "buyer", "seller", "qty", "price")


def order_array(rows: list[tuple]) -> np.ndarray:
    ids, traders, sides, prices, qtys, tss = zip(*rows, strict=True)
    return gm.order_array(
        id=list(ids),
        trader=list(traders),
        side=list(sides),
        price=[0 if p == MKT else p for p in prices],
        qty=list(qtys),
        ts=list(tss),
        kind=["market" if p == MKT else "limit" for p in prices],
    )


def ref_orders(rows: list[tuple]) -> list[RefOrder]:
    return [
        RefOrder(oid, trader, 1 if side == "buy" else -1, 0 if p == MKT else p, qty, ts, 1 if p == MKT else 0)
        for oid, trader, side, p, qty, ts in rows
    ]


def gm_rule(rule):
    return gm.PriceRule.k(*rule) if isinstance(rule, tuple) else rule


def clear(rows: list[tuple], rule="midpoint", **params) -> gm.ClearingResult:
    """gm.clear on the table, after checking it field by field against the reference."""
    r = gm.clear(order_array(rows), rule=gm_rule(rule), **params)
    ref = ref_clear(ref_orders(rows), rule=rule, **params)
    assert r.price == ref.price
    assert r.interval == ref.interval
    assert (r.volume, r.demand, r.supply, r.welfare) == (ref.volume, ref.demand, ref.supply, ref.welfare)
    assert r.filled.dtype == np.uint64
    assert r.filled.tolist() == ref.filled
    assert fills_of(r) == ref.fills
    return r


def assert_raises(exc: type, ref_exc: type, rows: list[tuple], rule="midpoint", **params) -> None:
    with pytest.raises(exc):
        gm.clear(order_array(rows), rule=gm_rule(rule), **params)
    with pytest.raises(ref_exc):
        ref_clear(ref_orders(rows), rule=rule, **params)


def fills_of(r: gm.ClearingResult) -> list[tuple[int, ...]]:
    return [tuple(int(row[f]) for f in FILL_FIELDS) for row in r.fills]


# ---------------------------------------------------------------------------------------------
# (a) The k-rules and the allocations
# ---------------------------------------------------------------------------------------------

# Solar noon: three prosumers sell, three consumers buy (prices in ticks, quantities in lots).
# fmt: off
SOLAR = [
    #id  trader  side     price   qty    ts
    (1,  101,    "sell",      8,   40,    0),
    (2,  102,    "sell",     10,   30,    1),
    (3,  103,    "sell",     17,   50,    2),
    (4,  201,    "buy",      20,   20,    3),
    (5,  202,    "buy",      15,   30,    4),
    (6,  203,    "buy",       9,   40,    5),
]
# fmt: on
#   p       <8   8..9   10..15   16   17..20   >20
#   D(p)    90    90      50     20     20       0
#   S(p)     0    40      70     70    120     120
#   V        0    40      50     20     20       0
#   |D-S|         50      20
# max V = 50 on [10, 15], |D-S| = 20 all along -> interval [10, 15].
# At any p in it: bids 4 and 5 are eligible (D = 50) and short, so they fill; asks: level 8 (40)
# fits, level 10 gets the remaining 10. Imbalance 50 - 70 = -20.
# Welfare = 20*20 + 30*15 - 40*8 - 10*10 = 430 at every p (50 lots bought, 50 sold).


@pytest.mark.parametrize(
    ("rule", "price"),
    [
        ("marginal_ask", 10),  # k = 0: lo
        ("midpoint", 12),  # 10 + 5 // 2
        ("marginal_bid", 15),  # k = 1: hi
        ((1, 3), 11),  # 10 + 5 // 3
    ],
)
def test_k_rules_solar_noon(rule, price):
    r = clear(SOLAR, rule=rule)
    assert r.price == price
    assert r.interval == (10, 15)
    assert (r.volume, r.imbalance, r.welfare) == (50, -20, 430)
    assert r.filled.tolist() == [40, 10, 0, 20, 30, 0]
    # bids in priority 4, 5; asks 1, 2
    assert fills_of(r) == [(4, 1, 201, 101, 20, price), (5, 1, 202, 101, 20, price), (5, 2, 202, 102, 10, price)]


# Two sellers share the marginal level: SOLAR with consumer 5 wanting 27 and a second seller at 10.
# fmt: off
SHARED = [
    #id  trader  side     price   qty    ts
    (1,  101,    "sell",      8,   40,    0),
    (2,  102,    "sell",     10,   30,    5),
    (7,  104,    "sell",     10,   20,    2),
    (3,  103,    "sell",     17,   50,    1),
    (4,  201,    "buy",      20,   20,    3),
    (5,  202,    "buy",      15,   27,    4),
    (6,  203,    "buy",       9,   40,    6),
]
# fmt: on
#   p       8..9   10..15   16
#   D(p)     87      47     20
#   S(p)     40      90     90
#   V        40      47     20     -> interval [10, 15], midpoint 12, volume 47, imbalance -43
# Level 8 fills (40); level 10 (orders 2 and 7, 50 lots) shares the remaining 7.


def test_time_allocation_shared_level():
    r = clear(SHARED, allocation="time")
    assert (r.price, r.interval, r.volume, r.imbalance) == (12, (10, 15), 47, -43)
    # time priority: order 7 (ts 2) before order 2 (ts 5)
    assert r.filled.tolist() == [40, 0, 7, 0, 20, 27, 0]


def test_pro_rata_allocation_shared_level():
    r = clear(SHARED, allocation="pro_rata")
    # order 2: 30*7/50 = 4 r 10; order 7: 20*7/50 = 2 r 40; 1 lot left -> order 7 (remainder 40)
    assert r.filled.tolist() == [40, 4, 3, 0, 20, 27, 0]
    # asks in priority: 1, then level 10 by time: 7, 2
    assert fills_of(r) == [
        (4, 1, 201, 101, 20, 12),
        (5, 1, 202, 101, 20, 12),
        (5, 7, 202, 104, 3, 12),
        (5, 2, 202, 102, 4, 12),
    ]


# Pro-rata ties: three sellers of 4 lots share 10; each gets 40/12 = 3 r 4, one lot is left.
# fmt: off
TIES = [
    #id  trader  side     price   qty    ts
    (1,  1,      "buy",      50,   10,    0),
    (2,  2,      "sell",     50,    4,    3),
    (3,  3,      "sell",     50,    4,    1),
    (4,  4,      "sell",     50,    4,    2),
]
# fmt: on


def test_pro_rata_equal_remainders_go_by_time():
    r = clear(TIES, allocation="pro_rata")
    assert (r.price, r.volume, r.imbalance) == (50, 10, -2)
    assert r.filled.tolist() == [10, 3, 4, 3]  # the extra lot to order 3 (ts 1)
    assert clear(TIES, allocation="time").filled.tolist() == [10, 2, 4, 4]


def test_pro_rata_equal_remainders_and_ts_go_by_id():
    same_ts = [(oid, trader, side, price, qty, 0) for oid, trader, side, price, qty, _ in TIES]
    assert clear(same_ts, allocation="pro_rata").filled.tolist() == [10, 4, 3, 3]


# A windy night: negative prices, sellers pay to get rid of energy.
# fmt: off
WINDY = [
    #id  trader  side     price   qty    ts
    (1,  11,     "sell",    -30,   50,    1),
    (2,  12,     "sell",    -10,   50,    2),
    (3,  21,     "buy",      -5,   40,    3),
    (4,  22,     "buy",     -20,   40,    4),
    (5,  23,     "buy",     -40,   30,    0),
]
# fmt: on
#   p      <-40   -40..-31   -30..-20   -19..-11   -10..-5   >-5
#   D(p)    110      110         80         40         40       0
#   S(p)      0        0         50         50        100     100
#   V         0        0         50         40         40       0
#   |D-S|                        30
# -> interval [-30, -20]. At any p in it: ask 1 fills 50; bid 3 (40) fits, bid 4 takes 10.
# Welfare = 40*(-5) + 10*(-20) - 50*(-30) = 1100.


@pytest.mark.parametrize(
    ("rule", "price"), [("midpoint", -25), ("marginal_ask", -30), ("marginal_bid", -20), ((1, 3), -27)]
)
def test_negative_prices(rule, price):
    r = clear(WINDY, rule=rule)
    assert (r.price, r.interval, r.volume, r.imbalance, r.welfare) == (price, (-30, -20), 50, 30, 1100)
    assert r.filled.tolist() == [50, 0, 40, 10, 0]
    assert fills_of(r) == [(3, 1, 21, 11, 40, price), (4, 1, 22, 11, 10, price)]


# An EV charger must charge: a market bid among limit orders.
# fmt: off
EV = [
    #id  trader  side     price   qty    ts
    (1,  31,     "buy",     MKT,   25,    0),
    (2,  32,     "buy",      12,   10,    1),
    (3,  41,     "sell",      9,   15,    2),
    (4,  42,     "sell",     11,   30,    3),
]
# fmt: on
#   p       <9   9..10   11..12   >12
#   D(p)    35     35      35      25
#   S(p)     0     15      45      45
#   V        0     15      35      25
#   |D-S|          20      10        -> interval [11, 12]
# At 11: bids fill (35); asks: level 9 (15) fits, level 11 takes 20. Welfare counts limit
# orders only: 10*(12-11) + 15*(11-9) + 20*0 = 40.


def test_market_order_among_limits():
    r = clear(EV)
    assert (r.price, r.interval, r.volume, r.imbalance, r.welfare) == (11, (11, 12), 35, -10, 40)
    assert r.filled.tolist() == [25, 10, 15, 20]
    # the market bid leads the bids
    assert fills_of(r) == [(1, 3, 31, 41, 15, 11), (1, 4, 31, 42, 10, 11), (2, 4, 32, 42, 10, 11)]
    assert clear(EV, rule="marginal_bid").price == 12


# Market orders only: D = 100 and S = 70 at every price, so every price is best.
# fmt: off
MARKET_ONLY = [
    #id  trader  side     price   qty    ts
    (1,  1,      "buy",     MKT,   60,    1),
    (2,  2,      "buy",     MKT,   40,    0),
    (3,  3,      "sell",    MKT,   70,    0),
]
# fmt: on


def test_market_orders_only_need_caps():
    assert_raises(gm.IndeterminatePrice, RefIndeterminatePrice, MARKET_ONLY)
    assert_raises(gm.IndeterminatePrice, RefIndeterminatePrice, MARKET_ONLY, max_price=300)
    caps = {"min_price": -50, "max_price": 300}
    r = clear(MARKET_ONLY, **caps)
    assert (r.price, r.interval, r.volume, r.imbalance, r.welfare) == (125, (-50, 300), 70, 30, 0)  # -50 + 350 // 2
    assert clear(MARKET_ONLY, rule=(1, 3), **caps).price == 66  # -50 + 350 // 3
    assert clear(MARKET_ONLY, rule="marginal_ask", **caps).price == -50
    assert clear(MARKET_ONLY, rule="marginal_bid", **caps).price == 300
    # the market bids are one partly filled group
    assert r.filled.tolist() == [30, 40, 70]  # time: order 2 (ts 0) first
    assert clear(MARKET_ONLY, allocation="pro_rata", **caps).filled.tolist() == [42, 28, 70]  # 60*70/100, 40*70/100


def test_caps_cut_a_limit_book():
    # SOLAR's interval [10, 15] cut by the caps
    r = clear(SOLAR, max_price=12)
    assert (r.interval, r.price) == ((10, 12), 11)
    r = clear(SOLAR, min_price=13)
    assert (r.interval, r.price) == ((13, 15), 14)
    # caps above 20: no bid is eligible there -> nothing crosses
    assert clear(SOLAR, min_price=21, max_price=30).price is None


# fmt: off
NO_CROSS = [
    #id  trader  side     price   qty    ts
    (1,  1,      "buy",       9,   10,    0),
    (2,  2,      "sell",     10,   10,    1),
]
# fmt: on


@pytest.mark.parametrize("rule", ["midpoint", "marginal_ask", "marginal_bid", (1, 3), "exchange"])
def test_no_cross(rule):
    r = clear(NO_CROSS, rule=rule, reference_price=10)
    assert (r.price, r.interval, r.volume, r.imbalance, r.welfare) == (None, None, 0, 0, 0)
    assert r.filled.tolist() == [0, 0]
    assert len(r.fills) == 0


# ---------------------------------------------------------------------------------------------
# (b) The exchange rule on Xetra's published auction examples
# ---------------------------------------------------------------------------------------------
# Source: Deutsche Börse AG, Xetra market model ("Xetra Release 16.0 Market Model Equities",
# 21.09.2015, and the T7 "Market Model for the Trading Venue Xetra"), section "Auction price
# determination", examples 1-6. The example pages themselves could not be read here; the order
# books and the published results below are taken from their transcription in
# github.com/ratzlow/tinyEXCH, src/test/java/net/tinyexch/ob/match/AuctionMatchTest.java, which
# quotes the rulebook's sentences ("If the reference price is € 200, the auction price will be
# € 199."). Prices are in euro, quantities in shares; ids, traders and ts are ours.
# The rule as README.md states it vs published Xetra: the results agree on all six examples.

# fmt: off
XETRA_EX1 = [
    #id  trader  side     price   qty    ts
    (1,  1,      "buy",     202,  200,    0),
    (2,  2,      "buy",     201,  200,    1),
    (3,  3,      "buy",     200,  300,    2),
    (4,  4,      "sell",    197,  400,    3),
    (5,  5,      "sell",    198,  200,    4),
    (6,  6,      "sell",    200,  100,    5),
]
# fmt: on
#   candidate   197   198   200   201   202
#   D           700   700   700   400   200
#   S           400   600   700   700   700
#   V           400   600   700   400   200    -> 200 alone, surplus 0


@pytest.mark.parametrize("reference", [150, 200, 250])
def test_xetra_ex1_one_auction_price(reference):
    # Published: "exactly one limit at which the highest order volume can be executed and which
    # has the lowest surplus ... the auction price is fixed at € 200".
    r = clear(XETRA_EX1, rule="exchange", reference_price=reference)
    assert (r.price, r.interval, r.volume, r.imbalance) == (200, (200, 200), 700, 0)
    assert r.filled.tolist() == [200, 200, 300, 400, 200, 100]
    # 200*2 + 200*1 + 400*3 + 200*2
    assert r.welfare == 2200
    assert fills_of(r) == [
        (1, 4, 1, 4, 200, 200),
        (2, 4, 2, 4, 200, 200),
        (3, 5, 3, 5, 200, 200),
        (3, 6, 3, 6, 100, 200),
    ]


def test_xetra_ex1_without_reference_price():
    # As published: one candidate is left, so no reference price is needed to fix it at 200.
    # (README.md's step 4 reads "otherwise the reference price decides"; with one candidate left
    # every reference price gives that candidate, so gridmatch does not ask for one.)
    r = clear(XETRA_EX1, rule="exchange")
    assert (r.price, r.volume) == (200, 700)


# fmt: off
XETRA_EX2 = [
    #id  trader  side     price   qty    ts
    (1,  1,      "buy",     202,  400,    0),
    (2,  2,      "buy",     201,  200,    1),
    (3,  3,      "sell",    198,  200,    2),
    (4,  4,      "sell",    199,  300,    3),
]
# fmt: on
#   candidate   198   199   201   202
#   D           600   600   600   400
#   S           200   500   500   500
#   V           200   500   500   400
#   D-S               +100  +100       -> surplus on the bid side only: the highest, 201


def test_xetra_ex2_surplus_on_bid_side():
    # Published: "several possible limits and there is a surplus on the bid. Corresponding to the
    # highest limit, the auction price is fixed at € 201."
    r = clear(XETRA_EX2, rule="exchange")
    assert (r.price, r.interval, r.volume, r.imbalance) == (201, (199, 201), 500, 100)
    assert r.filled.tolist() == [400, 100, 200, 300]
    assert r.welfare == 400 * 1 + 200 * 3 + 300 * 2
    assert fills_of(r) == [(1, 3, 1, 3, 200, 201), (1, 4, 1, 4, 200, 201), (2, 4, 2, 4, 100, 201)]


# fmt: off
XETRA_EX3 = [
    #id  trader  side     price   qty    ts
    (1,  1,      "buy",     202,  300,    0),
    (2,  2,      "buy",     201,  200,    1),
    (3,  3,      "sell",    198,  200,    2),
    (4,  4,      "sell",    199,  400,    3),
]
# fmt: on
#   candidate   198   199   201   202
#   D           500   500   500   300
#   S           200   600   600   600
#   V           200   500   500   300
#   D-S               -100  -100       -> surplus on the ask side only: the lowest, 199


def test_xetra_ex3_surplus_on_ask_side():
    # Published: "... there is a surplus on the ask. Corresponding to the lowest limit, the
    # auction price is fixed at € 199."
    r = clear(XETRA_EX3, rule="exchange")
    assert (r.price, r.interval, r.volume, r.imbalance) == (199, (199, 201), 500, -100)
    assert r.filled.tolist() == [300, 200, 200, 300]
    assert r.welfare == 300 * 3 + 200 * 2 + 200 * 1
    assert fills_of(r) == [(1, 3, 1, 3, 200, 199), (1, 4, 1, 4, 100, 199), (2, 4, 2, 4, 200, 199)]


# fmt: off
XETRA_EX4 = [
    #id  trader  side     price   qty    ts
    (1,  1,      "buy",     MKT,  100,    0),
    (2,  2,      "buy",     199,  100,    1),
    (3,  3,      "sell",    MKT,  100,    2),
    (4,  4,      "sell",    202,  100,    3),
]
# fmt: on
#   candidate   199   202
#   D           200   100
#   S           100   200
#   V           100   100
#   D-S        +100  -100   -> surplus on both sides: the reference price decides


@pytest.mark.parametrize(
    ("reference", "price"),
    [
        (199, 199),  # published: "If the reference price is € 199, the auction price will be € 199."
        (200, 199),  # published: "If the reference price is € 200, the auction price will be € 199."
    ],
)
def test_xetra_ex4_surplus_on_both_sides(reference, price):
    # 200 lies between the candidates and is not one: the nearest candidate, 199 (1 away; 202 is
    # 2 away). The stated rule and the published result agree; it is not the reference price itself.
    r = clear(XETRA_EX4, rule="exchange", reference_price=reference)
    assert (r.price, r.interval, r.volume, r.imbalance, r.welfare) == (price, (199, 202), 100, 100, 0)
    # at 199 only the two market orders trade: the market bid fills the volume first
    assert r.filled.tolist() == [100, 0, 100, 0]
    assert fills_of(r) == [(1, 3, 1, 3, 100, 199)]


def test_xetra_ex4_needs_a_reference_price():
    assert_raises(gm.MissingReferencePrice, RefMissingReferencePrice, XETRA_EX4, rule="exchange")


def test_xetra_ex4_midpoint_differs_by_design():
    # Not a Xetra result: the k-rules look at every tick, and at 200 and 201 only the market
    # orders are eligible (D = S = 100, surplus 0), which beats both limits -> [200, 201].
    r = clear(XETRA_EX4, rule="midpoint")
    assert (r.price, r.interval, r.imbalance) == (200, (200, 201), 0)


# fmt: off
XETRA_EX5 = [
    #id  trader  side     price   qty    ts
    (1,  1,      "buy",     202,  300,    0),
    (2,  2,      "buy",     201,  200,    1),
    (3,  3,      "sell",    198,  200,    2),
    (4,  4,      "sell",    199,  300,    3),
]
# fmt: on
#   candidate   198   199   201   202
#   D           500   500   500   300
#   S           200   500   500   500
#   V           200   500   500   300
#   D-S                 0     0         -> no surplus: the reference price decides


@pytest.mark.parametrize(
    ("reference", "price"),
    [
        (200, 201),  # published 201; the rule: exactly between 199 and 201 -> the higher
        (202, 201),  # published 201; the rule: at or above the highest candidate
        (198, 199),  # published 199; the rule: at or below the lowest candidate
    ],
)
def test_xetra_ex5_no_surplus(reference, price):
    r = clear(XETRA_EX5, rule="exchange", reference_price=reference)
    assert (r.price, r.interval, r.volume, r.imbalance) == (price, (199, 201), 500, 0)
    assert r.filled.tolist() == [300, 200, 200, 300]
    # 300*202 + 200*201 - 200*198 - 300*199, at either price
    assert r.welfare == 1500
    assert fills_of(r) == [(1, 3, 1, 3, 200, price), (1, 4, 1, 4, 100, price), (2, 4, 2, 4, 200, price)]


# fmt: off
XETRA_EX6 = [
    #id  trader  side     price   qty    ts
    (1,  1,      "buy",     MKT,  900,    0),
    (2,  2,      "sell",    MKT,  800,    1),
]
# fmt: on


@pytest.mark.parametrize("reference", [250, 99])
def test_xetra_ex6_only_market_orders(reference):
    # Published: only market orders are executable -> the auction price is the reference price
    # (250, and 99), with a bid surplus of 100.
    r = clear(XETRA_EX6, rule="exchange", reference_price=reference)
    assert (r.price, r.interval, r.volume, r.imbalance, r.welfare) == (reference, (reference, reference), 800, 100, 0)
    assert r.filled.tolist() == [800, 800]


def test_xetra_ex6_reference_price_is_capped():
    # Not in the rulebook: gridmatch clamps the reference price into the caps.
    r = clear(XETRA_EX6, rule="exchange", reference_price=250, max_price=240)
    assert (r.price, r.interval) == (240, (240, 240))
    assert_raises(gm.MissingReferencePrice, RefMissingReferencePrice, XETRA_EX6, rule="exchange")


# The example of the German Wikipedia article "Meistausführungsprinzip" (principle of highest
# volume transacted; de.wikipedia.org/wiki/Meistausführungsprinzip): published price 60 €.
# fmt: off
LOWEST_SURPLUS = [
    #id  trader  side     price   qty    ts
    (1,  1,      "sell",     60,   40,    0),
    (2,  2,      "sell",     65,   30,    1),
    (3,  3,      "sell",     70,   10,    2),
    (4,  4,      "buy",      65,   40,    3),
    (5,  5,      "buy",      60,   10,    4),
    (6,  6,      "buy",      55,   20,    5),
]
# fmt: on
#   candidate   55    60    65    70
#   D           70    50    40     0
#   S            0    40    70    80
#   V            0    40    40     0
#   D-S              +10   -30         -> lowest surplus: 60


def test_lowest_surplus_decides():
    r = clear(LOWEST_SURPLUS, rule="exchange")
    assert (r.price, r.interval, r.volume, r.imbalance) == (60, (60, 60), 40, 10)
    # at 60: ask 1 (40) is short; bids: 65 (40) fills, 60 gets nothing
    assert r.filled.tolist() == [40, 0, 0, 40, 0, 0]


def test_lowest_surplus_midpoint_differs_by_design():
    # Between the limits, 61..64, D = S = 40 (surplus 0), which beats 60 for the k-rules.
    r = clear(LOWEST_SURPLUS, rule="midpoint")
    assert (r.price, r.interval, r.imbalance) == (62, (61, 64), 0)
