"""A simulated market day: build each epoch's orders, clear them with the engine, add up the day.

:func:`run_day` is what ``python -m gridmatch demo`` runs; it returns a :class:`DayReport` whose
:meth:`~DayReport.to_dict` is the demo's JSON. All quantities are integers in lots (Wh) and
prices in ticks (0.01 ct/kWh); the ``*_kwh`` / ``*_ct_per_kwh`` fields are the same numbers in
human units. Clearing time is measured around each ``gridmatch.clear`` call (the engine plus the
binding's conversion, as a Python caller sees it), not around building the orders.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import data
from .campus import Campus
from .clock import EPOCHS_PER_DAY, parse_date, reference_day
from .orders import SELL
from .units import LOTS_PER_KWH, TICKS_PER_CT

RULES: tuple[str, ...] = ("midpoint", "marginal_ask", "marginal_bid", "exchange")
"""Named price rules of ``gridmatch.clear`` offered by the demo."""

ALLOCATIONS: tuple[str, ...] = ("time", "pro_rata")
"""Allocation modes of ``gridmatch.clear`` offered by the demo."""


@dataclass(frozen=True)
class EpochReport:
    """The outcome of clearing one epoch."""

    epoch_id: int
    index: int
    orders: int
    buy_orders: int
    sell_orders: int
    bid_wh: int
    """Quantity offered to buy (lots = Wh)."""
    ask_wh: int
    """Quantity offered to sell."""
    day_ahead_ticks: int
    price_ticks: int | None
    """Clearing price; ``None`` when bids and asks do not cross."""
    volume_wh: int
    fills: int
    clear_ns: int
    """Wall time of the ``gridmatch.clear`` call, ns (0 when there was nothing to clear)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: integer fields plus the same in kWh and ct/kWh."""
        return {
            "epoch": self.epoch_id,
            "index": self.index,
            "orders": self.orders,
            "buy_orders": self.buy_orders,
            "sell_orders": self.sell_orders,
            "bid_wh": self.bid_wh,
            "ask_wh": self.ask_wh,
            "day_ahead_ticks": self.day_ahead_ticks,
            "day_ahead_ct_per_kwh": self.day_ahead_ticks / TICKS_PER_CT,
            "price_ticks": self.price_ticks,
            "price_ct_per_kwh": None if self.price_ticks is None else self.price_ticks / TICKS_PER_CT,
            "volume_wh": self.volume_wh,
            "volume_kwh": self.volume_wh / LOTS_PER_KWH,
            "fills": self.fills,
            "clear_ms": self.clear_ns / 1e6,
        }


@dataclass
class DayReport:
    """Every epoch of a simulated day, and the day's totals."""

    day: dt.date
    config: dict[str, Any]
    epochs: list[EpochReport] = field(default_factory=list)
    build_ns: int = 0
    """Wall time spent building orders (the simulation, not the engine), ns."""

    @property
    def volume_wh(self) -> int:
        return sum(e.volume_wh for e in self.epochs)

    @property
    def notional(self) -> int:
        """Sum of volume * price over the day: units of 1 Wh * 0.01 ct/kWh = 1e-7 EUR."""
        return sum(e.volume_wh * e.price_ticks for e in self.epochs if e.price_ticks is not None)

    @property
    def vwap_ticks(self) -> float | None:
        """Volume-weighted average price, ticks (``None`` if nothing traded)."""
        v = self.volume_wh
        return self.notional / v if v else None

    @property
    def prices(self) -> list[int]:
        return [e.price_ticks for e in self.epochs if e.price_ticks is not None]

    @property
    def clear_ns(self) -> int:
        return sum(e.clear_ns for e in self.epochs)

    def totals(self) -> dict[str, Any]:
        """The day's totals as a JSON-ready dict."""
        prices = self.prices
        n = len(self.epochs)
        vwap = self.vwap_ticks
        return {
            "epochs": n,
            "cleared_epochs": len(prices),
            "no_cross_epochs": n - len(prices),
            "orders": sum(e.orders for e in self.epochs),
            "volume_wh": self.volume_wh,
            "volume_kwh": self.volume_wh / LOTS_PER_KWH,
            "notional": self.notional,
            "vwap_ticks": vwap,
            "vwap_ct_per_kwh": None if vwap is None else vwap / TICKS_PER_CT,
            "min_price_ticks": min(prices) if prices else None,
            "max_price_ticks": max(prices) if prices else None,
            "min_price_ct_per_kwh": min(prices) / TICKS_PER_CT if prices else None,
            "max_price_ct_per_kwh": max(prices) / TICKS_PER_CT if prices else None,
            "fills": sum(e.fills for e in self.epochs),
            "clear_ms_total": self.clear_ns / 1e6,
            "clear_ms_per_epoch": self.clear_ns / 1e6 / n if n else 0.0,
            "build_ms_total": self.build_ns / 1e6,
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole report (config, units, per-epoch list, totals) as a JSON-ready dict."""
        return {
            "date": self.day.isoformat(),
            "config": self.config,
            "units": {"lot": "1 Wh", "tick": "0.01 ct/kWh", "notional": "1e-7 EUR"},
            "epochs": [e.to_dict() for e in self.epochs],
            "totals": self.totals(),
        }


def run_day(
    day: dt.date | str,
    *,
    prosumers: int = 40,
    consumers: int = 60,
    seed: int = 7,
    epochs: int = EPOCHS_PER_DAY,
    rule: str = "midpoint",
    allocation: str = "time",
) -> DayReport:
    """Simulate ``epochs`` epochs of ``day`` on a campus and clear each with ``gridmatch.clear``.

    With ``rule="exchange"`` the epoch's day-ahead price is passed as the reference price.
    """
    import gridmatch as gm

    day = parse_date(day)
    campus = Campus(prosumers=prosumers, consumers=consumers, seed=seed)
    config = {
        "prosumers": prosumers,
        "consumers": consumers,
        "seed": seed,
        "rule": rule,
        "allocation": allocation,
        "profile_day": reference_day(day, data.PROFILE_YEAR).isoformat(),
        "day_ahead_day": reference_day(day, data.PRICE_YEAR).isoformat(),
    }
    report = DayReport(day=day, config=config)
    build_ns = 0
    for index in range(epochs):
        t0 = time.perf_counter_ns()
        ep = campus.epoch(day, index)
        build_ns += time.perf_counter_ns() - t0
        orders = ep.orders
        sells = orders["side"] == SELL
        price: int | None = None
        volume = fills = clear_ns = 0
        if len(orders):
            kwargs: dict[str, Any] = {"rule": rule, "allocation": allocation}
            if rule == "exchange":
                kwargs["reference_price"] = ep.day_ahead_ticks
            t0 = time.perf_counter_ns()
            result = gm.clear(orders, **kwargs)
            clear_ns = time.perf_counter_ns() - t0
            price = None if result.price is None else int(result.price)
            volume = int(result.volume)
            fills = len(result.fills)
        report.epochs.append(
            EpochReport(
                epoch_id=ep.epoch_id,
                index=index,
                orders=len(orders),
                buy_orders=int(len(orders) - np.count_nonzero(sells)),
                sell_orders=int(np.count_nonzero(sells)),
                bid_wh=int(orders["qty"][~sells].sum()),
                ask_wh=int(orders["qty"][sells].sum()),
                day_ahead_ticks=ep.day_ahead_ticks,
                price_ticks=price,
                volume_wh=volume,
                fills=fills,
                clear_ns=clear_ns,
            )
        )
    report.build_ns = build_ns
    return report
