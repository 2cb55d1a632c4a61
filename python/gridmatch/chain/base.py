"""The chain interface that epochs and settlement submit to, and the types it speaks.

Two implementations: `LiteSVMChain` (solders' LiteSVM in process, the default) and `RpcChain`
(any Solana JSON-RPC endpoint through solana-py). `FaultyChain` wraps either to inject failures.

The contract, for every implementation:

- `authority` pays every fee and signs every settlement transfer. Participants approve it as the
  delegate of their token accounts; it is also the mint authority of mints made by `create_mint`
  (unless given another).
- `send` builds a v0 transaction paid by `authority`: the memo first (when given), then a
  compute-unit limit (when given), then the instructions, with a fresh recent blockhash. It
  returns a `Sent` once the transaction is confirmed, raises `TransactionFailed` when it landed
  and failed (or was refused: either way nothing in it took effect), `ChainTimeout` (a
  `SendTimeout`, carrying the signed transaction) when the outcome is unknown: it may still land.
  Requests that cannot be carried out as asked (a transaction over the limits, a bad amount) raise
  `ChainRequestInvalid` before anything is sent.
- `send` is `submit(prepare(...))`. `prepare` signs without sending, so a caller can journal the
  signature (and the signed bytes) first; `submit` sends those exact bytes, and submitting them
  again is harmless: one signature lands at most once. Retrying with a new `send` is not: it
  signs a new transaction, and if the first one landed after all, both pay.
- Reconciling after a timeout or a crash (what `status` and `expired` are for): `CONFIRMED`:
  done. `FAILED`: nothing took effect, prepare again. `PENDING`: it landed and is not final yet
  (at the chain's commitment): wait, whatever the tip says. `UNKNOWN` while not
  `expired(sent)`: it may still land; submit the same `Prepared` again, or wait. `UNKNOWN` once
  `expired(sent)`: it never landed and never will; prepare again. `expired` judges from `sent`
  alone (the blockhash and the last valid height journaled with the signature), so a new chain
  object after a restart answers as the one that prepared it. Without the signature,
  `signature_with_memo` finds a confirmed transaction by its memo (its None says only that
  none is confirmed now, not that none can land later).
- Amounts are integer base units (u64). Nothing raises a solders panic or a raw RPC exception:
  every failure is a `gridmatch.errors.ChainError`. A plain `ChainError` (neither
  `TransactionFailed` nor `ChainTimeout`) from `send` means nothing was sent (no connection, an
  error answer before sending), except `ChainBroken`: the object can no longer be used (a
  durable LiteSVM chain whose file could not be written); open the chain again from its file
  and reconcile what was in flight as after a crash.
- A chain object takes calls from several threads at once (an engine takes orders in its
  callers' threads while it settles in another): `LiteSVMChain` runs them one at a time,
  `RpcChain` side by side.

Limits (Solana's, enforced by both chains before sending, since LiteSVM enforces neither):
`MAX_TRANSACTION_SIZE` serialized bytes and `MAX_TRANSACTION_ACCOUNTS` distinct accounts per
transaction (lookup tables shrink the bytes, not the account count). `fits` checks both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from gridmatch.errors import ChainError, ChainTimeout
from gridmatch.settlement import TxStatus

#: The most bytes a serialized transaction may have (the network packet payload, 1280 - 48).
MAX_TRANSACTION_SIZE = 1232
#: The most distinct accounts (programs included) one transaction may lock on mainnet and devnet.
MAX_TRANSACTION_ACCOUNTS = 64
#: The most compute units one transaction may request.
MAX_COMPUTE_UNITS = 1_400_000
#: The most addresses one address lookup table holds.
MAX_LOOKUP_TABLE_ADDRESSES = 256
#: The largest amount an SPL token instruction carries (u64).
MAX_AMOUNT = 2**64 - 1


@dataclass(frozen=True)
class Sent:
    """A signed transaction: its signature, the recent blockhash it was built with (base58), and
    the last block height at which it can land (None where the chain has no block heights:
    LiteSVM)."""

    signature: str
    blockhash: str
    last_valid_height: int | None


@dataclass(frozen=True)
class Prepared:
    """A transaction signed by `prepare` and not yet sent: `raw` is its wire format, the exact
    bytes `submit` sends (journal them to resubmit after a crash). `memo` is what it carries."""

    sent: Sent
    raw: bytes
    memo: str | None = None


class ChainRequestInvalid(ChainError, ValueError):
    """A request the chain layer refuses before sending anything (an amount that is not a u64, a
    memo that is not text, too many addresses for one lookup table, ...). Nothing was sent."""


class TransactionTooLarge(ChainRequestInvalid):
    """A transaction over Solana's limits: more than `MAX_TRANSACTION_SIZE` bytes (`field`
    "transaction_size") or more than `MAX_TRANSACTION_ACCOUNTS` accounts (`field` "accounts");
    `value` is the offending count. Nothing was sent."""


class ChainBroken(ChainError):
    """This chain object refuses every call: a durable `LiteSVMChain` could not write a change to
    its file, so its runtime in memory ran ahead of the file, and the file is the truth. Open the
    chain again from its file (`LiteSVMChain(path=...)`: it holds the state before the change
    that failed) and reconcile what was in flight (`status`, `expired`) as after a crash.
    `field` is "path", `value` the file."""


class SendTimeout(ChainTimeout):
    """`send` or `submit` got no answer in time. `prepared` is the transaction that may still
    land: check `status(prepared.sent.signature)`, resubmit `prepared` while its blockhash is
    valid, and prepare a new one only once the blockhash has expired."""

    def __init__(self, message: str, *, prepared: Prepared, field: str | None = None, value: object = None) -> None:
        super().__init__(message, field=field, value=value)
        self.prepared = prepared

    @property
    def sent(self) -> Sent:
        return self.prepared.sent


@runtime_checkable
class Chain(Protocol):
    """What epochs and settlement need from a chain. See the module docstring for the contract."""

    authority: Keypair

    def fund(self, owner: Pubkey, lamports: int) -> None:
        """Gives `owner` SOL for fees and rent (LiteSVM: an airdrop; RPC: `requestAirdrop`, which
        only test validators and devnet grant)."""
        ...

    def create_mint(self, decimals: int, *, mint_authority: Pubkey | None = None) -> Pubkey:
        """A new SPL mint with `decimals` decimals (`authority` pays); its mint authority is
        `mint_authority`, by default `authority` (a program's address: only it mints)."""
        ...

    def token_account(self, owner: Pubkey, mint: Pubkey) -> Pubkey:
        """`owner`'s associated token account for `mint`, created (paid by `authority`) if missing."""
        ...

    def mint_to(self, mint: Pubkey, account: Pubkey, amount: int) -> None:
        """Mints `amount` base units of `mint` (one `authority` made) into token account `account`."""
        ...

    def approve(self, owner: Keypair, account: Pubkey, amount: int) -> None:
        """`owner` approves `authority` as the delegate of `account` for `amount` base units
        (replacing any earlier approval). `authority` pays the fee; `owner` needs no SOL."""
        ...

    def token_balances(self, accounts: Sequence[Pubkey]) -> list[int]:
        """The token amount of each account, 0 for an account that does not exist.
        `ChainRequestInvalid` for an account that exists and is not a token account."""
        ...

    def delegated_amount(self, account: Pubkey) -> int:
        """What `authority` may still move out of `account` as its delegate (0 when the account
        does not exist, has no delegate, or another delegate)."""
        ...

    def account_data(self, addresses: Sequence[Pubkey]) -> list[bytes | None]:
        """The data of each account, None for an account that does not exist."""
        ...

    def transaction_size(
        self,
        instructions: Sequence[Instruction],
        *,
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> int:
        """The serialized size in bytes of the transaction `send` would build from the same
        arguments (the limit is `MAX_TRANSACTION_SIZE`)."""
        ...

    def fits(
        self,
        instructions: Sequence[Instruction],
        *,
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> bool:
        """Whether `send` would accept these arguments: size and account count within Solana's limits."""
        ...

    def prepare(
        self,
        instructions: Sequence[Instruction],
        *,
        signers: Sequence[Keypair] = (),
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> Prepared:
        """Builds and signs what `send` would send, without sending it."""
        ...

    def submit(self, prepared: Prepared) -> Sent:
        """Sends a prepared transaction and waits for it, with `send`'s outcomes. Submitting the
        same `Prepared` again never applies it twice."""
        ...

    def send(
        self,
        instructions: Sequence[Instruction],
        *,
        signers: Sequence[Keypair] = (),
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> Sent:
        """`submit(prepare(...))`: a v0 transaction paid by `authority` (the memo first, then the
        compute-unit limit, then `instructions`), signed by `authority` and `signers`."""
        ...

    def status(self, signature: str) -> TxStatus:
        """What the chain knows of the transaction with this signature."""
        ...

    def expired(self, sent: Sent) -> bool:
        """True only once a transaction built with `sent.blockhash` can never land any more, on
        any fork (RPC: the finalized block height has passed `sent.last_valid_height`). False
        when that is not proven, for one that may still land or whose fate is not known yet."""
        ...

    def create_lookup_table(self, addresses: Sequence[Pubkey]) -> Pubkey:
        """An address lookup table holding `addresses` (at most `MAX_LOOKUP_TABLE_ADDRESSES`),
        owned by `authority`, usable by the next `send`."""
        ...

    def memo_of(self, signature: str) -> str | None:
        """The memo a confirmed transaction carried (None: no memo, not confirmed, or unknown)."""
        ...

    def signature_with_memo(self, memo: str) -> str | None:
        """The signature of a confirmed transaction paid by `authority` that carried exactly
        `memo`, or None. Searches `authority`'s recent history (RPC: up to 1,000 transactions)."""
        ...


def keypair_from_seed(seed: int, label: str) -> Keypair:
    """A keypair that is a pure function of `seed` and `label` (for reproducible test chains and
    simulations; never for real funds)."""
    digest = hashlib.sha256(f"gridmatch/chain/{seed}/{label}".encode()).digest()
    return Keypair.from_seed(digest)


__all__ = [
    "MAX_AMOUNT",
    "MAX_COMPUTE_UNITS",
    "MAX_LOOKUP_TABLE_ADDRESSES",
    "MAX_TRANSACTION_ACCOUNTS",
    "MAX_TRANSACTION_SIZE",
    "Chain",
    "ChainBroken",
    "ChainRequestInvalid",
    "Prepared",
    "SendTimeout",
    "Sent",
    "TransactionTooLarge",
    "TxStatus",
    "keypair_from_seed",
]
