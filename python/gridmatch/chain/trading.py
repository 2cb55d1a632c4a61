"""The trading program's client (programs/trading): its addresses, its instructions, the hash
chain its per-order results are committed to, and what an order escrows and is owed.

Addresses: the market `["market", market_id]`, its vaults `["vault", market, mint]`, an epoch
`["epoch", market, epoch_id]`, an order `["order", epoch, owner, order_id]` (the owner in the
address: no one can take another trader's id), all under the trading program, ids as u64 LE; a
trader's registry account `["participant", owner]` (registry); the governance config
`["governance"]` (governance).

Placing, crediting and claiming run once per order, so their instructions are built by hand
(discriminator, then borsh through `struct`), as `spl.transfer_checked_ix` is; the rest go through
anchorpy from the IDL. tests/test_trading_client.py checks both encodings agree byte for byte.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from anchorpy.program.context import Context
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from gridmatch import _core
from gridmatch.chain import programs
from gridmatch.chain.base import MAX_AMOUNT, ChainRequestInvalid
from gridmatch.chain.spl import TOKEN_PROGRAM_ID, associated_token_address, check_amount
from gridmatch.market import Market

#: The end of the results' hash chain, and the head of an epoch without fills.
ZERO_HASH = bytes(32)
_U64 = struct.Struct("<Q")
_PLACE = struct.Struct("<8sQBqQ")  # discriminator, order_id, side (Buy 0, Sell 1), limit_price, qty
_CREDIT = struct.Struct("<8sI")  # discriminator, then borsh's u32 length of `filled`
_I64 = (-(2**63), 2**63 - 1)
_ENUM_NAMES = {
    "buyer": "Buyer",
    "seller": "Seller",
    "split": "Split",
    "down": "Down",
    "up": "Up",
    "half_even": "HalfEven",
}


def _discriminator(name: str) -> bytes:
    return hashlib.sha256(f"global:{name}".encode()).digest()[:8]


_PLACE_ORDER, _CREDIT_ORDERS, _CLAIM = (_discriminator(n) for n in ("place_order", "credit_orders", "claim"))


def result_heads(results: Sequence[tuple[Pubkey, int]]) -> list[bytes]:
    """The hash chain the operator posts and crediting walks, over `(order address, filled lots)`:
    `heads[n]` is all zeroes and `heads[i] = sha256(order_address || filled u64 LE || heads[i + 1])`;
    `heads[0]` is posted, and crediting results `[i, j)` names `heads[j]`."""
    heads = [ZERO_HASH]
    for address, filled in reversed(results):
        record = bytes(address) + _U64.pack(check_amount(filled, "filled"))
        heads.append(hashlib.sha256(record + heads[-1]).digest())
    heads.reverse()
    return heads


def escrow(market: Market, side: int, price: int, qty: int, *, fee_bps: int | None = None) -> tuple[int, int]:
    """What placing an order escrows, (GRID, payment) base units: the program's worst case a lot
    (`amounts::escrow`), the fee rounded up and charged whole to the side that pays any of it. A
    sell escrows its GRID and, at a negative limit, what it may pay; a buy its limit plus fee.
    `fee_bps` is the epoch's (governance's when it opened); the market's by default."""
    sells = side == -1
    charged, spared = ("seller", "buyer") if sells else ("buyer", "seller")
    payer = spared if market.fee_payer == spared else charged
    bps = market.fee_bps if fee_bps is None else fee_bps
    buyer_pays, seller_receives, _, _ = _core.split_trade(price * market.tick, fee_bps=bps, payer=payer, rounding="up")
    if sells:
        return qty * market.lot, qty * max(-seller_receives, 0)
    return 0, qty * max(buyer_pays, 0)


def dues(
    market: Market,
    side: int,
    qty_filled: int,
    price: int,
    grid_escrow: int,
    payment_escrow: int,
    *,
    fee_bps: int | None = None,
) -> tuple[int, int, int]:
    """(grid_due, payment_due, fee) the program credits an order (`side` 1 buy, -1 sell) filled
    `qty_filled` lots at `price` ticks: the core's split of the order's own notional, with the
    market's fee payer and rounding. A buy is owed its lots and what its escrow did not pay, a
    sell what its GRID escrow did not deliver and its escrow plus what it receives; `fee` is the
    order's own side of the fee. A due the program would refuse (its escrow short, or over a
    u64) is `ChainRequestInvalid`."""
    bps = market.fee_bps if fee_bps is None else fee_bps
    notional = qty_filled * price * market.tick
    buyer_pays, seller_receives, buyer_fee, seller_fee = _core.split_trade(
        notional, fee_bps=bps, payer=market.fee_payer, rounding=market.fee_rounding
    )
    if side == 1:
        grid_due, payment_due, fee = qty_filled * market.lot, payment_escrow - buyer_pays, buyer_fee
    else:
        grid_due, payment_due, fee = grid_escrow - qty_filled * market.lot, payment_escrow + seller_receives, seller_fee
    for field, due in (("grid_due", grid_due), ("payment_due", payment_due)):
        if not 0 <= due <= MAX_AMOUNT:
            message = f"{field} = {due}: outside [0, 2**64 - 1], the program refuses the credit"
            raise ChainRequestInvalid(message, field=field, value=due)
    return grid_due, payment_due, fee


def _check_i64(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not _I64[0] <= value <= _I64[1]:
        raise ChainRequestInvalid(
            f"{field} must be an integer in [-2**63, 2**63 - 1], got {value!r}", field=field, value=value
        )
    return value


def _side(side: int) -> int:
    """The program's `Side` of the engine's side (1 buy, -1 sell)."""
    if isinstance(side, bool) or side not in (1, -1):
        raise ChainRequestInvalid(f"side must be 1 (buy) or -1 (sell), got {side!r}", field="side", value=side)
    return 0 if side == 1 else 1


def _hash(value: bytes, field: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ChainRequestInvalid(f"{field} must be 32 bytes, got {value!r}", field=field, value=value)
    return value


@dataclass(frozen=True)
class Trader:
    """A participant's wallet and its GRID and payment token accounts (the associated ones)."""

    wallet: Pubkey
    grid: Pubkey
    payment: Pubkey


@dataclass(frozen=True)
class OrderRef:
    """An order on chain as the instructions that move its escrow need it."""

    epoch_id: int
    order_id: int
    trader: Trader


def _pda(program: str, *seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), programs.program_id(program))[0]


def _meta(pubkey: Pubkey, *, writable: bool = False, signer: bool = False) -> AccountMeta:
    return AccountMeta(pubkey, is_signer=signer, is_writable=writable)


class TradingMarket:
    """One market of the trading program: its accounts, and a builder for each instruction."""

    def __init__(
        self,
        market: Market,
        *,
        market_id: int,
        operator: Pubkey,
        grid_mint: Pubkey,
        payment_mint: Pubkey,
        treasury: Pubkey,
    ) -> None:
        self.market = market
        self.market_id = market_id
        self.operator = operator
        self.grid_mint = grid_mint
        self.payment_mint = payment_mint
        #: The payment token account that receives the fees.
        self.treasury = treasury
        self.program = programs.client("trading")
        self.program_id = programs.program_id("trading")
        self.address = _pda("trading", b"market", _U64.pack(market_id))
        self.grid_vault = _pda("trading", b"vault", bytes(self.address), bytes(grid_mint))
        self.payment_vault = _pda("trading", b"vault", bytes(self.address), bytes(payment_mint))
        self.governance = _pda("governance", b"governance")

    # -- addresses -----------------------------------------------------------------------

    def trader(self, wallet: Pubkey) -> Trader:
        return Trader(
            wallet,
            associated_token_address(wallet, self.grid_mint),
            associated_token_address(wallet, self.payment_mint),
        )

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one market, a bounded cache of hashes)
    def epoch(self, epoch_id: int) -> Pubkey:
        return _pda("trading", b"epoch", bytes(self.address), _U64.pack(epoch_id))

    def order(self, epoch_id: int, owner: Pubkey, order_id: int) -> Pubkey:
        return _pda("trading", b"order", bytes(self.epoch(epoch_id)), bytes(owner), _U64.pack(order_id))

    def order_address(self, ref: OrderRef) -> Pubkey:
        return self.order(ref.epoch_id, ref.trader.wallet, ref.order_id)

    @staticmethod
    def participant(wallet: Pubkey) -> Pubkey:
        """The trader's registry account, which placing an order checks (registered, active)."""
        return _pda("registry", b"participant", bytes(wallet))

    def static_addresses(self) -> list[Pubkey]:
        """Every account each placement, credit and claim names besides the trader's, for an
        address lookup table."""
        return [
            self.address,
            self.governance,
            self.grid_vault,
            self.payment_vault,
            self.treasury,
            self.grid_mint,
            self.payment_mint,
            TOKEN_PROGRAM_ID,
            SYSTEM_PROGRAM_ID,
            self.program_id,
        ]

    # -- instructions through anchorpy ---------------------------------------------------

    def _ix(self, name: str, *args: Any, accounts: dict[str, Pubkey]) -> Instruction:
        ix: Instruction = self.program.instruction[name](*args, ctx=Context(accounts=accounts))
        return ix

    def _enum(self, name: str, value: str) -> Any:
        return getattr(self.program.type[name], _ENUM_NAMES[value])()

    def initialize_ix(self, authority: Pubkey, *, settle_deadline: int) -> Instruction:
        """Signed by a governance authority, which pays the market's and the vaults' rent."""
        m = self.market
        accounts = {
            "market": self.address,
            "grid_mint": self.grid_mint,
            "payment_mint": self.payment_mint,
            "grid_vault": self.grid_vault,
            "payment_vault": self.payment_vault,
            "treasury": self.treasury,
            "governance": self.governance,
            "authority": authority,
            "system_program": SYSTEM_PROGRAM_ID,
            "token_program": TOKEN_PROGRAM_ID,
        }
        args = (
            self.market_id,
            self.operator,
            m.lot,
            m.tick,
            self._enum("FeePayer", m.fee_payer),
            self._enum("Rounding", m.fee_rounding),
            m.epoch_seconds,
            settle_deadline,
        )
        return self._ix("initialize_market", *args, accounts=accounts)

    def update_market_ix(
        self, authority: Pubkey, *, operator: Pubkey, treasury: Pubkey, epoch_seconds: int, settle_deadline: int
    ) -> Instruction:
        """Signed by a governance authority. This object keeps its operator and treasury: build a
        new one once the update landed."""
        accounts = {"market": self.address, "treasury": treasury, "governance": self.governance, "authority": authority}
        return self._ix("update_market", operator, epoch_seconds, settle_deadline, accounts=accounts)

    def open_epoch_ix(self, epoch_id: int) -> Instruction:
        accounts = {
            "market": self.address,
            "epoch": self.epoch(epoch_id),
            "governance": self.governance,
            "operator": self.operator,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return self._ix("open_epoch", epoch_id, accounts=accounts)

    def cancel_ix(
        self, order: OrderRef, *, grid_destination: Pubkey | None = None, payment_destination: Pubkey | None = None
    ) -> Instruction:
        """Signed by the order's owner while its epoch is open: the whole escrow goes to the
        destinations (the trader's own token accounts by default)."""
        accounts = {
            "market": self.address,
            "epoch": self.epoch(order.epoch_id),
            "order": self.order_address(order),
            "owner": order.trader.wallet,
            "grid_destination": grid_destination or order.trader.grid,
            "payment_destination": payment_destination or order.trader.payment,
            "grid_vault": self.grid_vault,
            "payment_vault": self.payment_vault,
            "grid_mint": self.grid_mint,
            "payment_mint": self.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
        }
        return self._ix("cancel_order", accounts=accounts)

    def close_epoch_ix(self, epoch_id: int) -> Instruction:
        accounts = {"market": self.address, "epoch": self.epoch(epoch_id), "operator": self.operator}
        return self._ix("close_epoch", accounts=accounts)

    def post_result_ix(self, epoch_id: int, price: int, volume: int, count: int, head: bytes) -> Instruction:
        """Commits to the result: `count` orders filled, `head` the chain's (`result_heads(...)[0]`)."""
        accounts = {
            "market": self.address,
            "epoch": self.epoch(epoch_id),
            "operator": self.operator,
            "governance": self.governance,
        }
        return self._ix("post_result", price, volume, count, list(_hash(head, "head")), accounts=accounts)

    def abandon_ix(self, epoch_id: int, caller: Pubkey) -> Instruction:
        """Signed by `caller`: a governance authority at any time, anyone once the deadline passed."""
        accounts = {
            "market": self.address,
            "epoch": self.epoch(epoch_id),
            "governance": self.governance,
            "caller": caller,
        }
        return self._ix("abandon_epoch", accounts=accounts)

    def withdraw_fees_ix(self) -> Instruction:
        """The fees of finalised epochs to the treasury; anyone may send it."""
        accounts = {
            "market": self.address,
            "payment_vault": self.payment_vault,
            "treasury": self.treasury,
            "payment_mint": self.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
        }
        return self._ix("withdraw_fees", accounts=accounts)

    # -- instructions by hand (once per order) ---------------------------------------------

    def place_ix(self, order: OrderRef, side: int, price: int, qty: int) -> Instruction:
        """Signed by the trader's wallet, which pays the order account's rent (back when it
        closes). The order records the trader's token accounts for cranked claims."""
        data = _PLACE.pack(
            _PLACE_ORDER,
            check_amount(order.order_id, "order_id"),
            _side(side),
            _check_i64(price, "price"),
            check_amount(qty, "qty"),
        )
        wallet = order.trader.wallet
        accounts = [
            _meta(self.address),
            _meta(self.epoch(order.epoch_id), writable=True),
            _meta(self.order_address(order), writable=True),
            _meta(self.participant(wallet)),
            _meta(self.governance),
            _meta(wallet, writable=True, signer=True),
            _meta(order.trader.grid, writable=True),
            _meta(order.trader.payment, writable=True),
            _meta(self.grid_vault, writable=True),
            _meta(self.payment_vault, writable=True),
            _meta(self.grid_mint),
            _meta(self.payment_mint),
            _meta(TOKEN_PROGRAM_ID),
            _meta(SYSTEM_PROGRAM_ID),
        ]
        return Instruction(self.program_id, data, accounts)

    def credit_ix(self, epoch_id: int, results: Sequence[tuple[Pubkey, int]], next_hash: bytes) -> Instruction:
        """Credits the next `results` of the posted chain, each (order address, filled lots);
        `next_hash` is the chain's head after them (`ZERO_HASH` after the last). Anyone signs."""
        filled = [check_amount(lots, "filled") for _, lots in results]
        data = b"".join(
            (_CREDIT.pack(_CREDIT_ORDERS, len(filled)), *map(_U64.pack, filled), _hash(next_hash, "next_hash"))
        )
        accounts = [
            _meta(self.address, writable=True),
            _meta(self.epoch(epoch_id), writable=True),
            _meta(self.governance),
            *(_meta(address, writable=True) for address, _ in results),
        ]
        return Instruction(self.program_id, data, accounts)

    def claim_ix(
        self, order: OrderRef, *, grid_destination: Pubkey | None = None, payment_destination: Pubkey | None = None
    ) -> Instruction:
        """Pays a finalised or abandoned epoch's order what it is owed and closes it. Without
        destinations anyone may send it (to the token accounts the order recorded: the trader's
        own); with either, the owner signs and the tokens go where it says."""
        redirected = grid_destination is not None or payment_destination is not None
        accounts = [
            _meta(self.address),
            _meta(self.epoch(order.epoch_id), writable=True),
            _meta(self.order_address(order), writable=True),
            _meta(order.trader.wallet, writable=True, signer=redirected),
            _meta(grid_destination or order.trader.grid, writable=True),
            _meta(payment_destination or order.trader.payment, writable=True),
            _meta(self.grid_vault, writable=True),
            _meta(self.payment_vault, writable=True),
            _meta(self.grid_mint),
            _meta(self.payment_mint),
            _meta(TOKEN_PROGRAM_ID),
        ]
        return Instruction(self.program_id, _CLAIM, accounts)

    # -- state -----------------------------------------------------------------------------

    def decode(self, account: str, data: bytes) -> Any:
        """`data` as the program's `Market`, `Epoch` or `Order`."""
        return programs.decode("trading", account, data)


__all__ = ["ZERO_HASH", "OrderRef", "Trader", "TradingMarket", "dues", "escrow", "result_heads"]
