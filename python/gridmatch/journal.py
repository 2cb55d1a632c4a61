"""The journal: everything the epoch engine must not lose, written before it is acknowledged.

SQLite (WAL, synchronous=FULL) is the embedded default; a `postgresql://` URL uses PostgreSQL
through psycopg 3. One SQL text serves both. Each public method that changes something runs in
one transaction: it is either wholly on disk or not at all.

One writer: `claim_writer` takes a lease that the operating system (SQLite: an flock on a file
beside the database) or the server (PostgreSQL: a session's advisory lock) drops when its holder
closes the journal or dies, however it dies. `JournalBusy` says another writer holds it (or
SQLite's write lock was not freed in time). PostgreSQL's driver errors never escape untyped:
`JournalConflict` (a serialization conflict or a deadlock lost: run the step again) and
`JournalUnavailable` (the connection was lost: nothing of the transaction applied) are
`JournalError`s like the rest. A public method called outside a transaction is run again by the
journal itself after either; `atomic` does the same for a step of several calls.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import fcntl
import functools
import hashlib
import json
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from gridmatch.errors import GridmatchError, InvalidParameter
from gridmatch.market import Market
from gridmatch.participants import Participant, Role

if TYPE_CHECKING:  # an optional dependency: imported where a PostgresJournal needs it
    import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
    id BIGINT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, wallet TEXT, suspended INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS epochs (
    id BIGINT PRIMARY KEY, state TEXT NOT NULL, attempts INTEGER NOT NULL, price BIGINT, volume BIGINT,
    detail TEXT);
CREATE INDEX IF NOT EXISTS epochs_by_state ON epochs (state, id);
CREATE TABLE IF NOT EXISTS orders (
    id BIGINT PRIMARY KEY, epoch BIGINT NOT NULL, trader BIGINT NOT NULL, side INTEGER NOT NULL,
    price BIGINT NOT NULL, qty BIGINT NOT NULL, kind INTEGER NOT NULL, rollover INTEGER NOT NULL,
    parent BIGINT, filled BIGINT);
CREATE INDEX IF NOT EXISTS orders_by_epoch ON orders (epoch, id);
CREATE INDEX IF NOT EXISTS orders_by_trader ON orders (trader, epoch);
CREATE TABLE IF NOT EXISTS fills (
    epoch BIGINT NOT NULL, idx INTEGER NOT NULL, buy_id BIGINT NOT NULL, sell_id BIGINT NOT NULL,
    buyer BIGINT NOT NULL, seller BIGINT NOT NULL, qty BIGINT NOT NULL, price BIGINT NOT NULL,
    PRIMARY KEY (epoch, idx));
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY, epoch BIGINT NOT NULL, idx INTEGER NOT NULL, transfers TEXT NOT NULL,
    state TEXT NOT NULL, UNIQUE (epoch, idx));
CREATE TABLE IF NOT EXISTS attempts (
    signature TEXT PRIMARY KEY, seq BIGINT NOT NULL, batch TEXT NOT NULL, blockhash TEXT NOT NULL,
    last_valid BIGINT, raw BYTES NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS order_marks (
    id BIGINT NOT NULL, epoch BIGINT NOT NULL, trader BIGINT NOT NULL, mark TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (id, trader, mark));
CREATE INDEX IF NOT EXISTS order_marks_by_epoch ON order_marks (epoch, mark);
CREATE TABLE IF NOT EXISTS log (
    seq BIGINT PRIMARY KEY, epoch BIGINT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
"""


#: A run lost to a conflict is run again up to this many times, after BACKOFF seconds, doubling.
CONFLICT_RETRIES = 5
BACKOFF = 0.01
#: Seconds between two tries of `claim_writer` while another writer holds the journal.
POLL = 0.05
#: SQLite databases no other connection can open: a writer needs no lease on them.
PRIVATE = (":memory:", "")
#: The advisory lock of a PostgreSQL journal's writer (one journal per database): 64 bits of a
#: hash of a fixed name, which other applications' keys are unlikely to meet.
WRITER_KEY = int.from_bytes(hashlib.sha256(b"gridmatch.journal.writer").digest()[:8], "big", signed=True)


class JournalError(GridmatchError, RuntimeError):
    """The journal cannot be used as asked (a different market's journal, an unknown URL), or
    PostgreSQL refused a statement (the driver's error is its __cause__). For the errors below,
    `field` is "journal" and `value` its path or URL (without a password)."""


class JournalBusy(JournalError):
    """Another writer holds the journal: another process, another `Journal` on the same file in
    this one, or a session that took the lease while this one's connection was lost. Nothing was
    written."""


class JournalConflict(JournalError):
    """PostgreSQL rolled the transaction back whole, to resolve a serialization conflict or a
    deadlock with another session: run the step again."""


class JournalUnavailable(JournalError):
    """The database could not be reached, or the connection was lost before the transaction
    committed: nothing of it was applied. The next call opens a new connection."""


class JournalCommitUnknown(JournalUnavailable):
    """The connection was lost while committing, and the journal could not learn whether the
    commit happened: it may have. Read the journal (`EpochManager.recover`) before going on."""


@dataclass(frozen=True)
class OrderRecord:
    id: int
    epoch: int
    trader: int
    side: int
    price: int
    qty: int
    kind: int
    rollover: bool
    parent: int | None
    filled: int | None


class OrderMark(enum.StrEnum):
    """What became of an order id outside the usual path (see `Journal.mark_order`)."""

    #: A journaled order whose account was gone from the chain when its epoch closed: its owner
    #: cancelled it on chain. It is left out of the book.
    CANCELLED = "cancelled"
    #: An id the chain already held for this trader (an order it placed itself, or one placed
    #: just before a crash): never given out, so never reused.
    ID_TAKEN = "id_taken"
    #: An order whose claim cannot be cranked to the accounts it recorded (closed or frozen
    #: since): only its owner, signing, can claim it to accounts of its choosing.
    UNCLAIMABLE = "unclaimable"
    #: An order being placed on the escrow's chain, not yet acknowledged: journaled before it is
    #: sent, replaced by the order once the chain took it. One still here when its epoch closes
    #: (its placement failed, or the process died) is never acknowledged: it becomes ID_TAKEN.
    PLACING = "placing"


@dataclass(frozen=True)
class MarkRecord:
    id: int
    epoch: int
    trader: int
    mark: OrderMark
    detail: str


@dataclass(frozen=True)
class EpochRecord:
    id: int
    state: str
    attempts: int
    price: int | None
    volume: int | None
    detail: dict[str, Any]


class BatchState(enum.StrEnum):
    """Where a settlement batch stands."""

    PLANNED = "planned"  # journaled with its epoch's clearing, never sent
    SENDING = "sending"  # an attempt journaled and sent (or about to be)
    CONFIRMED = "confirmed"  # one attempt landed and succeeded


class AttemptState(enum.StrEnum):
    """What is known of one signed transaction of a batch."""

    SENT = "sent"  # journaled before it was sent: its fate is for the chain to say
    CONFIRMED = "confirmed"  # landed and succeeded
    FAILED = "failed"  # landed and failed, or refused: nothing of it took effect
    EXPIRED = "expired"  # the chain said it can never land


@dataclass(frozen=True)
class BatchRecord:
    id: str
    epoch: int
    idx: int
    transfers: list[list[Any]]
    state: BatchState
    #: Every attempt to send it, in the order they were made, with its state.
    attempts: list[tuple[Attempt, AttemptState]]


@dataclass(frozen=True)
class Attempt:
    """One signed settlement transaction: what the journal keeps to find or resend it."""

    signature: str
    blockhash: str
    last_valid: int | None
    raw: bytes
    #: Orders a claim batch left out as it was signed (their recorded accounts cannot receive):
    #: the engine marks them in the journal with the attempt. Not kept with the attempt itself.
    left_out: tuple[MarkRecord, ...] = ()


J = TypeVar("J", bound="Journal")
P = ParamSpec("P")
T = TypeVar("T")
E = TypeVar("E", bound=JournalError)


def _retried(method: Callable[Concatenate[J, P], T]) -> Callable[Concatenate[J, P], T]:
    """Marks a public method: called outside a transaction, it is run again after a conflict or
    a lost connection (`Journal._retry`)."""

    @functools.wraps(method)
    def call(self: J, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._retry(lambda: method(self, *args, **kwargs))

    return call


class _Typed:
    """Wraps a statement: raises, in place of a driver's error, the JournalError it stands for
    (`Journal._typed`). A class, not a generator: it runs around every statement."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(err, Exception) and (typed := self._journal._typed(err)) is not None:
            raise typed from err


class Journal:
    """The SQLite journal (`path` may be ":memory:", which survives nothing)."""

    #: How each database spells a parameter and a byte string.
    placeholder = "?"
    bytes_type = "BLOB"
    #: Takes the write lock at once, so two writers never interleave a transaction.
    begin = "BEGIN IMMEDIATE"

    def __init__(self, path: str) -> None:
        self._target = path
        self._name = self._shown(path)
        self._lock = threading.RLock()
        self._translated = _Typed(self)
        self._depth = 0
        #: The open sidecar file whose flock makes this journal the writer (`claim_writer`).
        self._lease: IO[bytes] | None = None
        self._conn: Any = self._connect()
        self._create()

    @staticmethod
    def _shown(target: str) -> str:
        """How errors name the journal."""
        return target

    def _connect(self) -> Any:
        with self._translated:
            conn = sqlite3.connect(self._target, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _create(self) -> None:
        for statement in filter(None, (s.strip() for s in SCHEMA.split(";"))):
            self._run(statement.replace("BYTES", self.bytes_type))

    # -- plumbing -------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def _typed(self, err: Exception) -> JournalError | None:
        """The JournalError a driver's error stands for (None: let it through as it is)."""
        code = getattr(err, "sqlite_errorcode", 0) & 0xFF  # the primary code, without its extension
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return self._fault(JournalBusy, f"another writer holds the journal {self._name}: {err}")
        return None

    def _fault(self, kind: type[E], message: str) -> E:
        return kind(message, field="journal", value=self._name)

    def _live(self) -> Any:
        """The connection to run the next statement on."""
        return self._conn

    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._translated:
            return list(self._live().execute(self._sql(text), tuple(params)).fetchall())

    def _run(self, text: str, params: Sequence[Any] = ()) -> None:
        with self._lock, self._translated:
            self._live().execute(self._sql(text), tuple(params))

    def _run_many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock, self._translated:
            self._live().cursor().executemany(self._sql(text), [tuple(r) for r in rows])

    def _next(self, table: str) -> int:
        return int(self._rows(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}")[0][0])

    def _retry(self, step: Callable[[], T]) -> T:
        """Runs `step`. Outside a transaction, a run that failed having applied nothing is run
        again: after a conflict (CONFLICT_RETRIES times, backing off), or once after a lost
        connection. Inside one, that transaction is lost already: the error goes to its owner."""
        with self._lock:  # the depth of this thread's transaction (another's ends before we get it)
            nested = self._depth > 0
        if nested:
            return step()
        conflicts = 0
        reconnected = False
        while True:
            try:
                return step()
            except JournalConflict:
                if conflicts == CONFLICT_RETRIES:
                    raise
                time.sleep(BACKOFF * 2**conflicts * random.uniform(1.0, 2.0))  # jitter: two losers don't meet again
                conflicts += 1
            except JournalCommitUnknown:
                raise  # it may have committed: running it again could apply it twice
            except JournalUnavailable:
                if reconnected:
                    raise
                reconnected = True

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Groups writes: all of them reach the disk, or none (nested uses join the outer one).
        In PostgreSQL it can end in JournalConflict or JournalUnavailable, nothing applied: the
        caller runs its step again (as `atomic` does)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:
                self._run(self.begin)
            except JournalUnavailable:  # a connection that died idle: BEGIN ran nowhere, so again on a new one
                self._run(self.begin)
            self._depth = 1
            try:
                yield
                self._commit()
            except BaseException:
                self._rollback()
                raise
            finally:
                self._depth = 0

    def _commit(self) -> None:
        self._run("COMMIT")

    def _rollback(self) -> None:
        if self._conn.in_transaction:  # a failed COMMIT may have ended it already
            self._conn.execute("ROLLBACK")

    def atomic(self, step: Callable[[], T]) -> T:
        """Runs `step` in one transaction and returns what it returns. Outside a transaction, a
        run lost to a conflict or a dropped connection (nothing of it applied) is run again, as a
        single method call is: `step` must do nothing but journal calls and reads."""

        def run() -> T:
            with self.transaction():
                return step()

        return self._retry(run)

    @_retried
    def claim_writer(self, wait: float = 0.0) -> None:
        """Makes this journal the one writer of its database, waiting up to `wait` seconds
        (`math.inf`: for ever) for another to let go, else raises JournalBusy. Held until
        `close()` or the process ends, however it ends: nothing a crash leaves behind expires on
        a timer. Claiming again changes nothing. An in-memory database needs no lease."""
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
            raise InvalidParameter(f"wait must be a number of seconds >= 0, got {wait!r}", field="wait", value=wait)
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if self._take_writer():
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fault(JournalBusy, f"another writer holds the journal {self._name}")
            time.sleep(min(POLL, left))

    def _take_writer(self) -> bool:
        """Takes the writer's lease if it is free (True), or holds it already (True)."""
        if self._lease is not None or self._target in PRIVATE:
            return True
        # flock, not fcntl's record locks: those do not conflict within one process, and closing
        # any descriptor of the file drops them.
        lease = open(f"{self._target}.writer", "ab")  # held until close()
        try:
            fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lease.close()
            return False
        self._lease = lease
        return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self._lease is not None:
                self._lease.close()  # drops the flock
                self._lease = None

    # -- the market -----------------------------------------------------------------------

    @_retried
    def bind(self, market: Market) -> None:
        """Ties the journal to `market`; a journal of another market is refused."""
        config = json.dumps(asdict(market) | {"rule": str(market.rule)}, sort_keys=True)
        with self.transaction():
            found = self._rows("SELECT value FROM meta WHERE key = 'market'")
            if not found:
                self._run("INSERT INTO meta (key, value) VALUES ('market', ?)", (config,))
            elif found[0][0] != config:
                raise JournalError(
                    f"this journal belongs to another market: {found[0][0]}", field="market", value=config
                )

    # -- participants ---------------------------------------------------------------------

    @_retried
    def put_participant(self, p: Participant) -> None:
        with self.transaction():
            self._run("DELETE FROM participants WHERE id = ?", (p.id,))
            self._run(
                "INSERT INTO participants (id, role, name, wallet, suspended) VALUES (?, ?, ?, ?, ?)",
                (p.id, p.role.value, p.name, p.wallet, int(p.suspended)),
            )

    @_retried
    def participants(self) -> list[Participant]:
        rows = self._rows("SELECT id, role, name, wallet, suspended FROM participants ORDER BY id")
        return [Participant(i, Role(r), n, w, bool(s)) for i, r, n, w, s in rows]

    @_retried
    def participant(self, pid: int) -> Participant | None:
        rows = self._rows("SELECT id, role, name, wallet, suspended FROM participants WHERE id = ?", (pid,))
        return Participant(rows[0][0], Role(rows[0][1]), rows[0][2], rows[0][3], bool(rows[0][4])) if rows else None

    # -- epochs ---------------------------------------------------------------------------

    @_retried
    def set_epoch(self, epoch: int, state: str, *, price: int | None = None, volume: int | None = None,
                  detail: dict[str, Any] | None = None, attempt: bool = False) -> None:  # fmt: skip
        """Records `epoch`'s new state (and its outcome, once cleared), with a log line."""
        with self.transaction():
            found = self.epoch(epoch)
            attempts = (found.attempts if found else 0) + int(attempt)
            keep = found.detail if found else {}
            self._run("DELETE FROM epochs WHERE id = ?", (epoch,))
            self._run(
                "INSERT INTO epochs (id, state, attempts, price, volume, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    epoch,
                    state,
                    attempts,
                    price if price is not None else (found.price if found else None),
                    volume if volume is not None else (found.volume if found else None),
                    json.dumps(keep | (detail or {}), sort_keys=True),
                ),
            )
            self.log(epoch, "state", {"state": state})

    _EPOCHS = "SELECT id, state, attempts, price, volume, detail FROM epochs"

    @staticmethod
    def _epoch(r: tuple[Any, ...]) -> EpochRecord:
        return EpochRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "{}"))

    @_retried
    def epoch(self, epoch: int) -> EpochRecord | None:
        rows = self._rows(f"{self._EPOCHS} WHERE id = ?", (epoch,))
        return self._epoch(rows[0]) if rows else None

    @_retried
    def epochs(self, states: Sequence[str] | None = None) -> list[EpochRecord]:
        """Epochs in id order (only those in `states`, when given: found by index, so a market's
        long history does not slow the epochs still in play)."""
        if states is None:
            return [self._epoch(r) for r in self._rows(f"{self._EPOCHS} ORDER BY id")]
        marks = ", ".join("?" * len(states))
        rows = self._rows(f"{self._EPOCHS} WHERE state IN ({marks}) ORDER BY id", [str(s) for s in states])
        return [self._epoch(r) for r in rows]

    @_retried
    def log(self, epoch: int, kind: str, detail: dict[str, Any]) -> None:
        at = dt.datetime.now(dt.UTC).isoformat()
        with self.transaction():
            row = (self._next("log"), epoch, at, kind, json.dumps(detail))
            self._run("INSERT INTO log (seq, epoch, at, kind, detail) VALUES (?, ?, ?, ?, ?)", row)

    @_retried
    def log_lines(self, epoch: int | None = None) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self._rows("SELECT epoch, kind, detail FROM log ORDER BY seq")
        return [(e, k, json.loads(d)) for e, k, d in rows if epoch is None or e == epoch]

    # -- orders ---------------------------------------------------------------------------

    @_retried
    def next_order_id(self) -> int:
        """One more than every id given out, being placed, or found held by the chain already."""
        rows = self._rows(
            "SELECT MAX(id) FROM (SELECT MAX(id) AS id FROM orders UNION ALL "
            "SELECT MAX(id) AS id FROM order_marks WHERE mark IN ('id_taken', 'placing')) AS ids"
        )
        return int(rows[0][0] or 0) + 1

    @_retried
    def add_order(self, o: OrderRecord) -> None:
        with self.transaction():
            self._run(
                "INSERT INTO orders (id, epoch, trader, side, price, qty, kind, rollover, parent, filled) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (o.id, o.epoch, o.trader, o.side, o.price, o.qty, o.kind, int(o.rollover), o.parent, o.filled),
            )

    _ORDERS = "SELECT id, epoch, trader, side, price, qty, kind, rollover, parent, filled FROM orders"

    @staticmethod
    def _order(r: tuple[Any, ...]) -> OrderRecord:
        return OrderRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9])

    @_retried
    def orders(self, epoch: int, trader: int | None = None) -> list[OrderRecord]:
        """An epoch's orders in id order (only `trader`'s, when given)."""
        if trader is None:
            return [self._order(r) for r in self._rows(f"{self._ORDERS} WHERE epoch = ? ORDER BY id", (epoch,))]
        rows = self._rows(f"{self._ORDERS} WHERE trader = ? AND epoch = ? ORDER BY id", (trader, epoch))
        return [self._order(r) for r in rows]

    @_retried
    def count_orders(self, epoch: int, trader: int) -> int:
        return int(self._rows("SELECT COUNT(*) FROM orders WHERE trader = ? AND epoch = ?", (trader, epoch))[0][0])

    @_retried
    def all_orders(self) -> list[OrderRecord]:
        return [self._order(r) for r in self._rows(f"{self._ORDERS} ORDER BY id")]

    @_retried
    def set_filled(self, filled: dict[int, int]) -> None:
        with self.transaction():
            self._run_many("UPDATE orders SET filled = ? WHERE id = ?", [(qty, oid) for oid, qty in filled.items()])

    @_retried
    def mark_order(self, epoch: int, order_id: int, trader: int, mark: OrderMark, detail: str) -> None:
        """Records what became of an order id (once: marking it again changes nothing)."""
        key = (order_id, trader, str(mark))
        with self.transaction():
            if self._rows("SELECT 1 FROM order_marks WHERE id = ? AND trader = ? AND mark = ?", key):
                return
            self._run(
                "INSERT INTO order_marks (id, epoch, trader, mark, detail) VALUES (?, ?, ?, ?, ?)",
                (order_id, epoch, trader, str(mark), detail),
            )
            self.log(epoch, str(mark), {"order": order_id, "trader": trader, "detail": detail})

    @_retried
    def unmark_order(self, order_id: int, trader: int, mark: OrderMark) -> bool:
        """Removes a mark; False if there was none."""
        key = (order_id, trader, str(mark))
        with self.transaction():
            if not self._rows("SELECT 1 FROM order_marks WHERE id = ? AND trader = ? AND mark = ?", key):
                return False
            self._run("DELETE FROM order_marks WHERE id = ? AND trader = ? AND mark = ?", key)
            return True

    @_retried
    def marks(self, epoch: int, mark: OrderMark) -> list[MarkRecord]:
        """An epoch's order ids marked `mark`, in id order."""
        rows = self._rows(
            "SELECT id, epoch, trader, mark, detail FROM order_marks WHERE epoch = ? AND mark = ? ORDER BY id, trader",
            (epoch, str(mark)),
        )
        return [MarkRecord(r[0], r[1], r[2], OrderMark(r[3]), r[4]) for r in rows]

    # -- clearing and settlement ----------------------------------------------------------

    @_retried
    def add_fills(self, epoch: int, fills: Sequence[tuple[int, int, int, int, int, int]]) -> None:
        with self.transaction():
            self._run_many(
                "INSERT INTO fills (epoch, idx, buy_id, sell_id, buyer, seller, qty, price) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(epoch, idx, *fill) for idx, fill in enumerate(fills)],
            )

    @_retried
    def fills(self, epoch: int) -> list[tuple[int, int, int, int, int, int]]:
        rows = self._rows(
            "SELECT buy_id, sell_id, buyer, seller, qty, price FROM fills WHERE epoch = ? ORDER BY idx", (epoch,)
        )
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    @_retried
    def add_batch(self, batch_id: str, epoch: int, idx: int, transfers: list[list[Any]]) -> None:
        with self.transaction():
            self._run(
                "INSERT INTO batches (id, epoch, idx, transfers, state) VALUES (?, ?, ?, ?, 'planned')",
                (batch_id, epoch, idx, json.dumps(transfers)),
            )

    @_retried
    def batches(self, epoch: int) -> list[BatchRecord]:
        rows = self._rows("SELECT id, epoch, idx, transfers, state FROM batches WHERE epoch = ? ORDER BY idx", (epoch,))
        out = []
        for bid, ep, idx, transfers, state in rows:
            attempts = self._rows(
                "SELECT signature, blockhash, last_valid, raw, state FROM attempts WHERE batch = ? ORDER BY seq", (bid,)
            )
            tried = [(Attempt(a[0], a[1], a[2], bytes(a[3])), AttemptState(a[4])) for a in attempts]
            out.append(BatchRecord(bid, ep, idx, json.loads(transfers), BatchState(state), tried))
        return out

    @_retried
    def add_attempt(self, batch_id: str, attempt: Attempt) -> None:
        """Records a signed transaction of `batch_id` BEFORE it is sent, so that after a crash
        the engine knows to look for it, and can resend those very bytes."""
        with self.transaction():
            self._run(
                # The same signature again is the same signed bytes (an unchanged blockhash):
                # the same attempt, sent once more.
                "INSERT INTO attempts (signature, seq, batch, blockhash, last_valid, raw, state) "
                "VALUES (?, ?, ?, ?, ?, ?, 'sent') ON CONFLICT (signature) DO UPDATE SET state = 'sent'",
                (
                    attempt.signature,
                    self._next("attempts"),
                    batch_id,
                    attempt.blockhash,
                    attempt.last_valid,
                    attempt.raw,
                ),
            )
            self._run("UPDATE batches SET state = 'sending' WHERE id = ?", (batch_id,))

    @_retried
    def set_attempt(self, signature: str, state: AttemptState) -> None:
        with self.transaction():
            self._run("UPDATE attempts SET state = ? WHERE signature = ?", (AttemptState(state).value, signature))

    @_retried
    def set_batch(self, batch_id: str, state: BatchState) -> None:
        with self.transaction():
            self._run("UPDATE batches SET state = ? WHERE id = ?", (BatchState(state).value, batch_id))


class PostgresJournal(Journal):
    """The journal in PostgreSQL (psycopg 3), for services that run one.

    A lost connection (a restarted server, a terminated backend) is replaced on the next call,
    and a writer takes its lease again on the new one (JournalBusy if another session took it
    meanwhile). Every transaction writes a key into `commits` before COMMIT, so that a COMMIT
    whose answer was lost is settled by looking for it."""

    placeholder = "%s"
    bytes_type = "BYTEA"
    begin = "BEGIN ISOLATION LEVEL SERIALIZABLE"
    #: The newest commit keys kept (only the last one of a session is ever looked for); older
    #: ones are deleted every `prune_every` commits.
    keep_commits = 1000
    prune_every = 100
    #: Seconds to wait for the transaction of a lost connection to end before judging its COMMIT.
    settle_timeout = 10.0

    def __init__(self, url: str) -> None:
        self._writer = False  # claimed: every connection must hold the advisory lock first
        self._closed = False
        super().__init__(url)

    @staticmethod
    def _shown(target: str) -> str:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        try:
            return make_conninfo(target, password="***") if "password" in conninfo_to_dict(target) else target
        except psycopg.Error as err:  # not shown: what cannot be parsed may still hold a password
            raise JournalError(f"not a PostgreSQL URL or connection string: {err}", field="journal") from err

    def _connect(self) -> Any:
        import psycopg

        with self._translated:
            return psycopg.connect(self._target, autocommit=True)

    def _create(self) -> None:
        super()._create()
        # A BIGINT identity orders the keys for pruning; the key is a random UUID, which no
        # other session (nor a server that failed over and reissued a sequence) can repeat.
        self._run("CREATE TABLE IF NOT EXISTS commits (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                  "key UUID NOT NULL UNIQUE)")  # fmt: skip

    def _typed(self, err: Exception) -> JournalError | None:
        import psycopg

        return self._classify(err) if isinstance(err, psycopg.Error) else None

    def _classify(self, err: psycopg.Error) -> JournalError:
        import psycopg
        from psycopg import errors

        if isinstance(err, errors.SerializationFailure | errors.DeadlockDetected):
            return self._fault(JournalConflict, f"the transaction lost to another session ({err.sqlstate}): {err}")
        if isinstance(err, psycopg.OperationalError):
            return self._fault(JournalUnavailable, f"the database is out of reach: {err}")
        return self._fault(JournalError, f"the database refused a statement: {err}")

    def _live(self) -> Any:
        if not self._conn.closed:
            return self._conn
        if self._closed:
            raise self._fault(JournalError, f"the journal {self._name} is closed")
        if self._depth:  # its transaction died with it: a new connection must not go on with it
            raise self._fault(JournalUnavailable, "the connection was lost in a transaction: nothing of it was applied")
        self._reconnect()
        return self._conn

    def _reconnect(self) -> None:
        """Replaces the connection; a writer's new one takes the lease first (the lost session's
        lock died with it), or is dropped again so that no call runs without it."""
        with contextlib.suppress(Exception):
            self._conn.close()
        conn = self._connect()
        if self._writer and not self._lock_writer(conn):
            conn.close()
            message = f"another writer took the journal {self._name} while this one's connection was lost"
            raise self._fault(JournalBusy, message)
        self._conn = conn

    def _lock_writer(self, conn: Any) -> bool:
        with self._translated:
            return bool(conn.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_KEY,)).fetchone()[0])

    def _take_writer(self) -> bool:
        if not self._writer:
            self._writer = self._lock_writer(self._live())
            return self._writer
        try:
            self._live()  # after a lost connection, takes the lease again
        except JournalBusy:
            return False
        return True

    def _commit(self) -> None:
        import psycopg

        key = uuid.uuid4()
        (seq,) = self._rows("INSERT INTO commits (key) VALUES (?) RETURNING seq", (key,))[0]
        if seq % self.prune_every == 0:
            self._run("DELETE FROM commits WHERE seq <= ?", (seq - self.keep_commits,))
        try:
            self._conn.execute("COMMIT")
        except psycopg.Error as err:
            typed = self._classify(err)
            if type(typed) is not JournalUnavailable:  # the server's refusal: it rolled back
                raise typed from err
            self._settle(key, err)  # no answer: it may have committed

    def _rollback(self) -> None:
        """A connection that cannot even roll back is dropped (the server rolls back when its
        session ends); the next call opens a new one."""
        import psycopg

        if self._conn.closed:
            return
        try:
            self._conn.execute("ROLLBACK")
        except psycopg.Error:
            self._conn.close()

    def _settle(self, key: uuid.UUID, lost: Exception) -> None:
        """Learns, on a new connection, whether a COMMIT whose answer was lost happened. The
        probe inserts the key itself rather than looking for it: a plain read could run while
        the old backend is still committing; the insert waits for that transaction to end, then
        finds the key (committed) or takes it (rolled back, for good)."""
        import psycopg

        try:
            self._reconnect()
            with self._conn.transaction():
                self._conn.execute(f"SET LOCAL lock_timeout = {int(self.settle_timeout * 1000)}")
                probe = self._conn.execute("INSERT INTO commits (key) VALUES (%s) ON CONFLICT DO NOTHING", (key,))
        except (psycopg.Error, JournalUnavailable) as err:
            message = f"the connection was lost while committing and its outcome is unknown: {lost}"
            raise self._fault(JournalCommitUnknown, message) from err
        if probe.rowcount:
            message = f"the connection was lost while committing; the transaction was rolled back: {lost}"
            raise self._fault(JournalUnavailable, message) from lost

    def close(self) -> None:
        import psycopg

        with self._lock:
            self._closed = True
            if self._writer and not self._conn.closed:
                # Let go now: the session's end, which drops it too, reaches the server later.
                with contextlib.suppress(psycopg.Error):
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (WRITER_KEY,))
            self._conn.close()


def open_journal(url: str | Journal) -> Journal:
    """A journal from a URL: "postgresql://...", "sqlite:///path", a plain file path or
    ":memory:"; a `Journal` is returned as it is."""
    if isinstance(url, Journal):
        return url
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresJournal(url)
    if url.startswith("sqlite:///"):
        return Journal(url.removeprefix("sqlite:///") or ":memory:")
    if "://" in url:
        message = f"journal URL {url!r}: expected postgresql://..., sqlite:///path or a path"
        raise JournalError(message, field="journal", value=url)
    return Journal(url)


__all__ = [
    "Attempt",
    "AttemptState",
    "BatchRecord",
    "BatchState",
    "EpochRecord",
    "Journal",
    "JournalBusy",
    "JournalCommitUnknown",
    "JournalConflict",
    "JournalError",
    "JournalUnavailable",
    "MarkRecord",
    "OrderMark",
    "OrderRecord",
    "PostgresJournal",
    "open_journal",
]
