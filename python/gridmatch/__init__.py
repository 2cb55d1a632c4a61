"""gridmatch: a matching engine for peer-to-peer energy markets with a native Rust core.

Uniform-price clearing (call auction) with exact integer money, and a continuous limit order
book with price-time priority; columnar numpy in and out.

>>> import gridmatch as gm
>>> book = gm.order_array(id=[1, 2], trader=[10, 20], side=["buy", "sell"], price=[105, 95], qty=[3, 2])
>>> gm.clear(book).price
100
"""

from gridmatch._core import PriceRule, __version__
from gridmatch.book import (
    COMMAND_DTYPE,
    EVENT_DTYPE,
    Accepted,
    Amended,
    Cancelled,
    CancelReason,
    Event,
    EventKind,
    Fill,
    Flag,
    Level,
    Op,
    OrderBook,
    Position,
    Rejected,
    RejectReason,
    RestingOrder,
    Tif,
    command_array,
    to_events,
)
from gridmatch.clearing import CURVE_DTYPE, FILL_DTYPE, ClearingResult, Curves, clear, curves
from gridmatch.errors import (
    AmountOverflow,
    ChainError,
    ChainTimeout,
    DuplicateOrderId,
    GridmatchError,
    IndeterminatePrice,
    InvalidOrder,
    InvalidParameter,
    MissingReferencePrice,
    OrderDtypeError,
    TransactionFailed,
)
from gridmatch.orders import ORDER_DTYPE, Kind, Order, Side, as_order_array, order_array

__all__ = [
    "COMMAND_DTYPE",
    "CURVE_DTYPE",
    "EVENT_DTYPE",
    "FILL_DTYPE",
    "ORDER_DTYPE",
    "Accepted",
    "Amended",
    "AmountOverflow",
    "CancelReason",
    "Cancelled",
    "ChainError",
    "ChainTimeout",
    "ClearingResult",
    "Curves",
    "DuplicateOrderId",
    "Event",
    "EventKind",
    "Fill",
    "Flag",
    "GridmatchError",
    "IndeterminatePrice",
    "InvalidOrder",
    "InvalidParameter",
    "Kind",
    "Level",
    "MissingReferencePrice",
    "Op",
    "Order",
    "OrderBook",
    "OrderDtypeError",
    "Position",
    "PriceRule",
    "RejectReason",
    "Rejected",
    "RestingOrder",
    "Side",
    "Tif",
    "TransactionFailed",
    "__version__",
    "as_order_array",
    "clear",
    "command_array",
    "curves",
    "order_array",
    "to_events",
]
