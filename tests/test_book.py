"""The OrderBook's Python surface: events as objects, the batch path, queries, phases and the
uncross, typed errors for malformed arguments."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gridmatch as gm


def test_events_of_a_crossing_order():
    book = gm.OrderBook()
    assert book.submit(1, trader=7, side="sell", qty=5, price=100) == [
        gm.Accepted(cmd=0, id=1, trader=7, side=gm.Side.SELL, price=100, qty=5)
    ]
    events = book.submit(2, trader=8, side=gm.Side.BUY, qty=8, price=101, tif="ioc")
    assert events == [
        gm.Accepted(0, 2, 8, gm.Side.BUY, 101, 8),
        gm.Fill(0, 2, 1, 8, 7, gm.Side.BUY, price=100, qty=5, maker_done=True, taker_done=False),
        gm.Cancelled(0, 2, 8, gm.Side.BUY, 101, 3, gm.CancelReason.UNFILLED),
    ]
    assert len(book) == 0


def test_rejections_are_events_and_change_nothing():
    book = gm.OrderBook(tick=5, lot=10)
    assert book.submit(1, 7, "buy", 10, price=101) == [gm.Rejected(0, 1, 7, gm.RejectReason.OFF_TICK)]
    assert book.cancel(99) == [gm.Rejected(0, 99, 0, gm.RejectReason.UNKNOWN_ID)]
    assert book.amend(99, qty=1) == [gm.Rejected(0, 99, 0, gm.RejectReason.UNKNOWN_ID)]
    assert len(book) == 0 and book.best_bid() is None


def test_queries():
    book = gm.OrderBook()
    for oid, (side, price, qty) in enumerate([("buy", 99, 5), ("buy", 99, 3), ("buy", 98, 1), ("sell", 101, 4)], 1):
        book.submit(oid, trader=oid, side=side, qty=qty, price=price, ts=100 + oid)
    assert book.best_bid() == gm.Level(99, 8, 2) and book.best_ask() == gm.Level(101, 4, 1)
    assert book.depth(1) == ([gm.Level(99, 8, 2)], [gm.Level(101, 4, 1)])
    assert [o.id for o in book.orders()] == [1, 2, 3, 4]
    assert book.orders()[1] == gm.RestingOrder(2, 2, gm.Side.BUY, 99, 3, gm.Tif.GTC, 0, 102)
    assert book.position(2) == gm.Position(qty=3, ahead=1) and book.position(42) is None
    book.amend(1, qty=6)
    assert book.position(1) == gm.Position(6, 1)  # an increase loses the queue position


def test_market_orders_default_to_ioc_and_gtd_to_expiry():
    book = gm.OrderBook()
    book.submit(1, 7, "sell", 5, price=100, expiry=50)
    assert book.orders()[0].tif == gm.Tif.GTD
    assert [type(e) for e in book.submit(2, 8, "buy", 9)] == [gm.Accepted, gm.Fill, gm.Cancelled]
    book.submit(3, 7, "sell", 5, price=100, expiry=50)
    assert book.expire(50) == [gm.Cancelled(0, 3, 7, gm.Side.SELL, 100, 5, gm.CancelReason.EXPIRED)]


def test_process_gives_the_same_events_as_single_calls():
    cmds = gm.command_array(
        op=["submit", "submit", "submit", "amend", "cancel", "expire", 7],
        id=[1, 2, 3, 1, 2, 0, 9],
        trader=[1, 2, 3, 0, 0, 0, 5],
        side=["sell", "sell", "buy", 0, 0, 0, 0],
        price=[100, 101, 101, 0, 0, 0, 0],
        qty=[5, 5, 7, 2, 0, 0, 0],
        flags=[0, 0, 0, int(gm.Flag.AMEND_QTY), 0, 0, 0],
        ts=[0, 0, 0, 0, 0, 10, 0],
    )
    events = gm.OrderBook().process(cmds)
    assert events.dtype == gm.EVENT_DTYPE
    single = gm.OrderBook()
    one_by_one = [
        *single.submit(1, 1, "sell", 5, price=100),
        *single.submit(2, 2, "sell", 5, price=101),
        *single.submit(3, 3, "buy", 7, price=101),
        *single.amend(1, qty=2),
        *single.cancel(2),
        *single.expire(10),
    ]
    batch = gm.to_events(events)
    assert [e.cmd for e in batch][-1] == 6 and batch[-1] == gm.Rejected(6, 9, 5, gm.RejectReason.INVALID_OP)
    # the same events, but for the command positions they carry
    strip = [{**{f: getattr(e, f) for f in e.__dataclass_fields__}, "cmd": 0} for e in batch[:-1]]
    assert strip == [{f: getattr(e, f) for f in e.__dataclass_fields__} for e in one_by_one]


def test_process_takes_frames_and_refuses_wrong_shapes():
    import pandas as pd

    frame = pd.DataFrame({"op": ["submit"], "id": [1], "trader": [1], "side": ["buy"], "price": [10], "qty": [1]})
    assert gm.to_events(gm.OrderBook().process(frame))[0] == gm.Accepted(0, 1, 1, gm.Side.BUY, 10, 1)
    with pytest.raises(gm.OrderDtypeError):
        gm.OrderBook().process(np.zeros(3, dtype=np.int64))
    with pytest.raises(gm.InvalidOrder) as caught:
        gm.OrderBook().process({"op": ["submit"], "id": [1], "qty": [-1]})
    assert (caught.value.field, caught.value.value) == ("qty", -1)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda b: b.submit(-1, 1, "buy", 1, price=1), "id"),
        (lambda b: b.submit(1, 1, "hold", 1, price=1), "side"),
        (lambda b: b.submit(1, 1, "buy", 1.5, price=1), "qty"),
        (lambda b: b.submit(1, 1, "buy", 1, price=2**63), "price"),
        (lambda b: b.submit(1, 1, "buy", 1, price=1, tif="day"), "tif"),
        (lambda b: b.submit(1, 1, "buy", 1, price=1, tif="gtd"), "expiry"),
        (lambda b: b.submit(1, 1, "buy", 1, price=1, protection=5), "protection"),
        (lambda b: b.amend(1, price=1.0), "price"),
        (lambda b: b.cancel("1"), "id"),
        (lambda b: b.expire(-5), "now"),
    ],
)
def test_malformed_arguments_raise_and_change_nothing(call, field):
    book = gm.OrderBook()
    book.submit(1, 1, "buy", 1, price=1)
    before = book.orders()
    with pytest.raises(gm.InvalidOrder) as caught:
        call(book)
    assert caught.value.field == field
    assert book.orders() == before


@pytest.mark.parametrize("kwargs", [{"stp": "sometimes"}, {"tick": 0}, {"lot": -1}, {"tick": 2.5}, {"stp": 3}])
def test_bad_book_settings(kwargs):
    with pytest.raises(gm.InvalidParameter):
        gm.OrderBook(**kwargs)


def test_a_call_phase_and_its_uncross():
    book = gm.OrderBook()
    book.set_phase("call")
    for oid, (side, price, qty) in enumerate([("buy", 105, 4), ("buy", 101, 2), ("sell", 95, 3), ("sell", 100, 3)], 1):
        assert isinstance(book.submit(oid, oid, side, qty, price=price)[0], gm.Accepted)
    assert book.submit(9, 9, "buy", 1)[0] == gm.Rejected(0, 9, 9, gm.RejectReason.CALL_PHASE)
    with pytest.raises(gm.InvalidParameter):
        book.set_phase("continuous")  # crossed
    result = book.uncross(rule="marginal_bid")
    assert isinstance(result, gm.ClearingResult)
    assert (result.price, result.volume, result.filled.tolist()) == (101, 6, [4, 2, 3, 3])
    assert result.orders.dtype == gm.ORDER_DTYPE and len(book) == 0
    book.set_phase("continuous")
    assert book.phase == "continuous"
    with pytest.raises(gm.InvalidParameter):
        book.uncross(rule="sometimes")


def test_the_gil_is_released_while_processing():
    from gridmatch.sim.messages import message_stream

    stream = message_stream(1_000_000, seed=2)
    gm.OrderBook().process(stream[:1000])
    entered, finished = threading.Event(), threading.Event()

    def worker() -> None:
        entered.set()
        gm.OrderBook().process(stream)
        finished.set()

    thread = threading.Thread(target=worker)
    thread.start()
    entered.wait()
    total = sum(range(20_000))
    done_first = not finished.is_set()
    thread.join()
    assert total == 199_990_000 and done_first
