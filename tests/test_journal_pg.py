"""The PostgreSQL journal under faults: a backend killed in a transaction or between calls, a
server restart, a COMMIT whose answer was lost, serialization failures and deadlocks raised by
the server itself, and a writer whose lease was taken while its connection was down. Whatever
happens, no psycopg error escapes untyped, and a transaction is applied once or not at all."""

from __future__ import annotations

import pg
import psycopg
import pytest

from gridmatch.journal import (
    CONFLICT_RETRIES,
    JournalBusy,
    JournalCommitUnknown,
    JournalConflict,
    JournalError,
    JournalUnavailable,
    OrderRecord,
    PostgresJournal,
)
from gridmatch.market import Market

EPOCH = 201606211200


@pytest.fixture(scope="module")
def server():
    with pg.server() as url:
        yield url


@pytest.fixture
def url(server):
    return pg.database(server)


def order(oid: int) -> OrderRecord:
    return OrderRecord(oid, EPOCH, 7, 1, 925, 10, 0, False, None, None)


def ids(url: str) -> list[int]:
    """The journal's order ids, read on a connection of the test's own."""
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM orders ORDER BY id")]


def kill_sessions(url: str) -> None:
    """Terminates every other session on `url`'s database (the journal's), waiting until they are gone."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.mark.parametrize("when", ["mid-transaction", "before COMMIT"])
def test_a_backend_killed_in_a_transaction_applies_nothing(url, when):
    j = PostgresJournal(url)
    with pytest.raises(JournalUnavailable) as lost, j.transaction():
        j.add_order(order(1))
        kill_sessions(url)
        if when == "mid-transaction":
            j.add_order(order(2))
    assert isinstance(lost.value.__cause__, psycopg.OperationalError) and lost.value.field == "journal"
    assert ids(url) == []
    j.add_order(order(3))  # the next call runs on a new connection
    assert ids(url) == [3]


def test_a_backend_killed_between_calls_is_replaced_unseen(url):
    j = PostgresJournal(url)
    j.add_order(order(1))
    kill_sessions(url)
    assert [o.id for o in j.all_orders()] == [1]
    kill_sessions(url)
    j.add_order(order(2))
    kill_sessions(url)
    with j.transaction():  # a transaction begun on a dead connection begins on a new one
        j.add_order(order(3))
    assert ids(url) == [1, 2, 3]


def test_the_journal_outlives_a_server_restart(url):
    j = PostgresJournal(url)
    j.add_order(order(1))
    with pg.stopped(url):
        with pytest.raises(JournalUnavailable) as down:
            j.all_orders()
        assert isinstance(down.value.__cause__, psycopg.OperationalError)
    assert [o.id for o in j.all_orders()] == [1]
    j.add_order(order(2))
    assert ids(url) == [1, 2]


class Lossy:
    """A connection whose COMMIT, when its journal says so, fails as if the network dropped:
    "ran" after the server committed, "lost" before it reached the server, "hung" like "lost"
    but with the old session left open (closing it does nothing, as in a network partition)."""

    def __init__(self, conn: psycopg.Connection, journal: LosesCommit) -> None:
        self.conn = conn
        self.journal = journal

    def execute(self, query, params=None):
        if query != "COMMIT" or not self.journal.lose:
            return self.conn.execute(query, params)
        self.journal.fault, self.journal.lose = self.journal.lose, ""
        if self.journal.fault == "ran":
            self.conn.execute(query)
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    def close(self):
        if self.journal.fault == "hung":
            self.journal.stranded = self.conn
        else:
            self.conn.close()

    def __getattr__(self, name):
        return getattr(self.conn, name)


class LosesCommit(PostgresJournal):
    settle_timeout = 0.5
    lose = ""  # the next COMMIT's fault (see Lossy)
    fault = ""  # the last one
    stranded: psycopg.Connection | None = None  # a "hung" fault's old session

    def _connect(self):
        return Lossy(super()._connect(), self)


def test_a_commit_whose_answer_was_lost_after_it_ran_counts_as_done(url):
    j = LosesCommit(url)
    j.lose = "ran"
    j.add_order(order(1))  # no exception, and not run twice (a second insert would fail)
    assert j.fault == "ran" and ids(url) == [1]
    j.lose = "ran"
    with j.transaction():
        j.add_order(order(2))
        j.set_epoch(EPOCH, "open")
    assert ids(url) == [1, 2] and j.epoch(EPOCH).state == "open"


def test_a_commit_lost_before_it_ran_is_rolled_back(url):
    j = LosesCommit(url)
    j.lose = "lost"
    with pytest.raises(JournalUnavailable) as lost, j.transaction():
        j.add_order(order(1))
        j.set_epoch(EPOCH, "open")
    assert type(lost.value) is JournalUnavailable and isinstance(lost.value.__cause__, psycopg.OperationalError)
    assert ids(url) == [] and j.epochs() == []
    j.lose = "lost"
    j.add_order(order(2))  # a standalone call: rolled back for sure, so run again once
    assert j.fault == "lost" and ids(url) == [2]


def test_a_commit_whose_session_may_still_commit_is_unknown_and_not_run_again(url):
    # Running it again would wait on the old session's row: the timeout makes that a failure, not a hang.
    j = LosesCommit(f"{url}&options=-c%20statement_timeout%3D5000")
    j.lose = "hung"
    with pytest.raises(JournalCommitUnknown) as unknown:
        j.add_order(order(1))
    assert isinstance(unknown.value, JournalUnavailable) and ids(url) == []
    j.stranded.execute("COMMIT")  # the old session was still able to commit: "rolled back" would have been a lie
    assert ids(url) == [1] and [o.id for o in j.all_orders()] == [1]


def test_old_commit_keys_are_pruned(url):
    class Pruning(PostgresJournal):
        keep_commits = 10
        prune_every = 5

    j = Pruning(url)
    for oid in range(1, 41):
        j.add_order(order(oid))
    with psycopg.connect(url) as conn:
        kept, newest = conn.execute("SELECT COUNT(*), MAX(seq) FROM commits").fetchone()
    assert 10 <= kept <= 15 and newest == 40


def inject(url: str, sqlstate: str, times: int) -> None:
    """Makes the server refuse the next `times` inserts into orders with `sqlstate`. The count
    is a sequence: it survives the rollbacks the refusals cause."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("CREATE SEQUENCE tries")
        admin.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF nextval('tries') <= {times} THEN RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}'; END IF; "
            "RETURN NEW; END $$"
        )
        admin.execute("CREATE TRIGGER refuse BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION refuse()")


def tries(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT last_value FROM tries").fetchone()[0])


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_a_standalone_call_is_run_again_after_a_conflict(url, sqlstate):
    j = PostgresJournal(url)
    inject(url, sqlstate, times=2)
    j.add_order(order(1))
    assert tries(url) == 3 and ids(url) == [1]


def test_atomic_runs_its_step_again_after_a_conflict(url):
    j = PostgresJournal(url)
    inject(url, "40001", times=2)

    def step():
        j.set_epoch(EPOCH, "open")
        j.add_order(order(1))
        return "done"

    assert j.atomic(step) == "done"
    states = [detail for _, kind, detail in j.log_lines() if kind == "state"]
    assert tries(url) == 3 and ids(url) == [1] and states == [{"state": "open"}]  # the lost runs left nothing


def test_conflicts_are_retried_a_bounded_number_of_times(url):
    j = PostgresJournal(url)
    inject(url, "40001", times=1000)
    with pytest.raises(JournalConflict) as refused:
        j.add_order(order(1))
    assert isinstance(refused.value.__cause__, psycopg.errors.SerializationFailure)
    assert tries(url) == 1 + CONFLICT_RETRIES and ids(url) == []


def test_a_conflict_inside_a_transaction_goes_to_its_owner(url):
    j = PostgresJournal(url)
    inject(url, "40P01", times=1)
    with pytest.raises(JournalConflict) as refused, j.transaction():
        j.set_epoch(EPOCH, "open")
        j.add_order(order(1))
    assert isinstance(refused.value.__cause__, psycopg.errors.DeadlockDetected)
    assert tries(url) == 1 and ids(url) == [] and j.epochs() == []


def test_a_writer_whose_lease_was_taken_while_it_was_away_is_refused(url):
    first = PostgresJournal(url)
    first.claim_writer()
    kill_sessions(url)  # its session, and the advisory lock with it, is gone
    second = PostgresJournal(url)
    second.claim_writer()
    with pytest.raises(JournalBusy):
        first.add_order(order(1))
    with pytest.raises(JournalBusy):
        first.all_orders()
    with pytest.raises(JournalBusy):
        first.claim_writer()
    assert ids(url) == []
    second.close()
    first.add_order(order(2))  # the lease is free again: taken back on the new connection
    with pytest.raises(JournalBusy):
        PostgresJournal(url).claim_writer()
    assert ids(url) == [2]


def test_no_psycopg_error_escapes_untyped(url):
    j = PostgresJournal(url)
    j.bind(Market())
    j.add_order(order(1))
    with pytest.raises(JournalError) as refused:
        j.add_order(order(1))
    assert type(refused.value) is JournalError and isinstance(refused.value.__cause__, psycopg.errors.UniqueViolation)
    assert ids(url) == [1]
    j.close()
    with pytest.raises(JournalError) as closed:
        j.all_orders()
    assert type(closed.value) is JournalError
    with pytest.raises(JournalUnavailable) as unreachable:
        PostgresJournal("postgresql://gridmatch:secret@/postgres?host=/nonexistent")
    assert isinstance(unreachable.value.__cause__, psycopg.OperationalError)
    assert "secret" not in str(unreachable.value) + str(unreachable.value.value)
    with pytest.raises(JournalError) as malformed:
        PostgresJournal("postgresql://gridmatch@/postgres?nonsense=1")
    assert malformed.value.field == "journal" and isinstance(malformed.value.__cause__, psycopg.Error)
