"""The epoch engine under concurrency: threads submitting while the market steps across epoch
boundaries, `run()` beside them, concurrent submits against a limit, a second manager or process
on one journal. Holdings answer slowly (as a chain's reads do) to widen every race."""

from __future__ import annotations

import asyncio
import logging
import math
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from epochs_harness import E0, E1, E2, MARKET, T0, SlowHoldings, manager, rows

from gridmatch.epochs import EpochClosed, EpochManager, EpochState, OrderAck, OrderLimit
from gridmatch.errors import InvalidParameter
from gridmatch.journal import JournalBusy, OrderRecord
from gridmatch.market import Market
from gridmatch.participants import Participant, Role

TRADERS = range(10, 18)
EPOCH_5 = 201606211315  # T0 + 5 epochs
BUSY = Market(order_limit=10_000)


def busy_market(path, **kwargs) -> EpochManager:
    """A market of prosumers 10..17 that may place many orders an epoch, with a journal watched:
    `m.journaled` gets each order's (id, epoch, its epoch's state) as its row is written."""
    m = EpochManager(BUSY, journal=str(path), funds=SlowHoldings(0.001), **kwargs)
    for pid in TRADERS:
        m.register(Participant(pid, Role.PROSUMER))
    m.journaled = []
    add = m.journal.add_order

    def watched(o: OrderRecord) -> None:  # called inside the transaction that writes the row
        if o.parent is None:  # rolled-over rests are the engine's, written into the next epoch
            m.journaled.append((o.id, o.epoch, m.journal.epoch(o.epoch).state))
        add(o)

    m.journal.add_order = watched
    return m


class Traders:
    """Threads that submit orders in a loop (odd traders sell, even ones buy, so epochs trade)
    until stopped; `acks` and `errors` (anything but a refusal for a closed epoch) collect what
    they were told."""

    def __init__(self, m: EpochManager) -> None:
        self.m = m
        self.acks: list[OrderAck] = []
        self.errors: list[Exception] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.trade, args=(pid,)) for pid in TRADERS]

    def trade(self, pid: int) -> None:
        side, price = (-1, 900) if pid % 2 else (1, 950)
        while not self.stop.is_set():
            try:
                self.acks.append(self.m.submit(pid, side, 10, price))
            except EpochClosed:
                pass  # at a boundary, as a client may be told; the journal then holds no order of it
            except Exception as error:
                self.errors.append(error)
                return

    def busy(self, epoch: int) -> bool:
        """Whether `epoch` took a good many orders already (so the boundary falls mid-stream)."""
        return sum(ack.epoch == epoch for ack in list(self.acks)) >= 20 or bool(self.errors)

    def __enter__(self) -> Traders:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def each_ack_is_in_one_cleared_book(m: EpochManager, acks: list[OrderAck]) -> None:
    """Every acknowledged order was journaled while its epoch was open, under the epoch its
    acknowledgement names, and that epoch's clearing took it: filled set, fills adding up."""
    assert {state for _, _, state in m.journaled} == {"open"}
    journaled = {oid: epoch for oid, epoch, _ in m.journaled}
    orders = {o.id: o for o in m.journal.all_orders()}
    for ack in acks:
        assert journaled[ack.id] == ack.epoch == orders[ack.id].epoch
        assert orders[ack.id].filled is not None, f"order {ack.id} missed its epoch's clearing"
        assert m.state(ack.epoch) == EpochState.SETTLED
    for epoch in {ack.epoch for ack in acks}:
        book = {o.id: o for o in m.journal.orders(epoch)}
        filled: dict[int, int] = defaultdict(int)
        for buy_id, sell_id, *_, qty, _ in m.journal.fills(epoch):
            filled[buy_id] += qty
            filled[sell_id] += qty
        assert set(filled) <= set(book)
        assert all(book[oid].filled == filled.get(oid, 0) for oid in book)
        record = m.journal.epoch(epoch)
        assert sum(o.filled for o in book.values() if o.side == 1) == record.volume


def test_no_order_is_acknowledged_into_an_epoch_that_closed(tmp_path):
    now = [T0]
    m = busy_market(tmp_path / "journal.sqlite", clock=lambda: now[0])
    m.step()
    with Traders(m) as traders:
        for k in (1, 2, 3, 4):  # the stepper moves the clock and steps while orders pour in
            deadline = time.monotonic() + 30
            while not traders.busy(m.market.epoch_id(now[0])) and time.monotonic() < deadline:
                time.sleep(0.01)
            if k < 4:
                now[0] = T0 + 900 * k
                m.step()
    now[0] = T0 + 900 * 4
    m.step()
    assert traders.errors == []
    assert len({ack.epoch for ack in traders.acks}) == 4  # every epoch took orders
    each_ack_is_in_one_cleared_book(m, traders.acks)
    assert len(m.journal.all_orders()) == len(traders.acks)


def test_concurrent_submits_never_beat_the_order_limit():
    m = manager(market=Market(order_limit=1), funds=SlowHoldings(0.05))
    m.step(T0)
    start = threading.Barrier(5)

    def submit() -> OrderAck | OrderLimit:
        start.wait()
        try:
            return m.submit(1, -1, 10, 900, at=T0 + 1)
        except OrderLimit as refused:
            return refused

    with ThreadPoolExecutor(5) as pool:
        outcomes = list(pool.map(lambda _: submit(), range(5)))
    assert sum(isinstance(o, OrderAck) for o in outcomes) == 1
    assert sum(isinstance(o, OrderLimit) for o in outcomes) == 4
    assert len(m.journal.orders(E0, 1)) == 1
    # one batch holding two of one trader's orders: its limit counts the first
    second, third = m.submit_many([(3, -1, 10, 900), (3, -1, 10, 900)], at=T0 + 2)
    assert isinstance(second, OrderAck) and isinstance(third, OrderLimit)
    assert len(m.journal.orders(E0, 3)) == 1


def test_run_and_threads_submitting_at_the_boundaries_never_fail_a_step(tmp_path, caplog):
    """No step fails while threads submit across the boundaries; a step that does (its clock
    gives NaN for a while) is logged, and `run` steps again once the clock is back."""
    now = [T0]
    m = busy_market(tmp_path / "journal.sqlite", clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="gridmatch.epochs")

    async def until(condition) -> None:
        while not condition():
            await asyncio.sleep(0.005)

    async def scenario() -> list[OrderAck]:
        stop = asyncio.Event()
        runner = asyncio.create_task(m.run(stop, poll=0.005))
        await asyncio.wait_for(until(lambda: m.state(E0) == EpochState.OPEN), 5)
        with Traders(m) as traders:
            for k in (1, 2, 3):
                await asyncio.wait_for(until(lambda: traders.busy(m.market.epoch_id(now[0]))), 30)
                now[0] = T0 + 900 * k
        now[0] = T0 + 900 * 4
        last = max(ack.epoch for ack in traders.acks)
        await asyncio.wait_for(until(lambda: m.state(last) == EpochState.SETTLED), 10)
        assert caplog.records == [] and traders.errors == []  # not one step failed
        now[0] = math.nan  # the clock breaks
        await asyncio.wait_for(until(lambda: caplog.records), 5)
        now[0] = T0 + 900 * 5
        await asyncio.wait_for(until(lambda: m.status().open_epoch == EPOCH_5), 5)
        assert not runner.done()  # run never died
        stop.set()
        await runner
        return traders.acks

    acks = asyncio.run(scenario())
    assert {(r.levelname, r.getMessage(), type(r.exc_info[1])) for r in caplog.records} == {
        ("ERROR", "epoch step failed; tried again at the next poll", InvalidParameter)
    }
    assert len({ack.epoch for ack in acks}) >= 3
    each_ack_is_in_one_cleared_book(m, acks)


def test_steps_in_two_threads_are_heard_in_order_and_a_subscriber_may_step():
    m = manager()
    heard = []
    publishing = threading.Event()

    def slow(event) -> None:  # slow to hear the first step's event
        if (event.epoch, event.state) == (E0, "open"):
            publishing.set()
            time.sleep(0.2)
        heard.append((event.epoch, event.state))

    m.subscribe(slow)
    first = threading.Thread(target=m.step, args=(T0,))
    first.start()
    publishing.wait()
    m.step(T0 + 900)  # waits for the first step's events to be heard
    first.join()
    assert heard == [(E0, "open"), (E0, "closed"), (E1, "open"), (E0, "cleared"), (E0, "settled")]
    m.subscribe(lambda event: m.step(T0 + 1800))  # a subscriber that steps, from the step's own thread
    second = threading.Thread(target=m.step, args=(T0 + 1800,), daemon=True)
    second.start()
    second.join(10)
    assert not second.is_alive()
    assert heard[5:] == [(E1, "closed"), (E2, "open"), (E1, "cleared"), (E1, "settled")]


CHILD = """
import sys
from gridmatch.epochs import EpochManager
from gridmatch.journal import JournalBusy
from gridmatch.market import Market

print("claiming", flush=True)
try:
    m = EpochManager(Market(order_limit=3), journal=sys.argv[1], lease_wait=float(sys.argv[2]))
except JournalBusy as busy:
    print("busy", busy.field, flush=True)
else:
    m.step(float(sys.argv[3]))
    print("writer", m.state(int(sys.argv[4])).value, flush=True)
"""


def child(path, lease_wait: float) -> subprocess.Popen[str]:
    args = [str(path), str(lease_wait), str(T0 + 900), str(E0)]
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, text=True)


def test_a_second_process_on_the_journal_is_refused_or_waits_for_the_lease(tmp_path):
    path = tmp_path / "journal.sqlite"
    m = manager(path)
    m.step(T0)
    m.submit(1, -1, 10, 900, at=T0 + 1)
    m.submit(2, 1, 10, 950, at=T0 + 1)
    before = rows(path)
    out, _ = child(path, 0).communicate(timeout=60)
    assert out.split("\n")[:2] == ["claiming", "busy journal"]
    assert rows(path) == before
    waiting = child(path, 60)
    assert waiting.stdout.readline() == "claiming\n"
    time.sleep(0.3)
    assert waiting.poll() is None  # waiting for the lease
    assert rows(path) == before
    m.close()  # lets go: the waiting process takes over and clears the epoch
    out, _ = waiting.communicate(timeout=60)
    assert out == "writer settled\n"


def test_a_second_manager_in_one_process_is_refused_then_takes_over(tmp_path):
    path = tmp_path / "journal.sqlite"
    first = manager(path)
    first.step(T0)
    first.submit(1, -1, 10, 900, at=T0 + 1)
    before = rows(path)
    with pytest.raises(JournalBusy) as busy:
        EpochManager(MARKET, journal=str(path))
    assert busy.value.field == "journal"
    assert rows(path) == before
    threading.Timer(0.2, first.close).start()
    second = EpochManager(MARKET, journal=str(path), lease_wait=30)  # waits for the first to let go
    assert [(e.epoch, e.state) for e in second.step(T0 + 900) if e.epoch == E0][-1] == (E0, "settled")
    assert len(second.journal.orders(E0)) == 1
    second.close()
