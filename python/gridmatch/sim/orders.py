"""Building order arrays of the engine's dtype (``gridmatch.ORDER_DTYPE``) from columns."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BUY: int = 1
SELL: int = -1
LIMIT: int = 0
MARKET: int = 1


def order_dtype() -> np.dtype:
    """The engine's order dtype (imported lazily, so that importing ``gridmatch.sim`` is cheap)."""
    import gridmatch

    return gridmatch.ORDER_DTYPE


def make_orders(
    *,
    id: npt.ArrayLike,
    trader: npt.ArrayLike,
    side: npt.ArrayLike,
    price: npt.ArrayLike,
    qty: npt.ArrayLike,
    ts: npt.ArrayLike | None = None,
    kind: npt.ArrayLike | None = None,
) -> npt.NDArray[np.void]:
    """A structured array of ``ORDER_DTYPE`` from equal-length columns.

    ``ts`` defaults to the position, ``kind`` to limit (0). Columns are cast with ``same_kind``
    rules after a range check, so a negative quantity or id raises instead of wrapping.
    """
    ids = np.asarray(id)
    n = len(ids)
    out = np.zeros(n, dtype=order_dtype())
    columns = {
        "id": ids,
        "trader": np.asarray(trader),
        "side": np.asarray(side),
        "price": np.asarray(price),
        "qty": np.asarray(qty),
        "ts": np.arange(n, dtype=np.uint64) if ts is None else np.asarray(ts),
        "kind": np.zeros(n, dtype=np.uint8) if kind is None else np.asarray(kind),
    }
    for name, col in columns.items():
        if col.shape != (n,):
            raise ValueError(f"column {name!r} has shape {col.shape}, expected ({n},)")
        if name in ("id", "trader", "qty", "ts", "kind") and n and col.dtype.kind == "i":
            low = int(col.min())
            if low < 0:
                raise ValueError(f"column {name!r} must be >= 0, got {low}")
        out[name] = col
    return out
