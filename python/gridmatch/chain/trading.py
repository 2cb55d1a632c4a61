"""The trading program's client (programs/trading): its addresses, its instructions built from its
IDL with anchorpy, the hash chain its fills are posted as, and what an order escrows.

Addresses: the market `["market", market_id]`, its vaults `["vault", market, mint]`, an epoch
`["epoch", market, epoch_id]`, an order `["order", epoch, order_id]` (all under the trading
program); a trader's registry account `["participant", owner]` (registry); the governance config
`["governance"]` (governance).
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
from gridmatch.chain.spl import TOKEN_PROGRAM_ID, associated_token_address
from gridmatch.market import Market
from gridmatch.settlement import FillRow

#: The end of the fills' hash chain, and the hash of an epoch without fills.
ZERO_HASH = bytes(32)
_FILL_RECORD = struct.Struct("<QQQq")  # buy order id, sell order id, qty (lots), price (ticks)
_U64 = struct.Struct("<Q")
_ENUM_NAMES = {"buyer": "Buyer", "seller": "Seller", "split": "Split", "down": "Down", "up": "Up"}


def fill_heads(fills: Sequence[FillRow]) -> list[bytes]:
    """The hash chain the operator posts and settlement walks: `heads[len(fills)]` is all
    zeroes and `heads[i] = sha256(record(fills[i]) || heads[i + 1])`; `heads[0]` is posted, and
    settling fills `[i, j)` names `heads[j]`, so the program checks each fill against it."""
    heads = [ZERO_HASH]
    for buy_id, sell_id, _, _, qty, price in reversed(fills):
        heads.append(hashlib.sha256(_FILL_RECORD.pack(buy_id, sell_id, qty, price) + heads[-1]).digest())
    heads.reverse()
    return heads


def escrow(market: Market, side: int, price: int, qty: int) -> tuple[int, int]:
    """What placing an order escrows, (GRID, payment) base units: the program's worst case a lot
    (`amounts::escrow`), the fee rounded up and charged whole to the side that pays any of it. A
    sell escrows its GRID and, at a negative limit, what it may pay; a buy its limit plus fee."""
    sells = side == -1
    charged, spared = ("seller", "buyer") if sells else ("buyer", "seller")
    payer = spared if market.fee_payer == spared else charged
    buyer_pays, seller_receives, _, _ = _core.split_trade(
        price * market.tick, fee_bps=market.fee_bps, payer=payer, rounding="up"
    )
    if sells:
        return qty * market.lot, qty * max(-seller_receives, 0)
    return 0, qty * max(buyer_pays, 0)


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

    def order(self, epoch_id: int, order_id: int) -> Pubkey:
        return _pda("trading", b"order", bytes(self.epoch(epoch_id)), _U64.pack(order_id))

    @staticmethod
    def participant(wallet: Pubkey) -> Pubkey:
        """The trader's registry account, which placing an order checks (registered, active)."""
        return _pda("registry", b"participant", bytes(wallet))

    def static_addresses(self) -> list[Pubkey]:
        """Every account each settlement names, for an address lookup table."""
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
            programs.program_id("trading"),
        ]

    # -- instructions --------------------------------------------------------------------

    def _ix(
        self, name: str, *args: Any, accounts: dict[str, Pubkey], remaining: Sequence[AccountMeta] = ()
    ) -> Instruction:
        ctx = Context(accounts=accounts, remaining_accounts=list(remaining))
        ix: Instruction = self.program.instruction[name](*args, ctx=ctx)
        return ix

    def _enum(self, name: str, variant: str) -> Any:
        return getattr(self.program.type[name], variant)()

    def initialize_ix(self, authority: Pubkey) -> Instruction:
        m = self.market
        rounding = {"half_even": "HalfEven"}.get(m.fee_rounding) or _ENUM_NAMES[m.fee_rounding]
        accounts = {
            "market": self.address,
            "grid_mint": self.grid_mint,
            "payment_mint": self.payment_mint,
            "grid_vault": self.grid_vault,
            "payment_vault": self.payment_vault,
            "treasury": self.treasury,
            "authority": authority,
            "system_program": SYSTEM_PROGRAM_ID,
            "token_program": TOKEN_PROGRAM_ID,
        }
        args = (
            self.market_id,
            self.operator,
            m.lot,
            m.tick,
            m.fee_bps,
            self._enum("FeePayer", _ENUM_NAMES[m.fee_payer]),
            self._enum("Rounding", rounding),
            m.epoch_seconds,
        )
        return self._ix("initialize_market", *args, accounts=accounts)

    def open_epoch_ix(self, epoch_id: int) -> Instruction:
        accounts = {
            "market": self.address,
            "epoch": self.epoch(epoch_id),
            "operator": self.operator,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return self._ix("open_epoch", epoch_id, accounts=accounts)

    def place_ix(self, order: OrderRef, side: int, price: int, qty: int) -> Instruction:
        """Signed by the trader's wallet, which pays the order account's rent (refunded with it)."""
        accounts = {
            **self._release_accounts(order),  # anchorpy orders accounts by the IDL, not by the dict
            "participant": self.participant(order.trader.wallet),
            "governance": self.governance,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        side_name = "Buy" if side == 1 else "Sell"
        return self._ix("place_order", order.order_id, self._enum("Side", side_name), price, qty, accounts=accounts)

    def _release_accounts(self, order: OrderRef) -> dict[str, Pubkey]:
        """The accounts of everything that moves an order's escrow in or out."""
        return {
            "market": self.address,
            "epoch": self.epoch(order.epoch_id),
            "order": self.order(order.epoch_id, order.order_id),
            "owner": order.trader.wallet,
            "grid_account": order.trader.grid,
            "payment_account": order.trader.payment,
            "grid_vault": self.grid_vault,
            "payment_vault": self.payment_vault,
            "grid_mint": self.grid_mint,
            "payment_mint": self.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
        }

    def cancel_ix(self, order: OrderRef) -> Instruction:
        """Signed by the order's owner, while its epoch is open: the whole escrow goes back."""
        return self._ix("cancel_order", accounts=self._release_accounts(order))

    def refund_ix(self, order: OrderRef) -> Instruction:
        """Once the epoch is settled (anyone may send it): what the order did not spend goes back."""
        return self._ix("refund_order", accounts=self._release_accounts(order))

    def close_epoch_ix(self, epoch_id: int) -> Instruction:
        accounts = {"market": self.address, "epoch": self.epoch(epoch_id), "operator": self.operator}
        return self._ix("close_epoch", accounts=accounts)

    def post_result_ix(self, epoch_id: int, price: int, volume: int, count: int, head: bytes) -> Instruction:
        accounts = {
            "market": self.address,
            "epoch": self.epoch(epoch_id),
            "operator": self.operator,
            "governance": self.governance,
        }
        return self._ix("post_result", price, volume, count, list(head), accounts=accounts)

    def settle_ix(
        self, epoch_id: int, start: int, fills: Sequence[tuple[OrderRef, OrderRef, int, int]], next_hash: bytes
    ) -> Instruction:
        """Settles posted fills `start, start + 1, ...`, each (bid, ask, qty, price); `next_hash`
        is the chain's head after them."""
        accounts = {
            "market": self.address,
            "epoch": self.epoch(epoch_id),
            "operator": self.operator,
            "governance": self.governance,
            "grid_vault": self.grid_vault,
            "payment_vault": self.payment_vault,
            "treasury": self.treasury,
            "grid_mint": self.grid_mint,
            "payment_mint": self.payment_mint,
            "token_program": TOKEN_PROGRAM_ID,
        }
        remaining = []
        for bid, ask, _, price in fills:
            payee = ask.trader.payment if price >= 0 else bid.trader.payment  # a negative price pays the buyer
            remaining += [
                AccountMeta(self.order(epoch_id, bid.order_id), False, True),
                AccountMeta(self.order(epoch_id, ask.order_id), False, True),
                AccountMeta(bid.trader.grid, False, True),
                AccountMeta(payee, False, True),
            ]
        args = [self.program.type["Fill"](qty=qty, price=price) for _, _, qty, price in fills]
        return self._ix("settle_fills", start, args, list(next_hash), accounts=accounts, remaining=remaining)

    # -- state -----------------------------------------------------------------------------

    def decode(self, account: str, data: bytes) -> Any:
        """`data` as the program's `Market`, `Epoch` or `Order`."""
        return programs.decode("trading", account, data)


__all__ = ["ZERO_HASH", "OrderRef", "Trader", "TradingMarket", "escrow", "fill_heads"]
