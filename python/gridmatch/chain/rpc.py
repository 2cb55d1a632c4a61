"""`RpcChain`: the `Chain` interface over any Solana JSON-RPC endpoint (solana-test-validator,
devnet, ...) through solana-py's synchronous `Client`.

How each outcome is decided:

- `submit` sends with preflight (simulation at the chain's commitment). A preflight failure
  means the node refused the transaction: `TransactionFailed`, nothing sent. An error response
  of another kind, or no connection at all: `ChainError`, nothing sent. Otherwise it polls
  `getSignatureStatuses` (re-broadcasting every `rebroadcast` seconds, without preflight) until
  the transaction reaches the commitment (`Sent`), lands failed (`TransactionFailed`), can no
  longer land because the finalized block height passed its last valid height
  (`TransactionFailed`), or `timeout` seconds pass (`SendTimeout`: it may still land).
- `expired` compares the finalized block height (never the tip's) with the transaction's last
  valid block height: the one in `Sent` (journaled with the signature, so a new object after a
  restart judges alike), else the one this object fetched with the blockhash. Knowing neither,
  it answers False: nothing proves the transaction dead.
- `status` searches the node's transaction history too (`searchTransactionHistory`), so an
  old signature is not mistaken for an unknown one on nodes that keep history.
- `signature_with_memo` reads the memo field of `getSignaturesForAddress(authority)`, up to
  the 1,000 most recent transactions, and checks a candidate with `getTransaction`.

HTTP and RPC exceptions never escape: they become `ChainError` (or its subclasses).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TypeVar

import httpx
from solana.exceptions import SolanaRpcException
from solana.rpc.api import Client
from solana.rpc.commitment import Commitment, Confirmed, Finalized, Processed
from solana.rpc.core import RPCException, RPCNoResultException
from solana.rpc.types import TxOpts
from solders.account import Account
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus

from gridmatch.chain.base import (
    MAX_LOOKUP_TABLE_ADDRESSES,
    ChainRequestInvalid,
    Prepared,
    SendTimeout,
    Sent,
    TxStatus,
)
from gridmatch.chain.common import ChainBase, is_panic, memo_from_transaction, parse_signature
from gridmatch.chain.lookup_tables import EXTEND_CHUNK, create_lookup_table_ix, extend_lookup_table_ix
from gridmatch.chain.spl import check_amount
from gridmatch.errors import ChainError, GridmatchError, TransactionFailed

T = TypeVar("T")

_COMMITMENTS = {"processed": Processed, "confirmed": Confirmed, "finalized": Finalized}


def _rank(level: TransactionConfirmationStatus | None) -> int:
    """0 processed, 1 confirmed, 2 finalized. Nodes leave the level out only for rooted
    (finalized) transactions."""
    if level is None or level == TransactionConfirmationStatus.Finalized:
        return 2
    return 1 if level == TransactionConfirmationStatus.Confirmed else 0


_COMMITMENT_RANK = {"processed": 0, "confirmed": 1, "finalized": 2}
#: getMultipleAccounts takes at most this many addresses.
_ACCOUNTS_PER_CALL = 100
#: Fetched blockhashes and unsent signatures a chain remembers, the newest (a blockhash lives
#: about 150 slots; forgetting only costs a fast answer: "not provably expired", "maybe sent").
_REMEMBERED = 4096
K = TypeVar("K")
V = TypeVar("V")


def _remember(book: OrderedDict[K, V], key: K, value: V) -> None:
    """Adds to a bounded book, dropping its oldest entry (each step atomic: threads share it)."""
    book[key] = value
    if len(book) > _REMEMBERED:
        book.popitem(last=False)


def _rpc_message(exc: BaseException) -> str:
    if isinstance(exc, RPCException) and exc.args:
        err = exc.args[0]
        return str(getattr(err, "message", err))
    if isinstance(exc, SolanaRpcException):
        cause = exc.__cause__
        return f"{exc.error_msg}: {cause}" if cause is not None else exc.error_msg
    return f"{type(exc).__name__}: {exc}"


def _not_delivered(exc: BaseException) -> bool:
    """Whether a request certainly never reached the node (it could not connect)."""
    cause = exc.__cause__ if isinstance(exc, SolanaRpcException) else exc
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout)


class RpcChain(ChainBase):
    """A `Chain` over JSON-RPC. `authority` pays fees and signs; fund it first (`fund`, on a test
    validator or devnet). `commitment` is the level at which a transaction counts as confirmed
    and at which accounts are read ("processed", "confirmed" or "finalized"); `timeout` bounds
    each HTTP request and the wait for a transaction to be confirmed. `client` replaces the
    solana-py `Client` built from `url` (for a custom transport); `poll_interval` and
    `rebroadcast` pace the wait; `sleep` and `clock` are injectable for tests."""

    def __init__(
        self,
        url: str,
        authority: Keypair,
        *,
        commitment: str = "confirmed",
        timeout: float = 30.0,
        client: Client | None = None,
        poll_interval: float = 0.4,
        rebroadcast: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if commitment not in _COMMITMENTS:
            raise ChainRequestInvalid(
                f"commitment must be one of {sorted(_COMMITMENTS)}, got {commitment!r}",
                field="commitment",
                value=commitment,
            )
        if not isinstance(authority, Keypair):
            raise ChainRequestInvalid(
                f"authority must be a Keypair, got {type(authority).__name__}", field="authority", value=authority
            )
        if not timeout > 0:
            raise ChainRequestInvalid(f"timeout must be positive, got {timeout!r}", field="timeout", value=timeout)
        self.url = url
        self.authority = authority
        self.commitment = commitment
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.rebroadcast = rebroadcast
        self._sleep = sleep
        self._clock = clock
        self._level: Commitment = _COMMITMENTS[commitment]
        # getTransaction and getSignaturesForAddress do not serve "processed".
        self._history_level: Commitment = Confirmed if commitment == "processed" else self._level
        self.client = client if client is not None else Client(url, commitment=self._level, timeout=timeout)
        self._last_valid: OrderedDict[str, int] = OrderedDict()
        # Signatures prepared here and not yet submitted: no copy of them can be in flight.
        self._fresh: OrderedDict[str, None] = OrderedDict()

    # -- calling the node -------------------------------------------------------------------

    def _call(self, field: str, request: Callable[[], T]) -> T:
        """One RPC call; every failure becomes a ChainError naming `field`."""
        try:
            return request()
        except GridmatchError:
            raise
        except (RPCException, SolanaRpcException, httpx.HTTPError) as exc:
            raise ChainError(f"{field}: {self.url}: {_rpc_message(exc)}", field=field, value=_rpc_message(exc)) from exc
        except Exception as exc:  # a response solders could not parse, ...
            raise ChainError(f"{field}: {self.url}: {type(exc).__name__}: {exc}", field=field, value=str(exc)) from exc
        except BaseException as exc:
            # solders panics on some error answers it cannot parse (an error without `data`).
            if not is_panic(exc):
                raise
            raise ChainError(f"{field}: {self.url}: unparseable answer: {exc}", field=field, value=str(exc)) from exc

    def _block_height(self, level: Commitment) -> int:
        return self._call("block_height", lambda: self.client.get_block_height(level).value)

    def _signature_status(self, signature: str) -> tuple[TxStatus, str | None, int | None]:
        """The status of `signature`, its error (if it failed) and its slot (if seen)."""
        sig = parse_signature(signature)
        resp = self._call("status", lambda: self.client.get_signature_statuses([sig], search_transaction_history=True))
        found = resp.value[0] if resp.value else None
        if found is None:
            return TxStatus.UNKNOWN, None, None
        if _rank(found.confirmation_status) < _COMMITMENT_RANK[self.commitment]:
            return TxStatus.PENDING, None, found.slot
        if found.err is not None:
            return TxStatus.FAILED, str(found.err), found.slot
        return TxStatus.CONFIRMED, None, found.slot

    def _wait_for(
        self, signature: str, deadline: float, tick: Callable[[], bool] | None = None
    ) -> tuple[TxStatus, str | None, int | None]:
        """Polls until `signature` is confirmed or failed, `deadline` passes, or `tick` (called
        every `rebroadcast` seconds) says to stop; returns the last status seen."""
        last_tick = self._clock()
        while True:
            try:
                outcome = self._signature_status(signature)
            except ChainError:
                outcome = (TxStatus.UNKNOWN, None, None)  # the node did not answer this time
            if outcome[0] in (TxStatus.CONFIRMED, TxStatus.FAILED) or self._clock() >= deadline:
                return outcome
            if tick is not None and self._clock() - last_tick >= self.rebroadcast:
                if tick():
                    return outcome
                last_tick = self._clock()
            self._sleep(self.poll_interval)

    # -- primitives -------------------------------------------------------------------------

    def _recent_blockhash(self) -> tuple[Hash, int | None]:
        value = self._call("blockhash", lambda: self.client.get_latest_blockhash(self._level).value)
        _remember(self._last_valid, str(value.blockhash), value.last_valid_block_height)
        return value.blockhash, value.last_valid_block_height

    def _expired_quietly(self, sent: Sent) -> bool:
        """`_expired`, with an unanswered question taken as "not expired" (the safe side)."""
        try:
            return self._expired(sent)
        except ChainError:
            return False

    def _expired(self, sent: Sent) -> bool:
        """True only when no fork can take the transaction any more. The tip passing the last
        valid height proves nothing: a fork that has not passed it may still become final."""
        last_valid = (
            sent.last_valid_height if sent.last_valid_height is not None else self._last_valid.get(sent.blockhash)
        )
        if last_valid is None:
            return False
        return self._block_height(Finalized) > last_valid

    def prepare(
        self,
        instructions: Sequence[Instruction],
        *,
        signers: Sequence[Keypair] = (),
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> Prepared:
        prepared = super().prepare(
            instructions, signers=signers, lookup_tables=lookup_tables, memo=memo, compute_units=compute_units
        )
        _remember(self._fresh, prepared.sent.signature, None)
        return prepared

    def _submit(self, prepared: Prepared, tx: VersionedTransaction) -> Sent:
        sent = prepared.sent
        deadline = self._clock() + self.timeout
        # A preflight failure proves nothing will land only for a first submission of a
        # transaction prepared here: a copy sent earlier (before a timeout, by a process that
        # crashed) may still be in flight, so then it waits for the chain's word instead.
        first = self._fresh.pop(sent.signature, False) is None  # in one step: of two threads, one is first
        rebroadcast = True
        opts = TxOpts(skip_confirmation=True, skip_preflight=False, preflight_commitment=self._level)
        try:
            self.client.send_raw_transaction(prepared.raw, opts)
        except RPCException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, SendTransactionPreflightFailureMessage):
                reason = str(err.data.err)
                if "AlreadyProcessed" in reason:
                    pass  # an earlier submission landed: find out how
                elif first:
                    logs = [line for line in (err.data.logs or []) if "rror" in line or "failed" in line]
                    detail = reason + ("" if not logs else " (" + "; ".join(logs) + ")")
                    raise TransactionFailed(
                        f"preflight refused the transaction: {detail}", field="send", value=reason
                    ) from None
                else:
                    rebroadcast = False  # not this copy; an earlier one may still land
            else:
                raise ChainError(
                    f"send: {self.url}: {_rpc_message(exc)}", field="send", value=_rpc_message(exc)
                ) from None
        except RPCNoResultException as exc:  # the node answered without a signature: refused
            raise ChainError(f"send: {self.url}: {exc}", field="send", value=str(exc)) from None
        except (SolanaRpcException, httpx.HTTPError) as exc:
            if _not_delivered(exc):
                raise ChainError(
                    f"send: {self.url}: {_rpc_message(exc)}", field="send", value=_rpc_message(exc)
                ) from None
            # It may have reached the node: wait for it like any other.
        except GridmatchError:
            raise
        except BaseException as exc:  # an unparseable answer (or a parser panic): the request went out
            if not isinstance(exc, Exception) and not is_panic(exc):
                raise

        quiet = TxOpts(skip_confirmation=True, skip_preflight=True, preflight_commitment=self._level)
        expired = False

        def tick() -> bool:
            """Between polls: stop once the transaction can no longer land, else re-broadcast."""
            nonlocal expired
            expired = self._expired_quietly(sent)
            if rebroadcast and not expired:
                try:
                    self.client.send_raw_transaction(prepared.raw, quiet)
                except BaseException as exc:  # a failed re-broadcast changes nothing: polling decides
                    if not isinstance(exc, Exception) and not is_panic(exc):
                        raise
            return expired

        state, error, _ = self._wait_for(sent.signature, deadline, tick)
        if state is TxStatus.CONFIRMED:
            return sent
        if state is TxStatus.FAILED:
            raise TransactionFailed(f"the transaction failed: {error}", field="send", value=error)
        if expired or self._expired_quietly(sent):
            try:
                state, error, _ = self._signature_status(sent.signature)  # a last look, now that it cannot change
            except ChainError:
                state, error = TxStatus.PENDING, None  # no answer: still unknown
            if state is TxStatus.CONFIRMED:
                return sent
            if state is not TxStatus.PENDING:
                reason = error or "BlockhashExpired"
                raise TransactionFailed(
                    f"the transaction did not land before its blockhash expired: {reason}", field="send", value=reason
                )
        raise SendTimeout(
            f"no confirmation of {sent.signature} within {self.timeout} s ({state.value})",
            prepared=prepared,
            field="send",
            value=state.value,
        )

    def _get_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        keys = list(addresses)
        for key in keys:
            if not isinstance(key, Pubkey):
                raise ChainRequestInvalid(
                    f"accounts must be Pubkeys, got {type(key).__name__}", field="accounts", value=key
                )
        out: list[Account | None] = []
        for start in range(0, len(keys), _ACCOUNTS_PER_CALL):
            out += self._accounts_chunk(keys[start : start + _ACCOUNTS_PER_CALL])
        return out

    def _accounts_chunk(self, keys: list[Pubkey]) -> list[Account | None]:
        return self._call("accounts", lambda: self.client.get_multiple_accounts(keys, self._level).value)

    def _rent(self, size: int) -> int:
        return self._call("rent", lambda: self.client.get_minimum_balance_for_rent_exemption(size, self._level).value)

    def _new_mint_keypair(self) -> Keypair:
        return Keypair()

    # -- the Chain queries ------------------------------------------------------------------

    def fund(self, owner: Pubkey, lamports: int) -> None:
        if not isinstance(owner, Pubkey):
            raise ChainRequestInvalid(f"owner must be a Pubkey, got {type(owner).__name__}", field="owner", value=owner)
        amount = check_amount(lamports, "lamports")
        signature = self._call("fund", lambda: self.client.request_airdrop(owner, amount, self._level).value)
        state, error, _ = self._wait_for(str(signature), self._clock() + self.timeout)
        if state is not TxStatus.CONFIRMED:
            raise ChainError(
                f"the airdrop to {owner} was not confirmed: {error or state.value}",
                field="fund",
                value=error or state.value,
            )

    def status(self, signature: str) -> TxStatus:
        return self._signature_status(signature)[0]

    def memo_of(self, signature: str) -> str | None:
        sig = parse_signature(signature)
        resp = self._call(
            "memo",
            lambda: self.client.get_transaction(
                sig, "base64", self._history_level, max_supported_transaction_version=0
            ),
        )
        found = resp.value
        if found is None or found.transaction.meta is None or found.transaction.meta.err is not None:
            return None
        tx = found.transaction.transaction
        if not isinstance(tx, VersionedTransaction):
            raise ChainError(f"the node did not return {signature} as base64", field="memo", value=type(tx).__name__)
        return memo_from_transaction(tx)

    def signature_with_memo(self, memo: str) -> str | None:
        if not isinstance(memo, str):
            raise ChainRequestInvalid(f"memo must be a str, got {type(memo).__name__}", field="memo", value=memo)
        auth = self.authority.pubkey()
        resp = self._call(
            "signature_with_memo",
            lambda: self.client.get_signatures_for_address(auth, limit=1000, commitment=self._history_level),
        )
        for info in resp.value:
            # The node formats memos as "[<bytes>] <text>", several joined by "; ".
            if info.err is None and info.memo is not None and memo in info.memo:
                signature = str(info.signature)
                if self.memo_of(signature) == memo:
                    return signature
        return None

    def create_lookup_table(self, addresses: Sequence[Pubkey]) -> Pubkey:
        addresses = list(addresses)
        if not 1 <= len(addresses) <= MAX_LOOKUP_TABLE_ADDRESSES:
            raise ChainRequestInvalid(
                f"a lookup table holds 1 to {MAX_LOOKUP_TABLE_ADDRESSES} addresses, got {len(addresses)}",
                field="addresses",
                value=len(addresses),
            )
        auth = self.authority.pubkey()
        # The table's address is derived from a recent slot, which must be in the SlotHashes of
        # the bank that runs the creation: a finalized slot is. A slot already used for a table
        # of this authority is skipped.
        deadline = self._clock() + self.timeout
        while True:
            slot = self._call("create_lookup_table", lambda: self.client.get_slot(Finalized).value)
            create, table = create_lookup_table_ix(auth, auth, slot)
            if self._get_accounts([table])[0] is None:
                break
            if self._clock() >= deadline:
                raise ChainError(
                    "no fresh finalized slot to derive a lookup table from", field="create_lookup_table", value=slot
                )
            self._sleep(self.poll_interval)
        first = EXTEND_CHUNK - 8
        sents = [self.send([create, extend_lookup_table_ix(table, auth, auth, addresses[:first])])]
        for start in range(first, len(addresses), EXTEND_CHUNK):
            sents.append(
                self.send([extend_lookup_table_ix(table, auth, auth, addresses[start : start + EXTEND_CHUNK])])
            )
        # Addresses added in a slot are usable from the next one; wait until the bank that
        # simulates and runs the next transaction is past the last extension.
        _, _, landed = self._signature_status(sents[-1].signature)
        if landed is not None:
            while self._call("create_lookup_table", lambda: self.client.get_slot(self._level).value) <= landed:
                if self._clock() >= deadline + self.timeout:
                    raise ChainError(
                        "the lookup table did not activate in time", field="create_lookup_table", value=str(table)
                    )
                self._sleep(self.poll_interval)
        self._tables.pop(table, None)
        return table


__all__ = ["RpcChain"]
