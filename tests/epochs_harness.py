"""What the epoch engine's concurrency, clock and fault tests share: a small market over a journal,
holdings that answer as slowly as a chain's reads, the journal's rows as they lie on disk, and a
settler whose chain does what the test says."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
from pathlib import Path
from typing import Any

from gridmatch.epochs import EpochManager
from gridmatch.errors import ChainError, ChainTimeout, TransactionFailed
from gridmatch.journal import Attempt
from gridmatch.market import Market
from gridmatch.participants import Participant, Role
from gridmatch.settlement import Batch, ClearedEpoch, TxStatus, batches, transfers

T0 = dt.datetime(2016, 6, 21, 12, 0, tzinfo=dt.UTC).timestamp()
E0, E1, E2, E3 = 201606211200, 201606211215, 201606211230, 201606211245
MARKET = Market(order_limit=3)
#: Participants 1 and 3 buy and sell, 2 only buys, 9 does not trade.
ROLES = {1: Role.PROSUMER, 2: Role.CONSUMER, 3: Role.PROSUMER, 9: Role.ORACLE}


def manager(journal: str | Path = ":memory:", market: Market = MARKET, **kwargs: Any) -> EpochManager:
    m = EpochManager(market, journal=str(journal), **kwargs)
    for pid, role in ROLES.items():
        m.register(Participant(pid, role))
    return m


class SlowHoldings:
    """`Funds` that hold plenty and take `delay` seconds to say so (a chain's three reads)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def holdings(self, trader: int) -> tuple[int, int]:
        time.sleep(self.delay)
        return 10**15, 10**18


def rows(path: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a SQLite journal, read by a connection of its own."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


class ScriptedSettler:
    """A `Settler` whose chain does what `mode` says, recording every call:

    - "ok": a submission lands and is final;
    - "down": every call raises a plain `ChainError` (the endpoint does not answer; nothing sent);
    - "fail": a submission lands and fails (`TransactionFailed`);
    - "drop": a submission times out and never arrived;
    - "pending": a submission times out, having landed: PENDING, not final.

    Each attempt can land until block height `last_valid`; `expired` answers from that height
    alone against `finalized`, as a node that only looks at block heights would (so it says
    expired of a PENDING transaction too, once the height passed)."""

    def __init__(self, market: Market = MARKET) -> None:
        self.market = market
        self.mode = "ok"
        self.finalized = 1_000
        self.statuses: dict[str, TxStatus] = {}
        self.prepared: list[Attempt] = []
        self.submitted: list[Attempt] = []

    def _call(self) -> None:
        if self.mode == "down":
            raise ChainError("the endpoint does not answer", field="rpc", value="connection refused")

    def plan(self, cleared: ClearedEpoch) -> list[Batch]:
        return batches(self.market, cleared.epoch, transfers(cleared.fills, self.market), lambda group: True)

    def prepare(self, batch: Batch, cleared: ClearedEpoch) -> Attempt:
        self._call()
        n = len(self.prepared)
        attempt = Attempt(f"sig-{n}", f"hash-{n}", self.finalized + 150, f"{batch.id}/{n}".encode())
        self.prepared.append(attempt)
        return attempt

    def submit(self, attempt: Attempt) -> None:
        self._call()
        self.submitted.append(attempt)
        if self.mode == "fail":
            self.statuses[attempt.signature] = TxStatus.FAILED
            raise TransactionFailed("the transfer failed on chain", field="send", value="insufficient funds")
        if self.mode == "drop":
            raise ChainTimeout("no answer", field="send")
        if self.mode == "pending":
            self.statuses[attempt.signature] = TxStatus.PENDING
            raise ChainTimeout("no answer", field="send")
        self.statuses[attempt.signature] = TxStatus.CONFIRMED

    def status(self, signature: str) -> TxStatus:
        self._call()
        return self.statuses.get(signature, TxStatus.UNKNOWN)

    def expired(self, attempt: Attempt) -> bool:
        self._call()
        return attempt.last_valid is not None and self.finalized > attempt.last_valid
