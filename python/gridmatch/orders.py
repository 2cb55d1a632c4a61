"""Orders as numpy records: `ORDER_DTYPE`, `order_array`, and the conversion of everything else
a caller may hold (column mappings, pandas or polars frames, `Order` objects, other structured
arrays) into it."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from gridmatch import _core
from gridmatch._records import RecordSpec, as_records, from_columns, record_dtype

#: One order per row: id u8, trader u8, side i1 (+1 buy, -1 sell), price i8 (ticks), qty u8
#: (lots), ts u8 (priority time), kind u1 (0 limit, 1 market). Laid out by the Rust core.
ORDER_DTYPE: np.dtype[np.void] = record_dtype(_core.ORDER_FIELDS, _core.ORDER_ITEMSIZE)

OrderArray = npt.NDArray[np.void]

SIDE_NAMES = {"buy": 1, "sell": -1}
KIND_NAMES = {"limit": 0, "market": 1}

_SPEC = RecordSpec(
    what="orders",
    dtype=ORDER_DTYPE,
    required=("id", "trader", "side", "price", "qty"),
    names={"side": SIDE_NAMES, "kind": KIND_NAMES},
    defaults={"ts": lambda n: np.arange(n, dtype=np.uint64)},
)


class Side(enum.IntEnum):
    BUY = 1
    SELL = -1


class Kind(enum.IntEnum):
    LIMIT = 0
    MARKET = 1


class Order(NamedTuple):
    """One order, for callers who build books object by object; `order_array` and `clear`
    accept sequences of these. `side` and `kind` also take their names ("buy", "market")."""

    id: int
    trader: int
    side: Side | int | str
    price: int
    qty: int
    ts: int | None = None
    kind: Kind | int | str = Kind.LIMIT


def order_array(
    id: Any,
    trader: Any,
    side: Any,
    price: Any,
    qty: Any,
    ts: Any = None,
    kind: Any = None,
) -> OrderArray:
    """Builds an `ORDER_DTYPE` array from columns (sequences or numpy arrays of one length).

    `side` takes +1/-1 or "buy"/"sell"; `kind` takes 0/1 or "limit"/"market" and defaults to
    limit; `ts` defaults to each order's position. Values that do not fit a field exactly raise
    `InvalidOrder` naming the field, the order and the value.

    >>> book = order_array(id=[1, 2], trader=[7, 8], side=["buy", "sell"], price=[105, 95], qty=[3, 2])
    >>> book["ts"].tolist(), book["kind"].tolist()
    ([0, 1], [0, 0])
    """
    columns = {"id": id, "trader": trader, "side": side, "price": price, "qty": qty, "ts": ts, "kind": kind}
    return from_columns(columns, _SPEC)


def as_order_array(orders: Any) -> OrderArray:
    """`orders` as a C-contiguous `ORDER_DTYPE` array, without a copy when it already is one:
    an `ORDER_DTYPE` array, another structured array, a mapping of columns, a pandas or polars
    DataFrame, or a sequence of `Order`."""
    if isinstance(orders, Sequence) and not isinstance(orders, str) and all(isinstance(o, Order) for o in orders):
        columns = {field: [getattr(o, field) for o in orders] for field in Order._fields}
        columns["ts"] = [pos if ts is None else ts for pos, ts in enumerate(columns["ts"])]
        return from_columns(columns, _SPEC)
    return as_records(orders, _SPEC)


__all__ = ["ORDER_DTYPE", "Kind", "Order", "OrderArray", "Side", "as_order_array", "order_array"]
