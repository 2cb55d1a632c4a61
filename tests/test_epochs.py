"""The epoch engine without a chain: lifecycle, roles, limits, funds, rollover, subscribers,
recovery from the journal, the async runner."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

import gridmatch as gm
from gridmatch.epochs import EpochClosed, EpochManager, EpochState, InsufficientFunds, OrderLimit
from gridmatch.market import Market
from gridmatch.participants import NotPermitted, Participant, Role

T0 = dt.datetime(2016, 6, 21, 12, 0, tzinfo=dt.UTC).timestamp()
E0, E1, E2 = 201606211200, 201606211215, 201606211230


def manager(**kwargs) -> EpochManager:
    m = EpochManager(Market(order_limit=3), **kwargs)
    for pid, role in [(1, Role.PROSUMER), (2, Role.CONSUMER), (3, Role.PROSUMER), (9, Role.ORACLE)]:
        m.register(Participant(pid, role))
    return m


def test_an_epoch_goes_from_open_to_settled():
    m = manager()
    seen = []
    m.subscribe(lambda event: seen.append((event.epoch, event.state)))
    m.step(T0)
    m.submit(1, -1, 1000, 900, at=T0 + 1)
    m.submit(2, 1, 600, 950, at=T0 + 2)
    assert m.state(E0) == EpochState.OPEN
    events = m.step(T0 + 900)
    # the next epoch takes orders before the last one is cleared
    assert seen == [(E0, "open"), (E0, "closed"), (E1, "open"), (E0, "cleared"), (E0, "settled")]
    cleared = next(e for e in events if e.state == EpochState.CLEARED)
    assert (cleared.price, cleared.volume, cleared.fills) == (925, 600, ((2, 1, 2, 1, 600, 925),))
    assert [o.filled for o in m.journal.orders(E0)] == [600, 600]


def test_orders_only_while_their_epoch_is_open_and_from_permitted_participants():
    m = manager()
    m.step(T0)
    with pytest.raises(NotPermitted):
        m.submit(2, -1, 10, 900, at=T0)  # a consumer may not sell
    with pytest.raises(NotPermitted):
        m.submit(9, 1, 10, 900, at=T0)  # an oracle does not trade
    with pytest.raises(NotPermitted):
        m.submit(77, 1, 10, 900, at=T0)  # unknown
    m.suspend(3)
    with pytest.raises(NotPermitted):
        m.submit(3, -1, 10, 900, at=T0)
    m.suspend(3, False)
    m.submit(3, -1, 10, 900, at=T0)
    for _ in range(2):
        m.submit(1, -1, 10, 900, at=T0)
    m.submit(1, -1, 10, 900, at=T0)
    with pytest.raises(OrderLimit):
        m.submit(1, -1, 10, 900, at=T0)
    for bad in ({"qty": 0}, {"price": 1.5}, {"side": 2}):
        args = {"trader": 2, "side": 1, "qty": 10, "price": 900} | bad
        with pytest.raises(gm.InvalidOrder):
            m.submit(**args, at=T0)
    assert len(m.journal.orders(E0)) == 4  # nothing refused was recorded
    m.step(T0 + 900)
    m.journal.set_epoch(E1, "closed")  # an epoch closed early by the operator takes no orders
    with pytest.raises(EpochClosed):
        m.submit(2, 1, 10, 900, at=T0 + 901)


class Holdings:
    def __init__(self, table):
        self.table = table

    def holdings(self, trader):
        return self.table.get(trader, (0, 0))


def test_orders_must_be_covered_by_holdings_less_what_is_committed():
    market = Market()
    m = manager(funds=Holdings({1: (market.grid_units(1500), 0), 2: (0, market.split(market.notional(1000, 950))[0])}))
    m.step(T0)
    m.submit(1, -1, 1000, 900, at=T0)
    m.submit(1, -1, 500, 900, at=T0)
    with pytest.raises(InsufficientFunds):
        m.submit(1, -1, 1, 900, at=T0)  # all 1.5 kWh are committed
    m.submit(2, 1, 1000, 950, at=T0)  # exactly covered, fee included
    with pytest.raises(InsufficientFunds):
        m.submit(2, 1, 1, 950, at=T0)


def test_rollover_carries_the_unfilled_rest():
    m = manager()
    m.step(T0)
    m.submit(1, -1, 1000, 900, rollover=True, at=T0)
    m.submit(2, 1, 600, 950, at=T0)
    m.step(T0 + 2 * 900)  # E0 clears, the rest rolls into E1, which is over too and rolls into E2
    rolled = [(o.epoch, o.qty, o.parent) for o in m.journal.all_orders() if o.parent is not None]
    assert rolled == [(E1, 400, 1), (E2, 400, 3)]
    assert m.state(E1) == EpochState.SETTLED and m.state(E2) == EpochState.OPEN


def test_a_restart_resumes_from_the_journal(tmp_path):
    path = str(tmp_path / "market.sqlite")
    first = manager(journal=path)
    first.step(T0)
    first.submit(1, -1, 1000, 900, at=T0)
    first.submit(2, 1, 600, 950, at=T0)
    first.journal.set_epoch(E0, "closed")  # as if the process died right after closing
    first.journal.close()
    again = EpochManager(Market(order_limit=3), journal=path, clock=lambda: T0 + 901)
    events = again.recover()
    assert [(e.epoch, e.state) for e in events] == [(E1, "open"), (E0, "cleared"), (E0, "settled")]
    assert again.journal.fills(E0) == [(2, 1, 2, 1, 600, 925)]
    second = again.recover()
    assert all(e.epoch != E0 for e in second)  # nothing happens twice
    assert again.journal.fills(E0) == [(2, 1, 2, 1, 600, 925)]


def test_run_steps_on_the_clock_and_feeds_async_subscribers():
    now = [T0]
    m = manager(clock=lambda: now[0])

    async def scenario():
        stop = asyncio.Event()
        seen = []

        async def listen():
            async for event in m.events():
                seen.append((event.epoch, event.state))
                if event.state == EpochState.SETTLED:
                    stop.set()

        listener = asyncio.create_task(listen())
        runner = asyncio.create_task(m.run(stop, poll=0.01))
        await asyncio.sleep(0.05)
        m.submit(1, -1, 10, 900)
        m.submit(2, 1, 10, 950)
        now[0] = T0 + 900.0  # the epoch ends; run notices at its next wake-up
        await asyncio.wait_for(stop.wait(), timeout=5)
        await runner
        listener.cancel()
        return seen

    seen = asyncio.run(scenario())
    assert (E0, "cleared") in seen and (E0, "settled") in seen
