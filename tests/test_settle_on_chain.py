"""Epochs settled on LiteSVM: balances move exactly as the fills imply, once, whatever the chain
does (fails mid-batch, times out after landing, never answers), and refusals change nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from gridmatch.chain import FaultyChain, LiteSVMChain
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochManager, EpochState, InsufficientFunds
from gridmatch.market import Market
from gridmatch.participants import Participant, Role

T0 = dt.datetime(2016, 6, 21, 12, 0, tzinfo=dt.UTC).timestamp()
E0 = 201606211200
MARKET = Market()
SELLERS, BUYERS = (1, 2, 3), (4, 5, 6)


def market(chain, **kwargs):
    venue = Venue.create(chain, MARKET, SELLERS + BUYERS, seed=3)
    for pid in SELLERS:
        venue.mint_grid(pid, MARKET.grid_units(5_000))
    for pid in BUYERS:
        venue.deposit(pid, 10**12)
    manager = EpochManager(MARKET, settler=venue.settler(**kwargs), funds=venue.funds(), journal=":memory:")
    for pid in SELLERS:
        manager.register(Participant(pid, Role.PROSUMER, wallet=str(venue.wallet(pid))))
    for pid in BUYERS:
        manager.register(Participant(pid, Role.CONSUMER, wallet=str(venue.wallet(pid))))
    return venue, manager


def trade(manager, epoch_start=T0):
    manager.step(epoch_start)
    for i, pid in enumerate(SELLERS):
        manager.submit(pid, -1, 1_000 + 100 * i, 900 + i, at=epoch_start + 1)
    for i, pid in enumerate(BUYERS):
        manager.submit(pid, 1, 900 + 50 * i, 960 - i, at=epoch_start + 2)


def moved_exactly_once(venue, manager, before):
    after = venue.balances()
    expected = {key: before.get(key, 0) + manager.balances_moved().get(key, 0) for key in after}
    return after == expected and manager.balances_moved() != {}


@pytest.mark.parametrize("netting", [False, True])
def test_an_epoch_settles_on_chain(netting):
    venue, manager = market(LiteSVMChain(seed=3), netting=netting)
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.SETTLED
    assert moved_exactly_once(venue, manager, before)
    for batch in manager.journal.batches(E0):
        (attempt, state), *_ = batch.attempts
        assert state == "confirmed"
        assert venue.chain.memo_of(attempt.signature).endswith(batch.id)


def test_a_chain_that_fails_mid_batch_is_retried_and_pays_once():
    chain = FaultyChain(LiteSVMChain(seed=3), fail_on={0})
    venue, manager = market(chain)
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.FAILED
    assert venue.balances() == before  # the failed transaction moved nothing
    manager.step(T0 + 904)
    assert manager.state(E0) == EpochState.FAILED  # within its back-off (5 s): not tried again
    assert len(manager.journal.batches(E0)[0].attempts) == 1
    manager.step(T0 + 905)
    assert manager.state(E0) == EpochState.SETTLED
    assert moved_exactly_once(venue, manager, before)


def test_a_timeout_after_landing_is_recognised_not_paid_again():
    chain = FaultyChain(LiteSVMChain(seed=3), timeout_on={0}, land_on_timeout=True)
    venue, manager = market(chain)
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.CLEARED  # waiting: the outcome is unknown
    manager.step(T0 + 901)
    assert manager.state(E0) == EpochState.SETTLED
    assert moved_exactly_once(venue, manager, before)
    (batch,) = manager.journal.batches(E0)
    assert [state for _, state in batch.attempts] == ["confirmed"]  # found, not resent as new


def test_a_timeout_without_landing_sends_the_same_transaction_again():
    chain = FaultyChain(LiteSVMChain(seed=3), timeout_on={0}, land_on_timeout=False)
    venue, manager = market(chain)
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    manager.step(T0 + 901)
    assert manager.state(E0) == EpochState.SETTLED
    assert moved_exactly_once(venue, manager, before)
    (batch,) = manager.journal.batches(E0)
    assert len(batch.attempts) == 1  # the journaled bytes were resent, not re-signed


def test_submitting_an_attempt_twice_lands_once():
    venue, manager = market(LiteSVMChain(seed=3))
    before = venue.balances()
    trade(manager)
    manager.step(T0 + 900)
    (batch,) = manager.journal.batches(E0)
    attempt, _ = batch.attempts[0]
    manager.settler.submit(attempt)  # a duplicate submission
    assert moved_exactly_once(venue, manager, before)


def test_orders_beyond_holdings_are_refused_and_change_nothing():
    venue, manager = market(LiteSVMChain(seed=3))
    manager.step(T0)
    before = (venue.balances(), manager.journal.all_orders())
    with pytest.raises(InsufficientFunds):
        manager.submit(1, -1, 5_001, 900, at=T0 + 1)  # holds 5,000 lots of GRID
    with pytest.raises(InsufficientFunds):
        manager.submit(4, 1, 10**6, 10**6, at=T0 + 1)  # cannot pay for it
    assert (venue.balances(), manager.journal.all_orders()) == before


def test_a_revoked_approval_fails_settlement_until_restored():
    venue, manager = market(LiteSVMChain(seed=3))
    before = venue.balances()
    trade(manager)
    seller_account = venue.accounts.account(1, "grid")
    venue.chain.approve(venue.keys[1], seller_account, 0)  # the seller withdraws its approval
    manager.step(T0 + 900)
    assert manager.state(E0) == EpochState.FAILED
    assert venue.balances() == before
    venue.chain.approve(venue.keys[1], seller_account, 2**64 - 1)
    manager.step(T0 + 905)
    assert manager.state(E0) == EpochState.SETTLED
    assert moved_exactly_once(venue, manager, before)


def test_the_hand_built_transfer_is_the_token_programs_own():
    from solders.pubkey import Pubkey
    from spl.token import instructions as token_ix
    from spl.token.constants import TOKEN_PROGRAM_ID

    from gridmatch.chain.spl import transfer_checked_ix

    source, mint, dest, owner = (Pubkey.new_unique() for _ in range(4))
    for amount, decimals in [(1, 0), (2**64 - 1, 9), (123_456_789, 6)]:
        accounts = {"source": source, "mint": mint, "dest": dest, "owner": owner}
        reference = token_ix.TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID, amount=amount, decimals=decimals, **accounts
        )
        assert transfer_checked_ix(source, mint, dest, amount, decimals, owner) == token_ix.transfer_checked(reference)
