"""Simulated energy markets on real data: a campus of prosumers and consumers, and benchmark books.

Units (see :mod:`gridmatch.sim.units`): 1 lot = 1 Wh, 1 tick = 0.01 ct/kWh.

- :mod:`~gridmatch.sim.data`: the bundled SimBench profiles, SMARD day-ahead prices, Ausgrid home.
- :mod:`~gridmatch.sim.clock`: epochs (96 a day, ids ``YYYYMMDDHHMM`` UTC), mapping dates to data years.
- :mod:`~gridmatch.sim.campus`: :class:`Campus` turns participants' net energy into orders.
- :mod:`~gridmatch.sim.prices`: :class:`PriceModel`, limit prices around the day-ahead price.
- :mod:`~gridmatch.sim.books`: :func:`energy_book`, large realistic books for benchmarks.
- :mod:`~gridmatch.sim.messages`: :func:`message_stream`, order-book message streams for benchmarks.
"""

from __future__ import annotations

from . import books, campus, clock, data, messages, prices, units
from .books import energy_book
from .campus import Campus, CampusConfig, Epoch, Participants
from .clock import EPOCHS_PER_DAY, epoch_id, epoch_ids, reference_day
from .messages import message_stream
from .prices import PriceModel

__all__ = [
    "EPOCHS_PER_DAY",
    "Campus",
    "CampusConfig",
    "Epoch",
    "Participants",
    "PriceModel",
    "books",
    "campus",
    "clock",
    "data",
    "energy_book",
    "epoch_id",
    "epoch_ids",
    "message_stream",
    "messages",
    "prices",
    "reference_day",
    "units",
]
