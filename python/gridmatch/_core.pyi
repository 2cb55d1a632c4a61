# Stubs for the compiled module gridmatch._core (python/src). Checked against the built module
# with `python -m mypy.stubtest gridmatch._core` in `make lint`.
from typing import ClassVar, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "FILL_FIELDS",
    "FILL_ITEMSIZE",
    "ORDER_FIELDS",
    "ORDER_ITEMSIZE",
    "PriceRule",
    "__version__",
    "clear_records",
]

__version__: str
#: (name, numpy format, byte offset) of each field of an order row.
ORDER_FIELDS: list[tuple[str, str, int]]
ORDER_ITEMSIZE: int
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

def clear_records(
    records: npt.NDArray[np.uint8],
    *,
    rule: str | PriceRule,
    allocation: str,
    reference_price: int | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
) -> tuple[
    int | None,
    tuple[int, int] | None,
    int,
    int,
    int,
    int,
    npt.NDArray[np.uint64],
    npt.NDArray[np.void],
]:
    """Clears the orders in `records` (the bytes of a C-contiguous ORDER_DTYPE array). Returns
    (price, interval, volume, demand, supply, welfare, filled, fills as FILL_DTYPE records)."""
