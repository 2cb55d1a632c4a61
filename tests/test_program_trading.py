"""The trading program (programs/trading, programs/README.md "Trading") in LiteSVM: every
instruction on its happy path with the accounts' bytes decoded and checked, each mint conserved
(the vaults and every token account) through placing, cancelling, crediting, claiming and
withdrawing fees, governance's permissions (who creates and updates a market, the fee an epoch
takes), the IDL against the program, and the compute units (`make bench-programs`).

The attack classes are tests/test_trading_attacks.py; the freezes and the property test
tests/test_trading_freezes.py; the harness tests/trading_harness.py.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from anchorpy import Context
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.transaction import Transaction, VersionedTransaction
from trading_harness import (
    FUNDS,
    GOVERNANCE_CONFIG,
    INSTRUCTIONS,
    MAX_TX_BYTES,
    MAX_UNITS,
    PROGRAMS,
    T0,
    TRADING_ID,
    ZERO_HASH,
    Chain,
    EpochRef,
    Placed,
    Results,
    Sent,
    Trader,
    addresses,
    program_bytes,
    result_heads,
    sighash,
    snake,
    without_signer,
)

from gridmatch.chain.spl import TOKEN_PROGRAM_ID

MARKET_LEN, EPOCH_LEN, ORDER_LEN = 245, 188, 203  # programs/README.md, "Accounts"


@pytest.fixture
def chain() -> Chain:
    return Chain()


@dataclass
class Book:
    """An open epoch with a prosumer and a consumer funded to trade."""

    chain: Chain
    epoch: EpochRef
    seller: Trader
    buyer: Trader


@pytest.fixture
def book(chain: Chain) -> Book:
    seller = chain.trader("Prosumer", grid=FUNDS, payment=FUNDS)
    buyer = chain.trader("Consumer", payment=FUNDS)
    return Book(chain, chain.open_epoch(), seller, buyer)


@dataclass
class Posted:
    """Two bids and two asks and a third bid that does not fill; the result at 100 ticks posted."""

    chain: Chain
    epoch: EpochRef
    orders: list[Placed]
    results: Results
    heads: list[bytes]


@pytest.fixture
def posted(book: Book) -> Posted:
    chain, epoch = book.chain, book.epoch
    seller2 = chain.trader("Prosumer", grid=FUNDS, payment=FUNDS)
    buyer2 = chain.trader("Prosumer", grid=FUNDS, payment=FUNDS)
    bid1 = chain.place(book.buyer, epoch, 1, "buy", 110, 5)
    bid2 = chain.place(buyer2, epoch, 1, "buy", 100, 4)  # the same id, another owner: another order
    ask1 = chain.place(book.seller, epoch, 3, "sell", 90, 3)
    ask2 = chain.place(seller2, epoch, 4, "sell", 100, 6)
    bid3 = chain.place(book.buyer, epoch, 5, "buy", 80, 2)
    results = [(ask2, 6), (bid1, 5), (ask1, 3), (bid2, 4)]  # in an order of the engine's choosing
    heads = chain.post(epoch, results, 100)
    return Posted(chain, epoch, [bid1, bid2, ask1, ask2, bid3], results, heads)


def test_the_program_is_an_sbpf_v0_shared_object():
    data = program_bytes("trading")
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    (e_flags,) = struct.unpack_from("<I", data, 48)
    assert data[:4] == b"\x7fELF" and (e_type, e_machine, e_flags) == (3, 247, 0)  # ET_DYN, EM_BPF, SBPF v0


# --- initialize_market, update_market ------------------------------------------------------------


def test_initialize_market_creates_the_market_and_its_vaults(chain: Chain):
    m = chain.market
    market = chain.decode(m.address)
    assert (market.market_id, market.operator, market.treasury) == (1, chain.operator.pubkey(), m.treasury)
    assert (market.grid_mint, market.payment_mint) == (chain.grid_mint, chain.payment_mint)
    assert (market.grid_vault, market.payment_vault) == (m.grid_vault, m.payment_vault)
    assert (market.lot, market.tick, market.epoch_seconds, market.settle_deadline) == (10**6, 100, 900, 3_600)
    assert (type(market.fee_payer).__name__, type(market.fee_rounding).__name__) == ("Buyer", "Up")
    assert (market.grid_decimals, market.payment_decimals, market.fees_due) == (9, 6, 0)
    assert market.bump == Pubkey.find_program_address([b"market", struct.pack("<Q", 1)], TRADING_ID)[1]
    account = chain.account(m.address)
    assert account is not None and account.owner == TRADING_ID
    assert len(account.data) == MARKET_LEN == chain.trading.account["Market"].size
    assert bytes(account.data)[:8] == sighash("account", "Market")
    assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(MARKET_LEN)
    for vault, mint in ((m.grid_vault, chain.grid_mint), (m.payment_vault, chain.payment_mint)):
        vault_account = chain.account(vault)
        assert vault_account is not None and vault_account.owner == TOKEN_PROGRAM_ID
        data = bytes(vault_account.data)
        # mint, owner (the market signs for its vaults), amount 0, no delegate, initialised, no close authority
        assert (Pubkey(data[:32]), Pubkey(data[32:64]), chain.balance(vault)) == (mint, m.address, 0)
        assert (data[72:76], data[108], data[129:133]) == (bytes(4), 1, bytes(4))
        assert vault_account.lamports == chain.rent_token


def test_initialize_market_refuses_bad_parameters_and_a_second_time():
    chain = Chain(initialize=False)
    m = chain.market
    for bad in ({"lot": 0}, {"tick": 0}, {"epoch_seconds": 0}, {"settle_deadline": 0}):
        chain.refused([chain.initialize_ix(**bad)], [chain.authority], 6010)
    chain.refused([chain.initialize_ix(market_id=2)], [chain.authority], 2006)  # the market at id 1's address
    grid_treasury = chain.new_token_account(chain.grid_mint, Keypair().pubkey(), 0)
    chain.refused([chain.initialize_ix(treasury=grid_treasury)], [chain.authority], 2014)
    chain.refused([chain.initialize_ix(treasury=chain.operator.pubkey())], [chain.authority], 3007)
    # The same mint twice: the payment vault would be the GRID vault.
    same = chain.market_ref(1, m.treasury, payment_mint=chain.grid_mint)
    chain.refused([chain.initialize_ix(same)], [chain.authority], None)
    assert chain.closed(m.address)
    assert chain.send([chain.initialize_ix()], chain.authority).ok
    chain.refused([chain.initialize_ix()], [chain.authority], 3000)


def test_initialize_market_needs_a_governance_authoritys_signature():
    chain = Chain(initialize=False)
    stranger = chain.wallet()
    chain.refused([chain.initialize_ix(authority=stranger.pubkey())], [stranger], 6020)
    chain.refused([without_signer(chain.initialize_ix(), chain.authority.pubkey())], [], 3010)
    # A second authority of governance's may.
    second = chain.wallet()
    chain.set_governance(authorities=[chain.authority.pubkey(), second.pubkey()])
    assert chain.send([chain.initialize_ix(authority=second.pubkey())], second).ok


def test_initialize_market_refuses_a_grid_mint_that_is_not_energy_tokens():
    chain = Chain(initialize=False)
    for authority in (chain.authority.pubkey(), None):
        mint = chain.new_mint(9, authority)
        forged = chain.market_ref(1, chain.market.treasury, grid_mint=mint)
        chain.refused([chain.initialize_ix(forged)], [chain.authority], 6023)
    assert chain.closed(chain.market.address)


def test_update_market_rotates_the_operator_and_the_treasury(chain: Chain):
    old = chain.operator
    new = chain.wallet()
    treasury = chain.new_token_account(chain.payment_mint, Keypair().pubkey(), 0)
    ix = chain.update_market_ix(operator=new.pubkey(), treasury=treasury, epoch_seconds=300, settle_deadline=600)
    stranger = chain.wallet()
    refused = chain.update_market_ix(operator=stranger.pubkey(), treasury=treasury, authority=stranger.pubkey())
    chain.refused([refused], [stranger], 6020)
    chain.refused([without_signer(ix, chain.authority.pubkey())], [], 3010)
    grid_treasury = chain.new_token_account(chain.grid_mint, Keypair().pubkey(), 0)
    chain.refused([chain.update_market_ix(operator=new.pubkey(), treasury=grid_treasury)], [chain.authority], 2014)
    sent = chain.send([ix], chain.authority)
    assert sent.ok, sent.logs
    market = chain.decode(chain.market.address)
    assert (market.operator, market.treasury) == (new.pubkey(), treasury)
    assert (market.epoch_seconds, market.settle_deadline) == (300, 600)

    # The old operator is refused everything an operator does; the new one is not.
    epoch = chain.epoch(1)
    chain.refused([chain.open_epoch_ix(epoch, old.pubkey())], [old], 6001)
    assert chain.send([chain.open_epoch_ix(epoch, new.pubkey())], new).ok
    chain.refused([chain.close_epoch_ix(epoch, old.pubkey())], [old], 6001)
    assert chain.send([chain.close_epoch_ix(epoch, new.pubkey())], new).ok
    chain.refused([chain.post_ix(epoch, 0, 0, 0, ZERO_HASH, old.pubkey())], [old], 6001)
    assert chain.send([chain.post_ix(epoch, 0, 0, 0, ZERO_HASH, new.pubkey())], new).ok

    # Fees are withdrawn to the new treasury only.
    chain.operator = new
    epoch = chain.open_epoch(2)
    bid = chain.place(chain.trader("Consumer", payment=FUNDS), epoch, 1, "buy", 100, 2)
    ask = chain.place(chain.trader(grid=FUNDS), epoch, 1, "sell", 100, 2)
    chain.settle(epoch, [(bid, 2), (ask, 2)], 100)
    chain.refused([chain.withdraw_fees_ix(treasury=chain.market.treasury)], [], 2001)
    assert chain.send([chain.withdraw_fees_ix(treasury=treasury)]).ok
    assert chain.balance(treasury) == chain.decode(epoch.address).fees > 0


# --- open_epoch, close_epoch ---------------------------------------------------------------------


def test_the_operator_opens_and_closes_an_epoch(chain: Chain):
    epoch = chain.epoch(7)
    impostor = chain.wallet()
    chain.refused([chain.open_epoch_ix(epoch, impostor.pubkey())], [impostor], 6001)
    chain.set_time(T0 + 42)
    sent = chain.send([chain.open_epoch_ix(epoch)], chain.operator)
    assert sent.ok, sent.logs
    state = chain.decode(epoch.address)
    assert (state.market, state.epoch_id, type(state.state).__name__) == (chain.market.address, 7, "Open")
    assert (state.fee_bps, state.opened_at, state.closed_at) == (100, T0 + 42, 0)
    assert (state.orders_placed, state.live_orders, state.price, state.volume, state.result_count) == (0, 0, 0, 0, 0)
    assert (bytes(state.results_hash), bytes(state.cursor)) == (ZERO_HASH, ZERO_HASH)
    assert (state.credited_count, state.bought, state.sold, state.fees) == (0, 0, 0, 0)
    assert (
        state.bump
        == Pubkey.find_program_address([b"epoch", bytes(chain.market.address), struct.pack("<Q", 7)], TRADING_ID)[1]
    )
    account = chain.account(epoch.address)
    assert account is not None and len(account.data) == EPOCH_LEN == chain.trading.account["Epoch"].size
    assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(EPOCH_LEN)
    chain.refused([chain.open_epoch_ix(epoch)], [chain.operator], 3000)

    chain.refused([chain.close_epoch_ix(epoch, impostor.pubkey())], [impostor], 6001)
    chain.set_time(T0 + 900)
    assert chain.send([chain.close_epoch_ix(epoch)], chain.operator).ok
    state = chain.decode(epoch.address)
    assert (type(state.state).__name__, state.opened_at, state.closed_at) == ("Closed", T0 + 42, T0 + 900)
    chain.refused([chain.close_epoch_ix(epoch)], [chain.operator], 6003)


def _set_parameters(chain: Chain, fee_bps: int) -> None:
    """governance's own set_parameters, signed by its authority."""
    governance = chain.program["governance"]
    accounts = {"config": GOVERNANCE_CONFIG, "authority": chain.authority.pubkey()}
    sent = chain.send(
        [governance.instruction["set_parameters"](fee_bps, ctx=Context(accounts=accounts))], chain.authority
    )
    assert sent.ok, sent.logs
    chain.fee_bps = fee_bps


def test_an_epochs_fee_is_governances_when_it_opened():
    """set_parameters between epochs changes the next epoch's fee and not an open one's; each
    epoch settles at its own fee, and the treasury receives both."""
    chain = Chain(fee_bps=100)
    seller = chain.trader(grid=FUNDS)
    buyer = chain.trader("Consumer", payment=FUNDS)
    first = chain.open_epoch(1)
    _set_parameters(chain, 250)
    second = chain.open_epoch(2)
    _set_parameters(chain, 7)
    assert (chain.decode(first.address).fee_bps, chain.decode(second.address).fee_bps) == (100, 250)
    fees = 0
    for epoch in (first, second):
        bid = chain.place(buyer, epoch, 1, "buy", 120, 10)
        ask = chain.place(seller, epoch, 2, "sell", 80, 10)
        fee_bps = chain.decode(epoch.address).fee_bps
        assert bid.payment_escrow == 10 * (120 * 100 + -(-120 * 100 * fee_bps // 10_000))  # the fee rounded up
        chain.settle(epoch, [(bid, 10), (ask, 10)], 100)
        fee = chain.dues(bid, 10, 100)[2] + chain.dues(ask, 10, 100)[2]
        assert fee == 10 * 100 * 100 * fee_bps // 10_000 and chain.decode(epoch.address).fees == fee
        fees += fee
        for order in (bid, ask):
            chain.claim(order)
    assert chain.decode(chain.market.address).fees_due == fees
    chain.withdraw_fees()
    assert chain.balance(chain.market.treasury) == fees == 10 * 100 * 100 * 350 // 10_000


# --- place_order, cancel_order -------------------------------------------------------------------


def test_place_order_escrows_the_worst_case_and_records_the_order(book: Book):
    chain, epoch = book.chain, book.epoch
    before = chain.balances()
    totals = chain.totals()
    lamports = chain.lamports(book.buyer.key)
    bid = chain.place(book.buyer, epoch, 11, "buy", 333, 7)
    ask = chain.place(book.seller, epoch, 12, "sell", 250, 5)
    # 333 ticks * 100 = 33,300 a lot, + 1% rounded up = 33,633; the seller escrows its GRID only.
    assert (bid.grid_escrow, bid.payment_escrow, ask.grid_escrow, ask.payment_escrow) == (0, 7 * 33_633, 5 * 10**6, 0)
    after = chain.balances()
    assert after[book.buyer.payment] == before[book.buyer.payment] - bid.payment_escrow
    assert after[book.seller.grid] == before[book.seller.grid] - ask.grid_escrow
    assert (after[chain.market.payment_vault], after[chain.market.grid_vault]) == (bid.payment_escrow, ask.grid_escrow)
    assert chain.totals() == totals

    order = chain.decode(bid.address)
    assert (order.epoch, order.owner, order.order_id, type(order.side).__name__) == (
        epoch.address,
        book.buyer.key,
        11,
        "Buy",
    )
    assert (order.limit_price, order.qty, order.filled, order.grid_escrow, order.payment_escrow) == (
        333,
        7,
        0,
        0,
        bid.payment_escrow,
    )
    assert (order.grid_due, order.payment_due, order.credited) == (0, 0, False)
    assert (order.grid_account, order.payment_account) == (book.buyer.grid, book.buyer.payment)
    assert (
        order.bump
        == Pubkey.find_program_address(
            [b"order", bytes(epoch.address), bytes(book.buyer.key), struct.pack("<Q", 11)], TRADING_ID
        )[1]
    )
    account = chain.account(bid.address)
    assert account is not None and len(account.data) == ORDER_LEN == chain.trading.account["Order"].size
    rent = chain.svm.minimum_balance_for_rent_exemption(ORDER_LEN)
    assert account.lamports == rent and chain.lamports(book.buyer.key) == lamports - rent  # the owner pays the rent
    sell = chain.decode(ask.address)
    assert (type(sell.side).__name__, sell.grid_escrow, sell.payment_escrow) == ("Sell", ask.grid_escrow, 0)
    state = chain.decode(epoch.address)
    assert (state.orders_placed, state.live_orders) == (2, 2)


def test_a_sell_below_zero_escrows_what_it_may_have_to_pay(book: Book):
    chain = book.chain
    ask = chain.place(book.seller, book.epoch, 1, "sell", -40, 3)
    bid = chain.place(book.buyer, book.epoch, 2, "buy", -50, 3)
    # The seller may pay 40 * 100 a lot (the buyer pays the fee here, so the seller none).
    assert chain.decode(ask.address).payment_escrow == 3 * 4_000 == ask.payment_escrow
    assert chain.decode(ask.address).grid_escrow == 3 * 10**6
    assert chain.decode(bid.address).payment_escrow == 0 == bid.payment_escrow


def test_placing_is_refused_for_every_rule_and_moves_nothing(book: Book):
    chain, epoch, buyer, seller = book.chain, book.epoch, book.buyer, book.seller

    def refuse(code: int, trader: Trader, side: str = "buy", qty: int = 5, price: int = 100) -> None:
        address = chain.order_address(epoch, trader.key, 99)
        chain.refused([chain.place_ix(trader, epoch, 99, side, price, qty)], [trader.keypair], code, address)
        assert chain.closed(address)

    refuse(6008, buyer, "sell")  # a consumer may not sell
    refuse(6009, buyer, qty=0)
    refuse(6009, seller, "sell", qty=0)
    chain.set_governance(paused=True)
    refuse(6000, buyer)
    chain.set_governance(paused=False)
    chain.suspend(seller)
    refuse(6007, seller, "sell")
    refuse(6007, seller, "buy")
    # Not enough funds: the token program refuses (its InsufficientFunds, 1), and nothing moves.
    poor = chain.trader("Consumer", payment=10)
    sent = chain.refused([chain.place_ix(poor, epoch, 1, "buy", 100, 5)], [poor.keypair], 1)
    assert sent.failed == TOKEN_PROGRAM_ID
    # A closed epoch takes no orders.
    chain.close(epoch)
    refuse(6003, buyer)


def test_cancel_returns_the_whole_escrow_and_closes_the_order(book: Book):
    chain, epoch = book.chain, book.epoch
    before = chain.balances()
    totals = chain.totals()
    lamports = chain.lamports(book.buyer.key)
    bid = chain.place(book.buyer, epoch, 1, "buy", 120, 9)
    ask = chain.place(book.seller, epoch, 2, "sell", -80, 4)
    for order in (bid, ask):
        sent = chain.send([chain.cancel_ix(order)], order.trader.keypair)
        assert sent.ok, sent.logs
        assert chain.closed(order.address)
        assert chain.totals() == totals
    assert chain.balances() == before
    assert chain.lamports(book.buyer.key) == lamports  # the order's rent is back
    state = chain.decode(epoch.address)
    assert (state.orders_placed, state.live_orders) == (2, 0)


def test_cancel_pays_to_token_accounts_of_the_owners_choosing_never_a_vault(book: Book):
    chain, epoch, buyer = book.chain, book.epoch, book.buyer
    bid = chain.place(buyer, epoch, 1, "buy", 120, 9)
    spare = chain.new_token_account(chain.payment_mint, buyer.key, 0)
    thief = chain.trader()
    chain.refused([chain.cancel_ix(bid, payment_destination=buyer.grid)], [buyer.keypair], 2014)
    chain.refused([chain.cancel_ix(bid, payment_destination=chain.market.payment_vault)], [buyer.keypair], 2012)
    chain.refused([chain.cancel_ix(bid, owner=thief.key, payment_destination=thief.payment)], [thief.keypair], 6002)
    chain.refused([without_signer(chain.cancel_ix(bid), buyer.key)], [], 3010)
    chain.set_governance(paused=True)  # a withdrawal: allowed while paused
    assert chain.send([chain.cancel_ix(bid, payment_destination=spare)], buyer.keypair).ok
    assert chain.balance(spare) == bid.payment_escrow


def test_cancel_after_the_close_is_refused(book: Book):
    chain = book.chain
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 120, 9)
    chain.close(book.epoch)
    chain.refused([chain.cancel_ix(bid)], [book.buyer.keypair], 6003)


# --- post_result ---------------------------------------------------------------------------------


def test_post_result_is_the_operators_on_a_closed_epoch_and_consistent(book: Book):
    chain, epoch = book.chain, book.epoch
    bid = chain.place(book.buyer, epoch, 1, "buy", 100, 5)
    ask = chain.place(book.seller, epoch, 2, "sell", 90, 5)
    head = result_heads([(bid.address, 3), (ask.address, 3)])[0]
    impostor = chain.wallet()
    chain.refused([chain.post_ix(epoch, 95, 3, 2, head)], [chain.operator], 6004)  # still open
    chain.set_time(T0 + 900)
    chain.close(epoch)
    chain.refused([chain.post_ix(epoch, 95, 3, 2, head, impostor.pubkey())], [impostor], 6001)
    chain.refused([without_signer(chain.post_ix(epoch, 95, 3, 2, head), chain.operator.pubkey())], [], 3010)
    # A count, volume and head that disagree; one result (a fill needs a buy and a sell); more
    # results than orders on chain.
    for volume, count, chain_head in (
        (0, 2, head),
        (3, 0, head),
        (3, 0, ZERO_HASH),
        (0, 0, head),
        (3, 2, ZERO_HASH),
        (3, 1, head),
        (3, 3, head),
    ):
        chain.refused([chain.post_ix(epoch, 95, volume, count, chain_head)], [chain.operator], 6017)
    chain.set_governance(paused=True)
    chain.refused([chain.post_ix(epoch, 95, 3, 2, head)], [chain.operator], 6000)
    chain.set_governance(paused=False)

    sent = chain.send([chain.post_ix(epoch, 95, 3, 2, head)], chain.operator)
    assert sent.ok, sent.logs
    state = chain.decode(epoch.address)
    assert (type(state.state).__name__, state.price, state.volume, state.result_count) == ("Posted", 95, 3, 2)
    assert bytes(state.results_hash) == head == bytes(state.cursor)
    assert (state.credited_count, state.bought, state.sold, state.fees, state.closed_at) == (0, 0, 0, 0, T0 + 900)
    chain.refused([chain.post_ix(epoch, 96, 3, 2, head)], [chain.operator], 6004)  # posted once


# --- credit_orders -------------------------------------------------------------------------------


def test_crediting_records_each_orders_dues_and_moves_no_token(posted: Posted):
    chain, epoch, results, heads = posted.chain, posted.epoch, posted.results, posted.heads
    balances = chain.balances()
    sent = chain.credit(epoch, results, heads, 0, 3)
    assert not [line for line in sent.logs if str(TOKEN_PROGRAM_ID) in line]  # no token CPI at all
    state = chain.decode(epoch.address)
    assert (type(state.state).__name__, state.credited_count, bytes(state.cursor)) == ("Posted", 3, heads[3])
    assert (state.bought, state.sold) == (5, 9)
    chain.credit(epoch, results, heads, 3, 4)
    assert chain.balances() == balances  # crediting touches no token account

    state = chain.decode(epoch.address)
    assert (type(state.state).__name__, state.credited_count, bytes(state.cursor)) == ("Finalised", 4, ZERO_HASH)
    assert (state.bought, state.sold, state.volume) == (9, 9, 9)
    fees = 0
    for order, filled in results:
        grid_due, payment_due, fee = chain.dues(order, filled, 100)
        decoded = chain.decode(order.address)
        assert (decoded.filled, decoded.grid_due, decoded.payment_due, decoded.credited) == (
            filled,
            grid_due,
            payment_due,
            True,
        )
        assert (decoded.grid_escrow, decoded.payment_escrow) == (order.grid_escrow, order.payment_escrow)
        fees += fee
    assert state.fees == fees > 0
    assert chain.decode(epoch.market.address).fees_due == fees
    unfilled = chain.decode(posted.orders[4].address)
    assert (unfilled.filled, unfilled.credited, unfilled.grid_due, unfilled.payment_due) == (0, False, 0, 0)


def test_a_result_is_credited_once_in_its_place(posted: Posted):
    """Only the posted list, in its order, from the cursor: a batch that is not is refused; one
    someone credited already is a no-op (a batch never fails because another crank was first),
    and one that overlaps what was credited credits the rest."""
    chain, epoch, results, heads = posted.chain, posted.epoch, posted.results, posted.heads
    credit = chain.credit_ix
    chain.refused([credit(epoch, addresses(results[1:2]), heads[2])], [], 6014)  # skips the first
    chain.refused([credit(epoch, addresses(results[:2])[::-1], heads[2])], [], 6014)  # swapped
    chain.refused([credit(epoch, [(results[0][0].address, 5)], heads[1])], [], 6014)  # 5 where 6 was posted
    chain.refused([credit(epoch, addresses(results[:1]), heads[2])], [], 6014)  # the wrong next head
    chain.refused([credit(epoch, [], heads[0])], [], 6017)  # nothing
    chain.credit(epoch, results, heads, 0, 2)
    before = chain.snapshot()
    for batch, next_hash in ((results[:2], heads[2]), (results[1:2], heads[2]), (results[:1], heads[1])):
        sent = chain.send([credit(epoch, addresses(batch), next_hash)])
        assert sent.ok, sent.logs[-4:]
        assert chain.snapshot() == before
    chain.refused([credit(epoch, [(results[0][0].address, 5)], heads[1])], [], 6014)  # not as credited
    chain.set_governance(paused=True)
    chain.refused([credit(epoch, addresses(results[2:]), ZERO_HASH)], [], 6000)
    chain.set_governance(paused=False)
    chain.credit(epoch, results, heads, 1, 4)  # overlaps the first batch
    state = chain.decode(epoch.address)
    assert (type(state.state).__name__, state.credited_count, state.bought, state.sold) == ("Finalised", 4, 9, 9)
    assert chain.send([credit(epoch, addresses(results), ZERO_HASH)]).ok  # credited whole: a no-op


def test_a_chain_longer_than_the_posted_count_is_refused(book: Book):
    chain = book.chain
    bids = [chain.place(book.buyer, book.epoch, i, "buy", 100, 1) for i in range(2)]
    asks = [chain.place(book.seller, book.epoch, 10 + i, "sell", 90, 1) for i in range(2)]
    results = [(bids[0], 1), (asks[0], 1), (bids[1], 1), (asks[1], 1)]
    heads = result_heads(addresses(results))
    chain.close(book.epoch)
    assert chain.send([chain.post_ix(book.epoch, 95, 2, 2, heads[0])], chain.operator).ok  # says two
    chain.refused([chain.credit_ix(book.epoch, addresses(results), ZERO_HASH)], [], 6013)
    chain.refused([chain.credit_ix(book.epoch, addresses(results[:2]), heads[2])], [], 6014)  # two, not the end


def test_crediting_before_a_result_is_refused(book: Book):
    chain = book.chain
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 100, 5)
    chain.refused([chain.credit_ix(book.epoch, [(bid.address, 5)], ZERO_HASH)], [], 6005)
    chain.close(book.epoch)
    chain.refused([chain.credit_ix(book.epoch, [(bid.address, 5)], ZERO_HASH)], [], 6005)


def _one_result(
    book: Book, bid_filled: int, ask_filled: int, price: int, volume: int | None = None
) -> tuple[Chain, EpochRef, Results, list[bytes]]:
    """A bid (limit 100, 5 lots) and an ask (limit 90, 5 lots), and a result for them posted as
    the operator signed it, wrong as it may be."""
    chain = book.chain
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 100, 5)
    ask = chain.place(book.seller, book.epoch, 2, "sell", 90, 5)
    results = [(bid, bid_filled), (ask, ask_filled)]
    return chain, book.epoch, results, chain.post(book.epoch, results, price, volume)


@pytest.mark.parametrize(
    ("filled", "price", "code"),
    [(5, 101, 6015), (5, 89, 6015), (6, 95, 6016), (0, 95, 6017)],
    ids=["above-the-bids-limit", "below-the-asks-limit", "overfilled", "nothing"],
)
def test_a_posted_result_the_orders_do_not_allow_is_refused(book: Book, filled: int, price: int, code: int):
    chain, epoch, results, heads = _one_result(book, filled, filled, price, volume=5)
    which = 1 if price == 89 else 0  # the order whose limit the price goes through
    if which:
        chain.credit(epoch, results, heads, 0, 1)
    chain.refused([chain.credit_ix(epoch, addresses(results[which : which + 1]), heads[which + 1])], [], code)
    assert chain.state(epoch) == "Posted"


def test_the_last_batch_checks_bought_sold_and_the_posted_volume(book: Book):
    chain, epoch, results, heads = _one_result(book, 5, 5, 95, volume=6)
    chain.credit(epoch, results, heads, 0, 1)  # one at a time: the check is the last batch's
    chain.refused([chain.credit_ix(epoch, addresses(results[1:]), heads[2])], [], 6018)
    assert chain.state(epoch) == "Posted"


def test_bought_and_sold_must_agree(book: Book):
    chain, epoch, results, _ = _one_result(book, 5, 4, 95, volume=5)
    chain.refused([chain.credit_ix(epoch, addresses(results), ZERO_HASH)], [], 6018)
    assert chain.state(epoch) == "Posted"


# --- claim ---------------------------------------------------------------------------------------


def test_claims_pay_each_order_its_dues_and_close_it(posted: Posted):
    chain, epoch, results = posted.chain, posted.epoch, posted.results
    chain.credit(epoch, results, posted.heads, 0, 4)
    start = chain.balances()
    totals = chain.totals()
    expected = dict(start)
    cranker = chain.wallet()  # anyone may crank a claim to the recorded accounts
    for order in posted.orders:
        filled = dict((o.address, f) for o, f in results).get(order.address)
        grid_due, payment_due, _ = (
            chain.dues(order, filled, 100) if filled else (order.grid_escrow, order.payment_escrow, 0)
        )
        expected[order.trader.grid] += grid_due
        expected[order.trader.payment] += payment_due
        expected[epoch.market.grid_vault] -= grid_due
        expected[epoch.market.payment_vault] -= payment_due
        lamports = chain.lamports(order.trader.key)
        rent = chain.lamports(order.address)
        sent = chain.send([chain.claim_ix(order)], payer=cranker)
        assert sent.ok, sent.logs
        assert chain.closed(order.address)
        assert chain.lamports(order.trader.key) == lamports + rent
        assert chain.balances() == expected and chain.totals() == totals
    fees = chain.decode(epoch.address).fees
    assert chain.balance(epoch.market.grid_vault) == 0
    assert chain.balance(epoch.market.payment_vault) == fees  # what the treasury is owed
    assert chain.decode(epoch.address).live_orders == 0
    chain.withdraw_fees()
    assert chain.balance(epoch.market.payment_vault) == 0 and chain.balance(epoch.market.treasury) == fees
    assert chain.totals() == totals


def test_a_claim_waits_for_the_epoch_to_be_done(posted: Posted):
    chain = posted.chain
    chain.refused([chain.claim_ix(posted.orders[0])], [], 6006)
    chain.credit(posted.epoch, posted.results, posted.heads, 0, 2)
    chain.refused([chain.claim_ix(posted.orders[0])], [], 6006)


def test_a_claim_of_a_claimed_order_does_nothing_and_succeeds(posted: Posted):
    chain = posted.chain
    chain.credit(posted.epoch, posted.results, posted.heads, 0, 4)
    order = posted.orders[0]
    chain.claim(order)
    before = chain.snapshot()
    sent = chain.send([chain.claim_ix(order), chain.claim_ix(order)])
    assert sent.ok, sent.logs
    assert chain.snapshot() == before


def test_only_the_signing_owner_redirects_a_claim(posted: Posted):
    chain = posted.chain
    chain.credit(posted.epoch, posted.results, posted.heads, 0, 4)
    bid = posted.orders[0]
    owner = bid.trader
    spare_grid = chain.new_token_account(chain.grid_mint, owner.key, 0)
    spare_payment = chain.new_token_account(chain.payment_mint, owner.key, 0)
    thief = chain.trader()
    redirect = {"grid_destination": spare_grid, "payment_destination": spare_payment}
    chain.refused([chain.claim_ix(bid, **redirect)], [], 2001)  # not signed: only the recorded accounts
    chain.refused([chain.claim_ix(bid, grid_destination=thief.grid)], [], 2001)
    chain.refused([chain.claim_ix(bid, signed=True, owner=thief.key, **redirect)], [thief.keypair], 2001)
    chain.refused([chain.claim_ix(bid, signed=True, payment_destination=spare_grid)], [owner.keypair], 2014)
    vault = chain.market.payment_vault
    chain.refused([chain.claim_ix(bid, signed=True, payment_destination=vault)], [owner.keypair], 2012)
    grid_due, payment_due, _ = chain.dues(bid, 5, 100)
    chain.set_governance(paused=True)  # a withdrawal: allowed while paused
    chain.claim(bid, signer=owner.keypair, **redirect)
    assert (chain.balance(spare_grid), chain.balance(spare_payment)) == (grid_due, payment_due)


def test_a_negative_price_pays_the_buyer_from_the_sellers_escrow(book: Book):
    chain = book.chain
    start = chain.balances()
    bid = chain.place(book.buyer, book.epoch, 1, "buy", -20, 4)
    ask = chain.place(book.seller, book.epoch, 2, "sell", -60, 4)
    chain.settle(book.epoch, [(bid, 3), (ask, 3)], -40)
    chain.claim(bid)
    chain.claim(ask)
    buyer_pays, seller_receives, buyer_fee, seller_fee = chain.terms().split(chain.terms().notional(3, -40))
    assert buyer_pays < 0 and seller_receives < 0
    after = chain.balances()
    assert after[book.buyer.payment] == start[book.buyer.payment] - buyer_pays
    assert after[book.seller.payment] == start[book.seller.payment] + seller_receives
    assert (after[book.buyer.grid], after[book.seller.grid]) == (3 * chain.lot, start[book.seller.grid] - 3 * chain.lot)
    assert after[chain.market.grid_vault] == 0
    assert after[chain.market.payment_vault] == buyer_fee + seller_fee == chain.decode(book.epoch.address).fees


def test_a_result_without_fills_finalises_and_every_order_claims_its_escrow(book: Book):
    chain = book.chain
    before = chain.balances()
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 90, 4)
    ask = chain.place(book.seller, book.epoch, 2, "sell", 110, 4)
    chain.settle(book.epoch, [], 0)
    assert chain.state(book.epoch) == "Finalised"
    chain.claim(bid)
    chain.claim(ask)
    assert chain.balances() == before


# --- abandon_epoch, withdraw_fees ----------------------------------------------------------------


def test_governance_abandons_at_once_and_anyone_after_the_deadline(chain: Chain):
    seller = chain.trader(grid=FUNDS)
    stranger = chain.wallet()
    opened = chain.open_epoch(1)
    closed = chain.open_epoch(2)
    chain.place(seller, closed, 1, "sell", 90, 2)
    chain.set_time(T0 + 100)
    chain.close(closed)
    # Closed: closed_at + settle_deadline (T0 + 100 + 3,600); open: opened_at + epoch_seconds + settle_deadline.
    chain.set_time(T0 + 3_699)
    chain.refused([chain.abandon_ix(closed, stranger.pubkey())], [stranger], 6021)
    chain.refused([chain.abandon_ix(opened, stranger.pubkey())], [stranger], 6021)
    chain.refused(
        [without_signer(chain.abandon_ix(closed, chain.authority.pubkey()), chain.authority.pubkey())], [], 3010
    )
    chain.set_time(T0 + 3_700)
    chain.abandon(closed, stranger)
    assert chain.state(closed) == "Abandoned"
    chain.set_time(T0 + 4_499)
    chain.refused([chain.abandon_ix(opened, stranger.pubkey())], [stranger], 6021)
    chain.set_time(T0 + 4_500)
    chain.abandon(opened, stranger)
    governed = chain.open_epoch(3)
    chain.abandon(governed)  # at once
    for epoch in (closed, opened, governed):
        chain.refused([chain.abandon_ix(epoch, chain.authority.pubkey())], [chain.authority], 6022)
    chain.refused([chain.place_ix(seller, governed, 1, "sell", 90, 2)], [seller.keypair], 6003)


def test_an_abandoned_epoch_refunds_every_order_credited_or_not(posted: Posted):
    chain = posted.chain
    chain.credit(posted.epoch, posted.results, posted.heads, 0, 2)
    chain.abandon(posted.epoch)
    chain.refused([chain.credit_ix(posted.epoch, addresses(posted.results[2:]), ZERO_HASH)], [], 6005)
    for order in posted.orders:
        grid, payment = chain.balance(order.trader.grid), chain.balance(order.trader.payment)
        chain.claim(order)
        assert (chain.balance(order.trader.grid) - grid, chain.balance(order.trader.payment) - payment) == (
            order.grid_escrow,
            order.payment_escrow,
        )
    assert chain.balance(chain.market.grid_vault) == chain.balance(chain.market.payment_vault) == 0
    assert chain.decode(chain.market.address).fees_due == 0


def test_withdraw_fees_pays_the_treasury_once(posted: Posted):
    chain = posted.chain
    chain.credit(posted.epoch, posted.results, posted.heads, 0, 4)
    fees = chain.decode(posted.epoch.address).fees
    thief = chain.trader()
    chain.refused([chain.withdraw_fees_ix(treasury=thief.payment)], [], 2001)
    chain.withdraw_fees()
    assert chain.balance(chain.market.treasury) == fees and chain.decode(chain.market.address).fees_due == 0
    before = chain.snapshot()
    chain.withdraw_fees()  # nothing due: moves nothing
    assert chain.snapshot() == before


# --- conservation through a whole epoch ----------------------------------------------------------


def test_every_mint_is_conserved_through_a_whole_epoch(chain: Chain):
    """Vaults plus every token account, per mint, after every instruction of a busy epoch."""
    traders = [chain.trader("Prosumer", grid=10**12, payment=10**12) for _ in range(4)]
    totals = chain.totals()
    epoch = chain.open_epoch()
    specs = [("buy", 120, 6), ("buy", 105, 4), ("sell", 95, 5), ("sell", 100, 7), ("buy", 99, 3), ("sell", -30, 2)]
    placed = []
    for n, (side, price, qty) in enumerate(specs):
        placed.append(chain.place(traders[n % 4], epoch, n, side, price, qty))
        assert chain.totals() == totals
    assert chain.send([chain.cancel_ix(placed[4])], placed[4].trader.keypair).ok
    assert chain.totals() == totals
    results = [(placed[0], 6), (placed[2], 5), (placed[3], 5), (placed[1], 4)]
    heads = chain.post(epoch, results, 100)
    for n in range(4):
        chain.credit(epoch, results, heads, n, n + 1)
        assert chain.totals() == totals
    for order in (*placed[:4], placed[5]):
        chain.claim(order)
        assert chain.totals() == totals
    chain.withdraw_fees()
    assert chain.totals() == totals
    assert chain.balance(chain.market.grid_vault) == chain.balance(chain.market.payment_vault) == 0


# --- the IDL agrees with the program -------------------------------------------------------------


def test_the_idl_discriminators_and_sizes_are_the_programs(chain: Chain):
    """anchorpy's discriminators are sha256("global:<snake>") and sha256("account:<Name>") (what
    the program computes), its instructions the program's, its account sizes the README's."""
    names = {snake(ix.name) for ix in chain.trading.idl.instructions}
    assert names == set(INSTRUCTIONS)
    sources = (PROGRAMS / "trading" / "src").glob("**/*.rs")
    in_source = {m for p in sources for m in re.findall(r'instruction_discriminator\("(\w+)"\)', p.read_text())}
    assert in_source == names
    for name in names:
        assert chain.trading.coder.instruction.sighashes[name] == sighash("global", name)
    discriminators = chain.trading.coder.accounts.acc_name_to_discriminator
    sizes = {"Market": MARKET_LEN, "Epoch": EPOCH_LEN, "Order": ORDER_LEN}
    for account in chain.trading.idl.accounts:
        assert discriminators[account.name] == sighash("account", account.name)
        assert chain.trading.account[account.name].size == sizes[account.name]


def test_the_program_knows_every_idl_instruction_and_no_other(chain: Chain):
    """Each IDL discriminator reaches its instruction (arguments bad: Anchor's 102, or an account
    check); an unknown one is 101, data shorter than a discriminator is 100."""
    keys = [AccountMeta(Keypair().pubkey(), False, False) for _ in range(14)]
    for ix in chain.trading.idl.instructions:
        data = sighash("global", snake(ix.name)) + b"\xff" * 3
        sent = chain.send([Instruction(TRADING_ID, data, keys)])
        assert sent.code not in (None, 100, 101), (ix.name, sent.logs)
    assert chain.send([Instruction(TRADING_ID, sighash("global", "settle_fills"), keys)]).code == 101
    assert chain.send([Instruction(TRADING_ID, b"\x01\x02", keys)]).code == 100


def test_the_idl_errors_are_the_programs(chain: Chain):
    source = (PROGRAMS / "trading" / "src" / "error.rs").read_text()
    in_source = {int(code): name for name, code in re.findall(r"^\s*(\w+) = (\d+),", source, flags=re.M)}
    assert {e.code: e.name for e in chain.trading.idl.errors or []} == in_source
    assert set(in_source) == set(range(6000, 6024))


# --- compute units -------------------------------------------------------------------------------

UNITS_PER_BUMP_TRIED = 1_500  # an address search (sol_try_find_program_address), each bump below 255
#: What each instruction may spend besides its address searches: what it measured when written
#: (in the comments) with room, and the issue's targets: crediting <= 7,000 an order amortised
#: over a full batch; placing no dearer than the old program's (13,708 a buy, 13,752 a sell).
BUDGET = {
    "initialize_market": 25_000,  # 22,183 (34,183 with its three address searches)
    "open_epoch": 6_000,  # 5,118
    "place_buy": 13_708,  # 13,769
    "place_sell": 13_752,  # 13,813
    "cancel": 11_000,  # 9,388: two transfers out of the vaults
    "close_epoch": 1_700,  # 1,407
    "post_result": 2_300,  # 1,923
    "credit_per_order": 7_000,  # 939 amortised over 58 orders
    "claim": 18_000,  # 16,759: two transfers out of the vaults
    "abandon": 1_000,  # 690
    "withdraw_fees": 10_000,  # 8,903
}


def _searched(chain: Chain, address: Pubkey) -> int:
    return UNITS_PER_BUMP_TRIED * (255 - chain.decode(address).bump)


def _locks(message: Message | MessageV0) -> int:
    """The accounts a transaction locks: its keys and those its lookup tables name."""
    tables = getattr(message, "address_table_lookups", [])
    return len(message.account_keys) + sum(len(t.writable_indexes) + len(t.readonly_indexes) for t in tables)


def _fits(chain: Chain, ixs: list[Instruction]) -> tuple[bool, bool]:
    """Whether `ixs` fit one legacy transaction, and one v0 transaction through a lookup table of
    every account but the payer: at most 1,232 bytes and 64 locked accounts."""
    payer = chain.payer.pubkey()
    legacy = Message(ixs, payer)
    table = AddressLookupTableAccount(
        Keypair().pubkey(), list(dict.fromkeys(m.pubkey for ix in ixs for m in ix.accounts if m.pubkey != payer))
    )
    v0 = MessageV0.try_compile(payer, ixs, [table], Hash.default())
    return (
        len(bytes(Transaction([chain.payer], legacy, Hash.default()))) <= MAX_TX_BYTES and _locks(legacy) <= 64,
        len(bytes(VersionedTransaction(v0, [chain.payer]))) <= MAX_TX_BYTES and _locks(v0) <= 64,
    )


def _largest(fits: Callable[[int], bool]) -> int:
    n = 1
    while fits(n + 1):
        n += 1
    return n


def _send_through_a_table(chain: Chain, ixs: list[Instruction]) -> Sent:
    table = chain.lookup_table(
        list(dict.fromkeys(m.pubkey for ix in ixs for m in ix.accounts if m.pubkey != chain.payer.pubkey()))
    )
    return chain.send_v0(ixs, [table])


def _credit_batch(n: int, *, table: bool) -> Sent:
    """Credits `n` orders (bids and asks alternately, all filled) in one transaction, legacy or
    through a lookup table; the epoch is then finalised."""
    chain = Chain()
    epoch = chain.open_epoch()
    buyer = chain.trader("Consumer", payment=FUNDS)
    seller = chain.trader(grid=FUNDS)
    orders = [
        chain.place(buyer, epoch, i, "buy", 110, 3) if i % 2 else chain.place(seller, epoch, i, "sell", 90, 3)
        for i in range(n)
    ]
    results = [(order, 3) for order in orders]
    chain.post(epoch, results, 100)
    ixs = [set_compute_unit_limit(MAX_UNITS), chain.credit_ix(epoch, addresses(results), ZERO_HASH)]
    sent = _send_through_a_table(chain, ixs) if table else chain.send(ixs)
    assert sent.ok, sent.logs[-4:]
    assert chain.state(epoch) == "Finalised"
    return sent


def test_compute_units_of_every_instruction(chain: Chain):
    """Within budget; `make bench-programs` shows the figures (`-s`)."""
    m = chain.market
    figures = {
        "initialize_market": chain.initialize_units
        - sum(
            UNITS_PER_BUMP_TRIED * (255 - Pubkey.find_program_address(seeds, TRADING_ID)[1])
            for seeds in (
                [b"market", struct.pack("<Q", 1)],
                [b"vault", bytes(m.address), bytes(m.grid_mint)],
                [b"vault", bytes(m.address), bytes(m.payment_mint)],
            )
        )
    }
    seller = chain.trader(grid=FUNDS)
    buyer = chain.trader("Consumer", payment=FUNDS)
    epoch = chain.open_epoch(1)
    figures["open_epoch"] = chain.last.units - _searched(chain, epoch.address)
    bid = chain.place(buyer, epoch, 1, "buy", 110, 10)
    figures["place_buy"] = chain.last.units - _searched(chain, bid.address)
    ask = chain.place(seller, epoch, 2, "sell", 90, 10)
    figures["place_sell"] = chain.last.units - _searched(chain, ask.address)
    extra = chain.place(buyer, epoch, 3, "buy", 100, 1)
    figures["cancel"] = chain.send([chain.cancel_ix(extra)], buyer.keypair).units
    figures["close_epoch"] = chain.close(epoch).units
    results = [(bid, 7), (ask, 7)]
    heads = chain.post(epoch, results, 100)
    figures["post_result"] = chain.last.units
    figures["credit_1"] = chain.credit(epoch, results, heads, 0, 1).units
    figures["credit_last"] = chain.credit(epoch, results, heads, 1, 2).units
    figures["claim_buy"] = chain.claim(bid).units
    figures["claim_sell"] = chain.claim(ask).units
    figures["claim_claimed"] = chain.claim(ask).units
    figures["withdraw_fees"] = chain.withdraw_fees().units
    figures["abandon"] = chain.abandon(chain.open_epoch(2)).units
    figures["claim"] = max(figures["claim_buy"], figures["claim_sell"])
    print("\ntrading compute units:", ", ".join(f"{k} {v:,}" for k, v in figures.items()))
    over = {name: figures[name] for name, budget in BUDGET.items() if name in figures and figures[name] > budget}
    assert not over, f"over budget: {over}"


def test_compute_units_of_crediting_and_the_largest_credit_batch():
    """Crediting amortised over a full batch (the issue's target: <= 7,000 an order), and the
    largest batch: legacy (bound by its 1,232 bytes) and through a lookup table (>= 20 orders)."""
    chain = Chain()
    epoch = chain.epoch(1)

    def credit(n: int) -> list[Instruction]:
        fake = [(Keypair().pubkey(), 3) for _ in range(n)]
        return [set_compute_unit_limit(MAX_UNITS), chain.credit_ix(epoch, fake, ZERO_HASH)]

    legacy_n = _largest(lambda n: _fits(chain, credit(n))[0])
    table_n = _largest(lambda n: _fits(chain, credit(n))[1])
    assert legacy_n >= 20 and table_n >= 20, (legacy_n, table_n)
    # Even sizes: as many bids as asks. The marginal order is the difference of two full batches.
    legacy_n, table_n = legacy_n - legacy_n % 2, table_n - table_n % 2
    legacy, full, smaller = (
        _credit_batch(legacy_n, table=False),
        _credit_batch(table_n, table=True),
        _credit_batch(table_n - 2, table=True),
    )
    amortised = full.units // table_n
    assert amortised <= BUDGET["credit_per_order"] and legacy.units // legacy_n <= BUDGET["credit_per_order"]
    figures = {
        "legacy_orders": legacy_n,
        "legacy_units": legacy.units,
        "alt_orders": table_n,
        "alt_units": full.units,
        "per_order_amortised": amortised,
        "per_order_marginal": (full.units - smaller.units) // 2,
    }
    print("\ntrading credit batch:", ", ".join(f"{k} {v:,}" for k, v in figures.items()))


def test_compute_units_of_the_largest_claim_batch():
    """Claims, one instruction each, as many as fit one transaction through a lookup table (the
    market's accounts shared; each order brings its own order, owner and two token accounts)."""
    chain = Chain()
    epoch = chain.open_epoch()
    orders = []
    for i in range(24):
        trader = chain.trader("Consumer", payment=FUNDS) if i % 2 else chain.trader(grid=FUNDS)
        orders.append(chain.place(trader, epoch, 1, "buy" if i % 2 else "sell", 110 if i % 2 else 90, 2))
    chain.settle(epoch, [(o, 2) for o in orders], 100)

    def claims(n: int) -> list[Instruction]:
        return [set_compute_unit_limit(MAX_UNITS), *(chain.claim_ix(o) for o in orders[:n])]

    legacy_n = _largest(lambda n: _fits(chain, claims(n))[0])
    table_n = _largest(lambda n: n <= len(orders) and _fits(chain, claims(n))[1])
    assert table_n < len(orders)
    sent = _send_through_a_table(chain, claims(table_n))
    assert sent.ok, sent.logs[-4:]
    assert all(chain.closed(o.address) for o in orders[:table_n])
    figures = {
        "legacy_claims": legacy_n,
        "alt_claims": table_n,
        "alt_units": sent.units,
        "per_claim": sent.units // table_n,
    }
    print("\ntrading claim batch:", ", ".join(f"{k} {v:,}" for k, v in figures.items()))
