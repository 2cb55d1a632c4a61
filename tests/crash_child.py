"""A scripted market run as its own process, to be killed at any instant by tests/test_crash.py.

Usage: python tests/crash_child.py WORKDIR

A fork server: it imports everything once, then for each line of its input, "N STEPS ORDER",
forks a market process, waits for it and prints how it ended: "done", "killed", or "failed" (its
traceback in WORKDIR/child.err). With a number N the market process SIGKILLs itself just before
its N-th durable step of STEPS: a statement written to the journal ("journal"), a commit of the
chain's file ("save"), or a transaction submitted to the chain ("submit"), each named by its
kind and the engine's function taking it ("submit:epochs._send"). STEPS is "any" (every step
counts), "chain" (the chain's only: a few dozen a run, against hundreds of the journal's) or
one such name (a kill aimed at that point). So the kills land inside every kind of operation,
at points chosen by the caller. With "-" for N it is not killed, and writes every point it
meets to census.log (once each, in the order it first meets them).

ORDER is what a restarted process does first: "recover" (then takes orders), or "orders": it
takes the open epoch's remaining orders first and recovers at the epoch's end, as a service
whose `run()` recovers in a worker thread while `submit`s come in (so the chain moves on before
a settlement sent before the crash is looked at again). Forked from one process that never
touched the market, each market process starts as a fresh one would, without paying for the
imports again.

WORKDIR holds the parent's set-up (setup.json: delegate or program mode, the durable LiteSVM
chain in chain.sqlite or an RPC endpoint that outlives this process), the journal
(journal.sqlite), and what the runs leave for the parent to check: acks.log (every acknowledged
order, appended and synced before the script goes on), kills.log (the point each kill hit)
and paths.log (what the engine learnt of transactions and
orders it had sent before: each settlement attempt's status and expiry, each order intent found
on chain or not at a start). Each run recovers from the journal and resumes the script where
the journal says it stopped; it ends once every epoch of the script is settled.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from gridmatch.chain import LiteSVMChain, RpcChain, programs
from gridmatch.chain.base import Chain
from gridmatch.chain.settler import Accounts
from gridmatch.chain.trading import TradingMarket
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochClosed, EpochManager, EpochState, OrderAck
from gridmatch.errors import ChainError
from gridmatch.journal import Attempt, Journal, OrderMark
from gridmatch.market import Market
from gridmatch.settlement import PAYMENT, TREASURY, TxStatus

MARKET = Market()
T0 = 1_466_510_400.0  # 2016-06-21 12:00 UTC
EPOCHS = 6
#: Seconds of real time the end of a run waits between steps on an RPC chain (its blocks, and
#: its finality, come with time), and a client before it sends an order the chain's trouble
#: refused again, CHAIN_RETRIES times at most.
RPC_PAUSE = 0.02
CHAIN_RETRIES = 50
#: Seconds a market process may run before it counts as hung (SIGALRM ends it).
RUN_TIMEOUT = 300


def script(epoch_index: int, sellers: list[int], buyers: list[int]) -> list[tuple[int, int, int, int]]:
    """The orders (trader, side, qty, price) of one epoch: the same on every run."""
    rng = random.Random(epoch_index)
    orders = [(s, -1, rng.randint(100, 900), rng.randint(880, 930)) for s in sellers]
    orders += [(b, 1, rng.randint(100, 900), rng.randint(900, 950)) for b in buyers]
    rng.shuffle(orders)
    return orders


class Logs:
    """The run's side files, written with one unbuffered append each: a SIGKILL right after a
    write loses nothing of it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def write(self, name: str, line: str, *, sync: bool = False) -> None:
        fd = os.open(self.workdir / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{line}\n".encode())
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)


def site() -> str:
    """The engine's function that is taking a durable step: the innermost of epochs.py or
    chain/escrow.py on the stack ("script" when the engine is not on it)."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        name = os.path.basename(frame.f_code.co_filename)
        if name in ("epochs.py", "escrow.py"):
            return f"{name.removesuffix('.py')}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "script"


def counts(steps: str) -> Callable[[str], bool]:
    """Which durable steps (by name) count towards the kill: see the module docstring."""
    if steps == "any":
        return lambda point: True
    if steps == "chain":
        return lambda point: not point.startswith("journal:")
    return lambda point: point == steps


def count_steps(kill_at: int | None, counted_step: Callable[[str], bool], logs: Logs) -> None:
    """Wraps the durable steps so the process can die just before any one of them: the
    `kill_at`-th that `counted_step` counts. Without `kill_at`, writes each point the run
    meets to census.log, once, in the order it first meets them."""
    steps = [0]
    seen: set[str] = set()

    def counted(kind: str, method: Any) -> Any:
        @functools.wraps(method)
        def step(*args: Any, **kwargs: Any) -> Any:
            point = f"{kind}:{site()}"
            if kill_at is None and point not in seen:
                seen.add(point)
                logs.write("census.log", point)
            if counted_step(point):
                steps[0] += 1
                if steps[0] == kill_at:
                    logs.write("kills.log", point)
                    os.kill(os.getpid(), signal.SIGKILL)
            return method(*args, **kwargs)

        return step

    Journal._run = counted("journal", Journal._run)  # type: ignore[method-assign]
    Journal._run_many = counted("journal", Journal._run_many)  # type: ignore[method-assign]
    LiteSVMChain._save = counted("save", LiteSVMChain._save)  # type: ignore[method-assign]
    LiteSVMChain._submit = counted("submit", LiteSVMChain._submit)  # type: ignore[method-assign]
    RpcChain._submit = counted("submit", RpcChain._submit)  # type: ignore[method-assign]


class Watched:
    """The venue's settler, writing to paths.log what the engine asks it of a transaction sent
    before (after a restart, or a timeout): its status, and whether it expired."""

    def __init__(self, inner: Any, logs: Logs) -> None:
        self.inner = inner
        self.logs = logs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def status(self, signature: str) -> TxStatus:
        status: TxStatus = self.inner.status(signature)
        self.logs.write("paths.log", f"status {status.value}")
        return status

    def expired(self, attempt: Attempt) -> bool:
        dead = bool(self.inner.expired(attempt))
        self.logs.write("paths.log", "expired" if dead else "alive")
        return dead


def open_chain(workdir: Path, setup: dict[str, Any], rpc: dict[str, float]) -> Chain:
    """The chain that outlives the market process: the durable LiteSVM file (its programs loaded
    again: the file keeps accounts only), or the RPC endpoint (`rpc`: RpcChain's timings)."""
    if setup["chain"] == "rpc":
        authority = Keypair.from_base58_string(setup["authority"])
        return RpcChain(setup["url"], authority, commitment="finalized", **rpc)
    chain = LiteSVMChain(path=workdir / "chain.sqlite", blockhash_lifetime=setup["lifetime"])
    if setup["mode"] == "program":
        programs.deploy(chain)
    return chain


def open_venue(chain: Chain, setup: dict[str, Any]) -> Venue:
    """The parent's venue again, from what it wrote down."""
    keys = {int(pid): Keypair.from_base58_string(k) for pid, k in setup["keys"].items()}
    grid, payment = (Pubkey.from_string(setup[m]) for m in ("grid", "payment"))
    accounts = Accounts(MARKET, grid, payment, {pid: k.pubkey() for pid, k in keys.items()})
    tables = tuple(Pubkey.from_string(t) for t in setup["lookup_tables"])
    trading = None
    if setup["mode"] == "program":
        trading = TradingMarket(
            MARKET,
            market_id=setup["market_id"],
            operator=chain.authority.pubkey(),
            grid_mint=grid,
            payment_mint=payment,
            treasury=accounts.account(TREASURY, PAYMENT),
        )
    return Venue(chain, accounts, keys, tables, trading)


def resume_point(journal: Journal) -> int:
    """The index of the script's epoch to go on with: the latest journaled epoch if it still
    takes orders, else the one after it. Its clock never goes back before that epoch's start."""
    epochs = journal.epochs()
    if not epochs:
        return 0
    latest = epochs[-1]
    index = round((MARKET.epoch_bounds(latest.id)[0].timestamp() - T0) / MARKET.epoch_seconds)
    return index if latest.state in (EpochState.PENDING, EpochState.OPEN) else index + 1


def note_intents(manager: EpochManager, venue: Venue, logs: Logs) -> None:
    """Writes to paths.log, for each order intent a crash left journaled as being placed,
    whether it reached the chain (its escrow must then be claimed back with its epoch)."""
    if venue.trading is None:
        return
    for epoch in manager.journal.epochs([EpochState.OPEN]):
        marks = manager.journal.marks(epoch.id, OrderMark.PLACING)
        found = venue.chain.account_data([venue.trading.order(epoch.id, venue.wallet(m.trader), m.id) for m in marks])
        for held in found:
            logs.write("paths.log", "intent landed" if held else "intent lost")


def submitted(manager: EpochManager, order: tuple[int, int, int, int]) -> OrderAck | None:
    """The order submitted as a client would: again while the chain does not answer (the
    funds check or the escrow could not reach it: refused, nothing acknowledged); None once
    its epoch closed."""
    for _ in range(CHAIN_RETRIES):
        try:
            return manager.submit(*order)
        except EpochClosed:
            return None
        except ChainError:
            time.sleep(RPC_PAUSE)
    return manager.submit(*order)


def main(workdir: Path, orders_first: bool) -> None:
    logs = Logs(workdir)
    setup = json.loads((workdir / "setup.json").read_text())
    chain = open_chain(workdir, setup, setup.get("rpc", {}))
    venue = open_venue(chain, setup)
    now = [T0]

    def tick(t: float) -> None:
        now[0] = t
        if venue.trading is not None and isinstance(chain, LiteSVMChain):  # the programs read its clock
            chain.advance_clock(int(t))

    manager = EpochManager(
        MARKET,
        journal=str(workdir / "journal.sqlite"),
        settler=Watched(venue.settler(), logs),
        funds=venue.funds(),
        escrow=venue.escrow(),
        clock=lambda: now[0],
    )
    first = resume_point(manager.journal)
    tick(T0 + MARKET.epoch_seconds * first + (1 if first < EPOCHS else 0))
    note_intents(manager, venue, logs)
    if not (orders_first and manager.journal.epochs([EpochState.OPEN])):
        manager.recover()
    for i in range(first, EPOCHS):
        start = T0 + MARKET.epoch_seconds * i
        tick(start + 1)
        epoch = MARKET.epoch_id(start)
        placed = len(manager.journal.orders(epoch))
        for trader, side, qty, price in script(i, setup["sellers"], setup["buyers"])[placed:]:
            ack = submitted(manager, (trader, side, qty, price))
            if ack is None:
                break
            logs.write("acks.log", f"{ack.id} {ack.epoch} {ack.trader} {ack.side} {ack.qty} {ack.price}", sync=True)
        tick(start + MARKET.epoch_seconds)
        manager.step()
    end = T0 + MARKET.epoch_seconds * EPOCHS
    while any(e.state != EpochState.SETTLED for e in manager.journal.epochs() if e.id < MARKET.epoch_id(end)):
        stuck = manager.status().stuck
        if stuck:
            raise RuntimeError(f"epochs stuck: {stuck}")
        tick(now[0] + 1)  # time passes: a failed settlement's back-off runs out
        if setup["chain"] == "rpc":
            time.sleep(RPC_PAUSE)
        manager.step()


def serve(workdir: Path, lines: Callable[[], str]) -> None:
    """Forks a market process for each line read, and reports how it ended."""
    while line := lines().strip():
        kill_at, steps, first = line.split()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.alarm(RUN_TIMEOUT)  # a run that never ends (an epoch never settled) dies
                count_steps(None if kill_at == "-" else int(kill_at), counts(steps), Logs(workdir))
                main(workdir, orders_first=first == "orders")
            except BaseException:
                (workdir / "child.err").write_text(traceback.format_exc())
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            outcome = "killed"
        elif os.WIFSIGNALED(status):
            (workdir / "child.err").write_text(f"died of {signal.Signals(os.WTERMSIG(status)).name}")
            outcome = "failed"
        else:
            outcome = "done" if os.waitstatus_to_exitcode(status) == 0 else "failed"
        print(outcome, flush=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.stdin.readline)
