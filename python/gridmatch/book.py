"""The continuous limit order book: `OrderBook`, its commands and events.

Per-call methods (`submit`, `cancel`, `amend`, `expire`) return events as small objects; the
batch path `process(commands)` takes a `COMMAND_DTYPE` array and returns an `EVENT_DTYPE` array,
with the GIL released while the core works.
"""

from __future__ import annotations

import enum
import operator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from gridmatch import _core
from gridmatch._records import RecordSpec, as_records, from_columns, record_dtype
from gridmatch.clearing import ClearingResult, finish_clearing, price_params
from gridmatch.errors import InvalidOrder, InvalidParameter
from gridmatch.orders import KIND_NAMES, SIDE_NAMES, Side

#: One command per row: op u1, id u8, trader u8, side i1, price i8, qty u8, tif u1, kind u1,
#: flags u1, expiry u8, ts u8 (see `Op`, `Tif`, `Flag`).
COMMAND_DTYPE: np.dtype[np.void] = record_dtype(_core.COMMAND_FIELDS, _core.COMMAND_ITEMSIZE)

#: One event per row: cmd u8 (the command's position in its batch), kind u1 (`EventKind`), id u8,
#: trader u8, side i1, price i8, qty u8, maker_id u8, maker_trader u8, reason u1, flags u1.
EVENT_DTYPE: np.dtype[np.void] = record_dtype(_core.EVENT_FIELDS, _core.EVENT_ITEMSIZE)


class Op(enum.IntEnum):
    SUBMIT = 0
    CANCEL = 1
    AMEND = 2
    #: Expire every GTD order with expiry <= the row's `ts`.
    EXPIRE = 3


class Tif(enum.IntEnum):
    GTC = 0
    #: Good till date: the row's `expiry`.
    GTD = 1
    IOC = 2
    FOK = 3


class Flag(enum.IntFlag):
    POST_ONLY = 1
    #: A market order's `price` is its protection price.
    PROTECTED = 2
    #: Amend: `qty` is the new open quantity.
    AMEND_QTY = 4
    #: Amend: `price` is the new price.
    AMEND_PRICE = 8


class EventKind(enum.IntEnum):
    ACCEPTED = 0
    REJECTED = 1
    FILL = 2
    CANCELLED = 3
    AMENDED = 4


class RejectReason(enum.IntEnum):
    """Why a command was refused; a refused command changes nothing."""

    DUPLICATE_ID = 1
    UNKNOWN_ID = 2
    ZERO_QUANTITY = 3
    INVALID_SIDE = 4
    OFF_TICK = 5
    OFF_LOT = 6
    WOULD_CROSS = 7
    INVALID_TIME_IN_FORCE = 8
    EXPIRY_PASSED = 9
    INVALID_KIND = 10
    INVALID_OP = 11
    NOTHING_TO_AMEND = 12
    CALL_PHASE = 13


class CancelReason(enum.IntEnum):
    USER = 1
    #: What an IOC or market order could not fill at once.
    UNFILLED = 2
    #: A FOK order that could not fill completely.
    KILLED = 3
    SELF_TRADE = 4
    EXPIRED = 5


# Event flag bits.
_MAKER_DONE, _TAKER_DONE, _KEPT_PRIORITY = 1, 2, 4


@dataclass(frozen=True, slots=True)
class Accepted:
    cmd: int
    id: int
    trader: int
    side: Side
    price: int
    qty: int


@dataclass(frozen=True, slots=True)
class Rejected:
    cmd: int
    id: int
    trader: int
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class Fill:
    """`qty` traded at the resting (maker) order's `price`; `side` is the taker's."""

    cmd: int
    taker_id: int
    maker_id: int
    taker_trader: int
    maker_trader: int
    side: Side
    price: int
    qty: int
    maker_done: bool
    taker_done: bool


@dataclass(frozen=True, slots=True)
class Cancelled:
    cmd: int
    id: int
    trader: int
    side: Side
    price: int
    qty: int
    reason: CancelReason


@dataclass(frozen=True, slots=True)
class Amended:
    cmd: int
    id: int
    trader: int
    side: Side
    price: int
    qty: int
    kept_priority: bool


Event = Accepted | Rejected | Fill | Cancelled | Amended


_SIDES = {1: Side.BUY, -1: Side.SELL}
_REJECTS = {r.value: r for r in RejectReason}
_CANCELS = {c.value: c for c in CancelReason}


def _event(row: tuple[int, ...]) -> Event:
    """One event from its fields in `EVENT_DTYPE` order."""
    cmd, kind, id, trader, side, price, qty, maker_id, maker_trader, reason, flags = row
    if kind == EventKind.FILL:
        done = (bool(flags & _MAKER_DONE), bool(flags & _TAKER_DONE))
        return Fill(cmd, id, maker_id, trader, maker_trader, _SIDES[side], price, qty, *done)
    if kind == EventKind.ACCEPTED:
        return Accepted(cmd, id, trader, _SIDES[side], price, qty)
    if kind == EventKind.CANCELLED:
        return Cancelled(cmd, id, trader, _SIDES[side], price, qty, _CANCELS[reason])
    if kind == EventKind.REJECTED:
        return Rejected(cmd, id, trader, _REJECTS[reason])
    return Amended(cmd, id, trader, _SIDES[side], price, qty, bool(flags & _KEPT_PRIORITY))


def to_events(records: npt.NDArray[np.void]) -> list[Event]:
    """The rows of an `EVENT_DTYPE` array as event objects."""
    return [_event(row) for row in records.tolist()]


class Level(NamedTuple):
    """A price level: its price, total quantity and number of orders."""

    price: int
    qty: int
    orders: int


class RestingOrder(NamedTuple):
    id: int
    trader: int
    side: Side
    price: int
    qty: int
    tif: Tif
    expiry: int
    ts: int


class Position(NamedTuple):
    """A resting order's open quantity and how many orders are ahead of it at its price."""

    qty: int
    ahead: int


_COMMANDS = RecordSpec(
    what="commands",
    dtype=COMMAND_DTYPE,
    required=("op", "id"),
    names={
        "op": {op.name.lower(): op.value for op in Op},
        "side": SIDE_NAMES,
        "tif": {tif.name.lower(): tif.value for tif in Tif},
        "kind": KIND_NAMES,
    },
)


def command_array(**columns: Any) -> npt.NDArray[np.void]:
    """Builds a `COMMAND_DTYPE` array from columns; `op`, `side`, `tif` and `kind` also take
    their names ("submit", "buy", "ioc", "market"). Absent columns are zero.

    >>> cmds = command_array(op=["submit", "submit"], id=[1, 2], trader=[7, 8], side=["sell", "buy"],
    ...                      price=[100, 101], qty=[5, 3])
    >>> [type(e).__name__ for e in to_events(OrderBook().process(cmds))]
    ['Accepted', 'Accepted', 'Fill']
    """
    return from_columns(columns, _COMMANDS)


_U64, _I64, _I8 = np.iinfo(np.uint64), np.iinfo(np.int64), np.iinfo(np.int8)
_TIF_NAMES = {t.name.lower(): t.value for t in Tif}
# What the per-call methods take for a side or a time-in-force, looked up in one step; anything
# else goes to `_code`, which also reads names in any case and explains refusals.
_SIDE_CODES: dict[object, int] = {1: 1, -1: -1}
_SIDE_CODES.update(SIDE_NAMES)
_TIF_CODES: dict[object, int] = {t.value: t.value for t in Tif}
_TIF_CODES.update(_TIF_NAMES)


def _int(field: str, value: Any, info: np.iinfo[Any], order_id: int | None = None) -> int:
    """A command field as an exact integer of its range, or `InvalidOrder` naming it."""
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidOrder(
            f"{field} = {value!r}: must be an integer", field=field, order_id=order_id, value=value
        ) from None
    if not info.min <= number <= info.max:
        raise InvalidOrder(f"{field} = {number}: out of range", field=field, order_id=order_id, value=number)
    return number


def _code(field: str, value: Any, names: dict[str, int], fast: dict[object, int], order_id: int | None) -> int:
    try:
        return fast[value]
    except (KeyError, TypeError):
        pass
    if isinstance(value, str):
        if value.lower() not in names:
            choices = ", ".join(names)
            raise InvalidOrder(
                f"{field} = {value!r}: expected one of {choices}", field=field, order_id=order_id, value=value
            )
        return names[value.lower()]
    return _int(field, value, _I8, order_id)


def _explain(order_id: Any, fields: dict[str, tuple[Any, np.iinfo[Any]]]) -> None:
    """Raises `InvalidOrder` for the first field that the core's typed arguments refused."""
    oid = order_id if isinstance(order_id, int) and not isinstance(order_id, bool) else None
    for field, (value, info) in fields.items():
        _int(field, value, info, oid)


class OrderBook:
    """A continuous limit order book: price-time priority, trades at the resting order's price.

    `stp` is the self-trade prevention mode: "none", "cancel_newest", "cancel_oldest",
    "cancel_both" or "decrement". With `tick` and `lot`, prices and quantities must be
    multiples of them. Commands never raise for market reasons: a refused command answers with
    a `Rejected` event and changes nothing. Malformed arguments (a float id, a price beyond
    int64) raise `InvalidOrder`.

    >>> book = OrderBook()
    >>> book.submit(1, trader=7, side="sell", qty=5, price=100)
    [Accepted(cmd=0, id=1, trader=7, side=<Side.SELL: -1>, price=100, qty=5)]
    >>> [type(e).__name__ for e in book.submit(2, trader=8, side="buy", qty=3, price=101)]
    ['Accepted', 'Fill']
    >>> book.best_ask()
    Level(price=100, qty=2, orders=1)
    """

    def __init__(self, stp: str = "none", tick: int | None = None, lot: int | None = None) -> None:
        for name, step in (("tick", tick), ("lot", lot)):
            if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step <= 0):
                raise InvalidParameter(f"{name} = {step!r}: must be a positive integer", field=name, value=step)
        if not isinstance(stp, str):
            raise InvalidParameter(f"stp = {stp!r}: must be a mode name", field="stp", value=stp)
        self._book = _core.Book(stp, tick, lot)

    @property
    def stp(self) -> str:
        return self._book.stp

    @property
    def tick(self) -> int | None:
        return self._book.tick

    @property
    def lot(self) -> int | None:
        return self._book.lot

    @property
    def phase(self) -> str:
        """ "continuous", or "call" while orders collect for an uncross."""
        return self._book.phase

    def set_phase(self, phase: str) -> None:
        """Starts a call phase ("call": limit orders collect without trading; market, IOC and
        FOK orders are refused) or returns to continuous trading, which a crossed book refuses:
        `uncross` it first."""
        self._book.set_phase(phase)

    def __len__(self) -> int:
        return len(self._book)

    def __repr__(self) -> str:
        return (
            f"OrderBook(stp={self.stp!r}, orders={len(self)}, best_bid={self.best_bid()}, best_ask={self.best_ask()})"
        )

    def submit(
        self,
        id: int,
        trader: int,
        side: Side | int | str,
        qty: int,
        price: int | None = None,
        *,
        tif: Tif | str | None = None,
        post_only: bool = False,
        expiry: int | None = None,
        protection: int | None = None,
        ts: int = 0,
    ) -> list[Event]:
        """Submits an order: a limit order at `price`, or a market order when `price` is None
        (with `protection` as its worst price, if given). `tif` defaults to "gtc" for limit
        orders, "gtd" when `expiry` is given, and "ioc" for market orders."""
        market = price is None
        if tif is None:
            tif = Tif.IOC if market else (Tif.GTD if expiry is not None else Tif.GTC)
        code = _code("tif", tif, _TIF_NAMES, _TIF_CODES, id)
        if code == Tif.GTD and expiry is None:
            raise InvalidOrder("tif = gtd needs an expiry", field="expiry", order_id=id, value=None)
        if protection is not None and not market:
            raise InvalidOrder(
                "protection is for market orders only", field="protection", order_id=id, value=protection
            )
        flags = (Flag.POST_ONLY if post_only else 0) | (Flag.PROTECTED if protection is not None else 0)
        limit = (protection if market else price) or 0
        side_code = _code("side", side, SIDE_NAMES, _SIDE_CODES, id)
        args = (id, trader, side_code, limit, qty, code, int(market), int(flags), expiry or 0, ts)
        try:
            rows = self._book.apply(Op.SUBMIT, *args)
        except (TypeError, OverflowError):
            fields = ("id", "trader", "side", "price", "qty", "tif", "kind", "flags", "expiry", "ts")
            ranges: tuple[np.iinfo[Any], ...] = (_U64, _U64, _I8, _I64, _U64, _I8, _I8, _I8, _U64, _U64)
            _explain(id, {f: (v, r) for f, v, r in zip(fields, args, ranges, strict=True)})
            raise
        return [_event(row) for row in rows]

    def cancel(self, id: int) -> list[Event]:
        return self._apply(Op.CANCEL, id=id)

    def amend(self, id: int, qty: int | None = None, price: int | None = None) -> list[Event]:
        """Changes a resting order's open quantity and/or price. Down at the same price keeps
        its queue position; a price change or an increase re-enters it at the back (trading
        first if it crosses); zero cancels it."""
        flags = (Flag.AMEND_QTY if qty is not None else 0) | (Flag.AMEND_PRICE if price is not None else 0)
        return self._apply(Op.AMEND, id=id, price=price or 0, qty=qty or 0, flags=int(flags))

    def expire(self, now: int) -> list[Event]:
        """Cancels every GTD order with expiry <= `now`, earliest expiry first."""
        return self._apply(Op.EXPIRE, now=now)

    def _apply(self, op: Op, id: Any = 0, price: Any = 0, qty: Any = 0, flags: int = 0, now: Any = 0) -> list[Event]:
        """One command of the given fields (the others zero)."""
        try:
            rows = self._book.apply(op, id, 0, 0, price, qty, 0, 0, flags, 0, now)
        except (TypeError, OverflowError):
            _explain(id, {"id": (id, _U64), "price": (price, _I64), "qty": (qty, _U64), "now": (now, _U64)})
            raise
        return [_event(row) for row in rows]

    def process(self, commands: Any) -> npt.NDArray[np.void]:
        """Applies a batch of commands in order and returns their events as an `EVENT_DTYPE`
        array (`cmd` is each event's command position). Takes a `COMMAND_DTYPE` array (read in
        place), another structured array, a mapping of columns or a DataFrame."""
        batch = as_records(commands, _COMMANDS)
        return self._book.process(batch.view(np.uint8))

    def best_bid(self) -> Level | None:
        best = self._book.best_bid()
        return None if best is None else Level(*best)

    def best_ask(self) -> Level | None:
        best = self._book.best_ask()
        return None if best is None else Level(*best)

    def depth(self, n: int = 10) -> tuple[list[Level], list[Level]]:
        """The best `n` price levels of each side, best first: (bids, asks)."""
        bids, asks = self._book.depth(_int("n", n, np.iinfo(np.uint32)))
        return [Level(*b) for b in bids], [Level(*a) for a in asks]

    def orders(self) -> list[RestingOrder]:
        """Every resting order (L3): bids best price first, then asks, each level in queue order."""
        return [RestingOrder(i, t, Side(s), p, q, Tif(f), e, ts) for i, t, s, p, q, f, e, ts in self._book.orders()]

    def position(self, id: int) -> Position | None:
        found = self._book.position(_int("id", id, _U64))
        return None if found is None else Position(*found)

    def uncross(
        self,
        *,
        rule: str | _core.PriceRule = "midpoint",
        allocation: str = "time",
        reference_price: int | None = None,
        min_price: int | None = None,
        max_price: int | None = None,
    ) -> ClearingResult:
        """Clears the resting orders in one call auction (as `gridmatch.clear`, time priority by
        arrival) and removes what filled; partly filled orders keep their place."""
        prices = price_params(reference_price, min_price, max_price)
        orders, cleared = self._book.uncross(rule=rule, allocation=allocation, **prices)
        return finish_clearing(cleared, orders)


__all__ = [
    "COMMAND_DTYPE",
    "EVENT_DTYPE",
    "Accepted",
    "Amended",
    "CancelReason",
    "Cancelled",
    "Event",
    "EventKind",
    "Fill",
    "Flag",
    "Level",
    "Op",
    "OrderBook",
    "Position",
    "RejectReason",
    "Rejected",
    "RestingOrder",
    "Tif",
    "command_array",
    "to_events",
]
