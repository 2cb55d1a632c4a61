"""Settlement and journal benchmarks (issue 4):

- an epoch of 10,000 orders (about 9,000 fills), from clearing to confirmed settlement on
  LiteSVM: the time of the `step` that closes, clears, plans, journals and settles it;
- transfers per transaction achieved and the bytes they use, against the 1,232-byte limit,
  with and without address lookup tables, with and without netting, and through the trading
  program (pull settlement: the epoch closed on chain, the result posted, each filled order
  credited, every order claimed, the fees withdrawn; orders per credit and per claim transaction);
- orders accepted through the trading program's escrow per second, one a transaction
  (`submit`) and in batches (`submit_many`: as many a transaction as fit);
- journal throughput: orders acknowledged durably (SQLite, WAL, synchronous=FULL) per second,
  through `EpochManager.submit` (every check included) and as bare journal writes;
- recovery: a restart over a journal of a year of epochs (35,040).

Run with `make bench`, or: .venv/bin/python -m pytest bench/test_bench_settlement.py --benchmark-only
"""

from __future__ import annotations

import random
import shutil
import threading
import time

import pytest

from gridmatch.chain import LiteSVMChain
from gridmatch.chain.metering import MAX_ENERGY_PER_READING
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochManager, EpochState, OrderAck
from gridmatch.journal import OrderRecord, open_journal
from gridmatch.market import Market
from gridmatch.participants import Participant, Role
from gridmatch.settlement import GRID, VAULT

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
    if settle == "program":  # through the oracle: 10 readings of its 10 kWh maximum, an epoch apart
        for _ in range(10):
            venue.mint_grids(dict.fromkeys(SELLERS, MAX_ENERGY_PER_READING))
    else:
        venue.mint_grids(dict.fromkeys(SELLERS, market.grid_units(10**6)))
    for pid in BUYERS:
        venue.deposit(pid, 10**15)
    journal = str(tmp_path / f"journal-{tables}-{netting}-{settle}-{random.random()}.sqlite")
    settler, escrow = Stopwatch(venue.settler(netting=netting)), venue.escrow()
    manager = EpochManager(market, journal=journal, settler=settler, escrow=escrow, clock=lambda: T0)
    for pid, role in ROLES.items():
        manager.register(Participant(pid, role, wallet=str(venue.wallet(pid))))
    return manager, venue


class Stopwatch:
    """The venue's settler, noting when each transaction it sends has landed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.landed: dict[str, float] = {}

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def submit(self, attempt) -> None:
        self.inner.submit(attempt)
        self.landed[attempt.signature] = time.perf_counter()


def epoch_of_10k_orders(tmp_path, *, tables: bool, netting: bool, settle: str) -> tuple[EpochManager, Venue]:
    """Each of the 200 traders with 50 orders in one epoch, priced so that nearly every order
    fills (about 10,000 fills)."""
    manager, venue = funded_market(tmp_path, tables=tables, netting=netting, settle=settle)
    rng = random.Random(7)
    manager.step(T0)
    for k in range(PER_TRADER):
        sells = [(pid, -1, rng.randint(100, 2000), rng.randint(850, 905)) for pid in SELLERS]
        buys = [(pid, 1, rng.randint(100, 2000), rng.randint(895, 950)) for pid in BUYERS]
        acks = manager.submit_many(sells + buys, at=T0 + 1 + k)
        assert all(isinstance(ack, OrderAck) for ack in acks)
    return manager, venue


def describe(manager: EpochManager, benchmark, started: float) -> None:
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
    if any(VAULT in (source, dest) for b in batches for _, source, dest, _ in b.transfers):  # the program's
        orders = manager.journal.orders(EPOCH)
        credited = sum(1 for o in orders if o.filled)
        credits = [b for b in batches if any(mint == GRID for mint, *_ in b.transfers)]
        claims = [b for b in batches[1:] if not b.transfers]  # the first posts the result
        landed = manager.settler.landed  # type: ignore[union-attr]
        last_credit = max(landed[a.signature] for b in credits for a, s in b.attempts if s == "confirmed")
        benchmark.extra_info.update(
            finalised_s=round(last_credit - started, 2),  # every order credited: the epoch settled on chain
            claimed_s=round(max(landed.values()) - started, 2),  # and every order claimed, the fees out
            orders=len(orders),
            credited=credited,
            credit_transactions=len(credits),
            orders_per_credit_transaction=round(credited / len(credits), 1),
            claim_transactions=len(claims),
            orders_per_claim_transaction=round(len(orders) / len(claims), 1),
        )


@pytest.mark.parametrize(
    ("tables", "netting", "mode"),
    [(True, False, "delegate"), (False, False, "delegate"), (True, True, "delegate"), (True, False, "program")],
)
def test_settle_an_epoch_of_10k_fills(benchmark, tmp_path, tables, netting, mode):
    def setup():
        return (epoch_of_10k_orders(tmp_path, tables=tables, netting=netting, settle=mode),), {}

    started = []

    def settle(market):
        manager, _ = market
        started.append(time.perf_counter())
        manager.step(T0 + 900)
        return manager

    manager = benchmark.pedantic(settle, setup=setup, rounds=3, iterations=1)
    describe(manager, benchmark, started[-1])


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


def test_orders_escrowed_in_batches_through_the_trading_program(benchmark, tmp_path):
    """Orders accepted per second when they come 32 at a time (`submit_many`): each checked, the
    batch placed on chain in as few transactions as fit (each signed by its orders' traders),
    then journaled in one write. Each round is one batch; the figure is per batch."""
    manager, _ = funded_market(tmp_path, settle="program", market=Market(order_limit=10**6))
    manager.step(T0)
    count = iter(range(10**9))

    def submit_many():
        orders = []
        for _ in range(32):
            n = next(count)
            pid = SELLERS[n % 100] if n % 2 else BUYERS[n % 100]
            orders.append((pid, -1 if n % 2 else 1, 100 + n % 50, 900 + n % 20))
        assert all(isinstance(ack, OrderAck) for ack in manager.submit_many(orders))

    benchmark.pedantic(submit_many, rounds=100, iterations=1, warmup_rounds=5)


def burst(manager: EpochManager, threads: int, per_thread: int, order) -> None:
    """`threads` callers submitting `per_thread` orders each at once (a service's clients):
    what the group commit shares among them."""
    count = iter(range(10**9))
    lock = threading.Lock()

    def client() -> None:
        for _ in range(per_thread):
            with lock:
                n = next(count)
            assert isinstance(manager.submit(*order(n)), OrderAck)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


@pytest.mark.parametrize("threads", [1, 8, 64])
def test_journal_orders_from_concurrent_callers(benchmark, tmp_path, threads):
    """Orders acknowledged per second through `submit` (every check, a durable commit) when
    `threads` callers submit at once; each round is 1,024 orders."""
    manager = EpochManager(Market(order_limit=10**6), journal=str(tmp_path / "burst.sqlite"), clock=lambda: T0)
    manager.register(Participant(1, Role.PROSUMER))
    manager.step(T0)
    benchmark.pedantic(burst, args=(manager, threads, 1024 // threads, lambda n: (1, -1, 100 + n % 50, 900 + n % 20)))
    benchmark.extra_info["orders_per_round"] = 1024


@pytest.mark.parametrize("threads", [1, 8, 64])
def test_orders_escrowed_from_concurrent_callers(benchmark, tmp_path, threads):
    """Orders accepted per second through `submit` with the trading program's escrow when
    `threads` callers submit at once: the calls waiting beside one share its journal writes and
    its placements (as many orders a transaction as fit). Each round is 512 orders."""
    manager, _ = funded_market(tmp_path, settle="program", market=Market(order_limit=10**6))
    manager.step(T0)

    def order(n: int) -> tuple[int, int, int, int]:
        pid = SELLERS[n % 100] if n % 2 else BUYERS[n % 100]
        return pid, -1 if n % 2 else 1, 100 + n % 50, 900 + n % 20

    benchmark.pedantic(burst, args=(manager, threads, 512 // threads, order), rounds=3, iterations=1)
    benchmark.extra_info["orders_per_round"] = 512


def test_journal_bare_order_writes(benchmark, tmp_path):
    """The journal alone: one durable (synchronous=FULL) transaction per order."""
    journal = open_journal(str(tmp_path / "bare.sqlite"))
    count = iter(range(1, 10**9))

    def write():
        n = next(count)
        journal.add_order(OrderRecord(n, EPOCH, 1, 1, 900, 100, 0, False, None, None))

    benchmark.pedantic(write, rounds=2000, iterations=1, warmup_rounds=50)


YEAR = 365 * 96  # 35,040 epochs


@pytest.fixture(scope="module")
def year_of_history(tmp_path_factory):
    """A journal of a year of settled epochs (ten orders, five fills each), the process dead
    right after closing the last one: what `recover` meets after a crash a year in."""
    path = tmp_path_factory.mktemp("year") / "year.sqlite"
    journal = open_journal(str(path))
    journal.put_participant(Participant(1, Role.PROSUMER))
    journal.put_participant(Participant(2, Role.CONSUMER))
    start = T0 - YEAR * MARKET.epoch_seconds
    order_id = 0
    with journal.transaction():
        for k in range(YEAR):
            epoch = MARKET.epoch_id(start + k * MARKET.epoch_seconds)
            last = k == YEAR - 1  # closed, not yet cleared: no fills
            for j in range(10):
                order_id += 1
                side = 1 if j % 2 else -1
                trader, filled = (2 if side == 1 else 1), (None if last else 100)
                journal.add_order(OrderRecord(order_id, epoch, trader, side, 900, 100, 0, False, None, filled))
            if last:
                journal.set_epoch(epoch, EpochState.CLOSED.value)
                continue
            journal.add_fills(epoch, [(order_id - 8 + 2 * j, order_id - 9 + 2 * j, 2, 1, 100, 900) for j in range(5)])
            journal.set_epoch(epoch, EpochState.SETTLED.value, price=900, volume=500)
    journal.close()
    return path


def test_recover_a_year_of_history(benchmark, tmp_path, year_of_history):
    """A restart a year in: the engine opens the journal (and its writer lease), clears the
    epoch the crash left closed, and opens the current one. Each round starts from a copy of
    the same file."""
    paths = iter(range(10**9))

    def setup():
        copy = tmp_path / f"copy-{next(paths)}.sqlite"
        shutil.copy(year_of_history, copy)
        return (str(copy),), {}

    def recover(path):
        manager = EpochManager(MARKET, journal=path, clock=lambda: T0 + 1)
        events = manager.recover()
        manager.close()
        assert [e.state for e in events] == [EpochState.OPEN, EpochState.CLEARED, EpochState.SETTLED]

    benchmark.pedantic(recover, setup=setup, rounds=5, iterations=1)
