"""Settlement and journal benchmarks (issue 4):

- an epoch of about 10,000 fills, from clearing to confirmed settlement on LiteSVM: the time
  of the `step` that closes, clears, plans, journals and settles it, per fill and per transfer;
- transfers per transaction achieved and the bytes they use, against the 1,232-byte limit,
  with and without address lookup tables, with and without netting, and through the trading
  program (escrow mode: the result posted, the fills settled out of the vaults, every order
  refunded);
- orders accepted through the trading program's escrow (each one a transaction) per second;
- journal throughput: orders acknowledged durably (SQLite, WAL, synchronous=FULL) per second,
  through `EpochManager.submit` (every check included) and as bare journal writes.

Run with `make bench`, or: .venv/bin/python -m pytest bench/test_bench_settlement.py --benchmark-only
"""

from __future__ import annotations

import random

import pytest

from gridmatch.chain import LiteSVMChain
from gridmatch.chain.metering import MAX_ENERGY_PER_READING
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochManager, EpochState
from gridmatch.journal import OrderRecord, open_journal
from gridmatch.market import Market
from gridmatch.participants import Participant, Role

MARKET = Market()
T0 = 1_466_510_400.0  # 2016-06-21 12:00 UTC
EPOCH = 201606211200
SELLERS = list(range(1, 101))
BUYERS = list(range(101, 201))
PER_TRADER = 50  # the market's order limit: 200 traders x 50 = 10,000 orders


ROLES = {**dict.fromkeys(SELLERS, Role.PROSUMER), **dict.fromkeys(BUYERS, Role.CONSUMER)}


def funded_market(tmp_path, *, tables: bool = True, netting: bool = False, settle: str = "delegate", market=MARKET):
    """100 prosumers holding GRID and 100 consumers holding payment, registered with an engine
    over a durable journal, settling by `settle` ("delegate" or "program")."""
    venue = Venue.create(LiteSVMChain(seed=7), market, ROLES, seed=7, lookup_tables=tables, settle=settle)
    for pid in SELLERS:
        if settle == "program":  # through the oracle: 10 readings of its 10 kWh maximum, an epoch apart
            for _ in range(10):
                venue.mint_grid(pid, MAX_ENERGY_PER_READING)
        else:
            venue.mint_grid(pid, market.grid_units(10**6))
    for pid in BUYERS:
        venue.deposit(pid, 10**15)
    journal = str(tmp_path / f"journal-{tables}-{netting}-{settle}-{random.random()}.sqlite")
    settler, escrow = venue.settler(netting=netting), venue.escrow()
    manager = EpochManager(market, journal=journal, settler=settler, escrow=escrow, clock=lambda: T0)
    for pid, role in ROLES.items():
        manager.register(Participant(pid, role, wallet=str(venue.wallet(pid))))
    return manager, venue


def epoch_of_10k_orders(tmp_path, *, tables: bool, netting: bool, settle: str) -> tuple[EpochManager, Venue]:
    """Each of the 200 traders with 50 orders in one epoch, priced so that nearly every order
    fills (about 10,000 fills)."""
    manager, venue = funded_market(tmp_path, tables=tables, netting=netting, settle=settle)
    rng = random.Random(7)
    manager.step(T0)
    for k in range(PER_TRADER):
        for pid in SELLERS:
            manager.submit(pid, -1, rng.randint(100, 2000), rng.randint(850, 905), at=T0 + 1 + k)
        for pid in BUYERS:
            manager.submit(pid, 1, rng.randint(100, 2000), rng.randint(895, 950), at=T0 + 1 + k)
    return manager, venue


def describe(manager: EpochManager, benchmark) -> None:
    batches = manager.journal.batches(EPOCH)
    transfers = sum(len(b.transfers) for b in batches)
    sizes = [len(attempt.raw) for b in batches for attempt, state in b.attempts if state == "confirmed"]
    assert manager.state(EPOCH) == EpochState.SETTLED and len(sizes) == len(batches)
    fills = len(manager.journal.fills(EPOCH))
    benchmark.extra_info.update(
        fills=fills,
        transfers=transfers,
        transactions=len(batches),
        transfers_per_transaction=round(transfers / len(batches), 1),
        mean_bytes=round(sum(sizes) / len(sizes)),
        max_bytes=max(sizes),
    )


@pytest.mark.parametrize(
    ("tables", "netting", "mode"),
    [(True, False, "delegate"), (False, False, "delegate"), (True, True, "delegate"), (True, False, "program")],
)
def test_settle_an_epoch_of_10k_fills(benchmark, tmp_path, tables, netting, mode):
    def setup():
        return (epoch_of_10k_orders(tmp_path, tables=tables, netting=netting, settle=mode),), {}

    def settle(market):
        manager, _ = market
        manager.step(T0 + 900)
        return manager

    manager = benchmark.pedantic(settle, setup=setup, rounds=3, iterations=1)
    describe(manager, benchmark)


def test_journal_orders_through_the_epoch_engine(benchmark, tmp_path):
    """Orders acknowledged per second through `submit`: role, epoch, limit checks and the
    durable write (no funds check: that asks the chain)."""
    manager = EpochManager(Market(order_limit=10**6), journal=str(tmp_path / "submit.sqlite"), clock=lambda: T0)
    manager.register(Participant(1, Role.PROSUMER))
    manager.step(T0)
    count = iter(range(10**9))

    def submit():
        n = next(count)
        manager.submit(1, 1 if n % 2 else -1, 100 + n % 50, 900 + n % 20)

    benchmark.pedantic(submit, rounds=2000, iterations=1, warmup_rounds=50)


def test_orders_escrowed_through_the_trading_program(benchmark, tmp_path):
    """Orders accepted per second when each is placed on chain (escrowed) before its journal
    row commits: the chain's balance check, the order's instruction built with anchorpy,
    signed, executed by LiteSVM, then the durable write."""
    manager, _ = funded_market(tmp_path, settle="program", market=Market(order_limit=10**6))
    manager.step(T0)
    count = iter(range(10**9))

    def submit():
        n = next(count)
        pid = SELLERS[n % 100] if n % 2 else BUYERS[n % 100]
        manager.submit(pid, -1 if n % 2 else 1, 100 + n % 50, 900 + n % 20)

    benchmark.pedantic(submit, rounds=1000, iterations=1, warmup_rounds=20)


def test_journal_bare_order_writes(benchmark, tmp_path):
    """The journal alone: one durable (synchronous=FULL) transaction per order."""
    journal = open_journal(str(tmp_path / "bare.sqlite"))
    count = iter(range(1, 10**9))

    def write():
        n = next(count)
        journal.add_order(OrderRecord(n, EPOCH, 1, 1, 900, 100, 0, False, None, None))

    benchmark.pedantic(write, rounds=2000, iterations=1, warmup_rounds=50)
