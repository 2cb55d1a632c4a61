"""`Market`: the fixed rules of one market, and the conversions between human units (kWh,
currency per kWh, wall-clock time) and the integers the engine trades in (lots, ticks, base
units, epoch ids).

Units: 1 GRID = 1 kWh, with `grid_decimals` decimals on chain. A lot is `lot` GRID base units
(default 10^6: 1 Wh). A price of p ticks means p * `tick` payment base units per lot (default:
100 base units of a 9-decimal currency per Wh, i.e. 0.01 ct/kWh). Conversions refuse values
that are not exact multiples rather than round them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from gridmatch import _core
from gridmatch._core import PriceRule
from gridmatch.errors import InvalidParameter

UTC = dt.UTC
_FEE_PAYERS = ("buyer", "seller", "split")
_ROUNDINGS = ("down", "up", "half_even")


def _decimal(name: str, value: Any) -> Decimal:
    """`value` as an exact Decimal: ints, Decimals and decimal strings as they are; floats by
    their shortest repr (0.1 is 0.1)."""
    if isinstance(value, bool):
        raise InvalidParameter(f"{name} = {value!r}: must be a number", field=name, value=value)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidParameter(f"{name} = {value!r}: must be a number", field=name, value=value) from None
    if not number.is_finite():
        raise InvalidParameter(f"{name} = {value!r}: must be finite", field=name, value=value)
    return number


def _exact(name: str, value: Any, per_unit: Decimal, unit: str) -> int:
    number = _decimal(name, value) * per_unit
    if number != number.to_integral_value():
        raise InvalidParameter(
            f"{name} = {value!r}: not a whole number of {unit} ({number} {unit})", field=name, value=value
        )
    return int(number)


@dataclass(frozen=True)
class Market:
    """The configuration of one market. Every field has the campus market's default."""

    name: str = "campus"
    #: Epoch length in seconds; epochs are aligned to UTC midnight.
    epoch_seconds: int = 900
    grid_decimals: int = 9
    payment_decimals: int = 9
    #: GRID base units per lot.
    lot: int = 10**6
    #: Payment base units per lot per tick.
    tick: int = 100
    fee_bps: int = 100
    #: Who pays the fee: "buyer", "seller" or "split" (the buyer pays the odd base unit).
    fee_payer: str = "buyer"
    #: How the fee is rounded, once per trade: "down", "up" or "half_even".
    fee_rounding: str = "up"
    rule: str | PriceRule = "midpoint"
    allocation: str = "time"
    #: Orders a participant may place per epoch.
    order_limit: int = 50
    #: Price caps in ticks.
    min_price: int | None = None
    max_price: int | None = None

    def __post_init__(self) -> None:
        positive = ("epoch_seconds", "lot", "tick", "order_limit")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidParameter(f"{name} = {value!r}: must be a positive integer", field=name, value=value)
        if 86_400 % self.epoch_seconds:
            raise InvalidParameter(
                f"epoch_seconds = {self.epoch_seconds}: must divide a day",
                field="epoch_seconds",
                value=self.epoch_seconds,
            )
        if not 0 <= self.fee_bps <= 10_000:
            raise InvalidParameter(f"fee_bps = {self.fee_bps}: must be 0..10000", field="fee_bps", value=self.fee_bps)
        if self.fee_payer not in _FEE_PAYERS:
            message = f"fee_payer = {self.fee_payer!r}: expected buyer, seller or split"
            raise InvalidParameter(message, field="fee_payer", value=self.fee_payer)
        if self.fee_rounding not in _ROUNDINGS:
            raise InvalidParameter(
                f"fee_rounding = {self.fee_rounding!r}", field="fee_rounding", value=self.fee_rounding
            )
        for name in ("grid_decimals", "payment_decimals"):
            value = getattr(self, name)
            if not 0 <= value <= 18:
                raise InvalidParameter(f"{name} = {value!r}: must be 0..18", field=name, value=value)

    # -- quantities and prices ------------------------------------------------------------

    def lots(self, kwh: Any) -> int:
        """Lots in `kwh` kilowatt-hours; refuses a quantity that is not whole lots."""
        return _exact("kwh", kwh, Decimal(10**self.grid_decimals) / self.lot, "lots")

    def kwh(self, lots: int) -> Decimal:
        return Decimal(lots) * self.lot / Decimal(10**self.grid_decimals)

    def ticks(self, price_per_kwh: Any) -> int:
        """Ticks for a price in currency per kWh; refuses a price between ticks."""
        per_lot = Decimal(10**self.payment_decimals) * self.lot / Decimal(10**self.grid_decimals)
        return _exact("price", price_per_kwh, per_lot / self.tick, "ticks")

    def price_per_kwh(self, ticks: int) -> Decimal:
        return (
            Decimal(ticks) * self.tick * Decimal(10**self.grid_decimals) / self.lot / Decimal(10**self.payment_decimals)
        )

    def grid_units(self, lots: int) -> int:
        """GRID base units of `lots`."""
        return lots * self.lot

    def notional(self, qty: int, price: int) -> int:
        """Payment base units of `qty` lots at `price` ticks (negative for a negative price)."""
        return qty * price * self.tick

    def split(self, notional: int) -> tuple[int, int, int, int]:
        """(buyer_pays, seller_receives, buyer_fee, seller_fee) of a trade's notional, by the
        core's fee arithmetic: rounded once, buyer_pays == seller_receives + both fees."""
        return _core.split_trade(notional, fee_bps=self.fee_bps, payer=self.fee_payer, rounding=self.fee_rounding)

    # -- epochs ---------------------------------------------------------------------------

    def epoch_start(self, at: dt.datetime | float) -> dt.datetime:
        """The start of the epoch containing `at` (a datetime or a POSIX timestamp), in UTC."""
        when = at if isinstance(at, dt.datetime) else dt.datetime.fromtimestamp(at, UTC)
        if when.tzinfo is None:
            raise InvalidParameter("naive datetimes are ambiguous: give a timezone", field="at", value=when)
        seconds = int(when.timestamp())
        return dt.datetime.fromtimestamp(seconds - seconds % self.epoch_seconds, UTC)

    def epoch_id(self, at: dt.datetime | float) -> int:
        """The id `YYYYMMDDHHMM` of the epoch containing `at`."""
        return int(self.epoch_start(at).strftime("%Y%m%d%H%M"))

    def epoch_bounds(self, epoch: int) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) of epoch `epoch`."""
        try:
            start = dt.datetime.strptime(str(epoch), "%Y%m%d%H%M").replace(tzinfo=UTC)
        except ValueError:
            raise InvalidParameter(f"epoch = {epoch!r}: not an id YYYYMMDDHHMM", field="epoch", value=epoch) from None
        if int(start.timestamp()) % self.epoch_seconds:
            raise InvalidParameter(f"epoch = {epoch}: not an epoch start", field="epoch", value=epoch)
        return start, start + dt.timedelta(seconds=self.epoch_seconds)

    def next_epoch(self, epoch: int) -> int:
        return self.epoch_id(self.epoch_bounds(epoch)[1])


__all__ = ["Market"]
