"""The units of the simulated campus market, and exact conversions to human units.

The engine sees only integers: quantities in lots, prices in ticks. The simulation fixes

- **lot = 1 Wh** (one GRID token is 1 kWh, so 1 lot = 0.001 GRID = 10**6 GRID base units);
- **tick = 0.01 ct/kWh** (so 9.25 ct/kWh is 925 ticks, and 1 EUR/MWh is 10 ticks);
- notional of a fill = ``qty_lots * price_ticks`` in units of 1 Wh * 0.01 ct/kWh = 1e-5 ct
  (= 1e-7 EUR): exact integers, no rounding anywhere in clearing.

The helpers here format integers exactly (no binary floating point in the text) and convert the
floats that come from data (day-ahead prices, kWh) to integers with explicit rounding.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

LOT_WH: Final[int] = 1
"""Energy of one lot, in Wh."""

LOTS_PER_KWH: Final[int] = 1000
"""Lots in one kWh (one GRID token)."""

TICKS_PER_CT: Final[int] = 100
"""Price ticks in one ct/kWh: a tick is 0.01 ct/kWh."""

TICKS_PER_EUR_MWH: Final[int] = 10
"""1 EUR/MWh = 0.1 ct/kWh = 10 ticks."""

NOTIONAL_UNIT_EUR: Final[float] = 1e-7
"""Value of one notional unit (1 lot * 1 tick = 1 Wh * 0.01 ct/kWh) in EUR."""


def ct_to_ticks(ct_per_kwh: float | npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Round prices in ct/kWh to whole ticks (half to even), as int64."""
    return np.rint(np.asarray(ct_per_kwh, dtype=np.float64) * TICKS_PER_CT).astype(np.int64)


def eur_mwh_to_ticks(eur_per_mwh: float | npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Round prices in EUR/MWh to whole ticks (half to even), as int64."""
    return np.rint(np.asarray(eur_per_mwh, dtype=np.float64) * TICKS_PER_EUR_MWH).astype(np.int64)


def ticks_to_ct(ticks: int) -> float:
    """A price in ticks as ct/kWh (float; exact for display to 2 decimals)."""
    return int(ticks) / TICKS_PER_CT


def lots_to_kwh(lots: int) -> float:
    """A quantity in lots as kWh (float; exact for display to 3 decimals)."""
    return int(lots) / LOTS_PER_KWH


def format_ct(ticks: int) -> str:
    """Format a price in ticks as ct/kWh with exactly 2 decimals, without float rounding."""
    t = int(ticks)
    sign = "-" if t < 0 else ""
    whole, frac = divmod(abs(t), TICKS_PER_CT)
    return f"{sign}{whole}.{frac:02d}"


def format_kwh(lots: int) -> str:
    """Format lots as kWh with exactly 3 decimals and thousands separators, without float rounding."""
    q = int(lots)
    sign = "-" if q < 0 else ""
    whole, frac = divmod(abs(q), LOTS_PER_KWH)
    return f"{sign}{whole:,}.{frac:03d}"
