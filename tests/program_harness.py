"""Any of the on-chain programs in LiteSVM, as their tests drive them: the programs loaded at their
contract ids (refusing a missing or stale build), anchorpy instructions from the legacy IDLs with any
account swapped by name, accounts no test should need another program to make written as raw bytes
(mints, token accounts, governance's config, the registry), and the checks every test makes: what a
transaction did, and that a refused one changed nothing (every watched account's bytes, owner and
lamports; a separate fee payer pays every transaction, so its balance is not among them).

The trading suites build on this through `trading_harness.Chain`; the attack suites of the other
programs through `Ledger` directly.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anchorpy import Context, Idl, Program, Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solders.account import Account
from solders.compute_budget import set_compute_unit_limit
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rent import Rent
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from gridmatch.chain.spl import TOKEN_PROGRAM_ID

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
BUILD_COMMAND = "make programs   (that is: scripts/build-programs.sh)"
#: What each program is built from: a .so older than any of these files is stale. Trading links
#: the engine's own `money` (core/src).
SOURCES = {
    "trading": ("programs/trading", "programs/support", "core/src"),
    "registry": ("programs/registry", "programs/support"),
    "governance": ("programs/governance", "programs/support"),
    "energy_token": ("programs/energy_token", "programs/support"),
    "oracle": ("programs/oracle", "programs/support"),
}


def _address(name: str) -> Pubkey:
    return Pubkey.from_string(json.loads((PROGRAMS / name / "idl.json").read_text())["metadata"]["address"])


PROGRAM_IDS = {name: _address(name) for name in SOURCES}
TRADING_ID = PROGRAM_IDS["trading"]
REGISTRY_ID = PROGRAM_IDS["registry"]
GOVERNANCE_ID = PROGRAM_IDS["governance"]
ENERGY_ID = PROGRAM_IDS["energy_token"]
ORACLE_ID = PROGRAM_IDS["oracle"]
GOVERNANCE_CONFIG, GOVERNANCE_BUMP = Pubkey.find_program_address([b"governance"], GOVERNANCE_ID)
REGISTRY = Pubkey.create_program_address([b"registry", bytes([253])], REGISTRY_ID)  # its compile-time bump
#: energy_token's mint authority: GRID is the mint whose authority it is.
MINT_AUTHORITY = Pubkey.find_program_address([b"mint_authority"], ENERGY_ID)[0]

U64_MAX = 2**64 - 1
I64_MIN = -(2**63)
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82


def program_bytes(name: str) -> bytes:
    """The built program, refusing a missing or stale one with the command that builds it."""
    so = PROGRAMS / "target" / "deploy" / f"{name}.so"
    if not so.exists():
        pytest.fail(f"{so.relative_to(ROOT)} is missing: build it with `{BUILD_COMMAND}`", pytrace=False)
    sources = [PROGRAMS / ".cargo" / "config.toml"]
    for folder in SOURCES[name]:
        sources += [p for p in (ROOT / folder).glob("**/*") if p.suffix in (".rs", ".toml")]
    newer = [p for p in sources if p.stat().st_mtime > so.stat().st_mtime]
    if newer:
        names = ", ".join(str(p.relative_to(ROOT)) for p in newer[:3])
        pytest.fail(f"{so.relative_to(ROOT)} is older than {names}: rebuild with `{BUILD_COMMAND}`", pytrace=False)
    return so.read_bytes()


_BYTES: dict[str, bytes] = {}


def cached_program(name: str) -> bytes:
    if name not in _BYTES:
        _BYTES[name] = program_bytes(name)
    return _BYTES[name]


def sighash(namespace: str, name: str) -> bytes:
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def pda(seeds: Sequence[bytes], program: Pubkey) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), program)[0]


def other_bump(seeds: Sequence[bytes], program: Pubkey) -> Pubkey:
    """The program address of `seeds` at the highest valid bump below the canonical one."""
    _, canonical = Pubkey.find_program_address(list(seeds), program)
    for bump in range(canonical - 1, -1, -1):
        try:
            return Pubkey.create_program_address([*seeds, bytes([bump])], program)
        except Exception:  # on the curve: not a program address
            continue
    raise AssertionError("no other bump")


# --- raw account bytes ---------------------------------------------------------------------------

_FIXED_SIZES = {"u8": 1, "bool": 1, "u16": 2, "u32": 4, "u64": 8, "i64": 8, "publicKey": 32}


def _field_size(kind: Any) -> int:
    if isinstance(kind, str):
        return _FIXED_SIZES[kind]
    if "array" in kind:
        item, count = kind["array"]
        return _field_size(item) * int(count)
    assert "defined" in kind, kind
    return 1  # the programs' enums carry no fields: borsh writes the variant's index alone


def field_offset(program: str, account: str, name: str) -> int:
    """Where field `name` (snake_case) of `program`'s account type `account` starts: after the
    8-byte discriminator and the fixed-size borsh fields the IDL lists before it."""
    idl = json.loads((PROGRAMS / program / "idl.json").read_text())
    (layout,) = [a for a in idl["accounts"] if a["name"] == account]
    offset = 8
    for field in layout["type"]["fields"]:
        if snake(field["name"]) == name:
            return offset
        offset += _field_size(field["type"])
    raise AssertionError(f"{account} has no field {name}")


def _option(key: Pubkey | None) -> bytes:
    return b"\x01\x00\x00\x00" + bytes(key) if key is not None else bytes(36)


def mint_data(decimals: int, mint_authority: Pubkey | None = None, freeze_authority: Pubkey | None = None) -> bytes:
    """An initialised SPL mint (82 bytes); balances are written straight into token accounts."""
    return _option(mint_authority) + struct.pack("<QBB", 0, decimals, 1) + _option(freeze_authority)


def token_account_data(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    """An initialised SPL token account (165 bytes) holding `amount`, no delegate."""
    return bytes(mint) + bytes(owner) + struct.pack("<Q", amount) + bytes(36) + b"\x01" + bytes(12 + 8 + 36)


def governance_data(authorities: Sequence[Pubkey], *, paused: bool = False, fee_bps: int = 0) -> bytes:
    """The shared contract's `GovernanceConfig` (140 bytes): up to four authorities."""
    slots = b"".join(bytes(a) for a in authorities).ljust(128, b"\0")
    return sighash("account", "GovernanceConfig") + slots + struct.pack("<BHB", paused, fee_bps, GOVERNANCE_BUMP)


def registry_data(authority: Pubkey) -> bytes:
    """The registry's `Registry` (161 bytes): one authority, no participants yet."""
    return sighash("account", "Registry") + bytes(authority) + bytes(96) + struct.pack("<QQB", 0, 0, 253)


# --- transactions ----------------------------------------------------------------------------------


@dataclass
class Sent:
    """What a transaction did: `code` None on success, else the `Custom(n)` of whichever program
    failed (through any CPI; -1 for an error that is not `Custom`), `failed` that program (the
    innermost), its logs, compute units and size in bytes."""

    code: int | None
    failed: Pubkey | None
    err: Any
    logs: list[str]
    units: int
    size: int

    @property
    def ok(self) -> bool:
        return self.code is None


def sent_of(result: Any, size: int) -> Sent:
    """`Sent` of what LiteSVM returned for a transaction of `size` bytes."""
    if isinstance(result, TransactionMetadata):
        return Sent(None, None, None, list(result.logs()), result.compute_units_consumed(), size)
    assert isinstance(result, FailedTransactionMetadata)
    meta = result.meta()
    logs = list(meta.logs())
    failed = [line.split()[1] for line in logs if re.match(r"Program \w+ failed", line)]
    code = getattr(getattr(result.err(), "err", None), "code", None)
    return Sent(
        code if code is not None else -1,
        Pubkey.from_string(failed[0]) if failed else None,
        result.err(),
        logs,
        meta.compute_units_consumed(),
        size,
    )


Snapshot = dict[Pubkey, tuple[int, bytes, Pubkey] | None]


def signers_of(payer: Keypair, signers: Iterable[Keypair]) -> list[Keypair]:
    """`payer` first, then each other signer once."""
    keys = {payer.pubkey(): payer}
    for signer in signers:
        keys.setdefault(signer.pubkey(), signer)
    return list(keys.values())


def with_signer(ix: Instruction, who: Pubkey) -> Instruction:
    """`ix` with `who` marked a signer."""
    metas = [AccountMeta(m.pubkey, True, m.is_writable) if m.pubkey == who else m for m in ix.accounts]
    return Instruction(ix.program_id, ix.data, metas)


def without_signer(ix: Instruction, who: Pubkey) -> Instruction:
    """`ix` with `who` passed as an account that did not sign."""
    metas = [AccountMeta(m.pubkey, False, m.is_writable) if m.pubkey == who else m for m in ix.accounts]
    return Instruction(ix.program_id, ix.data, metas)


class Ledger:
    """LiteSVM with the programs `names` loaded at their contract ids, each with its anchorpy
    `Program`; a separate `payer` pays every transaction's fee, so a refused transaction changes
    none of the accounts a test watches (`watch`; `put`, `wallet`, `new_mint` and
    `new_token_account` watch what they make)."""

    def __init__(self, *names: str) -> None:
        self.svm = LiteSVM()
        self.payer = Keypair()
        self.svm.set_account(self.payer.pubkey(), Account(10**6 * 10**9, b"", SYSTEM_PROGRAM_ID, False, 0))
        # anchorpy wants a provider; no request is ever sent to this address.
        provider = Provider(AsyncClient("http://127.0.0.1:9"), Wallet(self.payer))
        self.program: dict[str, Program] = {}
        for name in names:
            self.svm.add_program(PROGRAM_IDS[name], cached_program(name))
            idl = Idl.from_json((PROGRAMS / name / "idl.json").read_text())
            self.program[name] = Program(idl, PROGRAM_IDS[name], provider)
        self.watched: dict[Pubkey, None] = {}
        self.rent_token = self.svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN)

    # -- accounts ------------------------------------------------------------------------------

    def watch(self, *addresses: Pubkey) -> None:
        """Adds `addresses` to what every refusal checks is unchanged."""
        for address in addresses:
            self.watched[address] = None

    def wallet(self, sol: int = 100) -> Keypair:
        keypair = Keypair()
        self.svm.set_account(keypair.pubkey(), Account(sol * 10**9, b"", SYSTEM_PROGRAM_ID, False, 0))
        self.watch(keypair.pubkey())
        return keypair

    def put(self, address: Pubkey, data: bytes, owner: Pubkey, lamports: int | None = None) -> None:
        """Writes an account directly (what no transaction of the test made)."""
        if lamports is None:
            lamports = self.svm.minimum_balance_for_rent_exemption(len(data))
        self.svm.set_account(address, Account(lamports, data, owner, False, 0))
        self.watch(address)

    @contextmanager
    def replaced(
        self, address: Pubkey, data: bytes | None = None, owner: Pubkey | None = None, *, absent: bool = False
    ) -> Iterator[None]:
        """Within the block, the account at `address` has `data` and `owner` (each as it was when
        not given; its lamports kept, or rent-exempt where there was no account), or none at all when
        `absent`; afterwards it is exactly as before."""
        before = self.svm.get_account(address)
        if absent:
            after = Account(0, b"", SYSTEM_PROGRAM_ID, False, 0)
        elif before is None:
            assert data is not None and owner is not None, f"no account at {address} to alter"
            after = Account(self.svm.minimum_balance_for_rent_exemption(len(data)), data, owner, False, 0)
        else:
            new_data = bytes(before.data) if data is None else data
            after = Account(before.lamports, new_data, owner or before.owner, False, 0)
        self.svm.set_account(address, after)
        try:
            yield
        finally:
            self.svm.set_account(address, before or Account(0, b"", SYSTEM_PROGRAM_ID, False, 0))

    def fund(self, address: Pubkey, lamports: int) -> None:
        """A System transfer to `address` (a pre-funded or revived account)."""
        params = TransferParams(from_pubkey=self.payer.pubkey(), to_pubkey=address, lamports=lamports)
        sent = self.send([transfer(params)])
        assert sent.ok, sent.logs

    def new_mint(self, decimals: int, authority: Pubkey, freeze_authority: Pubkey | None = None) -> Pubkey:
        mint = Keypair().pubkey()
        self.put(mint, mint_data(decimals, authority, freeze_authority), TOKEN_PROGRAM_ID)
        return mint

    def new_token_account(self, mint: Pubkey, owner: Pubkey, amount: int, address: Pubkey | None = None) -> Pubkey:
        address = address or Keypair().pubkey()
        self.put(address, token_account_data(mint, owner, amount), TOKEN_PROGRAM_ID, self.rent_token)
        return address

    def set_time(self, unix_timestamp: int) -> None:
        clock = self.svm.get_clock()
        clock.unix_timestamp = unix_timestamp
        self.svm.set_clock(clock)

    def now(self) -> int:
        return self.svm.get_clock().unix_timestamp

    def set_rent(self, lamports_per_byte_year: int, exemption_threshold: float) -> None:
        self.svm.set_rent(Rent(lamports_per_byte_year, exemption_threshold, 50))

    # -- instructions and transactions ---------------------------------------------------------

    def instruction(
        self,
        program: str,
        name: str,
        *args: Any,
        accounts: dict[str, Pubkey],
        overrides: dict[str, Pubkey],
        remaining: Sequence[AccountMeta] = (),
    ) -> Instruction:
        """`program`'s instruction `name` with `accounts`, any of them swapped by `overrides`."""
        unknown = set(overrides) - set(accounts)
        assert not unknown, f"{name} has no account {unknown}"
        ctx = Context(accounts={**accounts, **overrides}, remaining_accounts=list(remaining))
        return self.program[program].instruction[name](*args, ctx=ctx)

    def account_names(self, program: str, name: str) -> list[str]:
        """The snake_case names of instruction `name`'s accounts, in the IDL's order."""
        (ix,) = [i for i in self.program[program].idl.instructions if snake(i.name) == name]
        return [snake(a.name) for a in ix.accounts]

    def send(
        self, ixs: Sequence[Instruction], *signers: Keypair, units: int | None = None, payer: Keypair | None = None
    ) -> Sent:
        """Sends `ixs` with `payer` (the harness's own by default) paying and `signers` signing
        too, with a fresh blockhash (a deliberate repeat is not refused as already processed)."""
        self.svm.expire_blockhash()
        ixs = [set_compute_unit_limit(units), *ixs] if units is not None else list(ixs)
        payer = payer or self.payer
        keys = signers_of(payer, signers)
        tx = Transaction(keys, Message(ixs, payer.pubkey()), self.svm.latest_blockhash())
        return sent_of(self.svm.send_transaction(tx), len(bytes(tx)))

    def simulate(self, ixs: Sequence[Instruction], *signers: Keypair) -> Sent:
        """What `send` would do, committing nothing."""
        self.svm.expire_blockhash()
        keys = signers_of(self.payer, signers)
        tx = Transaction(keys, Message(list(ixs), self.payer.pubkey()), self.svm.latest_blockhash())
        result = self.svm.simulate_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            return sent_of(result, len(bytes(tx)))
        meta = result.meta()
        return Sent(None, None, None, list(meta.logs()), meta.compute_units_consumed(), len(bytes(tx)))

    # -- reading -------------------------------------------------------------------------------

    def account(self, address: Pubkey) -> Account | None:
        return self.svm.get_account(address)

    def decode(self, address: Pubkey) -> Any:
        """The account at `address`, decoded by the IDL of the program that owns it."""
        account = self.svm.get_account(address)
        assert account is not None, f"no account at {address}"
        (program,) = [p for p in self.program.values() if p.program_id == account.owner]
        return program.coder.accounts.decode(bytes(account.data))

    def closed(self, address: Pubkey) -> bool:
        """No account at `address` (LiteSVM keeps a closed one as an empty System account)."""
        account = self.svm.get_account(address)
        return account is None or (
            account.lamports == 0 and not bytes(account.data) and account.owner == SYSTEM_PROGRAM_ID
        )

    def lamports(self, address: Pubkey) -> int:
        account = self.svm.get_account(address)
        return 0 if account is None else account.lamports

    def balance(self, address: Pubkey) -> int:
        account = self.svm.get_account(address)
        if account is None or account.owner != TOKEN_PROGRAM_ID or len(account.data) != TOKEN_ACCOUNT_LEN:
            return 0
        return int(struct.unpack_from("<Q", bytes(account.data), 64)[0])

    def snapshot(self, *extra: Pubkey) -> Snapshot:
        """Lamports, data and owner of every account the test knows (the payer's apart)."""
        out: Snapshot = {}
        for address in [*self.watched, *extra]:
            account = self.svm.get_account(address)
            out[address] = None if account is None else (account.lamports, bytes(account.data), account.owner)
        return out

    def refused(
        self,
        ixs: Sequence[Instruction],
        signers: Iterable[Keypair],
        code: int | None,
        *extra: Pubkey,
        failed: Pubkey | None = None,
    ) -> Sent:
        """Sends what must be refused (with `code`, unless None: any refusal; by program `failed`,
        when given); asserts that it was and that no account changed."""
        before = self.snapshot(*extra)
        sent = self.send(ixs, *signers)
        assert not sent.ok, f"accepted: {sent.logs[-8:]}"
        if code is not None:
            assert sent.code == code, (sent.code, sent.logs[-8:])
        if failed is not None:
            assert sent.failed == failed, (str(sent.failed), sent.logs[-8:])
        after = self.snapshot(*extra)
        changed = [str(a) for a in before if before[a] != after[a]]
        assert not changed, f"changed by a refused transaction: {changed}"
        return sent
