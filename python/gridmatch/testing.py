"""Tools for property tests of clearing, in your test suite as in ours.

`order_books()` is a hypothesis strategy of `ORDER_DTYPE` books that exercise the hard cases
(duplicated prices, ties in time, market orders, negative and huge prices, huge quantities);
`check_clearing(orders, result)` raises `ClearingInvariantError` naming the first invariant a
result breaks. Install with the `testing` extra (`pip install gridmatch[testing]`); hypothesis is
imported only when `order_books` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from gridmatch.clearing import ClearingResult
from gridmatch.orders import ORDER_DTYPE, OrderArray, as_order_array

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


class ClearingInvariantError(AssertionError):
    """A clearing result breaks an invariant of uniform-price clearing."""


def order_books(
    *,
    min_size: int = 0,
    max_size: int = 40,
    market_orders: bool = True,
    huge: bool = True,
    price_span: int = 60,
) -> SearchStrategy[OrderArray]:
    """A hypothesis strategy of `ORDER_DTYPE` books.

    Limit prices lie within `price_span` ticks of a base that may be 0, negative, or near the
    ends of the int64 range (with `huge`); quantities are small or, with `huge`, up to 2^64 / 64
    so that a side's total still fits in u64; times and prices repeat often; ids are unique but
    not in order. With `market_orders`, some orders are market orders.
    """
    from hypothesis import strategies as st

    bases = [st.integers(-3 * price_span, 3 * price_span)]
    qtys = [st.integers(1, 20), st.integers(1, 1_000)]
    if huge:
        edge = 2**62
        bases += [st.sampled_from([-edge, edge, _I64_MIN + price_span, _I64_MAX - price_span])]
        qtys.append(st.integers(1, 2**58))

    @st.composite
    def books(draw: st.DrawFn) -> OrderArray:
        n = draw(st.integers(min_size, max_size))
        base = draw(st.one_of(bases))
        ids = draw(
            st.lists(
                st.integers(0, 2**64 - 1) if huge else st.integers(0, 10 * max_size + 10),
                min_size=n,
                max_size=n,
                unique=True,
            )
        )
        book = np.zeros(n, dtype=ORDER_DTYPE)
        book["id"] = ids
        for i in range(n):
            book["trader"][i] = draw(st.integers(0, 5))
            book["side"][i] = draw(st.sampled_from([1, -1]))
            book["price"][i] = max(_I64_MIN, min(_I64_MAX, base + draw(st.integers(-price_span, price_span))))
            book["qty"][i] = draw(st.one_of(qtys))
            book["ts"][i] = draw(st.integers(0, max(1, n // 3)))
            book["kind"][i] = 1 if market_orders and draw(st.integers(0, 9)) == 0 else 0
        return book

    return books()


def _fail(message: str) -> NoReturn:
    raise ClearingInvariantError(message)


def _side_groups(book: OrderArray, side: int, price: int) -> list[np.ndarray]:
    """The eligible orders of one side at `price` as index groups in priority order: market
    orders, then limit prices best first; each group in time priority."""
    idx = np.flatnonzero(book["side"] == side)
    market = idx[book["kind"][idx] == 1]
    limit = idx[book["kind"][idx] == 0]
    limits = book["price"][limit]
    limit = limit[(limits >= price) if side == 1 else (limits <= price)]

    def by_time(group: np.ndarray) -> np.ndarray:
        return group[np.lexsort((book["id"][group], book["ts"][group]))]

    groups = [by_time(market)] if len(market) else []
    for level in sorted(set(book["price"][limit].tolist()), reverse=side == 1):
        groups.append(by_time(limit[book["price"][limit] == level]))
    return groups


def demand_supply(orders: Any, price: int) -> tuple[int, int]:
    """D(price) and S(price), computed directly from the orders."""
    book = as_order_array(orders)
    qty, side, market = book["qty"].tolist(), book["side"], book["kind"] == 1
    bids = (side == 1) & (market | (book["price"] >= price))
    asks = (side == -1) & (market | (book["price"] <= price))
    return sum(q for q, b in zip(qty, bids, strict=True) if b), sum(q for q, a in zip(qty, asks, strict=True) if a)


def max_executable_volume(orders: Any, *, min_price: int | None = None, max_price: int | None = None) -> int:
    """The largest min(D(p), S(p)) over all integer prices within the caps. D and S change only
    at limit prices, and between two limit prices V is no larger than at either end, so the
    limit prices within the caps and the caps themselves are the prices worth trying."""
    book = as_order_array(orders)
    lo = _I64_MIN if min_price is None else min_price
    hi = _I64_MAX if max_price is None else max_price
    limits = {p for p in book["price"][book["kind"] == 0].tolist() if lo <= p <= hi}
    candidates = limits | {lo, hi}
    return max(min(demand_supply(book, p)) for p in candidates)


def check_clearing(
    orders: Any,
    result: ClearingResult,
    *,
    min_price: int | None = None,
    max_price: int | None = None,
    allocation: str | None = None,
) -> None:
    """Raises `ClearingInvariantError` when `result` is not a valid uniform-price clearing of
    `orders`: volume below the maximum executable volume (within the caps), a fill through a
    limit, more than one partly filled price level on a side, fills that do not add up, ...
    With `allocation` ("time" or "pro_rata") the marginal level's shares are checked too."""
    book = as_order_array(orders)
    filled = np.asarray(result.filled).astype(object)
    qty = book["qty"].astype(object)
    if len(filled) != len(book):
        _fail(f"filled has {len(filled)} entries for {len(book)} orders")
    if (filled > qty).any():
        i = int(np.argmax(filled > qty))
        _fail(f"order {book['id'][i]} filled {filled[i]} of {qty[i]}")
    best = max_executable_volume(book, min_price=min_price, max_price=max_price)
    if result.price is None:
        if result.volume != 0 or any(filled) or len(result.fills):
            _fail("no price, yet something filled")
        if best:
            _fail(f"no price, yet {best} lots are executable")
        return
    price = result.price
    if (min_price is not None and price < min_price) or (max_price is not None and price > max_price):
        _fail(f"price {price} outside the caps [{min_price}, {max_price}]")
    demand, supply = demand_supply(book, price)
    if (result.demand, result.supply) != (demand, supply):
        _fail(f"D, S at {price} are {demand}, {supply}; the result says {result.demand}, {result.supply}")
    if result.volume != min(demand, supply) or result.volume != best:
        _fail(f"volume {result.volume}; V({price}) = {min(demand, supply)}, maximum executable {best}")
    for side, name in ((1, "buy"), (-1, "sell")):
        mask = book["side"] == side
        total = sum(filled[mask])
        if total != result.volume:
            _fail(f"{name} orders filled {total}, volume is {result.volume}")
        _check_side(book, filled, side, price, allocation)
    _check_fills(book, filled, result, price)
    _check_welfare(book, filled, result, price, capped=min_price is not None or max_price is not None)


def _check_side(book: OrderArray, filled: np.ndarray, side: int, price: int, allocation: str | None) -> None:
    groups = _side_groups(book, side, price)
    eligible = set(np.concatenate(groups).tolist()) if groups else set()
    for i in np.flatnonzero(book["side"] == side).tolist():
        if i not in eligible and filled[i]:
            _fail(f"order {book['id'][i]} filled at {price} through its limit {book['price'][i]}")
    state = "full"  # full -> (one partial level) -> empty
    for group in groups:
        got = [filled[i] for i in group.tolist()]
        want = book["qty"][group].tolist()
        if state == "empty":
            if any(got):
                _fail(f"order {book['id'][group[0]]}'s level filled after a partly filled better level")
        elif got == want:
            continue
        else:
            state = "empty"
            _check_marginal(book, group, got, want, allocation)


def _check_marginal(
    book: OrderArray, group: np.ndarray, got: list[int], want: list[int], allocation: str | None
) -> None:
    shared = sum(got)
    if allocation == "time":
        # A prefix in time priority fills, then at most one partial order, then nothing.
        left = shared
        for i, g, w in zip(group.tolist(), got, want, strict=True):
            take = min(w, left)
            if g != take:
                _fail(f"time priority: order {book['id'][i]} got {g}, expected {take}")
            left -= take
    elif allocation == "pro_rata":
        total = sum(want)
        for i, g, w in zip(group.tolist(), got, want, strict=True):
            floor = w * shared // total
            if not floor <= g <= floor + 1:
                _fail(f"pro rata: order {book['id'][i]} got {g} of {w}; its share is {w * shared / total:.3f}")


def _check_fills(book: OrderArray, filled: np.ndarray, result: ClearingResult, price: int) -> None:
    index = {int(i): pos for pos, i in enumerate(book["id"].tolist())}
    per_order = [0] * len(book)
    for buy_id, sell_id, buyer, seller, q, p in result.fills.tolist():
        b, s = index.get(buy_id), index.get(sell_id)
        if b is None or s is None or book["side"][b] != 1 or book["side"][s] != -1:
            _fail(f"fill {buy_id}->{sell_id} does not pair a buy order with a sell order of the book")
        if (buyer, seller) != (book["trader"][b], book["trader"][s]):
            _fail(f"fill {buy_id}->{sell_id} names traders {buyer}, {seller}")
        if p != price or q <= 0:
            _fail(f"fill {buy_id}->{sell_id}: {q} lots at {p}, clearing price {price}")
        per_order[b] += q
        per_order[s] += q
    if per_order != filled.tolist():
        _fail("fills do not add up to the filled quantities")
    filled_orders = sum(1 for f in per_order if f)
    if filled_orders and len(result.fills) > filled_orders - 1:
        _fail(f"{len(result.fills)} fills for {filled_orders} filled orders")


def _check_welfare(book: OrderArray, filled: np.ndarray, result: ClearingResult, price: int, capped: bool) -> None:
    rows = zip(filled.tolist(), book["price"].tolist(), (book["kind"] == 0).tolist(), strict=True)
    welfare = sum(f * abs(p - price) for f, p, is_limit in rows if is_limit and f)
    if result.welfare != welfare:
        _fail(f"welfare {result.welfare}; the fills give {welfare}")
    if not capped and (book["kind"] == 0).all() and welfare != max_welfare(book):
        _fail(f"welfare {welfare} is below the maximum {max_welfare(book)}")


def max_welfare(orders: Any) -> int:
    """The largest surplus any matching of a limit-only book achieves: the highest bids meet
    the lowest asks while the bid is at least the ask."""
    book = as_order_array(orders)
    rows = list(zip(book["price"].tolist(), book["qty"].tolist(), book["side"].tolist(), strict=True))
    bids = sorted(((p, q) for p, q, s in rows if s == 1), reverse=True)
    asks = sorted((p, q) for p, q, s in rows if s == -1)
    total, b, a = 0, 0, 0
    left_b = bids[0][1] if bids else 0
    left_a = asks[0][1] if asks else 0
    while b < len(bids) and a < len(asks) and bids[b][0] >= asks[a][0]:
        q = min(left_b, left_a)
        total += q * (bids[b][0] - asks[a][0])
        left_b -= q
        left_a -= q
        if not left_b:
            b += 1
            left_b = bids[b][1] if b < len(bids) else 0
        if not left_a:
            a += 1
            left_a = asks[a][1] if a < len(asks) else 0
    return total


__all__ = [
    "ClearingInvariantError",
    "check_clearing",
    "demand_supply",
    "max_executable_volume",
    "max_welfare",
    "order_books",
]
