"""A seeded, deterministic campus market: prosumers and consumers, their energy, their orders.

- **Prosumers** (traders ``1..N``): a SimBench PV profile scaled to a sampled capacity (3-10 kWp)
  and a SimBench H0 household load scaled to a sampled annual consumption (2-6 MWh/year).
- **Consumers** (traders ``N+1..N+M``): an H0 load scaled the same way, no PV.

Per 15-minute epoch each participant's net energy ``pv - load`` (in Wh, rounded to whole lots)
becomes orders: a surplus becomes sell orders, a deficit buy orders, split into 1 to
``max_blocks`` blocks (one per ``block_wh`` started, random shares, exact integer split) at
different limit prices drawn by :class:`~gridmatch.sim.prices.PriceModel` around the day-ahead
price of that hour. All orders are limit orders. Submission order is a random permutation:
``ts`` is the position in the epoch's array, and ``id = epoch_id * 1_000_000 + ts + 1``, unique
across epochs and days.

Determinism: the participants come from ``seed`` alone; everything drawn for an epoch (load
noise, block shares, price noise, submission order) comes from a generator seeded with
``(seed, epoch_id)``. The same seed gives bit-identical orders for any epoch, in any order of
calls, on any machine with the same numpy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from . import data
from .clock import EPOCH_HOURS, EPOCHS_PER_DAY, epoch_id, parse_date, reference_day
from .orders import BUY, SELL, make_orders
from .prices import PriceModel
from .units import LOTS_PER_KWH, eur_mwh_to_ticks

ID_STRIDE: int = 1_000_000
"""Order ids of an epoch are ``epoch_id * ID_STRIDE + 1 ..``: at most this many orders per epoch."""


@dataclass(frozen=True)
class CampusConfig:
    """Everything that defines a simulated campus."""

    prosumers: int = 40
    consumers: int = 60
    seed: int = 0
    kwp_range: tuple[float, float] = (3.0, 10.0)
    """Installed PV capacity of a prosumer, kWp, sampled uniformly."""
    annual_kwh_range: tuple[float, float] = (2000.0, 6000.0)
    """Annual household consumption, kWh/year, sampled uniformly (prosumers and consumers)."""
    max_blocks: int = 3
    """Orders per participant and epoch at most."""
    block_wh: int = 100
    """One more block per this many Wh of net position (up to ``max_blocks``)."""
    load_noise: float = 0.15
    """Sigma of the multiplicative log-normal noise on each household's load, per epoch."""
    max_load_shift: int = 2
    """Each household's load profile is shifted by up to this many epochs (either way)."""
    prices: PriceModel = field(default_factory=PriceModel)

    def __post_init__(self) -> None:
        if self.prosumers < 0 or self.consumers < 0 or self.prosumers + self.consumers == 0:
            raise ValueError(
                f"need at least one participant, got prosumers={self.prosumers}, consumers={self.consumers}"
            )
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.max_blocks < 1 or self.block_wh < 1:
            raise ValueError("max_blocks and block_wh must be >= 1")
        if (self.prosumers + self.consumers) * self.max_blocks >= ID_STRIDE:
            raise ValueError(f"(prosumers + consumers) * max_blocks must stay below {ID_STRIDE:,} orders per epoch")
        lo, hi = self.kwp_range
        if not 0 < lo <= hi:
            raise ValueError(f"kwp_range must satisfy 0 < lo <= hi, got {self.kwp_range}")
        lo, hi = self.annual_kwh_range
        if not 0 < lo <= hi:
            raise ValueError(f"annual_kwh_range must satisfy 0 < lo <= hi, got {self.annual_kwh_range}")


@dataclass(frozen=True)
class Participants:
    """Column arrays, one entry per participant, prosumers first."""

    trader: npt.NDArray[np.uint64]
    """Trader id (1-based)."""
    is_prosumer: npt.NDArray[np.bool_]
    kwp: npt.NDArray[np.float64]
    """Installed PV capacity (0 for consumers)."""
    pv_profile: npt.NDArray[np.int64]
    """Column of ``data.pv_generation()`` (-1 for consumers)."""
    load_profile: npt.NDArray[np.int64]
    """Column of ``data.h0_load()``."""
    annual_kwh: npt.NDArray[np.float64]
    load_shift: npt.NDArray[np.int64]
    """Epochs by which the load profile is shifted."""
    markup: npt.NDArray[np.float64]
    """Persistent price markup (fraction of the feed-in/retail spread)."""

    def __len__(self) -> int:
        return len(self.trader)


@dataclass(frozen=True)
class Epoch:
    """One simulated epoch: its id, the orders, and what they were made from."""

    day: dt.date
    index: int
    """0..95 within the day."""
    epoch_id: int
    """``YYYYMMDDHHMM`` of the epoch start (UTC)."""
    day_ahead_ticks: int
    """Day-ahead price of the epoch's hour, in ticks (0.01 ct/kWh)."""
    net_wh: npt.NDArray[np.int64]
    """Net energy per participant (generation - load), Wh; > 0 surplus, < 0 deficit."""
    orders: npt.NDArray[np.void]
    """The orders, ``gridmatch.ORDER_DTYPE``."""


class Campus:
    """A campus market built from a :class:`CampusConfig` (or keyword arguments for it).

    >>> campus = Campus(prosumers=4, consumers=6, seed=7)      # doctest: +SKIP
    >>> ep = campus.epoch("2016-06-21", 48)                    # 12:00 UTC   # doctest: +SKIP
    >>> ep.epoch_id, len(ep.orders)                            # doctest: +SKIP
    """

    def __init__(self, config: CampusConfig | None = None, **kwargs: object) -> None:
        if config is not None and kwargs:
            raise TypeError("pass either a CampusConfig or keyword arguments, not both")
        self.config: CampusConfig = config if config is not None else CampusConfig(**kwargs)  # type: ignore[arg-type]
        self.participants: Participants = _draw_participants(self.config)
        h0 = data.h0_load()
        # Wh per epoch per unit of profile value, for each participant (annual energy / profile sum).
        col_sums = h0.values.sum(axis=0)
        self._load_scale = self.participants.annual_kwh * LOTS_PER_KWH / col_sums[self.participants.load_profile]

    # ----------------------------------------------------------------------------- energy

    def _rows(self, day: dt.date, index: int) -> int:
        ref = reference_day(day, data.PROFILE_YEAR)
        return (ref - dt.date(data.PROFILE_YEAR, 1, 1)).days * EPOCHS_PER_DAY + index

    def generation_wh(self, day: dt.date | str, index: int) -> npt.NDArray[np.float64]:
        """PV energy per participant in the epoch, Wh (float, before rounding)."""
        day = parse_date(day)
        p = self.participants
        out = np.zeros(len(p))
        pros = p.is_prosumer
        if pros.any():
            row = data.pv_generation().values[self._rows(day, index)]
            out[pros] = row[p.pv_profile[pros]] * p.kwp[pros] * EPOCH_HOURS * LOTS_PER_KWH
        return out

    def load_wh(
        self, day: dt.date | str, index: int, rng: np.random.Generator | None = None
    ) -> npt.NDArray[np.float64]:
        """Household load per participant in the epoch, Wh (float, before rounding).

        Without ``rng`` the expected load (no noise); with it, multiplied by log-normal noise of
        mean 1 (this is what :meth:`epoch` uses, with the epoch's own generator).
        """
        day = parse_date(day)
        p = self.participants
        values = data.h0_load().values
        rows = (self._rows(day, index) + p.load_shift) % len(values)
        load = values[rows, p.load_profile] * self._load_scale
        if rng is not None and self.config.load_noise > 0:
            s = self.config.load_noise
            load = load * rng.lognormal(-0.5 * s * s, s, size=len(p))
        return load  # type: ignore[no-any-return]

    def day_ahead_ticks(self, day: dt.date | str) -> npt.NDArray[np.int64]:
        """Day-ahead price of each of the 96 epochs of ``day`` (hourly price repeated), ticks."""
        hourly = eur_mwh_to_ticks(data.day_ahead().day(parse_date(day)))
        return np.repeat(hourly, EPOCHS_PER_DAY // 24)

    # ----------------------------------------------------------------------------- orders

    def epoch(self, day: dt.date | str, index: int) -> Epoch:
        """Simulate epoch ``index`` (0..95, from 00:00 UTC) of ``day``: net energy and orders."""
        day = parse_date(day)
        eid = epoch_id(day, index)
        rng = np.random.default_rng([self.config.seed, eid])
        gen = self.generation_wh(day, index)
        load = self.load_wh(day, index, rng)
        net = np.rint(gen - load).astype(np.int64)
        da_ticks = int(self.day_ahead_ticks(day)[index])
        orders = self._orders(rng, eid, net, da_ticks)
        return Epoch(day=day, index=index, epoch_id=eid, day_ahead_ticks=da_ticks, net_wh=net, orders=orders)

    def day(self, day: dt.date | str, epochs: int = EPOCHS_PER_DAY) -> Iterator[Epoch]:
        """The first ``epochs`` epochs of ``day`` in order (all 96 by default)."""
        day = parse_date(day)
        if not 1 <= epochs <= EPOCHS_PER_DAY:
            raise ValueError(f"epochs must be in 1..{EPOCHS_PER_DAY}, got {epochs}")
        for index in range(epochs):
            yield self.epoch(day, index)

    def _orders(
        self, rng: np.random.Generator, eid: int, net: npt.NDArray[np.int64], da_ticks: int
    ) -> npt.NDArray[np.void]:
        cfg = self.config
        who = np.flatnonzero(net)
        lots = np.abs(net[who])
        # Blocks: one per block_wh started, at most max_blocks, never more than lots.
        nblocks = np.minimum(np.minimum(-(-lots // cfg.block_wh), cfg.max_blocks), lots)
        cols = np.arange(cfg.max_blocks)
        used = cols[None, :] < nblocks[:, None]
        weights = np.where(used, rng.gamma(2.0, 1.0, size=(len(who), cfg.max_blocks)), 0.0)
        share = weights / weights.sum(axis=1, keepdims=True) * lots[:, None]
        qty = np.floor(share).astype(np.int64)
        # Largest remainder: hand out the lots lost to flooring, biggest fractional parts first.
        missing = lots - qty.sum(axis=1)
        frac = np.where(used, share - qty, -1.0)
        rank = np.argsort(np.argsort(-frac, axis=1, kind="stable"), axis=1, kind="stable")
        qty += rank < missing[:, None]
        keep = used & (qty > 0)
        owner = np.broadcast_to(who[:, None], keep.shape)[keep]
        block = np.broadcast_to(cols[None, :], keep.shape)[keep]
        qty_flat = qty[keep]
        side = np.where(net[owner] > 0, SELL, BUY).astype(np.int8)
        price = cfg.prices.limit_ticks(rng, da_ticks / 100.0, side, self.participants.markup[owner], block)
        perm = rng.permutation(len(owner))
        n = len(perm)
        ts = np.arange(n, dtype=np.uint64)
        return make_orders(
            id=np.uint64(eid) * np.uint64(ID_STRIDE) + ts + np.uint64(1),
            trader=self.participants.trader[owner[perm]],
            side=side[perm],
            price=price[perm],
            qty=qty_flat[perm].astype(np.uint64),
            ts=ts,
        )


def _draw_participants(cfg: CampusConfig) -> Participants:
    rng = np.random.default_rng([cfg.seed, 0])
    n, m = cfg.prosumers, cfg.consumers
    total = n + m
    n_pv = len(data.pv_generation().names)
    n_h0 = len(data.h0_load().names)
    is_prosumer = np.arange(total) < n
    kwp = np.zeros(total)
    kwp[:n] = np.round(rng.uniform(*cfg.kwp_range, size=n), 1)
    pv_profile = np.full(total, -1, dtype=np.int64)
    pv_profile[:n] = rng.integers(0, n_pv, size=n)
    load_profile = rng.integers(0, n_h0, size=total).astype(np.int64)
    annual_kwh = np.round(rng.uniform(*cfg.annual_kwh_range, size=total), 0)
    load_shift = rng.integers(-cfg.max_load_shift, cfg.max_load_shift + 1, size=total).astype(np.int64)
    markup = cfg.prices.draw_markups(rng, total)
    return Participants(
        trader=np.arange(1, total + 1, dtype=np.uint64),
        is_prosumer=is_prosumer,
        kwp=kwp,
        pv_profile=pv_profile,
        load_profile=load_profile,
        annual_kwh=annual_kwh,
        load_shift=load_shift,
        markup=markup,
    )
