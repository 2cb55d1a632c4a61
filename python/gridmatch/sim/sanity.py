"""Sanity check of the synthetic profiles against a real metered home (Ausgrid, Sydney).

The SimBench profiles are standard profiles for Germany; the Ausgrid home is one real household in
Sydney with rooftop PV. Absolute levels and seasons differ (hemisphere, latitude, house size), so
the comparison uses shape measures that do not depend on them or on the time zone: how peaky the
average day is, how concentrated PV output is around its best hours, how much of the day is dark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import data


@dataclass(frozen=True)
class DailyShape:
    """Shape measures of the average day of an energy series."""

    peak_to_mean: float
    """Highest interval of the average day / mean interval."""
    min_to_mean: float
    """Lowest interval of the average day / mean interval."""
    top_sixth_share: float
    """Share of the average day's energy in its best sixth of intervals (4 of 24 hours)."""
    dark_share: float
    """Share of the average day's intervals below 0.1 % of its peak (no output: night, for PV)."""


def daily_shape(energy: npt.ArrayLike, steps_per_day: int) -> DailyShape:
    """Shape measures of a series of whole days (``len(energy)`` a multiple of ``steps_per_day``)."""
    series = np.asarray(energy, dtype=np.float64)
    if series.ndim != 1 or len(series) % steps_per_day:
        raise ValueError(f"need whole days of {steps_per_day} steps, got shape {series.shape}")
    day = series.reshape(-1, steps_per_day).mean(axis=0)
    mean = day.mean()
    ranked = np.sort(day)[::-1]
    return DailyShape(
        peak_to_mean=float(day.max() / mean),
        min_to_mean=float(day.min() / mean),
        top_sixth_share=float(ranked[: steps_per_day // 6].sum() / day.sum()),
        dark_share=float(np.mean(day < 1e-3 * day.max())),
    )


def _half_hourly(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return values.reshape(-1, 2).sum(axis=1)  # type: ignore[no-any-return]


def synthetic_load() -> npt.NDArray[np.float64]:
    """Mean of the six H0 profiles, each scaled to the same annual energy, at 30 minutes."""
    h0 = data.h0_load().values
    scaled = h0 / h0.sum(axis=0)
    return _half_hourly(scaled.mean(axis=1))


def synthetic_pv() -> npt.NDArray[np.float64]:
    """Mean of the eight PV profiles (kW per kWp), at 30 minutes."""
    return _half_hourly(data.pv_generation().values.mean(axis=1))


def compare_with_ausgrid() -> dict[str, tuple[DailyShape, DailyShape]]:
    """``{"load": (synthetic, metered), "pv": (synthetic, metered)}`` daily shapes at 30 minutes."""
    home = data.ausgrid_home()
    return {
        "load": (daily_shape(synthetic_load(), 48), daily_shape(home.consumption_kwh, 48)),
        "pv": (daily_shape(synthetic_pv(), 48), daily_shape(home.generation_kwh, 48)),
    }
