"""How the chain layer decides what became of a transaction when the process that sent it is
gone (issue 10): expiry is judged from what the journal holds (the blockhash and its last valid
height) at the finalized block height, never at the tip, and a durable LiteSVM chain reports a
transaction landed only once its file holds it.

The RPC checks run RpcChain against tests/test_chain.py's `FakeValidator` with finality trailing
the tip (`lag`); "restarted" is a new RpcChain object, with no memory of what the first fetched.
"""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from test_chain import GRID, FakeValidator, Market, market, rpc_chain, transfer

from gridmatch.chain import LiteSVMChain, Prepared, SendTimeout, Sent, TxStatus
from gridmatch.chain.base import ChainBroken
from gridmatch.chain.settler import ChainSender
from gridmatch.errors import ChainError, TransactionFailed
from gridmatch.journal import Attempt

LIFETIME = 3  # blocks a blockhash stays valid at the tip
LAG = 10  # blocks finality trails the tip


def journaled(prepared: Prepared) -> Attempt:
    """What the journal keeps of a signed transaction, as the engine hands it to its settler."""
    sent = prepared.sent
    return Attempt(sent.signature, sent.blockhash, sent.last_valid_height, prepared.raw)


def lagging_market(commitment: str) -> tuple[FakeValidator, Market]:
    """A validator whose finality trails its tip by LAG blocks (from after the set-up on), and a
    market on it."""
    validator = FakeValidator(lifetime=LIFETIME)
    chain = rpc_chain(validator, commitment=commitment)
    m = market(chain)
    validator.lag = LAG
    return validator, m


def tip_and_finalized(validator: FakeValidator) -> tuple[int, int]:
    return validator.height, validator.height - validator.lag


def test_rpc_a_landed_transaction_not_yet_final_is_pending_and_not_expired_until_finalized():
    validator, m = lagging_market("finalized")
    chain = m.chain
    prepared = chain.prepare([transfer(m, 7)])
    last_valid = prepared.sent.last_valid_height
    assert last_valid is not None
    with pytest.raises(SendTimeout) as info:  # it lands; finality never comes while this one waits
        chain.submit(prepared)
    assert info.value.value == "pending"
    assert chain.status(prepared.sent.signature) is TxStatus.PENDING

    # The process dies; a new one reads the attempt from its journal.
    restarted = ChainSender(rpc_chain(validator, fund=False, commitment="finalized"))
    attempt = journaled(prepared)
    validator.produce(LIFETIME + 2)
    tip, finalized = tip_and_finalized(validator)
    assert tip > last_valid >= finalized
    sent = prepared.sent
    assert json.loads(validator.rpc_isBlockhashValid(sent.blockhash))["result"]["value"] is False  # at the tip
    assert restarted.status(sent.signature) is TxStatus.PENDING
    assert not restarted.expired(attempt)  # a fork that has not passed it may still be final
    with pytest.raises(SendTimeout):  # sent again, harmlessly: still pending
        restarted.submit(attempt)

    validator.produce(LAG)
    _, finalized = tip_and_finalized(validator)
    assert finalized > last_valid
    assert restarted.expired(attempt)  # no fork can take it any more...
    assert restarted.status(sent.signature) is TxStatus.CONFIRMED  # ...and it is final: paid, once
    assert chain.token_balances([m.a, m.b]) == [10 * GRID - 7, 7]


def test_rpc_a_transaction_that_never_landed_is_expired_only_once_finalized_passes_it():
    validator, m = lagging_market("confirmed")
    chain = m.chain
    prepared = chain.prepare([transfer(m, 7)])  # journaled; the process dies before sending it
    last_valid = prepared.sent.last_valid_height
    assert last_valid is not None
    restarted = rpc_chain(validator, fund=False)
    unjournaled = Sent(prepared.sent.signature, prepared.sent.blockhash, None)

    validator.produce(LIFETIME + 2)
    tip, finalized = tip_and_finalized(validator)
    assert tip > last_valid >= finalized
    assert restarted.status(prepared.sent.signature) is TxStatus.UNKNOWN
    assert not restarted.expired(prepared.sent)
    assert not chain.expired(unjournaled)  # its own memory of the blockhash: the same answer

    validator.produce(LAG)
    _, finalized = tip_and_finalized(validator)
    assert finalized == last_valid + 2
    assert restarted.expired(prepared.sent)
    assert chain.expired(unjournaled)
    # without the height, and without having fetched the blockhash, nothing proves it dead
    assert not restarted.expired(unjournaled)
    assert restarted.status(prepared.sent.signature) is TxStatus.UNKNOWN
    # sent now, it is refused for good
    with pytest.raises(TransactionFailed) as info:
        restarted.submit(prepared)
    assert info.value.value == "BlockhashExpired"
    assert chain.token_balances([m.a, m.b]) == [10 * GRID, 0]


def test_rpc_expiry_is_exactly_at_the_finalized_height():
    """Finalized == last valid: the transaction can still land in the block at that height."""
    validator = FakeValidator(lifetime=LIFETIME)
    chain = rpc_chain(validator)
    prepared = chain.prepare([transfer(market(chain), 1)])
    last_valid = prepared.sent.last_valid_height
    assert last_valid is not None
    validator.lag = LAG
    validator.produce(last_valid - validator.height + LAG)
    assert tip_and_finalized(validator)[1] == last_valid
    assert not rpc_chain(validator, fund=False).expired(prepared.sent)
    validator.produce(1)
    assert rpc_chain(validator, fund=False).expired(prepared.sent)


def test_rpc_a_node_that_does_not_answer_expired_raises_a_chain_error():
    validator, m = lagging_market("confirmed")
    prepared = m.chain.prepare([transfer(m, 1)])
    validator.fail["getBlockHeight"] = httpx.ConnectError("connection refused")
    with pytest.raises(ChainError) as info:
        m.chain.expired(prepared.sent)
    assert info.value.field == "block_height"


# -- the durable LiteSVM chain: its file first ----------------------------------------------


class FailingCommit:
    """A chain file's connection whose COMMITs fail (a full disk, an I/O error) `times` times."""

    def __init__(self, db: sqlite3.Connection, times: int = 1) -> None:
        self.db = db
        self.times = times

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.times:
            self.times -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)


def snapshot(chain: LiteSVMChain, keys: list[Pubkey]) -> list[bytes | None]:
    """Each account's bytes (lamports, owner, data), None where there is none."""
    return [None if (account := chain.svm.get_account(k)) is None else bytes(account) for k in keys]


SAVES = {
    "a transfer": lambda chain, m: chain.send([transfer(m, GRID)], memo="lost"),
    "a failing transfer": lambda chain, m: chain.send([transfer(m, 100 * GRID)], memo="lost"),
    "a new blockhash": lambda chain, m: chain.prepare([transfer(m, GRID)]),
    "an airdrop": lambda chain, m: chain.fund(m.bob.pubkey(), 10**9),
}


@pytest.mark.parametrize("change", SAVES)
def test_a_durable_chain_whose_file_write_fails_reports_nothing_and_refuses_use(tmp_path, change):
    path = tmp_path / "chain.db"
    chain = LiteSVMChain(seed=13, path=path)
    m = market(chain)
    chain.send([transfer(m, 1)])  # the next prepare moves to a new blockhash
    keys = [chain.authority.pubkey(), m.a, m.b, m.bob.pubkey()]
    before = snapshot(chain, keys)
    chain._store.db = FailingCommit(chain._store.db)  # type: ignore[union-attr]
    with pytest.raises(ChainBroken) as info:
        SAVES[change](chain, m)
    assert info.value.field == "path" and info.value.value == str(path)
    assert isinstance(info.value, ChainError) and not isinstance(info.value, TransactionFailed)

    # The old object refuses every use: its memory ran ahead of its file.
    for use in (
        lambda: chain.send([transfer(m, 1)]),
        lambda: chain.prepare([transfer(m, 1)]),
        lambda: chain.status(str(Keypair().sign_message(b"x"))),
        lambda: chain.expired(Sent(str(Keypair().sign_message(b"x")), str(chain._svm.latest_blockhash()), None)),
        lambda: chain.token_balances([m.a]),
        lambda: chain.memo_of(str(Keypair().sign_message(b"x"))),
        lambda: chain.signature_with_memo("lost"),
        lambda: chain.fund(m.bob.pubkey(), 1),
        lambda: chain.svm,
    ):
        with pytest.raises(ChainBroken):
            use()

    # The file holds the chain as it was before the change, and nothing of it.
    again = LiteSVMChain(path=path)
    assert snapshot(again, keys) == before
    assert again.signature_with_memo("lost") is None
    m.chain = again
    again.send([transfer(m, 1)])  # and goes on from there
    assert again.token_balances([m.b]) == [2]


def test_a_transfer_whose_save_failed_is_unknown_on_the_reopened_chain_and_lands_once(tmp_path):
    path = tmp_path / "chain.db"
    chain = LiteSVMChain(seed=14, path=path)
    m = market(chain)
    prepared = chain.prepare([transfer(m, GRID)], memo="batch")  # journaled by the caller
    chain._store.db = FailingCommit(chain._store.db)  # type: ignore[union-attr]
    with pytest.raises(ChainBroken):
        chain.submit(prepared)

    again = LiteSVMChain(path=path)
    assert again.status(prepared.sent.signature) is TxStatus.UNKNOWN
    assert again.token_balances([m.a, m.b]) == [10 * GRID, 0]
    assert not again.expired(prepared.sent)  # the reopened chain can still take it
    again.submit(prepared)
    again.submit(prepared)
    assert again.token_balances([m.a, m.b]) == [9 * GRID, GRID]
    again.close()
    assert LiteSVMChain(path=path).status(prepared.sent.signature) is TxStatus.CONFIRMED


def test_an_interrupted_save_breaks_the_chain_and_passes_the_interrupt_on(tmp_path):
    path = tmp_path / "chain.db"
    chain = LiteSVMChain(seed=15, path=path)
    m = market(chain)
    store = chain._store
    assert store is not None

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    store.save = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        chain.send([transfer(m, 1)])
    with pytest.raises(ChainBroken):
        chain.token_balances([m.b])
    assert LiteSVMChain(path=path).token_balances([m.b]) == [0]
