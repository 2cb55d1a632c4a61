"""`clear`: uniform-price clearing of a batch of orders, and its result."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gridmatch import _core
from gridmatch._core import PriceRule
from gridmatch._records import record_dtype
from gridmatch.errors import InvalidParameter
from gridmatch.orders import OrderArray, as_order_array

#: One bilateral trade per row: buy_id u8, sell_id u8, buyer u8, seller u8, qty u8, price i8.
FILL_DTYPE: np.dtype[np.void] = record_dtype(_core.FILL_FIELDS, _core.FILL_ITEMSIZE)

#: One step of an aggregate curve: the quantity D(p) or S(p) at a limit price p.
CURVE_DTYPE: np.dtype[np.void] = np.dtype([("price", "<i8"), ("qty", "<u8")])

_I64 = np.iinfo(np.int64)
_ALLOCATIONS = ("time", "pro_rata")


@dataclass(frozen=True)
class Curves:
    """Aggregate demand and supply of a book, as steps for plots.

    `demand` holds D(p) at every distinct bid limit price, highest price first; `supply` holds
    S(p) at every distinct ask limit price, lowest first. Market orders count at every price:
    they are `market_demand` and `market_supply`, included in every step.
    """

    demand: npt.NDArray[np.void]
    supply: npt.NDArray[np.void]
    market_demand: int
    market_supply: int

    def at(self, price: int) -> tuple[int, int]:
        """D(price) and S(price)."""
        d = self.demand[self.demand["price"] >= price]
        s = self.supply[self.supply["price"] <= price]
        return (
            int(d["qty"][-1]) if len(d) else self.market_demand,
            int(s["qty"][-1]) if len(s) else self.market_supply,
        )


@dataclass(frozen=True, repr=False)
class ClearingResult:
    """The outcome of `clear`.

    `price` is None when nothing crosses (then `volume` is 0 and nothing fills). `interval` is
    the best-price interval [lo, hi] of a k-rule, or for the exchange rule the lowest and highest
    candidates left after volume and surplus. `filled` is aligned with the input orders; `fills`
    pairs them into bilateral trades at `price`. `welfare` is buyers' plus sellers' surplus at the
    price over filled limit orders. The arrays are read-only.
    """

    price: int | None
    interval: tuple[int, int] | None
    volume: int
    demand: int
    supply: int
    welfare: int
    filled: npt.NDArray[np.uint64]
    fills: npt.NDArray[np.void]
    orders: OrderArray = field(compare=False)

    @property
    def imbalance(self) -> int:
        """D - S at the price: positive when demand is left over, negative for supply."""
        return self.demand - self.supply

    @property
    def notional(self) -> int:
        """volume * price, in payment base units (0 when there is no price)."""
        return 0 if self.price is None else self.volume * self.price

    def curves(self) -> Curves:
        """The aggregate demand and supply steps of the cleared orders."""
        return curves(self.orders)

    def __repr__(self) -> str:
        return (
            f"ClearingResult(price={self.price}, volume={self.volume}, interval={self.interval}, "
            f"imbalance={self.imbalance}, welfare={self.welfare}, orders={len(self.filled)}, fills={len(self.fills)})"
        )


def clear(
    orders: Any,
    *,
    rule: str | PriceRule = "midpoint",
    allocation: str = "time",
    reference_price: int | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
) -> ClearingResult:
    """Clears `orders` at one uniform price (README.md, "Price rules").

    `orders` is an `ORDER_DTYPE` array (read in place), a mapping of columns, a pandas or polars
    DataFrame with those columns, or a sequence of `Order`. `rule` is "midpoint", "marginal_ask",
    "marginal_bid", "exchange" or `PriceRule.k(a, b)`; `allocation` is "time" or "pro_rata".
    `reference_price` decides the exchange rule's ties; `min_price`/`max_price` cap the price.
    The GIL is released while the core clears.

    >>> import gridmatch as gm
    >>> book = gm.order_array(id=[1, 2, 3], trader=[10, 20, 30], side=["buy", "sell", "sell"],
    ...                       price=[105, 95, 100], qty=[4, 3, 3])
    >>> r = gm.clear(book)
    >>> r.price, r.volume, r.filled.tolist()
    (102, 4, [4, 3, 1])
    """
    if not isinstance(allocation, str) or allocation not in _ALLOCATIONS:
        raise InvalidParameter(
            f"allocation = {allocation!r}: expected 'time' or 'pro_rata'", field="allocation", value=allocation
        )
    records = as_order_array(orders)
    prices = price_params(reference_price, min_price, max_price)
    cleared = _core.clear_records(records.view(np.uint8), rule=rule, allocation=allocation, **prices)
    return finish_clearing(cleared, records)


def finish_clearing(cleared: tuple[Any, ...], orders: OrderArray) -> ClearingResult:
    """The result object of the core's clearing tuple, its arrays made read-only."""
    price, interval, volume, demand, supply, welfare, filled, fills = cleared
    filled.flags.writeable = False
    fills.flags.writeable = False
    return ClearingResult(price, interval, volume, demand, supply, welfare, filled, fills, orders)


def price_params(reference_price: Any, min_price: Any, max_price: Any) -> dict[str, int | None]:
    """The price parameters of a clearing as int64 ticks, refusing floats, booleans and
    out-of-range values with `InvalidParameter`."""
    given = {"reference_price": reference_price, "min_price": min_price, "max_price": max_price}
    return {name: _tick(name, value) for name, value in given.items()}


def _tick(name: str, value: Any) -> int | None:
    """A price parameter as an int64 tick, refusing floats, booleans and out-of-range values."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise InvalidParameter(f"{name} = {value!r}: must be an integer tick", field=name, value=value)
    try:
        tick = operator.index(value)
    except TypeError:
        raise InvalidParameter(f"{name} = {value!r}: must be an integer tick", field=name, value=value) from None
    if not _I64.min <= tick <= _I64.max:
        raise InvalidParameter(f"{name} = {tick}: out of the int64 range", field=name, value=tick)
    return tick


def curves(orders: Any) -> Curves:
    """D(p) and S(p) of `orders` at every distinct limit price (see `Curves`)."""
    book = as_order_array(orders)
    market = book["kind"] == 1
    buy = book["side"] == 1
    sell = book["side"] == -1

    def steps(mask: npt.NDArray[np.bool_], descending: bool, base: int) -> npt.NDArray[np.void]:
        prices, qty = book["price"][mask], book["qty"][mask]
        order = np.argsort(prices, kind="stable")
        prices, qty = prices[order], qty[order]
        starts = np.flatnonzero(np.r_[True, prices[1:] != prices[:-1]]) if len(prices) else np.zeros(0, np.intp)
        level_qty = np.add.reduceat(qty, starts) if len(prices) else qty
        level_price = prices[starts]
        if descending:
            level_price, level_qty = level_price[::-1], level_qty[::-1]
        out = np.empty(len(level_price), dtype=CURVE_DTYPE)
        out["price"] = level_price
        out["qty"] = np.cumsum(level_qty, dtype=np.uint64) + np.uint64(base)
        return out

    market_demand = int(book["qty"][buy & market].sum())
    market_supply = int(book["qty"][sell & market].sum())
    return Curves(
        demand=steps(buy & ~market, True, market_demand),
        supply=steps(sell & ~market, False, market_supply),
        market_demand=market_demand,
        market_supply=market_supply,
    )


__all__ = ["CURVE_DTYPE", "FILL_DTYPE", "ClearingResult", "Curves", "clear", "curves"]
