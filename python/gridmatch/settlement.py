"""Settlement planning: fills become transfers, transfers become batches.

A fill of `qty` lots at `price` ticks moves `qty * lot` GRID base units from seller to buyer and
its notional (`qty * price * tick` payment base units; negative prices move it the other way)
from buyer to seller, and the fee (the core's arithmetic, rounded once) from its payer to the
treasury. With netting, each participant's flows of one epoch are summed first, so a
participant who both bought and sold moves only the difference.

Through the trading program (program mode) each order settles on its own against the market's
vaults (participant `VAULT`) at the epoch's uniform price: its own notional split once, so one
fee rounding per order, not per fill (`order_flows`).

Every amount is an integer and every plan is deterministic: the same fills give the same
transfers, batches and batch ids, so a retry after a crash rebuilds exactly what was journaled.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gridmatch.journal import OrderRecord
from gridmatch.market import Market

GRID = "grid"
PAYMENT = "payment"
#: The participant id of the platform treasury, which receives the fees.
TREASURY = 0
#: The participant id of the trading program's vaults (program mode): the counterparty of every
#: order at the uniform price, which holds the fees until they are withdrawn to the treasury.
VAULT = -1


class TxStatus(enum.Enum):
    """Where a transaction stands, as far as the chain knows."""

    CONFIRMED = "confirmed"  # landed and succeeded, at the chain's commitment
    FAILED = "failed"  # landed and failed: nothing in it took effect
    PENDING = "pending"  # seen, not yet at the chain's commitment
    UNKNOWN = "unknown"  # the chain has no record of it


#: (buy_id, sell_id, buyer, seller, qty, price) of one fill.
FillRow = tuple[int, int, int, int, int, int]


@dataclass(frozen=True, order=True)
class Transfer:
    """`amount` base units of `mint` ("grid" or "payment") from participant `source` to `dest`."""

    mint: str
    source: int
    dest: int
    amount: int

    def row(self) -> list[str | int]:
        return [self.mint, self.source, self.dest, self.amount]


@dataclass(frozen=True)
class ClearedEpoch:
    """An epoch's clearing, whole, as the engine hands it to its settler: the book it cleared
    (every acknowledged order its owner did not cancel on chain, each with the lots it filled),
    the price, volume and fills, and the order ids the chain holds in no book (taken: each
    `(order id, trader)`, its escrow claimed back whole). The settler reads nothing else."""

    epoch: int
    price: int | None
    volume: int
    orders: tuple[OrderRecord, ...]
    fills: tuple[FillRow, ...]
    taken: tuple[tuple[int, int], ...] = ()


def flows(fills: Iterable[FillRow], market: Market) -> dict[tuple[str, int], int]:
    """Each (mint, participant)'s net change over `fills`: negative pays, positive receives.
    Every mint's changes sum to zero."""
    net: dict[tuple[str, int], int] = defaultdict(int)
    for _, _, buyer, seller, qty, price in fills:
        grid = market.grid_units(qty)
        net[GRID, seller] -= grid
        net[GRID, buyer] += grid
        buyer_pays, seller_receives, buyer_fee, seller_fee = market.split(market.notional(qty, price))
        net[PAYMENT, buyer] -= buyer_pays
        net[PAYMENT, seller] += seller_receives
        net[PAYMENT, TREASURY] += buyer_fee + seller_fee
    return {key: amount for key, amount in net.items() if amount}


def one_side(market: Market, side: int, lots: int, price: int) -> tuple[int, int, int]:
    """One side (1 buy, -1 sell) of a trade of `lots` at `price`, its notional split on its own
    by the core's fee arithmetic: its trader's GRID change, payment change, and the fee it pays.
    A fill's two sides split the same notional, so they round its fee once between them."""
    buyer_pays, seller_receives, buyer_fee, seller_fee = market.split(market.notional(lots, price))
    grid = market.grid_units(lots)
    if side == 1:
        return grid, -buyer_pays, buyer_fee
    return -grid, seller_receives, seller_fee


def order_flows(orders: Iterable[tuple[int, int, int]], price: int, market: Market) -> dict[tuple[str, int], int]:
    """Each (mint, participant)'s net change when every order (trader, side, lots filled) settles
    on its own at the uniform `price`, as the trading program credits it (`one_side`: one fee
    rounding per order, not per fill), the fees to the treasury. Every mint's changes sum to
    zero when the buys' lots equal the sells'."""
    net: dict[tuple[str, int], int] = defaultdict(int)
    for trader, side, filled in orders:
        grid, payment, fee = one_side(market, side, filled, price)
        net[GRID, trader] += grid
        net[PAYMENT, trader] += payment
        net[PAYMENT, TREASURY] += fee
    return {key: amount for key, amount in net.items() if amount}


def transfers(fills: Sequence[FillRow], market: Market, *, netting: bool = False) -> list[Transfer]:
    """The transfers that settle `fills`: per fill (GRID, notional, each fee), or with `netting`
    the fewest that move each participant's net change (at most one fewer than the
    participants with a change, per mint)."""
    if netting:
        return _netted(flows(fills, market))
    out: list[Transfer] = []
    for _, _, buyer, seller, qty, price in fills:
        if buyer == seller:
            out.extend(_netted(flows([(0, 0, buyer, seller, qty, price)], market)))
            continue
        out.append(Transfer(GRID, seller, buyer, market.grid_units(qty)))
        notional = market.notional(qty, price)
        _, _, buyer_fee, seller_fee = market.split(notional)
        if notional > 0:
            out.append(Transfer(PAYMENT, buyer, seller, notional))
        elif notional < 0:
            out.append(Transfer(PAYMENT, seller, buyer, -notional))
        if buyer_fee:
            out.append(Transfer(PAYMENT, buyer, TREASURY, buyer_fee))
        if seller_fee:
            out.append(Transfer(PAYMENT, seller, TREASURY, seller_fee))
    return out


def _netted(net: dict[tuple[str, int], int]) -> list[Transfer]:
    """Pairs payers with receivers, lowest ids first, until every net change is moved."""
    out = []
    for mint in (GRID, PAYMENT):
        payers = sorted([who, -amount] for (m, who), amount in net.items() if m == mint and amount < 0)
        takers = sorted([who, amount] for (m, who), amount in net.items() if m == mint and amount > 0)
        p = t = 0
        while p < len(payers) and t < len(takers):
            amount = min(payers[p][1], takers[t][1])
            out.append(Transfer(mint, payers[p][0], takers[t][0], amount))
            payers[p][1] -= amount
            takers[t][1] -= amount
            p += payers[p][1] == 0
            t += takers[t][1] == 0
    return out


@dataclass(frozen=True)
class Batch:
    """Transfers that go on chain in one transaction. `id` is derived from its content."""

    id: str
    epoch: int
    idx: int
    transfers: tuple[Transfer, ...]

    @property
    def memo(self) -> str:
        """What the transaction carries on chain, so the batch can be recognised there."""
        return memo(self.epoch, self.idx, self.id)


def memo(epoch: int, idx: int, batch: str) -> str:
    """A batch's memo; fixed-length (the index padded), so a plan can size it before the id exists."""
    return f"gridmatch:{epoch}:{idx:05d}:{batch}"


def batch_id(market: Market, epoch: int, idx: int, transfers: Sequence[Transfer]) -> str:
    text = json.dumps([market.name, epoch, idx, [t.row() for t in transfers]], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def pack(n: int, fits: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """Cuts items `0..n` in order into as few runs `[start, end)` as `fits(start, end)` (one
    transaction's limits) lets: each run is the longest that fits (an item that fits nowhere
    goes alone).

    `fits` is monotone (a longer run never fits where a shorter one does not), so each run is
    found by doubling and then halving its length, starting from the length of the run before:
    a plan's items are alike, so most runs take two checks (that length fits, one more does
    not), and none more than a dozen.
    """
    runs: list[tuple[int, int]] = []
    start, last = 0, 1
    while start < n:
        good, bad = 1, None  # a run of `good` fits (or is a lone item); one of `bad` does not
        for probe in (min(last, n - start), min(last + 1, n - start)):
            if bad is None and probe > good:
                if fits(start, start + probe):
                    good = probe
                else:
                    bad = probe
        while bad is None and start + good < n:
            probe = min(2 * good, n - start)
            if fits(start, start + probe):
                good = probe
            else:
                bad = probe
        while bad is not None and bad - good > 1:
            middle = (good + bad) // 2
            if fits(start, start + middle):
                good = middle
            else:
                bad = middle
        runs.append((start, start + good))
        start += good
        last = good
    return runs


def batches(
    market: Market, epoch: int, planned: Sequence[Transfer], fits: Callable[[Sequence[Transfer]], bool]
) -> list[Batch]:
    """Packs transfers in order into as few batches as `fits` (one transaction's limits) lets
    (see `pack`)."""
    runs = pack(len(planned), lambda i, j: fits(planned[i:j]))
    return [
        Batch(batch_id(market, epoch, k, planned[i:j]), epoch, k, tuple(planned[i:j])) for k, (i, j) in enumerate(runs)
    ]


__all__ = [
    "GRID",
    "PAYMENT",
    "TREASURY",
    "VAULT",
    "Batch",
    "ClearedEpoch",
    "FillRow",
    "Transfer",
    "TxStatus",
    "batch_id",
    "batches",
    "flows",
    "memo",
    "one_side",
    "order_flows",
    "pack",
    "transfers",
]
