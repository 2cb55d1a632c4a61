"""A small, obviously-correct uniform-price clearing: the oracle for differential tests.

It follows DESIGN.md section 4 literally and favours clarity over speed: the k-rules look at
every integer tick of a window around the book's limit prices (the window's end ticks stand for
the constant regions beyond the lowest and highest limit). Pure Python ints, no floats.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from sortedcontainers import SortedDict

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
BUY, SELL = 1, -1
LIMIT, MARKET = 0, 1

# The tick-by-tick scan is meant for books whose limits span a few thousand ticks; refuse rather
# than hang when a test hands it something much wider.
MAX_WINDOW_TICKS = 1_000_000

K_RULES = {"midpoint": (1, 2), "marginal_ask": (0, 1), "marginal_bid": (1, 1)}


class IndeterminatePrice(Exception):
    """The best prices extend without bound on a side that has no price cap."""


class MissingReferencePrice(Exception):
    """The exchange rule needs a reference price and none was given."""


@dataclass(frozen=True)
class RefOrder:
    id: int
    trader: int
    side: int  # +1 buy, -1 sell
    price: int  # ignored for market orders
    qty: int
    ts: int
    kind: int  # 0 limit, 1 market


@dataclass(frozen=True)
class RefResult:
    price: int | None
    interval: tuple[int, int] | None
    volume: int
    demand: int
    supply: int
    welfare: int
    filled: list[int]  # aligned with the input orders
    fills: list[tuple[int, int, int, int, int, int]]  # (buy_id, sell_id, buyer, seller, qty, price)


def time_key(o: RefOrder) -> tuple[int, int]:
    return (o.ts, o.id)


class Book:
    """Price ladders of one book, and D(p), S(p) from them."""

    def __init__(self, orders: Sequence[RefOrder]) -> None:
        self.orders = list(orders)
        self.market_bids = sorted((o for o in orders if o.side == BUY and o.kind == MARKET), key=time_key)
        self.market_asks = sorted((o for o in orders if o.side == SELL and o.kind == MARKET), key=time_key)
        # price -> orders at that limit, in time priority
        self.bid_levels: SortedDict = SortedDict()
        self.ask_levels: SortedDict = SortedDict()
        for o in sorted((o for o in orders if o.kind == LIMIT), key=time_key):
            levels = self.bid_levels if o.side == BUY else self.ask_levels
            levels.setdefault(o.price, []).append(o)

        self.market_bid_qty = sum(o.qty for o in self.market_bids)
        self.market_ask_qty = sum(o.qty for o in self.market_asks)
        self._bid_prices = list(self.bid_levels.keys())
        self._ask_prices = list(self.ask_levels.keys())
        bid_qty = [sum(o.qty for o in self.bid_levels[p]) for p in self._bid_prices]
        ask_qty = [sum(o.qty for o in self.ask_levels[p]) for p in self._ask_prices]
        # _bid_suffix[i] = qty of bid levels i.. (the levels at or above _bid_prices[i])
        self._bid_suffix = [0] * (len(bid_qty) + 1)
        for i in range(len(bid_qty) - 1, -1, -1):
            self._bid_suffix[i] = self._bid_suffix[i + 1] + bid_qty[i]
        # _ask_prefix[i] = qty of ask levels ..i-1 (the levels below _ask_prices[i])
        self._ask_prefix = [0] * (len(ask_qty) + 1)
        for i, q in enumerate(ask_qty):
            self._ask_prefix[i + 1] = self._ask_prefix[i] + q

    def limit_prices(self) -> list[int]:
        return sorted(set(self._bid_prices) | set(self._ask_prices))

    def demand(self, p: int) -> int:
        """D(p): market bids plus limit bids with limit >= p."""
        return self.market_bid_qty + self._bid_suffix[bisect_left(self._bid_prices, p)]

    def supply(self, p: int) -> int:
        """S(p): market asks plus limit asks with limit <= p."""
        return self.market_ask_qty + self._ask_prefix[bisect_right(self._ask_prices, p)]

    def volume(self, p: int) -> int:
        return min(self.demand(p), self.supply(p))


def caps(min_price: int | None, max_price: int | None) -> tuple[int, int]:
    lo = I64_MIN if min_price is None else min_price
    hi = I64_MAX if max_price is None else max_price
    if lo > hi:
        raise ValueError(f"min_price {lo} > max_price {hi}")
    return lo, hi


def clamp(x: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, x))


def window(book: Book, cap_lo: int, cap_hi: int) -> range | None:
    """Ticks [lowest limit - 1, highest limit + 1] clamped into the caps; None without limits.

    Clamping (rather than intersecting) keeps one tick when the caps lie wholly beyond the limits;
    that tick then stands for the constant region the caps cut out.
    """
    prices = book.limit_prices()
    if not prices:
        return None
    first = clamp(prices[0] - 1, cap_lo, cap_hi)
    last = clamp(prices[-1] + 1, cap_lo, cap_hi)
    if last - first + 1 > MAX_WINDOW_TICKS:
        raise ValueError(f"limit prices span {last - first + 1} ticks; the reference scans every tick")
    return range(first, last + 1)


def best_interval(book: Book, min_price: int | None, max_price: int | None) -> tuple[int, int] | None:
    """k-rules: the ticks within the caps maximising V, then minimising |D-S|, as [lo, hi].

    None when the best V is 0. Raises IndeterminatePrice when the interval is unbounded on an
    uncapped side.
    """
    cap_lo, cap_hi = caps(min_price, max_price)
    ticks = window(book, cap_lo, cap_hi)
    if ticks is None:
        # No limit orders: D and S are the same at every price.
        if min(book.market_bid_qty, book.market_ask_qty) == 0:
            return None
        if min_price is None or max_price is None:
            raise IndeterminatePrice("only market orders and the price is not capped on both sides")
        return (cap_lo, cap_hi)

    def rank(p: int) -> tuple[int, int]:
        d, s = book.demand(p), book.supply(p)
        return (-min(d, s), abs(d - s))

    ranks = {p: rank(p) for p in ticks}
    best = min(ranks.values())
    if best[0] == 0:
        return None
    chosen = [p for p in ticks if ranks[p] == best]
    lo, hi = chosen[0], chosen[-1]
    assert len(chosen) == hi - lo + 1, "the best prices must be contiguous"

    prices = book.limit_prices()
    if lo == ticks[0] and lo < prices[0]:  # the tick stands for everything below the limits
        if min_price is None:
            raise IndeterminatePrice("best prices extend below every limit and min_price is not set")
        lo = cap_lo
    if hi == ticks[-1] and hi > prices[-1]:  # the tick stands for everything above the limits
        if max_price is None:
            raise IndeterminatePrice("best prices extend above every limit and max_price is not set")
        hi = cap_hi
    return (lo, hi)


def exchange_price(
    book: Book, reference_price: int | None, min_price: int | None, max_price: int | None
) -> tuple[int, tuple[int, int]] | None:
    """Exchange rule: (price, (lowest, highest) remaining candidate) or None when V is 0."""
    cap_lo, cap_hi = caps(min_price, max_price)
    candidates = sorted({clamp(p, cap_lo, cap_hi) for p in book.limit_prices()})
    if not candidates:
        if min(book.market_bid_qty, book.market_ask_qty) == 0:
            return None
        if reference_price is None:
            raise MissingReferencePrice("only market orders are executable")
        p = clamp(reference_price, cap_lo, cap_hi)
        return p, (p, p)

    best_v = max(book.volume(c) for c in candidates)
    if best_v == 0:
        return None
    remaining = [c for c in candidates if book.volume(c) == best_v]
    surplus = {c: book.demand(c) - book.supply(c) for c in remaining}
    least = min(abs(s) for s in surplus.values())
    remaining = [c for c in remaining if abs(surplus[c]) == least]
    lowest, highest = remaining[0], remaining[-1]
    interval = (lowest, highest)

    if all(surplus[c] > 0 for c in remaining):
        return highest, interval
    if all(surplus[c] < 0 for c in remaining):
        return lowest, interval
    if len(remaining) == 1:
        # No reference price could move it: it is the highest and the lowest candidate at once.
        return lowest, interval
    if reference_price is None:
        raise MissingReferencePrice("surplus on both sides or none; the reference price decides")
    ref = reference_price
    if ref >= highest:
        return highest, interval
    if ref <= lowest:
        return lowest, interval
    # the reference itself when it is a candidate (distance 0), else the nearest candidate;
    # exactly between two -> the higher
    return min(remaining, key=lambda c: (abs(c - ref), -c)), interval


def groups_in_priority(book: Book, side: int, p: int) -> list[list[RefOrder]]:
    """Eligible orders at price p, as priority groups: market orders, then limit levels best first."""
    if side == BUY:
        levels = [book.bid_levels[q] for q in reversed(book.bid_levels.keys()) if q >= p]
        return [book.market_bids, *levels]
    levels = [book.ask_levels[q] for q in book.ask_levels.keys() if q <= p]
    return [book.market_asks, *levels]


def share(group: list[RefOrder], left: int, allocation: str) -> dict[int, int]:
    """Split `left` (< the group's total) among one group's orders; group is in time priority."""
    if allocation == "time":
        out = {}
        for o in group:
            out[o.id] = min(o.qty, left)
            left -= out[o.id]
        return out
    total = sum(o.qty for o in group)
    out = {o.id: o.qty * left // total for o in group}
    rest = left - sum(out.values())
    # largest remainder first; group order is time priority, and sorted() is stable
    by_remainder = sorted(group, key=lambda o: -(o.qty * left % total))
    for o in by_remainder[:rest]:
        out[o.id] += 1
    return out


def fill_side(groups: list[list[RefOrder]], volume: int, allocation: str) -> dict[int, int]:
    """Fill groups in order while they fit in `volume`; the first one that does not shares the rest."""
    filled: dict[int, int] = {}
    cum = 0
    for group in groups:
        total = sum(o.qty for o in group)
        if cum + total <= volume:
            filled.update({o.id: o.qty for o in group})
            cum += total
        else:
            filled.update(share(group, volume - cum, allocation))
            cum = volume
    return filled


def pair_fills(
    bids: list[tuple[RefOrder, int]], asks: list[tuple[RefOrder, int]], p: int
) -> list[tuple[int, int, int, int, int, int]]:
    fills = []
    i = j = 0
    left_b = bids[0][1] if bids else 0
    left_s = asks[0][1] if asks else 0
    while i < len(bids) and j < len(asks):
        q = min(left_b, left_s)
        b, s = bids[i][0], asks[j][0]
        fills.append((b.id, s.id, b.trader, s.trader, q, p))
        left_b -= q
        left_s -= q
        if left_b == 0:
            i += 1
            left_b = bids[i][1] if i < len(bids) else 0
        if left_s == 0:
            j += 1
            left_s = asks[j][1] if j < len(asks) else 0
    return fills


def no_price(orders: Sequence[RefOrder]) -> RefResult:
    return RefResult(None, None, 0, 0, 0, 0, [0] * len(orders), [])


def clear(
    orders: Sequence[RefOrder],
    *,
    rule: str | tuple[int, int] = "midpoint",
    allocation: str = "time",
    reference_price: int | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
) -> RefResult:
    if allocation not in ("time", "pro_rata"):
        raise ValueError(f"unknown allocation {allocation!r}")
    book = Book(orders)

    if rule == "exchange":
        found = exchange_price(book, reference_price, min_price, max_price)
        if found is None:
            return no_price(orders)
        p, interval = found
    else:
        a, b = K_RULES[rule] if isinstance(rule, str) else rule
        if not (b > 0 and 0 <= a <= b):
            raise ValueError(f"k = {a}/{b} is not in [0, 1]")
        found_interval = best_interval(book, min_price, max_price)
        if found_interval is None:
            return no_price(orders)
        lo, hi = found_interval
        p, interval = lo + a * (hi - lo) // b, (lo, hi)

    demand, supply = book.demand(p), book.supply(p)
    volume = min(demand, supply)
    bid_groups = groups_in_priority(book, BUY, p)
    ask_groups = groups_in_priority(book, SELL, p)
    filled = fill_side(bid_groups, volume, allocation) | fill_side(ask_groups, volume, allocation)

    welfare = 0
    for o in orders:
        f = filled.get(o.id, 0)
        if o.kind == LIMIT and f:
            welfare += f * (o.price - p) if o.side == BUY else f * (p - o.price)

    def filled_in_priority(groups: list[list[RefOrder]]) -> list[tuple[RefOrder, int]]:
        return [(o, filled[o.id]) for g in groups for o in g if filled[o.id] > 0]

    fills = pair_fills(filled_in_priority(bid_groups), filled_in_priority(ask_groups), p)
    return RefResult(
        price=p,
        interval=interval,
        volume=volume,
        demand=demand,
        supply=supply,
        welfare=welfare,
        filled=[filled.get(o.id, 0) for o in orders],
        fills=fills,
    )


def max_executable_volume(
    orders: Sequence[RefOrder], min_price: int | None = None, max_price: int | None = None
) -> int:
    """Brute force: the largest V(p) over the ticks within the caps."""
    book = Book(orders)
    cap_lo, cap_hi = caps(min_price, max_price)
    ticks = window(book, cap_lo, cap_hi)
    if ticks is None:
        return min(book.market_bid_qty, book.market_ask_qty)
    return max(book.volume(p) for p in ticks)


def max_welfare(orders: Sequence[RefOrder]) -> int:
    """Limit-only books: pair the highest bids with the lowest asks, unit by unit, while bid >= ask."""
    assert all(o.kind == LIMIT for o in orders), "max_welfare is defined for limit orders only"
    bids = sorted(([o.price, o.qty] for o in orders if o.side == BUY), reverse=True)
    asks = sorted([o.price, o.qty] for o in orders if o.side == SELL)
    total = 0
    i = j = 0
    while i < len(bids) and j < len(asks) and bids[i][0] >= asks[j][0]:
        q = min(bids[i][1], asks[j][1])
        total += q * (bids[i][0] - asks[j][0])
        bids[i][1] -= q
        asks[j][1] -= q
        if bids[i][1] == 0:
            i += 1
        if asks[j][1] == 0:
            j += 1
    return total
