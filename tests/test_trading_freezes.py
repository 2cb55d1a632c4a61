"""Every way issue 9 names of freezing an epoch's settlement, on the trading program in LiteSVM:
a buyer that closes its GRID account, a seller that closes its payment account, the payment mint's
freeze authority freezing a trader's account, an order cancelled on chain behind the engine's
back, an operator that never posts or posts a result that cannot finalise, a squatted order id,
an outsider's claim or credit before the engine's, and the rent sysvar of SIMD-0194. Each shows every OTHER
order settling, claiming or refunding in full (and the one affected recovering by its owner's
signature where it can).

Then a property test: random books cleared by the engine (`gridmatch.clear`), placed, posted,
credited in random batches and claimed, with hostile interleavings (outsiders' claims first,
traders closing their accounts, cancels on chain before the close), end with every trader's
balances as the per-order dues imply, the treasury holding the fees and the vaults empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey
from trading_harness import (
    FUNDS,
    T0,
    Chain,
    EpochRef,
    Placed,
    Results,
    addresses,
    side_sign,
)

import gridmatch as gm
from gridmatch.chain.spl import TOKEN_PROGRAM_ID, transfer_checked_ix
from gridmatch.chain.trading import dues as client_dues

# --- a settled epoch and its claims ----------------------------------------------------------------


@dataclass
class Scenario:
    """Two consumers buying and two prosumers selling at 100 ticks, posted; `due` says what each
    order is owed (base units of GRID and payment)."""

    chain: Chain
    epoch: EpochRef
    orders: list[Placed]
    results: Results
    heads: list[bytes]

    @property
    def buyers(self) -> list[Placed]:
        return [o for o in self.orders if o.side == "buy"]

    @property
    def sellers(self) -> list[Placed]:
        return [o for o in self.orders if o.side == "sell"]

    def due(self, order: Placed) -> tuple[int, int]:
        filled = dict(addresses(self.results)).get(order.address)
        if not filled or self.chain.state(self.epoch) == "Abandoned":
            return order.grid_escrow, order.payment_escrow
        grid, payment, _ = self.chain.dues(order, filled, 100)
        return grid, payment

    def credit_all(self) -> None:
        self.chain.credit(self.epoch, self.results, self.heads, 0, len(self.results))


def posted_epoch(chain: Chain) -> Scenario:
    """Consumers' GRID accounts and the prosumers' payment accounts start empty (so either may be
    closed): the buyers pay from their payment accounts, the sellers deliver GRID."""
    epoch = chain.open_epoch()
    buyers = [chain.trader("Consumer", payment=FUNDS) for _ in range(2)]
    sellers = [chain.trader("Prosumer", grid=FUNDS) for _ in range(2)]
    orders = [
        chain.place(buyers[0], epoch, 1, "buy", 120, 5),
        chain.place(buyers[1], epoch, 1, "buy", 100, 4),
        chain.place(sellers[0], epoch, 1, "sell", 80, 3),
        chain.place(sellers[1], epoch, 1, "sell", 100, 6),
    ]
    results = [(orders[3], 6), (orders[0], 5), (orders[2], 3), (orders[1], 4)]
    return Scenario(chain, epoch, orders, results, chain.post(epoch, results, 100))


def claimed_in_full(
    e: Scenario, order: Placed, grid_to: Pubkey | None = None, payment_to: Pubkey | None = None
) -> None:
    """Claims `order` (to its recorded accounts, or by its owner to others) and checks that
    exactly its dues arrived and its account closed."""
    chain = e.chain
    grid_to, payment_to = grid_to or order.trader.grid, payment_to or order.trader.payment
    before = chain.balance(grid_to), chain.balance(payment_to)
    redirect = {"grid_destination": grid_to, "payment_destination": payment_to}
    if grid_to == order.trader.grid and payment_to == order.trader.payment:
        chain.claim(order)
    else:
        chain.claim(order, signer=order.trader.keypair, **redirect)
    grid, payment = e.due(order)
    assert (chain.balance(grid_to) - before[0], chain.balance(payment_to) - before[1]) == (grid, payment)
    assert chain.closed(order.address)


def cranked_claim_fails(e: Scenario, order: Placed) -> None:
    """Its cranked claim is refused (the token program cannot pay the recorded account), and
    nothing changes."""
    sent = e.chain.refused([e.chain.claim_ix(order)], [], None, order.address)
    assert sent.failed == TOKEN_PROGRAM_ID, sent.logs[-4:]


def vaults_end_empty(e: Scenario) -> None:
    chain, m = e.chain, e.epoch.market
    assert chain.balance(m.grid_vault) == 0
    assert chain.balance(m.payment_vault) == chain.decode(m.address).fees_due
    chain.withdraw_fees()
    assert chain.balance(m.payment_vault) == 0


# --- a trader's own account ------------------------------------------------------------------------


def test_a_buyer_that_closes_its_grid_account_after_the_result_stops_only_its_own_claim():
    chain = Chain()
    e = posted_epoch(chain)
    thrower = e.buyers[0]
    chain.close_token_account(thrower.trader.grid, thrower.trader.keypair)  # CloseAccount, after the post
    e.credit_all()
    assert chain.state(e.epoch) == "Finalised"
    cranked_claim_fails(e, thrower)
    for order in e.orders[1:]:
        claimed_in_full(e, order)
    fresh = chain.new_token_account(chain.grid_mint, thrower.trader.key, 0)
    claimed_in_full(e, thrower, grid_to=fresh)  # the owner, signing, names another account
    vaults_end_empty(e)


def test_a_seller_that_closes_its_payment_account_stops_only_its_own_claim():
    chain = Chain()
    e = posted_epoch(chain)
    e.credit_all()
    thrower = e.sellers[1]
    chain.close_token_account(thrower.trader.payment, thrower.trader.keypair)  # after the credit
    cranked_claim_fails(e, thrower)
    for order in e.orders:
        if order is not thrower:
            claimed_in_full(e, order)
    fresh = chain.new_token_account(chain.payment_mint, thrower.trader.key, 0)
    claimed_in_full(e, thrower, payment_to=fresh)
    vaults_end_empty(e)


def test_the_payment_mints_freeze_authority_freezing_traders_stops_only_their_claims():
    """FreezeAccount on a buyer's and a seller's payment accounts (by the mint's own freeze
    authority, through the token program): their claims wait for their owners; everyone else's
    go through."""
    chain = Chain(freeze=True)
    e = posted_epoch(chain)
    frozen = [e.buyers[0], e.sellers[0]]  # both owed payment: the bid's unspent escrow, the ask's proceeds
    for order in frozen:
        chain.freeze_token_account(order.trader.payment)
    e.credit_all()
    for order in frozen:
        cranked_claim_fails(e, order)
    for order in e.orders:
        if order not in frozen:
            claimed_in_full(e, order)
    for order in frozen:
        claimed_in_full(e, order, payment_to=chain.new_token_account(chain.payment_mint, order.trader.key, 0))
    vaults_end_empty(e)


# --- an order cancelled behind the engine's back ---------------------------------------------------


def test_an_order_cancelled_on_chain_while_open_leaves_a_result_without_it_that_settles():
    chain = Chain()
    epoch = chain.open_epoch()
    buyers = [chain.trader("Consumer", payment=FUNDS) for _ in range(2)]
    seller = chain.trader(grid=FUNDS)
    bid, gone = chain.place(buyers[0], epoch, 1, "buy", 110, 4), chain.place(buyers[1], epoch, 1, "buy", 120, 4)
    ask = chain.place(seller, epoch, 1, "sell", 90, 4)
    payment = chain.balance(buyers[1].payment)
    assert chain.send([chain.cancel_ix(gone)], buyers[1].keypair).ok  # the engine's journal still has it
    assert chain.balance(buyers[1].payment) - payment == gone.payment_escrow and chain.closed(gone.address)
    results = [(bid, 4), (ask, 4)]  # the engine reconciles: the result names only what exists at close
    e = Scenario(chain, epoch, [bid, ask], results, chain.post(epoch, results, 100))
    e.credit_all()
    for order in (bid, ask):
        claimed_in_full(e, order)
    sent = chain.send([chain.claim_ix(gone)])  # the engine's claim of it: closed already, a no-op
    assert sent.ok, sent.logs
    vaults_end_empty(e)


# --- the operator ----------------------------------------------------------------------------------


def _refunded_in_full(e: Scenario) -> None:
    assert e.chain.state(e.epoch) == "Abandoned"
    for order in e.orders:
        claimed_in_full(e, order)
    m = e.epoch.market
    assert e.chain.balance(m.grid_vault) == e.chain.balance(m.payment_vault) == 0
    assert e.chain.decode(m.address).fees_due == 0


def test_an_operator_that_never_posts_is_abandoned_by_anyone_after_the_deadline():
    chain = Chain()
    epoch = chain.open_epoch()
    buyers = [chain.trader("Consumer", payment=FUNDS) for _ in range(2)]
    seller = chain.trader(grid=FUNDS)
    orders = [
        chain.place(buyers[0], epoch, 1, "buy", 110, 4),
        chain.place(buyers[1], epoch, 1, "buy", 100, 2),
        chain.place(seller, epoch, 1, "sell", 90, 5),
    ]
    chain.set_time(T0 + 900)
    chain.close(epoch)  # and then silence
    anyone = chain.wallet()
    chain.set_time(T0 + 900 + chain.settle_deadline - 1)
    chain.refused([chain.abandon_ix(epoch, anyone.pubkey())], [anyone], 6021)
    chain.set_time(T0 + 900 + chain.settle_deadline)  # closed_at + settle_deadline: reached
    chain.abandon(epoch, anyone)
    _refunded_in_full(Scenario(chain, epoch, orders, [], []))


def test_an_operator_that_never_closes_is_abandoned_after_the_epoch_and_the_deadline():
    chain = Chain()
    epoch = chain.open_epoch()
    seller = chain.trader(grid=FUNDS)
    orders = [chain.place(seller, epoch, 1, "sell", 90, 5)]
    anyone = chain.wallet()
    end = T0 + chain.epoch_seconds + chain.settle_deadline  # opened_at + epoch_seconds + settle_deadline
    chain.set_time(end - 1)
    chain.refused([chain.abandon_ix(epoch, anyone.pubkey())], [anyone], 6021)
    chain.set_time(end)
    chain.abandon(epoch, anyone)
    _refunded_in_full(Scenario(chain, epoch, orders, [], []))


def test_governance_abandons_a_stuck_epoch_at_once():
    chain = Chain()
    e = posted_epoch(chain)
    chain.credit(e.epoch, e.results, e.heads, 0, 2)
    chain.abandon(e.epoch)  # a governance authority, no deadline
    _refunded_in_full(e)


def test_an_operator_that_posts_a_wrong_volume_is_abandoned_and_every_order_refunds():
    chain = Chain()
    epoch = chain.open_epoch()
    e = _garbage(chain, epoch, volume=11)  # the orders' fills make 9
    chain.credit(e.epoch, e.results, e.heads, 0, 3)
    chain.refused([chain.credit_ix(epoch, addresses(e.results[3:]), e.heads[4])], [], 6018)
    _abandon_after_the_deadline(e)


def test_an_operator_that_posts_a_fill_an_order_does_not_allow_is_abandoned_and_every_order_refunds():
    chain = Chain()
    epoch = chain.open_epoch()
    e = _garbage(chain, epoch, price=115)  # above the 110 of the second bid
    chain.credit(e.epoch, e.results, e.heads, 0, 1)
    chain.refused([chain.credit_ix(epoch, addresses(e.results[1:2]), e.heads[2])], [], 6015)
    _abandon_after_the_deadline(e)


def test_an_operator_that_posts_more_than_an_order_holds_is_abandoned_and_every_order_refunds():
    chain = Chain()
    epoch = chain.open_epoch()
    e = _garbage(chain, epoch, overfill=True)
    chain.refused([chain.credit_ix(epoch, addresses(e.results[:1]), e.heads[1])], [], 6016)
    _abandon_after_the_deadline(e)


def _garbage(
    chain: Chain, epoch: EpochRef, *, price: int = 100, volume: int | None = None, overfill: bool = False
) -> Scenario:
    buyers = [chain.trader("Consumer", payment=FUNDS) for _ in range(2)]
    sellers = [chain.trader(grid=FUNDS) for _ in range(2)]
    orders = [
        chain.place(buyers[0], epoch, 1, "buy", 120, 5),
        chain.place(buyers[1], epoch, 1, "buy", 110, 4),
        chain.place(sellers[0], epoch, 1, "sell", 80, 3),
        chain.place(sellers[1], epoch, 1, "sell", 100, 6),
    ]
    results = [(orders[3], 7 if overfill else 6), (orders[1], 4), (orders[2], 3), (orders[0], 5)]
    chain.set_time(T0 + 900)
    return Scenario(chain, epoch, orders, results, chain.post(epoch, results, price, volume))


def _abandon_after_the_deadline(e: Scenario) -> None:
    chain = e.chain
    anyone = chain.wallet()
    chain.refused([chain.abandon_ix(e.epoch, anyone.pubkey())], [anyone], 6021)
    chain.set_time(T0 + 900 + chain.settle_deadline)
    chain.abandon(e.epoch, anyone)
    _refunded_in_full(e)


# --- a squatted id, an outsider's claim ------------------------------------------------------------


def test_an_id_taken_by_another_trader_does_not_block_the_engines_next_order():
    """A squatter places at the id the engine will use next (a buy at a negative limit: it escrows
    nothing and costs only rent); the engine's order of that id for its trader is another address."""
    chain = Chain()
    epoch = chain.open_epoch()
    squatter = chain.trader("Consumer", payment=0)
    trader = chain.trader("Consumer", payment=FUNDS)
    seller = chain.trader(grid=FUNDS)
    squat = chain.place(squatter, epoch, 7, "buy", -1_000, 1)
    assert (squat.grid_escrow, squat.payment_escrow) == (0, 0)
    bid = chain.place(trader, epoch, 7, "buy", 110, 3)  # the engine's id 7 for its trader
    ask = chain.place(seller, epoch, 7, "sell", 90, 3)
    assert len({squat.address, bid.address, ask.address}) == 3
    results = [(bid, 3), (ask, 3)]
    e = Scenario(chain, epoch, [bid, ask, squat], results, chain.post(epoch, results, 100))
    e.credit_all()
    for order in e.orders:
        claimed_in_full(e, order)
    vaults_end_empty(e)


def test_an_outsiders_claim_first_does_not_fail_the_engines_claim_batch():
    chain = Chain()
    e = posted_epoch(chain)
    e.credit_all()
    outsider = chain.wallet()
    first = e.orders[2]
    grid, payment = chain.balance(first.trader.grid), chain.balance(first.trader.payment)
    assert chain.send([chain.claim_ix(first)], payer=outsider).ok
    balances = {o.address: (chain.balance(o.trader.grid), chain.balance(o.trader.payment)) for o in e.orders}
    sent = chain.send([chain.claim_ix(o) for o in e.orders])  # the engine's batch, the claimed one in it
    assert sent.ok, sent.logs[-4:]
    for order in e.orders:
        before = balances[order.address]
        paid = (chain.balance(order.trader.grid) - before[0], chain.balance(order.trader.payment) - before[1])
        assert paid == ((0, 0) if order is first else e.due(order))
    assert (chain.balance(first.trader.grid) - grid, chain.balance(first.trader.payment) - payment) == e.due(first)
    vaults_end_empty(e)


def test_an_outsider_crediting_first_or_overlapping_does_not_fail_the_engines_credit_batches():
    """Crediting is permissionless, so an outsider can send part of the chain before the engine:
    the engine's batch that overlaps it credits only what is left, a batch credited whole (even
    after the epoch is final) is a no-op, and every order is credited exactly once."""
    chain = Chain()
    e = posted_epoch(chain)
    outsider = chain.wallet()
    credit = [chain.credit_ix(e.epoch, addresses(e.results[i:j]), e.heads[j]) for i, j in ((0, 2), (2, 4))]
    assert chain.send([chain.credit_ix(e.epoch, addresses(e.results[:1]), e.heads[1])], payer=outsider).ok
    sent = chain.send([credit[0]])  # overlaps the outsider's: credits the second result only
    assert sent.ok, sent.logs[-4:]
    state = chain.decode(e.epoch.address)
    assert (state.credited_count, bytes(state.cursor)) == (2, e.heads[2])
    before = chain.snapshot(*(o.address for o in e.orders))
    assert chain.send([credit[0]]).ok  # credited whole already: nothing changes
    assert chain.snapshot(*(o.address for o in e.orders)) == before
    assert chain.send([chain.credit_ix(e.epoch, addresses(e.results), e.heads[4])], payer=outsider).ok
    assert chain.state(e.epoch) == "Finalised"
    before = chain.snapshot(*(o.address for o in e.orders))
    assert chain.send([credit[1]]).ok  # the engine's last batch, after the outsider finalised
    assert chain.snapshot(*(o.address for o in e.orders)) == before
    state = chain.decode(e.epoch.address)
    assert (state.credited_count, state.bought, state.sold) == (4, 9, 9)
    for order in e.orders:
        claimed_in_full(e, order)
    vaults_end_empty(e)


def test_a_batch_not_in_the_posted_chain_is_refused_even_when_part_of_it_was_credited():
    """The no-op is only for results credited exactly as the batch says: another fill for a
    credited order, or a batch whose uncredited part is not the chain's, is refused."""
    chain = Chain()
    e = posted_epoch(chain)
    e.chain.credit(e.epoch, e.results, e.heads, 0, 2)
    (first, filled), rest = addresses(e.results[:1])[0], addresses(e.results[1:2])
    chain.refused([chain.credit_ix(e.epoch, [(first, filled - 1), *rest], e.heads[2])], [], 6014)
    forged = [*addresses(e.results[:2]), (addresses(e.results[3:])[0][0], 4)]
    chain.refused([chain.credit_ix(e.epoch, forged, e.heads[4])], [], 6014)
    e.chain.credit(e.epoch, e.results, e.heads, 2, 4)
    assert chain.state(e.epoch) == "Finalised"


# --- the rent sysvar -------------------------------------------------------------------------------


def test_the_simd_0194_rent_sysvar_changes_no_balance():
    """Threshold 1.0, lamports per byte-year doubled: the market, its vaults, an epoch and an
    order are created with the same balances as under today's rent, and an epoch settles."""
    today = Chain()
    chain = Chain(initialize=False)
    chain.set_rent(6_960, 1.0)
    assert chain.svm.minimum_balance_for_rent_exemption(203) == today.svm.minimum_balance_for_rent_exemption(203)
    sent = chain.send([chain.initialize_ix()], chain.authority)
    assert sent.ok, sent.logs
    e = posted_epoch(chain)
    reference = posted_epoch(today)
    pairs = [
        (chain.market.address, today.market.address),
        (chain.market.grid_vault, today.market.grid_vault),
        (chain.market.payment_vault, today.market.payment_vault),
        (e.epoch.address, reference.epoch.address),
        *((a.address, b.address) for a, b in zip(e.orders, reference.orders, strict=True)),
    ]
    for ours, theirs in pairs:
        assert chain.lamports(ours) == today.lamports(theirs) > 0
    e.credit_all()
    for order in e.orders:
        claimed_in_full(e, order)
    vaults_end_empty(e)


# --- the property: random books, hostile interleavings ---------------------------------------------


@st.composite
def days(draw: st.DrawFn) -> dict[str, Any]:
    """A market's fee rules and units; traders; a book; which orders are cancelled on chain
    before the close; which traders close an account and when; the clearing rule; the order of
    the result; the batch sizes; which orders an outsider claims first."""
    kinds = ["Prosumer", *draw(st.lists(st.sampled_from(["Prosumer", "Consumer"]), min_size=1, max_size=4))]
    orders = []
    for n in range(draw(st.integers(2, 12))):
        trader = 0 if n == 0 else draw(st.integers(0, len(kinds) - 1))
        if n < 2:  # a sell (by the first trader, a prosumer) and a buy first: most books cross
            side = ("sell", "buy")[n]
        else:
            side = draw(st.sampled_from(["buy", "sell"])) if kinds[trader] == "Prosumer" else "buy"
        price = draw(st.integers(20, 160) if side == "buy" else st.integers(-60, 120))  # mostly crossing
        orders.append((trader, side, price, draw(st.integers(1, 25))))
    n = len(orders)
    return {
        "market": {
            "lot": draw(st.sampled_from([1, 1_000, 10**6])),
            "tick": draw(st.sampled_from([1, 7, 100])),
            "fee_bps": draw(st.sampled_from([0, 1, 25, 100, 333, 10_000]) | st.integers(0, 10_000)),
            "fee_payer": draw(st.sampled_from(["buyer", "seller", "split"])),
            "fee_rounding": draw(st.sampled_from(["down", "up", "half_even"])),
        },
        "kinds": kinds,
        "orders": orders,
        "cancelled": draw(st.sets(st.integers(0, n - 1), max_size=max(0, n // 3))),
        # (trader, "grid" or "payment", "open" / "posted" / "finalised"): it empties and closes it then.
        "closes": draw(
            st.lists(
                st.tuples(
                    st.integers(0, len(kinds) - 1),
                    st.sampled_from(["grid", "payment"]),
                    st.sampled_from(["open", "posted", "finalised"]),
                ),
                max_size=2,
                unique_by=lambda c: c[:2],
            )
        ),
        "rule": draw(st.sampled_from(["midpoint", "marginal_ask", "marginal_bid", "exchange"])),
        "allocation": draw(st.sampled_from(["time", "pro_rata"])),
        "shuffle": draw(st.randoms(use_true_random=False)),
        "batches": draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)),
        "outsider_claims": draw(st.sets(st.integers(0, n - 1))),
        "claim_batch": draw(st.integers(1, 4)),
    }


class Day:
    """One epoch of a drawn day on chain, with what each trader's accounts should end holding."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.chain = chain = Chain(**case["market"])
        self.traders = [
            chain.trader(kind, grid=FUNDS if kind == "Prosumer" else 0, payment=FUNDS) for kind in case["kinds"]
        ]
        # Every token account each trader holds, the ones it opens later included.
        self.accounts: dict[int, list[Pubkey]] = {i: [t.grid, t.payment] for i, t in enumerate(self.traders)}
        self.start = {i: self.held(i) for i in self.accounts}
        self.epoch = chain.open_epoch()

    def held(self, trader: int) -> tuple[int, int]:
        """(GRID, payment) over every token account of the trader's."""
        grid = payment = 0
        for account in self.accounts[trader]:
            if self.chain.closed(account):
                continue
            mint = bytes(self.chain.account(account).data)[:32]  # type: ignore[union-attr]
            if mint == bytes(self.chain.grid_mint):
                grid += self.chain.balance(account)
            else:
                payment += self.chain.balance(account)
        return grid, payment

    def close_accounts(self, when: str) -> None:
        """Traders drawn to close an account at `when`: they move its balance to a fresh account of
        theirs and close it (SPL CloseAccount needs it empty)."""
        chain = self.chain
        for index, which, at in self.case["closes"]:
            if at != when:
                continue
            trader = self.traders[index]
            account = trader.grid if which == "grid" else trader.payment
            if chain.closed(account):
                continue
            mint = chain.grid_mint if which == "grid" else chain.payment_mint
            spare = chain.new_token_account(mint, trader.key, 0)
            self.accounts[index].append(spare)
            amount = chain.balance(account)
            if amount:
                decimals = 9 if which == "grid" else 6
                move = transfer_checked_ix(account, mint, spare, amount, decimals, trader.key)
                assert chain.send([move], trader.keypair).ok
            chain.close_token_account(account, trader.keypair)

    def live_account(self, trader: int, mint: Pubkey) -> Pubkey:
        """The first of the trader's token accounts of `mint` that is still open."""
        chain = self.chain
        return next(
            a
            for a in self.accounts[trader]
            if not chain.closed(a) and bytes(chain.account(a).data)[:32] == bytes(mint)  # type: ignore[union-attr]
        )

    def owner_index(self, order: Placed) -> int:
        return self.traders.index(order.trader)

    def claim(self, orders: Sequence[Placed]) -> list[Placed]:
        """The engine's claims, in batches; a batch that fails is split, and an order that fails
        alone is returned (its recorded account is gone)."""
        sent = self.chain.send([self.chain.claim_ix(o) for o in orders])
        if sent.ok:
            return []
        if len(orders) == 1:
            trader = orders[0].trader
            assert self.chain.closed(trader.grid) or self.chain.closed(trader.payment), sent.logs[-4:]
            return list(orders)
        half = len(orders) // 2
        return self.claim(orders[:half]) + self.claim(orders[half:])

    def redirect(self, order: Placed) -> None:
        """The owner claims to fresh accounts of its own."""
        chain = self.chain
        index = self.owner_index(order)
        grid = chain.new_token_account(chain.grid_mint, order.trader.key, 0)
        payment = chain.new_token_account(chain.payment_mint, order.trader.key, 0)
        self.accounts[index] += [grid, payment]
        chain.claim(order, signer=order.trader.keypair, grid_destination=grid, payment_destination=payment)


@settings(max_examples=max(5, settings().max_examples // 3), deadline=None)
@given(days())
def test_random_days_settle_to_the_dues_whatever_traders_and_outsiders_do(case: dict[str, Any]):
    """The engine's clearing of a random book, settled through the program with traders and
    outsiders interfering, leaves every trader's accounts where the per-order dues say."""
    day = Day(case)
    chain, epoch = day.chain, day.epoch
    totals = chain.totals()
    placed = [
        chain.place(day.traders[t], epoch, n, side, price, qty)
        for n, (t, side, price, qty) in enumerate(case["orders"])
    ]
    day.close_accounts("open")
    for n in sorted(case["cancelled"]):  # to accounts of the owner's that are still open
        order, index = placed[n], day.owner_index(placed[n])
        grid, payment = day.live_account(index, chain.grid_mint), day.live_account(index, chain.payment_mint)
        cancel = chain.cancel_ix(order, grid_destination=grid, payment_destination=payment)
        assert chain.send([cancel], order.trader.keypair).ok
    live = [o for n, o in enumerate(placed) if n not in case["cancelled"]]

    # Off chain: the engine clears the orders live at the close.
    book = gm.order_array(
        id=[o.order_id for o in live],
        trader=[day.owner_index(o) for o in live],
        side=[o.side for o in live],
        price=[o.price for o in live],
        qty=[o.qty for o in live],
    )
    cleared = gm.clear(book, rule=case["rule"], allocation=case["allocation"], reference_price=50)
    by_id = {o.order_id: o for o in live}
    filled: dict[int, int] = {}
    for fill in cleared.fills:
        for order_id in (int(fill["buy_id"]), int(fill["sell_id"])):
            filled[order_id] = filled.get(order_id, 0) + int(fill["qty"])
    results = [(by_id[i], f) for i, f in filled.items()]
    case["shuffle"].shuffle(results)
    price = cleared.price if cleared.price is not None else 0

    heads = chain.post(epoch, results, price, cleared.volume)
    day.close_accounts("posted")
    done, sizes = 0, case["batches"]
    while done < len(results):  # a result without fills is final when posted
        end = min(len(results), done + sizes[0])
        sizes = sizes[1:] + sizes[:1]
        chain.credit(epoch, results, heads, done, end)
        assert chain.totals() == totals
        done = end
    assert chain.state(epoch) == "Finalised"
    day.close_accounts("finalised")

    # Outsiders crank some claims first; then the engine claims every order it placed, the
    # cancelled and the already claimed among them; owners redirect what their accounts refuse.
    outsider = chain.wallet()
    for n in sorted(case["outsider_claims"]):
        chain.send([chain.claim_ix(placed[n])], payer=outsider)
    size = case["claim_batch"]
    refused = [o for i in range(0, len(placed), size) for o in day.claim(placed[i : i + size])]
    for order in refused:
        day.redirect(order)
    event("an owner redirected a claim its closed account refused" if refused else "every claim cranked")
    event("orders cancelled on chain" if case["cancelled"] else "no order cancelled")
    event("no fills" if not results else "fills")
    assert all(chain.closed(o.address) for o in placed)
    chain.withdraw_fees()

    # Every trader holds what the per-order dues say, over all its accounts.
    terms = chain.terms(chain.epoch_fee(epoch))
    fees = 0
    expected = dict(day.start)
    for order, lots in results:
        grid_due, payment_due, fee = chain.dues(order, lots, price)
        assert (grid_due, payment_due, fee) == client_dues(
            terms, side_sign(order.side), lots, price, order.grid_escrow, order.payment_escrow
        )
        index = day.owner_index(order)
        grid, payment = expected[index]
        expected[index] = (grid + grid_due - order.grid_escrow, payment + payment_due - order.payment_escrow)
        fees += fee
    assert {i: day.held(i) for i in expected} == expected
    assert chain.balance(chain.market.treasury) == fees == chain.decode(epoch.address).fees
    assert chain.balance(chain.market.grid_vault) == chain.balance(chain.market.payment_vault) == 0
    assert chain.totals() == totals
