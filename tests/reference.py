"""A small, obviously-correct uniform-price clearing: the oracle for differential tests.

It follows README.md, "Price rules", literally and favours clarity over speed: the k-rules look at
every integer tick of a window around the book's limit prices (the window's end ticks stand for
the constant regions beyond the lowest and highest limit). Pure Python ints, no floats.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
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


# ------------------------------------------------------------------------------------------------
# Continuous limit order book: the oracle for the engine's book, event by event.
#
# It follows the semantics contract (book_semantics.md) step by step: price-time priority, trades at
# the maker's price, STP, IOC/FOK/GTD, post-only, amend, expire, the call phase (orders collected
# without matching) and an uncross through `clear` above.
# Every command validates completely before it changes anything, so a rejected command changes
# nothing. Where the contract is silent the simplest reading is taken; those places are marked
# "Reading:" below.
# ------------------------------------------------------------------------------------------------

# event kinds
ACCEPTED, REJECTED, FILL, CANCELLED, AMENDED = 0, 1, 2, 3, 4
# reject reasons
DUPLICATE_ID = 1
UNKNOWN_ID = 2
ZERO_QUANTITY = 3
INVALID_SIDE = 4
OFF_TICK = 5
OFF_LOT = 6
WOULD_CROSS = 7
INVALID_TIF = 8
EXPIRY_PASSED = 9
INVALID_KIND = 10
INVALID_OP = 11
NOTHING_TO_AMEND = 12
CALL_PHASE = 13
# cancel reasons
USER, UNFILLED, KILLED, SELF_TRADE, EXPIRED = 1, 2, 3, 4, 5
# event flags
MAKER_DONE, TAKER_DONE, KEPT_PRIORITY = 1, 2, 4
# time in force
GTC, GTD, IOC, FOK = 0, 1, 2, 3
# command rows (process)
OP_SUBMIT, OP_CANCEL, OP_AMEND, OP_EXPIRE = 0, 1, 2, 3
POST_ONLY, PROTECTED, AMEND_QTY, AMEND_PRICE = 1, 2, 4, 8

STP_MODES = ("none", "cancel_newest", "cancel_oldest", "cancel_both", "decrement")
# continuous: incoming orders match; call: orders rest without matching until `uncross`
PHASES = ("continuous", "call")


@dataclass(frozen=True)
class RefEvent:
    """One event record of the engine; fields that do not apply are 0."""

    kind: int = 0
    cmd: int = 0
    id: int = 0
    trader: int = 0
    maker_id: int = 0
    maker_trader: int = 0
    price: int = 0
    qty: int = 0
    reason: int = 0
    side: int = 0
    flags: int = 0

    def as_tuple(self) -> tuple[int, ...]:
        """The engine record's field order."""
        return (
            self.cmd,
            self.id,
            self.trader,
            self.maker_id,
            self.maker_trader,
            self.price,
            self.qty,
            self.kind,
            self.reason,
            self.side,
            self.flags,
        )


@dataclass(eq=False)  # compared by identity: `list.remove` / `list.index` find this very order
class Resting:
    """An order in the book."""

    id: int
    trader: int
    side: int
    price: int
    qty: int  # open (remaining) quantity
    tif: int  # GTC or GTD
    expiry: int  # 0 unless GTD
    ts: int  # the caller's timestamp, kept for orders(); priority is `seq`
    post_only: bool
    seq: int = 0  # arrival order: set each time the order joins the back of a queue


@dataclass(eq=False)
class Taker:
    """An order while it matches: a new submission, or a resting order whose amendment re-enters."""

    id: int
    trader: int
    side: int
    price: int  # the price its events show: limit price, protection, or 0
    qty: int  # left to match
    limit: int | None  # the worst price it trades at; None: a market order without protection


def crosses(side: int, limit: int | None, level_price: int) -> bool:
    """Does an order on `side` with price limit `limit` trade with an opposite level at `level_price`?"""
    if limit is None:
        return True
    return level_price <= limit if side == BUY else level_price >= limit


def field(row: object, name: str) -> int:
    """A command row's field as a Python int; 0 when the row has no such field."""
    try:
        value = row[name]  # type: ignore[index]
    except (KeyError, IndexError, ValueError):
        return 0
    return int(value)


class RefBook:
    """A continuous limit order book: per side, a SortedDict of price -> FIFO list of Resting orders."""

    def __init__(self, stp: str = "none", tick: int | None = None, lot: int | None = None) -> None:
        if stp not in STP_MODES:
            raise ValueError(f"unknown stp {stp!r}")
        if tick is not None and tick <= 0:
            raise ValueError(f"tick must be positive, not {tick}")
        if lot is not None and lot <= 0:
            raise ValueError(f"lot must be positive, not {lot}")
        self.stp = stp
        self.tick = tick
        self.lot = lot
        self.bids: SortedDict = SortedDict()  # best = highest price = last key
        self.asks: SortedDict = SortedDict()  # best = lowest price = first key
        self.resting: dict[int, Resting] = {}
        self.used_ids: set[int] = set()  # every id ever accepted
        self.now: int | None = None  # the largest expire time seen
        self.phase = "continuous"
        self._seq = 0

    # -- the ladders ------------------------------------------------------------------------------

    def _levels(self, side: int) -> SortedDict:
        return self.bids if side == BUY else self.asks

    def _prices_best_first(self, side: int) -> list[int]:
        levels = self._levels(side)
        return list(reversed(levels.keys())) if side == BUY else list(levels.keys())

    def _best_price(self, side: int) -> int | None:
        levels = self._levels(side)
        if not levels:
            return None
        return levels.peekitem(-1 if side == BUY else 0)[0]

    def _would_trade(self, side: int, limit: int | None) -> bool:
        """Does the opposite side's best level cross an order on `side` with this limit?"""
        best = self._best_price(-side)
        return best is not None and crosses(side, limit, best)

    def _crossed(self) -> bool:
        bid, ask = self._best_price(BUY), self._best_price(SELL)
        return bid is not None and ask is not None and bid >= ask

    def _rest(self, order: Resting) -> None:
        """Put the order at the back of its price level's queue."""
        self._seq += 1
        order.seq = self._seq
        self._levels(order.side).setdefault(order.price, []).append(order)
        self.resting[order.id] = order

    def _remove(self, order: Resting) -> None:
        levels = self._levels(order.side)
        queue = levels[order.price]
        queue.remove(order)
        if not queue:
            del levels[order.price]
        del self.resting[order.id]

    # -- events -----------------------------------------------------------------------------------

    @staticmethod
    def _rejected(cmd: int, id: int, trader: int, reason: int) -> list[RefEvent]:
        return [RefEvent(kind=REJECTED, cmd=cmd, id=id, trader=trader, reason=reason)]

    @staticmethod
    def _cancelled(cmd: int, order: Resting | Taker, qty: int, reason: int) -> RefEvent:
        return RefEvent(
            kind=CANCELLED,
            cmd=cmd,
            id=order.id,
            trader=order.trader,
            price=order.price,
            qty=qty,
            reason=reason,
            side=order.side,
        )

    # -- matching ---------------------------------------------------------------------------------

    def _fok_fillable(self, taker: Taker) -> int:
        """How much a FOK order could fill now, counted without changing anything."""
        count = 0
        opposite = self._levels(-taker.side)
        for price in self._prices_best_first(-taker.side):
            if not crosses(taker.side, taker.limit, price):
                break
            for maker in opposite[price]:
                if maker.trader == taker.trader and self.stp != "none":
                    if self.stp == "cancel_oldest":
                        continue  # matching will cancel this maker and go on
                    return count  # matching would stop (or shrink the taker) here
                count += maker.qty
        return count

    def _match(self, taker: Taker, cmd: int, events: list[RefEvent]) -> None:
        """Take the opposite side's crossing makers, best price first, FIFO in a level."""
        opposite = self._levels(-taker.side)
        while taker.qty > 0 and self._would_trade(taker.side, taker.limit):
            price = self._best_price(-taker.side)
            maker = opposite[price][0]
            if maker.trader == taker.trader and self.stp != "none":
                self._self_trade(taker, maker, cmd, events)
                continue
            q = min(taker.qty, maker.qty)
            taker.qty -= q
            maker.qty -= q
            flags = (MAKER_DONE if maker.qty == 0 else 0) | (TAKER_DONE if taker.qty == 0 else 0)
            events.append(
                RefEvent(
                    kind=FILL,
                    cmd=cmd,
                    id=taker.id,
                    trader=taker.trader,
                    maker_id=maker.id,
                    maker_trader=maker.trader,
                    price=maker.price,
                    qty=q,
                    side=taker.side,
                    flags=flags,
                )
            )
            if maker.qty == 0:
                self._remove(maker)

    def _self_trade(self, taker: Taker, maker: Resting, cmd: int, events: list[RefEvent]) -> None:
        """Self-trade prevention; a taker set to 0 stops the matching loop."""
        if self.stp == "cancel_newest":
            events.append(self._cancelled(cmd, taker, taker.qty, SELF_TRADE))
            taker.qty = 0
        elif self.stp == "cancel_oldest":
            events.append(self._cancelled(cmd, maker, maker.qty, SELF_TRADE))
            self._remove(maker)
        elif self.stp == "cancel_both":
            events.append(self._cancelled(cmd, maker, maker.qty, SELF_TRADE))
            events.append(self._cancelled(cmd, taker, taker.qty, SELF_TRADE))
            self._remove(maker)
            taker.qty = 0
        elif self.stp == "decrement":
            d = min(taker.qty, maker.qty)
            events.append(self._cancelled(cmd, maker, d, SELF_TRADE))
            events.append(self._cancelled(cmd, taker, d, SELF_TRADE))
            maker.qty -= d
            taker.qty -= d
            if maker.qty == 0:
                self._remove(maker)
        else:  # pragma: no cover - __init__ checked the mode
            raise AssertionError(self.stp)

    # -- commands ---------------------------------------------------------------------------------

    def _submit_reject_reason(
        self,
        id: int,
        side: int,
        price: int,
        qty: int,
        tif: int,
        kind: int,
        post_only: bool,
        protection: int | None,
        expiry: int,
    ) -> int:
        """The contract's validation steps in order; 0 when the submission is accepted."""
        if id in self.used_ids:
            return DUPLICATE_ID
        if side not in (BUY, SELL):
            return INVALID_SIDE
        if qty == 0:
            return ZERO_QUANTITY
        if kind not in (LIMIT, MARKET):
            return INVALID_KIND
        # Reading: the engine's codes are unsigned, so "tif > 3" is "not one of 0..3".
        if tif not in (GTC, GTD, IOC, FOK):
            return INVALID_TIF
        if kind == MARKET and tif in (GTC, GTD):
            return INVALID_TIF
        if post_only and (kind == MARKET or tif in (IOC, FOK)):
            return INVALID_TIF
        # (a market order got here only as IOC or FOK)
        if self.phase == "call" and (kind == MARKET or tif in (IOC, FOK)):
            return CALL_PHASE
        if self.tick is not None:
            checked = price if kind == LIMIT else protection  # a market order without protection: nothing
            if checked is not None and checked % self.tick != 0:
                return OFF_TICK
        if self.lot is not None and qty % self.lot != 0:
            return OFF_LOT
        if tif == GTD and self.now is not None and expiry <= self.now:
            return EXPIRY_PASSED
        if post_only and self.phase == "continuous" and self._would_trade(side, price):
            return WOULD_CROSS
        return 0

    def submit(
        self,
        id: int,
        trader: int,
        side: int,
        price: int,
        qty: int,
        tif: int = GTC,
        kind: int = LIMIT,
        post_only: bool = False,
        protection: int | None = None,
        expiry: int = 0,
        ts: int = 0,
        cmd: int = 0,
    ) -> list[RefEvent]:
        if qty < 0:
            raise ValueError(f"qty {qty} < 0: quantities are unsigned in the engine")
        post_only = bool(post_only)
        reason = self._submit_reject_reason(id, side, price, qty, tif, kind, post_only, protection, expiry)
        if reason:
            return self._rejected(cmd, id, trader, reason)

        self.used_ids.add(id)
        if kind == LIMIT:
            # Reading: a limit order ignores `protection`.
            shown, limit = price, price
        else:
            shown, limit = (0 if protection is None else protection), protection
        events = [RefEvent(kind=ACCEPTED, cmd=cmd, id=id, trader=trader, price=shown, qty=qty, side=side)]
        # Reading: only a GTD order keeps its expiry; a GTC order rests with expiry 0.
        order = Resting(id, trader, side, price, qty, tif, expiry if tif == GTD else 0, ts, post_only)
        if self.phase == "call":
            self._rest(order)  # no matching in the call phase, even when it crosses
            return events
        taker = Taker(id, trader, side, shown, qty, limit)

        if tif == FOK and self._fok_fillable(taker) < qty:
            events.append(self._cancelled(cmd, taker, qty, KILLED))
            return events

        self._match(taker, cmd, events)
        if taker.qty == 0:
            return events
        if kind == MARKET or tif in (IOC, FOK):
            assert tif != FOK, "a FOK order that passed its check fills completely"
            events.append(self._cancelled(cmd, taker, taker.qty, UNFILLED))
        else:
            order.qty = taker.qty
            self._rest(order)
        return events

    def cancel(self, id: int, trader: int = 0, cmd: int = 0) -> list[RefEvent]:
        # Reading: the contract has no ownership check, so `trader` only fills in a rejection.
        order = self.resting.get(id)
        if order is None:
            return self._rejected(cmd, id, trader, UNKNOWN_ID)
        self._remove(order)
        return [self._cancelled(cmd, order, order.qty, USER)]

    def amend(
        self, id: int, qty: int | None = None, price: int | None = None, trader: int = 0, cmd: int = 0
    ) -> list[RefEvent]:
        if qty is not None and qty < 0:
            raise ValueError(f"qty {qty} < 0: quantities are unsigned in the engine")
        order = self.resting.get(id)
        if order is None:
            return self._rejected(cmd, id, trader, UNKNOWN_ID)
        if qty is None and price is None:
            return self._rejected(cmd, id, trader, NOTHING_TO_AMEND)
        if price is not None and self.tick is not None and price % self.tick != 0:
            return self._rejected(cmd, id, trader, OFF_TICK)
        if qty is not None and qty != 0 and self.lot is not None and qty % self.lot != 0:
            return self._rejected(cmd, id, trader, OFF_LOT)
        new_qty = order.qty if qty is None else qty
        new_price = order.price if price is None else price

        if new_qty == 0:
            self._remove(order)
            return [self._cancelled(cmd, order, order.qty, USER)]

        def amended(flags: int) -> RefEvent:
            return RefEvent(
                kind=AMENDED,
                cmd=cmd,
                id=order.id,
                trader=order.trader,
                price=new_price,
                qty=new_qty,
                side=order.side,
                flags=flags,
            )

        if new_price == order.price and new_qty <= order.qty:
            order.qty = new_qty
            return [amended(KEPT_PRIORITY)]

        if order.post_only and self.phase == "continuous" and self._would_trade(order.side, new_price):
            return self._rejected(cmd, id, trader, WOULD_CROSS)
        self._remove(order)
        events = [amended(0)]
        taker = Taker(order.id, order.trader, order.side, new_price, new_qty, new_price)
        if self.phase == "continuous":
            self._match(taker, cmd, events)
        if taker.qty > 0:
            order.price = new_price
            order.qty = taker.qty
            self._rest(order)  # keeps tif, expiry, ts and post_only
        return events

    def expire(self, now: int, cmd: int = 0) -> list[RefEvent]:
        self.now = now if self.now is None else max(self.now, now)
        now = self.now
        due = [o for o in self.resting.values() if o.tif == GTD and o.expiry <= now]
        # Reading: "arrival" is the arrival sequence that also orders the queues (an amendment that
        # loses priority arrives anew), the same `seq` uncross uses as ts.
        due.sort(key=lambda o: (o.expiry, o.seq))
        events = []
        for order in due:
            self._remove(order)
            events.append(self._cancelled(cmd, order, order.qty, EXPIRED))
        return events

    def process(self, commands: Iterable[object]) -> list[RefEvent]:
        """Command rows (dict-like, COMMAND fields; a missing field reads 0); cmd = the row's position."""
        events: list[RefEvent] = []
        for cmd, row in enumerate(commands):
            op = field(row, "op")
            id, trader = field(row, "id"), field(row, "trader")
            price, qty, flags = field(row, "price"), field(row, "qty"), field(row, "flags")
            if op == OP_SUBMIT:
                events += self.submit(
                    id,
                    trader,
                    field(row, "side"),
                    price,
                    qty,
                    tif=field(row, "tif"),
                    kind=field(row, "kind"),
                    post_only=bool(flags & POST_ONLY),
                    # Reading: PROTECTED on a limit order is ignored, as a limit ignores protection.
                    protection=price if flags & PROTECTED else None,
                    expiry=field(row, "expiry"),
                    ts=field(row, "ts"),
                    cmd=cmd,
                )
            elif op == OP_CANCEL:
                events += self.cancel(id, trader=trader, cmd=cmd)
            elif op == OP_AMEND:
                events += self.amend(
                    id,
                    qty=qty if flags & AMEND_QTY else None,
                    price=price if flags & AMEND_PRICE else None,
                    trader=trader,
                    cmd=cmd,
                )
            elif op == OP_EXPIRE:
                events += self.expire(field(row, "ts"), cmd=cmd)
            else:
                events += self._rejected(cmd, id, trader, INVALID_OP)
        return events

    def set_phase(self, phase: str) -> None:
        """ "call" is always allowed; "continuous" is refused (ValueError, nothing changes) while crossed."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        if phase == "continuous" and self._crossed():
            raise ValueError("the book is crossed: uncross before continuous trading")
        self.phase = phase

    def uncross(
        self,
        rule: str | tuple[int, int] = "midpoint",
        allocation: str = "time",
        reference_price: int | None = None,
        min_price: int | None = None,
        max_price: int | None = None,
    ) -> RefResult:
        """The call auction of `clear` over the resting orders; what filled leaves the book. No events.

        Works in either phase and keeps the phase. STP does not apply (clear knows nothing of it).
        Errors of `clear` (IndeterminatePrice, ...) propagate with the book unchanged.
        """
        resting = [o for side in (BUY, SELL) for o in self._in_priority(side)]
        orders = [RefOrder(o.id, o.trader, o.side, o.price, o.qty, o.seq, LIMIT) for o in resting]
        result = clear(
            orders,
            rule=rule,
            allocation=allocation,
            reference_price=reference_price,
            min_price=min_price,
            max_price=max_price,
        )
        for order, filled in zip(resting, result.filled, strict=True):
            order.qty -= filled
            if order.qty == 0:
                self._remove(order)
        return result

    # -- queries ----------------------------------------------------------------------------------

    def _in_priority(self, side: int) -> list[Resting]:
        levels = self._levels(side)
        return [o for p in self._prices_best_first(side) for o in levels[p]]

    def _level(self, side: int, price: int) -> tuple[int, int, int]:
        queue = self._levels(side)[price]
        return (price, sum(o.qty for o in queue), len(queue))

    def best_bid(self) -> tuple[int, int, int] | None:
        best = self._best_price(BUY)
        return None if best is None else self._level(BUY, best)

    def best_ask(self) -> tuple[int, int, int] | None:
        best = self._best_price(SELL)
        return None if best is None else self._level(SELL, best)

    def depth(self, n: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        if n < 0:
            raise ValueError(f"depth {n} < 0")
        bids = [self._level(BUY, p) for p in self._prices_best_first(BUY)[:n]]
        asks = [self._level(SELL, p) for p in self._prices_best_first(SELL)[:n]]
        return bids, asks

    def orders(self) -> list[tuple[int, int, int, int, int, int, int, int]]:
        return [
            (o.id, o.trader, o.side, o.price, o.qty, o.tif, o.expiry, o.ts)
            for side in (BUY, SELL)
            for o in self._in_priority(side)
        ]

    def position(self, id: int) -> tuple[int, int] | None:
        order = self.resting.get(id)
        if order is None:
            return None
        return (order.qty, self._levels(order.side)[order.price].index(order))
