"""The trading program (programs/trading) in LiteSVM, as its tests drive it: the programs loaded
(trading, the registry, governance), the accounts no test should depend on another program to
make written as raw bytes (mints, token accounts, the governance config, the registry), anchorpy
instructions from the legacy IDLs with any account swapped by name, and the checks every test
makes: what a transaction did, and that a refused one changed nothing (every account's bytes,
owner and lamports, but the fee payer's).

The amounts the tests expect are the engine's own arithmetic: what an order escrows from the
client's `escrow` (the program's worst case a lot), what it is owed from `Market.split` of its own
notional (core's `money`), written out here rather than taken from the client under test.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from anchorpy import Context, Idl, Program, Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solders.account import Account
from solders.address_lookup_table_account import ID as LOOKUP_TABLE_PROGRAM_ID
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.rent import Rent
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from spl.token import instructions as token_ix

from gridmatch.chain.spl import TOKEN_PROGRAM_ID, associated_token_address
from gridmatch.chain.trading import escrow
from gridmatch.market import Market

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
BUILD_COMMAND = "make programs   (that is: scripts/build-programs.sh)"
#: What each program is built from: a .so older than any of these files is stale. Trading links
#: the engine's own `money` (core/src).
SOURCES = {
    "trading": ("programs/trading", "programs/support", "core/src"),
    "registry": ("programs/registry", "programs/support"),
    "governance": ("programs/governance", "programs/support"),
}


def _address(name: str) -> Pubkey:
    return Pubkey.from_string(json.loads((PROGRAMS / name / "idl.json").read_text())["metadata"]["address"])


TRADING_ID = _address("trading")
REGISTRY_ID = _address("registry")
GOVERNANCE_ID = _address("governance")
ENERGY_ID = _address("energy_token")
GOVERNANCE_CONFIG, GOVERNANCE_BUMP = Pubkey.find_program_address([b"governance"], GOVERNANCE_ID)
REGISTRY = Pubkey.create_program_address([b"registry", bytes([253])], REGISTRY_ID)  # its compile-time bump
#: energy_token's mint authority: GRID is the mint whose authority it is.
MINT_AUTHORITY = Pubkey.find_program_address([b"mint_authority"], ENERGY_ID)[0]

MAX_UNITS = 1_400_000
MAX_TX_BYTES = 1232
ZERO_HASH = bytes(32)
U64_MAX = 2**64 - 1
I64_MIN = -(2**63)
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
FUNDS = 10**15
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


# --- raw account bytes ---------------------------------------------------------------------------


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


# --- the result's hash chain and the amounts -----------------------------------------------------


def result_heads(results: Sequence[tuple[Pubkey, int]]) -> list[bytes]:
    """`heads[n]` is all zeroes, `heads[i] = sha256(order address || filled u64 LE || heads[i+1])`:
    `heads[0]` is what the operator posts; crediting results `[i, j)` names `heads[j]`."""
    heads = [ZERO_HASH]
    for address, filled in reversed(results):
        heads.append(hashlib.sha256(bytes(address) + struct.pack("<Q", filled) + heads[-1]).digest())
    heads.reverse()
    return heads


def side_sign(side: str) -> int:
    return 1 if side == "buy" else -1


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


def _sent(result: Any, size: int) -> Sent:
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


def _signers(payer: Keypair, signers: Iterable[Keypair]) -> list[Keypair]:
    """`payer` first, then each other signer once."""
    keys = {payer.pubkey(): payer}
    for signer in signers:
        keys.setdefault(signer.pubkey(), signer)
    return list(keys.values())


# --- what the tests hold on to -------------------------------------------------------------------


@dataclass
class Trader:
    """A registered participant and its associated GRID and payment token accounts."""

    keypair: Keypair
    grid: Pubkey
    payment: Pubkey
    participant: Pubkey

    @property
    def key(self) -> Pubkey:
        return self.keypair.pubkey()


@dataclass(frozen=True)
class MarketRef:
    market_id: int
    address: Pubkey
    grid_mint: Pubkey
    payment_mint: Pubkey
    grid_vault: Pubkey
    payment_vault: Pubkey
    treasury: Pubkey


@dataclass(frozen=True)
class EpochRef:
    market: MarketRef
    epoch_id: int
    address: Pubkey


@dataclass
class Placed:
    """An order on chain: its address, what it was placed with and what it escrowed."""

    address: Pubkey
    epoch: EpochRef
    order_id: int
    trader: Trader
    side: str
    price: int
    qty: int
    grid_escrow: int
    payment_escrow: int


Results = list[tuple[Placed, int]]


def addresses(results: Results) -> list[tuple[Pubkey, int]]:
    return [(order.address, filled) for order, filled in results]


@dataclass
class Chain:
    """LiteSVM with trading, the registry and governance; a governance config whose authority is
    `authority` (fee `fee_bps`); a registry with the same authority; GRID (energy_token's mint,
    9 decimals) and a payment mint (6 decimals, frozen by `freezer` when `freeze`); a treasury;
    the clock at T0; and market 1, initialised unless `initialize` is False. A separate `payer`
    pays every transaction's fee, so a refused transaction changes no account a test watches."""

    lot: int = 10**6
    tick: int = 100
    fee_bps: int = 100
    fee_payer: str = "buyer"
    fee_rounding: str = "up"
    epoch_seconds: int = 900
    settle_deadline: int = 3_600
    freeze: bool = False
    initialize: bool = True
    traders: list[Trader] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.svm = LiteSVM()
        self.payer = Keypair()
        self.svm.set_account(self.payer.pubkey(), Account(10**6 * 10**9, b"", SYSTEM_PROGRAM_ID, False, 0))
        provider = Provider(AsyncClient("http://127.0.0.1:9"), Wallet(self.payer))
        self.program: dict[str, Program] = {}
        for name, program_id in (("trading", TRADING_ID), ("registry", REGISTRY_ID), ("governance", GOVERNANCE_ID)):
            self.svm.add_program(program_id, cached_program(name))
            self.program[name] = Program(
                Idl.from_json((PROGRAMS / name / "idl.json").read_text()), program_id, provider
            )
        self.trading = self.program["trading"]
        self.set_time(T0)
        self.watched: dict[Pubkey, None] = {}
        self.authority = self.wallet()
        self.operator = self.wallet()
        self.freezer = Keypair()
        self.set_governance()
        self.put(REGISTRY, registry_data(self.authority.pubkey()), REGISTRY_ID)
        self.rent_token = self.svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN)
        self.grid_mint = self.new_mint(9, MINT_AUTHORITY)
        freezer = self.freezer.pubkey() if self.freeze else None
        self.payment_mint = self.new_mint(6, Keypair().pubkey(), freezer)
        self.market = self.market_ref(1, self.new_token_account(self.payment_mint, Keypair().pubkey(), 0))
        if self.initialize:
            sent = self.send([self.initialize_ix()], self.authority)
            assert sent.ok, sent.logs
            self.initialize_units = sent.units

    # -- plumbing ------------------------------------------------------------------------------

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

    def pda(self, *seeds: bytes) -> Pubkey:
        return Pubkey.find_program_address(list(seeds), TRADING_ID)[0]

    def set_time(self, unix_timestamp: int) -> None:
        clock = self.svm.get_clock()
        clock.unix_timestamp = unix_timestamp
        self.svm.set_clock(clock)

    def now(self) -> int:
        return self.svm.get_clock().unix_timestamp

    def set_governance(
        self, *, paused: bool = False, fee_bps: int | None = None, authorities: Sequence[Pubkey] = ()
    ) -> None:
        self.fee_bps = self.fee_bps if fee_bps is None else fee_bps
        data = governance_data(authorities or [self.authority.pubkey()], paused=paused, fee_bps=self.fee_bps)
        self.put(GOVERNANCE_CONFIG, data, GOVERNANCE_ID)

    def set_rent(self, lamports_per_byte_year: int, exemption_threshold: float) -> None:
        self.svm.set_rent(Rent(lamports_per_byte_year, exemption_threshold, 50))

    def new_mint(self, decimals: int, authority: Pubkey, freeze_authority: Pubkey | None = None) -> Pubkey:
        mint = Keypair().pubkey()
        self.put(mint, mint_data(decimals, authority, freeze_authority), TOKEN_PROGRAM_ID)
        return mint

    def new_token_account(self, mint: Pubkey, owner: Pubkey, amount: int, address: Pubkey | None = None) -> Pubkey:
        address = address or Keypair().pubkey()
        self.put(address, token_account_data(mint, owner, amount), TOKEN_PROGRAM_ID, self.rent_token)
        return address

    def send(
        self, ixs: Sequence[Instruction], *signers: Keypair, units: int | None = None, payer: Keypair | None = None
    ) -> Sent:
        """Sends `ixs` with `payer` (the harness's own by default) paying and `signers` signing
        too, with a fresh blockhash (a deliberate repeat is not refused as already processed)."""
        self.svm.expire_blockhash()
        ixs = [set_compute_unit_limit(units), *ixs] if units is not None else list(ixs)
        payer = payer or self.payer
        keys = _signers(payer, signers)
        tx = Transaction(keys, Message(ixs, payer.pubkey()), self.svm.latest_blockhash())
        return _sent(self.svm.send_transaction(tx), len(bytes(tx)))

    def simulate(self, ixs: Sequence[Instruction], *signers: Keypair) -> Sent:
        """What `send` would do, committing nothing."""
        self.svm.expire_blockhash()
        keys = _signers(self.payer, signers)
        tx = Transaction(keys, Message(list(ixs), self.payer.pubkey()), self.svm.latest_blockhash())
        result = self.svm.simulate_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            return _sent(result, len(bytes(tx)))
        meta = result.meta()
        return Sent(None, None, None, list(meta.logs()), meta.compute_units_consumed(), len(bytes(tx)))

    def lookup_table(self, addresses: Sequence[Pubkey]) -> AddressLookupTableAccount:
        """An address lookup table holding `addresses`, written straight into LiteSVM (its 56-byte
        meta: type 1, never deactivated, last extended at slot 0) and usable at once."""
        key = Keypair().pubkey()
        meta = struct.pack("<IQQBB32sH", 1, U64_MAX, 0, 0, 1, bytes(self.payer.pubkey()), 0)
        data = meta + b"".join(bytes(a) for a in addresses)
        self.svm.set_account(
            key, Account(self.svm.minimum_balance_for_rent_exemption(len(data)), data, LOOKUP_TABLE_PROGRAM_ID)
        )
        if self.svm.get_clock().slot < 2:
            self.svm.warp_to_slot(2)
        return AddressLookupTableAccount(key, list(addresses))

    def send_v0(self, ixs: Sequence[Instruction], tables: Sequence[AddressLookupTableAccount]) -> Sent:
        """`send` as a v0 transaction through lookup tables, `payer` its only signer."""
        self.svm.expire_blockhash()
        message = MessageV0.try_compile(self.payer.pubkey(), list(ixs), list(tables), self.svm.latest_blockhash())
        tx = VersionedTransaction(message, [self.payer])
        return _sent(self.svm.send_transaction(tx), len(bytes(tx)))

    # -- reading -------------------------------------------------------------------------------

    def account(self, address: Pubkey) -> Account | None:
        return self.svm.get_account(address)

    def decode(self, address: Pubkey) -> Any:
        account = self.svm.get_account(address)
        assert account is not None, f"no account at {address}"
        return self.trading.coder.accounts.decode(bytes(account.data))

    def state(self, epoch: EpochRef) -> str:
        return type(self.decode(epoch.address).state).__name__

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

    def token_accounts(self) -> list[Pubkey]:
        return [
            a
            for a in self.watched
            if (acc := self.svm.get_account(a)) is not None
            and acc.owner == TOKEN_PROGRAM_ID
            and len(acc.data) == TOKEN_ACCOUNT_LEN
        ]

    def balances(self) -> dict[Pubkey, int]:
        return {a: self.balance(a) for a in self.token_accounts()}

    def totals(self) -> dict[Pubkey, int]:
        """Each mint's total over every token account the test knows, vaults included."""
        totals: dict[Pubkey, int] = {}
        for address in self.token_accounts():
            data = bytes(self.svm.get_account(address).data)  # type: ignore[union-attr]
            mint = Pubkey(data[:32])
            totals[mint] = totals.get(mint, 0) + int(struct.unpack_from("<Q", data, 64)[0])
        return totals

    def snapshot(self, *extra: Pubkey) -> Snapshot:
        """Lamports, data and owner of every account the test knows (the payer's apart)."""
        out: Snapshot = {}
        for address in [*self.watched, *extra]:
            account = self.svm.get_account(address)
            out[address] = None if account is None else (account.lamports, bytes(account.data), account.owner)
        return out

    def refused(self, ixs: Sequence[Instruction], signers: Iterable[Keypair], code: int | None, *extra: Pubkey) -> Sent:
        """Sends what must be refused (with `code`, unless None: any refusal); asserts that it
        was and that no account changed."""
        before = self.snapshot(*extra)
        sent = self.send(ixs, *signers)
        assert not sent.ok, f"accepted: {sent.logs[-8:]}"
        if code is not None:
            assert sent.code == code, (sent.code, sent.logs[-8:])
        after = self.snapshot(*extra)
        changed = [str(a) for a in before if before[a] != after[a]]
        assert not changed, f"changed by a refused transaction: {changed}"
        return sent

    # -- markets, participants -----------------------------------------------------------------

    def market_ref(
        self, market_id: int, treasury: Pubkey, grid_mint: Pubkey | None = None, payment_mint: Pubkey | None = None
    ) -> MarketRef:
        grid_mint = grid_mint or self.grid_mint
        payment_mint = payment_mint or self.payment_mint
        address = self.pda(b"market", struct.pack("<Q", market_id))
        ref = MarketRef(
            market_id,
            address,
            grid_mint,
            payment_mint,
            self.pda(b"vault", bytes(address), bytes(grid_mint)),
            self.pda(b"vault", bytes(address), bytes(payment_mint)),
            treasury,
        )
        self.watch(address, ref.grid_vault, ref.payment_vault, treasury)
        return ref

    def another_market(self, market_id: int) -> MarketRef:
        """A second market of the same mints, its own treasury, the same operator."""
        ref = self.market_ref(market_id, self.new_token_account(self.payment_mint, Keypair().pubkey(), 0))
        sent = self.send([self.initialize_ix(market=ref)], self.authority)
        assert sent.ok, sent.logs
        return ref

    def terms(self, fee_bps: int | None = None) -> Market:
        """The market's rules as the engine holds them, at `fee_bps` (default: governance's now)."""
        return Market(
            lot=self.lot,
            tick=self.tick,
            fee_bps=self.fee_bps if fee_bps is None else fee_bps,
            fee_payer=self.fee_payer,
            fee_rounding=self.fee_rounding,
        )

    def participant_address(self, owner: Pubkey) -> Pubkey:
        return Pubkey.find_program_address([b"participant", bytes(owner)], REGISTRY_ID)[0]

    def trader(self, kind: str = "Prosumer", *, grid: int = 0, payment: int = 0) -> Trader:
        """A participant registered through the registry, with associated token accounts."""
        keypair = self.wallet()
        participant = self.participant_address(keypair.pubkey())
        registry = self.program["registry"]
        ix = registry.instruction["register_participant"](
            getattr(registry.type["ParticipantKind"], kind)(),
            ctx=Context(
                accounts={
                    "registry": REGISTRY,
                    "participant": participant,
                    "owner": keypair.pubkey(),
                    "authority": self.authority.pubkey(),
                    "system_program": SYSTEM_PROGRAM_ID,
                }
            ),
        )
        sent = self.send([ix], self.authority)
        assert sent.ok, sent.logs
        self.watch(participant, REGISTRY)
        grid_account = self.new_token_account(
            self.grid_mint, keypair.pubkey(), grid, associated_token_address(keypair.pubkey(), self.grid_mint)
        )
        payment_account = self.new_token_account(
            self.payment_mint, keypair.pubkey(), payment, associated_token_address(keypair.pubkey(), self.payment_mint)
        )
        trader = Trader(keypair, grid_account, payment_account, participant)
        self.traders.append(trader)
        return trader

    def suspend(self, trader: Trader) -> None:
        """Suspends the participant through the registry's own instruction."""
        accounts = {"registry": REGISTRY, "participant": trader.participant, "authority": self.authority.pubkey()}
        ix = self.program["registry"].instruction["suspend_participant"](ctx=Context(accounts=accounts))
        sent = self.send([ix], self.authority)
        assert sent.ok, sent.logs

    def close_token_account(self, account: Pubkey, owner: Keypair) -> None:
        """SPL CloseAccount (the balance must be zero): its rent to the owner."""
        params = token_ix.CloseAccountParams(TOKEN_PROGRAM_ID, account, owner.pubkey(), owner.pubkey())
        sent = self.send([token_ix.close_account(params)], owner)
        assert sent.ok, sent.logs
        assert self.closed(account)

    def freeze_token_account(self, account: Pubkey) -> None:
        """SPL FreezeAccount by the payment mint's freeze authority."""
        params = token_ix.FreezeAccountParams(TOKEN_PROGRAM_ID, account, self.payment_mint, self.freezer.pubkey())
        sent = self.send([token_ix.freeze_account(params)], self.freezer)
        assert sent.ok, sent.logs

    def fund(self, address: Pubkey, lamports: int) -> None:
        """A System transfer to `address` (a pre-funded or revived account)."""
        params = TransferParams(from_pubkey=self.payer.pubkey(), to_pubkey=address, lamports=lamports)
        sent = self.send([transfer(params)])
        assert sent.ok, sent.logs

    # -- instructions ----------------------------------------------------------------------------

    def ix(
        self,
        name: str,
        *args: Any,
        accounts: dict[str, Pubkey],
        overrides: dict[str, Pubkey],
        remaining: Sequence[AccountMeta] = (),
    ) -> Instruction:
        """Instruction `name` of the IDL with `accounts`, any of them swapped by `overrides`."""
        unknown = set(overrides) - set(accounts)
        assert not unknown, f"{name} has no account {unknown}"
        ctx = Context(accounts={**accounts, **overrides}, remaining_accounts=list(remaining))
        return self.trading.instruction[name](*args, ctx=ctx)

    def enum(self, name: str, variant: str) -> Any:
        return getattr(self.trading.type[name], variant)()

    def initialize_ix(
        self,
        market: MarketRef | None = None,
        *,
        operator: Pubkey | None = None,
        lot: int | None = None,
        tick: int | None = None,
        epoch_seconds: int | None = None,
        settle_deadline: int | None = None,
        market_id: int | None = None,
        authority: Pubkey | None = None,
        **overrides: Pubkey,
    ) -> Instruction:
        m = market or self.market
        rounding = {"half_even": "HalfEven"}.get(self.fee_rounding, self.fee_rounding.capitalize())
        args = (
            m.market_id if market_id is None else market_id,
            operator or self.operator.pubkey(),
            self.lot if lot is None else lot,
            self.tick if tick is None else tick,
            self.enum("FeePayer", self.fee_payer.capitalize()),
            self.enum("Rounding", rounding),
            self.epoch_seconds if epoch_seconds is None else epoch_seconds,
            self.settle_deadline if settle_deadline is None else settle_deadline,
        )
        accounts = {
            "market": m.address,
            "grid_mint": m.grid_mint,
            "payment_mint": m.payment_mint,
            "grid_vault": m.grid_vault,
            "payment_vault": m.payment_vault,
            "treasury": m.treasury,
            "governance": GOVERNANCE_CONFIG,
            "authority": authority or self.authority.pubkey(),
            "system_program": SYSTEM_PROGRAM_ID,
            "token_program": TOKEN_PROGRAM_ID,
        }
        return self.ix("initialize_market", *args, accounts=accounts, overrides=overrides)

    def update_market_ix(
        self,
        *,
        operator: Pubkey,
        treasury: Pubkey,
        epoch_seconds: int | None = None,
        settle_deadline: int | None = None,
        market: MarketRef | None = None,
        authority: Pubkey | None = None,
        **overrides: Pubkey,
    ) -> Instruction:
        accounts = {
            "market": (market or self.market).address,
            "treasury": treasury,
            "governance": GOVERNANCE_CONFIG,
            "authority": authority or self.authority.pubkey(),
        }
        args = (
            operator,
            self.epoch_seconds if epoch_seconds is None else epoch_seconds,
            self.settle_deadline if settle_deadline is None else settle_deadline,
        )
        return self.ix("update_market", *args, accounts=accounts, overrides=overrides)

    def epoch(self, epoch_id: int, market: MarketRef | None = None) -> EpochRef:
        market = market or self.market
        address = self.pda(b"epoch", bytes(market.address), struct.pack("<Q", epoch_id))
        self.watch(address)
        return EpochRef(market, epoch_id, address)

    def open_epoch_ix(self, epoch: EpochRef, operator: Pubkey | None = None, **overrides: Pubkey) -> Instruction:
        accounts = {
            "market": epoch.market.address,
            "epoch": epoch.address,
            "governance": GOVERNANCE_CONFIG,
            "operator": operator or self.operator.pubkey(),
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return self.ix("open_epoch", epoch.epoch_id, accounts=accounts, overrides=overrides)

    def open_epoch(self, epoch_id: int = 1, market: MarketRef | None = None) -> EpochRef:
        epoch = self.epoch(epoch_id, market)
        sent = self.send([self.open_epoch_ix(epoch)], self.operator)
        assert sent.ok, sent.logs
        self.last = sent
        return epoch

    def order_address(self, epoch: EpochRef, owner: Pubkey, order_id: int) -> Pubkey:
        return self.pda(b"order", bytes(epoch.address), bytes(owner), struct.pack("<Q", order_id))

    def place_ix(
        self, trader: Trader, epoch: EpochRef, order_id: int, side: str, price: int, qty: int, **overrides: Pubkey
    ) -> Instruction:
        m = epoch.market
        accounts = {
            "market": m.address,
            "epoch": epoch.address,
            "order": self.order_address(epoch, trader.key, order_id),
            "participant": trader.participant,
            "governance": GOVERNANCE_CONFIG,
            "owner": trader.key,
            "grid_account": trader.grid,
            "payment_account": trader.payment,
            "grid_vault": m.grid_vault,
            "payment_vault": m.payment_vault,
            "grid_mint": m.grid_mint,
            "payment_mint": m.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        side_arg = self.enum("Side", side.capitalize())
        return self.ix("place_order", order_id, side_arg, price, qty, accounts=accounts, overrides=overrides)

    def place(self, trader: Trader, epoch: EpochRef, order_id: int, side: str, price: int, qty: int) -> Placed:
        """Places an order; `Placed` holds what the client says it escrows at the epoch's fee."""
        sent = self.send([self.place_ix(trader, epoch, order_id, side, price, qty)], trader.keypair)
        assert sent.ok, sent.logs
        self.last = sent
        address = self.order_address(epoch, trader.key, order_id)
        self.watch(address)
        fee_bps = self.decode(epoch.address).fee_bps
        grid, payment = escrow(self.terms(fee_bps), side_sign(side), price, qty)
        return Placed(address, epoch, order_id, trader, side, price, qty, grid, payment)

    def _release_accounts(self, order: Placed, grid: Pubkey, payment: Pubkey) -> dict[str, Pubkey]:
        m = order.epoch.market
        return {
            "market": m.address,
            "epoch": order.epoch.address,
            "order": order.address,
            "owner": order.trader.key,
            "grid_destination": grid,
            "payment_destination": payment,
            "grid_vault": m.grid_vault,
            "payment_vault": m.payment_vault,
            "grid_mint": m.grid_mint,
            "payment_mint": m.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
        }

    def cancel_ix(self, order: Placed, **overrides: Pubkey) -> Instruction:
        accounts = self._release_accounts(order, order.trader.grid, order.trader.payment)
        return self.ix("cancel_order", accounts=accounts, overrides=overrides)

    def claim_ix(self, order: Placed, *, signed: bool = False, **overrides: Pubkey) -> Instruction:
        """The claim to the recorded accounts; `signed`: the owner signs (to redirect it)."""
        accounts = self._release_accounts(order, order.trader.grid, order.trader.payment)
        ix = self.ix("claim", accounts=accounts, overrides=overrides)
        return with_signer(ix, overrides.get("owner", order.trader.key)) if signed else ix

    def claim(self, order: Placed, *, signer: Keypair | None = None, **overrides: Pubkey) -> Sent:
        ix = self.claim_ix(order, signed=signer is not None, **overrides)
        sent = self.send([ix], *([signer] if signer else []))
        assert sent.ok, sent.logs
        self.last = sent
        return sent

    def close_epoch_ix(self, epoch: EpochRef, operator: Pubkey | None = None, **overrides: Pubkey) -> Instruction:
        accounts = {
            "market": epoch.market.address,
            "epoch": epoch.address,
            "operator": operator or self.operator.pubkey(),
        }
        return self.ix("close_epoch", accounts=accounts, overrides=overrides)

    def post_ix(
        self,
        epoch: EpochRef,
        price: int,
        volume: int,
        count: int,
        head: bytes,
        operator: Pubkey | None = None,
        **overrides: Pubkey,
    ) -> Instruction:
        accounts = {
            "market": epoch.market.address,
            "epoch": epoch.address,
            "operator": operator or self.operator.pubkey(),
            "governance": GOVERNANCE_CONFIG,
        }
        return self.ix("post_result", price, volume, count, list(head), accounts=accounts, overrides=overrides)

    def credit_ix(
        self, epoch: EpochRef, results: Sequence[tuple[Pubkey, int]], next_hash: bytes, **overrides: Pubkey
    ) -> Instruction:
        accounts = {"market": epoch.market.address, "epoch": epoch.address, "governance": GOVERNANCE_CONFIG}
        remaining = [AccountMeta(address, False, True) for address, _ in results]
        filled = [f for _, f in results]
        return self.ix(
            "credit_orders", filled, list(next_hash), accounts=accounts, overrides=overrides, remaining=remaining
        )

    def abandon_ix(self, epoch: EpochRef, caller: Pubkey, **overrides: Pubkey) -> Instruction:
        accounts = {
            "market": epoch.market.address,
            "epoch": epoch.address,
            "governance": GOVERNANCE_CONFIG,
            "caller": caller,
        }
        return self.ix("abandon_epoch", accounts=accounts, overrides=overrides)

    def withdraw_fees_ix(self, market: MarketRef | None = None, **overrides: Pubkey) -> Instruction:
        m = market or self.market
        accounts = {
            "market": m.address,
            "payment_vault": m.payment_vault,
            "treasury": m.treasury,
            "payment_mint": m.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
        }
        return self.ix("withdraw_fees", accounts=accounts, overrides=overrides)

    # -- an epoch's life -------------------------------------------------------------------------

    def close(self, epoch: EpochRef) -> Sent:
        sent = self.send([self.close_epoch_ix(epoch)], self.operator)
        assert sent.ok, sent.logs
        return sent

    def post(self, epoch: EpochRef, results: Results, price: int, volume: int | None = None) -> list[bytes]:
        """Posts `results` (closing the epoch first if it is open); returns the chain's heads.
        `volume` defaults to what the buys filled."""
        if self.state(epoch) == "Open":
            self.close(epoch)
        heads = result_heads(addresses(results))
        if volume is None:
            volume = sum(f for order, f in results if order.side == "buy")
        sent = self.send([self.post_ix(epoch, price, volume, len(results), heads[0])], self.operator)
        assert sent.ok, sent.logs
        self.last = sent
        return heads

    def credit(self, epoch: EpochRef, results: Results, heads: Sequence[bytes], start: int, end: int) -> Sent:
        ix = self.credit_ix(epoch, addresses(results[start:end]), heads[end])
        sent = self.send([ix], units=MAX_UNITS)
        assert sent.ok, sent.logs
        self.last = sent
        return sent

    def settle(self, epoch: EpochRef, results: Results, price: int, batch: int = 8) -> list[bytes]:
        """Closes, posts and credits `results` whole, in batches of `batch` (a result without
        fills is final when posted)."""
        heads = self.post(epoch, results, price)
        for start in range(0, len(results), batch):
            self.credit(epoch, results, heads, start, min(len(results), start + batch))
        return heads

    def abandon(self, epoch: EpochRef, caller: Keypair | None = None) -> Sent:
        caller = caller or self.authority
        sent = self.send([self.abandon_ix(epoch, caller.pubkey())], caller)
        assert sent.ok, sent.logs
        self.last = sent
        return sent

    def withdraw_fees(self, market: MarketRef | None = None) -> Sent:
        sent = self.send([self.withdraw_fees_ix(market)])
        assert sent.ok, sent.logs
        self.last = sent
        return sent

    # -- what the engine's arithmetic says -------------------------------------------------------

    def dues(self, order: Placed, filled: int, price: int) -> tuple[int, int, int]:
        """(grid_due, payment_due, fee) of `order` filled `filled` lots at `price` ticks: core's
        `money::split` of its own notional at its epoch's fee."""
        terms = self.terms(self.epoch_fee(order.epoch))
        buyer_pays, seller_receives, buyer_fee, seller_fee = terms.split(terms.notional(filled, price))
        if order.side == "buy":
            return filled * self.lot, order.payment_escrow - buyer_pays, buyer_fee
        return order.grid_escrow - filled * self.lot, order.payment_escrow + seller_receives, seller_fee

    def epoch_fee(self, epoch: EpochRef) -> int:
        return int(self.decode(epoch.address).fee_bps)


def with_signer(ix: Instruction, who: Pubkey) -> Instruction:
    """`ix` with `who` marked a signer."""
    metas = [AccountMeta(m.pubkey, True, m.is_writable) if m.pubkey == who else m for m in ix.accounts]
    return Instruction(ix.program_id, ix.data, metas)


def without_signer(ix: Instruction, who: Pubkey) -> Instruction:
    """`ix` with `who` passed as an account that did not sign."""
    metas = [AccountMeta(m.pubkey, False, m.is_writable) if m.pubkey == who else m for m in ix.accounts]
    return Instruction(ix.program_id, ix.data, metas)


def account_index(chain: Chain, name: str, account: str) -> int:
    """The position of `account` (snake_case) among instruction `name`'s accounts in the IDL."""
    idl = chain.trading.idl
    (ix,) = [i for i in idl.instructions if snake(i.name) == name]
    return [snake(a.name) for a in ix.accounts].index(account)
