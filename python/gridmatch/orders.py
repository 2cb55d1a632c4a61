"""Orders as numpy records: `ORDER_DTYPE`, `order_array`, and the conversion of everything else
a caller may hold (column mappings, pandas or polars frames, `Order` objects, other structured
arrays) into it, with a typed error for every value that cannot be represented exactly."""

from __future__ import annotations

import enum
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from gridmatch import _core
from gridmatch.errors import InvalidOrder, OrderDtypeError

#: One order per row: id u8, trader u8, side i1 (+1 buy, -1 sell), price i8 (ticks), qty u8
#: (lots), ts u8 (priority time), kind u1 (0 limit, 1 market). Laid out by the Rust core.
ORDER_DTYPE: np.dtype[np.void] = np.dtype(
    {
        "names": [name for name, _, _ in _core.ORDER_FIELDS],
        "formats": [fmt for _, fmt, _ in _core.ORDER_FIELDS],
        "offsets": [offset for _, _, offset in _core.ORDER_FIELDS],
        "itemsize": _core.ORDER_ITEMSIZE,
        "aligned": True,
    }
)

OrderArray = npt.NDArray[np.void]

_REQUIRED = ("id", "trader", "side", "price", "qty")
# Floats convert only when every value is an integer they represent exactly.
_EXACT_FLOAT = 2.0**53


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
    return _from_columns({"id": id, "trader": trader, "side": side, "price": price, "qty": qty, "ts": ts, "kind": kind})


def as_order_array(orders: Any) -> OrderArray:
    """`orders` as a C-contiguous `ORDER_DTYPE` array, without a copy when it already is one."""
    if isinstance(orders, np.ndarray):
        if orders.dtype == ORDER_DTYPE:
            if orders.ndim != 1:
                raise OrderDtypeError(
                    f"orders must be 1-D; got shape {orders.shape}", field="orders", value=orders.shape
                )
            return np.ascontiguousarray(orders)
        if orders.dtype.names is None:
            raise OrderDtypeError(
                f"orders must be a structured array with fields {', '.join(ORDER_DTYPE.names or ())}; "
                f"got dtype {orders.dtype}",
                field="orders",
                value=str(orders.dtype),
            )
        return _from_columns({name: orders[name] for name in orders.dtype.names})
    if isinstance(orders, Mapping):
        return _from_columns(orders)
    columns = getattr(orders, "columns", None)
    if columns is not None:  # a pandas or polars DataFrame
        return _from_columns({str(name): orders[name] for name in columns})
    if isinstance(orders, Sequence) and all(isinstance(o, Order) for o in orders):
        columns = {field: [getattr(o, field) for o in orders] for field in Order._fields}
        columns["ts"] = [pos if ts is None else ts for pos, ts in enumerate(columns["ts"])]
        return _from_columns(columns)
    raise OrderDtypeError(
        "orders must be an ORDER_DTYPE array, a mapping of columns, a DataFrame or a sequence of "
        f"Order; got {type(orders).__name__}",
        field="orders",
        value=type(orders).__name__,
    )


def _from_columns(columns: Mapping[str, Any]) -> OrderArray:
    missing = [name for name in _REQUIRED if columns.get(name) is None]
    if missing:
        raise OrderDtypeError(f"orders lack the column(s) {', '.join(missing)}", field=missing[0])
    ids = _integers("id", columns["id"], np.dtype(np.uint64), None, None)
    n = len(ids)
    out = np.zeros(n, dtype=ORDER_DTYPE)
    out["id"] = ids
    out["trader"] = _integers("trader", columns["trader"], np.dtype(np.uint64), ids, n)
    out["side"] = _coded("side", columns["side"], np.dtype(np.int8), ids, n, {"buy": 1, "sell": -1})
    out["price"] = _integers("price", columns["price"], np.dtype(np.int64), ids, n)
    out["qty"] = _integers("qty", columns["qty"], np.dtype(np.uint64), ids, n)
    ts = columns.get("ts")
    out["ts"] = np.arange(n, dtype=np.uint64) if ts is None else _integers("ts", ts, np.dtype(np.uint64), ids, n)
    kind = columns.get("kind")
    if kind is not None:
        out["kind"] = _coded("kind", kind, np.dtype(np.uint8), ids, n, {"limit": 0, "market": 1})
    return out


def _column(field: str, values: Any, n: int | None) -> np.ndarray:
    if isinstance(values, np.ndarray):
        arr = values
    elif hasattr(values, "to_numpy"):  # pandas / polars Series
        arr = np.asarray(values.to_numpy())
    elif isinstance(values, Iterable) and not isinstance(values, (str, bytes)):
        arr = np.asarray(values if isinstance(values, Sequence) else list(values))
    else:
        raise OrderDtypeError(
            f"column {field!r} must be a sequence or an array; got {type(values).__name__}",
            field=field,
            value=values,
        )
    if arr.ndim != 1 or (n is not None and len(arr) != n):
        expected = "1-D" if n is None else f"shape ({n},)"
        raise OrderDtypeError(
            f"column {field!r} must be {expected}; got shape {arr.shape}", field=field, value=arr.shape
        )
    return arr


def _refuse(field: str, ids: np.ndarray | None, pos: int, value: object, reason: str) -> InvalidOrder:
    who = f"order {int(ids[pos])}" if ids is not None else f"order at position {pos}"
    return InvalidOrder(
        f"{who}: {field} = {value!r}: {reason}",
        field=field,
        order_id=None if ids is None else int(ids[pos]),
        value=value,
    )


def _integers(field: str, values: Any, target: np.dtype[Any], ids: np.ndarray | None, n: int | None) -> np.ndarray:
    arr = _column(field, values, n)
    info = np.iinfo(target)
    kind = arr.dtype.kind
    if kind in "iu":
        bad = (arr < info.min) | (arr > info.max)
        if bad.any():
            pos = int(np.argmax(bad))
            raise _refuse(field, ids, pos, int(arr[pos]), f"out of range for {target} [{info.min}, {info.max}]")
        return arr.astype(target, copy=False)
    if kind == "f":
        with np.errstate(invalid="ignore"):
            exact = np.isfinite(arr) & (arr == np.floor(arr)) & (np.abs(arr) <= _EXACT_FLOAT)
            bad = ~exact | (arr < info.min) | (arr > info.max)
        if bad.any():
            pos = int(np.argmax(bad))
            raise _refuse(field, ids, pos, float(arr[pos]), f"must be an integer exactly representable as {target}")
        return arr.astype(target)
    if kind == "O":
        return np.array([_python_int(field, ids, pos, v, info) for pos, v in enumerate(arr)], dtype=target)
    raise OrderDtypeError(
        f"column {field!r} must hold integers; got dtype {arr.dtype}", field=field, value=str(arr.dtype)
    )


def _python_int(field: str, ids: np.ndarray | None, pos: int, value: object, info: np.iinfo[Any]) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise _refuse(field, ids, pos, value, "must be an integer, not a boolean")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_FLOAT:
            number = int(value)
        else:
            raise _refuse(field, ids, pos, value, "must be an integer") from None
    if not info.min <= number <= info.max:
        raise _refuse(field, ids, pos, number, f"out of range [{info.min}, {info.max}]")
    return number


def _coded(
    field: str, values: Any, target: np.dtype[Any], ids: np.ndarray, n: int, names: dict[str, int]
) -> np.ndarray:
    """A small integer code column that also accepts the codes' names."""
    arr = _column(field, values, n)
    if arr.dtype.kind in "US" and not isinstance(values, np.ndarray):
        arr = np.array(list(values), dtype=object)  # numpy turned mixed names and codes into strings
    if arr.dtype.kind in "UST" or (arr.dtype.kind == "O" and any(isinstance(v, str) for v in arr)):
        codes = np.empty(n, dtype=target)
        for pos, value in enumerate(arr):
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                codes[pos] = _python_int(field, ids, pos, value, np.iinfo(target))
            elif isinstance(value, str) and value.lower() in names:
                codes[pos] = names[value.lower()]
            else:
                choices = " or ".join(repr(k) for k in names)
                raise _refuse(field, ids, pos, value, f"must be {choices} or its integer code")
        return codes
    return _integers(field, arr, target, ids, n)


__all__ = ["ORDER_DTYPE", "Kind", "Order", "OrderArray", "Side", "as_order_array", "order_array"]
