"""The journal: everything the epoch engine must not lose, written before it is acknowledged.

SQLite (WAL, synchronous=FULL) is the embedded default; a `postgresql://` URL uses PostgreSQL
through psycopg 3. One SQL text serves both. Each public method that changes something runs in
one transaction: it is either wholly on disk or not at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gridmatch.errors import GridmatchError
from gridmatch.market import Market
from gridmatch.participants import Participant, Role

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


class JournalError(GridmatchError, RuntimeError):
    """The journal cannot be used as asked (a different market's journal, an unknown URL)."""


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


@dataclass(frozen=True)
class BatchRecord:
    id: str
    epoch: int
    idx: int
    transfers: list[list[Any]]
    state: str
    #: Every attempt to send it, in the order they were made, with its state ("sent",
    #: "confirmed", "failed", "expired").
    attempts: list[tuple[Attempt, str]]


@dataclass(frozen=True)
class Attempt:
    """One signed settlement transaction: what the journal keeps to find or resend it."""

    signature: str
    blockhash: str
    last_valid: int | None
    raw: bytes


class Journal:
    """The SQLite journal (`path` may be ":memory:", which survives nothing)."""

    #: How each database spells a parameter and a byte string.
    placeholder = "?"
    bytes_type = "BLOB"
    #: Takes the write lock at once, so two writers never interleave a transaction.
    begin = "BEGIN IMMEDIATE"

    def __init__(self, path: str) -> None:
        self._lock = threading.RLock()
        self._conn: Any = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._create()
        self._depth = 0

    def _create(self) -> None:
        for statement in filter(None, (s.strip() for s in SCHEMA.split(";"))):
            self._conn.execute(statement.replace("BYTES", self.bytes_type))

    # -- plumbing -------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._conn.execute(self._sql(text), tuple(params)).fetchall())

    def _run(self, text: str, params: Sequence[Any] = ()) -> None:
        with self._lock:
            self._conn.execute(self._sql(text), tuple(params))

    def _run_many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            self._conn.cursor().executemany(self._sql(text), [tuple(r) for r in rows])

    def _next(self, table: str) -> int:
        return int(self._rows(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}")[0][0])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Groups writes: all of them reach the disk, or none (nested uses join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute(self.begin)
            self._depth = 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- the market -----------------------------------------------------------------------

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

    def put_participant(self, p: Participant) -> None:
        with self.transaction():
            self._run("DELETE FROM participants WHERE id = ?", (p.id,))
            self._run(
                "INSERT INTO participants (id, role, name, wallet, suspended) VALUES (?, ?, ?, ?, ?)",
                (p.id, p.role.value, p.name, p.wallet, int(p.suspended)),
            )

    def participants(self) -> list[Participant]:
        rows = self._rows("SELECT id, role, name, wallet, suspended FROM participants ORDER BY id")
        return [Participant(i, Role(r), n, w, bool(s)) for i, r, n, w, s in rows]

    def participant(self, pid: int) -> Participant | None:
        rows = self._rows("SELECT id, role, name, wallet, suspended FROM participants WHERE id = ?", (pid,))
        return Participant(rows[0][0], Role(rows[0][1]), rows[0][2], rows[0][3], bool(rows[0][4])) if rows else None

    # -- epochs ---------------------------------------------------------------------------

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

    def epoch(self, epoch: int) -> EpochRecord | None:
        rows = self._rows(f"{self._EPOCHS} WHERE id = ?", (epoch,))
        return self._epoch(rows[0]) if rows else None

    def epochs(self, states: Sequence[str] | None = None) -> list[EpochRecord]:
        """Epochs in id order (only those in `states`, when given: found by index, so a market's
        long history does not slow the epochs still in play)."""
        if states is None:
            return [self._epoch(r) for r in self._rows(f"{self._EPOCHS} ORDER BY id")]
        marks = ", ".join("?" * len(states))
        rows = self._rows(f"{self._EPOCHS} WHERE state IN ({marks}) ORDER BY id", [str(s) for s in states])
        return [self._epoch(r) for r in rows]

    def log(self, epoch: int, kind: str, detail: dict[str, Any]) -> None:
        at = dt.datetime.now(dt.UTC).isoformat()
        with self.transaction():
            row = (self._next("log"), epoch, at, kind, json.dumps(detail))
            self._run("INSERT INTO log (seq, epoch, at, kind, detail) VALUES (?, ?, ?, ?, ?)", row)

    def log_lines(self, epoch: int | None = None) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self._rows("SELECT epoch, kind, detail FROM log ORDER BY seq")
        return [(e, k, json.loads(d)) for e, k, d in rows if epoch is None or e == epoch]

    # -- orders ---------------------------------------------------------------------------

    def next_order_id(self) -> int:
        """One more than every id given out, and every id the chain was found to hold already."""
        rows = self._rows(
            "SELECT MAX(id) FROM (SELECT MAX(id) AS id FROM orders UNION ALL "
            "SELECT MAX(id) AS id FROM order_marks WHERE mark = 'id_taken') AS ids"
        )
        return int(rows[0][0] or 0) + 1

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

    def orders(self, epoch: int, trader: int | None = None) -> list[OrderRecord]:
        """An epoch's orders in id order (only `trader`'s, when given)."""
        if trader is None:
            return [self._order(r) for r in self._rows(f"{self._ORDERS} WHERE epoch = ? ORDER BY id", (epoch,))]
        rows = self._rows(f"{self._ORDERS} WHERE trader = ? AND epoch = ? ORDER BY id", (trader, epoch))
        return [self._order(r) for r in rows]

    def count_orders(self, epoch: int, trader: int) -> int:
        return int(self._rows("SELECT COUNT(*) FROM orders WHERE trader = ? AND epoch = ?", (trader, epoch))[0][0])

    def all_orders(self) -> list[OrderRecord]:
        return [self._order(r) for r in self._rows(f"{self._ORDERS} ORDER BY id")]

    def set_filled(self, filled: dict[int, int]) -> None:
        with self.transaction():
            self._run_many("UPDATE orders SET filled = ? WHERE id = ?", [(qty, oid) for oid, qty in filled.items()])

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

    def marks(self, epoch: int, mark: OrderMark) -> list[MarkRecord]:
        """An epoch's order ids marked `mark`, in id order."""
        rows = self._rows(
            "SELECT id, epoch, trader, mark, detail FROM order_marks WHERE epoch = ? AND mark = ? ORDER BY id, trader",
            (epoch, str(mark)),
        )
        return [MarkRecord(r[0], r[1], r[2], OrderMark(r[3]), r[4]) for r in rows]

    # -- clearing and settlement ----------------------------------------------------------

    def add_fills(self, epoch: int, fills: Sequence[tuple[int, int, int, int, int, int]]) -> None:
        with self.transaction():
            self._run_many(
                "INSERT INTO fills (epoch, idx, buy_id, sell_id, buyer, seller, qty, price) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(epoch, idx, *fill) for idx, fill in enumerate(fills)],
            )

    def fills(self, epoch: int) -> list[tuple[int, int, int, int, int, int]]:
        rows = self._rows(
            "SELECT buy_id, sell_id, buyer, seller, qty, price FROM fills WHERE epoch = ? ORDER BY idx", (epoch,)
        )
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def add_batch(self, batch_id: str, epoch: int, idx: int, transfers: list[list[Any]]) -> None:
        with self.transaction():
            self._run(
                "INSERT INTO batches (id, epoch, idx, transfers, state) VALUES (?, ?, ?, ?, 'planned')",
                (batch_id, epoch, idx, json.dumps(transfers)),
            )

    def batches(self, epoch: int) -> list[BatchRecord]:
        rows = self._rows("SELECT id, epoch, idx, transfers, state FROM batches WHERE epoch = ? ORDER BY idx", (epoch,))
        out = []
        for bid, ep, idx, transfers, state in rows:
            attempts = self._rows(
                "SELECT signature, blockhash, last_valid, raw, state FROM attempts WHERE batch = ? ORDER BY seq", (bid,)
            )
            tried = [(Attempt(a[0], a[1], a[2], bytes(a[3])), a[4]) for a in attempts]
            out.append(BatchRecord(bid, ep, idx, json.loads(transfers), state, tried))
        return out

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

    def set_attempt(self, signature: str, state: str) -> None:
        with self.transaction():
            self._run("UPDATE attempts SET state = ? WHERE signature = ?", (state, signature))

    def set_batch(self, batch_id: str, state: str) -> None:
        with self.transaction():
            self._run("UPDATE batches SET state = ? WHERE id = ?", (state, batch_id))


class PostgresJournal(Journal):
    """The journal in PostgreSQL (psycopg 3), for services that run one."""

    placeholder = "%s"
    bytes_type = "BYTEA"
    begin = "BEGIN ISOLATION LEVEL SERIALIZABLE"

    def __init__(self, url: str) -> None:
        import psycopg

        self._lock = threading.RLock()
        self._conn = psycopg.connect(url, autocommit=True)
        self._create()
        self._depth = 0


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
    "BatchRecord",
    "EpochRecord",
    "Journal",
    "JournalError",
    "MarkRecord",
    "OrderMark",
    "OrderRecord",
    "PostgresJournal",
    "open_journal",
]
