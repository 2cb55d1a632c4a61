"""Epochs settled through the trading program (pull settlement), driven by the epoch engine: each
accepted order's worst case is escrowed on chain as it is accepted; an ended epoch is closed on
chain first and the orders its owners cancelled there are left out of the book; the result is
posted, each filled order credited and every order claimed to the accounts it recorded, the fees
withdrawn. Balances end exactly where the per-order dues say (one fee rounding per order), the
vaults empty, once, whatever the chain or the traders do; refusals change nothing anywhere."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from anchorpy import Context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction
from spl.token import instructions as token_ix

from gridmatch.chain import FaultyChain, LiteSVMChain, Prepared, Sent, programs
from gridmatch.chain.base import ChainRequestInvalid
from gridmatch.chain.escrow import OrderEscrow, ProgramSettler
from gridmatch.chain.metering import ReadingRefused
from gridmatch.chain.spl import ACCOUNT_LEN, TOKEN_PROGRAM_ID
from gridmatch.chain.trading import OrderRef, dues, escrow
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochClosed, EpochManager, EpochState, InsufficientFunds, OrderAck
from gridmatch.errors import InvalidOrder, TransactionFailed
from gridmatch.journal import OrderMark, OrderRecord
from gridmatch.market import Market
from gridmatch.participants import Participant, Role
from gridmatch.settlement import GRID, PAYMENT, VAULT, Batch, flows, order_flows

T0 = dt.datetime(2016, 6, 21, 12, 0, tzinfo=dt.UTC).timestamp()
E0 = 201606211200
#: A fee of 0.33%: each order's fee rounds on its own (the default 1% of a whole tick never rounds).
MARKET = Market(fee_bps=33)
SELLERS, BUYERS = (1, 2, 3), (4, 5, 6)
ROLES = {**dict.fromkeys(SELLERS, Role.PROSUMER), **dict.fromkeys(BUYERS, Role.CONSUMER)}
GRID_EACH = MARKET.grid_units(5_000)
PAYMENT_EACH = 10**12
DISCRIMINATORS = {name: hashlib.sha256(f"global:{name}".encode()).digest()[:8] for name in ("credit_orders", "claim")}


class Crash(BaseException):
    """The market process dies here: nothing after it runs."""


class Scripted(FaultyChain):
    """Settlement's chain with a script: `before[kind]` runs once, just before the first
    transaction that credits ("credit_orders") or claims ("claim") is submitted, and with
    `crash = (kind, n)` the process dies at the n-th such transaction, having sent it (`land`)
    or not."""

    def __init__(
        self,
        inner: LiteSVMChain,
        *,
        before: dict[str, Callable[[], None]] | None = None,
        crash: tuple[str, int] | None = None,
        land: bool = True,
    ) -> None:
        super().__init__(inner)
        self.before = dict(before or {})
        self.crash = crash
        self.land = land
        self.seen: dict[str, int] = defaultdict(int)

    def submit(self, prepared: Prepared) -> Sent:
        kind = kind_of(prepared)
        if kind is not None:
            self.seen[kind] += 1
            action = self.before.pop(kind, None)
            if action is not None:
                action()
            if self.crash == (kind, self.seen[kind]):
                self.crash = None
                if self.land:
                    self.inner.submit(prepared)
                raise Crash(f"died sending {kind} transaction {self.seen[kind]}")
        return super().submit(prepared)


def kind_of(prepared: Prepared) -> str | None:
    message = VersionedTransaction.from_bytes(prepared.raw).message
    for ix in message.instructions:
        for name, discriminator in DISCRIMINATORS.items():
            if bytes(ix.data)[:8] == discriminator:
                return name
    return None


def program_market(settle_chain: Callable[[LiteSVMChain], FaultyChain] | None = None, journal: str = ":memory:"):
    """A venue settling through the trading program, and an engine over it. `settle_chain`
    wraps the venue's chain for settlement only, so faults can be aimed at it."""
    chain = LiteSVMChain(seed=3)
    venue = Venue.create(chain, MARKET, ROLES, seed=3, settle="program")
    for pid in SELLERS:
        venue.mint_grid(pid, GRID_EACH)
    for pid in BUYERS:
        venue.deposit(pid, PAYMENT_EACH)
    settler = venue.settler() if settle_chain is None else settler_on(venue, settle_chain(chain))
    manager = EpochManager(MARKET, settler=settler, escrow=venue.escrow(), journal=journal)
    for pid, role in ROLES.items():
        manager.register(Participant(pid, role, wallet=str(venue.wallet(pid))))
    return venue, manager


def settler_on(venue: Venue, chain: LiteSVMChain | FaultyChain) -> ProgramSettler:
    assert venue.trading is not None
    wallets = {pid: key.pubkey() for pid, key in venue.keys.items()}
    return ProgramSettler(chain, venue.trading, wallets, lookup_tables=venue.lookup_tables)


def trade(manager: EpochManager) -> None:
    """Three sells and three buys that all cross: the buys fill whole, the sells in part."""
    manager.step(T0)
    for i, pid in enumerate(SELLERS):
        manager.submit(pid, -1, 1_000 + 100 * i, 900 + i, at=T0 + 1)
    for i, pid in enumerate(BUYERS):
        manager.submit(pid, 1, 901 + 50 * i, 960 - i, at=T0 + 2)


def trade_many(manager: EpochManager) -> None:
    """Ten orders from each trader: enough for several credit and claim transactions."""
    manager.step(T0)
    for k in range(10):
        for pid in SELLERS:
            manager.submit(pid, -1, 50 + 7 * k + pid, 890 + (k * pid) % 40, at=T0 + 1 + k)
        for pid in BUYERS:
            manager.submit(pid, 1, 40 + 5 * k + pid, 900 + (k * pid) % 50, at=T0 + 1 + k)


def vaults(venue: Venue) -> list[int]:
    assert venue.trading is not None
    return venue.chain.token_balances([venue.trading.grid_vault, venue.trading.payment_vault])


def state(venue: Venue, manager: EpochManager):
    """Everything a refusal must leave as it was: balances, vaults, the journal's orders."""
    return venue.balances(), vaults(venue), manager.journal.all_orders()


def by_dues(manager: EpochManager) -> dict[tuple[str, int], int]:
    """What the per-order dues say each participant gained, over every epoch of the journal."""
    total: dict[tuple[str, int], int] = defaultdict(int)
    for record in manager.journal.epochs():
        filled = [(o.trader, o.side, o.filled) for o in manager.journal.orders(record.id) if o.filled]
        for key, amount in order_flows(filled, record.price or 0, MARKET).items():
            total[key] += amount
    return {key: amount for key, amount in total.items() if amount}


def assert_settled_as_dues_say(venue: Venue, manager: EpochManager, before: dict) -> None:
    expected = by_dues(manager)
    assert expected and manager.balances_moved() == expected
    after = venue.balances()
    assert after == {key: before[key] + expected.get(key, 0) for key in after}
    assert vaults(venue) == [0, 0]
    for record in manager.journal.epochs():
        for batch in manager.journal.batches(record.id):
            assert [s for _, s in batch.attempts].count("confirmed") == 1


def epoch_on_chain(venue: Venue):
    assert venue.trading is not None
    return venue.trading.decode("Epoch", venue.chain.account_data([venue.trading.epoch(E0)])[0])


def order_accounts(venue: Venue, manager: EpochManager) -> list[bytes | None]:
    assert venue.trading is not None
    t = venue.trading
    orders = manager.journal.orders(E0)
    return venue.chain.account_data([t.order(E0, venue.wallet(o.trader), o.id) for o in orders])


def ref(venue: Venue, order_id: int, pid: int) -> OrderRef:
    assert venue.trading is not None
    return OrderRef(E0, order_id, venue.trading.trader(venue.wallet(pid)))


# -- placing -----------------------------------------------------------------------------------


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
    t = venue.trading
    data = venue.chain.account_data([t.order_address(ref(venue, sell.id, 1)), t.order_address(ref(venue, buy.id, 4))])
    orders = [t.decode("Order", d) for d in data if d is not None]
    assert [(o.order_id, o.owner, o.limit_price, o.qty, o.grid_account) for o in orders] == [
        (sell.id, venue.wallet(1), 905, 1_200, t.trader(venue.wallet(1)).grid),
        (buy.id, venue.wallet(4), 990, 700, t.trader(venue.wallet(4)).grid),
    ]
    epoch = epoch_on_chain(venue)
    assert (epoch.epoch_id, epoch.live_orders, type(epoch.state).__name__) == (E0, 2, "Open")
    assert epoch.fee_bps == MARKET.fee_bps  # governance's fee, which the venue set to the market's


def test_refused_orders_change_nothing_on_chain_or_in_the_journal():
    venue, manager = program_market()
    manager.step(T0)
    manager.submit(2, -1, 10, 900, at=T0 + 1)  # the epoch is open on chain
    before = state(venue, manager), manager.journal.next_order_id()
    with pytest.raises(InsufficientFunds, match="participant 1 escrows"):
        manager.submit(1, -1, 5_001, 900, at=T0 + 1)  # holds 5,000 lots of GRID
    with pytest.raises(InsufficientFunds):
        manager.submit(4, 1, 10**6, 10**6, at=T0 + 1)  # cannot pay for it
    with pytest.raises(InvalidOrder, match="rollover") as info:
        manager.submit(4, 1, 10, 900, rollover=True, at=T0 + 1)
    assert info.value.field == "rollover"
    assert (state(venue, manager), manager.journal.next_order_id()) == before


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


def test_an_id_the_trader_took_on_chain_is_skipped_journaled_and_its_order_claimed_back():
    venue, manager = program_market()
    assert venue.trading is not None
    t = venue.trading
    before = venue.balances()
    manager.step(T0)
    manager.submit(1, -1, 1_000, 900, at=T0 + 1)  # opens the epoch on chain
    taken = manager.journal.next_order_id()
    own = ref(venue, taken, 4)  # the trader places under the engine's next id, with its own key
    venue.chain.send([t.place_ix(own, 1, 940, 300)], signers=[venue.keys[4]])
    escrowed = venue.balances()["payment", 4]
    ack = manager.submit(4, 1, 500, 950, at=T0 + 2)
    assert ack.id == taken + 1
    (mark,) = manager.journal.marks(E0, OrderMark.ID_TAKEN)
    assert (mark.id, mark.trader) == (taken, 4) and "on chain already" in mark.detail
    assert [o.id for o in manager.journal.orders(E0)] == [taken - 1, taken + 1]
    assert manager.submit(5, 1, 100, 950, at=T0 + 3).id == taken + 2  # never given out again
    assert venue.balances()["payment", 4] < escrowed
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED
    assert venue.chain.account_data([t.order_address(own)]) == [None]  # claimed back with the epoch
    assert_settled_as_dues_say(venue, manager, before)  # its escrow whole: it was in no result


def test_an_order_on_chain_the_journal_never_had_is_skipped_or_left_to_its_owner():
    """An order placed through the escrow with no journal row at all (by a tool of the
    operator's, or an engine of before intents; a crash now leaves an intent, see above): when
    the id is given to the same trader, the chain holds it: the id is skipped and the order
    claimed with the epoch. To another trader, the addresses differ: the engine never meets it,
    and it waits, in no result, for its owner (or anyone) to claim it once the epoch is
    finalised."""
    venue, manager = program_market()
    assert venue.trading is not None
    t = venue.trading
    manager.step(T0)
    before = venue.balances()
    escrow_of = venue.escrow()
    assert escrow_of is not None
    first = OrderRecord(manager.journal.next_order_id(), E0, 4, 1, 950, 300, 0, False, None, None)
    escrow_of.place(first)  # on chain, never journaled
    assert manager.submit(4, 1, 200, 940, at=T0 + 1).id == first.id + 1  # the same trader: skipped
    second = OrderRecord(manager.journal.next_order_id(), E0, 5, 1, 950, 300, 0, False, None, None)
    escrow_of.place(second)
    assert manager.submit(4, 1, 100, 940, at=T0 + 2).id == second.id  # another trader's lost order
    manager.submit(1, -1, 400, 900, at=T0 + 3)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED
    lost = t.order_address(ref(venue, second.id, 5))
    assert venue.chain.account_data([t.order_address(ref(venue, first.id, 4)), lost])[0] is None
    assert venue.chain.account_data([lost])[0] is not None and vaults(venue)[1] > 0
    venue.chain.send([t.claim_ix(ref(venue, second.id, 5))])  # anyone may crank it
    assert_settled_as_dues_say(venue, manager, before)


@pytest.mark.parametrize("landed", [True, False])
def test_an_order_whose_placement_a_crash_cut_short_is_never_acknowledged(tmp_path: Path, landed: bool):
    """The engine journals an escrowed order as being placed before it sends it. The process
    dies after sending (the order `landed` on chain) or before: the restarted engine never
    gives the id out again, never acknowledges the order, leaves it out of the book, and
    claims its escrow back with the epoch."""
    journal = str(tmp_path / "journal.sqlite")
    venue, manager = program_market(journal=journal)
    assert venue.trading is not None
    before = venue.balances()
    manager.step(T0)
    manager.submit(1, -1, 1_000, 900, at=T0 + 1)
    cut = OrderRecord(manager.journal.next_order_id(), E0, 4, 1, 950, 300, 0, False, None, None)
    manager.journal.mark_order(E0, cut.id, 4, OrderMark.PLACING, "")  # what the dead process journaled
    if landed:
        escrow_of = venue.escrow()
        assert escrow_of is not None
        escrow_of.place(cut)
    manager.close()  # the process dies: its lease goes with it
    restarted = EpochManager(
        MARKET, settler=venue.settler(), escrow=venue.escrow(), journal=journal, clock=lambda: T0 + 5
    )
    restarted.recover()
    assert restarted.submit(4, 1, 500, 950, at=T0 + 6).id == cut.id + 1
    restarted.step(T0 + 900)
    assert restarted.state(E0) == EpochState.SETTLED
    assert cut.id not in {o.id for o in restarted.journal.orders(E0)}
    assert (cut.id, 4) in {(m.id, m.trader) for m in restarted.journal.marks(E0, OrderMark.ID_TAKEN)}
    assert all(cut.id not in (f[0], f[1]) for f in restarted.journal.fills(E0))
    assert venue.chain.account_data([venue.trading.order_address(ref(venue, cut.id, 4))]) == [None]
    assert_settled_as_dues_say(venue, restarted, before)  # its escrow, if any, came back whole


@pytest.mark.parametrize("first", [True, False])
def test_an_epoch_that_closes_while_an_order_is_placed_refuses_it_and_returns_its_escrow(first: bool):
    """The epoch's step closes it while a submit's placement is on its way: the order is not
    acknowledged (EpochClosed), is in no book, and its escrow (if the placement landed) comes
    back with the epoch. When it is the epoch's `first` order, the epoch is not yet on chain:
    the close opens and closes it there, so the placement can never land."""
    venue, manager = program_market()
    assert venue.trading is not None
    before = venue.balances()
    manager.step(T0)
    if not first:
        manager.submit(1, -1, 1_000, 900, at=T0 + 1)
    escrow_of = manager.escrow
    assert isinstance(escrow_of, OrderEscrow)
    place_many = escrow_of.place_many

    def racing(orders):
        if first:  # the step wins the race to the chain
            manager.step(T0 + 900)
            return place_many(orders)
        outcomes = place_many(orders)  # the placement lands, then the step closes the epoch
        manager.step(T0 + 900)
        return outcomes

    escrow_of.place_many = racing  # type: ignore[method-assign]
    with pytest.raises(EpochClosed) as info:
        manager.submit(4, 1, 300, 950, at=T0 + 2)
    assert info.value.field == "epoch"
    escrow_of.place_many = place_many  # type: ignore[method-assign]
    assert [o.trader for o in manager.journal.orders(E0)] == ([] if first else [1])
    manager.step(T0 + 901)
    assert manager.state(E0) == EpochState.SETTLED
    assert epoch_on_chain(venue).state.__class__.__name__ in ("Closed", "Finalised")
    assert vaults(venue) == [0, 0]
    assert venue.balances() == before  # nothing traded, every escrow back


def test_a_batch_of_orders_is_escrowed_in_few_transactions_each_refusal_its_own():
    venue, manager = program_market()
    assert venue.trading is not None
    t = venue.trading
    counted = FaultyChain(venue.chain)  # counts the escrow's transactions
    manager.escrow = OrderEscrow(counted, t, venue.keys, lookup_tables=venue.lookup_tables)
    registry = programs.client("registry")
    accounts = {
        "registry": Pubkey.find_program_address([b"registry"], programs.program_id("registry"))[0],
        "participant": t.participant(venue.wallet(6)),
        "authority": venue.chain.authority.pubkey(),
    }
    venue.chain.send([registry.instruction["suspend_participant"](ctx=Context(accounts=accounts))])
    manager.step(T0)
    manager.submit(2, -1, 10, 900, at=T0 + 1)  # opens the epoch
    taken = manager.journal.next_order_id() + 2  # the batch's third order's id, which its trader takes itself
    venue.chain.send([t.place_ix(ref(venue, taken, 3), -1, 990, 5)], signers=[venue.keys[3]])
    before = venue.balances(), counted.calls
    orders = [
        (1, -1, 2_000, 900),
        (4, 1, 500, 950),
        (3, -1, 100, 905),  # its id is taken on chain by its own order: placed under another
        (5, 1, 10**6, 10**6),  # cannot pay for it: refused by the funds check, nothing sent
        (6, 1, 100, 950),  # suspended by the registry: the chain refuses its placement alone
        (1, -1, 3_001, 900),  # participant 1's second: with the first, more GRID than it holds
        (4, 1, 600, 960),
        (1, -1, 1_000, 901),
    ]
    outcomes = manager.submit_many(orders, at=T0 + 2)
    refused = {k: type(o).__name__ for k, o in enumerate(outcomes) if not isinstance(o, OrderAck)}
    assert refused == {3: "InsufficientFunds", 4: "TransactionFailed", 5: "InsufficientFunds"}
    acks = [o for o in outcomes if isinstance(o, OrderAck)]
    assert [(a.trader, a.qty) for a in acks] == [(1, 2_000), (4, 500), (3, 100), (4, 600), (1, 1_000)]
    assert [a.id for a in acks if a.trader != 3] == sorted(a.id for a in acks if a.trader != 3)  # in batch order
    assert next(a.id for a in acks if a.trader == 3) > taken and [
        m.id for m in manager.journal.marks(E0, OrderMark.ID_TAKEN)
    ] == [taken]
    data = venue.chain.account_data([t.order_address(ref(venue, a.id, a.trader)) for a in acks])
    assert all(d is not None for d in data)
    assert [o.id for o in manager.journal.orders(E0)][1:] == sorted(a.id for a in acks)
    # Its transactions: the five placements together (refused: one trader is suspended), the
    # five again each alone, then participant 3's under its new id.
    assert counted.calls - before[1] == 5 + 1 + 1
    after = venue.balances()
    for pid in (5, 6):
        assert after["payment", pid] == before[0]["payment", pid]  # the refused moved nothing
    held = after["grid", 1] + MARKET.grid_units(3_000)
    assert held == before[0]["grid", 1]  # its first and third escrowed, its second refused
    calls = counted.calls
    again = manager.submit_many([(pid, -1 if pid < 4 else 1, 10, 930) for pid in (1, 2, 4, 5) * 3], at=T0 + 3)
    assert all(isinstance(a, OrderAck) for a in again) and counted.calls - calls <= 3  # 12 orders


def test_readings_of_many_prosumers_go_together_and_a_refused_one_stops_the_rest():
    venue, _ = program_market()
    before = venue.balances()
    venue.mint_grids({1: 7, 2: 8}, at=venue.chain.unix_time() + 900)
    after = venue.balances()
    assert (after["grid", 1] - before["grid", 1], after["grid", 2] - before["grid", 2]) == (7, 8)
    with pytest.raises(ReadingRefused) as info:
        venue.mint_grids({1: 5, 4: 5, 2: 5}, at=venue.chain.unix_time() + 900)  # 4 is a consumer: no meter
    assert "participant 4's reading" in str(info.value)
    final = venue.balances()
    assert (final["grid", 1] - after["grid", 1], final["grid", 2] - after["grid", 2], final["grid", 4]) == (5, 0, 0)


# -- settling ----------------------------------------------------------------------------------


def test_an_epoch_settles_through_the_program_order_by_order():
    venue, manager = program_market()
    assert venue.trading is not None
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED
    assert_settled_as_dues_say(venue, manager, before)
    fills = manager.journal.fills(E0)
    per_order = by_dues(manager)
    assert per_order != flows(fills, MARKET)  # fees rounded per order, not per fill: the chain shows it
    orders = manager.journal.orders(E0)
    epoch = epoch_on_chain(venue)
    filled = [o for o in orders if o.filled]
    assert (type(epoch.state).__name__, epoch.result_count, epoch.credited_count) == ("Finalised", 6, 6)
    assert len(filled) == 6 and epoch.volume == sum(f[4] for f in fills) == manager.journal.epoch(E0).volume
    assert epoch.fees == per_order[PAYMENT, 0]
    assert order_accounts(venue, manager) == [None] * len(orders)  # every order claimed and closed
    batches = manager.journal.batches(E0)
    assert len(batches) == 4  # the result, the credits, the claims, the fees
    for batch in batches:
        ((attempt, attempt_state),) = batch.attempts
        assert attempt_state == "confirmed" and venue.chain.memo_of(attempt.signature).endswith(batch.id)
    with_the_vaults = [any(VAULT in (source, dest) for _, source, dest, _ in b.transfers) for b in batches]
    assert with_the_vaults == [False, True, False, True]  # the credits and the fees move against them


def test_the_journal_moves_exactly_the_programs_dues():
    """Each order's credited transfers are what the client's `dues` (the program's arithmetic)
    give, less the escrow: nothing else decides what a trader ends with."""
    _, manager = program_market()
    trade(manager)
    manager.step(T0 + 900)
    record = manager.journal.epoch(E0)
    assert record is not None and record.price is not None
    net: dict[tuple[str, int], int] = defaultdict(int)
    for o in manager.journal.orders(E0):
        grid_escrow, payment_escrow = escrow(MARKET, o.side, o.price, o.qty)
        grid_due, payment_due, _ = dues(MARKET, o.side, o.filled, record.price, grid_escrow, payment_escrow)
        net[GRID, o.trader] += grid_due - grid_escrow
        net[PAYMENT, o.trader] += payment_due - payment_escrow
    moved = manager.balances_moved()
    assert {k: v for k, v in net.items() if v} == {k: v for k, v in moved.items() if k[1] != 0}


def test_an_epoch_without_a_cross_gives_every_order_its_escrow_back():
    venue, manager = program_market()
    before = venue.balances()
    manager.step(T0)
    manager.submit(1, -1, 100, 990, at=T0 + 1)
    manager.submit(4, 1, 100, 900, at=T0 + 2)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED and manager.journal.fills(E0) == []
    assert venue.balances() == before and vaults(venue) == [0, 0]
    assert type(epoch_on_chain(venue).state).__name__ == "Finalised"


def test_an_order_cancelled_on_chain_before_close_is_reconciled_and_not_posted():
    venue, manager = program_market()
    assert venue.trading is not None
    before = venue.balances()
    trade(manager)
    cancelled = manager.journal.orders(E0, 4)[0]
    venue.chain.send([venue.trading.cancel_ix(ref(venue, cancelled.id, 4))], signers=[venue.keys[4]])
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED
    (mark,) = manager.journal.marks(E0, OrderMark.CANCELLED)
    assert (mark.id, mark.trader) == (cancelled.id, 4)
    orders = {o.id: o for o in manager.journal.orders(E0)}
    assert orders[cancelled.id].filled is None  # left out of the book
    record = manager.journal.epoch(E0)
    assert record is not None and record.detail["cancelled"] == 1 and record.detail["orders"] == 5
    epoch = epoch_on_chain(venue)
    assert epoch.result_count == sum(1 for o in orders.values() if o.filled) == 4  # seller 3 no longer fills
    assert_settled_as_dues_say(venue, manager, before)  # the cancel gave participant 4 all back


@pytest.mark.parametrize("how", ["closed", "frozen"])
def test_a_closed_or_frozen_recorded_account_holds_back_that_order_alone(how: str):
    """The buyer closes its GRID account (or the mint's freeze authority freezes it) after the
    result, just before the claims are sent: the claim transaction fails, and is signed again
    without that order, which is marked unclaimable; every other order claims. The owner then
    claims it, signing, to an account of its choosing."""
    venue, manager = None, None

    def spoil_buyers_grid_account() -> None:
        assert venue is not None and isinstance(venue.chain, LiteSVMChain)
        grid = venue.accounts.account(4, GRID)
        if how == "closed":
            params = token_ix.CloseAccountParams(
                program_id=TOKEN_PROGRAM_ID, account=grid, dest=venue.wallet(4), owner=venue.wallet(4)
            )
            venue.chain.send([token_ix.close_account(params)], signers=[venue.keys[4]])
            return
        account = venue.chain.svm.get_account(grid)  # as a freeze authority would: its state Frozen
        assert account is not None
        data = bytearray(account.data)
        data[108] = 2
        venue.chain.svm.set_account(grid, Account(account.lamports, bytes(data), account.owner))

    venue, manager = program_market(lambda inner: Scripted(inner, before={"claim": spoil_buyers_grid_account}))
    assert venue.trading is not None
    t = venue.trading
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.FAILED  # the claims' transaction failed on that account
    manager.step(T0 + 905)
    assert manager.state(E0) == EpochState.SETTLED
    (bad,) = manager.journal.orders(E0, 4)
    (mark,) = manager.journal.marks(E0, OrderMark.UNCLAIMABLE)
    assert (mark.id, mark.trader) == (bad.id, 4) and f"GRID account is {how}" in mark.detail
    grid_escrow, payment_escrow = escrow(MARKET, 1, bad.price, bad.qty)
    price = manager.journal.epoch(E0).price
    grid_due, payment_due, _ = dues(MARKET, 1, bad.filled, price, grid_escrow, payment_escrow)
    assert vaults(venue) == [grid_due, payment_due]  # the bad order's dues, and nothing else
    expected = by_dues(manager)
    now = {key: before[key] + expected.get(key, 0) for key in before}
    now[GRID, 4], now[PAYMENT, 4] = 0, before[PAYMENT, 4] - payment_escrow  # its dues still in the vaults
    others = [key for key in before if key != (GRID, 4) or how == "frozen"]  # a closed account has no balance
    after = venue.chain.token_balances([venue.accounts.account(pid, mint) for mint, pid in others])
    assert after == [now[key] for key in others]
    # The owner claims it, signing, to a GRID account of its choosing.
    elsewhere, payment = new_token_account(venue.chain, venue.wallet(4), t.grid_mint), t.trader(venue.wallet(4)).payment
    claim = t.claim_ix(ref(venue, bad.id, 4), grid_destination=elsewhere, payment_destination=payment)
    venue.chain.send([claim], signers=[venue.keys[4]])
    assert venue.chain.token_balances([elsewhere, payment]) == [expected[GRID, 4], now[PAYMENT, 4] + payment_due]
    assert payment_due - payment_escrow == expected[PAYMENT, 4]
    assert vaults(venue) == [0, 0]


def new_token_account(chain: LiteSVMChain, owner: Pubkey, mint: Pubkey) -> Pubkey:
    account = Keypair()
    rent = chain.svm.minimum_balance_for_rent_exemption(ACCOUNT_LEN)
    create = create_account(
        CreateAccountParams(
            from_pubkey=chain.authority.pubkey(),
            to_pubkey=account.pubkey(),
            lamports=rent,
            space=ACCOUNT_LEN,
            owner=TOKEN_PROGRAM_ID,
        )
    )
    init = token_ix.initialize_account(
        token_ix.InitializeAccountParams(program_id=TOKEN_PROGRAM_ID, account=account.pubkey(), mint=mint, owner=owner)
    )
    chain.send([create, init], signers=[account])
    return account.pubkey()


def test_a_claim_batch_goes_through_when_an_outsider_claimed_one_of_its_orders_first():
    venue, manager = None, None

    def outsider_claims() -> None:
        assert venue is not None and venue.trading is not None and manager is not None
        first = manager.journal.orders(E0)[0]
        venue.chain.send([venue.trading.claim_ix(ref(venue, first.id, first.trader))])

    venue, manager = program_market(lambda inner: Scripted(inner, before={"claim": outsider_claims}))
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED
    for batch in manager.journal.batches(E0):
        assert [s for _, s in batch.attempts] == ["confirmed"]  # signed once, landed once
    assert manager.journal.marks(E0, OrderMark.UNCLAIMABLE) == []
    assert_settled_as_dues_say(venue, manager, before)


def test_a_failed_close_leaves_the_epoch_closed_and_the_next_step_settles_it():
    venue, manager = program_market(lambda inner: FaultyChain(inner, fail_on={0}))  # the close
    before = venue.balances()
    trade(manager)
    escrowed = venue.balances()
    manager.step(T0 + 900)
    record = manager.journal.epoch(E0)
    assert record is not None and record.state == EpochState.CLOSED and "injected" in record.detail["error"]
    assert manager.journal.fills(E0) == [] and venue.balances() == escrowed
    assert type(epoch_on_chain(venue).state).__name__ == "Open"
    manager.step(T0 + 901)
    assert manager.state(E0) == EpochState.SETTLED
    assert_settled_as_dues_say(venue, manager, before)


def test_a_failed_settlement_is_retried_and_pays_once():
    venue, manager = program_market(lambda inner: FaultyChain(inner, fail_on={2}))  # the first credits
    before = venue.balances()
    trade(manager)
    escrowed = venue.balances()
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.FAILED
    assert venue.balances() == escrowed  # the result is posted; nothing moved out of escrow
    assert type(epoch_on_chain(venue).state).__name__ == "Posted"
    manager.step(T0 + 905)
    assert manager.state(E0) == EpochState.SETTLED
    assert_settled_as_dues_say(venue, manager, before)


@pytest.mark.parametrize("land", [True, False])
def test_a_timeout_is_reconciled_not_paid_twice(land: bool):
    venue, manager = program_market(lambda inner: FaultyChain(inner, timeout_on={2, 3}, land_on_timeout=land))
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.CLEARED  # waiting: the outcome is unknown
    for k in range(1, 4):
        manager.step(T0 + 900 + k)
    assert manager.state(E0) == EpochState.SETTLED
    for batch in manager.journal.batches(E0):
        assert [s for _, s in batch.attempts] == ["confirmed"]  # found or resent, never re-signed
    assert_settled_as_dues_say(venue, manager, before)


@pytest.mark.parametrize("land", [True, False])
@pytest.mark.parametrize("phase", ["credit_orders", "claim"])
def test_a_crash_while_crediting_or_claiming_pays_nothing_twice(tmp_path: Path, phase: str, land: bool):
    journal = str(tmp_path / "journal.sqlite")
    venue, manager = program_market(lambda inner: Scripted(inner, crash=(phase, 2), land=land), journal=journal)
    before = venue.balances()
    trade_many(manager)
    with pytest.raises(Crash):
        manager.step(T0 + 900)
    batches = manager.journal.batches(E0)
    assert sum(1 for b in batches if b.transfers and b.transfers[0][0] == GRID) >= 2  # several credits
    assert len(batches) - sum(1 for b in batches if b.transfers) - 1 >= 2  # several claims
    assert manager.state(E0) == EpochState.CLEARED
    assert isinstance(venue.chain, LiteSVMChain)
    manager.close()  # as the process's death does: its journal and writer lease are released
    restarted = EpochManager(
        MARKET, settler=settler_on(venue, venue.chain), escrow=venue.escrow(), journal=journal, clock=lambda: T0 + 901
    )
    restarted.recover()
    assert restarted.state(E0) == EpochState.SETTLED
    assert_settled_as_dues_say(venue, restarted, before)


def test_a_restarted_settler_signs_the_same_batches_and_refuses_others():
    venue, manager = program_market(lambda inner: FaultyChain(inner, fail_on={1}))  # the result
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.FAILED
    assert isinstance(venue.chain, LiteSVMChain)
    fresh = settler_on(venue, venue.chain)
    cleared = manager._journaled(E0)  # what the engine hands it after a restart
    for record in manager.journal.batches(E0):
        batch = Batch(record.id, E0, record.idx, tuple(record.transfers))
        fresh.prepare(batch, cleared)  # rebuilt from the journal's clearing: the same id
    first = manager.journal.batches(E0)[0]
    with pytest.raises(ChainRequestInvalid) as info:
        fresh.prepare(Batch("0" * 32, E0, first.idx, ()), cleared)
    assert info.value.field == "batch"
    manager.settler = fresh
    manager.step(T0 + 905)
    assert manager.state(E0) == EpochState.SETTLED


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
def test_random_books_cleared_settled_and_claimed_end_where_the_dues_say(orders):
    venue, manager = program_market()
    before = venue.balances()
    manager.step(T0)
    for k, (pid, price, qty) in enumerate(orders):
        manager.submit(pid, -1 if pid in SELLERS else 1, qty, price, at=T0 + 1 + k)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED
    expected = by_dues(manager)
    after = venue.balances()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == expected
    assert manager.balances_moved() == expected
    assert vaults(venue) == [0, 0]
    assert order_accounts(venue, manager) == [None] * len(orders)
