"""The journal, in SQLite and in PostgreSQL: what it stores survives reopening; a transaction
is all or nothing."""

from __future__ import annotations

import itertools

import pg
import psycopg
import pytest

from gridmatch.journal import Attempt, JournalError, OrderRecord, open_journal
from gridmatch.market import Market
from gridmatch.participants import Participant, Role


@pytest.fixture(scope="module")
def postgres():
    with pg.server() as url:
        yield url


DATABASES = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request, tmp_path):
    """A fresh journal of each kind: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'j.sqlite'}"
    url = request.getfixturevalue("postgres")
    name = f"journal_{next(DATABASES)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return url.replace("/postgres?", f"/{name}?")


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
        j.add_order(OrderRecord(1, 201606211200, 7, 1, 925, 10, 0, False, None, None))
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
