"""Loading the bundled energy data (gzip-compressed CSV beside this module, read with numpy).

What is here (provenance and licences in ``data/SOURCES.md``):

- :func:`h0_load`: SimBench household load profiles H0-A/B/C/G/H/L, 2016, 15 minutes, each
  normalised to a peak of 1.0.
- :func:`pv_generation`: SimBench rooftop PV profiles PV1..PV8, 2016, 15 minutes, as a fraction
  of installed capacity (kW per kWp).
- :func:`day_ahead`: SMARD day-ahead prices of the German bidding zone, 2018, hourly, EUR/MWh,
  re-indexed to UTC (134 hours are negative).
- :func:`ausgrid_home`: one real metered rooftop-PV home in Sydney, 2011-07..2012-06, 30 minutes.

Every loader reads its file once per process (cached) and returns read-only arrays.
Row ``i`` of a profile is the quarter-hour starting 2016-01-01 00:00 UTC + 15 min * i.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import io
from dataclasses import dataclass
from importlib import resources
from typing import Final

import numpy as np
import numpy.typing as npt

from .clock import EPOCHS_PER_DAY, reference_day

PROFILE_YEAR: Final[int] = 2016
"""Calendar year of the SimBench profiles (a leap year: 366 days, 35,136 quarter-hours)."""

PRICE_YEAR: Final[int] = 2018
"""Calendar year of the day-ahead prices."""

PROFILE_ROWS: Final[int] = 366 * EPOCHS_PER_DAY

_FILES: Final[dict[str, str]] = {
    "h0": "simbench_h0_load_2016_15min.csv.gz",
    "pv": "simbench_pv_2016_15min.csv.gz",
    "day_ahead": "smard_dayahead_de_2018_hourly_utc.csv.gz",
    "ausgrid": "ausgrid_customer12_2011-2012_30min.csv.gz",
}


@dataclass(frozen=True)
class Profiles:
    """A year of 15-minute profiles: ``values[row, column]``, one column per named profile."""

    names: tuple[str, ...]
    values: npt.NDArray[np.float64]
    start: dt.datetime
    """Start of row 0 (UTC)."""

    def day(self, day: dt.date) -> npt.NDArray[np.float64]:
        """The 96 rows of ``day`` mapped onto the profile year (see ``clock.reference_day``)."""
        ref = reference_day(day, self.start.year)
        row = (ref - self.start.date()).days * EPOCHS_PER_DAY
        return self.values[row : row + EPOCHS_PER_DAY]


@dataclass(frozen=True)
class HourlyPrices:
    """A year of hourly day-ahead prices in EUR/MWh, indexed by UTC hour from ``start``."""

    eur_per_mwh: npt.NDArray[np.float64]
    zones: tuple[str, ...]
    """Bidding zone of each hour (DE-AT-LU until 2018-09-30 22:00 UTC, DE-LU after)."""
    start: dt.datetime
    """Start of hour 0 (UTC)."""

    def day(self, day: dt.date) -> npt.NDArray[np.float64]:
        """The 24 UTC hours of ``day`` mapped onto the price year, in EUR/MWh.

        An hour outside the data (the last UTC hour of the year) repeats the nearest one.
        """
        ref = reference_day(day, PRICE_YEAR)
        midnight = dt.datetime(ref.year, ref.month, ref.day, tzinfo=dt.UTC)
        first = int((midnight - self.start).total_seconds()) // 3600
        rows = np.clip(np.arange(first, first + 24), 0, len(self.eur_per_mwh) - 1)
        return self.eur_per_mwh[rows]


@dataclass(frozen=True)
class MeteredHome:
    """A real metered home: per 30-minute interval, consumption and PV generation in kWh."""

    times: npt.NDArray[np.datetime64]
    """Interval starts as published (Sydney wall-clock time, no daylight-saving gaps)."""
    consumption_kwh: npt.NDArray[np.float64]
    generation_kwh: npt.NDArray[np.float64]


def _read_text(name: str) -> str:
    raw = resources.files(__package__).joinpath("data", name).read_bytes()
    return gzip.decompress(raw).decode("utf-8")


def _readonly(a: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    a.setflags(write=False)
    return a


def _profiles(name: str) -> Profiles:
    text = _read_text(name)
    header, _, body = text.partition("\n")
    values = np.loadtxt(io.StringIO(body), delimiter=";", dtype=np.float64, ndmin=2)
    names = tuple(header.split(";"))
    if values.shape != (PROFILE_ROWS, len(names)):
        raise ValueError(f"{name}: shape {values.shape}, expected ({PROFILE_ROWS}, {len(names)})")
    start = dt.datetime(PROFILE_YEAR, 1, 1, tzinfo=dt.UTC)
    return Profiles(names=names, values=_readonly(values), start=start)  # type: ignore[arg-type]


@functools.cache
def h0_load() -> Profiles:
    """SimBench H0 household load profiles (6 columns), normalised to peak 1.0 (35,136 rows)."""
    return _profiles(_FILES["h0"])


@functools.cache
def pv_generation() -> Profiles:
    """SimBench PV profiles PV1..PV8 in kW per kWp installed (35,136 rows)."""
    return _profiles(_FILES["pv"])


@functools.cache
def day_ahead() -> HourlyPrices:
    """SMARD day-ahead prices, German bidding zone, 2018, hourly in EUR/MWh (8,760 UTC hours)."""
    lines = _read_text(_FILES["day_ahead"]).splitlines()[1:]
    stamps, zones, values = zip(*(line.split(";") for line in lines), strict=True)
    prices = np.array(values, dtype=np.float64)
    start = dt.datetime.strptime(stamps[0], "%Y-%m-%dT%H:%MZ").replace(tzinfo=dt.UTC)
    return HourlyPrices(eur_per_mwh=_readonly(prices), zones=tuple(zones), start=start)  # type: ignore[arg-type]


@functools.cache
def ausgrid_home() -> MeteredHome:
    """Ausgrid Solar Home customer 12 (Sydney): 17,568 half-hours, 2011-07-01..2012-06-30."""
    lines = _read_text(_FILES["ausgrid"]).splitlines()[1:]
    stamps, gc, gg = zip(*(line.split(";") for line in lines), strict=True)
    times = np.array([s.replace(" ", "T") for s in stamps], dtype="datetime64[m]")
    return MeteredHome(
        times=_readonly(times),  # type: ignore[arg-type]
        consumption_kwh=_readonly(np.array(gc, dtype=np.float64)),  # type: ignore[arg-type]
        generation_kwh=_readonly(np.array(gg, dtype=np.float64)),  # type: ignore[arg-type]
    )
