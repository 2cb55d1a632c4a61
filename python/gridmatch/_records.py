"""Records from columns: the conversion of column mappings, DataFrames and structured arrays into
the numpy record dtypes the core reads (orders, commands), with a typed error for every value
that cannot be represented exactly."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridmatch.errors import InvalidOrder, OrderDtypeError

# Floats convert only when every value is an integer they represent exactly.
_EXACT_FLOAT = 2.0**53


def record_dtype(fields: Sequence[tuple[str, str, int]], itemsize: int) -> np.dtype[np.void]:
    """The numpy dtype of a core record: (name, format, offset) per field, as the core lays it out."""
    return np.dtype(
        {
            "names": [name for name, _, _ in fields],
            "formats": [fmt for _, fmt, _ in fields],
            "offsets": [offset for _, _, offset in fields],
            "itemsize": itemsize,
            "aligned": True,
        }
    )


@dataclass(frozen=True)
class RecordSpec:
    """How to build one record dtype from columns: the columns that must be there, the small
    code columns that also take names (e.g. side "buy"), and defaults for absent columns
    (zeros otherwise)."""

    what: str
    dtype: np.dtype[np.void]
    required: tuple[str, ...]
    names: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    defaults: Mapping[str, Callable[[int], np.ndarray]] = field(default_factory=dict)


def as_records(obj: Any, spec: RecordSpec) -> np.ndarray:
    """`obj` as a C-contiguous array of `spec.dtype`, without a copy when it already is one.
    Takes such an array, another structured array, a mapping of columns or a DataFrame."""
    if isinstance(obj, np.ndarray):
        if obj.dtype == spec.dtype:
            if obj.ndim != 1:
                raise OrderDtypeError(
                    f"{spec.what} must be 1-D; got shape {obj.shape}", field=spec.what, value=obj.shape
                )
            return np.ascontiguousarray(obj)
        if obj.dtype.names is None:
            raise OrderDtypeError(
                f"{spec.what} must be a structured array with fields {', '.join(spec.dtype.names or ())}; "
                f"got dtype {obj.dtype}",
                field=spec.what,
                value=str(obj.dtype),
            )
        return from_columns({name: obj[name] for name in obj.dtype.names}, spec)
    if isinstance(obj, Mapping):
        return from_columns(obj, spec)
    columns = getattr(obj, "columns", None)
    if columns is not None:  # a pandas or polars DataFrame
        return from_columns({str(name): obj[name] for name in columns}, spec)
    raise OrderDtypeError(
        f"{spec.what} must be an array of its dtype, a mapping of columns or a DataFrame; got {type(obj).__name__}",
        field=spec.what,
        value=type(obj).__name__,
    )


def from_columns(columns: Mapping[str, Any], spec: RecordSpec) -> np.ndarray:
    missing = [name for name in spec.required if columns.get(name) is None]
    if missing:
        raise OrderDtypeError(f"{spec.what} lack the column(s) {', '.join(missing)}", field=missing[0])
    ids = _integers("id", columns["id"], np.dtype(np.uint64), None, None)
    n = len(ids)
    out = np.zeros(n, dtype=spec.dtype)
    out["id"] = ids
    for name in spec.dtype.names or ():
        values = columns.get(name)
        if name == "id":
            continue
        if values is None:
            if name in spec.defaults:
                out[name] = spec.defaults[name](n)
            continue
        target = spec.dtype.fields[name][0]  # type: ignore[index]
        if name in spec.names:
            out[name] = _coded(name, values, target, ids, n, spec.names[name])
        else:
            out[name] = _integers(name, values, target, ids, n)
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
    field: str, values: Any, target: np.dtype[Any], ids: np.ndarray, n: int, names: Mapping[str, int]
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
