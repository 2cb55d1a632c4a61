"""Tests of gridmatch.sim.messages: the seeded order-flow generator of the book benchmarks.

The generator promises valid streams without simulating a book: every cancel and amend names a
resting order, passive orders never cross, and each aggressive order trades exactly the volume and
number of fills it was designed for. `MiniBook` below, a small price-time book following the book
semantics for the commands the generator sends (stp none), replays streams to check that.
When the engine (`gridmatch.OrderBook`) or the pure-Python reference (`tests/reference.py`
`RefBook`) are there, the same checks run against them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from reference import RefBook

import gridmatch as gm
from gridmatch.sim import messages
from gridmatch.sim.messages import (
    FLAG_AMEND_PRICE,
    FLAG_AMEND_QTY,
    FLAG_PROTECTED,
    KIND_MARKET,
    OP_AMEND,
    OP_CANCEL,
    OP_SUBMIT,
    ROLE_ADD,
    ROLE_AGGRESSIVE,
    ROLE_AMEND,
    ROLE_CANCEL,
    TIF_FOK,
    TIF_GTC,
    TIF_IOC,
    generate,
    message_stream,
)

FIELDS = ["op", "id", "trader", "side", "price", "qty", "tif", "kind", "flags", "expiry", "ts"]


class MiniBook:
    """Price-time priority, trades at the maker's price, no self-trade prevention; GTC/IOC/FOK
    limits, market orders with or without a protection price, cancel, amend (quantity down in
    place; a price change or increase goes to the back and may trade). Counts what happens."""

    def __init__(self) -> None:
        self.levels: dict[int, dict[int, dict[int, int]]] = {1: {}, -1: {}}  # side -> price -> {id: qty}
        self.where: dict[int, tuple[int, int]] = {}
        self.used: set[int] = set()
        self.counts: Counter[str] = Counter()
        self.trades: dict[int, tuple[int, int]] = {}  # command index -> (fills, volume)
        self.crossed = 0  # orders that came to rest against a crossing opposite side

    def best(self, side: int) -> int | None:
        lv = self.levels[side]
        return (max(lv) if side == 1 else min(lv)) if lv else None

    def _crosses(self, side: int, price: int, limit: int | None) -> bool:
        return limit is None or (price <= limit if side == 1 else price >= limit)

    def _match(self, i: int, side: int, limit: int | None, qty: int) -> int:
        opp = self.levels[-side]
        fills = volume = 0
        while qty and opp:
            price = min(opp) if side == 1 else max(opp)
            if not self._crosses(side, price, limit):
                break
            level = opp[price]
            for maker in list(level):
                q = min(qty, level[maker])
                level[maker] -= q
                qty -= q
                fills += 1
                volume += q
                if level[maker] == 0:
                    del level[maker], self.where[maker]
                if not qty:
                    break
            if not level:
                del opp[price]
        old = self.trades.get(i, (0, 0))
        self.trades[i] = (old[0] + fills, old[1] + volume)
        return qty

    def _rest(self, oid: int, side: int, price: int, qty: int) -> None:
        opp = self.best(-side)
        if opp is not None and self._crosses(side, opp, price):
            self.crossed += 1
        self.levels[side].setdefault(price, {})[oid] = qty
        self.where[oid] = (side, price)

    def _remove(self, oid: int) -> tuple[int, int, int]:
        side, price = self.where.pop(oid)
        level = self.levels[side][price]
        qty = level.pop(oid)
        if not level:
            del self.levels[side][price]
        return side, price, qty

    def process(self, rows: list[tuple[Any, ...]], offset: int = 0) -> None:
        for i, (op, oid, _, side, price, qty, tif, kind, flags, _, _) in enumerate(rows, offset):
            if op == OP_SUBMIT:
                if oid in self.used:
                    self.counts["duplicate"] += 1
                    continue
                self.used.add(oid)
                limit = (price if flags & FLAG_PROTECTED else None) if kind == KIND_MARKET else price
                if tif == TIF_FOK:
                    available = sum(
                        sum(level.values()) for p, level in self.levels[-side].items() if self._crosses(side, p, limit)
                    )
                    if available < qty:
                        self.counts["killed"] += 1
                        continue
                left = self._match(i, side, limit, qty)
                if left and tif == TIF_GTC and kind != KIND_MARKET:
                    self._rest(oid, side, price, left)
                elif left:
                    self.counts["unfilled"] += 1
            elif op == OP_CANCEL:
                if oid not in self.where:
                    self.counts["cancel_miss"] += 1
                    continue
                self.counts["cancel_hit"] += 1
                self._remove(oid)
            elif op == OP_AMEND:
                if oid not in self.where:
                    self.counts["amend_miss"] += 1
                    continue
                self.counts["amend_hit"] += 1
                side_, at = self.where[oid]
                remaining = self.levels[side_][at][oid]
                new_qty = qty if flags & FLAG_AMEND_QTY else remaining
                new_price = price if flags & FLAG_AMEND_PRICE else at
                if new_qty and new_price == at and new_qty <= remaining:
                    self.levels[side_][at][oid] = new_qty
                    continue
                self._remove(oid)
                if new_qty:
                    left = self._match(i, side_, new_price, new_qty)
                    if left:
                        self._rest(oid, side_, new_price, left)


def replay(stream: messages.MessageStream) -> MiniBook:
    book = MiniBook()
    book.process(stream.commands.tolist())
    return book


@pytest.fixture(scope="module")
def stream() -> messages.MessageStream:
    return generate(30_000, seed=11)


# ---------------------------------------------------------------------------------- the records


def test_records_have_the_command_fields_aligned() -> None:
    s = message_stream(100, seed=1)
    assert list(s.dtype.names) == FIELDS
    assert s.dtype == messages.command_dtype()
    assert s.dtype.isalignedstruct
    official = getattr(gm, "COMMAND_DTYPE", None)
    if official is not None:
        assert s.dtype == official


@pytest.mark.parametrize("n", [0, 1, 7, 1_000, 12_345])
def test_exactly_n_messages(n: int) -> None:
    assert len(message_stream(n, seed=3)) == n


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    a, b = message_stream(5_000, seed=42), message_stream(5_000, seed=42)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != message_stream(5_000, seed=43).tobytes()
    assert a.tobytes() != message_stream(5_000, seed=42, levels=200).tobytes()


def test_ids_unique_and_in_order_timestamps_nondecreasing(stream: messages.MessageStream) -> None:
    c = stream.commands
    sub = c["op"] == OP_SUBMIT
    ids = c["id"][sub]
    assert len(np.unique(ids)) == len(ids)
    assert np.all(np.diff(ids.astype(np.int64)) > 0)  # ids are handed out in arrival order
    assert np.all(np.diff(c["ts"].astype(np.int64)) >= 0)
    # A cancel or an amend names an order submitted before it, with its trader and side.
    first = {int(i): k for k, i in enumerate(c["id"]) if c["op"][k] == OP_SUBMIT}
    for k in np.flatnonzero(~sub)[:2_000]:
        origin = first[int(c["id"][k])]
        assert origin < k
        assert c["trader"][k] == c["trader"][origin] and c["side"][k] == c["side"][origin]


def test_message_mix_is_shaped_like_l3_order_flow() -> None:
    stats = generate(200_000, seed=5).stats()
    assert 0.45 <= stats.shares["add"] <= 0.55
    assert 0.35 <= stats.shares["cancel"] <= 0.45
    assert 0.02 <= stats.shares["aggressive"] <= 0.06
    assert 0.01 <= stats.shares["amend"] <= 0.08
    assert all(count > 0 for count in stats.aggressive_kinds.values())
    assert stats.ids_unique
    low, high = stats.price_range
    assert 300 <= low < 900 < high <= 1_500  # hundreds of ticks of depth around 9 ct/kWh
    assert 0.05 <= stats.fills / stats.messages <= 0.25  # a few makers per aggressive order


def test_fields_of_each_kind_of_command(stream: messages.MessageStream) -> None:
    c, role = stream.commands, stream.role
    adds = c[role == ROLE_ADD]
    assert np.all(adds["op"] == OP_SUBMIT) and np.all(adds["tif"] == TIF_GTC) and np.all(adds["kind"] == 0)
    assert np.all(adds["qty"] > 0) and np.all(np.isin(adds["side"], [1, -1]))
    assert np.all(c["op"][role == ROLE_CANCEL] == OP_CANCEL)
    amends = c[role == ROLE_AMEND]
    assert np.all(amends["op"] == OP_AMEND)
    assert np.all(np.isin(amends["flags"], [FLAG_AMEND_QTY, FLAG_AMEND_PRICE]))
    assert np.all(amends["qty"][amends["flags"] == FLAG_AMEND_QTY] > 0)
    agg = c[role == ROLE_AGGRESSIVE]
    assert np.all(agg["op"] == OP_SUBMIT) and np.all(agg["qty"] > 0)
    market = agg["kind"] == KIND_MARKET
    assert np.all(np.isin(agg["tif"][market], [TIF_IOC, TIF_FOK]))
    assert np.all(agg["price"][market & ((agg["flags"] & FLAG_PROTECTED) == 0)] == 0)
    assert np.all(c["expiry"] == 0)


def test_every_cancel_and_amend_hits_and_sweeps_trade_as_designed(stream: messages.MessageStream) -> None:
    book = replay(stream)
    stats = stream.stats()
    assert book.counts["cancel_miss"] == 0 and book.counts["amend_miss"] == 0 and book.counts["duplicate"] == 0
    assert book.counts["cancel_hit"] == int((stream.role == ROLE_CANCEL).sum())
    assert book.counts["amend_hit"] == int((stream.role == ROLE_AMEND).sum())
    assert book.crossed == 0  # nothing ever rests against a crossing opposite side
    # Passive orders and amendments never trade; each aggressive order trades its designed fills.
    traded = {i: t for i, t in book.trades.items() if t != (0, 0)}
    assert all(stream.role[i] == ROLE_AGGRESSIVE for i in traded)
    for i in np.flatnonzero(stream.role == ROLE_AGGRESSIVE):
        assert book.trades.get(int(i), (0, 0)) == (stream.makers[i], stream.volume[i])
    assert sum(f for f, _ in traded.values()) == stats.fills > 1_000
    # A FOK is always sent so that it fills (or, with nothing to take, is killed without trading).
    fok = (stream.role == ROLE_AGGRESSIVE) & (stream.commands["tif"] == TIF_FOK)
    assert book.counts["killed"] == int((fok & (stream.volume == 0)).sum())


def test_book_keeps_hundreds_of_levels_and_a_tight_touch() -> None:
    s = generate(40_000, seed=2)
    rows = s.commands.tolist()
    spreads = []
    book = MiniBook()
    for start in range(0, 40_000, 1_000):
        book.process(rows[start : start + 1_000], offset=start)
        bid, ask = book.best(1), book.best(-1)
        if start >= 10_000 and bid is not None and ask is not None:
            spreads.append(ask - bid)
            assert len(book.levels[1]) >= 100 and len(book.levels[-1]) >= 100
    assert spreads and min(spreads) >= 1 and np.median(spreads) <= 4


def test_options_change_the_shape() -> None:
    shallow = generate(20_000, seed=1, levels=30).stats()
    low, high = shallow.price_range
    assert high - low < 400
    more = generate(20_000, seed=1, aggressive=0.1).stats()
    assert more.shares["aggressive"] > 0.07
    traders = message_stream(5_000, seed=1, traders=3)["trader"]
    assert set(np.unique(traders)) <= {1, 2, 3}


@pytest.mark.parametrize(
    "options",
    [{"levels": 0}, {"traders": 0}, {"aggressive": 0.0}, {"aggressive": 0.6}, {"amend": 1.5}, {"qty_median": 0}],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        message_stream(10, **options)
    with pytest.raises(ValueError):
        message_stream(-1)


# ------------------------------------------------------------------ the engine and the reference


def test_engine_replays_without_rejections_and_trades_as_designed(stream: messages.MessageStream) -> None:
    events = gm.OrderBook().process(stream.commands)
    kind = events["kind"]
    assert int((kind == 1).sum()) == 0  # no rejection
    fills = events[kind == 2]
    assert len(fills) == stream.stats().fills
    assert int(fills["qty"].sum()) == stream.stats().volume


def test_reference_replays_without_rejections_and_trades_as_designed() -> None:
    s = generate(5_000, seed=4)
    names = s.commands.dtype.names
    assert names is not None
    rows = [dict(zip(names, row, strict=True)) for row in s.commands.tolist()]
    events = RefBook().process(rows)
    assert not [e for e in events if e.kind == 1]  # no rejection
    fills = [e for e in events if e.kind == 2]
    assert len(fills) == s.stats().fills
    assert sum(e.qty for e in fills) == s.stats().volume
