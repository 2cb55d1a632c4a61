"""Simulated time: 15-minute epochs, epoch ids, and mapping a date onto a data year.

An epoch is a quarter-hour in UTC; a day has :data:`EPOCHS_PER_DAY` of them, numbered 0..95 from
00:00 UTC. Its id is the integer ``YYYYMMDDHHMM`` of its start (e.g. ``201606211200`` for
12:00-12:15 UTC on 2016-06-21).

The bundled data cover one year each (profiles 2016, day-ahead prices 2018). Any date is mapped
onto a data year by :func:`reference_day`: the day of that year with the same weekday, nearest to
the same calendar date, so that weekday/weekend patterns of load and prices line up.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import numpy.typing as npt

EPOCH_MINUTES: Final[int] = 15
"""Length of one epoch in minutes."""

EPOCHS_PER_DAY: Final[int] = 24 * 60 // EPOCH_MINUTES
"""Epochs in a day (96)."""

EPOCH_HOURS: Final[float] = EPOCH_MINUTES / 60
"""Length of one epoch in hours (0.25), for power -> energy conversion."""


def parse_date(text: str | dt.date) -> dt.date:
    """Parse ``YYYY-MM-DD`` (or pass a ``date`` through)."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    return dt.date.fromisoformat(text)


def epoch_id(day: dt.date, index: int) -> int:
    """The id ``YYYYMMDDHHMM`` of epoch ``index`` (0..95) of ``day``."""
    if not 0 <= index < EPOCHS_PER_DAY:
        raise ValueError(f"epoch index must be in 0..{EPOCHS_PER_DAY - 1}, got {index}")
    minutes = index * EPOCH_MINUTES
    return day.year * 10**8 + day.month * 10**6 + day.day * 10**4 + (minutes // 60) * 100 + minutes % 60


def epoch_ids(day: dt.date) -> npt.NDArray[np.uint64]:
    """The 96 epoch ids of ``day`` in order, as uint64."""
    minutes = np.arange(EPOCHS_PER_DAY, dtype=np.uint64) * EPOCH_MINUTES
    base = day.year * 10**8 + day.month * 10**6 + day.day * 10**4
    return np.uint64(base) + (minutes // 60) * np.uint64(100) + minutes % 60


def epoch_start(day: dt.date, index: int) -> dt.datetime:
    """Start of epoch ``index`` of ``day`` as an aware UTC datetime."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return start + dt.timedelta(minutes=index * EPOCH_MINUTES)


def reference_day(day: dt.date, year: int) -> dt.date:
    """The day of ``year`` with the same weekday as ``day``, nearest to the same calendar date.

    Identity when ``day.year == year``. 29 February maps from 28 February of a common year.
    """
    if day.year == year:
        return day
    month, dom = day.month, day.day
    if (month, dom) == (2, 29):
        try:
            base = dt.date(year, 2, 29)
        except ValueError:
            base = dt.date(year, 2, 28)
    else:
        base = dt.date(year, month, dom)
    delta = (day.weekday() - base.weekday()) % 7
    if delta > 3:
        delta -= 7
    candidate = base + dt.timedelta(days=delta)
    if candidate.year < year:
        candidate += dt.timedelta(days=7)
    elif candidate.year > year:
        candidate -= dt.timedelta(days=7)
    return candidate
