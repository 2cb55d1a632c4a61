"""Seeded streams of order-book commands shaped like real L3 order flow (vectorised numpy).

:func:`message_stream` returns ``n`` rows of the book's command records (``COMMAND_DTYPE``), ready
for ``gridmatch.OrderBook.process``. The flow looks like a busy continuous market's:

- **adds** (about half of the messages): GTC limit orders resting near the touch, at a distance
  from it that is mostly a few ticks (geometric) with a hump-shaped tail hundreds of ticks deep;
- **cancels** (about 40 %): most of an order's life is short near the touch (fleeting orders) and
  long deeper in the book, so cancels mostly hit recent orders near the touch;
- **aggressive orders** (about 4 %): IOC limits, market orders (with and without a protection
  price), FOK orders and GTC limits that cross, each sweeping one or several price levels;
- **amends** (a few %): mostly quantity reductions (which keep their queue place), some reprices.

Prices are ticks (0.01 ct/kWh) around ``price_level`` (900 = 9 ct/kWh); quantities are lots (Wh).

How it stays valid without simulating a book message by message: the stream keeps one number, the
*boundary* ``b``: every resting bid is at ``<= b`` and every resting ask at ``>= b + 1``. Passive
orders are placed relative to ``b`` (so they never cross), and only aggressive orders move it: a buy
sweeping ``k`` levels is a limit (or protection) price ``b + k`` sized to take *all* the asks at
``b + 1 .. b + k``, after which ``b := b + k`` (sells mirror this). The boundary path is drawn first
(a random walk, pulled back towards ``price_level``); an order at price ``p`` is then filled at the
first sweep that crosses ``p``, which is a first-passage query on that path. Every order gets a
planned lifetime; its cancel is sent only if it falls before the order's fill, so **every cancel
and every amend names a live order** (the book rejects none), and each sweep's quantity is the exact
sum of what rests at the levels it takes (:func:`generate` returns them with the stream).
Because sweeps take whole levels, trade volumes do not depend on the order of makers within a
level: engines with slightly different amendment priority rules trade the same volumes.

Deterministic for ``(n, seed, options)``; a million messages take well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "COMMAND_DTYPE",
    "MessageStream",
    "StreamStats",
    "command_dtype",
    "generate",
    "message_stream",
]

# Codes of the book's command records (core/src/book/command.rs).
OP_SUBMIT, OP_CANCEL, OP_AMEND, OP_EXPIRE = 0, 1, 2, 3
TIF_GTC, TIF_GTD, TIF_IOC, TIF_FOK = 0, 1, 2, 3
KIND_LIMIT, KIND_MARKET = 0, 1
FLAG_POST_ONLY, FLAG_PROTECTED, FLAG_AMEND_QTY, FLAG_AMEND_PRICE = 1, 2, 4, 8
BUY, SELL = 1, -1

_FIELDS = [
    ("op", "u1"),
    ("id", "u8"),
    ("trader", "u8"),
    ("side", "i1"),
    ("price", "i8"),
    ("qty", "u8"),
    ("tif", "u1"),
    ("kind", "u1"),
    ("flags", "u1"),
    ("expiry", "u8"),
    ("ts", "u8"),
]


def command_dtype() -> np.dtype[Any]:
    """``gridmatch.COMMAND_DTYPE`` when the package has it, else the same fields built here."""
    import gridmatch

    official = getattr(gridmatch, "COMMAND_DTYPE", None)
    dtype: np.dtype[Any] = np.dtype(official) if official is not None else np.dtype(_FIELDS, align=True)
    return dtype


#: The command record dtype streams are made of (``gridmatch.COMMAND_DTYPE`` once the package has it).
COMMAND_DTYPE = command_dtype()

#: Kinds of aggressive orders: (tif, kind, flags, share). The quantity rules are in the code.
_AGGRESSIVE = {
    "ioc": (TIF_IOC, KIND_LIMIT, 0, 0.45),
    "market": (TIF_IOC, KIND_MARKET, 0, 0.15),
    "market_protected": (TIF_IOC, KIND_MARKET, FLAG_PROTECTED, 0.10),
    "gtc_cross": (TIF_GTC, KIND_LIMIT, 0, 0.22),
    "fok": (TIF_FOK, KIND_LIMIT, 0, 0.08),
}
#: Levels a sweep takes: 1 .. 8 ticks.
_SWEEP_LEVELS = np.array([0.70, 0.17, 0.07, 0.03, 0.02, 0.01])

#: Nanoseconds per primary slot (submission) of the stream's clock, for ``ts``.
SLOT_NS = 20_000


def message_stream(n: int, seed: int = 0, **options: Any) -> npt.NDArray[np.void]:
    """``n`` command records (``COMMAND_DTYPE``) shaped like L3 order flow: see the module docstring
    and :func:`generate` for the options. Deterministic for ``(n, seed, options)``."""
    return generate(n, seed, **options).commands


def generate(
    n: int,
    seed: int = 0,
    *,
    levels: int = 300,
    traders: int = 1000,
    price_level: int = 900,
    aggressive: float = 0.04,
    amend: float = 0.08,
    reprice: float = 0.3,
    near: float = 0.75,
    near_scale: float = 3.0,
    fleeting: float = 0.85,
    fleeting_life: float = 12.0,
    resting_life: float = 5000.0,
    reversion: float = 1.0,
    qty_median: float = 500.0,
    qty_sigma: float = 1.0,
    max_qty: int = 1_000_000,
) -> MessageStream:
    """A stream of ``n`` command records with what the generator knows about it (:class:`MessageStream`).

    Args:
        n: number of messages (>= 0).
        seed: seed; the same ``(n, seed, options)`` give identical streams.
        levels: depth of the book in ticks: passive prices reach up to about this far from the touch.
        traders: traders are drawn uniformly from ``1 .. traders``.
        price_level: where the market starts and what it is pulled back to, ticks (900 = 9 ct/kWh).
        aggressive: approximate share of aggressive orders among all messages.
        amend: share of resting orders amended once during their life (each order at most once).
        reprice: share of amendments that change the price (the others reduce the quantity).
        near: share of passive orders placed near the touch; the others are spread over ``levels``.
        near_scale: mean distance of near orders from the touch, ticks (geometric).
        fleeting: probability that an order at the touch is fleeting (cancelled within
            ``fleeting_life`` submissions on average); it decays with the distance from the touch.
        fleeting_life, resting_life: mean lives of fleeting and resting orders, in submissions;
            resting lives grow with the distance from the touch.
        reversion: strength of the pull of the price back to ``price_level`` (0: a free random walk).
        qty_median, qty_sigma: log-normal quantity of passive orders, lots (Wh), capped at ``max_qty``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if levels < 1 or traders < 1:
        raise ValueError("levels and traders must be >= 1")
    if not 0.0 < aggressive < 0.5:
        raise ValueError(f"aggressive must be in (0, 0.5), got {aggressive}")
    if not (0.0 <= amend <= 1.0 and 0.0 <= reprice <= 1.0 and 0.0 <= near <= 1.0 and 0.0 <= fleeting <= 1.0):
        raise ValueError("amend, reprice, near and fleeting are probabilities in [0, 1]")
    if min(near_scale, fleeting_life, resting_life, qty_median) <= 0 or qty_sigma < 0 or max_qty < 1:
        raise ValueError("scales, lives and quantities must be positive")
    dtype = command_dtype()
    params = dict(
        levels=levels,
        traders=traders,
        price_level=price_level,
        aggressive=aggressive,
        amend=amend,
        reprice=reprice,
        near=near,
        near_scale=near_scale,
        fleeting=fleeting,
        fleeting_life=fleeting_life,
        resting_life=resting_life,
        reversion=reversion,
        qty_median=qty_median,
        qty_sigma=qty_sigma,
        max_qty=max_qty,
    )
    if n == 0:
        empty = np.zeros(0, np.int64)
        return MessageStream(np.zeros(0, dtype), np.zeros(0, np.uint8), empty, empty)
    # About 1.8 messages per submission (an add brings a cancel or a fill, sometimes an amend):
    # draw a little more than needed and keep the first n messages in time order.
    slots = int(n / 1.45) + 256
    for attempt in range(8):
        rng = np.random.default_rng([seed, n, attempt])
        made = _generate(rng, n, slots, params, dtype)
        if made is not None:
            return MessageStream(*made)
        slots = int(slots * 1.3) + 256
    raise AssertionError("message_stream: could not produce enough messages")  # pragma: no cover


def _distance(rng: np.random.Generator, size: int, near: float, near_scale: float, levels: int) -> np.ndarray:
    """Ticks from the touch: geometric near it, hump-shaped (gamma) deeper, below ``levels``."""
    near_d = np.floor(rng.standard_exponential(size) * near_scale)
    far_d = np.floor(rng.gamma(2.0, levels / 6.0, size))
    d = np.where(rng.random(size) < near, near_d, far_d)
    return np.minimum(d, levels - 1).astype(np.int64)


def _crossings(boundary: np.ndarray, up: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every (level, sweep) at which the boundary path crosses ``level`` upwards (asks at ``level``
    are taken: ``b[i-1] < level <= b[i]``) or downwards (bids at ``level`` are taken:
    ``b[i] < level <= b[i-1]``). ``boundary[0]`` is the start, ``boundary[i + 1]`` after sweep ``i``."""
    before, after = boundary[:-1], boundary[1:]
    step = after - before
    sweeps = np.flatnonzero(step > 0) if up else np.flatnonzero(step < 0)
    counts = np.abs(step[sweeps])
    sweep = np.repeat(sweeps, counts)
    offset = np.arange(len(sweep)) - np.repeat(np.cumsum(counts) - counts, counts)
    level = before[sweep] + 1 + offset if up else before[sweep] - offset
    return level, sweep


class _FirstPassage:
    """First sweep, at or after a given one, that takes resting orders at a given price."""

    def __init__(self, boundary: np.ndarray, up: bool, low: int, sweeps: int) -> None:
        level, sweep = _crossings(boundary, up)
        self.low, self.stride = low, sweeps + 1
        self.keys = np.sort((level - low) * self.stride + sweep)
        self.never = sweeps

    def __call__(self, price: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Index of the sweep (``self.never`` if none) taking an order at ``price`` that rests
        from just before sweep ``start`` on."""
        found = np.full(len(price), self.never, np.int64)
        if len(self.keys) == 0:
            return found
        base = (price - self.low) * self.stride
        pos = np.searchsorted(self.keys, base + start)
        ok = pos < len(self.keys)
        key = self.keys[np.minimum(pos, len(self.keys) - 1)]
        ok &= key - base < self.stride
        found[ok] = key[ok] - base[ok]
        return found


def _generate(
    rng: np.random.Generator, n: int, slots: int, p: dict[str, Any], dtype: np.dtype[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The first ``n`` messages of a stream of ``slots`` submissions, or None if it has fewer."""
    levels, level0 = int(p["levels"]), int(p["price_level"])
    # Submissions ("slots", one per primary message): passive adds or aggressive sweeps. Adds come
    # with about 0.9 further messages each (cancel, amend), sweeps with none.
    sweep_share = p["aggressive"] * 1.9 / (1.0 + p["aggressive"] * 0.9)
    is_sweep = rng.random(slots) < sweep_share
    is_sweep[: min(slots, 200)] = False  # let the first orders build a book
    sweep_slot = np.flatnonzero(is_sweep)
    n_sweeps = len(sweep_slot)

    # The boundary path: a random walk of whole-level sweeps, pulled back towards price_level.
    k = 1 + np.searchsorted(np.cumsum(_SWEEP_LEVELS), rng.random(n_sweeps) * _SWEEP_LEVELS.sum())
    u = rng.random(n_sweeps)
    boundary = np.empty(n_sweeps + 1, np.int64)
    b = level0 - 1
    boundary[0] = b
    pull = float(p["reversion"]) / levels
    path = [b]
    for ki, ui in zip(k.tolist(), u.tolist(), strict=True):  # ~4 % of the messages: cheap
        up_prob = 0.5 - pull * (b - level0 + 0.5)
        b = b + ki if ui < up_prob else b - ki
        path.append(b)
    boundary[:] = path
    sweep_side = np.where(np.diff(boundary) > 0, BUY, SELL).astype(np.int8)

    low = int(boundary.min()) - 2 * levels - 16
    up_passage = _FirstPassage(boundary, True, low, n_sweeps)  # asks taken by buy sweeps
    down_passage = _FirstPassage(boundary, False, low, n_sweeps)  # bids taken by sell sweeps

    def boundary_at(sweeps_before: np.ndarray) -> np.ndarray:
        at: np.ndarray = boundary[sweeps_before]
        return at

    def first_fill(side: np.ndarray, price: np.ndarray, start: np.ndarray) -> np.ndarray:
        f = up_passage(price, start)
        bids = side == BUY
        f[bids] = down_passage(price[bids], start[bids])
        return f

    # Resting orders ("entities"): the passive adds, and the remainders of crossing GTC limits.
    add_slot = np.flatnonzero(~is_sweep)
    n_adds = len(add_slot)
    kinds = list(_AGGRESSIVE)
    shares = np.array([_AGGRESSIVE[name][3] for name in kinds])
    sweep_kind = np.searchsorted(np.cumsum(shares), rng.random(n_sweeps) * shares.sum())
    gtc = np.flatnonzero(sweep_kind == kinds.index("gtc_cross"))

    add_side = np.where(rng.random(n_adds) < 0.5, BUY, SELL).astype(np.int8)
    add_before = np.searchsorted(sweep_slot, add_slot)  # sweeps before each add
    distance = _distance(rng, n_adds, p["near"], p["near_scale"], levels)
    b_at = boundary_at(add_before)
    add_price = np.where(add_side == BUY, b_at - distance, b_at + 1 + distance)

    side = np.concatenate([add_side, sweep_side[gtc]])
    # A crossing buy rests at the new boundary, a crossing sell just above it.
    price = np.concatenate([add_price, boundary[gtc + 1] + (sweep_side[gtc] == SELL)])
    slot = np.concatenate([add_slot, sweep_slot[gtc]])
    start = np.concatenate([add_before, gtc + 1])
    dist = np.concatenate([distance, np.zeros(len(gtc), np.int64)])
    m = len(side)
    qty = _quantity(rng, m, p)
    time = slot.astype(np.float64)

    # Lives: fleeting near the touch, long deeper; the cancel is sent if it comes before the fill.
    fleeting = rng.random(m) < p["fleeting"] * np.exp(-dist / 4.0)
    mean_life = np.where(fleeting, p["fleeting_life"], p["resting_life"] * (0.1 + dist / 60.0))
    cancel_time = time + 0.5 + rng.standard_exponential(m) * mean_life
    fill = first_fill(side, price, start)
    fill_time = np.append(sweep_slot.astype(np.float64), np.inf)[fill]

    # Amends: each at most once, at a uniform moment of the order's life so far.
    amended = rng.random(m) < p["amend"]
    life_end = np.minimum(cancel_time, fill_time)
    amend_time = time + rng.uniform(0.05, 0.95, m) * (life_end - time)
    amended &= np.isfinite(amend_time)
    repriced = amended & (rng.random(m) < p["reprice"])
    reduced = amended & ~repriced
    new_qty = np.maximum(1, np.floor(qty * rng.uniform(0.2, 0.9, m))).astype(np.int64)
    # A reprice moves the order to a fresh distance from the boundary of its moment.
    re = np.flatnonzero(repriced)
    re_before = np.searchsorted(sweep_slot, amend_time[re], side="right")
    re_d = _distance(rng, len(re), p["near"], p["near_scale"], levels)
    b_re = boundary_at(re_before)
    new_price = price.copy()
    new_price[re] = np.where(side[re] == BUY, b_re - re_d, b_re + 1 + re_d)
    fill[re] = first_fill(side[re], new_price[re], re_before)
    fill_time = np.append(sweep_slot.astype(np.float64), np.inf)[fill]
    cancelled = cancel_time < fill_time

    # What each sweep takes: every order it crosses that was not cancelled before.
    taken = (fill < n_sweeps) & ~cancelled
    qty_then = np.where(reduced & (amend_time < fill_time), new_qty, qty)
    swept = np.bincount(fill[taken], weights=qty_then[taken], minlength=n_sweeps + 1)[:n_sweeps]
    swept = np.rint(swept).astype(np.int64)

    # Aggressive orders: limit/protection price at the last level they take.
    s_tif = np.array([_AGGRESSIVE[name][0] for name in kinds], np.uint8)[sweep_kind]
    s_kind = np.array([_AGGRESSIVE[name][1] for name in kinds], np.uint8)[sweep_kind]
    s_flags = np.array([_AGGRESSIVE[name][2] for name in kinds], np.uint8)[sweep_kind]
    s_price = boundary[1:] + (sweep_side == SELL)
    extra_draw = _quantity(rng, n_sweeps, p)
    half = rng.random(n_sweeps) < 0.5
    extra = np.where(half, 0, np.floor(swept * rng.random(n_sweeps))).astype(np.int64)
    exact = np.isin(sweep_kind, [kinds.index("market"), kinds.index("fok")])
    extra[exact] = 0
    extra[gtc] = qty[n_adds:]
    # Nothing to take: a plain market order or a FOK would be empty; send an IOC limit instead.
    empty = (swept + extra) == 0
    s_tif[empty & exact] = TIF_IOC
    s_kind[empty & exact] = KIND_LIMIT
    s_flags[empty & exact] = 0
    extra[empty] = extra_draw[empty]
    s_qty = swept + extra
    s_price[s_kind == KIND_MARKET] = np.where(
        (s_flags[s_kind == KIND_MARKET] & FLAG_PROTECTED) != 0, s_price[s_kind == KIND_MARKET], 0
    )

    trader = rng.integers(1, int(p["traders"]) + 1, slots, dtype=np.int64)

    # Amends and cancels ("secondary" messages) in time order; at equal times a submission comes
    # first, then amends, then cancels. Only what happens before the last submission is kept.
    am, cn = np.flatnonzero(amended), np.flatnonzero(cancelled)
    sec_t = np.concatenate([amend_time[am], cancel_time[cn]])
    sec_ent = np.concatenate([am, cn])
    sec_cancel = np.concatenate([np.zeros(len(am), bool), np.ones(len(cn), bool)])
    keep = np.flatnonzero(sec_t < slots)
    keep = keep[np.argsort(sec_t[keep], kind="stable")]
    sec_t, sec_ent, sec_cancel = sec_t[keep], sec_ent[keep], sec_cancel[keep]
    if slots + len(sec_t) < n:
        return None
    # Merge with the submissions (slot i at time i): positions in the stream.
    prim = np.arange(slots)
    prim_pos = prim + np.searchsorted(sec_t, prim.astype(np.float64), side="left")
    sec_pos = np.arange(len(sec_t)) + np.floor(sec_t).astype(np.int64) + 1
    prim_in = prim_pos < n
    sec_in = sec_pos < n
    prim, prim_pos = prim[prim_in], prim_pos[prim_in]
    sec_t, sec_ent, sec_cancel, sec_pos = sec_t[sec_in], sec_ent[sec_in], sec_cancel[sec_in], sec_pos[sec_in]

    # Submissions (id = slot + 1): passive adds and aggressive orders.
    p_side = np.empty(slots, np.int8)
    p_price = np.empty(slots, np.int64)
    p_qty = np.empty(slots, np.int64)
    p_tif = np.zeros(slots, np.uint8)
    p_kind = np.zeros(slots, np.uint8)
    p_flags = np.zeros(slots, np.uint8)
    p_side[add_slot], p_side[sweep_slot] = add_side, sweep_side
    p_price[add_slot], p_price[sweep_slot] = add_price, s_price
    p_qty[add_slot], p_qty[sweep_slot] = qty[:n_adds], s_qty
    p_tif[sweep_slot], p_kind[sweep_slot], p_flags[sweep_slot] = s_tif, s_kind, s_flags
    p_volume = np.zeros(slots, np.int64)
    p_makers = np.zeros(slots, np.int64)
    p_volume[sweep_slot] = swept
    p_makers[sweep_slot] = np.bincount(fill[taken], minlength=n_sweeps + 1)[:n_sweeps]

    out = np.zeros(n, dtype)
    role = np.empty(n, np.uint8)
    volume = np.zeros(n, np.int64)
    makers = np.zeros(n, np.int64)
    out["op"][prim_pos] = OP_SUBMIT
    out["id"][prim_pos] = prim + 1
    out["trader"][prim_pos] = trader[prim]
    out["side"][prim_pos] = p_side[prim]
    out["price"][prim_pos] = p_price[prim]
    out["qty"][prim_pos] = p_qty[prim]
    out["tif"][prim_pos] = p_tif[prim]
    out["kind"][prim_pos] = p_kind[prim]
    out["flags"][prim_pos] = p_flags[prim]
    out["ts"][prim_pos] = prim * SLOT_NS
    role[prim_pos] = np.where(is_sweep[prim], ROLE_AGGRESSIVE, ROLE_ADD)
    volume[prim_pos] = p_volume[prim]
    makers[prim_pos] = p_makers[prim]

    # Amends and cancels name the order by id (its slot + 1) and repeat its trader and side;
    # a cancel also gives the price the order rests at then (amends come before cancels).
    e = sec_ent
    rep = repriced[e]
    out["op"][sec_pos] = np.where(sec_cancel, OP_CANCEL, OP_AMEND)
    out["id"][sec_pos] = slot[e] + 1
    out["trader"][sec_pos] = trader[slot[e]]
    out["side"][sec_pos] = side[e]
    out["price"][sec_pos] = np.where(rep, new_price[e], np.where(sec_cancel, price[e], 0))
    out["qty"][sec_pos] = np.where(sec_cancel | rep, 0, new_qty[e])
    out["flags"][sec_pos] = np.where(sec_cancel, 0, np.where(rep, FLAG_AMEND_PRICE, FLAG_AMEND_QTY))
    out["ts"][sec_pos] = np.rint(sec_t * SLOT_NS).astype(np.uint64)
    role[sec_pos] = np.where(sec_cancel, ROLE_CANCEL, ROLE_AMEND)
    return out, role, volume, makers


def _quantity(rng: np.random.Generator, size: int, p: dict[str, Any]) -> np.ndarray:
    """Log-normal lots (Wh) around ``qty_median``, at least 1, at most ``max_qty``."""
    q = np.rint(p["qty_median"] * np.exp(p["qty_sigma"] * rng.standard_normal(size)))
    lots: np.ndarray = np.clip(q, 1, p["max_qty"]).astype(np.int64)
    return lots


ROLE_ADD, ROLE_CANCEL, ROLE_AMEND, ROLE_AGGRESSIVE = 0, 1, 2, 3
ROLE_NAMES = ("add", "cancel", "amend", "aggressive")


@dataclass(frozen=True)
class MessageStream:
    """A generated stream and what the generator designed into it, one entry per command.

    Attributes:
        commands: the ``COMMAND_DTYPE`` records.
        role: ``ROLE_ADD`` (passive GTC limit), ``ROLE_CANCEL``, ``ROLE_AMEND``, ``ROLE_AGGRESSIVE``
            (IOC, FOK, market, and GTC limits that cross).
        volume: for an aggressive order, the quantity it trades (everything resting at the levels
            it sweeps); 0 for the other commands.
        makers: for an aggressive order, the number of resting orders it fills; 0 otherwise.
    """

    commands: npt.NDArray[np.void]
    role: npt.NDArray[np.uint8]
    volume: npt.NDArray[np.int64]
    makers: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.commands)

    def stats(self) -> StreamStats:
        """Shares of the roles, aggressive kinds, price range, designed trades."""
        c, n = self.commands, max(len(self.commands), 1)
        agg = self.role == ROLE_AGGRESSIVE
        market = c["kind"] == KIND_MARKET
        protected = (c["flags"] & FLAG_PROTECTED) != 0
        kinds = {
            "ioc": int((agg & ~market & (c["tif"] == TIF_IOC)).sum()),
            "fok": int((agg & (c["tif"] == TIF_FOK)).sum()),
            "market": int((agg & market & ~protected).sum()),
            "market_protected": int((agg & market & protected).sum()),
            "gtc_cross": int((agg & (c["tif"] == TIF_GTC)).sum()),
        }
        passive = c["price"][self.role == ROLE_ADD]
        ids = c["id"][c["op"] == OP_SUBMIT]
        return StreamStats(
            messages=len(self.commands),
            shares={name: float((self.role == r).sum()) / n for r, name in enumerate(ROLE_NAMES)},
            aggressive_kinds=kinds,
            price_range=(int(passive.min()), int(passive.max())) if len(passive) else (0, 0),
            ids_unique=len(np.unique(ids)) == len(ids),
            fills=int(self.makers.sum()),
            volume=int(self.volume.sum()),
            sweeps_with_fills=int((self.makers[agg] > 0).sum()),
        )


@dataclass(frozen=True)
class StreamStats:
    """The make-up of a stream: ``shares`` are fractions of all messages, by role."""

    messages: int
    shares: dict[str, float]
    aggressive_kinds: dict[str, int]
    price_range: tuple[int, int]
    ids_unique: bool
    #: Designed fills (one per maker order taken), traded quantity, and aggressive orders that trade.
    fills: int
    volume: int
    sweeps_with_fills: int

    def summary(self) -> str:
        shares = ", ".join(f"{name} {share:.1%}" for name, share in self.shares.items())
        kinds = ", ".join(f"{name} {count:,}" for name, count in self.aggressive_kinds.items())
        return (
            f"{self.messages:,} messages: {shares}; aggressive: {kinds}; "
            f"passive prices {self.price_range[0]}..{self.price_range[1]} ticks; "
            f"{self.fills:,} fills, volume {self.volume:,} lots"
        )
