"""The hand-checked scenario tables of tests/test_reference_book.py (set-up commands, one
incoming command, the events it must produce, the book afterwards), run against the engine's
order book through an adapter with the reference book's method shape."""

from __future__ import annotations

import pytest
import test_reference_book as tables
from reference import RefEvent

import gridmatch as gm

FIELDS = gm.EVENT_DTYPE.names


class EngineBook:
    """gridmatch's order book behind RefBook's methods: commands go in as the core's fields,
    events come back as RefEvents, so the tables compare them as they are."""

    def __init__(self, stp: str = "none", tick: int | None = None, lot: int | None = None) -> None:
        self.book = gm.OrderBook(stp=stp, tick=tick, lot=lot)

    def _run(self, op, id=0, trader=0, side=0, price=0, qty=0, tif=0, kind=0, flags=0, expiry=0, ts=0):
        rows = self.book._book.apply(op, id, trader, side, price, qty, tif, kind, flags, expiry, ts)
        return [RefEvent(**dict(zip(FIELDS, row, strict=True))) for row in rows]

    def submit(self, id, trader, side, price, qty, tif=0, kind=0, post_only=False, protection=None, expiry=0, ts=0):
        flags = (gm.Flag.POST_ONLY if post_only else 0) | (gm.Flag.PROTECTED if protection is not None else 0)
        price = protection if protection is not None else price
        return self._run(gm.Op.SUBMIT, id, trader, side, price, qty, tif, kind, int(flags), expiry, ts)

    def cancel(self, id, trader=0):
        return self._run(gm.Op.CANCEL, id, trader)

    def amend(self, id, qty=None, price=None, trader=0):
        flags = (gm.Flag.AMEND_QTY if qty is not None else 0) | (gm.Flag.AMEND_PRICE if price is not None else 0)
        return self._run(gm.Op.AMEND, id, trader, price=price or 0, qty=qty or 0, flags=int(flags))

    def expire(self, now):
        return self._run(gm.Op.EXPIRE, ts=now)

    def set_phase(self, phase):
        self.book.set_phase(phase)

    def orders(self):
        return [tuple(o) for o in self.book.orders()]


TABLES = {
    "matching": tables.MATCHING,
    "time_in_force": tables.TIME_IN_FORCE,
    "expiry": tables.EXPIRY,
    "stp": tables.STP,
    "amend": tables.AMEND,
    "rejections": tables.REJECTS,
    "tick_and_lot": tables.TICK_AND_LOT,
    "cancel": tables.CANCEL,
    "call_phase": tables.CALL_PHASE_TABLE,
}
CASES = [pytest.param(*case.values, id=f"{table}: {case.id}") for table, rows in TABLES.items() for case in rows]


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), CASES)
def test_engine_scenario(setup, command, events, after, config):
    book = EngineBook(**config)
    for c in setup:
        assert all(e.kind != gm.EventKind.REJECTED for e in c.run(book) or []), c
    assert command.run(book) == events
    assert [o[:5] for o in book.orders()] == after
