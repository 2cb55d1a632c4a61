"""The trading program (programs/trading) in LiteSVM, driven with anchorpy from its legacy IDL.

Every instruction runs; every authorisation rule is refused *and changes no balance* (wrong
signer, wrong account, suspended participant, paused market, replayed or forged fills, fills
through a limit, at another price, or over an order's remainder); each mint's total over the
vaults and every token account stays constant through placing, cancelling, settling and
refunding; and random order sets, cleared off chain by the engine (`gridmatch.clear`) and settled
on chain in batches, leave every balance where the engine's own fee arithmetic
(`Market.split`) says, to the base unit.

The registry program is loaded for real (participants are registered through it); the governance
config is written straight into LiteSVM with the shared contract's bytes, so that the pause is
tested without depending on the governance program's build.
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
from anchorpy.error import ProgramError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solana.rpc.async_api import AsyncClient
from solders.account import Account
from solders.address_lookup_table_account import ID as LOOKUP_TABLE_PROGRAM_ID
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

import gridmatch as gm
from gridmatch.chain.spl import TOKEN_PROGRAM_ID, associated_token_address
from gridmatch.chain.trading import escrow
from gridmatch.market import Market

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
DEPLOY = PROGRAMS / "target" / "deploy"
IDL_JSON = PROGRAMS / "trading" / "idl.json"
REGISTRY_IDL_JSON = PROGRAMS / "registry" / "idl.json"
BUILD_COMMAND = "make programs   (that is: scripts/build-programs.sh)"

GOVERNANCE_ID = Pubkey.from_string("3sp7yVqsdnh4urn8WFLurR2uAkzzWygeGuBHaD88HN4m")
GOVERNANCE_CONFIG = Pubkey.find_program_address([b"governance"], GOVERNANCE_ID)[0]
MAX_TX_BYTES = 1232
MAX_TX_ACCOUNTS = 64
MAX_UNITS = 1_400_000
ZERO_HASH = bytes(32)
FEE_PAYERS = ("buyer", "seller", "split")
ROUNDINGS = ("down", "up", "half_even")


def _program_bytes(name: str, crates: Sequence[str]) -> bytes:
    """The built program, refusing a missing or stale one with the command that builds it."""
    so = DEPLOY / f"{name}.so"
    if not so.exists():
        pytest.fail(f"{so.relative_to(ROOT)} is missing: build it with `{BUILD_COMMAND}`", pytrace=False)
    sources = [PROGRAMS / ".cargo" / "config.toml", *(ROOT / "core" / "src").glob("**/*.rs")]
    for crate in crates:
        sources += [*(PROGRAMS / crate).glob("src/**/*.rs"), PROGRAMS / crate / "Cargo.toml"]
    newer = [p for p in sources if p.stat().st_mtime > so.stat().st_mtime]
    if newer:
        names = ", ".join(str(p.relative_to(ROOT)) for p in newer[:3])
        pytest.fail(f"{so.relative_to(ROOT)} is older than {names}: rebuild with `{BUILD_COMMAND}`", pytrace=False)
    return so.read_bytes()


_BYTES: dict[str, bytes] = {}


def _cached(name: str, crates: Sequence[str]) -> bytes:
    if name not in _BYTES:
        _BYTES[name] = _program_bytes(name, crates)
    return _BYTES[name]


def _sighash(namespace: str, name: str) -> bytes:
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --- raw account bytes -------------------------------------------------------------------------


def mint_data(decimals: int) -> bytes:
    """An SPL mint (82 bytes) without a mint authority: balances are written directly."""
    return struct.pack("<I32sQBB", 0, bytes(32), 0, decimals, 1) + bytes(36)


def token_account_data(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    """An initialised SPL token account (165 bytes) holding `amount`."""
    return bytes(mint) + bytes(owner) + struct.pack("<Q", amount) + bytes(36) + b"\x01" + bytes(12 + 8 + 36)


def governance_data(authority: Pubkey, *, paused: bool, fee_bps: int = 0) -> bytes:
    """The shared contract's `GovernanceConfig` (140 bytes)."""
    bump = Pubkey.find_program_address([b"governance"], GOVERNANCE_ID)[1]
    return (
        _sighash("account", "GovernanceConfig")
        + bytes(authority)
        + bytes(96)
        + struct.pack("<BHB", paused, fee_bps, bump)
    )


# --- the fills' hash chain ---------------------------------------------------------------------


def fill_record(buy_id: int, sell_id: int, qty: int, price: int) -> bytes:
    return struct.pack("<QQQq", buy_id, sell_id, qty, price)


def chain_heads(records: Sequence[bytes]) -> list[bytes]:
    """`heads[i]` is the head of the chain from fill i on: `heads[n]` is all zeroes,
    `heads[i] = sha256(records[i] || heads[i + 1])`; `heads[0]` is what the operator posts."""
    heads = [ZERO_HASH]
    for record in reversed(records):
        heads.append(hashlib.sha256(record + heads[-1]).digest())
    heads.reverse()
    return heads


# --- the chain ---------------------------------------------------------------------------------


@dataclass
class Sent:
    """What a transaction did: its error (None on success), Anchor error code, logs and units."""

    err: Any
    code: int | None
    logs: list[str]
    units: int
    size: int = 0

    @property
    def ok(self) -> bool:
        return self.err is None


@dataclass
class Trader:
    keypair: Keypair
    grid: Pubkey
    payment: Pubkey
    participant: Pubkey

    @property
    def key(self) -> Pubkey:
        return self.keypair.pubkey()


@dataclass
class Placed:
    """An order on chain: its address and what it was placed with."""

    address: Pubkey
    order_id: int
    trader: Trader
    side: str
    price: int
    qty: int


@dataclass
class FillRef:
    """A fill as settlement takes it: both orders, the quantity and price."""

    bid: Placed
    ask: Placed
    qty: int
    price: int

    @property
    def record(self) -> bytes:
        return fill_record(self.bid.order_id, self.ask.order_id, self.qty, self.price)


@dataclass
class Chain:
    """LiteSVM with the registry and trading programs, two mints, a registry with its authority,
    the governance config, and one initialised market."""

    lot: int = 10**6
    tick: int = 100
    fee_bps: int = 100
    fee_payer: str = "buyer"
    fee_rounding: str = "up"
    grid_decimals: int = 9
    payment_decimals: int = 6
    market_id: int = 1
    paused: bool = False
    initialize: bool = True
    traders: list[Trader] = field(default_factory=list)

    def __post_init__(self) -> None:
        raw = json.loads(IDL_JSON.read_text())
        self.idl = Idl.from_json(IDL_JSON.read_text())
        self.program_id = Pubkey.from_string(raw["metadata"]["address"])
        registry_raw = json.loads(REGISTRY_IDL_JSON.read_text())
        self.registry_id = Pubkey.from_string(registry_raw["metadata"]["address"])
        self.svm = LiteSVM()
        self.svm.add_program(self.program_id, _cached("trading", ("trading", "support")))
        self.svm.add_program(self.registry_id, _cached("registry", ("registry", "support")))
        self.authority = Keypair()
        self.operator = Keypair()
        for keypair in (self.authority, self.operator):
            self.svm.airdrop(keypair.pubkey(), 1_000 * 10**9)
        provider = Provider(AsyncClient("http://127.0.0.1:9"), Wallet(self.authority))
        self.program = Program(self.idl, self.program_id, provider)
        self.registry = Program(Idl.from_json(REGISTRY_IDL_JSON.read_text()), self.registry_id, provider)
        self.idl_errors = {e.code: e.msg for e in self.idl.errors or []}
        self.rent_token = self.svm.minimum_balance_for_rent_exemption(165)

        self.grid_mint = self.new_mint(self.grid_decimals)
        self.payment_mint = self.new_mint(self.payment_decimals)
        self.treasury_owner = Keypair().pubkey()
        self.treasury = self.new_token_account(self.payment_mint, self.treasury_owner, 0)
        self.set_paused(self.paused)
        registry_pda = Pubkey.find_program_address([b"registry"], self.registry_id)[0]
        self.registry_account = registry_pda
        ix = self.registry.instruction["initialize"](
            ctx=Context(
                accounts={
                    "registry": registry_pda,
                    "authority": self.authority.pubkey(),
                    "system_program": SYSTEM_PROGRAM_ID,
                }
            )
        )
        assert self.send([ix], [self.authority]).ok

        self.market = self.pda(b"market", struct.pack("<Q", self.market_id))
        self.grid_vault = self.pda(b"vault", bytes(self.market), bytes(self.grid_mint))
        self.payment_vault = self.pda(b"vault", bytes(self.market), bytes(self.payment_mint))
        self.token_accounts: list[Pubkey] = [self.grid_vault, self.payment_vault, self.treasury]
        if self.initialize:
            sent = self.send([self.initialize_ix()], [self.authority])
            assert sent.ok, sent.logs
            self.initialize_units = sent.units

    # -- plumbing ------------------------------------------------------------------------------

    def pda(self, *seeds: bytes) -> Pubkey:
        return Pubkey.find_program_address(list(seeds), self.program_id)[0]

    def new_mint(self, decimals: int) -> Pubkey:
        mint = Keypair().pubkey()
        rent = self.svm.minimum_balance_for_rent_exemption(82)
        self.svm.set_account(mint, Account(rent, mint_data(decimals), TOKEN_PROGRAM_ID))
        return mint

    def new_token_account(self, mint: Pubkey, owner: Pubkey, amount: int, address: Pubkey | None = None) -> Pubkey:
        address = address or Keypair().pubkey()
        self.svm.set_account(
            address, Account(self.rent_token, token_account_data(mint, owner, amount), TOKEN_PROGRAM_ID)
        )
        return address

    def set_paused(self, paused: bool) -> None:
        rent = self.svm.minimum_balance_for_rent_exemption(140)
        data = governance_data(self.authority.pubkey(), paused=paused)
        self.svm.set_account(GOVERNANCE_CONFIG, Account(rent, data, GOVERNANCE_ID))

    def send(
        self,
        ixs: Sequence[Instruction],
        signers: Sequence[Keypair],
        *,
        units: int | None = None,
    ) -> Sent:
        """Sends `ixs` signed by `signers` (the first pays the fee), with a fresh blockhash so
        that a deliberate repeat is not refused as already processed."""
        self.svm.expire_blockhash()
        if units is not None:
            ixs = [set_compute_unit_limit(units), *ixs]
        tx = Transaction(list(signers), Message(list(ixs), signers[0].pubkey()), self.svm.latest_blockhash())
        size = len(bytes(tx))
        result = self.svm.send_transaction(tx)
        if isinstance(result, TransactionMetadata):
            return Sent(None, None, list(result.logs()), result.compute_units_consumed(), size)
        assert isinstance(result, FailedTransactionMetadata)
        meta = result.meta()
        logs = list(meta.logs())
        parsed = ProgramError.parse_tx_error(result.err(), self.idl_errors, self.program_id, logs)
        return Sent(result.err(), parsed.code if parsed else None, logs, meta.compute_units_consumed(), size)

    def lookup_table(self, addresses: Sequence[Pubkey]) -> AddressLookupTableAccount:
        """An address lookup table holding `addresses`, written straight into LiteSVM (its
        56-byte meta: type 1, never deactivated, last extended at slot 0, then the addresses)
        and usable at once (the chain is moved past slot 0)."""
        key = Keypair().pubkey()
        meta = struct.pack("<IQQBB32sH", 1, 2**64 - 1, 0, 0, 1, bytes(self.authority.pubkey()), 0)
        data = meta + b"".join(bytes(a) for a in addresses)
        rent = self.svm.minimum_balance_for_rent_exemption(len(data))
        self.svm.set_account(key, Account(rent, data, LOOKUP_TABLE_PROGRAM_ID))
        if self.svm.get_clock().slot < 2:
            self.svm.warp_to_slot(2)
        return AddressLookupTableAccount(key, list(addresses))

    def send_v0(self, ixs: Sequence[Instruction], signer: Keypair, tables: Sequence[AddressLookupTableAccount]) -> Sent:
        """`send` as a v0 transaction through lookup tables (one signer, the fee payer)."""
        self.svm.expire_blockhash()
        message = MessageV0.try_compile(signer.pubkey(), list(ixs), list(tables), self.svm.latest_blockhash())
        tx = VersionedTransaction(message, [signer])
        result = self.svm.send_transaction(tx)
        if isinstance(result, TransactionMetadata):
            return Sent(None, None, list(result.logs()), result.compute_units_consumed(), len(bytes(tx)))
        meta = result.meta()
        logs = list(meta.logs())
        parsed = ProgramError.parse_tx_error(result.err(), self.idl_errors, self.program_id, logs)
        return Sent(result.err(), parsed.code if parsed else None, logs, meta.compute_units_consumed(), len(bytes(tx)))

    def ix(
        self, name: str, *args: Any, accounts: dict[str, Pubkey], remaining: Sequence[AccountMeta] = ()
    ) -> Instruction:
        ctx = Context(accounts=accounts, remaining_accounts=list(remaining))
        return self.program.instruction[name](*args, ctx=ctx)

    def enum(self, name: str, variant: str) -> Any:
        return getattr(self.program.type[name], variant)()

    def decode(self, address: Pubkey) -> Any:
        account = self.svm.get_account(address)
        assert account is not None, f"no account at {address}"
        return self.program.coder.accounts.decode(bytes(account.data))

    def closed(self, address: Pubkey) -> bool:
        """No account at `address` (LiteSVM keeps a closed one as an empty System account)."""
        account = self.svm.get_account(address)
        return account is None or (
            account.lamports == 0 and not bytes(account.data) and account.owner == SYSTEM_PROGRAM_ID
        )

    def balance(self, address: Pubkey) -> int:
        account = self.svm.get_account(address)
        return 0 if account is None else struct.unpack_from("<Q", bytes(account.data), 64)[0]

    def balances(self) -> dict[Pubkey, int]:
        return {a: self.balance(a) for a in self.token_accounts}

    def totals(self) -> tuple[int, int]:
        """Each mint's total over every token account the test knows (vaults included)."""
        grid = payment = 0
        for address in self.token_accounts:
            account = self.svm.get_account(address)
            if account is None:
                continue
            mint = Pubkey(bytes(account.data)[:32])
            amount = struct.unpack_from("<Q", bytes(account.data), 64)[0]
            if mint == self.grid_mint:
                grid += amount
            elif mint == self.payment_mint:
                payment += amount
        return grid, payment

    def snapshot(self, *extra: Pubkey) -> dict[Pubkey, tuple[int, bytes, Pubkey] | None]:
        """Lamports, data and owner of every account the test knows (but the fee payers')."""
        out: dict[Pubkey, tuple[int, bytes, Pubkey] | None] = {}
        for address in [self.market, *self.token_accounts, *(t.participant for t in self.traders), *extra]:
            account = self.svm.get_account(address)
            out[address] = None if account is None else (account.lamports, bytes(account.data), account.owner)
        return out

    def refused(self, ixs: Sequence[Instruction], signers: Sequence[Keypair], code: int, *watch: Pubkey) -> Sent:
        """Sends what must be refused with `code`; asserts it was and that nothing changed."""
        before = self.snapshot(*watch)
        totals = self.totals()
        sent = self.send(ixs, signers)
        assert sent.err is not None, f"accepted: {sent.logs}"
        assert sent.code == code, (sent.code, sent.logs[-6:])
        assert self.snapshot(*watch) == before
        assert self.totals() == totals
        return sent

    # -- participants ----------------------------------------------------------------------------

    def participant_address(self, owner: Pubkey) -> Pubkey:
        return Pubkey.find_program_address([b"participant", bytes(owner)], self.registry_id)[0]

    def trader(self, kind: str = "Prosumer", *, grid: int = 0, payment: int = 0) -> Trader:
        """A registered participant with associated token accounts holding `grid` and `payment`."""
        keypair = Keypair()
        self.svm.airdrop(keypair.pubkey(), 10 * 10**9)
        participant = self.participant_address(keypair.pubkey())
        ix = self.registry.instruction["register_participant"](
            getattr(self.registry.type["ParticipantKind"], kind)(),
            ctx=Context(
                accounts={
                    "registry": self.registry_account,
                    "participant": participant,
                    "owner": keypair.pubkey(),
                    "authority": self.authority.pubkey(),
                    "system_program": SYSTEM_PROGRAM_ID,
                }
            ),
        )
        sent = self.send([ix], [self.authority])
        assert sent.ok, sent.logs
        grid_account = associated_token_address(keypair.pubkey(), self.grid_mint)
        payment_account = associated_token_address(keypair.pubkey(), self.payment_mint)
        self.new_token_account(self.grid_mint, keypair.pubkey(), grid, grid_account)
        self.new_token_account(self.payment_mint, keypair.pubkey(), payment, payment_account)
        self.token_accounts += [grid_account, payment_account]
        trader = Trader(keypair, grid_account, payment_account, participant)
        self.traders.append(trader)
        return trader

    def suspend(self, trader: Trader) -> None:
        """Suspends the participant through the registry's own instruction."""
        accounts = {
            "registry": self.registry_account,
            "participant": trader.participant,
            "authority": self.authority.pubkey(),
        }
        sent = self.send(
            [self.registry.instruction["suspend_participant"](ctx=Context(accounts=accounts))], [self.authority]
        )
        assert sent.ok, sent.logs

    # -- instructions ----------------------------------------------------------------------------

    def initialize_ix(self, **overrides: Any) -> Instruction:
        args = {
            "market_id": self.market_id,
            "operator": self.operator.pubkey(),
            "lot": self.lot,
            "tick": self.tick,
            "fee_bps": self.fee_bps,
            "fee_payer": self.enum("FeePayer", self.fee_payer.capitalize()),
            "fee_rounding": self.enum(
                "Rounding", {"half_even": "HalfEven"}.get(self.fee_rounding, self.fee_rounding.capitalize())
            ),
            "epoch_seconds": 900,
        }
        accounts = {
            "market": self.market,
            "grid_mint": self.grid_mint,
            "payment_mint": self.payment_mint,
            "grid_vault": self.grid_vault,
            "payment_vault": self.payment_vault,
            "treasury": self.treasury,
            "authority": self.authority.pubkey(),
            "system_program": SYSTEM_PROGRAM_ID,
            "token_program": TOKEN_PROGRAM_ID,
        }
        for name, value in overrides.items():
            (accounts if name in accounts else args)[name] = value
        return self.ix("initialize_market", *args.values(), accounts=accounts)

    def epoch_address(self, epoch_id: int, market: Pubkey | None = None) -> Pubkey:
        return self.pda(b"epoch", bytes(market or self.market), struct.pack("<Q", epoch_id))

    def open_epoch_ix(self, epoch_id: int, operator: Pubkey | None = None) -> Instruction:
        accounts = {
            "market": self.market,
            "epoch": self.epoch_address(epoch_id),
            "operator": operator or self.operator.pubkey(),
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return self.ix("open_epoch", epoch_id, accounts=accounts)

    def open_epoch(self, epoch_id: int = 202601010000) -> Pubkey:
        sent = self.send([self.open_epoch_ix(epoch_id)], [self.operator])
        assert sent.ok, sent.logs
        return self.epoch_address(epoch_id)

    def order_address(self, epoch: Pubkey, order_id: int) -> Pubkey:
        return self.pda(b"order", bytes(epoch), struct.pack("<Q", order_id))

    def place_ix(
        self, trader: Trader, epoch: Pubkey, order_id: int, side: str, price: int, qty: int, **overrides: Pubkey
    ) -> Instruction:
        accounts = {
            "market": self.market,
            "epoch": epoch,
            "order": self.order_address(epoch, order_id),
            "participant": trader.participant,
            "governance": GOVERNANCE_CONFIG,
            "owner": trader.key,
            "grid_account": trader.grid,
            "payment_account": trader.payment,
            "grid_vault": self.grid_vault,
            "payment_vault": self.payment_vault,
            "grid_mint": self.grid_mint,
            "payment_mint": self.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        accounts.update(overrides)
        return self.ix("place_order", order_id, self.enum("Side", side.capitalize()), price, qty, accounts=accounts)

    def place(self, trader: Trader, epoch: Pubkey, order_id: int, side: str, price: int, qty: int) -> Placed:
        sent = self.send([self.place_ix(trader, epoch, order_id, side, price, qty)], [trader.keypair])
        assert sent.ok, sent.logs
        self.last_units = sent.units
        return Placed(self.order_address(epoch, order_id), order_id, trader, side, price, qty)

    def release_accounts(self, epoch: Pubkey, order: Placed, **overrides: Pubkey) -> dict[str, Pubkey]:
        accounts = {
            "market": self.market,
            "epoch": epoch,
            "order": order.address,
            "owner": order.trader.key,
            "grid_account": order.trader.grid,
            "payment_account": order.trader.payment,
            "grid_vault": self.grid_vault,
            "payment_vault": self.payment_vault,
            "grid_mint": self.grid_mint,
            "payment_mint": self.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
        }
        accounts.update(overrides)
        return accounts

    def cancel_ix(self, epoch: Pubkey, order: Placed, **overrides: Pubkey) -> Instruction:
        return self.ix("cancel_order", accounts=self.release_accounts(epoch, order, **overrides))

    def refund_ix(self, epoch: Pubkey, order: Placed, **overrides: Pubkey) -> Instruction:
        return self.ix("refund_order", accounts=self.release_accounts(epoch, order, **overrides))

    def close_epoch_ix(self, epoch: Pubkey, operator: Pubkey | None = None) -> Instruction:
        accounts = {"market": self.market, "epoch": epoch, "operator": operator or self.operator.pubkey()}
        return self.ix("close_epoch", accounts=accounts)

    def post_ix(
        self, epoch: Pubkey, price: int, volume: int, count: int, head: bytes, **overrides: Pubkey
    ) -> Instruction:
        accounts = {
            "market": self.market,
            "epoch": epoch,
            "operator": self.operator.pubkey(),
            "governance": GOVERNANCE_CONFIG,
        }
        accounts.update(overrides)
        return self.ix("post_result", price, volume, count, list(head), accounts=accounts)

    def post(self, epoch: Pubkey, fills: Sequence[FillRef], price: int | None = None) -> list[bytes]:
        """Closes `epoch` and posts `fills` as its result; returns the chain's heads."""
        heads = chain_heads([f.record for f in fills])
        if price is None:
            price = fills[0].price if fills else 0
        volume = sum(f.qty for f in fills)
        sent = self.send(
            [self.close_epoch_ix(epoch), self.post_ix(epoch, price, volume, len(fills), heads[0])], [self.operator]
        )
        assert sent.ok, sent.logs
        return heads

    def settle_ix(
        self,
        epoch: Pubkey,
        start: int,
        fills: Sequence[FillRef],
        next_hash: bytes,
        operator: Pubkey | None = None,
        **overrides: Pubkey,
    ) -> Instruction:
        accounts = {
            "market": self.market,
            "epoch": epoch,
            "operator": operator or self.operator.pubkey(),
            "governance": GOVERNANCE_CONFIG,
            "grid_vault": self.grid_vault,
            "payment_vault": self.payment_vault,
            "treasury": self.treasury,
            "grid_mint": self.grid_mint,
            "payment_mint": self.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
        }
        accounts.update(overrides)
        remaining = []
        for f in fills:
            payee = f.ask.trader.payment if f.price >= 0 else f.bid.trader.payment
            remaining += [
                AccountMeta(f.bid.address, False, True),
                AccountMeta(f.ask.address, False, True),
                AccountMeta(f.bid.trader.grid, False, True),
                AccountMeta(payee, False, True),
            ]
        args = [self.program.type["Fill"](qty=f.qty, price=f.price) for f in fills]
        return self.ix("settle_fills", start, args, list(next_hash), accounts=accounts, remaining=remaining)

    def settle(self, epoch: Pubkey, fills: Sequence[FillRef], heads: Sequence[bytes], start: int, end: int) -> Sent:
        ix = self.settle_ix(epoch, start, fills[start:end], heads[end])
        sent = self.send([ix], [self.operator], units=MAX_UNITS)
        assert sent.ok, sent.logs
        return sent

    def refund_all(self, epoch: Pubkey, orders: Iterable[Placed]) -> None:
        for order in orders:
            sent = self.send([self.refund_ix(epoch, order)], [self.operator])
            assert sent.ok, sent.logs


def _market(chain: Chain) -> Market:
    return Market(
        lot=chain.lot,
        tick=chain.tick,
        fee_bps=chain.fee_bps,
        fee_payer=chain.fee_payer,
        fee_rounding=chain.fee_rounding,
    )


def _trade(chain: Chain, qty: int, price: int) -> tuple[int, int, int, int]:
    """The engine's (buyer_pays, seller_receives, buyer_fee, seller_fee) of a fill."""
    market = _market(chain)
    return market.split(market.notional(qty, price))


def _escrow(chain: Chain, side: str, price: int, qty: int) -> tuple[int, int]:
    """What an order escrows (GRID, payment), by the client's mirror of the program's
    `amounts::escrow` (the tests below check the program moves exactly this)."""
    return escrow(_market(chain), -1 if side == "sell" else 1, price, qty)


# --- fixtures ----------------------------------------------------------------------------------

FUNDS = 10**15


@pytest.fixture
def chain() -> Chain:
    return Chain()


@dataclass
class Book:
    """An open epoch with a prosumer and a consumer funded to trade."""

    chain: Chain
    epoch: Pubkey
    seller: Trader
    buyer: Trader


@pytest.fixture
def book(chain: Chain) -> Book:
    seller = chain.trader("Prosumer", grid=FUNDS, payment=FUNDS)
    buyer = chain.trader("Consumer", grid=0, payment=FUNDS)
    return Book(chain, chain.open_epoch(), seller, buyer)


@dataclass
class Cleared:
    """A cleared epoch: two bids and two asks, three fills at 100 ticks, posted."""

    chain: Chain
    epoch: Pubkey
    orders: list[Placed]
    fills: list[FillRef]
    heads: list[bytes]


@pytest.fixture
def cleared(book: Book) -> Cleared:
    chain = book.chain
    seller2 = chain.trader("Prosumer", grid=FUNDS, payment=FUNDS)
    buyer2 = chain.trader("Prosumer", grid=FUNDS, payment=FUNDS)
    bid1 = chain.place(book.buyer, book.epoch, 1, "buy", 110, 5)
    bid2 = chain.place(buyer2, book.epoch, 2, "buy", 100, 4)
    ask1 = chain.place(book.seller, book.epoch, 3, "sell", 90, 3)
    ask2 = chain.place(seller2, book.epoch, 4, "sell", 100, 6)
    fills = [FillRef(bid1, ask1, 3, 100), FillRef(bid1, ask2, 2, 100), FillRef(bid2, ask2, 4, 100)]
    heads = chain.post(book.epoch, fills)
    return Cleared(chain, book.epoch, [bid1, bid2, ask1, ask2], fills, heads)


# --- the build ---------------------------------------------------------------------------------


def test_the_program_is_an_sbpf_v0_shared_object():
    data = _program_bytes("trading", ("trading", "support"))
    assert data[:4] == b"\x7fELF"
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    (e_flags,) = struct.unpack_from("<I", data, 48)
    assert (e_type, e_machine, e_flags) == (3, 247, 0)  # ET_DYN, EM_BPF, SBPF v0


# --- initialize_market -------------------------------------------------------------------------


def test_initialize_market_creates_the_market_and_its_vaults(chain: Chain):
    market = chain.decode(chain.market)
    assert (market.market_id, market.authority, market.operator) == (
        1,
        chain.authority.pubkey(),
        chain.operator.pubkey(),
    )
    assert (market.grid_mint, market.payment_mint, market.treasury) == (
        chain.grid_mint,
        chain.payment_mint,
        chain.treasury,
    )
    assert (market.grid_vault, market.payment_vault) == (chain.grid_vault, chain.payment_vault)
    assert (market.lot, market.tick, market.fee_bps, market.epoch_seconds) == (10**6, 100, 100, 900)
    assert (type(market.fee_payer).__name__, type(market.fee_rounding).__name__) == ("Buyer", "Up")
    assert (market.grid_decimals, market.payment_decimals) == (9, 6)
    assert market.bump == Pubkey.find_program_address([b"market", struct.pack("<Q", 1)], chain.program_id)[1]
    account = chain.svm.get_account(chain.market)
    assert account is not None and account.owner == chain.program_id
    assert len(account.data) == chain.program.account["Market"].size
    assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(len(account.data))
    for vault, mint in ((chain.grid_vault, chain.grid_mint), (chain.payment_vault, chain.payment_mint)):
        vault_account = chain.svm.get_account(vault)
        assert vault_account is not None and vault_account.owner == TOKEN_PROGRAM_ID
        data = bytes(vault_account.data)
        # mint, owner (the market account signs for its vaults), amount 0, initialised
        assert (Pubkey(data[:32]), Pubkey(data[32:64]), chain.balance(vault), data[108]) == (mint, chain.market, 0, 1)
        assert vault_account.lamports == chain.rent_token


def test_initialize_market_refuses_bad_parameters_and_a_second_time():
    chain = Chain(initialize=False)
    for bad in ({"fee_bps": 10_001}, {"lot": 0}, {"tick": 0}, {"epoch_seconds": 0}, {"payment_mint": chain.grid_mint}):
        chain.refused([chain.initialize_ix(**bad)], [chain.authority], 6010, chain.grid_vault, chain.payment_vault)
    wrong_vault = chain.pda(b"vault", bytes(chain.market), bytes(chain.market))
    chain.refused([chain.initialize_ix(grid_vault=wrong_vault)], [chain.authority], 2006)
    chain.refused([chain.initialize_ix(treasury=chain.grid_vault)], [chain.authority], 3007)  # not a token account yet
    grid_treasury = chain.new_token_account(chain.grid_mint, Keypair().pubkey(), 0)
    chain.refused([chain.initialize_ix(treasury=grid_treasury)], [chain.authority], 2014)
    assert chain.send([chain.initialize_ix()], [chain.authority]).ok
    chain.refused([chain.initialize_ix()], [chain.authority], 3000)


# --- open_epoch, close_epoch -------------------------------------------------------------------


def test_the_operator_opens_and_closes_an_epoch_and_no_one_else_can(chain: Chain):
    impostor = chain.trader()
    epoch = chain.epoch_address(7)
    chain.refused([chain.open_epoch_ix(7, impostor.key)], [impostor.keypair], 6001, epoch)
    assert chain.closed(epoch)

    sent = chain.send([chain.open_epoch_ix(7)], [chain.operator])
    assert sent.ok, sent.logs
    state = chain.decode(epoch)
    assert (state.market, state.epoch_id, type(state.state).__name__) == (chain.market, 7, "Open")
    assert (state.orders_placed, state.live_orders, state.fill_count, state.settled_count) == (0, 0, 0, 0)
    chain.refused([chain.open_epoch_ix(7)], [chain.operator], 3000, epoch)

    chain.refused([chain.close_epoch_ix(epoch, impostor.key)], [impostor.keypair], 6001, epoch)
    assert chain.send([chain.close_epoch_ix(epoch)], [chain.operator]).ok
    assert type(chain.decode(epoch).state).__name__ == "Closed"
    chain.refused([chain.close_epoch_ix(epoch)], [chain.operator], 6003, epoch)


# --- place_order, cancel_order -----------------------------------------------------------------


def test_place_order_escrows_the_worst_case_of_each_side(book: Book):
    chain = book.chain
    before = chain.balances()
    totals = chain.totals()
    bid = chain.place(book.buyer, book.epoch, 11, "buy", 333, 7)
    ask = chain.place(book.seller, book.epoch, 12, "sell", 250, 5)
    bid_grid, bid_payment = _escrow(chain, "buy", 333, 7)
    ask_grid, ask_payment = _escrow(chain, "sell", 250, 5)
    # 333 ticks * 100 = 33,300 a lot, + 1% rounded up = 33,633; the seller escrows its GRID only.
    assert (bid_grid, bid_payment, ask_grid, ask_payment) == (0, 7 * 33_633, 5 * 10**6, 0)
    after = chain.balances()
    assert after[book.buyer.payment] == before[book.buyer.payment] - bid_payment
    assert after[book.seller.grid] == before[book.seller.grid] - ask_grid
    assert (after[chain.payment_vault], after[chain.grid_vault]) == (bid_payment, ask_grid)
    assert chain.totals() == totals

    order = chain.decode(bid.address)
    assert (order.epoch, order.owner, order.order_id, type(order.side).__name__) == (
        book.epoch,
        book.buyer.key,
        11,
        "Buy",
    )
    assert (order.limit_price, order.qty, order.filled, order.grid_escrow, order.payment_escrow) == (
        333,
        7,
        0,
        0,
        bid_payment,
    )
    assert (order.grid_account, order.payment_account) == (book.buyer.grid, book.buyer.payment)
    account = chain.svm.get_account(bid.address)
    assert account is not None and len(account.data) == chain.program.account["Order"].size
    assert chain.decode(ask.address).grid_escrow == ask_grid
    epoch = chain.decode(book.epoch)
    assert (epoch.orders_placed, epoch.live_orders) == (2, 2)


def test_a_sell_order_below_zero_escrows_what_it_may_have_to_pay(book: Book):
    chain = book.chain
    ask = chain.place(book.seller, book.epoch, 1, "sell", -40, 3)
    bid = chain.place(book.buyer, book.epoch, 2, "buy", -50, 3)
    # The seller may pay 40 * 100 a lot (the buyer pays the fee here, so the seller none).
    assert chain.decode(ask.address).payment_escrow == 3 * 4_000 == _escrow(chain, "sell", -40, 3)[1]
    assert chain.decode(bid.address).payment_escrow == 0


def test_cancel_returns_the_escrow_and_closes_the_order(book: Book):
    chain = book.chain
    before = chain.balances()
    lamports = chain.svm.get_balance(book.buyer.key)
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 120, 9)
    ask = chain.place(book.seller, book.epoch, 2, "sell", 80, 4)
    rent = chain.svm.get_account(bid.address).lamports
    for order in (bid, ask):
        sent = chain.send([chain.cancel_ix(book.epoch, order)], [order.trader.keypair])
        assert sent.ok, sent.logs
        assert chain.closed(order.address)
    assert chain.balances() == before
    assert rent > 0 and chain.svm.get_balance(book.buyer.key) == lamports - 2 * 5_000  # the rent is back; two fees
    assert chain.decode(book.epoch).live_orders == 0


def test_cancel_by_another_signer_or_after_closing_is_refused(book: Book):
    chain = book.chain
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 120, 9)
    thief = chain.trader()
    chain.refused([chain.cancel_ix(book.epoch, bid, owner=thief.key)], [thief.keypair], 6002, bid.address)
    # Refunded to the thief's accounts instead: the order names its owner's.
    chain.refused(
        [chain.cancel_ix(book.epoch, bid, grid_account=thief.grid, payment_account=thief.payment)],
        [book.buyer.keypair],
        2001,
        bid.address,
    )
    chain.refused(
        [chain.cancel_ix(book.epoch, bid, payment_vault=thief.payment)], [book.buyer.keypair], 2001, bid.address
    )
    assert chain.send([chain.close_epoch_ix(book.epoch)], [chain.operator]).ok
    chain.refused([chain.cancel_ix(book.epoch, bid)], [book.buyer.keypair], 6003, bid.address)


def test_cancel_is_allowed_while_paused(book: Book):
    chain = book.chain
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 120, 9)
    chain.set_paused(True)
    assert chain.send([chain.cancel_ix(book.epoch, bid)], [book.buyer.keypair]).ok


def test_placing_is_refused_for_every_rule_and_moves_nothing(book: Book):
    chain = book.chain
    epoch, buyer, seller = book.epoch, book.buyer, book.seller
    order = chain.order_address(epoch, 99)

    def refuse(
        code: int, trader: Trader, side: str = "buy", qty: int = 5, signers: Sequence[Keypair] = (), **overrides: Pubkey
    ) -> None:
        ix = chain.place_ix(trader, epoch, 99, side, 100, qty, **overrides)
        chain.refused([ix], list(signers) or [trader.keypair], code, order, epoch)
        assert chain.closed(order)

    refuse(6008, buyer, "sell")  # a consumer may not sell
    refuse(6009, buyer, qty=0)
    other = chain.trader()
    refuse(2006, buyer, participant=other.participant)  # someone else's registry account
    refuse(3007, buyer, participant=buyer.grid)  # not a registry account at all
    refuse(2015, buyer, payment_account=other.payment)  # escrow from someone else's account
    refuse(2014, buyer, payment_account=buyer.grid)  # of the wrong mint
    refuse(2001, buyer, payment_vault=other.payment)  # a vault that is not the market's
    refuse(2001, buyer, grid_mint=chain.payment_mint)
    fake_mint = chain.new_mint(9)
    refuse(2001, buyer, payment_mint=fake_mint)
    refuse(2006, buyer, order=chain.order_address(epoch, 98))  # the order at another id's address
    # The owner did not sign: the fee payer is someone else.
    ix = chain.place_ix(buyer, epoch, 99, "buy", 100, 5)
    metas = [AccountMeta(m.pubkey, False, m.is_writable) if m.pubkey == buyer.key else m for m in ix.accounts]
    chain.refused([Instruction(ix.program_id, ix.data, metas)], [chain.operator], 3010, order)
    # A forged market: the real one's bytes, owned by someone else.
    fake_market = Keypair().pubkey()
    real = chain.svm.get_account(chain.market)
    chain.svm.set_account(fake_market, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM_ID))
    refuse(3007, buyer, market=fake_market)
    # A forged governance config saying "not paused" at another address, or owned by another program.
    chain.set_paused(True)
    forged = Keypair().pubkey()
    chain.svm.set_account(forged, Account(10**9, governance_data(buyer.key, paused=False), GOVERNANCE_ID))
    refuse(2006, buyer, governance=forged)
    refuse(6000, buyer)  # paused
    chain.svm.set_account(
        GOVERNANCE_CONFIG, Account(10**9, governance_data(buyer.key, paused=False), SYSTEM_PROGRAM_ID)
    )
    refuse(3007, buyer)
    chain.set_paused(False)

    chain.suspend(seller)
    refuse(6007, seller, "sell")
    chain.suspend(buyer)
    refuse(6007, buyer)
    # A closed epoch takes no orders.
    fresh = chain.trader("Consumer", payment=FUNDS)
    assert chain.send([chain.close_epoch_ix(epoch)], [chain.operator]).ok
    refuse(6003, fresh)
    # Not enough funds: the token program refuses, and so nothing moves either.
    poor = chain.trader("Consumer", payment=10)
    chain.svm.expire_blockhash()
    other_epoch = chain.open_epoch(202601010015)
    ix = chain.place_ix(poor, other_epoch, 1, "buy", 100, 5)
    before = chain.snapshot()
    assert not chain.send([ix], [poor.keypair]).ok
    assert chain.snapshot() == before


# --- post_result -------------------------------------------------------------------------------


def test_post_result_is_the_operators_on_a_closed_epoch_and_consistent(book: Book):
    chain, epoch = book.chain, book.epoch
    head = chain_heads([fill_record(1, 2, 3, 100)])[0]
    impostor = chain.trader()
    chain.refused([chain.post_ix(epoch, 100, 3, 1, head)], [chain.operator], 6004, epoch)  # still open
    assert chain.send([chain.close_epoch_ix(epoch)], [chain.operator]).ok
    post = chain.post_ix(epoch, 100, 3, 1, head, operator=impostor.key)
    chain.refused([post], [impostor.keypair], 6001, epoch)
    for bad in (
        (100, 0, 1, head),
        (100, 3, 0, head),
        (100, 3, 0, ZERO_HASH),
        (100, 0, 0, head),
        (100, 3, 1, ZERO_HASH),
        (100, 2, 3, head),
    ):
        chain.refused([chain.post_ix(epoch, *bad)], [chain.operator], 6021, epoch)
    chain.refused([chain.post_ix(epoch, 2**62, 3, 1, head)], [chain.operator], 6011, epoch)  # 2^62 ticks * 100 overflow
    chain.set_paused(True)
    chain.refused([chain.post_ix(epoch, 100, 3, 1, head)], [chain.operator], 6000, epoch)
    chain.set_paused(False)

    sent = chain.send([chain.post_ix(epoch, 100, 3, 1, head)], [chain.operator])
    assert sent.ok, sent.logs
    state = chain.decode(epoch)
    assert (type(state.state).__name__, state.price, state.volume, state.fill_count) == ("Cleared", 100, 3, 1)
    assert bytes(state.fills_hash) == head == bytes(state.cursor)
    chain.refused([chain.post_ix(epoch, 101, 3, 1, head)], [chain.operator], 6004, epoch)  # posted once


def test_a_result_without_fills_settles_the_epoch_and_everything_is_refunded(book: Book):
    chain = book.chain
    before = chain.balances()
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 90, 4)
    ask = chain.place(book.seller, book.epoch, 2, "sell", 110, 4)
    heads = chain.post(book.epoch, [], price=0)
    assert heads == [ZERO_HASH]
    assert type(chain.decode(book.epoch).state).__name__ == "Settled"
    chain.refund_all(book.epoch, [bid, ask])
    assert chain.balances() == before
    assert chain.decode(book.epoch).live_orders == 0


# --- settle_fills ------------------------------------------------------------------------------


def test_settlement_moves_what_the_engine_computes_and_refunds_the_rest(cleared: Cleared):
    chain, epoch, fills, heads = cleared.chain, cleared.epoch, cleared.fills, cleared.heads
    bid1, bid2, _, _ = cleared.orders
    start = chain.balances()
    totals = chain.totals()
    sent = chain.settle(epoch, fills, heads, 0, 2)
    assert "Program log: Instruction: SettleFills" in sent.logs
    state = chain.decode(epoch)
    assert (type(state.state).__name__, state.settled_count, state.settled_volume) == ("Cleared", 2, 5)
    assert bytes(state.cursor) == heads[2]
    chain.settle(epoch, fills, heads, 2, 3)
    state = chain.decode(epoch)
    assert (type(state.state).__name__, state.settled_count, state.settled_volume, bytes(state.cursor)) == (
        "Settled",
        3,
        9,
        ZERO_HASH,
    )
    assert chain.totals() == totals

    # Each fill: GRID qty * lot to the buyer, seller_receives to the seller, both fees to the treasury.
    expected = dict(start)
    fees = 0
    for f in fills:
        buyer_pays, seller_receives, buyer_fee, seller_fee = _trade(chain, f.qty, f.price)
        expected[f.bid.trader.grid] += f.qty * chain.lot
        expected[chain.grid_vault] -= f.qty * chain.lot
        expected[f.ask.trader.payment] += seller_receives
        expected[chain.payment_vault] -= buyer_pays
        fees += buyer_fee + seller_fee
    expected[chain.treasury] += fees
    assert chain.balances() == expected
    assert state.fees == fees == chain.balance(chain.treasury) > 0
    assert [chain.decode(o.address).filled for o in cleared.orders] == [5, 4, 3, 6]

    # What did not fill (bid 1's escrow at 110 beyond the 100 it paid) goes back; the vaults empty.
    chain.refund_all(epoch, cleared.orders)
    assert chain.balance(chain.grid_vault) == chain.balance(chain.payment_vault) == 0
    for order in cleared.orders:
        assert chain.closed(order.address)
    final = chain.balances()
    for f_bid in (bid1, bid2):
        paid = sum(_trade(chain, f.qty, f.price)[0] for f in fills if f.bid is f_bid)
        assert (
            final[f_bid.trader.payment]
            == start[f_bid.trader.payment] + _escrow(chain, "buy", f_bid.price, f_bid.qty)[1] - paid
        )
    assert chain.totals() == totals
    assert chain.decode(epoch).live_orders == 0


def test_settlement_at_a_negative_price_pays_the_buyer_from_the_sellers_escrow(book: Book):
    chain = book.chain
    chain_balances = chain.balances()
    bid = chain.place(book.buyer, book.epoch, 1, "buy", -20, 4)
    ask = chain.place(book.seller, book.epoch, 2, "sell", -60, 4)
    fills = [FillRef(bid, ask, 3, -40)]
    heads = chain.post(book.epoch, fills)
    chain.settle(book.epoch, fills, heads, 0, 1)
    chain.refund_all(book.epoch, [bid, ask])
    buyer_pays, seller_receives, buyer_fee, seller_fee = _trade(chain, 3, -40)
    assert buyer_pays < 0 and seller_receives < 0
    after = chain.balances()
    assert after[book.buyer.payment] == chain_balances[book.buyer.payment] - buyer_pays
    assert after[book.seller.payment] == chain_balances[book.seller.payment] + seller_receives
    assert after[book.buyer.grid] == 3 * chain.lot
    assert after[chain.treasury] == buyer_fee + seller_fee
    assert after[chain.grid_vault] == after[chain.payment_vault] == 0


def test_settling_is_the_operators_alone(cleared: Cleared):
    chain, epoch, fills, heads = cleared.chain, cleared.epoch, cleared.fills, cleared.heads
    impostor = chain.trader()
    watch = [epoch, *(o.address for o in cleared.orders)]
    ix = chain.settle_ix(epoch, 0, fills[:1], heads[1], operator=impostor.key)
    chain.refused([ix], [impostor.keypair], 6001, *watch)
    ix = chain.settle_ix(epoch, 0, fills[:1], heads[1])
    metas = [
        AccountMeta(m.pubkey, False, m.is_writable) if m.pubkey == chain.operator.pubkey() else m for m in ix.accounts
    ]
    chain.refused([Instruction(ix.program_id, ix.data, metas)], [impostor.keypair], 3010, *watch)


def test_settlement_refuses_wrong_accounts(cleared: Cleared):
    chain, epoch, fills, heads = cleared.chain, cleared.epoch, cleared.fills, cleared.heads
    thief = chain.trader(grid=FUNDS)
    watch = [epoch, *(o.address for o in cleared.orders)]

    def refuse(code: int, ix: Instruction) -> None:
        chain.refused([ix], [chain.operator], code, *watch)

    refuse(2001, chain.settle_ix(epoch, 0, fills[:1], heads[1], grid_vault=thief.grid))
    refuse(2001, chain.settle_ix(epoch, 0, fills[:1], heads[1], payment_vault=thief.payment))
    refuse(2001, chain.settle_ix(epoch, 0, fills[:1], heads[1], treasury=thief.payment))
    refuse(2001, chain.settle_ix(epoch, 0, fills[:1], heads[1], payment_mint=chain.new_mint(6)))
    refuse(3008, chain.settle_ix(epoch, 0, fills[:1], heads[1], token_program=SYSTEM_PROGRAM_ID))
    # A forged market (the real bytes, another owner) and a forged epoch (another market's).
    real = chain.svm.get_account(chain.market)
    fake_market = Keypair().pubkey()
    chain.svm.set_account(fake_market, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM_ID))
    refuse(3007, chain.settle_ix(epoch, 0, fills[:1], heads[1], market=fake_market))
    second_market = chain.pda(b"market", struct.pack("<Q", 2))
    ix = chain.initialize_ix(
        market_id=2,
        market=second_market,
        grid_vault=chain.pda(b"vault", bytes(second_market), bytes(chain.grid_mint)),
        payment_vault=chain.pda(b"vault", bytes(second_market), bytes(chain.payment_mint)),
    )
    assert chain.send([ix], [chain.authority]).ok
    assert chain.send(
        [
            chain.ix(
                "open_epoch",
                5,
                accounts={
                    "market": second_market,
                    "epoch": chain.epoch_address(5, second_market),
                    "operator": chain.operator.pubkey(),
                    "system_program": SYSTEM_PROGRAM_ID,
                },
            )
        ],
        [chain.operator],
    ).ok
    refuse(2001, chain.settle_ix(chain.epoch_address(5, second_market), 0, fills[:1], heads[1]))
    # The GRID or the payment sent to an account that is not the one the order named.
    good = chain.settle_ix(epoch, 0, fills[:1], heads[1])
    for slot in (FIXED + 2, FIXED + 3):
        metas = list(good.accounts)
        metas[slot] = AccountMeta(thief.grid if slot == FIXED + 2 else thief.payment, False, True)
        refuse(2001, Instruction(good.program_id, good.data, metas))
    # An order of another epoch in the fill.
    other_epoch = chain.open_epoch(202601010015)
    stranger = chain.place(thief, other_epoch, 1, "sell", 90, 3)
    metas = list(good.accounts)
    metas[FIXED + 1] = AccountMeta(stranger.address, False, True)
    refuse(2001, Instruction(good.program_id, good.data, metas))
    # Fewer accounts than the fills need.
    refuse(3005, Instruction(good.program_id, good.data, list(good.accounts)[:-1]))
    chain.set_paused(True)
    refuse(6000, good)


FIXED = 10  # settle_fills' accounts before the fills' own


def test_a_fill_settles_once(cleared: Cleared):
    chain, epoch, fills, heads = cleared.chain, cleared.epoch, cleared.fills, cleared.heads
    watch = [epoch, *(o.address for o in cleared.orders)]
    chain.settle(epoch, fills, heads, 0, 2)
    # The same batch again, one of its fills again, a fill that skips ahead, more than posted.
    chain.refused([chain.settle_ix(epoch, 0, fills[:2], heads[2])], [chain.operator], 6012, *watch)
    chain.refused([chain.settle_ix(epoch, 1, fills[1:2], heads[2])], [chain.operator], 6012, *watch)
    chain.refused([chain.settle_ix(epoch, 3, fills[2:3], heads[3])], [chain.operator], 6013, *watch)
    extra = [*fills, fills[2]]
    chain.refused([chain.settle_ix(epoch, 2, extra[2:], ZERO_HASH)], [chain.operator], 6014, *watch)
    # Replaying fill 0 in fill 2's place: not what the posted list has there.
    chain.refused([chain.settle_ix(epoch, 2, fills[:1], heads[3])], [chain.operator], 6015, *watch)
    # The last fill must end the chain.
    chain.refused([chain.settle_ix(epoch, 2, fills[2:3], heads[0])], [chain.operator], 6015, *watch)
    chain.settle(epoch, fills, heads, 2, 3)
    chain.refused([chain.settle_ix(epoch, 2, fills[2:3], heads[3])], [chain.operator], 6012, *watch)
    chain.refused([chain.settle_ix(epoch, 0, fills[:1], heads[1])], [chain.operator], 6012, *watch)


def test_a_fill_not_in_the_posted_list_is_refused(cleared: Cleared):
    chain, epoch, fills, heads = cleared.chain, cleared.epoch, cleared.fills, cleared.heads
    watch = [epoch, *(o.address for o in cleared.orders)]
    bigger = [FillRef(fills[0].bid, fills[0].ask, 2, 100)]  # 2 where the list says 3
    chain.refused([chain.settle_ix(epoch, 0, bigger, heads[1])], [chain.operator], 6015, *watch)
    swapped = [fills[1], fills[0]]
    chain.refused([chain.settle_ix(epoch, 0, swapped, heads[2])], [chain.operator], 6015, *watch)
    # Before any result, there is nothing to settle.
    open_epoch = chain.open_epoch(202601010015)
    chain.refused([chain.settle_ix(open_epoch, 0, fills[:1], heads[1])], [chain.operator], 6005, *watch)


def _posted(
    book: Book, fills_of: Any, price: int | None = None
) -> tuple[Chain, Pubkey, list[FillRef], list[bytes], list[Pubkey]]:
    """Places a bid (limit 100, 5 lots) and an ask (limit 90, 5 lots), and posts the fills that
    `fills_of(bid, ask)` makes of them: a result the operator signed, wrong as it may be."""
    chain = book.chain
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 100, 5)
    ask = chain.place(book.seller, book.epoch, 2, "sell", 90, 5)
    fills = fills_of(bid, ask)
    heads = chain.post(book.epoch, fills, price)
    return chain, book.epoch, fills, heads, [book.epoch, bid.address, ask.address]


def test_a_posted_fill_through_a_limit_is_refused(book: Book):
    chain, epoch, fills, heads, watch = _posted(book, lambda b, a: [FillRef(b, a, 2, 101)])
    chain.refused([chain.settle_ix(epoch, 0, fills, heads[1])], [chain.operator], 6017, *watch)


def test_a_posted_fill_below_the_asks_limit_is_refused(book: Book):
    chain, epoch, fills, heads, watch = _posted(book, lambda b, a: [FillRef(b, a, 2, 89)])
    chain.refused([chain.settle_ix(epoch, 0, fills, heads[1])], [chain.operator], 6017, *watch)


def test_a_posted_fill_at_another_price_than_the_posted_one_is_refused(book: Book):
    chain, epoch, fills, heads, watch = _posted(
        book, lambda b, a: [FillRef(b, a, 2, 95), FillRef(b, a, 3, 96)], price=95
    )
    chain.settle(epoch, fills, heads, 0, 1)
    chain.refused([chain.settle_ix(epoch, 1, fills[1:], heads[2])], [chain.operator], 6016, *watch)


def test_overfilling_an_order_is_refused(book: Book):
    chain, epoch, fills, heads, watch = _posted(book, lambda b, a: [FillRef(b, a, 4, 95), FillRef(b, a, 2, 95)])
    chain.settle(epoch, fills, heads, 0, 1)
    chain.refused([chain.settle_ix(epoch, 1, fills[1:], heads[2])], [chain.operator], 6018, *watch)


@pytest.mark.parametrize(
    "fills_of",
    [
        lambda b, a: [FillRef(b, a, 0, 95), FillRef(b, a, 2, 95)],  # a fill of nothing
        lambda b, a: [FillRef(a, b, 2, 95)],  # the sell order in the buy order's place
    ],
    ids=["zero", "swapped"],
)
def test_a_posted_fill_of_nothing_or_with_its_sides_swapped_is_refused(book: Book, fills_of: Any):
    chain, epoch, fills, heads, watch = _posted(book, fills_of, price=95)
    chain.refused([chain.settle_ix(epoch, 0, fills[:1], heads[1])], [chain.operator], 6019, *watch)


def test_a_posted_volume_that_the_fills_do_not_make_is_refused(book: Book):
    chain = book.chain
    bid = chain.place(book.buyer, book.epoch, 1, "buy", 100, 5)
    ask = chain.place(book.seller, book.epoch, 2, "sell", 90, 5)
    fills = [FillRef(bid, ask, 2, 95)]
    heads = chain_heads([f.record for f in fills])
    assert chain.send(
        [chain.close_epoch_ix(book.epoch), chain.post_ix(book.epoch, 95, 3, 1, heads[0])], [chain.operator]
    ).ok
    chain.refused([chain.settle_ix(book.epoch, 0, fills, heads[1])], [chain.operator], 6020, book.epoch, bid.address)


def test_refunds_wait_for_settlement_and_go_to_the_owner_only(cleared: Cleared):
    chain, epoch, fills, heads = cleared.chain, cleared.epoch, cleared.fills, cleared.heads
    bid = cleared.orders[0]
    thief = chain.trader()
    chain.refused([chain.refund_ix(epoch, bid)], [chain.operator], 6006, bid.address)
    chain.settle(epoch, fills, heads, 0, 3)
    chain.refused([chain.refund_ix(epoch, bid, owner=thief.key)], [thief.keypair], 2001, bid.address)
    chain.refused([chain.refund_ix(epoch, bid, payment_account=thief.payment)], [thief.keypair], 2001, bid.address)
    chain.refused([chain.cancel_ix(epoch, bid)], [bid.trader.keypair], 6003, bid.address)
    chain.set_paused(True)  # a withdrawal: allowed while paused
    lamports = chain.svm.get_balance(bid.trader.key)
    rent = chain.svm.get_account(bid.address).lamports
    assert chain.send([chain.refund_ix(epoch, bid)], [thief.keypair]).ok  # anyone may send it
    assert chain.svm.get_balance(bid.trader.key) == lamports + rent
    chain.refused([chain.refund_ix(epoch, bid)], [thief.keypair], 3007, bid.address)  # once


# --- escrow conservation -----------------------------------------------------------------------


def test_every_mint_is_conserved_through_a_whole_epoch(chain: Chain):
    """Vaults plus every token account, per mint, after every instruction of a busy epoch."""
    traders = [chain.trader("Prosumer", grid=10**12, payment=10**12) for _ in range(4)]
    totals = chain.totals()
    epoch = chain.open_epoch()
    placed: list[Placed] = []
    specs = [("buy", 120, 6), ("buy", 105, 4), ("sell", 95, 5), ("sell", 100, 7), ("buy", 99, 3), ("sell", 130, 2)]
    for n, (side, price, qty) in enumerate(specs):
        placed.append(chain.place(traders[n % 4], epoch, 100 + n, side, price, qty))
        assert chain.totals() == totals
    assert chain.send([chain.cancel_ix(epoch, placed[4])], [placed[4].trader.keypair]).ok
    assert chain.totals() == totals
    bid1, bid2, ask1, ask2 = placed[0], placed[1], placed[2], placed[3]
    fills = [FillRef(bid1, ask1, 5, 100), FillRef(bid1, ask2, 1, 100), FillRef(bid2, ask2, 4, 100)]
    heads = chain.post(epoch, fills)
    for n in range(3):
        chain.settle(epoch, fills, heads, n, n + 1)
        assert chain.totals() == totals
    for order in (bid1, bid2, ask1, ask2, placed[5]):
        assert chain.send([chain.refund_ix(epoch, order)], [chain.operator]).ok
        assert chain.totals() == totals
    assert chain.balance(chain.grid_vault) == chain.balance(chain.payment_vault) == 0


# --- the engine's clearing, settled on chain ---------------------------------------------------


@st.composite
def epochs(draw: st.DrawFn) -> dict[str, Any]:
    """A market's fee rules and units, traders, a book of limit orders, a clearing rule and the
    sizes of the settlement batches."""
    kinds = draw(st.lists(st.sampled_from(["Prosumer", "Consumer"]), min_size=2, max_size=5))
    orders = []
    for _ in range(draw(st.integers(1, 12))):
        trader = draw(st.integers(0, len(kinds) - 1))
        side = draw(st.sampled_from(["buy", "sell"])) if kinds[trader] == "Prosumer" else "buy"
        orders.append((trader, side, draw(st.integers(-60, 160)), draw(st.integers(1, 25))))
    return {
        "market": {
            "lot": draw(st.sampled_from([1, 1_000, 10**6])),
            "tick": draw(st.sampled_from([1, 7, 100])),
            "fee_bps": draw(st.sampled_from([0, 1, 25, 100, 333, 10_000]) | st.integers(0, 10_000)),
            "fee_payer": draw(st.sampled_from(FEE_PAYERS)),
            "fee_rounding": draw(st.sampled_from(ROUNDINGS)),
        },
        "kinds": kinds,
        "orders": orders,
        "rule": draw(st.sampled_from(["midpoint", "marginal_ask", "marginal_bid", "exchange"])),
        "allocation": draw(st.sampled_from(["time", "pro_rata"])),
        "batches": draw(st.lists(st.integers(1, 4), min_size=1, max_size=6)),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(epochs())
def test_the_engines_clearing_settles_on_chain_to_the_base_unit(case: dict[str, Any]):
    chain = Chain(**case["market"])
    traders = [chain.trader(kind, grid=FUNDS, payment=FUNDS) for kind in case["kinds"]]
    start = chain.balances()
    totals = chain.totals()
    epoch = chain.open_epoch()
    placed = {}
    for order_id, (trader, side, price, qty) in enumerate(case["orders"], start=1):
        placed[order_id] = chain.place(traders[trader], epoch, order_id, side, price, qty)

    # Off chain: the engine clears the same book.
    orders = case["orders"]
    book = gm.order_array(
        id=list(range(1, len(orders) + 1)),
        trader=[o[0] for o in orders],
        side=[o[1] for o in orders],
        price=[o[2] for o in orders],
        qty=[o[3] for o in orders],
    )
    result = gm.clear(book, rule=case["rule"], allocation=case["allocation"], reference_price=50)
    fills = [
        FillRef(placed[int(f["buy_id"])], placed[int(f["sell_id"])], int(f["qty"]), int(f["price"]))
        for f in result.fills
    ]
    heads = chain.post(epoch, fills, result.price if result.price is not None else 0)

    # On chain: settled in batches of the drawn sizes, then every order refunded.
    done, sizes = 0, case["batches"]
    while done < len(fills):
        end = min(len(fills), done + sizes[0])
        sizes = sizes[1:] + sizes[:1]
        chain.settle(epoch, fills, heads, done, end)
        assert chain.totals() == totals
        done = end
    state = chain.decode(epoch)
    assert (type(state.state).__name__, state.settled_volume) == ("Settled", result.volume)
    chain.refund_all(epoch, placed.values())

    # Every balance is where the clearing result and the engine's fee arithmetic put it.
    market = Market(**case["market"])
    expected = dict(start)
    for f in fills:
        buyer_pays, seller_receives, buyer_fee, seller_fee = market.split(market.notional(f.qty, f.price))
        expected[f.bid.trader.grid] += market.grid_units(f.qty)
        expected[f.ask.trader.grid] -= market.grid_units(f.qty)
        expected[f.bid.trader.payment] -= buyer_pays
        expected[f.ask.trader.payment] += seller_receives
        expected[chain.treasury] += buyer_fee + seller_fee
    assert chain.balances() == expected
    assert chain.totals() == totals
    assert chain.balance(chain.grid_vault) == chain.balance(chain.payment_vault) == 0
    assert chain.decode(epoch).fees == chain.balance(chain.treasury)


# --- the IDL agrees with the program -----------------------------------------------------------


def test_the_idl_discriminators_and_sizes_are_the_programs(chain: Chain):
    """anchorpy's discriminators are sha256("global:<snake>") and sha256("account:<Name>") (what
    the program computes), and its account sizes are the program's (state.rs `LEN`)."""
    assert {ix.name for ix in chain.idl.instructions} == {
        "initializeMarket", "openEpoch", "placeOrder", "cancelOrder",
        "closeEpoch", "postResult", "settleFills", "refundOrder",
    }  # fmt: skip
    source = (PROGRAMS / "trading" / "src" / "instructions").glob("*.rs")
    in_source = {m for p in source for m in re.findall(r'instruction_discriminator\("(\w+)"\)', p.read_text())}
    assert in_source == {_snake(ix.name) for ix in chain.idl.instructions}
    for ix in chain.idl.instructions:
        assert chain.program.coder.instruction.sighashes[_snake(ix.name)] == _sighash("global", _snake(ix.name))
    discriminators = chain.program.coder.accounts.acc_name_to_discriminator
    state = (PROGRAMS / "trading" / "src" / "state.rs").read_text()
    for account in chain.idl.accounts:
        assert discriminators[account.name] == _sighash("account", account.name)
        block = state[state.index(f"impl {account.name} {{") :]
        length = int(re.search(r"pub const LEN: usize = (\d+);", block).group(1))  # type: ignore[union-attr]
        assert chain.program.account[account.name].size == length, account.name
    assert chain.decode(chain.market).market_id == 1  # and they decode real accounts


def test_the_program_knows_every_idl_instruction_and_no_other(chain: Chain):
    """Each IDL discriminator reaches its instruction (arguments bad: Anchor's 102, or an account
    check); an unknown one is 101, data shorter than a discriminator is 100."""
    keys = [AccountMeta(Keypair().pubkey(), False, False) for _ in range(14)]
    for ix in chain.idl.instructions:
        data = _sighash("global", _snake(ix.name)) + b"\xff" * 3
        sent = chain.send([Instruction(chain.program_id, data, keys)], [chain.operator])
        assert sent.code not in (None, 100, 101), (ix.name, sent.logs)
    assert chain.send([Instruction(chain.program_id, _sighash("global", "nope"), keys)], [chain.operator]).code == 101
    assert chain.send([Instruction(chain.program_id, b"\x01\x02", keys)], [chain.operator]).code == 100


def test_the_idl_errors_are_the_programs(chain: Chain):
    source = (PROGRAMS / "trading" / "src" / "error.rs").read_text()
    in_source = {int(code): name for name, code in re.findall(r"^\s*(\w+) = (\d+),", source, flags=re.M)}
    assert {e.code: e.name for e in chain.idl.errors or []} == in_source
    assert chain.idl_errors[6000] == "The market is paused by governance"  # the shared contract's MarketPaused


# --- compute units and the largest settlement batch --------------------------------------------

UNITS_PER_BUMP_TRIED = 1_500  # the program-address search (sol_try_find_program_address)
# What each instruction measured when written, with room, besides the address search.
BUDGET = {"place_buy": 17_000, "place_sell": 16_000, "cancel": 16_000, "close_epoch": 1_500, "post_result": 2_500,
          "refund": 16_000, "settle_base": 12_000, "settle_per_fill": 17_000}  # fmt: skip


def _fake_fills(chain: Chain, n: int, *, one_seller: bool) -> list[FillRef]:
    """`n` fills between orders and traders that need not exist: for sizing transactions."""

    def order(order_id: int, side: str) -> Placed:
        trader = Trader(Keypair(), Keypair().pubkey(), Keypair().pubkey(), Keypair().pubkey())
        return Placed(Keypair().pubkey(), order_id, trader, side, 100, 10)

    ask = order(0, "sell")
    return [
        FillRef(order(2 * i + 1, "buy"), ask if one_seller else order(2 * i + 2, "sell"), 10, 100) for i in range(n)
    ]


def _settle_sizes(chain: Chain, fills: Sequence[FillRef], *, with_limit: bool) -> tuple[int, int, int]:
    """(legacy bytes, v0 bytes with every account but the signer in one lookup table, distinct
    accounts the transaction locks) of settling `fills` in one transaction."""
    ix = chain.settle_ix(chain.epoch_address(1), 0, fills, ZERO_HASH)
    ixs = [set_compute_unit_limit(MAX_UNITS), ix] if with_limit else [ix]
    payer = chain.operator.pubkey()
    legacy = len(bytes(Transaction([chain.operator], Message(ixs, payer), Hash.default())))
    table = AddressLookupTableAccount(
        Keypair().pubkey(), list(dict.fromkeys(m.pubkey for m in ix.accounts if m.pubkey != payer))
    )
    v0 = len(bytes(VersionedTransaction(MessageV0.try_compile(payer, ixs, [table], Hash.default()), [chain.operator])))
    locked = len({m.pubkey for m in ix.accounts} | {payer, *(i.program_id for i in ixs)})
    return legacy, v0, locked


def _batch_limits(chain: Chain, *, one_seller: bool) -> dict[str, int]:
    """The largest settlement batch by each limit, and the compute units at the binding one."""

    def largest(index: int, limit: int, *, with_limit: bool = True) -> int:
        def fits(n: int) -> bool:
            fills = _fake_fills(chain, n, one_seller=one_seller)
            return _settle_sizes(chain, fills, with_limit=with_limit)[index] <= limit

        n = 1
        while fits(n + 1):
            n += 1
        return n

    legacy_n = largest(0, MAX_TX_BYTES, with_limit=False)
    locks_n = largest(2, MAX_TX_ACCOUNTS)
    bytes_n = largest(1, MAX_TX_BYTES)
    units, size = _settle_units(locks_n, one_seller=one_seller)
    small, _ = _settle_units(1, one_seller=one_seller)
    per_fill = (units - small) // (locks_n - 1)
    units_n = (MAX_UNITS - (small - per_fill)) // per_fill
    assert units <= BUDGET["settle_base"] + BUDGET["settle_per_fill"] * locks_n <= MAX_UNITS
    assert size <= MAX_TX_BYTES and locks_n < bytes_n and locks_n < units_n
    return {"legacy_bytes": legacy_n, "alt_locks": locks_n, "alt_bytes": bytes_n, "units_at_alt_locks": units,
            "per_fill": per_fill, "units_n": units_n, "one_fill": small}  # fmt: skip


def _settle_units(n: int, *, one_seller: bool) -> tuple[int, int]:
    """Compute units and size of settling `n` real fills in one v0 transaction through a lookup table."""
    chain = Chain()
    epoch = chain.open_epoch()
    ask = chain.place(chain.trader(grid=FUNDS), epoch, 10**6, "sell", 90, 10 * n) if one_seller else None
    fills = []
    for i in range(n):
        bid = chain.place(chain.trader("Consumer", payment=FUNDS), epoch, 2 * i + 1, "buy", 110, 10)
        fills.append(
            FillRef(bid, ask or chain.place(chain.trader(grid=FUNDS), epoch, 2 * i + 2, "sell", 90, 10), 10, 100)
        )
    heads = chain.post(epoch, fills)
    ixs = [set_compute_unit_limit(MAX_UNITS), chain.settle_ix(epoch, 0, fills, heads[n])]
    table = chain.lookup_table(
        list(dict.fromkeys(m.pubkey for m in ixs[1].accounts if m.pubkey != chain.operator.pubkey()))
    )
    sent = chain.send_v0(ixs, chain.operator, [table])
    assert sent.ok, sent.logs[-4:]
    return sent.units, sent.size


def test_compute_units_and_the_largest_settlement_batch(chain: Chain):
    """Within budget, and the batch limits. `make bench-programs` shows the figures (`-s`)."""
    figures: dict[str, int] = {}
    seller = chain.trader("Prosumer", grid=FUNDS)
    buyer = chain.trader("Consumer", payment=FUNDS)
    sent = chain.send([chain.open_epoch_ix(1)], [chain.operator])
    epoch = chain.epoch_address(1)
    figures["open_epoch"] = sent.units

    def searched(address: Pubkey) -> int:
        return UNITS_PER_BUMP_TRIED * (255 - chain.decode(address).bump)

    bid = chain.place(buyer, epoch, 1, "buy", 110, 10)
    figures["place_buy"] = chain.last_units - searched(bid.address)
    ask = chain.place(seller, epoch, 2, "sell", 90, 10)
    figures["place_sell"] = chain.last_units - searched(ask.address)
    extra = chain.place(buyer, epoch, 3, "buy", 100, 1)
    sent = chain.send([chain.cancel_ix(epoch, extra)], [buyer.keypair])
    figures["cancel"] = sent.units
    fills = [FillRef(bid, ask, 4, 100), FillRef(bid, ask, 3, 100)]
    heads = chain_heads([f.record for f in fills])
    figures["close_epoch"] = chain.send([chain.close_epoch_ix(epoch)], [chain.operator]).units
    figures["post_result"] = chain.send([chain.post_ix(epoch, 100, 7, 2, heads[0])], [chain.operator]).units
    figures["settle_1"] = chain.settle(epoch, fills, heads, 0, 1).units
    figures["settle_1_again"] = chain.settle(epoch, fills, heads, 1, 2).units
    sent = chain.send([chain.refund_ix(epoch, bid)], [chain.operator])
    figures["refund"] = sent.units
    for name in ("place_buy", "place_sell", "cancel", "close_epoch", "post_result", "refund"):
        assert figures[name] <= BUDGET[name], (name, figures[name])

    # The largest batch: legacy transactions are bound by their 1,232 bytes; through a lookup
    # table by the 64 accounts a transaction may lock (compute units would allow far more).
    limits = {key: _batch_limits(chain, one_seller=key == "one_seller") for key in ("distinct", "one_seller")}
    assert limits["distinct"]["legacy_bytes"] == 4 and limits["distinct"]["alt_locks"] == 13

    print("\ntrading program compute units:", ", ".join(f"{k} {v:,}" for k, v in figures.items()))
    for key, row in limits.items():
        print(f"settlement batch ({key}):", ", ".join(f"{k} {v:,}" for k, v in row.items()))
