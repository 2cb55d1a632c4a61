"""The journal, in SQLite and in PostgreSQL: what it stores survives reopening; a transaction
is all or nothing; one writer at a time holds it, until it closes or dies."""

from __future__ import annotations

import math
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pg
import pytest

from gridmatch.errors import InvalidParameter
from gridmatch.journal import Attempt, Journal, JournalBusy, JournalError, OrderRecord, open_journal
from gridmatch.market import Market
from gridmatch.participants import Participant, Role


@pytest.fixture(scope="module")
def postgres():
    with pg.server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request, tmp_path):
    """A fresh journal of each kind: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'j.sqlite'}"
    return pg.database(request.getfixturevalue("postgres"))


def order(oid: int) -> OrderRecord:
    return OrderRecord(oid, 201606211200, 7, 1, 925, 10, 0, False, None, None)


def test_everything_survives_a_reopen(journal_url):
    path = journal_url
    j = open_journal(path)
    j.bind(Market())
    j.put_participant(Participant(7, Role.PROSUMER, "roof 7", "Wallet7"))
    j.add_order(OrderRecord(1, 201606211200, 7, -1, 925, 1500, 0, True, None, None))
    j.set_epoch(201606211200, "cleared", price=925, volume=1500, detail={"fills": 1})
    j.add_fills(201606211200, [(2, 1, 8, 7, 1500, 925)])
    j.add_batch("b0", 201606211200, 0, [["grid", 7, 8, 1_500_000_000]])
    j.add_attempt("b0", Attempt("sig1", "hash1", None, b"\x01signed"))
    j.close()

    again = open_journal(path)
    again.bind(Market())
    assert again.participants() == [Participant(7, Role.PROSUMER, "roof 7", "Wallet7")]
    assert again.orders(201606211200)[0].rollover is True and again.next_order_id() == 2
    epoch = again.epoch(201606211200)
    assert (epoch.state, epoch.price, epoch.volume, epoch.detail) == ("cleared", 925, 1500, {"fills": 1})
    assert again.fills(201606211200) == [(2, 1, 8, 7, 1500, 925)]
    (batch,) = again.batches(201606211200)
    assert (batch.state, batch.attempts, batch.transfers) == (
        "sending",
        [(Attempt("sig1", "hash1", None, b"\x01signed"), "sent")],
        [["grid", 7, 8, 1_500_000_000]],
    )
    assert [k for _, k, _ in again.log_lines()] == ["state"]


def test_a_failed_transaction_leaves_nothing(journal_url):
    j = open_journal(journal_url)
    with pytest.raises(RuntimeError), j.transaction():
        j.add_order(order(1))
        j.set_epoch(201606211200, "open")
        raise RuntimeError("crash before commit")
    assert j.all_orders() == [] and j.epochs() == []


def test_another_markets_journal_is_refused(journal_url):
    j = open_journal(journal_url)
    j.bind(Market())
    with pytest.raises(JournalError):
        j.bind(Market(fee_bps=50))
    with pytest.raises(JournalError):
        open_journal("mysql://somewhere")


def test_the_epoch_engine_resumes_from_either_journal(journal_url):
    from gridmatch.epochs import EpochManager, EpochState

    t0 = 1_466_510_400.0
    first = EpochManager(Market(), journal=journal_url)
    first.register(Participant(1, Role.PROSUMER))
    first.register(Participant(2, Role.CONSUMER))
    first.step(t0)
    first.submit(1, -1, 1000, 900, at=t0 + 1)
    first.submit(2, 1, 600, 950, at=t0 + 2)
    first.journal.set_epoch(201606211200, "closed")  # the process dies right after closing
    first.journal.close()
    again = EpochManager(Market(), journal=journal_url, clock=lambda: t0 + 901)
    again.recover()
    assert again.state(201606211200) == EpochState.SETTLED
    assert again.journal.fills(201606211200) == [(2, 1, 2, 1, 600, 925)]


def test_one_writer_at_a_time_even_in_one_process(journal_url):
    first, second = open_journal(journal_url), open_journal(journal_url)
    first.claim_writer()
    first.claim_writer()  # the holder claiming again changes nothing
    with pytest.raises(JournalBusy) as refused:
        second.claim_writer()
    assert refused.value.field == "journal" and refused.value.value == journal_url.removeprefix("sqlite:///")
    first.add_order(order(1))  # the holder writes as before
    first.close()
    second.claim_writer()
    second.add_order(order(2))
    assert [o.id for o in second.all_orders()] == [1, 2]
    with pytest.raises(JournalBusy):
        open_journal(journal_url).claim_writer()


CHILD = """
import sys, time
from gridmatch.journal import open_journal
journal = open_journal(sys.argv[1])
journal.claim_writer()
print("held", flush=True)
time.sleep(600)
"""


def test_a_killed_writer_lets_go(journal_url):
    child = subprocess.Popen([sys.executable, "-c", CHILD, journal_url], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "held\n"
        successor = open_journal(journal_url)
        with pytest.raises(JournalBusy):
            successor.claim_writer()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    successor.claim_writer(wait=10)  # no time-based lease to expire: free once the holder is gone


def test_a_claim_waits_for_the_writer_to_let_go(journal_url):
    holder, waiter = open_journal(journal_url), open_journal(journal_url)
    holder.claim_writer()
    started = time.monotonic()
    with pytest.raises(JournalBusy):
        waiter.claim_writer(wait=0.2)
    assert time.monotonic() - started >= 0.2
    letting_go = threading.Timer(0.3, holder.close)
    letting_go.start()
    started = time.monotonic()
    waiter.claim_writer(wait=30)
    letting_go.join()
    assert 0.25 <= time.monotonic() - started < 30


@pytest.mark.parametrize("wait", [-1, math.nan, "1", True, None])
def test_a_bad_wait_is_refused_and_claims_nothing(tmp_path, wait):
    path = str(tmp_path / "j.sqlite")
    with pytest.raises(InvalidParameter) as refused:
        Journal(path).claim_writer(wait=wait)
    assert refused.value.field == "wait" and refused.value.value is wait
    Journal(path).claim_writer()


def test_an_in_memory_journal_needs_no_lease():
    first, second = Journal(":memory:"), Journal(":memory:")
    first.claim_writer()
    second.claim_writer()


class Impatient(Journal):
    """Gives up on SQLite's write lock after 50 ms (not 5 s)."""

    def _connect(self):
        conn = super()._connect()
        conn.execute("PRAGMA busy_timeout = 50")
        return conn


def test_sqlites_write_lock_held_elsewhere_is_journal_busy(tmp_path):
    path = str(tmp_path / "j.sqlite")
    holder, other = Journal(path), Impatient(path)
    with holder.transaction():
        holder.add_order(order(1))
        with pytest.raises(JournalBusy) as refused:
            other.add_order(order(2))
    assert isinstance(refused.value.__cause__, sqlite3.OperationalError) and refused.value.value == path
    assert [o.id for o in other.all_orders()] == [1]
