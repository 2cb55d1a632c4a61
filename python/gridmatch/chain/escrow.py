"""Settlement through the trading program (escrow mode): the funds of each order are held by the
program from the moment the order is accepted, and the operator can move only what the posted
clearing result allows.

- `OrderEscrow` is the epoch engine's `Escrow`: accepting an order places it on chain, signed by
  its trader (opening the epoch there first), which escrows its worst case in the market's vaults.
- `ProgramSettler` is the engine's `Settler`: a cleared epoch becomes batches of transactions,
  each journaled before it is sent like any other: first the epoch is closed and its result
  posted (price, volume, fill count, head of the fills' hash chain), then the fills are settled
  in order, as many a transaction as fit, then every order is refunded what it did not spend.
  A settlement batch journals the transfers its fills amount to, so the engine's accounting
  (`balances_moved`, the funds checks) reads the same in both modes.

A batch's instructions are rebuilt from the journal (the epoch's orders and fills) whenever it is
signed: the plan is a pure function of them, so after a crash the same batch gets the same
instructions, and its id (derived from its content) is checked to be sure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from gridmatch.chain.base import MAX_COMPUTE_UNITS, Chain, ChainRequestInvalid
from gridmatch.chain.settler import ChainSender
from gridmatch.chain.trading import OrderRef, TradingMarket, escrow, fill_heads
from gridmatch.epochs import InsufficientFunds
from gridmatch.journal import Attempt, Journal, OrderRecord
from gridmatch.settlement import Batch, FillRow, Transfer, batch_id, memo, pack, transfers


@dataclass(frozen=True)
class _Step:
    batch: Batch
    instructions: tuple[Instruction, ...]
    compute_units: int | None


class ProgramSettler(ChainSender):
    """The epoch engine's `Settler` through the trading program; see the module docstring.
    `wallets` maps each participant to its wallet. The engine hands over its journal (`bind`)."""

    def __init__(
        self,
        chain: Chain,
        trading: TradingMarket,
        wallets: Mapping[int, Pubkey],
        *,
        lookup_tables: Sequence[Pubkey] = (),
    ) -> None:
        super().__init__(chain, lookup_tables)
        self.trading = trading
        self.wallets = dict(wallets)
        self.journal: Journal | None = None
        self._steps: dict[int, list[_Step]] = {}  # the last epoch planned, kept for its signing

    def bind(self, journal: Journal) -> None:
        self.journal = journal

    def plan(self, epoch: int, fills: Sequence[FillRow]) -> list[Batch]:
        return [step.batch for step in self._plan(epoch, fills)]

    def prepare(self, batch: Batch) -> Attempt:
        steps = self._steps.get(batch.epoch)
        if steps is None:
            steps = self._plan(batch.epoch, self._journal().fills(batch.epoch))
        if batch.idx >= len(steps) or steps[batch.idx].batch.id != batch.id:
            message = f"batch {batch.id} of epoch {batch.epoch} is not what its orders and fills plan"
            raise ChainRequestInvalid(message, field="batch", value=batch.id)
        step = steps[batch.idx]
        return self.attempt(step.instructions, batch.memo, step.compute_units)

    def _journal(self) -> Journal:
        if self.journal is None:
            raise ChainRequestInvalid("the settler has no journal: pass it to an EpochManager", field="journal")
        return self.journal

    def _plan(self, epoch: int, fills: Sequence[FillRow]) -> list[_Step]:
        orders = self._journal().orders(epoch)
        if not orders:  # nothing was placed: the epoch was never opened on chain
            return []
        t = self.trading
        refs = {o.id: OrderRef(epoch, o.id, t.trader(self.wallets[o.trader])) for o in orders}
        heads = fill_heads(fills)
        price = fills[0][5] if fills else 0
        volume = sum(f[4] for f in fills)
        sizing_memo = memo(epoch, 0, "0" * 32)  # every memo of the epoch has this length
        groups: list[tuple[list[Instruction], tuple[Transfer, ...], int | None]] = [
            ([t.close_epoch_ix(epoch), t.post_result_ix(epoch, price, volume, len(fills), heads[0])], (), None)
        ]

        def settle(i: int, j: int) -> list[Instruction]:
            run = [(refs[f[0]], refs[f[1]], f[4], f[5]) for f in fills[i:j]]
            return [t.settle_ix(epoch, i, run, heads[j])]

        refunds = [t.refund_ix(refs[o.id]) for o in orders]  # each built once, however often sized

        def refund(i: int, j: int) -> list[Instruction]:
            return refunds[i:j]

        def fits(ixs: list[Instruction]) -> bool:
            return self.chain.fits(
                ixs, memo=sizing_memo, lookup_tables=self.lookup_tables, compute_units=MAX_COMPUTE_UNITS
            )

        for i, j in pack(len(fills), lambda i, j: fits(settle(i, j))):
            groups.append((settle(i, j), tuple(transfers(fills[i:j], t.market)), MAX_COMPUTE_UNITS))
        for i, j in pack(len(orders), lambda i, j: fits(refund(i, j))):
            groups.append((refund(i, j), (), MAX_COMPUTE_UNITS))
        steps = []
        for k, (ixs, moved, units) in enumerate(groups):
            batch = Batch(_step_id(t, epoch, k, moved, ixs), epoch, k, moved)
            steps.append(_Step(batch, tuple(ixs), units))
        self._steps = {epoch: steps}
        return steps


def _step_id(
    trading: TradingMarket, epoch: int, idx: int, moved: Sequence[Transfer], ixs: Sequence[Instruction]
) -> str:
    """A batch's id from everything it sends (the instructions' bytes, not only the transfers
    they amount to): a batch rebuilt from a journal that changed since can never pass for it."""
    digest = hashlib.sha256(batch_id(trading.market, epoch, idx, moved).encode())
    for ix in ixs:
        digest.update(bytes(ix))
    return digest.hexdigest()[:32]


class OrderEscrow:
    """The epoch engine's `Escrow` through the trading program: `place` puts an accepted order
    on chain, signed by its trader's key (`keys`), opening its epoch there if needed. Refuses
    with `InsufficientFunds` (changing nothing) when the trader's token account holds less than
    the order escrows; a refusal by the chain raises `TransactionFailed`."""

    def __init__(self, chain: Chain, trading: TradingMarket, keys: Mapping[int, Keypair]) -> None:
        self.chain = chain
        self.trading = trading
        self.keys = dict(keys)

    def place(self, order: OrderRecord) -> None:
        t = self.trading
        key = self.keys[order.trader]
        trader = t.trader(key.pubkey())
        grid, payment = escrow(t.market, order.side, order.price, order.qty)
        held_grid, held_payment = self.chain.token_balances([trader.grid, trader.payment])
        if grid > held_grid or payment > held_payment:
            message = (
                f"participant {order.trader} escrows {grid} GRID and {payment} payment base units; "
                f"holds {held_grid} and {held_payment}"
            )
            raise InsufficientFunds(message, field="funds", value=order.trader)
        ref = OrderRef(order.epoch, order.id, trader)
        epoch_account, order_account = self.chain.account_data([t.epoch(order.epoch), t.order(order.epoch, order.id)])
        if order_account is not None:
            self._cancel_orphan(order.epoch, order.id, order_account)
        ixs = [] if epoch_account is not None else [t.open_epoch_ix(order.epoch)]
        self.chain.send([*ixs, t.place_ix(ref, order.side, order.price, order.qty)], signers=[key])

    def _cancel_orphan(self, epoch: int, order_id: int, data: bytes) -> None:
        """An order on chain under an id the journal has not given out: placed just before a
        crash that lost its journal row, so never acknowledged. Its owner gets it all back."""
        owner = self.trading.decode("Order", data).owner
        key = next((k for k in self.keys.values() if k.pubkey() == owner), None)
        if key is None:  # not one of ours: the id is taken on chain, and only its owner may cancel
            message = f"order {order_id} of epoch {epoch} is on chain already, placed by {owner}"
            raise ChainRequestInvalid(message, field="order_id", value=order_id)
        self.chain.send([self.trading.cancel_ix(OrderRef(epoch, order_id, self.trading.trader(owner)))], signers=[key])


__all__ = ["OrderEscrow", "ProgramSettler"]
