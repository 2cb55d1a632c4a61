"""gridmatch: a matching engine for peer-to-peer energy markets with a native Rust core.

Uniform-price clearing (call auction) with exact integer money, columnar numpy in and out.

>>> import gridmatch as gm
>>> book = gm.order_array(id=[1, 2], trader=[10, 20], side=["buy", "sell"], price=[105, 95], qty=[3, 2])
>>> gm.clear(book).price
100
"""

from gridmatch._core import PriceRule, __version__
from gridmatch.clearing import CURVE_DTYPE, FILL_DTYPE, ClearingResult, Curves, clear, curves
from gridmatch.errors import (
    AmountOverflow,
    DuplicateOrderId,
    GridmatchError,
    IndeterminatePrice,
    InvalidOrder,
    InvalidParameter,
    MissingReferencePrice,
    OrderDtypeError,
)
from gridmatch.orders import ORDER_DTYPE, Kind, Order, Side, as_order_array, order_array

__all__ = [
    "CURVE_DTYPE",
    "FILL_DTYPE",
    "ORDER_DTYPE",
    "AmountOverflow",
    "ClearingResult",
    "Curves",
    "DuplicateOrderId",
    "GridmatchError",
    "IndeterminatePrice",
    "InvalidOrder",
    "InvalidParameter",
    "Kind",
    "MissingReferencePrice",
    "Order",
    "OrderDtypeError",
    "PriceRule",
    "Side",
    "__version__",
    "as_order_array",
    "clear",
    "curves",
    "order_array",
]
