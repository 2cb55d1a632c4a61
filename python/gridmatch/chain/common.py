"""What `LiteSVMChain` and `RpcChain` share: building, measuring, signing and checking v0
transactions, the SPL set-up helpers, and turning foreign exceptions into `ChainError`s.

A concrete chain supplies a handful of primitives (a recent blockhash, raw submission, account
reads, rent, a fresh mint keypair) and the queries whose answers depend on the chain
(`status`, `expired`, `memo_of`, ...).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from gridmatch.chain.base import (
    MAX_TRANSACTION_ACCOUNTS,
    MAX_TRANSACTION_SIZE,
    ChainRequestInvalid,
    Prepared,
    Sent,
    TransactionTooLarge,
    TxStatus,
)
from gridmatch.chain.lookup_tables import LOOKUP_TABLE_PROGRAM_ID, lookup_table_addresses
from gridmatch.chain.spl import (
    MEMO_PROGRAM_ID,
    MINT_LEN,
    approve_ix,
    associated_token_address,
    check_amount,
    compute_unit_limit_ix,
    create_associated_token_account_ix,
    create_mint_ixs,
    memo_ix,
    mint_to_ix,
    parse_token_account,
)
from gridmatch.errors import ChainError, GridmatchError


def is_panic(exc: BaseException) -> bool:
    """Whether `exc` is a Rust panic surfaced by PyO3 (`pyo3_runtime.PanicException`, which
    derives from BaseException, not Exception)."""
    return type(exc).__name__ == "PanicException"


@contextmanager
def foreign_errors(field: str, kind: type[ChainError] = ChainError) -> Iterator[None]:
    """Turns any exception other than a GridmatchError raised inside (a solders error, a Rust
    panic, an RPC or HTTP exception) into `kind`, naming `field`; KeyboardInterrupt and the like
    pass through."""
    try:
        yield
    except GridmatchError:
        raise
    except Exception as exc:
        raise kind(f"{field}: {type(exc).__name__}: {exc}", field=field, value=str(exc)) from exc
    except BaseException as exc:
        if is_panic(exc):
            raise kind(f"{field}: the runtime panicked: {exc}", field=field, value=str(exc)) from exc
        raise


def parse_signature(signature: str) -> Signature:
    if isinstance(signature, Signature):
        return signature
    try:
        return Signature.from_string(signature)
    except Exception:
        raise ChainRequestInvalid(
            f"not a transaction signature: {signature!r}", field="signature", value=signature
        ) from None


def parse_blockhash(blockhash: str) -> Hash:
    if isinstance(blockhash, Hash):
        return blockhash
    try:
        return Hash.from_string(blockhash)
    except Exception:
        raise ChainRequestInvalid(f"not a blockhash: {blockhash!r}", field="blockhash", value=blockhash) from None


def check_sent(sent: Sent) -> Sent:
    """`sent` itself, once it is seen to be a `Sent` of a signature, a blockhash and a last
    valid height that is None or a block height (it comes back from a journal)."""
    if not isinstance(sent, Sent):
        raise ChainRequestInvalid(f"expected a Sent, got {type(sent).__name__}", field="sent", value=sent)
    parse_signature(sent.signature)
    parse_blockhash(sent.blockhash)
    height = sent.last_valid_height
    if height is not None and (isinstance(height, bool) or not isinstance(height, int) or height < 0):
        raise ChainRequestInvalid(
            f"last_valid_height must be None or a block height, got {height!r}", field="last_valid_height", value=height
        )
    return sent


def memo_from_transaction(tx: VersionedTransaction) -> str | None:
    """The text of the first Memo-program instruction of `tx` (None: it carries none)."""
    message = tx.message
    keys = message.account_keys
    for ix in message.instructions:
        if ix.program_id_index < len(keys) and keys[ix.program_id_index] == MEMO_PROGRAM_ID:
            try:
                return bytes(ix.data).decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def account_count(message: MessageV0) -> int:
    """Distinct accounts the message locks: its static keys plus those it loads from tables."""
    loaded = sum(
        len(lookup.writable_indexes) + len(lookup.readonly_indexes) for lookup in message.address_table_lookups
    )
    return len(message.account_keys) + loaded


def public_key(keypair: Keypair) -> Pubkey:
    """`keypair.pubkey()` without its cost: that derives the key from the secret again (about
    40 µs), while the keypair's bytes carry it (solders refuses bytes whose halves disagree)."""
    return Pubkey.from_bytes(bytes(keypair)[32:])


def _shortvec_len(n: int) -> int:
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


def serialized_size(message: MessageV0) -> int:
    """Bytes of the signed transaction: the signature count, 64 bytes per signature, the versioned message."""
    signatures = message.header.num_required_signatures
    return _shortvec_len(signatures) + 64 * signatures + len(to_bytes_versioned(message))


class ChainBase(ABC):
    """The shared half of a chain. Subclasses set `authority` and implement the primitives."""

    authority: Keypair
    #: Accounts one transaction may lock; solana-test-validator (all features on) allows 128.
    account_limit: int = MAX_TRANSACTION_ACCOUNTS

    def __init__(self) -> None:
        self._tables: dict[Pubkey, AddressLookupTableAccount] = {}

    # -- primitives -------------------------------------------------------------------------

    @abstractmethod
    def _recent_blockhash(self) -> tuple[Hash, int | None]:
        """A blockhash for a new transaction and the last block height it is valid for."""

    @abstractmethod
    def _submit(self, prepared: Prepared, tx: VersionedTransaction) -> Sent:
        """Sends `tx` (the decoded `prepared.raw`) and waits for the outcome."""

    @abstractmethod
    def _get_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        """The accounts at `addresses`, None where there is none."""

    @abstractmethod
    def _rent(self, size: int) -> int:
        """Lamports that make an account of `size` bytes rent-exempt."""

    @abstractmethod
    def _new_mint_keypair(self) -> Keypair:
        """A keypair for the next mint's account."""

    # -- building transactions --------------------------------------------------------------

    def _lookup_table(self, address: Pubkey) -> AddressLookupTableAccount:
        table = self._tables.get(address)
        if table is None:
            (account,) = self._get_accounts([address])
            if account is None or account.owner != LOOKUP_TABLE_PROGRAM_ID:
                raise ChainRequestInvalid(
                    f"{address} is not an address lookup table", field="lookup_tables", value=str(address)
                )
            with foreign_errors("lookup_tables", ChainRequestInvalid):
                table = AddressLookupTableAccount(address, lookup_table_addresses(bytes(account.data)))
            self._tables[address] = table
        return table

    def _message(
        self,
        instructions: Sequence[Instruction],
        lookup_tables: Sequence[Pubkey],
        memo: str | None,
        compute_units: int | None,
        blockhash: Hash,
    ) -> MessageV0:
        ixs: list[Instruction] = []
        if memo is not None:
            ixs.append(memo_ix(memo))
        if compute_units is not None:
            ixs.append(compute_unit_limit_ix(compute_units))
        for ix in instructions:
            if not isinstance(ix, Instruction):
                raise ChainRequestInvalid(
                    f"instructions must be solders Instructions, got {type(ix).__name__}",
                    field="instructions",
                    value=ix,
                )
            ixs.append(ix)
        tables = [self._lookup_table(t) for t in lookup_tables]
        with foreign_errors("instructions", ChainRequestInvalid):
            return MessageV0.try_compile(public_key(self.authority), ixs, tables, blockhash)

    def _check_limits(self, message: MessageV0) -> int:
        size = serialized_size(message)
        if size > MAX_TRANSACTION_SIZE:
            raise TransactionTooLarge(
                f"the transaction would be {size} bytes, over the limit of {MAX_TRANSACTION_SIZE}",
                field="transaction_size",
                value=size,
            )
        accounts = account_count(message)
        if accounts > self.account_limit:
            raise TransactionTooLarge(
                f"the transaction would lock {accounts} accounts, over the limit of {self.account_limit}",
                field="accounts",
                value=accounts,
            )
        return size

    def transaction_size(
        self,
        instructions: Sequence[Instruction],
        *,
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> int:
        return serialized_size(self._message(instructions, lookup_tables, memo, compute_units, Hash.default()))

    def fits(
        self,
        instructions: Sequence[Instruction],
        *,
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> bool:
        message = self._message(instructions, lookup_tables, memo, compute_units, Hash.default())
        return serialized_size(message) <= MAX_TRANSACTION_SIZE and account_count(message) <= self.account_limit

    def prepare(
        self,
        instructions: Sequence[Instruction],
        *,
        signers: Sequence[Keypair] = (),
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> Prepared:
        keypairs: dict[Pubkey, Keypair] = {public_key(self.authority): self.authority}
        for signer in signers:
            if not isinstance(signer, Keypair):
                raise ChainRequestInvalid(
                    f"signers must be Keypairs, got {type(signer).__name__}", field="signers", value=signer
                )
            keypairs.setdefault(public_key(signer), signer)
        # Check everything that does not need the chain before asking it for a blockhash; the
        # compiled message then only takes the blockhash in (compiling again costs as much).
        draft = self._message(instructions, lookup_tables, memo, compute_units, Hash.default())
        self._check_limits(draft)
        blockhash, last_valid = self._recent_blockhash()
        message = MessageV0(
            draft.header, draft.account_keys, blockhash, draft.instructions, draft.address_table_lookups
        )
        required = list(message.account_keys[: message.header.num_required_signatures])
        missing = [str(k) for k in required if k not in keypairs]
        extra = [str(k) for k in keypairs if k not in required]
        if missing or extra:
            detail = "; ".join(
                part
                for part in (f"missing {missing}" if missing else "", f"not required {extra}" if extra else "")
                if part
            )
            raise ChainRequestInvalid(
                f"the signers do not match the transaction: {detail}", field="signers", value=missing or extra
            )
        # Each keypair signs the message's bytes in the order of its signer keys: what
        # `VersionedTransaction(message, keypairs)` does, at less than half the cost (it derives
        # every public key again to match the keypairs to the keys, which `keypairs` already did).
        with foreign_errors("signers", ChainRequestInvalid):
            signed = to_bytes_versioned(message)
            tx = VersionedTransaction.populate(message, [keypairs[k].sign_message(signed) for k in required])
        sent = Sent(signature=str(tx.signatures[0]), blockhash=str(blockhash), last_valid_height=last_valid)
        return Prepared(sent=sent, raw=bytes(tx))

    def submit(self, prepared: Prepared) -> Sent:
        if not isinstance(prepared, Prepared):
            raise ChainRequestInvalid(
                f"submit takes a Prepared, got {type(prepared).__name__}", field="prepared", value=prepared
            )
        check_sent(prepared.sent)
        if len(prepared.raw) > MAX_TRANSACTION_SIZE:
            raise TransactionTooLarge(
                f"the transaction is {len(prepared.raw)} bytes, over the limit of {MAX_TRANSACTION_SIZE}",
                field="transaction_size",
                value=len(prepared.raw),
            )
        with foreign_errors("prepared", ChainRequestInvalid):
            tx = VersionedTransaction.from_bytes(prepared.raw)
        if str(tx.signatures[0]) != prepared.sent.signature:
            raise ChainRequestInvalid(
                "prepared.raw does not carry prepared.sent.signature", field="prepared", value=prepared.sent.signature
            )
        if str(tx.message.recent_blockhash) != prepared.sent.blockhash:
            raise ChainRequestInvalid(
                "prepared.raw was not built with prepared.sent.blockhash",
                field="prepared",
                value=prepared.sent.blockhash,
            )
        return self._submit(prepared, tx)

    def send(
        self,
        instructions: Sequence[Instruction],
        *,
        signers: Sequence[Keypair] = (),
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> Sent:
        prepared = self.prepare(
            instructions, signers=signers, lookup_tables=lookup_tables, memo=memo, compute_units=compute_units
        )
        return self.submit(prepared)

    # -- SPL set-up and reads ---------------------------------------------------------------

    def create_mint(self, decimals: int, *, mint_authority: Pubkey | None = None) -> Pubkey:
        if mint_authority is not None and not isinstance(mint_authority, Pubkey):
            raise ChainRequestInvalid(
                f"mint_authority must be a Pubkey, got {type(mint_authority).__name__}",
                field="mint_authority",
                value=mint_authority,
            )
        mint = self._new_mint_keypair()
        payer = self.authority.pubkey()
        authority = payer if mint_authority is None else mint_authority
        self.send(create_mint_ixs(payer, mint.pubkey(), authority, decimals, self._rent(MINT_LEN)), signers=[mint])
        return mint.pubkey()

    def token_account(self, owner: Pubkey, mint: Pubkey) -> Pubkey:
        address = associated_token_address(owner, mint)
        (account,) = self._get_accounts([address])
        if account is None:
            self.send([create_associated_token_account_ix(self.authority.pubkey(), owner, mint)])
        return address

    def mint_to(self, mint: Pubkey, account: Pubkey, amount: int) -> None:
        self.send([mint_to_ix(mint, account, self.authority.pubkey(), check_amount(amount))])

    def approve(self, owner: Keypair, account: Pubkey, amount: int) -> None:
        if not isinstance(owner, Keypair):
            raise ChainRequestInvalid(
                f"owner must be a Keypair, got {type(owner).__name__}", field="owner", value=owner
            )
        self.send([approve_ix(account, self.authority.pubkey(), owner.pubkey(), check_amount(amount))], signers=[owner])

    def token_balances(self, accounts: Sequence[Pubkey]) -> list[int]:
        addresses = list(accounts)
        out = []
        for address, account in zip(addresses, self._get_accounts(addresses), strict=True):
            out.append(
                0 if account is None else parse_token_account(address, account.owner, bytes(account.data)).amount
            )
        return out

    def delegated_amount(self, account: Pubkey) -> int:
        (raw,) = self._get_accounts([account])
        if raw is None:
            return 0
        parsed = parse_token_account(account, raw.owner, bytes(raw.data))
        return parsed.delegated_amount if parsed.delegate == self.authority.pubkey() else 0

    def account_data(self, addresses: Sequence[Pubkey]) -> list[bytes | None]:
        # A closed account is gone; LiteSVM keeps it as an empty, lamport-less system account.
        return [
            None if account is None or account.lamports == 0 else bytes(account.data)
            for account in self._get_accounts(list(addresses))
        ]

    # -- queries each chain answers its own way -------------------------------------------

    @abstractmethod
    def fund(self, owner: Pubkey, lamports: int) -> None: ...

    @abstractmethod
    def status(self, signature: str) -> TxStatus: ...

    def expired(self, sent: Sent) -> bool:
        return self._expired(check_sent(sent))

    @abstractmethod
    def _expired(self, sent: Sent) -> bool:
        """`expired` of a checked `sent`."""

    @abstractmethod
    def create_lookup_table(self, addresses: Sequence[Pubkey]) -> Pubkey: ...

    @abstractmethod
    def memo_of(self, signature: str) -> str | None: ...

    @abstractmethod
    def signature_with_memo(self, memo: str) -> str | None: ...
