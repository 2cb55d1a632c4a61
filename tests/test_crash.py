"""Crash safety: the market process is killed (SIGKILL) at random instants, again and again,
and restarted each time; in the end every acknowledged order is in the journal once, every
epoch is settled, and every on-chain balance is what the fills imply: nothing lost, nothing
paid twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from gridmatch.chain import LiteSVMChain
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochManager, EpochState
from gridmatch.market import Market
from gridmatch.participants import Participant, Role

CHILD = Path(__file__).with_name("crash_child.py")
SELLERS, BUYERS = [1, 2, 3, 4], [5, 6, 7, 8]
MARKET = Market()
SEEDS = range(int(os.environ.get("GRIDMATCH_CRASH_SEEDS", "4")))


def set_up(workdir: Path) -> dict[tuple[str, int], int]:
    """What the parent does once, outside the kills: the chain, its accounts and the funds."""
    chain = LiteSVMChain(seed=11, path=workdir / "chain.sqlite")
    venue = Venue.create(chain, MARKET, SELLERS + BUYERS, seed=11)
    for pid in SELLERS:
        venue.mint_grid(pid, MARKET.grid_units(100_000))
    for pid in BUYERS:
        venue.deposit(pid, 10**14)
    manager = EpochManager(MARKET, journal=str(workdir / "journal.sqlite"))
    for pid in SELLERS + BUYERS:
        role = Role.PROSUMER if pid in SELLERS else Role.CONSUMER
        manager.register(Participant(pid, role, wallet=str(venue.wallet(pid))))
    setup = {
        "grid": str(venue.accounts.mints["grid"]),
        "payment": str(venue.accounts.mints["payment"]),
        "wallets": {str(pid): str(w) for pid, w in venue.accounts.wallets.items()},
        "sellers": SELLERS,
        "buyers": BUYERS,
    }
    (workdir / "setup.json").write_text(json.dumps(setup))
    before = venue.balances()
    chain.close()
    manager.journal.close()
    return before


def run_child(workdir: Path, kill_at: int | None) -> bool:
    """Runs the market process; True if it finished, False if it died at step `kill_at`."""
    args = [sys.executable, str(CHILD), str(workdir)] + ([str(kill_at)] if kill_at else [])
    child = subprocess.run(args, capture_output=True, timeout=300)
    if child.returncode == -signal.SIGKILL:
        return False
    assert child.returncode == 0, child.stderr.decode()[-3000:]
    return True


@pytest.mark.parametrize("seed", SEEDS)
def test_killed_at_random_the_market_loses_nothing_and_pays_nothing_twice(tmp_path, seed):
    before = set_up(tmp_path)
    rng = random.Random(seed)
    kills = 0
    # A whole run takes about 250 durable steps and each restart resumes, so dying within the
    # next 60 steps, again and again, walks the kills through every phase of every epoch.
    while not run_child(tmp_path, kill_at=rng.randint(1, 60)):
        kills += 1
    assert kills >= 3

    chain = LiteSVMChain(path=tmp_path / "chain.sqlite")
    setup = json.loads((tmp_path / "setup.json").read_text())
    manager = EpochManager(MARKET, journal=str(tmp_path / "journal.sqlite"))
    acked = Counter(int(line) for line in (tmp_path / "acks.log").read_text().split())
    journaled = {o.id for o in manager.journal.all_orders()}
    assert set(acked) <= journaled, "an acknowledged order was lost"
    epochs = manager.journal.epochs()
    assert len(epochs) >= 6 and all(e.state == EpochState.SETTLED for e in epochs[:6])
    for record in epochs:
        for batch in manager.journal.batches(record.id):
            assert sum(state == "confirmed" for _, state in batch.attempts) == 1
    from solders.pubkey import Pubkey

    from gridmatch.chain.settler import Accounts

    accounts = Accounts(
        MARKET, Pubkey.from_string(setup["grid"]), Pubkey.from_string(setup["payment"]),
        {int(p): Pubkey.from_string(w) for p, w in setup["wallets"].items()},
    )  # fmt: skip
    keys = sorted(before)
    now = dict(zip(keys, chain.token_balances([accounts.account(pid, mint) for mint, pid in keys]), strict=True))
    moved = manager.balances_moved()
    assert moved, "nothing traded"
    assert now == {key: before[key] + moved.get(key, 0) for key in keys}
