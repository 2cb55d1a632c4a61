"""The baseline: uniform-price clearing as a quant would write it in plain numpy.

Sort each side once, cumulate the quantities, read D(p) and S(p) off the cumulative sums with
``searchsorted``, pick the price, allocate by ``cumsum``/``clip``. No Rust, no Python loop over
orders. It is what `gridmatch.clear` has to beat to be worth a native core.

What it computes, on an ``ORDER_DTYPE`` book (market orders included):

- the price of the ``midpoint`` rule (README.md, "Price rules"): over all integer ticks, the prices that
  maximise V = min(D, S), among those the ones that minimise |D - S|, forming [lo, hi]; price =
  lo + floor((hi - lo) / 2). D and S only change at limit prices, so it evaluates each distinct
  limit price *and* each run of ticks strictly between two neighbouring limit prices (there D is
  D(right neighbour) and S is S(left neighbour)). Evaluating the limit prices alone would be
  simpler, but its interval can differ from the engine's when the best |D - S| lies between two
  limit prices, and then the midpoint differs; with the runs included price, interval and volume
  equal the engine's on every book whose best prices are bounded.
- per-order ``filled`` lots with time allocation: the short side fills completely; the long side
  fills market orders first, then by price, and within the marginal price level by time (``ts``,
  then ``id``): one sort per side and a ``cumsum``/``clip``.

What it does not do (the engine does): the exchange rule, other k-rules, pro-rata allocation,
price caps (a best interval that runs off the book's limit prices raises ``ValueError``),
bilateral fill records, welfare, input validation. Quantity sums must fit int64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

_FIRST = np.iinfo(np.int64).min  # sort key that puts market orders ahead of every limit order


class Result(NamedTuple):
    price: int | None
    interval: tuple[int, int] | None
    volume: int
    filled: npt.NDArray[np.int64]


def _time_ordered(ts: npt.NDArray[np.uint64], ids: npt.NDArray[np.uint64]) -> bool:
    """True when the rows already are in time priority (ts, then id): then a stable sort by
    price alone keeps time priority within a level, which is much cheaper than a 3-key lexsort."""
    t0, t1 = ts[:-1], ts[1:]
    return bool(np.all((t1 > t0) | ((t1 == t0) & (ids[1:] > ids[:-1]))))


class _Side(NamedTuple):
    rows: npt.NDArray[np.intp]  # row numbers in the book, in priority order (market first)
    key: npt.NDArray[np.int64]  # ascending sort key: _FIRST for market, else -price (bids) / price (asks)
    cum: npt.NDArray[np.int64]  # cum[i] = quantity of the first i orders in priority order

    def upto(self, key: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The quantity of the orders whose key is <= `key`: D(-key) for bids, S(key) for asks."""
        return self.cum[np.searchsorted(self.key, key, side="right")]


def _side(book: npt.NDArray[np.void], mask: npt.NDArray[np.bool_], sign: int, time_ordered: bool) -> _Side:
    rows = np.flatnonzero(mask)
    key = np.where(book["kind"][rows] == 1, _FIRST, sign * book["price"][rows])
    if time_ordered:
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((book["id"][rows], book["ts"][rows], key))
    rows, key = rows[order], key[order]
    cum = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(book["qty"][rows].astype(np.int64), out=cum[1:])
    return _Side(rows, key, cum)


def clear_midpoint(book: npt.NDArray[np.void]) -> Result:
    """Midpoint uniform-price clearing with time allocation of an ``ORDER_DTYPE`` array."""
    n = len(book)
    if n == 0:
        return Result(None, None, 0, np.zeros(0, dtype=np.int64))
    time_ordered = _time_ordered(book["ts"], book["id"])
    buy = book["side"] == 1
    bids = _side(book, buy, -1, time_ordered)
    asks = _side(book, ~buy, 1, time_ordered)

    limit = book["kind"] == 0
    u = np.unique(book["price"][limit])  # the distinct limit prices, ascending
    if len(u) == 0:  # market orders only
        if min(bids.cum[-1], asks.cum[-1]) == 0:
            return Result(None, None, 0, np.zeros(n, dtype=np.int64))
        raise ValueError("market orders only: the price is indeterminate without caps")
    # One tick below and one above every limit price stand for the two unbounded ends.
    u = np.concatenate([[u[0] - 1], u, [u[-1] + 1]])
    d_at, s_at = bids.upto(-u), asks.upto(u)
    gap = np.flatnonzero(np.diff(u) > 1)  # runs u[g]+1 .. u[g+1]-1 between two limit prices
    start = np.concatenate([u, u[gap] + 1])
    end = np.concatenate([u, u[gap + 1] - 1])
    d = np.concatenate([d_at, d_at[gap + 1]])
    s = np.concatenate([s_at, s_at[gap]])
    volume = np.minimum(d, s)
    best_volume = volume.max()
    if best_volume == 0:
        return Result(None, None, 0, np.zeros(n, dtype=np.int64))
    imbalance = np.abs(d - s)
    best = volume == best_volume
    best &= imbalance == imbalance[best].min()
    lo, hi = int(start[best].min()), int(end[best].max())
    if lo == u[0] or hi == u[-1]:
        raise ValueError("the best prices extend beyond the limit prices: needs price caps, not handled here")
    price = lo + (hi - lo) // 2

    filled = np.zeros(n, dtype=np.int64)
    executed = min(int(bids.upto(-price)), int(asks.upto(price)))
    for side, key in ((bids, -price), (asks, price)):
        eligible = int(np.searchsorted(side.key, key, side="right"))
        before = side.cum[:eligible]
        qty = side.cum[1 : eligible + 1] - before
        filled[side.rows[:eligible]] = np.clip(executed - before, 0, qty)
    return Result(price, (lo, hi), executed, filled)
