"""The chain layer (gridmatch.chain) end to end on LiteSVM, in process.

Most checks run twice: on `LiteSVMChain`, and on `RpcChain` talking JSON-RPC over an in-memory
HTTP transport to `FakeValidator` (a LiteSVM answering like a validator), so that RpcChain's
request building, response parsing and outcome logic run without a network.
tests/test_chain_rpc.py runs the same checks against a real validator when GRIDMATCH_RPC_URL is set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass, field

import httpx
import pytest
from solana.rpc.api import Client
from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.rpc.responses import (
    GetBlockHeightResp,
    GetLatestBlockhashResp,
    GetMinimumBalanceForRentExemptionResp,
    GetMultipleAccountsResp,
    GetSignaturesForAddressResp,
    GetSignatureStatusesResp,
    GetSlotResp,
    IsBlockhashValidResp,
    RequestAirdropResp,
    RpcBlockhash,
    RpcConfirmedTransactionStatusWithSignature,
    RpcResponseContext,
    RpcSimulateTransactionResult,
    SendTransactionResp,
)
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import TransactionConfirmationStatus, TransactionErrorFieldless, TransactionStatus

from gridmatch.chain import (
    MAX_TRANSACTION_ACCOUNTS,
    MAX_TRANSACTION_SIZE,
    Chain,
    ChainRequestInvalid,
    FaultyChain,
    LiteSVMChain,
    Prepared,
    RpcChain,
    SendTimeout,
    Sent,
    TransactionTooLarge,
    TxStatus,
    keypair_from_seed,
)
from gridmatch.chain.common import memo_from_transaction
from gridmatch.chain.litesvm import BLOCKHASH_LIFETIME
from gridmatch.chain.spl import MEMO_PROGRAM_ID, associated_token_address, memo_ix, transfer_checked_ix
from gridmatch.errors import ChainError, ChainTimeout, GridmatchError, TransactionFailed

GRID = 10**9  # base units per GRID (9 decimals)
#: A memo as long as settlement's batch memos ("gridmatch:<epoch>:<idx>:<32 hex>").
BATCH_MEMO = "gridmatch:202501011200:0:" + "0123456789abcdef" * 2


# -- a validator in memory ------------------------------------------------------------------


class FakeClock:
    """Time that passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeValidator:
    """A JSON-RPC endpoint backed by LiteSVM, answering the methods RpcChain uses the way an agave
    validator does (the answers are built with solders' own response types where they exist).
    Every processed transaction is a block: the slot and block height advance and a new
    blockhash is issued. A blockhash is valid for `lifetime` blocks; the finalized block height
    trails the tip by `lag`.

    Knobs for the paths a real network takes: `drop` swallows the next n sendTransaction calls
    (accepted, never processed: a lost packet); `fail` maps a method to an exception its next
    call raises (before processing; `after` afterwards: the answer is lost)."""

    lifetime: int = 150
    lag: int = 0
    drop: int = 0
    fail: dict[str, Exception] = field(default_factory=dict)
    after: dict[str, Exception] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.svm = LiteSVM().with_blockhash_check(False)
        self.slot = 1
        self.height = 1
        self.svm.warp_to_slot(self.slot)
        self.svm.set_slot_hashes([(0, self.svm.latest_blockhash())])
        self.issued: dict[Hash, int] = {self.svm.latest_blockhash(): self.height + self.lifetime}
        self.statuses: dict[Signature, tuple[int, object]] = {}
        self.txs: dict[Signature, VersionedTransaction] = {}
        self.order: list[Signature] = []

    # blocks

    def _new_block(self) -> None:
        hashes = self.svm.get_slot_hashes()
        self.svm.set_slot_hashes([(self.slot, self.svm.latest_blockhash()), *hashes][:512])
        self.slot += 1
        self.height += 1
        self.svm.warp_to_slot(self.slot)
        self.svm.expire_blockhash()

    def produce(self, blocks: int) -> None:
        """`blocks` empty blocks pass (the tip and, `lag` behind it, finality move on)."""
        for _ in range(blocks):
            self._new_block()

    def _ctx(self) -> RpcResponseContext:
        return RpcResponseContext(self.slot)

    def _record(self, signature: Signature, err: object, tx: VersionedTransaction | None) -> None:
        self.statuses[signature] = (self.slot, err)
        if tx is not None:
            self.txs[signature] = tx
        self.order.append(signature)

    # transport

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> Client:
        client = Client("http://fake-validator", timeout=5)
        client._provider.session = httpx.Client(transport=self.transport())
        return client

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:  # one request at a time reaches the runtime, as a node serialises its bank
            return self._handle(request)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        method, params = body["method"], body.get("params", [])
        self.calls.append(method)
        if method in self.fail:
            raise self.fail.pop(method)
        text = getattr(self, "rpc_" + method)(*params)
        if method in self.after:
            raise self.after.pop(method)
        return httpx.Response(200, text=text)

    @staticmethod
    def _error(code: int, message: str, data: object = None) -> str:
        error: dict[str, object] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        return json.dumps({"jsonrpc": "2.0", "error": error, "id": 0})

    # methods

    def rpc_getLatestBlockhash(self, config=None) -> str:
        blockhash = self.svm.latest_blockhash()
        self.issued.setdefault(blockhash, self.height + self.lifetime)
        return GetLatestBlockhashResp(RpcBlockhash(blockhash, self.issued[blockhash]), self._ctx()).to_json()

    def rpc_getBlockHeight(self, config=None) -> str:
        finalized = (config or {}).get("commitment") == "finalized"
        return GetBlockHeightResp(self.height - (self.lag if finalized else 0)).to_json()

    def rpc_getSlot(self, config=None) -> str:
        if (config or {}).get("commitment") == "finalized":  # a slot in SlotHashes
            return GetSlotResp(max(0, self.slot - 1 - self.lag)).to_json()
        return GetSlotResp(self.slot).to_json()

    def rpc_isBlockhashValid(self, blockhash, config=None) -> str:
        valid = self.issued.get(Hash.from_string(blockhash), -1) >= self.height
        return IsBlockhashValidResp(valid, self._ctx()).to_json()

    def rpc_getMinimumBalanceForRentExemption(self, size, config=None) -> str:
        return GetMinimumBalanceForRentExemptionResp(self.svm.minimum_balance_for_rent_exemption(size)).to_json()

    def rpc_getMultipleAccounts(self, keys, config=None) -> str:
        accounts = [self.svm.get_account(Pubkey.from_string(k)) for k in keys]
        return GetMultipleAccountsResp(accounts, self._ctx()).to_json()

    def rpc_requestAirdrop(self, key, lamports, config=None) -> str:
        result = self.svm.airdrop(Pubkey.from_string(key), lamports)
        if not isinstance(result, TransactionMetadata):  # the same airdrop again: a new blockhash
            self.svm.expire_blockhash()
            result = self.svm.airdrop(Pubkey.from_string(key), lamports)
        signature = result.signature() if isinstance(result, TransactionMetadata) else result.meta().signature()
        self._record(signature, None, None)
        self._new_block()
        return RequestAirdropResp(signature).to_json()

    def rpc_sendTransaction(self, raw, config) -> str:
        tx = VersionedTransaction.from_bytes(base64.b64decode(raw))
        signature = tx.signatures[0]
        preflight = not config.get("skipPreflight", False)
        fresh = self.issued.get(tx.message.recent_blockhash, -1) >= self.height
        err: object = None
        logs: list[str] = []
        if signature in self.statuses:
            err = TransactionErrorFieldless.AlreadyProcessed
        elif not fresh:
            err = TransactionErrorFieldless.BlockhashNotFound
        elif preflight:
            simulated = self.svm.simulate_transaction(tx)
            if isinstance(simulated, FailedTransactionMetadata):
                err = simulated.err()
                logs = simulated.meta().logs()
        if err is not None:
            if preflight:
                failure = SendTransactionPreflightFailureMessage(
                    f"Transaction simulation failed: {err}", RpcSimulateTransactionResult(err=err, logs=logs)
                )
                return self._error(-32002, failure.message, json.loads(failure.to_json())["data"])
            return SendTransactionResp(signature).to_json()  # the node drops it silently
        if self.drop:
            self.drop -= 1
            return SendTransactionResp(signature).to_json()
        result = self.svm.send_transaction(tx)
        self._record(signature, None if isinstance(result, TransactionMetadata) else result.err(), tx)
        self._new_block()
        return SendTransactionResp(signature).to_json()

    def rpc_getSignatureStatuses(self, signatures, config=None) -> str:
        out = []
        for s in signatures:
            found = self.statuses.get(Signature.from_string(s))
            if found is None:
                out.append(None)
                continue
            slot, err = found
            level = (
                TransactionConfirmationStatus.Finalized
                if slot <= self.slot - self.lag
                else TransactionConfirmationStatus.Confirmed
            )
            out.append(TransactionStatus(slot, None, None, err, level))
        return GetSignatureStatusesResp(out, self._ctx()).to_json()

    def rpc_getTransaction(self, signature, config) -> str:
        sig = Signature.from_string(signature)
        tx = self.txs.get(sig)
        if tx is None:
            return json.dumps({"jsonrpc": "2.0", "result": None, "id": 0})
        slot, err = self.statuses[sig]
        err_json = json.loads(
            GetSignatureStatusesResp([TransactionStatus(slot, None, None, err)], self._ctx()).to_json()
        )
        err_value = err_json["result"]["value"][0]["err"]
        meta = {
            "err": err_value,
            "status": {"Ok": None} if err_value is None else {"Err": err_value},
            "fee": 5000,
            "preBalances": [],
            "postBalances": [],
            "innerInstructions": [],
            "logMessages": [],
            "preTokenBalances": [],
            "postTokenBalances": [],
            "rewards": [],
            "loadedAddresses": {"writable": [], "readonly": []},
            "computeUnitsConsumed": 0,
        }
        result = {
            "slot": slot,
            "transaction": [base64.b64encode(bytes(tx)).decode(), "base64"],
            "meta": meta,
            "version": 0,
            "blockTime": None,
        }
        return json.dumps({"jsonrpc": "2.0", "result": result, "id": 0})

    def rpc_getSignaturesForAddress(self, address, config=None) -> str:
        key = Pubkey.from_string(address)
        limit = (config or {}).get("limit") or 1000
        out = []
        for sig in reversed(self.order):
            tx = self.txs.get(sig)
            if tx is None or key not in tx.message.account_keys:
                continue
            slot, err = self.statuses[sig]
            memo = memo_from_transaction(tx)
            shown = None if memo is None else f"[{len(memo.encode())}] {memo}"
            out.append(
                RpcConfirmedTransactionStatusWithSignature(
                    sig, slot, err, shown, None, TransactionConfirmationStatus.Finalized
                )
            )
            if len(out) == limit:
                break
        return GetSignaturesForAddressResp(out).to_json()


def rpc_chain(validator: FakeValidator, seed: int = 0, *, fund: bool = True, **kwargs) -> RpcChain:
    """An RpcChain on `validator` with fake time; `fund=False` for one that resumes an authority
    funded before (a process started again)."""
    authority = keypair_from_seed(seed, "rpc-authority")
    clock = FakeClock()
    kwargs.setdefault("timeout", 10.0)
    chain = RpcChain(
        "http://fake-validator",
        authority,
        client=validator.client(),
        sleep=clock.sleep,
        clock=clock,
        **kwargs,
    )
    if fund:
        chain.fund(authority.pubkey(), 100 * 10**9)
    return chain


@pytest.fixture(params=["litesvm", "rpc"])
def chain(request) -> Chain:
    """The chain under test: LiteSVM, or RpcChain over the in-memory validator."""
    if request.param == "litesvm":
        return LiteSVMChain(seed=11)
    return rpc_chain(FakeValidator())


# -- set-up shared by the checks ------------------------------------------------------------


@dataclass
class Market:
    chain: Chain
    mint: Pubkey
    alice: Keypair
    bob: Keypair
    a: Pubkey  # alice's GRID account
    b: Pubkey  # bob's GRID account


def market(chain: Chain, *, minted: int = 10 * GRID, approved: int = 4 * GRID) -> Market:
    mint = chain.create_mint(9)
    alice, bob = Keypair(), Keypair()
    a = chain.token_account(alice.pubkey(), mint)
    b = chain.token_account(bob.pubkey(), mint)
    chain.mint_to(mint, a, minted)
    chain.approve(alice, a, approved)
    return Market(chain, mint, alice, bob, a, b)


def transfer(m: Market, amount: int, source: Pubkey | None = None, dest: Pubkey | None = None):
    return transfer_checked_ix(source or m.a, m.mint, dest or m.b, amount, 9, m.chain.authority.pubkey())


# -- the checks (tests/test_chain_rpc.py runs them against a real validator) ----------------


def test_the_chains_satisfy_the_protocol(chain):
    assert isinstance(chain, Chain)
    assert isinstance(FaultyChain(chain), Chain)


def test_set_up_helpers_end_to_end(chain):
    mint6 = chain.create_mint(6)
    owner = Keypair()
    account = chain.token_account(owner.pubkey(), mint6)
    assert account == associated_token_address(owner.pubkey(), mint6)
    assert chain.token_account(owner.pubkey(), mint6) == account  # idempotent
    assert chain.token_balances([account]) == [0]
    chain.mint_to(mint6, account, 1_500_000)
    chain.mint_to(mint6, account, 500_000)
    assert chain.token_balances([account]) == [2_000_000]
    assert chain.delegated_amount(account) == 0
    chain.approve(owner, account, 700_000)
    assert chain.delegated_amount(account) == 700_000
    chain.approve(owner, account, 300_000)  # a new approval replaces the old one
    assert chain.delegated_amount(account) == 300_000
    missing = associated_token_address(Keypair().pubkey(), mint6)
    assert chain.token_balances([missing, account, missing]) == [0, 2_000_000, 0]
    assert chain.delegated_amount(missing) == 0
    assert chain.token_balances([]) == []


def test_mints_carry_their_decimals(chain):
    auth = chain.authority.pubkey()
    for decimals in (0, 6, 9):
        mint = chain.create_mint(decimals)
        owner, other = Keypair(), Keypair()
        account, dest = (chain.token_account(k.pubkey(), mint) for k in (owner, other))
        chain.mint_to(mint, account, 10)
        chain.approve(owner, account, 10)
        # transfer_checked with other decimals than the mint's is refused by the token program
        with pytest.raises(TransactionFailed):
            chain.send([transfer_checked_ix(account, mint, dest, 1, decimals + 1, auth)])
        chain.send([transfer_checked_ix(account, mint, dest, 1, decimals, auth)])
        assert chain.token_balances([account, dest]) == [9, 1]


def test_the_delegate_moves_exactly_the_amount(chain):
    m = market(chain)
    sent = chain.send([transfer(m, 1_234_567_891)])
    assert isinstance(sent, Sent)
    assert chain.token_balances([m.a, m.b]) == [10 * GRID - 1_234_567_891, 1_234_567_891]
    assert chain.delegated_amount(m.a) == 4 * GRID - 1_234_567_891
    assert chain.status(sent.signature) is TxStatus.CONFIRMED


@pytest.mark.parametrize("excess", ["delegation", "balance"])
def test_a_transfer_beyond_what_is_allowed_fails_and_changes_nothing(chain, excess):
    m = market(chain, minted=3 * GRID, approved=5 * GRID) if excess == "balance" else market(chain)
    limit = 3 * GRID if excess == "balance" else 4 * GRID
    before = chain.token_balances([m.a, m.b])
    delegated = chain.delegated_amount(m.a)
    with pytest.raises(TransactionFailed) as info:
        # the first transfer alone is fine: the transaction fails whole
        chain.send([transfer(m, GRID), transfer(m, limit)], memo="too much")
    assert info.value.field == "send" and info.value.value
    assert isinstance(info.value, ChainError) and isinstance(info.value, GridmatchError)
    assert chain.token_balances([m.a, m.b]) == before
    assert chain.delegated_amount(m.a) == delegated


def test_a_transfer_signed_by_no_delegate_fails(chain):
    m = market(chain)
    other = Keypair()
    ix = transfer_checked_ix(m.a, m.mint, m.b, 1, 9, other.pubkey())
    with pytest.raises(TransactionFailed):
        chain.send([ix], signers=[other])
    assert chain.token_balances([m.a, m.b]) == [10 * GRID, 0]


def test_memo_round_trip(chain):
    m = market(chain)
    sent = chain.send([transfer(m, 5)], memo=BATCH_MEMO)
    assert chain.memo_of(sent.signature) == BATCH_MEMO
    assert chain.signature_with_memo(BATCH_MEMO) == sent.signature
    assert chain.signature_with_memo(BATCH_MEMO + "x") is None
    unicode_memo = chain.send([transfer(m, 5)], memo="épreuve ⚡ 1 kWh")
    assert chain.memo_of(unicode_memo.signature) == "épreuve ⚡ 1 kWh"
    plain = chain.send([transfer(m, 5)])
    assert chain.memo_of(plain.signature) is None
    failed = chain.prepare([transfer(m, 100 * GRID)], memo="failed batch")
    with pytest.raises(TransactionFailed):
        chain.submit(failed)
    assert chain.memo_of(failed.sent.signature) is None
    assert chain.signature_with_memo("failed batch") is None


def test_the_memo_goes_first_then_the_compute_limit(chain):
    m = market(chain)
    prepared = chain.prepare([transfer(m, 1)], memo="first", compute_units=50_000)
    tx = VersionedTransaction.from_bytes(prepared.raw)
    keys = tx.message.account_keys
    programs = [str(keys[ix.program_id_index]) for ix in tx.message.instructions]
    assert programs[0] == str(MEMO_PROGRAM_ID)
    assert programs[1] == "ComputeBudget111111111111111111111111111111"
    assert programs[2] == "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
    assert keys[0] == chain.authority.pubkey()  # the authority pays
    chain.submit(prepared)
    assert chain.token_balances([m.b]) == [1]


def test_too_few_compute_units_fail_the_transaction(chain):
    m = market(chain)
    with pytest.raises(TransactionFailed):
        chain.send([transfer(m, 1)], compute_units=100)
    assert chain.token_balances([m.b]) == [0]


def test_status_of_confirmed_failed_and_unknown_signatures(chain):
    m = market(chain)
    ok = chain.send([transfer(m, 1)])
    bad = chain.prepare([transfer(m, 11 * GRID)])
    with pytest.raises(TransactionFailed):
        chain.submit(bad)
    assert chain.status(ok.signature) is TxStatus.CONFIRMED
    # RPC preflight refuses a failing transaction before it lands: no record (UNKNOWN); LiteSVM
    # runs it, charges the fee and records it (FAILED). Either way nothing moved.
    assert chain.status(bad.sent.signature) in (TxStatus.FAILED, TxStatus.UNKNOWN)
    assert chain.status(str(Keypair().sign_message(b"never sent"))) is TxStatus.UNKNOWN
    never = chain.prepare([transfer(m, 1)])
    assert chain.status(never.sent.signature) is TxStatus.UNKNOWN
    with pytest.raises(ChainRequestInvalid):
        chain.status("not a signature")


def test_resubmitting_a_prepared_transaction_applies_it_once(chain):
    m = market(chain)
    prepared = chain.prepare([transfer(m, GRID)], memo="once")
    first = chain.submit(prepared)
    again = chain.submit(prepared)
    assert first == again == prepared.sent
    assert chain.token_balances([m.a, m.b]) == [9 * GRID, GRID]


def test_a_new_send_of_the_same_instructions_is_a_new_transaction(chain):
    m = market(chain)
    first = chain.send([transfer(m, GRID)], memo="same")
    second = chain.send([transfer(m, GRID)], memo="same")
    assert first.signature != second.signature
    assert chain.token_balances([m.b]) == [2 * GRID]  # it pays twice: why retries must reconcile first


def test_a_fresh_transaction_is_not_expired(chain):
    m = market(chain)
    prepared = chain.prepare([transfer(m, 1)])
    assert not chain.expired(prepared.sent)
    assert chain.expired(Sent(prepared.sent.signature, str(Hash.new_unique()), 0))  # no chain is at height 0


def test_expired_refuses_what_is_not_a_sent(chain):
    good = chain.prepare([memo_ix("x")]).sent
    for bad, name in (
        ("a signature", "sent"),
        (Sent("not a signature", good.blockhash, good.last_valid_height), "signature"),
        (Sent(good.signature, "not a blockhash", good.last_valid_height), "blockhash"),
        (Sent(good.signature, good.blockhash, -1), "last_valid_height"),
        (Sent(good.signature, good.blockhash, True), "last_valid_height"),  # type: ignore[arg-type]
        (Sent(good.signature, good.blockhash, "12"), "last_valid_height"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ChainRequestInvalid) as info:
            chain.expired(bad)  # type: ignore[arg-type]
        assert info.value.field == name


def test_transaction_size_is_the_serialized_size(chain):
    m = market(chain)
    for ixs, memo, units in (
        ([transfer(m, 1)], None, None),
        ([transfer(m, 1), transfer(m, 2)], BATCH_MEMO, None),
        ([transfer(m, 1)], "é" * 40, 200_000),
        ([], "only a memo", None),
    ):
        size = chain.transaction_size(ixs, memo=memo, compute_units=units)
        prepared = chain.prepare(ixs, memo=memo, compute_units=units)
        assert size == len(prepared.raw) == len(bytes(VersionedTransaction.from_bytes(prepared.raw)))
    # a second signer adds its 64-byte signature, counted too
    signer = Keypair()
    ixs = [memo_ix("x"), transfer_checked_ix(m.a, m.mint, m.b, 1, 9, signer.pubkey())]
    assert chain.transaction_size(ixs) == len(chain.prepare(ixs, signers=[signer]).raw)


def test_an_oversized_transaction_is_refused_before_sending(chain):
    m = market(chain)
    memo = "x" * (MAX_TRANSACTION_SIZE - chain.transaction_size([transfer(m, 1)], memo=""))
    while chain.transaction_size([transfer(m, 1)], memo=memo) > MAX_TRANSACTION_SIZE:
        memo = memo[:-1]  # (the memo's length prefix grows to 2 bytes from 128 bytes on)
    assert chain.transaction_size([transfer(m, 1)], memo=memo) == MAX_TRANSACTION_SIZE
    assert chain.fits([transfer(m, 1)], memo=memo)
    chain.send([transfer(m, 1)], memo=memo)  # exactly at the limit: fine
    over = memo + "y"
    assert chain.transaction_size([transfer(m, 1)], memo=over) == MAX_TRANSACTION_SIZE + 1
    assert not chain.fits([transfer(m, 1)], memo=over)
    for attempt in (
        lambda: chain.send([transfer(m, 1)], memo=over),
        lambda: chain.prepare([transfer(m, 1)], memo=over),
    ):
        with pytest.raises(TransactionTooLarge) as info:
            attempt()
        assert info.value.field == "transaction_size" and info.value.value == MAX_TRANSACTION_SIZE + 1
        assert isinstance(info.value, ChainRequestInvalid) and isinstance(info.value, ValueError)
    assert chain.token_balances([m.b]) == [1]


def test_bad_requests_raise_typed_errors(chain):
    m = market(chain)
    for bad in (-1, 2**64, 1.5, True, "5"):
        with pytest.raises(ChainRequestInvalid) as info:
            chain.mint_to(m.mint, m.a, bad)
        assert info.value.field == "amount" and info.value.value == bad
    with pytest.raises(ChainRequestInvalid):
        chain.approve(m.alice, m.a, -5)
    with pytest.raises(ChainRequestInvalid):
        chain.create_mint(256)
    with pytest.raises(ChainRequestInvalid):
        chain.send(["not an instruction"])
    with pytest.raises(ChainRequestInvalid) as info:
        chain.send([transfer_checked_ix(m.a, m.mint, m.b, 1, 9, m.alice.pubkey())])  # alice must sign
    assert info.value.field == "signers"
    with pytest.raises(ChainRequestInvalid) as info:
        chain.send([transfer(m, 1)], signers=[m.bob])  # bob has nothing to sign
    assert info.value.field == "signers"
    with pytest.raises(ChainRequestInvalid):
        chain.send([transfer(m, 1)], compute_units=0)
    with pytest.raises(ChainRequestInvalid):
        chain.send([transfer(m, 1)], memo="\ud800")  # a lone surrogate is not UTF-8
    with pytest.raises(ChainRequestInvalid):
        chain.token_balances([chain.authority.pubkey()])  # a wallet is not a token account
    with pytest.raises(ChainRequestInvalid):
        chain.send([transfer(m, 1)], lookup_tables=[m.a])  # not a lookup table
    with pytest.raises(ChainRequestInvalid):
        chain.create_lookup_table([])
    with pytest.raises(ChainRequestInvalid):
        chain.create_lookup_table([Pubkey.new_unique() for _ in range(257)])
    assert chain.token_balances([m.a, m.b]) == [10 * GRID, 0]


def _pairs(chain: Chain, n: int) -> tuple[Pubkey, list[tuple[Pubkey, Pubkey]], list[Keypair]]:
    """A mint and `n` (source, dest) pairs of distinct token accounts; sources hold 10 GRID."""
    mint = chain.create_mint(9)
    owners = [Keypair() for _ in range(2 * n)]
    accounts = [chain.token_account(o.pubkey(), mint) for o in owners]
    return mint, list(zip(accounts[::2], accounts[1::2], strict=True)), owners[::2]


def _most_that_fit(chain: Chain, mint: Pubkey, pairs, **kwargs) -> int:
    auth = chain.authority.pubkey()
    ixs = []
    for source, dest in pairs:
        ixs.append(transfer_checked_ix(source, mint, dest, 1, 9, auth))
        if not chain.fits(ixs, memo=BATCH_MEMO, **kwargs):
            return len(ixs) - 1
    return len(ixs)


#: Transfers between distinct accounts per transaction, with a batch memo (measured below).
WITHOUT_TABLE = 11  # bytes bind: 81 bytes a transfer (two new 32-byte keys + the instruction)
WITH_TABLE = 30  # the 64-account lock binds: 4 (payer, mint, token and memo programs) + 2 per transfer
WITH_TABLE_BYTES_ONLY = 49  # what the bytes alone would allow: 19 bytes a transfer


def test_lookup_tables_let_more_transfers_fit(chain):
    mint, pairs, sources = _pairs(chain, 56)
    without = _most_that_fit(chain, mint, pairs)
    table = chain.create_lookup_table([mint, *[a for pair in pairs for a in pair]][:256])
    with_table = _most_that_fit(chain, mint, pairs, lookup_tables=[table])
    assert (without, with_table) == (WITHOUT_TABLE, WITH_TABLE)
    chain.account_limit = 256  # type: ignore[attr-defined]
    try:
        assert _most_that_fit(chain, mint, pairs, lookup_tables=[table]) == WITH_TABLE_BYTES_ONLY
    finally:
        chain.account_limit = MAX_TRANSACTION_ACCOUNTS  # type: ignore[attr-defined]

    # The largest batch really runs, and moves what it says.
    auth = chain.authority.pubkey()
    used = pairs[:WITH_TABLE]
    for (source, _), owner in zip(used, sources, strict=False):
        chain.mint_to(mint, source, 10)
        chain.approve(owner, source, 10)
    ixs = [transfer_checked_ix(s, mint, d, 3, 9, auth) for s, d in used]
    sent = chain.send(ixs, lookup_tables=[table], memo=BATCH_MEMO)
    assert chain.status(sent.signature) is TxStatus.CONFIRMED
    assert chain.memo_of(sent.signature) == BATCH_MEMO
    balances = chain.token_balances([a for pair in used for a in pair])
    assert balances == [7, 3] * WITH_TABLE
    source, dest = pairs[WITH_TABLE]
    one_more = [*ixs, transfer_checked_ix(source, mint, dest, 3, 9, auth)]
    with pytest.raises(TransactionTooLarge) as info:
        chain.send(one_more, lookup_tables=[table], memo=BATCH_MEMO)
    assert info.value.field == "accounts" and info.value.value == MAX_TRANSACTION_ACCOUNTS + 2


def test_a_second_lookup_table_and_a_full_one(chain):
    m = market(chain)
    first = chain.create_lookup_table([m.mint])
    second = chain.create_lookup_table([*(Pubkey.new_unique() for _ in range(254)), m.a, m.b])
    assert first != second
    prepared = chain.prepare([transfer(m, 2)], lookup_tables=[first, second])
    lookups = VersionedTransaction.from_bytes(prepared.raw).message.address_table_lookups
    assert sorted(str(lookup.account_key) for lookup in lookups) == sorted([str(first), str(second)])
    chain.submit(prepared)
    assert chain.token_balances([m.a, m.b]) == [10 * GRID - 2, 2]


# -- FaultyChain ----------------------------------------------------------------------------


def test_faulty_chain_fails_without_sending(chain):
    m = market(chain)
    faulty = FaultyChain(chain, fail_on={1})
    faulty.send([transfer(m, 1)])
    with pytest.raises(TransactionFailed) as info:
        faulty.send([transfer(m, 2)], memo="dropped")
    assert info.value.field == "send"
    faulty.send([transfer(m, 4)])
    assert chain.token_balances([m.b]) == [5]
    assert faulty.calls == 3 and faulty.injected == [(1, "fail", None)]
    assert chain.signature_with_memo("dropped") is None


def test_faulty_chain_times_out_without_landing(chain):
    m = market(chain)
    faulty = FaultyChain(chain, timeout_on={0})
    with pytest.raises(ChainTimeout) as info:
        faulty.send([transfer(m, GRID)], memo="lost")
    exc = info.value
    assert isinstance(exc, SendTimeout) and isinstance(exc, TimeoutError)
    assert chain.status(exc.sent.signature) is TxStatus.UNKNOWN
    assert chain.token_balances([m.b]) == [0]
    # The transaction can still land: resubmitting the very same bytes is the safe retry.
    assert not faulty.expired(exc.sent)
    faulty.submit(exc.prepared)
    faulty.submit(exc.prepared)
    assert chain.token_balances([m.b]) == [GRID]
    assert faulty.status(exc.sent.signature) is TxStatus.CONFIRMED


def test_faulty_chain_times_out_after_landing(chain):
    m = market(chain)
    faulty = FaultyChain(chain, timeout_on={0}, land_on_timeout=True)
    with pytest.raises(ChainTimeout) as info:
        faulty.send([transfer(m, GRID)], memo=BATCH_MEMO)
    exc = info.value
    assert chain.token_balances([m.b]) == [GRID]  # it landed; the caller never heard
    assert faulty.status(exc.sent.signature) is TxStatus.CONFIRMED
    assert faulty.signature_with_memo(BATCH_MEMO) == exc.sent.signature  # reconciling finds it
    faulty.submit(exc.prepared)  # resubmitting is harmless
    assert chain.token_balances([m.b]) == [GRID]
    faulty.send([transfer(m, GRID)], memo=BATCH_MEMO)  # a naive retry pays twice
    assert chain.token_balances([m.b]) == [2 * GRID]
    assert [kind for _, kind, _ in faulty.injected] == ["timeout+landed"]


def test_faulty_chain_timeout_of_a_failing_transaction(chain):
    m = market(chain)
    faulty = FaultyChain(chain, timeout_on={0}, land_on_timeout=True)
    with pytest.raises(ChainTimeout) as info:
        faulty.send([transfer(m, 100 * GRID)])
    assert chain.status(info.value.sent.signature) in (TxStatus.FAILED, TxStatus.UNKNOWN)
    assert chain.token_balances([m.a, m.b]) == [10 * GRID, 0]


def test_faulty_chain_counts_submissions_only(chain):
    faulty = FaultyChain(chain, fail_on={0, 2}, timeout_on={1})
    m = market(faulty)  # set-up helpers go straight through
    prepared = faulty.prepare([transfer(m, 1)])
    with pytest.raises(TransactionFailed):
        faulty.submit(prepared)
    with pytest.raises(ChainTimeout):
        faulty.send([transfer(m, 1)])
    with pytest.raises(TransactionFailed):
        faulty.send([transfer(m, 1)])
    faulty.submit(prepared)
    assert faulty.calls == 4 and [k for k, _, _ in faulty.injected] == [0, 1, 2]
    assert faulty.authority == chain.authority
    with pytest.raises(ChainRequestInvalid):
        FaultyChain(chain, fail_on={-1})


# -- LiteSVM specifics ----------------------------------------------------------------------


def test_litesvm_takes_its_recent_blockhashes_only():
    chain = LiteSVMChain(seed=3, blockhash_lifetime=1)
    m = market(chain)
    a = chain.prepare([transfer(m, 1)])
    b = chain.prepare([transfer(m, 2)])  # same blockhash: nothing was submitted in between
    assert a.sent.blockhash == b.sent.blockhash and a.sent.last_valid_height is None
    chain.submit(a)
    assert not chain.expired(a.sent)
    c = chain.prepare([transfer(m, 4)])  # after a submission: a new blockhash (a block)
    assert c.sent.blockhash != a.sent.blockhash
    assert not chain.expired(a.sent) and not chain.expired(c.sent)  # one block back: still taken
    chain.submit(c)
    d = chain.prepare([transfer(m, 8)])  # two blocks on: `b`, prepared with a's blockhash, is dead
    assert chain.expired(b.sent)
    assert not chain.expired(c.sent) and not chain.expired(d.sent)
    with pytest.raises(TransactionFailed) as info:
        chain.submit(b)
    assert info.value.value == "BlockhashNotFound"
    assert chain.status(b.sent.signature) is TxStatus.UNKNOWN
    assert chain.submit(a) == a.sent  # a landed transaction answers from its record, whatever its age
    chain.submit(d)
    assert chain.token_balances([m.b]) == [1 + 4 + 8]
    # a blockhash never issued is expired, and so is every other once BLOCKHASH_LIFETIME blocks passed
    assert chain.expired(Sent(a.sent.signature, str(Hash.new_unique()), None))
    default = LiteSVMChain(seed=3)
    first = default.send([memo_ix("first")])
    for k in range(BLOCKHASH_LIFETIME):
        default.send([memo_ix(str(k))])  # prepared after a submission: a block each
    assert not default.expired(first)
    default.prepare([memo_ix("one more block")])
    assert default.expired(first)
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ChainRequestInvalid) as refused:
            LiteSVMChain(blockhash_lifetime=bad)  # type: ignore[arg-type]
        assert refused.value.field == "blockhash_lifetime"


def test_litesvm_raw_behaviours_this_layer_relies_on():
    """What LiteSVM itself does (solders 0.26), documented in gridmatch/chain/litesvm.py."""
    chain = LiteSVMChain(seed=4)
    m = market(chain)
    svm = chain.svm
    prepared = chain.prepare([transfer(m, 1)])
    tx = VersionedTransaction.from_bytes(prepared.raw)
    assert isinstance(svm.send_transaction(tx), TransactionMetadata)
    again = svm.send_transaction(tx)  # an identical transaction: AlreadyProcessed, no effect
    assert "AlreadyProcessed" in str(again.err())
    # with its blockhash check off, it runs a transaction of any blockhash: the chain checks them
    from solders.message import MessageV0

    message = MessageV0.try_compile(chain.authority.pubkey(), [memo_ix("any")], [], Hash.new_unique())
    assert isinstance(svm.send_transaction(VersionedTransaction(message, [chain.authority])), TransactionMetadata)
    assert chain.token_balances([m.b]) == [1]
    # its blockhashes: the same first one in every runtime, each next one the SHA-256 of the last
    # (the chain's follow the same rule, so a file written before the chain derived them resumes)
    old = svm.latest_blockhash()
    svm.expire_blockhash()
    assert svm.latest_blockhash() == Hash(hashlib.sha256(bytes(old)).digest())
    assert LiteSVM().latest_blockhash() == LiteSVM().latest_blockhash()
    fresh = LiteSVMChain(seed=4)
    assert fresh.authority == chain.authority
    first = fresh.send([memo_ix("first")])
    assert first.blockhash == str(LiteSVM().latest_blockhash())
    second = fresh.prepare([memo_ix("second")])
    assert second.sent.blockhash == str(Hash(hashlib.sha256(bytes(Hash.from_string(first.blockhash))).digest()))


def test_litesvm_does_not_enforce_the_size_limit_so_the_chain_does():
    chain = LiteSVMChain(seed=5)
    m = market(chain)
    memo = "z" * 1200
    with pytest.raises(TransactionTooLarge):
        chain.send([transfer(m, 1)], memo=memo)
    # LiteSVM itself would run it
    raw = chain.svm
    from solders.message import MessageV0

    msg = MessageV0.try_compile(chain.authority.pubkey(), [memo_ix("z" * 1300)], [], raw.latest_blockhash())
    tx = VersionedTransaction(msg, [chain.authority])
    assert len(bytes(tx)) > MAX_TRANSACTION_SIZE
    result = raw.send_transaction(tx)
    assert result is not None  # (it runs out of compute units rather than being refused for size)


def test_litesvm_seeded_chains_are_reproducible():
    def run(seed):
        chain = LiteSVMChain(seed=seed)
        mint = chain.create_mint(9)
        owner = keypair_from_seed(seed, "owner")
        account = chain.token_account(owner.pubkey(), mint)
        chain.mint_to(mint, account, 5)
        return mint, chain.send([memo_ix("hello")]).signature

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert LiteSVMChain().authority != LiteSVMChain().authority


def test_litesvm_fund():
    chain = LiteSVMChain(seed=6)
    who = Keypair().pubkey()
    chain.fund(who, 5_000)
    chain.fund(who, 5_000)  # the same airdrop twice lands twice
    assert chain.svm.get_balance(who) == 10_000
    with pytest.raises(ChainRequestInvalid):
        chain.fund(who, -1)


def test_runtime_panics_become_chain_errors():
    chain = LiteSVMChain(seed=8)
    m = market(chain)
    prepared = chain.prepare([transfer(m, 1)])
    broken = Prepared(prepared.sent, prepared.raw[:-3])
    with pytest.raises(ChainRequestInvalid):
        chain.submit(broken)
    with pytest.raises(ChainRequestInvalid):
        chain.submit(Prepared(Sent("x", "y", None), prepared.raw))


# -- durability -----------------------------------------------------------------------------


def test_a_durable_litesvm_chain_resumes_from_its_file(tmp_path):
    path = tmp_path / "chain.db"
    chain = LiteSVMChain(seed=9, path=path, blockhash_lifetime=1)
    m = market(chain)
    table = chain.create_lookup_table([m.mint, m.a, m.b])
    sent = chain.send([transfer(m, GRID)], memo="before the crash", lookup_tables=[table])
    pending = chain.prepare([transfer(m, 2 * GRID)], memo="journaled, not sent")
    chain.send([memo_ix("x")])
    chain.prepare([memo_ix("y")])  # a block on: `pending` is one blockhash back
    chain.close()  # (the process ends)

    again = LiteSVMChain(path=path, blockhash_lifetime=1)
    assert again.authority == chain.authority and again.seed == 9
    assert again.token_balances([m.a, m.b]) == [9 * GRID, GRID]
    assert again.delegated_amount(m.a) == 3 * GRID
    assert again.status(sent.signature) is TxStatus.CONFIRMED
    assert again.memo_of(sent.signature) == "before the crash"
    assert again.signature_with_memo("before the crash") == sent.signature
    # a transaction signed before the restart can still land, once
    assert again.status(pending.sent.signature) is TxStatus.UNKNOWN
    assert not again.expired(pending.sent)
    again.submit(pending)
    again.submit(pending)
    assert again.token_balances([m.b]) == [3 * GRID]
    # the resumed chain goes on where the first stopped: tables, mints, transfers
    m.chain = again
    again.send([transfer(m, GRID)], lookup_tables=[table])
    assert again.token_balances([m.b]) == [4 * GRID]
    mint = again.create_mint(9)
    assert mint != m.mint
    assert again.expired(pending.sent)
    again.close()
    assert LiteSVMChain(path=path).token_balances([m.b]) == [4 * GRID]


def test_a_durable_chain_keeps_its_clock(tmp_path):
    """Programs keep times that must only grow: a restart does not take the clock back to 0."""
    path = tmp_path / "chain.db"
    chain = LiteSVMChain(seed=17, path=path)
    assert chain.advance_clock(1_000) == 1_000
    chain.close()
    again = LiteSVMChain(path=path)
    assert again.unix_time() == 1_000
    assert again.advance_clock(500) == 1_000  # never back
    for bad in (2**63, -(2**63) - 1, 1.5, True):
        with pytest.raises(ChainRequestInvalid) as info:
            again.advance_clock(bad)  # type: ignore[arg-type]
        assert info.value.field == "unix_timestamp"
    assert again.unix_time() == 1_000
    again.send([memo_ix("a transaction keeps the clock too")])
    assert again.advance_clock(2_000) == 2_000
    again.close()
    assert LiteSVMChain(path=path).unix_time() == 2_000


def test_a_chain_file_is_held_by_one_chain_at_a_time(tmp_path):
    """Two runtimes saving to one file would overwrite each other's accounts: a second opener is
    refused, and changes nothing, until the first closes (or its process ends)."""
    path = tmp_path / "chain.db"
    chain = LiteSVMChain(seed=10, path=path)
    m = market(chain)
    chain.send([transfer(m, 1)])
    for _ in range(2):
        with pytest.raises(ChainError) as info:
            LiteSVMChain(seed=10, path=path)
        assert info.value.field == "path" and info.value.value == str(path) and "in use" in str(info.value)
    chain.send([transfer(m, 2)])  # the holder goes on undisturbed
    chain.close()
    again = LiteSVMChain(path=path)
    assert again.token_balances([m.a, m.b]) == [10 * GRID - 3, 3]
    # a process that dies releases the file
    script = f"from gridmatch.chain import LiteSVMChain; LiteSVMChain(path={str(path)!r}); import os; os._exit(0)"
    again.close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert LiteSVMChain(path=path).token_balances([m.b]) == [3]


def test_a_durable_chain_serves_many_threads(tmp_path):
    """Order intake and settlement call one chain from different threads: each call runs whole
    (without the chain's lock the runtime crashes the process), the file is written from
    whichever thread made the change, and no thread's prepared transaction is outdated by the
    others' (with only the latest blockhash taken, about half were)."""
    path = tmp_path / "chain.db"
    chain = LiteSVMChain(seed=16, path=path)
    m = market(chain, minted=10 * GRID, approved=10 * GRID)
    landed: list[int] = []
    errors: list[BaseException] = []

    def pay(thread: int) -> None:
        for k in range(25):
            amount = 1 + thread + 4 * k  # distinct: identical instructions under one blockhash are one transaction
            try:
                chain.send([transfer(m, amount)])
            except BaseException as exc:
                errors.append(exc)
            else:
                landed.append(amount)

    threads = [threading.Thread(target=pay, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(landed) == list(range(1, 101))
    assert chain.token_balances([m.a, m.b]) == [10 * GRID - 5050, 5050]
    chain.close()
    assert LiteSVMChain(path=path).token_balances([m.a, m.b]) == [10 * GRID - 5050, 5050]


def test_a_durable_chain_survives_sigkill(tmp_path):
    """The process dies (SIGKILL) right after a transfer was submitted: the file holds it."""
    path = tmp_path / "chain.db"
    script = textwrap.dedent(
        f"""
        import os, signal
        from solders.keypair import Keypair
        from gridmatch.chain import LiteSVMChain, keypair_from_seed
        from gridmatch.chain.spl import transfer_checked_ix
        chain = LiteSVMChain(seed=12, path={str(path)!r})
        mint = chain.create_mint(9)
        alice, bob = keypair_from_seed(12, "alice"), keypair_from_seed(12, "bob")
        a, b = chain.token_account(alice.pubkey(), mint), chain.token_account(bob.pubkey(), mint)
        chain.mint_to(mint, a, 100)
        chain.approve(alice, a, 100)
        sent = chain.send([transfer_checked_ix(a, mint, b, 40, 9, chain.authority.pubkey())], memo="paid")
        print(mint, a, b, sent.signature, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == -9, proc.stderr
    _mint, a, b, signature = proc.stdout.split()
    chain = LiteSVMChain(path=path)
    assert chain.token_balances([Pubkey.from_string(a), Pubkey.from_string(b)]) == [60, 40]
    assert chain.status(signature) is TxStatus.CONFIRMED
    assert chain.signature_with_memo("paid") == signature


# -- RpcChain on paths a real network takes -------------------------------------------------


def test_rpc_a_lost_packet_is_rebroadcast_and_lands():
    validator = FakeValidator()
    chain = rpc_chain(validator)
    m = market(chain)
    validator.drop = 1
    sent = chain.send([transfer(m, 7)])
    assert chain.status(sent.signature) is TxStatus.CONFIRMED
    assert chain.token_balances([m.b]) == [7]
    assert validator.calls.count("sendTransaction") >= 2


def test_rpc_no_answer_in_time_is_a_send_timeout():
    validator = FakeValidator()
    chain = rpc_chain(validator, rebroadcast=1000.0)
    m = market(chain)
    validator.drop = 1
    with pytest.raises(SendTimeout) as info:
        chain.send([transfer(m, 7)])
    exc = info.value
    assert isinstance(exc, ChainTimeout) and exc.field == "send"
    assert chain.status(exc.sent.signature) is TxStatus.UNKNOWN
    assert not chain.expired(exc.sent)  # it could still land
    chain.submit(exc.prepared)  # the safe retry
    assert chain.token_balances([m.b]) == [7]


def test_rpc_a_transaction_that_can_no_longer_land_is_failed():
    validator = FakeValidator(lifetime=0)
    chain = rpc_chain(validator)
    m = market(chain)
    validator.drop = 10**6  # nothing lands any more
    prepared = chain.prepare([transfer(m, 7)])
    validator.height += 1  # a block passes: the blockhash expires
    assert chain.expired(prepared.sent)
    with pytest.raises(TransactionFailed) as info:
        chain.submit(prepared)
    assert "BlockhashNotFound" in str(info.value.value) or "Expired" in str(info.value.value)
    assert chain.token_balances([m.b]) == [0]


def test_rpc_a_lost_transaction_fails_once_its_blockhash_has_expired():
    validator = FakeValidator(lifetime=3)
    chain = rpc_chain(validator, timeout=1000.0)
    m = market(chain)
    validator.drop = 10**6  # every packet is lost from now on
    clock = FakeClock()
    chain._clock, chain._sleep = clock, clock.sleep

    def a_block_per_second(seconds: float) -> None:
        clock.sleep(seconds)
        validator.height = 100 + int(clock.now)

    chain._sleep = a_block_per_second
    validator.height = 100
    with pytest.raises(TransactionFailed) as info:
        chain.send([transfer(m, 7)])
    assert info.value.value == "BlockhashExpired"
    assert clock.now < 20  # decided when the blockhash expired, long before the timeout
    assert chain.token_balances([m.b]) == [0]


def test_rpc_seen_but_not_confirmed_at_the_deadline_is_a_send_timeout():
    validator = FakeValidator()
    chain = rpc_chain(validator, commitment="finalized")
    m = market(chain)
    validator.lag = 10**6  # nothing is ever finalized
    with pytest.raises(SendTimeout) as info:
        chain.send([transfer(m, 7)])
    assert info.value.value == "pending"
    assert chain.status(info.value.sent.signature) is TxStatus.PENDING


def test_rpc_a_failing_preflight_of_a_resubmission_is_not_final():
    """A resubmitted transaction whose simulation now fails may still land from an earlier copy
    (in flight since its first submission): it is failed only once its blockhash has expired."""
    validator = FakeValidator()
    chain = rpc_chain(validator, rebroadcast=10**6)
    m = market(chain, minted=GRID, approved=GRID)
    lost = chain.prepare([transfer(m, GRID)])
    validator.drop = 1
    with pytest.raises(SendTimeout):
        chain.submit(lost)
    chain.send([transfer(m, GRID - 1)])  # now `lost` would fail: 1 base unit is left
    with pytest.raises(SendTimeout) as info:
        chain.submit(lost)
    assert info.value.value == "unknown"
    validator.height += 1000  # its blockhash expires
    with pytest.raises(TransactionFailed) as info:
        chain.submit(lost)
    assert info.value.value == "BlockhashExpired"
    # a first submission that fails preflight is failed at once
    with pytest.raises(TransactionFailed) as info:
        chain.send([transfer(m, 2)])
    assert "InstructionError" in str(info.value.value)


def test_rpc_expiry_is_judged_at_the_finalized_height():
    validator = FakeValidator(lifetime=0, lag=5)
    chain = rpc_chain(validator)
    m = market(chain)
    prepared = chain.prepare([transfer(m, 7)])
    validator.height += 1  # past its last valid height at the tip, not yet when finalized
    assert not chain.expired(prepared.sent)
    validator.height += 5
    assert chain.expired(prepared.sent)
    # without a last valid height, a blockhash this chain never fetched is not provably dead
    assert not chain.expired(Sent(prepared.sent.signature, str(Hash.new_unique()), None))


def test_rpc_an_answer_lost_after_landing_is_found_by_polling():
    validator = FakeValidator()
    chain = rpc_chain(validator)
    m = market(chain)
    validator.after["sendTransaction"] = httpx.ReadTimeout("the answer was lost")
    sent = chain.send([transfer(m, 7)])
    assert chain.status(sent.signature) is TxStatus.CONFIRMED
    assert chain.token_balances([m.b]) == [7]


def test_rpc_an_unreachable_node_is_a_chain_error_and_nothing_is_sent():
    validator = FakeValidator()
    chain = rpc_chain(validator)
    m = market(chain)
    validator.fail["sendTransaction"] = httpx.ConnectError("connection refused")
    with pytest.raises(ChainError) as info:
        chain.send([transfer(m, 7)])
    assert not isinstance(info.value, TransactionFailed | ChainTimeout)
    assert info.value.field == "send"
    validator.fail["getMultipleAccounts"] = httpx.ConnectError("connection refused")
    with pytest.raises(ChainError) as info:
        chain.token_balances([m.b])
    assert info.value.field == "accounts"
    assert chain.token_balances([m.b]) == [0]
    validator.fail["getSignatureStatuses"] = httpx.ConnectError("connection refused")
    with pytest.raises(ChainError):
        chain.status(str(Signature.default()))


def test_rpc_error_answers_become_chain_errors():
    validator = FakeValidator()
    chain = rpc_chain(validator)
    unhealthy = FakeValidator._error(-32005, "Node is behind by 42 slots", {"numSlotsBehind": 42})
    validator.rpc_getLatestBlockhash = lambda config=None: unhealthy
    with pytest.raises(ChainError) as info:
        chain.send([memo_ix("x")])
    assert info.value.field == "blockhash" and "behind by 42" in str(info.value)
    # solders panics on this error when `data` is missing: still a ChainError
    validator.rpc_getLatestBlockhash = lambda config=None: FakeValidator._error(-32005, "Node is unhealthy")
    with pytest.raises(ChainError) as info:
        chain.send([memo_ix("x")])
    assert info.value.field == "blockhash"
    validator.rpc_getMultipleAccounts = lambda keys, config=None: "not json"
    with pytest.raises(ChainError):
        chain.token_balances([Pubkey.new_unique()])


def test_rpc_resubmitting_a_landed_transaction_answers_from_the_chain():
    validator = FakeValidator()
    chain = rpc_chain(validator)
    m = market(chain)
    prepared = chain.prepare([transfer(m, 7)])
    chain.submit(prepared)
    assert chain.submit(prepared) == prepared.sent  # preflight says AlreadyProcessed; status says confirmed
    assert chain.token_balances([m.b]) == [7]


def test_rpc_chain_takes_calls_from_many_threads():
    validator = FakeValidator()
    chain = rpc_chain(validator)
    m = market(chain, minted=10 * GRID, approved=10 * GRID)
    landed: list[int] = []
    errors: list[BaseException] = []

    def pay(thread: int) -> None:
        for k in range(10):
            amount = 1 + thread + 4 * k
            try:
                chain.send([transfer(m, amount)])
            except BaseException as exc:
                errors.append(exc)
            else:
                landed.append(amount)

    threads = [threading.Thread(target=pay, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(landed) == list(range(1, 41))
    assert chain.token_balances([m.a, m.b]) == [10 * GRID - 820, 820]


def test_rpc_chain_memory_is_bounded(monkeypatch):
    """A service prepares for months: the blockhashes and unsent signatures it remembers are the
    newest few; one forgotten is no longer provably expired without its journaled height."""
    import gridmatch.chain.rpc as rpc

    monkeypatch.setattr(rpc, "_REMEMBERED", 3)
    validator = FakeValidator(lifetime=0)
    chain = rpc_chain(validator)
    prepared = []
    for k in range(5):
        prepared.append(chain.prepare([memo_ix(str(k))]))
        validator.produce(1)
    assert len(chain._last_valid) == 3 and len(chain._fresh) == 3
    validator.produce(5)
    heightless = [Sent(p.sent.signature, p.sent.blockhash, None) for p in prepared]
    assert [chain.expired(sent) for sent in heightless] == [False, False, True, True, True]
    assert all(chain.expired(p.sent) for p in prepared)  # the journaled height decides


def test_rpc_chain_arguments():
    with pytest.raises(ChainRequestInvalid):
        RpcChain("http://x", Keypair(), commitment="max")
    with pytest.raises(ChainRequestInvalid):
        RpcChain("http://x", "not a keypair")  # type: ignore[arg-type]
    with pytest.raises(ChainRequestInvalid):
        RpcChain("http://x", Keypair(), timeout=0)


def test_rpc_commitment_levels():
    validator = FakeValidator()
    chain = rpc_chain(validator, commitment="finalized")
    validator.lag = 3
    sent = chain.prepare([memo_ix("slow")])
    validator.rpc_sendTransaction(base64.b64encode(sent.raw).decode(), {"skipPreflight": True})
    assert chain.status(sent.sent.signature) is TxStatus.PENDING  # confirmed, not yet finalized
    validator.slot += 3
    assert chain.status(sent.sent.signature) is TxStatus.CONFIRMED
