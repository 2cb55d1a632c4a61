"""Epochs settled through the trading program (escrow mode), driven by the epoch engine: each
accepted order's worst case is escrowed on chain as it is accepted, the cleared epoch's result
is posted, its fills settled out of the vaults and every order refunded the rest; balances end
exactly where the fills say, once, whatever the chain does; refusals change nothing anywhere."""

from __future__ import annotations

import datetime as dt

import pytest
from anchorpy import Context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from gridmatch.chain import FaultyChain, LiteSVMChain, programs
from gridmatch.chain.base import ChainRequestInvalid
from gridmatch.chain.escrow import ProgramSettler
from gridmatch.chain.trading import escrow
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochManager, EpochState, InsufficientFunds
from gridmatch.errors import InvalidOrder, TransactionFailed
from gridmatch.journal import OrderRecord
from gridmatch.market import Market
from gridmatch.participants import Participant, Role
from gridmatch.settlement import Batch, flows

T0 = dt.datetime(2016, 6, 21, 12, 0, tzinfo=dt.UTC).timestamp()
E0 = 201606211200
MARKET = Market()
SELLERS, BUYERS = (1, 2, 3), (4, 5, 6)
ROLES = {**dict.fromkeys(SELLERS, Role.PROSUMER), **dict.fromkeys(BUYERS, Role.CONSUMER)}
GRID_EACH = MARKET.grid_units(5_000)
PAYMENT_EACH = 10**12


def program_market(chain: LiteSVMChain | None = None, settle_chain: FaultyChain | None = None):
    """A venue settling through the trading program, and an engine over it. `settle_chain`
    (wrapping the venue's chain) carries settlement only, so faults can be aimed at it."""
    chain = chain or LiteSVMChain(seed=3)
    venue = Venue.create(chain, MARKET, ROLES, seed=3, settle="program")
    for pid in SELLERS:
        venue.mint_grid(pid, GRID_EACH)
    for pid in BUYERS:
        venue.deposit(pid, PAYMENT_EACH)
    settler = venue.settler()
    if settle_chain is not None:
        assert venue.trading is not None
        wallets = {pid: key.pubkey() for pid, key in venue.keys.items()}
        settler = ProgramSettler(settle_chain, venue.trading, wallets, lookup_tables=venue.lookup_tables)
    manager = EpochManager(MARKET, settler=settler, escrow=venue.escrow(), journal=":memory:")
    for pid, role in ROLES.items():
        manager.register(Participant(pid, role, wallet=str(venue.wallet(pid))))
    return venue, manager


def trade(manager: EpochManager) -> None:
    manager.step(T0)
    for i, pid in enumerate(SELLERS):
        manager.submit(pid, -1, 1_000 + 100 * i, 900 + i, at=T0 + 1)
    for i, pid in enumerate(BUYERS):
        manager.submit(pid, 1, 900 + 50 * i, 960 - i, at=T0 + 2)


def vaults(venue: Venue) -> list[int]:
    assert venue.trading is not None
    return venue.chain.token_balances([venue.trading.grid_vault, venue.trading.payment_vault])


def state(venue: Venue, manager: EpochManager):
    """Everything a refusal must leave as it was: balances, vaults, the journal's orders."""
    return venue.balances(), vaults(venue), manager.journal.all_orders()


def moved_exactly_once(venue: Venue, manager: EpochManager, before: dict) -> bool:
    after = venue.balances()
    expected = {key: before.get(key, 0) + manager.balances_moved().get(key, 0) for key in after}
    return after == expected and manager.balances_moved() != {} and vaults(venue) == [0, 0]


def test_accepting_an_order_escrows_its_worst_case_on_chain():
    venue, manager = program_market()
    assert venue.trading is not None
    manager.step(T0)
    before = venue.balances()
    sell = manager.submit(1, -1, 1_200, 905, at=T0 + 1)
    buy = manager.submit(4, 1, 700, 990, at=T0 + 2)
    sell_grid, sell_pay = escrow(MARKET, -1, 905, 1_200)
    _, buy_pay = escrow(MARKET, 1, 990, 700)
    assert sell_grid == MARKET.grid_units(1_200) and sell_pay == 0
    assert buy_pay >= MARKET.split(MARKET.notional(700, 990))[0]  # covers the limit and its fee
    after = venue.balances()
    assert after["grid", 1] == before["grid", 1] - sell_grid
    assert after["payment", 4] == before["payment", 4] - buy_pay
    assert vaults(venue) == [sell_grid, buy_pay]
    data = venue.chain.account_data([venue.trading.order(E0, sell.id), venue.trading.order(E0, buy.id)])
    orders = [venue.trading.decode("Order", d) for d in data if d is not None]
    assert [(o.order_id, o.owner, o.limit_price, o.qty) for o in orders] == [
        (sell.id, venue.wallet(1), 905, 1_200),
        (buy.id, venue.wallet(4), 990, 700),
    ]
    epoch = venue.trading.decode("Epoch", venue.chain.account_data([venue.trading.epoch(E0)])[0])
    assert (epoch.epoch_id, epoch.live_orders, type(epoch.state).__name__) == (E0, 2, "Open")


def test_an_epoch_settles_through_the_program():
    venue, manager = program_market()
    assert venue.trading is not None
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED
    assert moved_exactly_once(venue, manager, before)
    fills = manager.journal.fills(E0)
    assert fills and manager.balances_moved() == {k: v for k, v in flows(fills, MARKET).items() if v}
    epoch = venue.trading.decode("Epoch", venue.chain.account_data([venue.trading.epoch(E0)])[0])
    assert (type(epoch.state).__name__, epoch.settled_count, epoch.live_orders) == ("Settled", len(fills), 0)
    orders = manager.journal.orders(E0)
    assert venue.chain.account_data([venue.trading.order(E0, o.id) for o in orders]) == [None] * len(orders)
    batches = manager.journal.batches(E0)
    assert len(batches) >= 3  # the result, the fills, the refunds
    for batch in batches:
        ((attempt, attempt_state),) = batch.attempts
        assert attempt_state == "confirmed" and venue.chain.memo_of(attempt.signature).endswith(batch.id)


def test_an_epoch_without_a_cross_refunds_every_order():
    venue, manager = program_market()
    before = venue.balances()
    manager.step(T0)
    manager.submit(1, -1, 100, 990, at=T0 + 1)
    manager.submit(4, 1, 100, 900, at=T0 + 2)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED and manager.journal.fills(E0) == []
    assert venue.balances() == before and vaults(venue) == [0, 0]


def test_refused_orders_change_nothing_on_chain_or_in_the_journal():
    venue, manager = program_market()
    manager.step(T0)
    manager.submit(2, -1, 10, 900, at=T0 + 1)  # the epoch is open on chain
    before = state(venue, manager)
    with pytest.raises(InsufficientFunds, match="participant 1 escrows"):
        manager.submit(1, -1, 5_001, 900, at=T0 + 1)  # holds 5,000 lots of GRID
    with pytest.raises(InsufficientFunds):
        manager.submit(4, 1, 10**6, 10**6, at=T0 + 1)  # cannot pay for it
    with pytest.raises(InvalidOrder, match="rollover") as info:
        manager.submit(4, 1, 10, 900, rollover=True, at=T0 + 1)
    assert info.value.field == "rollover"
    assert state(venue, manager) == before


def test_a_paused_market_refuses_orders_and_changes_nothing():
    venue, manager = program_market()
    assert venue.trading is not None
    manager.step(T0)
    governance = programs.client("governance")
    authority = venue.chain.authority.pubkey()
    pause = governance.instruction["pause"](
        ctx=Context(accounts={"config": venue.trading.governance, "authority": authority})
    )
    venue.chain.send([pause])
    before = state(venue, manager)
    with pytest.raises(TransactionFailed):
        manager.submit(1, -1, 10, 900, at=T0 + 1)
    assert state(venue, manager) == before
    assert venue.chain.account_data([venue.trading.epoch(E0)]) == [None]  # not even the epoch opened


def test_a_participant_the_registry_suspended_cannot_place_and_nothing_changes():
    venue, manager = program_market()
    assert venue.trading is not None
    manager.step(T0)
    registry = programs.client("registry")
    accounts = {
        "registry": Pubkey.find_program_address([b"registry"], programs.program_id("registry"))[0],
        "participant": venue.trading.participant(venue.wallet(4)),
        "authority": venue.chain.authority.pubkey(),
    }
    venue.chain.send([registry.instruction["suspend_participant"](ctx=Context(accounts=accounts))])
    before = state(venue, manager)
    with pytest.raises(TransactionFailed):
        manager.submit(4, 1, 10, 900, at=T0 + 1)  # the engine does not know; the program does
    assert state(venue, manager) == before
    manager.submit(5, 1, 10, 900, at=T0 + 1)  # everyone else trades on


def test_a_failed_settlement_is_retried_and_pays_once():
    inner = LiteSVMChain(seed=3)
    venue, manager = program_market(inner, FaultyChain(inner, fail_on={1}))  # the first fills' batch
    before = venue.balances()
    trade(manager)
    escrowed = venue.balances()
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.FAILED
    assert venue.balances() == escrowed  # the result is posted; nothing moved out of escrow
    manager.step(T0 + 901)
    assert manager.state(E0) == EpochState.SETTLED
    assert moved_exactly_once(venue, manager, before)


@pytest.mark.parametrize("land", [True, False])
def test_a_timeout_is_reconciled_not_paid_twice(land: bool):
    inner = LiteSVMChain(seed=3)
    venue, manager = program_market(inner, FaultyChain(inner, timeout_on={1}, land_on_timeout=land))
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.CLEARED  # waiting: the outcome is unknown
    manager.step(T0 + 901)
    assert manager.state(E0) == EpochState.SETTLED
    assert moved_exactly_once(venue, manager, before)
    for batch in manager.journal.batches(E0):
        assert [s for _, s in batch.attempts] == ["confirmed"]  # found or resent, never re-signed


def test_a_restarted_settler_signs_the_same_batches_and_refuses_others():
    inner = LiteSVMChain(seed=3)
    venue, manager = program_market(inner, FaultyChain(inner, fail_on={0}))
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.FAILED
    assert venue.trading is not None
    wallets = {pid: key.pubkey() for pid, key in venue.keys.items()}
    fresh = ProgramSettler(inner, venue.trading, wallets, lookup_tables=venue.lookup_tables)
    fresh.bind(manager.journal)
    for record in manager.journal.batches(E0):
        batch = Batch(record.id, E0, record.idx, tuple(record.transfers))
        fresh.prepare(batch)  # rebuilt from the journal: the same id
    first = manager.journal.batches(E0)[0]
    with pytest.raises(ChainRequestInvalid) as info:
        fresh.prepare(Batch("0" * 32, E0, first.idx, ()))
    assert info.value.field == "batch"
    manager.settler = fresh
    manager.step(T0 + 901)
    assert manager.state(E0) == EpochState.SETTLED


def test_an_order_placed_just_before_a_crash_is_given_back():
    """The chain accepted a placement whose journal row was lost: the id is given out again,
    and the order nobody acknowledged goes back to its owner first."""
    venue, manager = program_market()
    assert venue.trading is not None
    manager.step(T0)
    before = venue.balances()
    escrow_of = venue.escrow()
    assert escrow_of is not None
    lost = OrderRecord(manager.journal.next_order_id(), E0, 4, 1, 950, 300, 0, False, None, None)
    escrow_of.place(lost)  # on chain, never journaled
    assert venue.balances()["payment", 4] < before["payment", 4]
    ack = manager.submit(5, 1, 200, 940, at=T0 + 1)
    assert ack.id == lost.id
    after = venue.balances()
    assert after["payment", 4] == before["payment", 4]  # given back whole
    (data,) = venue.chain.account_data([venue.trading.order(E0, ack.id)])
    assert data is not None and venue.trading.decode("Order", data).owner == venue.wallet(5)


def test_the_program_needs_its_participants_roles():
    with pytest.raises(ChainRequestInvalid) as info:
        Venue.create(LiteSVMChain(seed=1), MARKET, SELLERS, settle="program")
    assert info.value.field == "participants"
    with pytest.raises(ChainRequestInvalid) as info:
        Venue.create(LiteSVMChain(seed=1), MARKET, ROLES, settle="escrow")  # type: ignore[arg-type]
    assert info.value.field == "settle"


_order = st.tuples(st.sampled_from(SELLERS + BUYERS), st.integers(850, 1_000), st.integers(1, 200))  # within holdings


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_order, min_size=2, max_size=24))
def test_random_orders_cleared_and_settled_through_the_program_end_where_the_fills_say(orders):
    venue, manager = program_market()
    before = venue.balances()
    manager.step(T0)
    for k, (pid, price, qty) in enumerate(orders):
        manager.submit(pid, -1 if pid in SELLERS else 1, qty, price, at=T0 + 1 + k)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED
    fills = manager.journal.fills(E0)
    expected = flows(fills, MARKET)
    after = venue.balances()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == expected
    assert vaults(venue) == [0, 0]
