"""`LiteSVMChain`: the embedded default chain, solders' LiteSVM in process.

LiteSVM runs the real SPL Token, Associated Token Account, Memo, Address Lookup Table and
Compute Budget programs, synchronously: a transaction lands during `submit` or never. What
differs from a cluster, and how this class makes up for it:

- There are no blocks, and LiteSVM itself would take only its latest blockhash (until its
  `expire_blockhash()`, whose cost grows with the accounts it holds: 0.6 ms with 20,000). This
  chain checks blockhashes itself instead. It moves to a new blockhash when a transaction is
  prepared after a submission, so every retry signs a new transaction, as on a cluster, and
  counts each new blockhash as a block: like a cluster it takes a transaction built with any of
  its latest `blockhash_lifetime + 1` blockhashes (older ones are refused with
  BlockhashNotFound, and not recorded), so that transactions prepared by several threads at
  once do not outdate each other. A transaction is `expired` once its blockhash has left them
  (there is no finality to wait for; it never comes back), and `Sent.last_valid_height` is None.
  Each blockhash is the SHA-256 of the one before, as LiteSVM derives its own.
- An identical transaction sent twice fails with AlreadyProcessed; `submit` answers a repeat with
  the first outcome instead, so resubmitting a `Prepared` is harmless.
- LiteSVM checks neither the 1,232-byte limit nor the 64-account lock limit (it runs larger
  transactions, or panics on some); `prepare` refuses them first.
- Addresses added to a lookup table are usable from the next slot: `create_lookup_table` warps
  the clock one slot forward (and records that slot in SlotHashes so the next table can be
  derived from it).
- A failed transaction that got as far as executing is recorded (`status` FAILED) and charges the
  fee; one refused before (unknown blockhash, unfunded payer) leaves no record (UNKNOWN).

With `path`, the chain survives its process: after every change, the accounts it touched and
its record of transactions are committed to a SQLite file, and a new `LiteSVMChain(path=...)`
resumes from it (the seed, authority, mint counter and clock included; programs are loaded
again). One chain holds a file at a time, until it is closed or its process ends: a second
opener, in this process or another, gets a `ChainError`. A crash loses at most the
transaction in flight, whole: either the file holds its effects and its record, or neither. A
transaction is reported landed (and remembered) only once the file holds it. When a write to
the file fails, the runtime in memory has run ahead of the file: the object then refuses every
call that reads or changes the chain with `ChainBroken`, and the chain is opened again from its
file.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Concatenate, ParamSpec, TypeVar

from solders.account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata

from gridmatch.chain.base import (
    MAX_LOOKUP_TABLE_ADDRESSES,
    ChainBroken,
    ChainRequestInvalid,
    Prepared,
    Sent,
    TxStatus,
    keypair_from_seed,
)
from gridmatch.chain.common import (
    ChainBase,
    foreign_errors,
    memo_from_transaction,
    parse_blockhash,
    parse_signature,
)
from gridmatch.chain.litesvm_store import Record, Saved, Store
from gridmatch.chain.lookup_tables import EXTEND_CHUNK, create_lookup_table_ix, extend_lookup_table_ix
from gridmatch.chain.spl import check_amount
from gridmatch.errors import ChainError, TransactionFailed

#: SOL (in lamports) the authority starts with on a new LiteSVM chain.
AUTHORITY_LAMPORTS = 10_000 * 10**9
#: How many blockhashes before the latest a transaction may still be built with (a cluster's
#: 150 blocks; here each new blockhash is a block).
BLOCKHASH_LIFETIME = 150

C = TypeVar("C", bound="LiteSVMChain")
P = ParamSpec("P")
R = TypeVar("R")


def _serialised(method: Callable[Concatenate[C, P], R]) -> Callable[Concatenate[C, P], R]:
    """`method` run holding the chain's lock: one thread at a time reaches the runtime and its file."""

    @functools.wraps(method)
    def locked(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


@dataclass
class _Tip:
    """The blockhashes the chain takes (the latest last, at most `lifetime` before it), how many
    times it moved to a new one, and whether a submission has used the latest yet."""

    lifetime: int
    recent: dict[Hash, None] = field(default_factory=dict)  # in the order they were issued
    rotations: int = 0
    used: bool = False

    def issue(self, blockhash: Hash) -> None:
        self.recent[blockhash] = None
        while len(self.recent) > self.lifetime + 1:
            del self.recent[next(iter(self.recent))]

    @property
    def latest(self) -> Hash:
        return next(reversed(self.recent))


class LiteSVMChain(ChainBase):
    """An in-process Solana runtime behind the `Chain` interface.

    `seed` makes the authority's and the mints' keypairs a function of the seed (see
    `keypair_from_seed`), so that a run is reproducible to the signature; without it they are
    random. The authority starts with `AUTHORITY_LAMPORTS`. `path` makes the chain durable (see
    the module docstring); an existing file is resumed and its seed wins over `seed`.
    `blockhash_lifetime` is how many blockhashes before the latest a transaction may be built
    with (0: the latest only). Calls from several threads run one at a time.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        blockhash_lifetime: int = BLOCKHASH_LIFETIME,
    ) -> None:
        super().__init__()
        if isinstance(blockhash_lifetime, bool) or not isinstance(blockhash_lifetime, int) or blockhash_lifetime < 0:
            raise ChainRequestInvalid(
                f"blockhash_lifetime must be an int >= 0, got {blockhash_lifetime!r}",
                field="blockhash_lifetime",
                value=blockhash_lifetime,
            )
        self._lock = threading.RLock()
        self._svm = LiteSVM().with_blockhash_check(False)  # the chain checks blockhashes itself
        self._broken: tuple[str, str] | None = None  # why the chain refuses every call, and its file
        self._tip = _Tip(blockhash_lifetime)
        self._tip.issue(self._svm.latest_blockhash())
        self._records: dict[str, Record] = {}
        self._by_memo: dict[str, str] = {}  # memo -> the latest confirmed signature carrying it
        self._mints = 0
        self._store: Store | None = None
        if path is not None:
            self._store = Store(os.fspath(path))
            saved = self._store.load()
            if saved is not None:
                self.seed = saved.seed
                self.authority = Keypair.from_bytes(saved.authority)
                self._mints = saved.mints
                self._restore(saved)
                self._tip.used = saved.used
                for record in saved.records:
                    self._remember(record)
                return
        self.seed = seed
        self.authority = keypair_from_seed(seed, "authority") if seed is not None else Keypair()
        self._airdrop(self.authority.pubkey(), AUTHORITY_LAMPORTS)
        self._save([self.authority.pubkey()], None)

    @_serialised
    def close(self) -> None:
        """Closes the chain's file (when it has one); the in-memory chain stays usable."""
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def svm(self) -> LiteSVM:
        """The runtime itself (`ChainBroken` once its file fell behind it)."""
        self._check_usable()
        return self._svm

    def _check_usable(self) -> None:
        if self._broken is not None:
            message, path = self._broken
            raise ChainBroken(message, field="path", value=path)

    # -- durability -------------------------------------------------------------------------

    def _restore(self, saved: Saved) -> None:
        with foreign_errors("restore"):
            for address, account in saved.accounts.items():
                self.svm.set_account(address, account)
            # Each blockhash derives from the one before: replaying the rotations gets back the
            # very blockhashes the chain had.
            for _ in range(saved.rotations):
                self._next_blockhash()
            if saved.slot:
                self.svm.warp_to_slot(saved.slot)
            if saved.slot_hashes:
                self.svm.set_slot_hashes(saved.slot_hashes)
            clock = self.svm.get_clock()
            clock.unix_timestamp = saved.unix_timestamp
            self.svm.set_clock(clock)

    def _save(self, touched: Iterable[Pubkey], record: Record | None) -> None:
        """Commits the accounts `touched`, `record` and the numbers that rebuild the runtime to
        the file. Any failure breaks the chain (see `ChainBroken`): the runtime already holds
        the change, the file does not."""
        store = self._store
        if store is None:
            return
        try:
            with foreign_errors("save"):
                accounts = {address: self._svm.get_account(address) for address in touched}
                state = {
                    "seed": self.seed,
                    "authority": bytes(self.authority),
                    "mints": self._mints,
                    "rotations": self._tip.rotations,
                    "used": self._tip.used,
                    "slot": self._svm.get_clock().slot,
                    "unix_timestamp": self._svm.get_clock().unix_timestamp,
                    "slot_hashes": self._svm.get_slot_hashes(),
                }
            store.save(state, accounts, record)
        except BaseException as exc:
            message = (
                f"the chain file {store.path} missed a change ({type(exc).__name__}: {exc}); "
                "this object is unusable: open the chain again from its file"
            )
            self._broken = (message, store.path)
            self.close()
            if isinstance(exc, Exception):
                raise ChainBroken(message, field="path", value=store.path) from exc
            raise

    # -- primitives -------------------------------------------------------------------------

    def _next_blockhash(self) -> None:
        """Moves to a new blockhash (one more block)."""
        self._tip.rotations += 1
        self._tip.used = False
        self._tip.issue(Hash(hashlib.sha256(bytes(self._tip.latest)).digest()))

    @_serialised
    def _recent_blockhash(self) -> tuple[Hash, int | None]:
        self._check_usable()
        with foreign_errors("blockhash"):
            if self._tip.used:
                self._next_blockhash()
                # A durable chain remembers the blockhash it hands out, so that a transaction
                # prepared before a crash can still be submitted (once) after it.
                self._save([], None)
            return self._tip.latest, None

    @_serialised
    def _submit(self, prepared: Prepared, tx: VersionedTransaction) -> Sent:
        self._check_usable()
        signature = prepared.sent.signature
        earlier = self._records.get(signature)
        if earlier is not None:
            return self._outcome(prepared.sent, earlier)
        if tx.message.recent_blockhash not in self._tip.recent:
            raise TransactionFailed(
                "the transaction was refused: BlockhashNotFound (its blockhash is not among the chain's recent ones)",
                field="send",
                value="BlockhashNotFound",
            )
        with foreign_errors("send", TransactionFailed):
            self._tip.used = True
            result = self.svm.send_transaction(tx)
            landed = self.svm.get_transaction(tx.signatures[0]) is not None
        if isinstance(result, TransactionMetadata):
            record = Record(signature, ok=True, memo=memo_from_transaction(tx), error=None)
        else:
            error = str(result.err())
            logs = [line for line in result.meta().logs() if "rror" in line or "failed" in line]
            message = error + ("" if not logs else " (" + "; ".join(logs) + ")")
            if not landed:
                raise TransactionFailed(f"the transaction was refused: {message}", field="send", value=error)
            record = Record(signature, ok=False, memo=None, error=message)
        if self._store is not None:  # resolving the lookup tables costs; only the file needs them
            self._save(self._touched(tx), record)  # the file first: what it lacks never landed
        self._remember(record)
        return self._outcome(prepared.sent, record)

    def _remember(self, record: Record) -> None:
        self._records[record.signature] = record
        if record.ok and record.memo is not None:
            self._by_memo[record.memo] = record.signature

    @staticmethod
    def _outcome(sent: Sent, record: Record) -> Sent:
        if not record.ok:
            raise TransactionFailed(f"the transaction failed: {record.error}", field="send", value=record.error)
        return sent

    def _touched(self, tx: VersionedTransaction) -> Iterator[Pubkey]:
        """The accounts `tx` locks, resolved as `_save` reads them (so that a failure breaks the chain)."""
        message = tx.message
        yield from message.account_keys
        if not isinstance(message, MessageV0):
            return
        for lookup in message.address_table_lookups:
            addresses = self._lookup_table(lookup.account_key).addresses  # a new list at each read
            yield from (addresses[i] for i in (*lookup.writable_indexes, *lookup.readonly_indexes))

    @_serialised
    def _get_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        with foreign_errors("accounts", ChainRequestInvalid):
            return [self.svm.get_account(address) for address in addresses]

    @_serialised
    def _rent(self, size: int) -> int:
        with foreign_errors("rent"):
            return self.svm.minimum_balance_for_rent_exemption(size)

    @_serialised
    def _new_mint_keypair(self) -> Keypair:
        self._mints += 1
        if self.seed is None:
            return Keypair()
        return keypair_from_seed(self.seed, f"mint/{self._mints}")

    def _airdrop(self, owner: Pubkey, lamports: int) -> None:
        with foreign_errors("fund"):
            result = self.svm.airdrop(owner, lamports)
            if not isinstance(result, TransactionMetadata):
                # The same airdrop as one before under LiteSVM's blockhash (which only its
                # airdrops use): AlreadyProcessed.
                self.svm.expire_blockhash()
                result = self.svm.airdrop(owner, lamports)
        if not isinstance(result, TransactionMetadata):
            raise ChainError(f"the airdrop failed: {result.err()}", field="fund", value=str(result.err()))

    @_serialised
    def load_program(self, program_id: Pubkey, elf: bytes) -> None:
        """Deploys a built program (its SBF `.so` bytes) at `program_id`. Not kept by a durable
        chain's file: load the programs again after reopening it."""
        with foreign_errors("program", ChainRequestInvalid):
            self.svm.add_program(program_id, elf)

    @_serialised
    def unix_time(self) -> int:
        """The clock's unix timestamp, what programs read as "now" (0 on a new chain: LiteSVM's
        clock stands still unless moved; a durable chain's file keeps it)."""
        with foreign_errors("clock"):
            return int(self.svm.get_clock().unix_timestamp)

    @_serialised
    def advance_clock(self, unix_timestamp: int) -> int:
        """Moves the clock's unix timestamp forward to `unix_timestamp` (never back: programs
        keep times that must only grow, across a durable chain's restarts too) and returns the
        clock's time."""
        if (
            isinstance(unix_timestamp, bool)
            or not isinstance(unix_timestamp, int)
            or not -(2**63) <= unix_timestamp < 2**63
        ):
            raise ChainRequestInvalid(
                f"unix_timestamp must be an i64, got {unix_timestamp!r}", field="unix_timestamp", value=unix_timestamp
            )
        with foreign_errors("clock"):
            clock = self.svm.get_clock()
            if clock.unix_timestamp >= unix_timestamp:
                return int(clock.unix_timestamp)
            clock.unix_timestamp = unix_timestamp
            self.svm.set_clock(clock)
        self._save([], None)
        return unix_timestamp

    # -- the Chain queries ------------------------------------------------------------------

    @_serialised
    def fund(self, owner: Pubkey, lamports: int) -> None:
        if not isinstance(owner, Pubkey):
            raise ChainRequestInvalid(f"owner must be a Pubkey, got {type(owner).__name__}", field="owner", value=owner)
        self._airdrop(owner, check_amount(lamports, "lamports"))
        self._save([owner], None)

    @_serialised
    def status(self, signature: str) -> TxStatus:
        self._check_usable()
        record = self._records.get(str(parse_signature(signature)))
        if record is not None:
            return TxStatus.CONFIRMED if record.ok else TxStatus.FAILED
        with foreign_errors("status"):
            found = self.svm.get_transaction(parse_signature(signature))
        if found is None:
            return TxStatus.UNKNOWN
        return TxStatus.CONFIRMED if isinstance(found, TransactionMetadata) else TxStatus.FAILED

    @_serialised
    def _expired(self, sent: Sent) -> bool:
        self._check_usable()
        return parse_blockhash(sent.blockhash) not in self._tip.recent  # gone: it never comes back

    def memo_of(self, signature: str) -> str | None:
        self._check_usable()
        record = self._records.get(str(parse_signature(signature)))
        return record.memo if record is not None and record.ok else None

    def signature_with_memo(self, memo: str) -> str | None:
        self._check_usable()
        return self._by_memo.get(memo)

    @_serialised
    def create_lookup_table(self, addresses: Sequence[Pubkey]) -> Pubkey:
        addresses = list(addresses)
        if not 1 <= len(addresses) <= MAX_LOOKUP_TABLE_ADDRESSES:
            raise ChainRequestInvalid(
                f"a lookup table holds 1 to {MAX_LOOKUP_TABLE_ADDRESSES} addresses, got {len(addresses)}",
                field="addresses",
                value=len(addresses),
            )
        auth = self.authority.pubkey()
        with foreign_errors("create_lookup_table"):
            slot = self.svm.get_clock().slot
            _, table = create_lookup_table_ix(auth, auth, slot)
            if self.svm.get_account(table) is not None:  # a table was derived from this slot already
                slot += 1
                self.svm.warp_to_slot(slot)
            hashes = self.svm.get_slot_hashes()
            if all(s != slot for s, _ in hashes):
                self.svm.set_slot_hashes([(slot, self.svm.latest_blockhash()), *hashes][:512])
        create, table = create_lookup_table_ix(auth, auth, slot)
        first = EXTEND_CHUNK - 8
        self.send([create, extend_lookup_table_ix(table, auth, auth, addresses[:first])])
        for start in range(first, len(addresses), EXTEND_CHUNK):
            self.send([extend_lookup_table_ix(table, auth, auth, addresses[start : start + EXTEND_CHUNK])])
        with foreign_errors("create_lookup_table"):
            self.svm.warp_to_slot(slot + 1)  # extended addresses are active from the next slot on
        self._save([table], None)
        return table


__all__ = ["AUTHORITY_LAMPORTS", "LiteSVMChain"]
