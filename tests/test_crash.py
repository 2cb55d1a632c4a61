"""Crash safety: the market process is killed (SIGKILL) just before a durable step, again and
again, and restarted each time, in delegate mode and in program mode (the trading program's
escrow), with a chain that outlives the process: the durable LiteSVM chain, or (delegate mode)
an RPC endpoint served from the test's process whose finality trails its tip. In the end every
acknowledged order is in the journal once, every epoch is settled, every on-chain balance is
what the journal's confirmed batches imply, nothing is paid twice and, in program mode, the
program's vaults are empty and no order account is left: an order that reached the chain
before a crash, unacknowledged, was claimed back.

Each seed first aims a kill at every point where a run takes a durable step (a census run lists
them), then kills at random. `make test` runs about 400 kills in two minutes;
GRIDMATCH_CRASH_SEEDS=N runs N seeds of each scenario (`make fuzz`: 40, over 2,000 kills).
Across its seeds, a scenario must have killed at every point and reached the recovery paths it
is there for (counted from the runs' paths.log, see tests/crash_child.py, and the journal's
attempts): settlement attempts found landed after a restart, found pending, sent again,
expired; order intents found on chain after a restart, and not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from crash_child import EPOCHS, MARKET, T0, open_chain, open_venue
from test_chain import FakeValidator

from gridmatch.chain import LiteSVMChain, RpcChain, keypair_from_seed
from gridmatch.chain.base import Chain
from gridmatch.chain.litesvm_store import Store
from gridmatch.chain.trading import TradingMarket
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochManager, EpochState
from gridmatch.journal import OrderMark
from gridmatch.participants import Participant, Role
from gridmatch.settlement import GRID, PAYMENT, VAULT

CHILD = Path(__file__).with_name("crash_child.py")
SELLERS, BUYERS = [1, 2, 3, 4], [5, 6, 7, 8]
ROLES = {**dict.fromkeys(SELLERS, Role.PROSUMER), **dict.fromkeys(BUYERS, Role.CONSUMER)}
#: What each seller is metered (lots): more than its sells of all epochs.
GENERATED = 9_000
ORDER_DISCRIMINATOR = hashlib.sha256(b"account:Order").digest()[:8]


@dataclass(frozen=True)
class Scenario:
    mode: str  # "delegate" or "program"
    #: Seeds in `make test` (GRIDMATCH_CRASH_SEEDS overrides).
    seeds: int
    #: A kill comes within this many durable steps of a start, or within `chain_gap` of the
    #: chain's (the journal's are ten times as many): about a tenth of a whole run's, so the
    #: kills walk through every phase of every epoch.
    gap: int
    chain_gap: int
    #: "litesvm" (the durable file) or "rpc" (`Endpoint`, in the test's process).
    chain: str = "litesvm"
    #: LiteSVM: blockhashes before the latest a transaction may be built with: few, so that a
    #: journaled attempt is sometimes still good after a restart (sent again), sometimes not
    #: (expired, and a new one made).
    lifetime: int = 2
    #: Seconds a killed process stays down, every other time: long enough on the RPC chain for
    #: its blockhashes to expire at the finalized height.
    downtime: float = 0.0


#: The RPC chain: a block every BLOCK_TIME seconds (and one a transaction); a blockhash valid
#: for LIFETIME blocks at the tip; finality LAG blocks behind the tip. So a transaction is final
#: 0.2 s after it lands, and provably expired 0.5 s after its blockhash was issued. The market
#: process waits RPC_OPTIONS' timeout for a confirmation: shorter, so its settlements time out
#: and are found pending, or confirmed, later (after a restart too).
BLOCK_TIME, LIFETIME, LAG = 0.02, 15, 10
RPC_OPTIONS = {"timeout": 0.1, "poll_interval": 0.01, "rebroadcast": 0.05}

SCENARIOS = {
    "delegate": Scenario("delegate", seeds=8, gap=50, chain_gap=5),
    "program": Scenario("program", seeds=8, gap=120, chain_gap=30),
    "rpc": Scenario("delegate", seeds=4, gap=50, chain_gap=2, chain="rpc", downtime=0.6),
}


class Endpoint:
    """A JSON-RPC endpoint that outlives the market process: tests/test_chain.py's validator,
    served over HTTP on 127.0.0.1 by threads of the test's process, one of which produces a
    block every BLOCK_TIME seconds, as a cluster does whether or not anyone sends anything."""

    def __init__(self) -> None:
        self.validator = validator = FakeValidator(lifetime=LIFETIME)
        self.lock = lock = threading.Lock()  # one request, or one block, at a time
        self.stopped = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as solana-py's client expects
            disable_nagle_algorithm = True  # the headers and the body go out at once

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    answer = validator.handle(httpx.Request("POST", "http://endpoint", content=body)).content
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the market process was killed waiting for the answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._blocks, daemon=True).start()

    def _blocks(self) -> None:
        while not self.stopped.wait(BLOCK_TIME):
            with self.lock:
                self.validator.produce(1)

    def close(self) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def endpoint_for(scenario: Scenario) -> Iterator[Endpoint | None]:
    if scenario.chain != "rpc":
        yield None
        return
    endpoint = Endpoint()
    try:
        yield endpoint
    finally:
        endpoint.close()


def set_up(workdir: Path, scenario: Scenario, endpoint: Endpoint | None) -> dict[tuple[str, int], int]:
    """What the parent does once, outside the kills: the chain, its accounts and the funds (in
    program mode the programs, the market, GRID minted through the oracle for metered
    generation); it returns every participant's balances."""
    setup: dict[str, object] = {"mode": scenario.mode, "chain": scenario.chain, "lifetime": scenario.lifetime}
    chain: Chain
    if endpoint is not None:
        authority = keypair_from_seed(11, "rpc-authority")
        chain = RpcChain(endpoint.url, authority, timeout=10.0)
        chain.fund(authority.pubkey(), 100 * 10**9)
        setup |= {"url": endpoint.url, "authority": str(authority), "rpc": RPC_OPTIONS}
    else:
        chain = LiteSVMChain(seed=11, path=workdir / "chain.sqlite")
    if scenario.mode == "program":
        assert isinstance(chain, LiteSVMChain)
        chain.advance_clock(int(T0) - 3600)  # the meters are registered an hour before the readings
        venue = Venue.create(chain, MARKET, ROLES, seed=11, settle="program")
        venue.mint_grids({pid: MARKET.grid_units(GENERATED) for pid in SELLERS}, at=int(T0) - 1)
    else:
        venue = Venue.create(chain, MARKET, SELLERS + BUYERS, seed=11)
        for pid in SELLERS:
            venue.mint_grid(pid, MARKET.grid_units(GENERATED))
    for pid in BUYERS:
        venue.deposit(pid, 10**14)
    with EpochManager(MARKET, journal=str(workdir / "journal.sqlite")) as manager:
        for pid, role in ROLES.items():
            manager.register(Participant(pid, role, wallet=str(venue.wallet(pid))))
    setup |= {
        "grid": str(venue.accounts.mints[GRID]),
        "payment": str(venue.accounts.mints[PAYMENT]),
        "keys": {str(pid): str(key) for pid, key in venue.keys.items()},
        "lookup_tables": [str(t) for t in venue.lookup_tables],
        "market_id": venue.trading.market_id if venue.trading is not None else None,
        "sellers": SELLERS,
        "buyers": BUYERS,
    }
    (workdir / "setup.json").write_text(json.dumps(setup))
    before = venue.balances()
    if isinstance(chain, LiteSVMChain):
        chain.close()
    if endpoint is not None:
        endpoint.validator.lag = LAG  # from now on finality trails the tip
    return before


class MarketProcess:
    """tests/crash_child.py's fork server: each `run` is a new market process."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.server = subprocess.Popen(
            [sys.executable, str(CHILD), str(workdir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, kill_at: int | None, steps: str, first: str) -> bool:
        """True if the process finished the script, False if it died at its `kill_at`-th
        durable step of `steps` ("any", "chain": the chain's only, or a point's name); `first`
        is what it does first, "recover" or "orders"."""
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(f"{'-' if kill_at is None else kill_at} {steps} {first}\n")
        self.server.stdin.flush()
        outcome = self.server.stdout.readline().strip()
        if outcome == "failed":
            pytest.fail((self.workdir / "child.err").read_text())
        assert outcome in ("done", "killed"), outcome
        return outcome == "done"

    def close(self) -> None:
        assert self.server.stdin is not None
        self.server.stdin.close()
        assert self.server.wait(timeout=60) == 0


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def check_orders(workdir: Path, manager: EpochManager) -> None:
    """Every acknowledged order is in the journal once, as it was acknowledged, and none of
    them was given up (marked still being placed, its id taken, cancelled)."""
    acks = [tuple(int(x) for x in line.split()) for line in lines(workdir / "acks.log")]
    assert acks, "nothing was acknowledged"
    ids = Counter(ack[0] for ack in acks)
    assert max(ids.values()) == 1, f"an id acknowledged twice: {ids.most_common(3)}"
    journaled = {o.id: (o.id, o.epoch, o.trader, o.side, o.qty, o.price) for o in manager.journal.all_orders()}
    lost = [ack for ack in acks if journaled.get(ack[0]) != ack]
    assert not lost, f"acknowledged orders lost or changed: {lost}"
    for record in manager.journal.epochs():
        for mark in (OrderMark.PLACING, OrderMark.ID_TAKEN, OrderMark.CANCELLED):
            given_up = {m.id for m in manager.journal.marks(record.id, mark)} & set(ids)
            assert not given_up, f"acknowledged orders marked {mark}: {given_up}"


def check_settled(manager: EpochManager) -> list[str]:
    """Every epoch of the script settled, each batch paid by exactly one attempt. Returns the
    state of every attempt ("attempt expired", ...)."""
    epochs = manager.journal.epochs()
    assert len(epochs) > EPOCHS
    assert all(e.state == EpochState.SETTLED for e in epochs[:EPOCHS]), [(e.id, e.state) for e in epochs]
    states = []
    for record in epochs:
        for batch in manager.journal.batches(record.id):
            confirmed = [a.signature for a, state in batch.attempts if state == "confirmed"]
            assert batch.state == "confirmed" and len(confirmed) == 1, (record.id, batch.idx, batch.attempts)
            states += [f"attempt {state}" for _, state in batch.attempts]
    return states


def check_balances(before: dict[tuple[str, int], int], now: dict[tuple[str, int], int], manager: EpochManager) -> None:
    """Each balance is where it started plus what the confirmed batches moved: nothing lost,
    nothing paid twice. The vaults' part nets to nothing once every order is claimed."""
    moved = manager.balances_moved()
    assert moved, "nothing traded"
    assert all(moved.get((mint, VAULT), 0) == 0 for mint in (GRID, PAYMENT))
    assert now == {key: before[key] + moved.get(key, 0) for key in before}


def check_program(workdir: Path, chain: LiteSVMChain, trading: TradingMarket, manager: EpochManager) -> None:
    """The trading program holds nothing back: its vaults are empty, every epoch with orders
    is finalised, and no order account is left anywhere on the chain (each was claimed)."""
    assert chain.token_balances([trading.grid_vault, trading.payment_vault]) == [0, 0]
    for record in manager.journal.epochs():
        (data,) = chain.account_data([trading.epoch(record.id)])
        if manager.journal.orders(record.id):
            assert data is not None and type(trading.decode("Epoch", data).state).__name__ == "Finalised"
    chain.close()
    saved = Store(str(workdir / "chain.sqlite")).load()
    assert saved is not None
    left = [
        address
        for address, account in saved.accounts.items()
        if account.owner == trading.program_id and bytes(account.data)[:8] == ORDER_DISCRIMINATOR
    ]
    assert not left, f"order accounts left on chain: {left}"


#: The recovery paths each scenario must reach across its seeds (paths.log's lines). On the
#: LiteSVM chain nothing is pending (a transaction lands in `submit` or never) and, in delegate
#: mode, nothing moves its blockhashes between a restart and the settlement it resumes: its
#: journaled attempts never expire there.
REACHED = {
    "delegate": {"status confirmed", "status unknown", "alive"},
    "program": {
        "status confirmed",
        "status unknown",
        "alive",
        "expired",
        "attempt expired",
        "intent landed",
        "intent lost",
    },
    "rpc": {"status confirmed", "status pending", "status unknown", "alive", "expired", "attempt expired"},
}


def census(workdir: Path, scenario: Scenario) -> list[str]:
    """Every point where the market process takes a durable step (see tests/crash_child.py),
    in the order a run first meets them: an epoch's, roughly (taking orders, closing, clearing,
    settling), each named by the engine's function taking it. One run, not killed."""
    with endpoint_for(scenario) as endpoint:
        set_up(workdir, scenario, endpoint)
        market = MarketProcess(workdir)
        try:
            assert market.run(None, "any", "recover")
        finally:
            market.close()
    return lines(workdir / "census.log")


def crash(workdir: Path, scenario: Scenario, seed: int, sites: list[str]) -> tuple[list[str], list[str]]:
    """Runs the script to its end, killed again and again (first at each of `sites`, then at
    random), checks what it left, and returns where the kills hit and the recovery paths taken."""
    rng = random.Random(seed)
    with endpoint_for(scenario) as endpoint:
        before = set_up(workdir, scenario, endpoint)
        market = MarketProcess(workdir)
        kills = 0
        # First a kill aimed at each point, at its next occurrence, in a run's order from a
        # point chosen at random (so they all happen, in the first epochs), then random ones.
        first = rng.randrange(len(sites))
        aimed = sites[first:] + sites[:first]
        try:
            while True:
                if aimed:
                    steps, kill_at = aimed.pop(0), 1
                else:
                    steps = rng.choice(["any", "chain"])
                    kill_at = rng.randint(1, scenario.gap if steps == "any" else scenario.chain_gap)
                if market.run(kill_at, steps, rng.choice(["recover", "orders"])):
                    break
                kills += 1
                time.sleep(rng.choice([0.0, scenario.downtime]))
        finally:
            market.close()
        sites = lines(workdir / "kills.log")
        assert len(sites) == kills >= 5

        setup = json.loads((workdir / "setup.json").read_text())
        chain = open_chain(workdir, setup, {"timeout": 10.0})
        venue = open_venue(chain, setup)
        with EpochManager(MARKET, journal=str(workdir / "journal.sqlite")) as manager:
            check_orders(workdir, manager)
            attempts = check_settled(manager)
            check_balances(before, venue.balances(), manager)
            if venue.trading is not None:
                assert isinstance(chain, LiteSVMChain)
                check_program(workdir, chain, venue.trading, manager)
    return sites, lines(workdir / "paths.log") + attempts


@pytest.mark.parametrize("name", SCENARIOS)
def test_killed_at_random_the_market_loses_nothing_and_pays_nothing_twice(tmp_path, name):
    scenario = SCENARIOS[name]
    count = int(os.environ.get("GRIDMATCH_CRASH_SEEDS", scenario.seeds))
    (tmp_path / "census").mkdir()
    points = census(tmp_path / "census", scenario)
    kills: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    for seed in range(count):
        workdir = tmp_path / f"seed-{seed}"
        workdir.mkdir()
        try:
            sites, taken = crash(workdir, scenario, seed, points)
        except AssertionError as failed:
            raise AssertionError(f"{name}, seed {seed} ({workdir}): {failed}") from failed
        kills.update(sites)
        paths.update(taken)
    print(f"\n{name}: {sum(kills.values())} kills over {count} seeds", dict(kills.most_common()), dict(paths))
    unhit = set(points) - set(kills)
    assert not unhit, f"{name}: never killed at {unhit}; killed at {dict(kills)}"
    missing = REACHED[name] - set(paths)
    assert not missing, f"{name}: never reached {missing}; reached {dict(paths)}"
