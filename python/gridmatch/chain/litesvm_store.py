"""The SQLite file that makes a `LiteSVMChain` durable: the accounts its transactions touched,
its record of transactions, and the few numbers that rebuild the runtime around them (seed,
authority keypair, mint counter, blockhash rotations, slot, SlotHashes and the clock's time).

Every change is one SQLite transaction (WAL, synchronous=FULL): after a crash the file holds a
state the chain really was in. Program and sysvar accounts are not stored: a new LiteSVM has
its own. A store holds its file exclusively until closed (or its process ends): two runtimes
saving to one file would overwrite each other's accounts.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey

from gridmatch.errors import ChainError

_SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
_NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (address TEXT PRIMARY KEY, account BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    signature TEXT NOT NULL UNIQUE,
    ok INTEGER NOT NULL,
    memo TEXT,
    error TEXT
);
"""


@dataclass(frozen=True)
class Record:
    """What became of one submitted transaction."""

    signature: str
    ok: bool
    memo: str | None
    error: str | None


@dataclass(frozen=True)
class Saved:
    seed: int | None
    authority: bytes
    mints: int
    rotations: int
    used: bool
    slot: int
    slot_hashes: list[tuple[int, Hash]]
    unix_timestamp: int
    accounts: dict[Pubkey, Account]
    records: list[Record]


def _storable(account: Account | None) -> bool:
    return account is None or not (account.executable or account.owner in (_SYSVAR_OWNER, _NATIVE_LOADER))


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        try:
            # Any one thread at a time may save (the chain serialises its calls); no waiting for
            # a file another store holds.
            self.db = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ChainError(f"cannot open the chain file {path}: {exc}", field="path", value=path) from exc
        try:
            self.db.execute("PRAGMA locking_mode=EXCLUSIVE")  # before WAL: no shared memory, no readers
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
            self.db.execute("BEGIN EXCLUSIVE")  # takes the file's lock now, held until close
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            self.db.close()
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
                message = f"the chain file {path} is in use by another LiteSVMChain (in this process or another)"
            else:
                message = f"cannot open the chain file {path}: {exc}"
            raise ChainError(message, field="path", value=path) from exc

    def load(self) -> Saved | None:
        try:
            meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
            if "authority" not in meta:
                return None
            accounts = {
                Pubkey.from_string(address): Account.from_bytes(blob)
                for address, blob in self.db.execute("SELECT address, account FROM accounts")
            }
            records = [
                Record(signature, bool(ok), memo, error)
                for signature, ok, memo, error in self.db.execute(
                    "SELECT signature, ok, memo, error FROM records ORDER BY seq"
                )
            ]
            state: dict[str, Any] = {key: json.loads(value) for key, value in meta.items()}
        except (sqlite3.Error, ValueError) as exc:
            raise ChainError(f"cannot read the chain file {self.path}: {exc}", field="path", value=self.path) from exc
        return Saved(
            seed=state["seed"],
            authority=bytes(state["authority"]),
            mints=state["mints"],
            rotations=state["rotations"],
            used=bool(state.get("used", True)),
            slot=state["slot"],
            slot_hashes=[(slot, Hash.from_string(h)) for slot, h in state["slot_hashes"]],
            unix_timestamp=state.get("unix_timestamp", 0),  # (not kept by files written before it was)
            accounts=accounts,
            records=records,
        )

    def save(self, state: dict[str, Any], accounts: dict[Pubkey, Account | None], record: Record | None) -> None:
        meta = dict(state)
        meta["authority"] = list(meta["authority"])
        meta["slot_hashes"] = [[slot, str(h)] for slot, h in meta["slot_hashes"]]
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [(key, json.dumps(value)) for key, value in meta.items()],
                )
                for address, account in accounts.items():
                    if not _storable(account):
                        continue
                    if account is None:
                        self.db.execute("DELETE FROM accounts WHERE address = ?", (str(address),))
                    else:
                        self.db.execute(
                            "INSERT INTO accounts (address, account) VALUES (?, ?) "
                            "ON CONFLICT (address) DO UPDATE SET account = excluded.account",
                            (str(address), bytes(account)),
                        )
                if record is not None:
                    self.db.execute(
                        "INSERT OR IGNORE INTO records (signature, ok, memo, error) VALUES (?, ?, ?, ?)",
                        (record.signature, int(record.ok), record.memo, record.error),
                    )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise ChainError(f"cannot write the chain file {self.path}: {exc}", field="path", value=self.path) from exc

    def close(self) -> None:
        self.db.close()
