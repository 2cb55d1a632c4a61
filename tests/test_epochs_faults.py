"""Faults the epoch engine survives: hostile arguments and amounts that would overflow (refused at
submit, nothing changed), a clearing that raises (its epoch void, the market goes on), an RPC
outage (settlement waits; the clock and order intake do not), a batch that always fails (bounded
retries, then stuck until an operator retries), settlement attempts whose fate is unknown or
pending (never signed twice), subscribers that raise, events from worker threads."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import threading

import numpy as np
import pytest
from epochs_harness import E0, E1, E2, MARKET, T0, ScriptedSettler, manager, rows

import gridmatch.epochs as epochs
from gridmatch.epochs import EpochManager, EpochState, OrderAck, _Intake, _Order
from gridmatch.errors import AmountOverflow, ChainError, GridmatchError, InvalidOrder, InvalidParameter
from gridmatch.market import Market
from gridmatch.settlement import TxStatus

I63 = 2**63 - 1


def trade(m: EpochManager, start: float = T0) -> None:
    """One sell and one buy that cross at 925 in the epoch open at `start`."""
    m.submit(1, -1, 10, 900, at=start + 1)
    m.submit(2, 1, 10, 950, at=start + 2)


# -- arguments ------------------------------------------------------------------------------

ORDER = {"trader": 1, "side": -1, "qty": 10, "price": 900, "at": T0 + 1}
HOSTILE = [
    ("at", math.nan),
    ("at", math.inf),
    ("at", -math.inf),
    ("at", True),
    ("at", "2016-06-21T12:00"),
    ("at", -1.0),
    ("at", 253_402_300_800),  # 10000-01-01: no epoch id names it
    ("trader", "1"),
    ("trader", 2**64),
    ("trader", 0),
    ("trader", 1.0),
    ("trader", None),
    ("side", True),
    ("side", 2),
    ("side", -1.0),
    ("side", "-1"),
    ("side", np.array([-1, -1])),
    ("qty", True),
    ("qty", 0),
    ("qty", 2**63),
    ("qty", 10.0),
    ("qty", np.float64(10)),
    ("price", 1.5),
    ("price", True),
    ("price", 2**63),
    ("price", -(2**63)),
    ("price", math.nan),
    ("rollover", "yes"),
    ("rollover", 1),
]


@pytest.mark.parametrize(("name", "value"), HOSTILE, ids=[f"{n}={v!r}" for n, v in HOSTILE])
def test_a_hostile_argument_is_refused_naming_it_and_changes_nothing(tmp_path, name, value):
    path = tmp_path / "journal.sqlite"
    m = manager(path)
    m.step(T0)
    before = rows(path)
    with pytest.raises(InvalidOrder) as refused:
        m.submit(**ORDER | {name: value})
    assert refused.value.field == name and refused.value.value is value
    assert rows(path) == before


def test_numpy_integers_are_taken_as_the_integers_they_are():
    m = manager()
    m.step(T0)
    ack = m.submit(np.int64(1), np.int8(-1), np.uint32(10), np.int64(900), at=np.float64(T0 + 1))
    assert ack == OrderAck(1, E0, 1, -1, 10, 900)
    assert all(type(v) is int for v in dataclasses.astuple(ack))


def test_a_malformed_order_of_a_batch_is_refused_alone():
    m = manager()
    m.step(T0)
    short, good, long, scalar = m.submit_many([(1, -1, 10), (1, -1, 10, 900), (1, -1, 10, 900, True), 5], at=T0 + 1)
    assert [e.field for e in (short, long, scalar)] == ["order"] * 3
    assert (short.value, scalar.value) == ((1, -1, 10), 5)
    assert good == OrderAck(1, E0, 1, -1, 10, 900)
    assert [o.id for o in m.journal.all_orders()] == [1]


# -- poison ---------------------------------------------------------------------------------


def test_orders_that_would_overflow_are_refused_at_submit_and_the_market_clears(tmp_path):
    path = tmp_path / "journal.sqlite"
    m = manager(path)
    m.step(T0)
    before = rows(path)
    for _ in range(3):  # the poison: 2^63-1 lots, three times, from one participant
        with pytest.raises(InvalidOrder) as refused:
            m.submit(1, -1, I63, 900, at=T0 + 1)
        assert (refused.value.field, refused.value.value) == ("qty", I63)
    with pytest.raises(InvalidOrder) as refused:
        m.submit(2, 1, 1000, 2**62, at=T0 + 1)  # qty x price x tick past 2^63-1
    assert refused.value.field == "price"
    with pytest.raises(InvalidOrder) as refused:
        m.submit(2, 1, 1, I63 // MARKET.tick, at=T0 + 1)  # the notional fits; with the fee it does not
    assert refused.value.field == "price"
    assert rows(path) == before
    trade(m)
    m.step(T0 + 900)
    assert m.journal.epoch(E0).price == 925 and m.state(E0) == EpochState.SETTLED


def test_an_epochs_volume_past_2_63_is_refused_at_submit():
    # One lot one base unit, no fee: an order of 2^63-1 lots fits; a second one on its side does not.
    m = manager(market=Market(lot=1, tick=1, fee_bps=0, order_limit=3))
    m.step(T0)
    m.submit(1, -1, I63, 1, at=T0 + 1)
    with pytest.raises(InvalidOrder) as refused:
        m.submit(3, -1, 1, 1, at=T0 + 1)
    assert (refused.value.field, refused.value.value) == ("qty", 1)
    m.submit(2, 1, I63, 1, at=T0 + 1)  # the other side has room
    m.step(T0 + 900)
    assert m.journal.fills(E0) == [(2, 1, 2, 1, I63, 1)]


def poisoned(monkeypatch, poison) -> list[int]:
    """Makes the engine's clearing raise on books `poison(book)` picks; returns each book's size."""
    real = epochs.clear
    books = []

    def clear(book, **kwargs):
        books.append(len(book))
        if poison(book):
            raise AmountOverflow("the book's demand does not fit u64", field="qty")
        return real(book, **kwargs)

    monkeypatch.setattr(epochs, "clear", clear)
    return books


def test_a_clearing_that_raises_voids_its_epoch_and_the_market_goes_on(tmp_path, monkeypatch):
    books = poisoned(monkeypatch, lambda book: len(books) == 1)  # the first clearing only
    path = tmp_path / "journal.sqlite"
    m = manager(path)
    m.step(T0)
    trade(m)
    events = m.step(T0 + 900)
    assert [(e.epoch, e.state) for e in events] == [
        (E0, "closed"),
        (E1, "open"),
        (E0, "void"),
        (E0, "settled"),  # no settler: nothing to give back
    ]
    assert m.journal.epoch(E0).detail["void"] == "AmountOverflow: the book's demand does not fit u64"
    assert [o.filled for o in m.journal.orders(E0)] == [0, 0] and m.journal.fills(E0) == []
    trade(m, T0 + 900)
    m.step(T0 + 1800)
    assert m.journal.epoch(E1).price == 925 and m.state(E1) == EpochState.SETTLED
    m.close()
    again = manager(path, clock=lambda: T0 + 1801)
    assert again.recover() == []  # nothing left to do, and nothing raises
    assert (again.state(E0), again.state(E1), again.status().open_epoch) == ("settled", "settled", E2)


def test_a_poison_rollover_order_voids_one_epoch_not_every_one_after(monkeypatch):
    poisoned(monkeypatch, lambda book: 13 in book["qty"].tolist())
    m = manager()
    m.step(T0)
    m.submit(1, -1, 13, 900, rollover=True, at=T0 + 1)
    trade(m)
    m.step(T0 + 900)
    assert m.state(E0) == EpochState.SETTLED and "void" in m.journal.epoch(E0).detail
    assert m.journal.orders(E1) == []  # the poison did not roll on
    trade(m, T0 + 900)
    m.step(T0 + 1800)
    assert m.journal.epoch(E1).price == 925


class Walletless(ScriptedSettler):
    """Has no wallet for participant 3, as a settler set up before 3 registered."""

    def plan(self, cleared):
        for _, _, buyer, seller, _, _ in cleared.fills:
            if 3 in (buyer, seller):
                raise KeyError("participant 3 has no wallet")
        return super().plan(cleared)


def test_a_settlement_plan_that_raises_voids_its_epoch_and_the_market_goes_on():
    chain = Walletless()
    m = manager(settler=chain)
    m.step(T0)
    m.submit(3, -1, 10, 900, at=T0 + 1)
    m.submit(2, 1, 10, 950, at=T0 + 1)
    m.step(T0 + 900)
    assert m.state(E0) == EpochState.SETTLED and m.journal.fills(E0) == []
    assert m.journal.epoch(E0).detail["void"] == "KeyError: 'participant 3 has no wallet'"
    trade(m, T0 + 900)
    m.step(T0 + 1800)
    assert m.journal.epoch(E1).price == 925 and m.state(E1) == EpochState.SETTLED
    assert [a.signature for a in chain.submitted] == ["sig-0"]


class SignsNothingFor3(ScriptedSettler):
    """Plans every batch but cannot sign one that moves participant 3's tokens."""

    def prepare(self, batch, cleared):
        if any(3 in (t.source, t.dest) for t in batch.transfers):
            raise KeyError("participant 3 has no wallet")
        return super().prepare(batch, cleared)


def test_a_settler_that_raises_fails_its_epoch_alone_then_leaves_it_stuck():
    chain = SignsNothingFor3()
    m = manager(settler=chain, max_attempts=2, retry_delay=10)
    m.step(T0)
    m.submit(3, -1, 10, 900, at=T0 + 1)
    m.submit(2, 1, 10, 950, at=T0 + 1)
    m.step(T0 + 900)  # raises nothing
    assert m.state(E0) == EpochState.FAILED
    assert m.journal.epoch(E0).detail["error"] == "KeyError: 'participant 3 has no wallet'"
    trade(m, T0 + 900)
    m.step(T0 + 1800)  # E0 fails again, and is stuck; E1 settles
    assert (m.state(E0), m.state(E1)) == ("stuck", "settled")
    assert [a.signature for a in chain.submitted] == ["sig-0"]


def test_the_exchange_rules_first_epoch_clears_by_the_midpoint_rule():
    m = manager(market=Market(rule="exchange", order_limit=3))
    m.step(T0)
    trade(m)  # balanced at both candidates: the exchange rule needs a reference price
    m.step(T0 + 900)
    assert m.journal.epoch(E0).price == 925  # the midpoint: no epoch settled before
    trade(m, T0 + 900)
    m.step(T0 + 1800)
    assert m.journal.epoch(E1).price == 950  # nearest 925, the higher of two as near


# -- the chain ------------------------------------------------------------------------------


def test_an_rpc_outage_delays_settlement_never_the_clock_or_order_intake():
    chain = ScriptedSettler()
    m = manager(settler=chain)
    heard = []
    m.subscribe(lambda event: heard.append((event.epoch, event.state)))
    m.step(T0)
    trade(m)
    chain.mode = "down"
    m.step(T0 + 900)  # raises nothing
    assert heard[1:] == [(E0, "closed"), (E1, "open"), (E0, "cleared")]
    assert m.state(E0) == EpochState.CLEARED and m.journal.batches(E0)[0].attempts == []
    trade(m, T0 + 900)  # orders are taken
    m.step(T0 + 1800)
    assert [r.id for r in m.status().unsettled] == [E0, E1] and m.status().open_epoch == E2
    chain.mode = "ok"
    m.step(T0 + 1801)
    assert m.state(E0) == m.state(E1) == EpochState.SETTLED
    assert [a.signature for a in chain.submitted] == ["sig-0", "sig-1"]  # each batch sent once


class ClosingSettler(ScriptedSettler):
    """Closes each epoch on its chain before it is cleared, as the trading program's does."""

    def close(self, epoch: int, orders, placing: bool) -> list[int]:
        self._call()
        return []


def test_a_chain_that_cannot_close_an_epoch_delays_its_clearing_only():
    chain = ClosingSettler()
    m = manager(settler=chain)
    m.step(T0)
    trade(m)
    chain.mode = "down"
    m.step(T0 + 900)
    record = m.journal.epoch(E0)
    assert record.state == EpochState.CLOSED and record.detail["error"] == "the endpoint does not answer"
    trade(m, T0 + 900)
    chain.mode = "ok"
    m.step(T0 + 901)
    assert m.journal.epoch(E0).price == 925 and m.state(E0) == EpochState.SETTLED
    assert m.state(E1) == EpochState.OPEN and len(m.journal.orders(E1)) == 2


class Flaky(ScriptedSettler):
    """Cannot plan epoch E0 the first two times it is asked (an RPC read in the plan timed out)."""

    def __init__(self) -> None:
        super().__init__()
        self.flaky = 2

    def plan(self, cleared):
        if cleared.epoch == E0 and self.flaky:
            self.flaky -= 1
            raise ChainError("a lookup table read timed out", field="rpc")
        return super().plan(cleared)


def test_epochs_clear_in_order_so_a_delayed_ones_rollover_rest_is_cleared_too():
    m = manager(settler=Flaky())
    m.step(T0)
    m.submit(1, -1, 1000, 900, rollover=True, at=T0 + 1)
    m.submit(2, 1, 600, 950, at=T0 + 1)
    m.step(T0 + 900)  # E0 cannot be planned yet
    m.step(T0 + 1800)  # nor now: E1, ended too, waits for it (E0's rest is to join its book)
    assert (m.state(E0), m.state(E1), m.state(E2)) == ("closed", "closed", "open")
    m.step(T0 + 1801)
    assert all(m.state(e) == EpochState.SETTLED for e in (E0, E1))
    (rest,) = m.journal.orders(E1)  # E0's unfilled 400, offered in E1 (no buyer there)
    assert (rest.qty, rest.filled) == (400, 0)
    (again,) = m.journal.orders(E2)
    assert (again.qty, again.parent) == (400, rest.id)


def attempts(m: EpochManager, epoch: int = E0) -> list[tuple[str, str]]:
    ((batch),) = m.journal.batches(epoch)
    return [(a.signature, state) for a, state in batch.attempts]


def test_a_batch_that_always_fails_backs_off_then_is_stuck_until_retried():
    chain = ScriptedSettler()
    m = manager(settler=chain, max_attempts=3, retry_delay=10)
    heard = []
    m.subscribe(heard.append)
    m.step(T0)
    trade(m)
    chain.mode = "fail"
    m.step(T0 + 900)
    assert m.state(E0) == EpochState.FAILED and m.journal.epoch(E0).detail["retry_at"] == T0 + 910
    m.step(T0 + 909)  # within the back-off
    assert len(attempts(m)) == 1
    m.step(T0 + 910)
    assert len(attempts(m)) == 2 and m.journal.epoch(E0).detail["retry_at"] == T0 + 930  # doubled
    m.step(T0 + 929)
    assert len(attempts(m)) == 2
    m.step(T0 + 930)
    assert (heard[-1].epoch, heard[-1].state) == (E0, "stuck")  # the operator hears of it
    for k in range(8):  # stuck: no more attempts, however often the market steps
        m.step(T0 + 931 + 100 * k)
    assert attempts(m) == [("sig-0", "failed"), ("sig-1", "failed"), ("sig-2", "failed")]
    assert [r.id for r in m.status().stuck] == [E0] and m.journal.epoch(E0).detail["failures"] == 3
    before = (m.journal.epochs(), m.journal.log_lines())
    with pytest.raises(InvalidParameter):
        m.retry(E1)  # not stuck
    assert (m.journal.epochs(), m.journal.log_lines()) == before
    chain.mode = "ok"  # the operator fixed the cause
    m.retry(E0)
    m.step(T0 + 1700)
    assert m.state(E0) == EpochState.SETTLED and m.status().stuck == ()
    assert attempts(m)[-1] == ("sig-3", "confirmed")


def test_a_pending_attempt_is_waited_for_never_signed_again_even_after_a_restart(tmp_path):
    chain = ScriptedSettler()
    path = tmp_path / "journal.sqlite"
    m = manager(path, settler=chain)
    m.step(T0)
    trade(m)
    chain.mode = "pending"  # it lands; the answer is lost
    m.step(T0 + 900)
    chain.finalized = 10**6  # a node judging by height alone now says it expired
    for k in range(3):
        m.step(T0 + 901 + k)
    m.close()
    again = manager(path, settler=chain, clock=lambda: T0 + 950)
    again.recover()
    assert (len(chain.prepared), len(chain.submitted)) == (1, 1)  # never signed again, nor resent
    assert attempts(again) == [("sig-0", "sent")] and again.state(E0) == EpochState.CLEARED
    chain.statuses["sig-0"] = TxStatus.CONFIRMED  # final
    again.step(T0 + 951)
    assert again.state(E0) == EpochState.SETTLED and attempts(again) == [("sig-0", "confirmed")]


def test_an_unknown_attempt_is_resent_as_it_is_until_it_expired_then_signed_anew(tmp_path):
    chain = ScriptedSettler()
    path = tmp_path / "journal.sqlite"
    m = manager(path, settler=chain)
    m.step(T0)
    trade(m)
    chain.mode = "drop"  # never arrives
    m.step(T0 + 900)
    m.close()
    again = manager(path, settler=chain, clock=lambda: T0 + 950)
    again.recover()  # unknown, its last valid height not finalized: the journaled bytes again
    first, resent = chain.submitted
    assert resent == first and len(chain.prepared) == 1
    chain.finalized = first.last_valid  # not past it yet
    again.step(T0 + 951)
    assert len(chain.submitted) == 3 and len(chain.prepared) == 1
    chain.finalized = first.last_valid + 1
    chain.mode = "ok"
    again.step(T0 + 952)
    assert attempts(again) == [("sig-0", "expired"), ("sig-1", "confirmed")]
    assert again.state(E0) == EpochState.SETTLED


# -- subscribers ----------------------------------------------------------------------------


def test_a_subscriber_that_raises_is_logged_and_skipped(caplog):
    m = manager()
    first, last = [], []

    def broken(event):
        raise RuntimeError("subscriber bug")

    m.subscribe(first.append)
    m.subscribe(broken)
    m.subscribe(last.append)
    m.step(T0)
    trade(m)
    events = m.step(T0 + 900)  # raises nothing
    assert first == last and last[-len(events) :] == events and m.state(E0) == EpochState.SETTLED
    raised = [r for r in caplog.records if r.name == "gridmatch.epochs" and r.exc_info]
    assert len(raised) == len(first) and all("subscriber bug" in str(r.exc_info[1]) for r in raised)


def test_events_from_steps_in_worker_threads_reach_the_async_iterator_on_its_loop():
    m = manager()

    async def scenario() -> list[tuple[int, str]]:
        seen = []

        async def listen() -> None:
            async for event in m.events():
                seen.append((event.epoch, event.state))
                if event.state == EpochState.SETTLED:
                    return

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0)  # the listener is waiting on its queue
        await asyncio.to_thread(m.step, T0)
        await asyncio.to_thread(trade, m)
        worker = threading.Thread(target=m.step, args=(T0 + 900,))
        worker.start()
        await asyncio.to_thread(worker.join)
        await asyncio.wait_for(listener, 5)
        return seen

    # In debug mode a worker thread that touched the loop's queue itself raises, and the loop can
    # hang for good: it runs in a thread of its own, given ten seconds.
    outcome: list[object] = []

    def loop() -> None:
        try:
            outcome.append(asyncio.run(scenario(), debug=True))
        except Exception as error:
            outcome.append(error)

    runner = threading.Thread(target=loop, daemon=True)
    runner.start()
    runner.join(10)
    assert outcome == [[(E0, "open"), (E0, "closed"), (E1, "open"), (E0, "cleared"), (E0, "settled")]]


def test_run_outlives_a_clock_that_raises(caplog):
    """A clock that raises (its time source is away) is logged; `run` asks it again at the next
    poll and goes on stepping once it answers."""
    now: list[float | None] = [T0]

    def clock() -> float:
        if now[0] is None:
            raise OSError("the time source is away")
        return now[0]

    m = manager(clock=clock)
    caplog.set_level(logging.ERROR, logger="gridmatch.epochs")

    async def scenario() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(m.run(stop, poll=0.005))
        while m.state(E0) != EpochState.OPEN:
            await asyncio.sleep(0.005)
        now[0] = None
        while not caplog.records:
            await asyncio.sleep(0.005)
        now[0] = T0 + 900
        while m.state(E1) != EpochState.OPEN:
            await asyncio.sleep(0.005)
        assert not runner.done()
        stop.set()
        await runner

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert any(isinstance(r.exc_info[1], OSError) for r in caplog.records if r.exc_info)


def test_calls_waiting_on_an_interrupted_journal_write_hear_a_typed_error():
    """The call leading a group commit is interrupted (a BaseException: the process is being
    stopped): the calls of its group are told, with a typed error, that nothing of theirs was
    journaled, and the interrupt goes on up the leader's stack."""
    m = manager()
    m.step(T0)

    def interrupted(group) -> None:
        raise KeyboardInterrupt

    m._journal_group = interrupted  # type: ignore[method-assign]
    group = [_Intake(T0, {0: _Order.of(trader, -1, 10, 900, False)}, [0], {}, {}) for trader in (1, 3)]
    with pytest.raises(KeyboardInterrupt):
        m._commit(group)
    assert all(isinstance(intake.error, GridmatchError) for intake in group)
    assert m.journal.orders(E0) == []
