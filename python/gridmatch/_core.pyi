# Stubs for the compiled module gridmatch._core (python/src). Checked against the built module
# with `python -m mypy.stubtest gridmatch._core` in `make lint`.
from typing import ClassVar, TypeAlias, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "COMMAND_FIELDS",
    "COMMAND_ITEMSIZE",
    "EVENT_FIELDS",
    "EVENT_ITEMSIZE",
    "FILL_FIELDS",
    "FILL_ITEMSIZE",
    "ORDER_FIELDS",
    "ORDER_ITEMSIZE",
    "Book",
    "PriceRule",
    "__version__",
    "clear_records",
    "split_trade",
]

__version__: str
#: (name, numpy format, byte offset) of each field of an order row.
ORDER_FIELDS: list[tuple[str, str, int]]
ORDER_ITEMSIZE: int
#: (name, numpy format, byte offset) of each field of a command row and an event row.
COMMAND_FIELDS: list[tuple[str, str, int]]
COMMAND_ITEMSIZE: int
EVENT_FIELDS: list[tuple[str, str, int]]
EVENT_ITEMSIZE: int
#: (name, numpy format, byte offset) of each field of a fill row.
FILL_FIELDS: list[tuple[str, str, int]]
FILL_ITEMSIZE: int

@final
class PriceRule:
    """How the clearing price is chosen from the prices that maximise executable volume."""

    MIDPOINT: ClassVar[PriceRule]
    MARGINAL_ASK: ClassVar[PriceRule]
    MARGINAL_BID: ClassVar[PriceRule]
    EXCHANGE: ClassVar[PriceRule]
    @staticmethod
    def k(a: int, b: int) -> PriceRule:
        """The k-rule with k = a/b in [0, 1]."""
    @staticmethod
    def named(name: str) -> PriceRule:
        """The rule called "midpoint", "marginal_ask", "marginal_bid" or "exchange"."""
    @property
    def name(self) -> str | None: ...
    @property
    def fraction(self) -> tuple[int, int] | None:
        """(a, b) with k = a/b in lowest terms; None for the exchange rule."""
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

#: (price, interval, volume, demand, supply, welfare, filled, fills) of one clearing.
_Cleared: TypeAlias = tuple[
    int | None,
    tuple[int, int] | None,
    int,
    int,
    int,
    int,
    npt.NDArray[np.uint64],
    npt.NDArray[np.void],
]

def clear_records(
    records: npt.NDArray[np.uint8],
    *,
    rule: str | PriceRule,
    allocation: str,
    reference_price: int | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
) -> _Cleared:
    """Clears the orders in `records` (the bytes of a C-contiguous ORDER_DTYPE array). Returns
    (price, interval, volume, demand, supply, welfare, filled, fills as FILL_DTYPE records)."""

@final
class Book:
    """The continuous limit order book; gridmatch.OrderBook is its documented interface."""

    def __new__(cls, stp: str = "none", tick: int | None = None, lot: int | None = None) -> Book: ...
    def process(self, commands: npt.NDArray[np.uint8]) -> npt.NDArray[np.void]:
        """Applies the commands in `commands` (bytes of a COMMAND_DTYPE array); returns EVENT_DTYPE rows."""
    def apply(
        self,
        op: int,
        id: int,
        trader: int,
        side: int,
        price: int,
        qty: int,
        tif: int,
        kind: int,
        flags: int,
        expiry: int,
        ts: int,
    ) -> list[tuple[int, int, int, int, int, int, int, int, int, int, int]]:
        """Applies one command given field by field; returns its events as tuples in EVENT_DTYPE order."""
    def best_bid(self) -> tuple[int, int, int] | None: ...
    def best_ask(self) -> tuple[int, int, int] | None: ...
    def depth(self, n: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]: ...
    def orders(self) -> list[tuple[int, int, int, int, int, int, int, int]]:
        """Every resting order as (id, trader, side, price, qty, tif, expiry, ts), in priority order."""
    def position(self, id: int) -> tuple[int, int] | None: ...
    @property
    def phase(self) -> str: ...
    def set_phase(self, phase: str) -> None: ...
    @property
    def stp(self) -> str: ...
    @property
    def tick(self) -> int | None: ...
    @property
    def lot(self) -> int | None: ...
    def __len__(self) -> int: ...
    def uncross(
        self,
        *,
        rule: str | PriceRule,
        allocation: str,
        reference_price: int | None = None,
        min_price: int | None = None,
        max_price: int | None = None,
    ) -> tuple[npt.NDArray[np.void], _Cleared]:
        """Clears the resting orders in one call auction and removes what filled; returns the
        orders as the auction saw them (ORDER_DTYPE) and the clearing tuple of clear_records."""

def split_trade(notional: int, *, fee_bps: int, payer: str, rounding: str) -> tuple[int, int, int, int]:
    """(buyer_pays, seller_receives, buyer_fee, seller_fee) of a trade of `notional` payment base
    units: the fee (`fee_bps` of |notional|, paid by "buyer", "seller" or "split", rounded
    "down", "up" or "half_even") is rounded once; buyer_pays == seller_receives + both fees."""
