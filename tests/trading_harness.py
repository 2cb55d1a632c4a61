"""The trading program (programs/trading) in LiteSVM, as its tests drive it: trading, the registry
and governance loaded into a `program_harness.Ledger` (raw accounts, anchorpy instructions with any
account swapped by name, refusals checked to change no account), the governance config and the
registry written as raw bytes, and markets, epochs, orders and traders made through the program.

The amounts the tests expect are the engine's own arithmetic: what an order escrows from the
client's `escrow` (the program's worst case a lot), what it is owed from `Market.split` of its own
notional (core's `money`), written out here rather than taken from the client under test.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from anchorpy import Context
from program_harness import (
    GOVERNANCE_CONFIG,
    GOVERNANCE_ID,
    MINT_AUTHORITY,
    REGISTRY,
    REGISTRY_ID,
    T0,
    TOKEN_ACCOUNT_LEN,
    TRADING_ID,
    U64_MAX,
    Ledger,
    Sent,
    governance_data,
    registry_data,
    sent_of,
    snake,
    with_signer,
)

# Re-exported: the trading suites import them from here.
from program_harness import I64_MIN as I64_MIN
from program_harness import PROGRAMS as PROGRAMS
from program_harness import program_bytes as program_bytes
from program_harness import sighash as sighash
from program_harness import without_signer as without_signer
from solders.account import Account
from solders.address_lookup_table_account import ID as LOOKUP_TABLE_PROGRAM_ID
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import VersionedTransaction
from spl.token import instructions as token_ix

from gridmatch.chain.spl import TOKEN_PROGRAM_ID, associated_token_address
from gridmatch.chain.trading import escrow
from gridmatch.market import Market

MAX_UNITS = 1_400_000
MAX_TX_BYTES = 1232
ZERO_HASH = bytes(32)
FUNDS = 10**15
#: Every instruction of the trading program (programs/README.md, "Trading").
INSTRUCTIONS = [
    "initialize_market",
    "update_market",
    "open_epoch",
    "place_order",
    "cancel_order",
    "close_epoch",
    "post_result",
    "credit_orders",
    "claim",
    "abandon_epoch",
    "withdraw_fees",
]


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
class Chain(Ledger):
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
        Ledger.__init__(self, "trading", "registry", "governance")
        self.trading = self.program["trading"]
        self.set_time(T0)
        self.authority = self.wallet()
        self.operator = self.wallet()
        self.freezer = Keypair()
        self.set_governance()
        self.put(REGISTRY, registry_data(self.authority.pubkey()), REGISTRY_ID)
        self.grid_mint = self.new_mint(9, MINT_AUTHORITY)
        freezer = self.freezer.pubkey() if self.freeze else None
        self.payment_mint = self.new_mint(6, Keypair().pubkey(), freezer)
        self.market = self.market_ref(1, self.new_token_account(self.payment_mint, Keypair().pubkey(), 0))
        if self.initialize:
            sent = self.send([self.initialize_ix()], self.authority)
            assert sent.ok, sent.logs
            self.initialize_units = sent.units

    # -- plumbing ------------------------------------------------------------------------------

    def pda(self, *seeds: bytes) -> Pubkey:
        return Pubkey.find_program_address(list(seeds), TRADING_ID)[0]

    def set_governance(
        self, *, paused: bool = False, fee_bps: int | None = None, authorities: Sequence[Pubkey] = ()
    ) -> None:
        self.fee_bps = self.fee_bps if fee_bps is None else fee_bps
        data = governance_data(authorities or [self.authority.pubkey()], paused=paused, fee_bps=self.fee_bps)
        self.put(GOVERNANCE_CONFIG, data, GOVERNANCE_ID)

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
        return sent_of(self.svm.send_transaction(tx), len(bytes(tx)))

    # -- reading -------------------------------------------------------------------------------

    def state(self, epoch: EpochRef) -> str:
        return type(self.decode(epoch.address).state).__name__

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

    # -- instructions ----------------------------------------------------------------------------

    def ix(
        self,
        name: str,
        *args: Any,
        accounts: dict[str, Pubkey],
        overrides: dict[str, Pubkey],
        remaining: Sequence[AccountMeta] = (),
    ) -> Instruction:
        """Trading's instruction `name` with `accounts`, any of them swapped by `overrides`."""
        return self.instruction("trading", name, *args, accounts=accounts, overrides=overrides, remaining=remaining)

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


def account_index(chain: Chain, name: str, account: str) -> int:
    """The position of `account` (snake_case) among instruction `name`'s accounts in the IDL."""
    idl = chain.trading.idl
    (ix,) = [i for i in idl.instructions if snake(i.name) == name]
    return [snake(a.name) for a in ix.accounts].index(account)
