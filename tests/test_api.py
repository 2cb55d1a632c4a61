"""The public surface: ClearingResult, curves, PriceRule, the GIL released while clearing."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

import gridmatch as gm
from gridmatch.sim.books import energy_book

# Bids 105 x4 and 101 x2; asks 95 x3, 100 x3 (market x1 too).
BOOK = gm.order_array(
    id=[1, 2, 3, 4, 5],
    trader=[10, 11, 20, 21, 22],
    side=["buy", "buy", "sell", "sell", "sell"],
    price=[105, 101, 95, 100, 0],
    qty=[4, 2, 3, 3, 1],
    kind=[0, 0, 0, 0, 1],
)


def test_result_fields():
    r = gm.clear(BOOK)
    # D: 6 up to 101, 4 to 105; S: 1 below 95, 4 to 99, 7 from 100. V = 6 on [100, 101].
    assert (r.price, r.interval, r.volume, r.demand, r.supply) == (100, (100, 101), 6, 6, 7)
    assert r.imbalance == -1
    assert r.notional == 600
    assert r.filled.dtype == np.uint64 and r.filled.tolist() == [4, 2, 3, 2, 1]
    assert r.fills.dtype == gm.FILL_DTYPE
    assert r.fills.tolist() == [(1, 5, 10, 22, 1, 100), (1, 3, 10, 20, 3, 100), (2, 4, 11, 21, 2, 100)]
    assert r.welfare == 4 * 5 + 2 * 1 + 3 * 5 + 2 * 0
    assert "price=100" in repr(r)


def test_result_is_read_only():
    r = gm.clear(BOOK)
    with pytest.raises(ValueError):
        r.filled[0] = 0
    with pytest.raises(ValueError):
        r.fills["qty"][0] = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.price = 1  # type: ignore[misc]


def test_no_cross_and_empty_books():
    apart = gm.order_array(id=[1, 2], trader=[1, 2], side=[1, -1], price=[90, 110], qty=[5, 5])
    for book in (apart, np.zeros(0, dtype=gm.ORDER_DTYPE)):
        r = gm.clear(book)
        assert (r.price, r.interval, r.volume, r.welfare, r.notional) == (None, None, 0, 0, 0)
        assert r.filled.tolist() == [0] * len(book) and len(r.fills) == 0


def test_curves_are_the_aggregate_steps():
    c = gm.clear(BOOK).curves()
    assert c.demand.tolist() == [(105, 4), (101, 6)]
    assert c.supply.tolist() == [(95, 4), (100, 7)]
    assert (c.market_demand, c.market_supply) == (0, 1)
    assert [c.at(p) for p in (90, 95, 100, 102, 106)] == [(6, 1), (6, 4), (6, 7), (4, 7), (0, 7)]


def test_price_rule_values():
    assert gm.PriceRule.k(1, 2) == gm.PriceRule.MIDPOINT == gm.PriceRule.named("midpoint")
    assert gm.PriceRule.k(0, 5) == gm.PriceRule.MARGINAL_ASK
    assert len({gm.PriceRule.k(2, 4), gm.PriceRule.MIDPOINT, gm.PriceRule.EXCHANGE}) == 2
    assert gm.PriceRule.k(2, 6).fraction == (1, 3) and gm.PriceRule.k(2, 6).name is None
    assert gm.PriceRule.EXCHANGE.fraction is None and gm.PriceRule.EXCHANGE.name == "exchange"
    assert repr(gm.PriceRule.k(2, 6)) == "PriceRule.k(1, 3)" and str(gm.PriceRule.k(2, 6)) == "k(1/3)"
    assert repr(gm.PriceRule.MARGINAL_BID) == "PriceRule.MARGINAL_BID"
    assert gm.clear(BOOK, rule=gm.PriceRule.k(1, 1)).price == gm.clear(BOOK, rule="marginal_bid").price == 101


def test_orders_as_objects():
    orders = [gm.Order(1, 10, "buy", 105, 4), gm.Order(2, 20, gm.Side.SELL, 95, 3, ts=9)]
    r = gm.clear(orders)
    assert (r.price, r.volume) == (100, 3)


def test_the_gil_is_released_while_clearing():
    # While another thread is inside one large clear, this thread must be able to run Python:
    # it finishes a small loop before that clear returns. Were the GIL held, it could only run
    # after the clear, and would find it finished.
    book = energy_book(1_000_000, seed=3)
    gm.clear(book[:1000])
    entered, finished = threading.Event(), threading.Event()

    def worker() -> None:
        entered.set()
        gm.clear(book)
        finished.set()

    thread = threading.Thread(target=worker)
    thread.start()
    entered.wait()
    total = 0
    for i in range(20_000):
        total += i
    done_first = not finished.is_set()
    thread.join()
    assert total == 199_990_000 and done_first
