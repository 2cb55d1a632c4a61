"""A scripted market run as its own process, to be killed at any instant by tests/test_crash.py.

Usage: python tests/crash_child.py WORKDIR [KILL_AT]

With KILL_AT = N the process SIGKILLs itself just before its N-th durable step: a statement
written to the journal, a commit of the chain's file, or a transaction submitted to the chain.
So the kills land inside every kind of operation, at points chosen by the caller. It prints the
number of steps it took when it finishes.

WORKDIR holds the durable chain (chain.sqlite), the journal (journal.sqlite), the set-up made by
the parent (setup.json) and acks.log, where every acknowledged order id is appended and synced
before the script goes on. Each run recovers from the journal and resumes the script where the
journal says it stopped; it exits 0 once every epoch of the script is settled.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from gridmatch.chain import LiteSVMChain
from gridmatch.chain.litesvm import LiteSVMChain as _Chain
from gridmatch.chain.settler import Accounts
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochClosed, EpochManager, EpochState
from gridmatch.journal import Journal
from gridmatch.market import Market

MARKET = Market()
T0 = 1_466_510_400.0  # 2016-06-21 12:00 UTC
EPOCHS = 6


def script(epoch_index: int, sellers: list[int], buyers: list[int]) -> list[tuple[int, int, int, int]]:
    """The orders (trader, side, qty, price) of one epoch: the same on every run."""
    rng = random.Random(epoch_index)
    orders = [(s, -1, rng.randint(100, 900), rng.randint(880, 930)) for s in sellers]
    orders += [(b, 1, rng.randint(100, 900), rng.randint(900, 950)) for b in buyers]
    rng.shuffle(orders)
    return orders


STEPS = [0]


def count_steps(kill_at: int | None) -> None:
    """Wraps the durable steps so the process can die just before any one of them."""

    def counted(method: Any) -> Any:
        @functools.wraps(method)
        def step(*args: Any, **kwargs: Any) -> Any:
            STEPS[0] += 1
            if STEPS[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return method(*args, **kwargs)

        return step

    Journal._run = counted(Journal._run)  # type: ignore[method-assign]
    Journal._run_many = counted(Journal._run_many)  # type: ignore[method-assign]
    _Chain._save = counted(_Chain._save)  # type: ignore[method-assign]
    _Chain._submit = counted(_Chain._submit)  # type: ignore[method-assign]


def main(workdir: Path) -> int:
    setup = json.loads((workdir / "setup.json").read_text())
    chain = LiteSVMChain(path=workdir / "chain.sqlite")
    wallets = {int(pid): Pubkey.from_string(w) for pid, w in setup["wallets"].items()}
    grid, payment = (Pubkey.from_string(setup[m]) for m in ("grid", "payment"))
    venue = Venue(chain, Accounts(MARKET, grid, payment, wallets), {})
    now = [T0]
    manager = EpochManager(
        MARKET,
        journal=str(workdir / "journal.sqlite"),
        settler=venue.settler(),
        funds=venue.funds(),
        clock=lambda: now[0],
    )
    acks = open(workdir / "acks.log", "a")  # kept open for the whole run
    done = {o.epoch for o in manager.journal.all_orders()}
    started = max([e.id for e in manager.journal.epochs()], default=None)
    first = 0 if started is None else max(i for i in range(EPOCHS) if MARKET.epoch_id(T0 + 900 * i) <= started)
    now[0] = T0 + 900 * first
    manager.recover()
    for i in range(first, EPOCHS):
        now[0] = T0 + 900 * i + 1
        epoch = MARKET.epoch_id(now[0])
        placed = len(manager.journal.orders(epoch)) if epoch in done else 0
        for trader, side, qty, price in script(i, setup["sellers"], setup["buyers"])[placed:]:
            try:
                ack = manager.submit(trader, side, qty, price)
            except EpochClosed:
                break
            acks.write(f"{ack.id}\n")
            acks.flush()
            os.fsync(acks.fileno())
        now[0] = T0 + 900 * (i + 1)
        manager.step()
    while any(e.state != EpochState.SETTLED for e in manager.journal.epochs() if e.id < MARKET.epoch_id(now[0])):
        manager.step()
    print(STEPS[0])
    return 0


if __name__ == "__main__":
    count_steps(int(sys.argv[2]) if len(sys.argv) > 2 else None)
    sys.exit(main(Path(sys.argv[1])))
