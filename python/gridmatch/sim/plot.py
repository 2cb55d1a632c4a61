"""A picture of a simulated market day: prices and volumes, epoch by epoch, saved as PNG.

:func:`plot_day` takes a day report (:class:`~gridmatch.sim.market_day.MarketDayReport` or
:class:`~gridmatch.sim.day.DayReport`) and draws two panels over the hours of the day (UTC):

- **prices**: each epoch's clearing price (ct/kWh; a gap where bids and asks did not cross), the
  day-ahead price the participants priced around, the band between the feed-in and the retail
  tariff of the sim's default :class:`~gridmatch.sim.prices.PriceModel` (where peer-to-peer
  trades are worth making), and the day's volume-weighted average;
- **volumes**: the energy traded in each epoch (kWh), with what was offered for sale and bid for.

Needs matplotlib (draws with its Agg backend, without pyplot: nothing global is touched).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from .clock import EPOCH_MINUTES
from .prices import PriceModel
from .units import LOTS_PER_KWH, TICKS_PER_CT


class _Epoch(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def price_ticks(self) -> int | None: ...
    @property
    def volume_wh(self) -> int: ...
    @property
    def day_ahead_ticks(self) -> int: ...
    @property
    def bid_wh(self) -> int: ...
    @property
    def ask_wh(self) -> int: ...


class _Report(Protocol):
    @property
    def day(self) -> dt.date: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def epochs(self) -> Sequence[_Epoch]: ...


PRICE_COLOR = "#1f5fa8"
DAY_AHEAD_COLOR = "#8a8a8a"
VOLUME_COLOR = "#e0892b"
ASK_COLOR = "#3a9a4a"
BID_COLOR = "#b03a48"
BAND_COLOR = "#eef1f6"


def plot_day(report: _Report, path: str | os.PathLike[str], *, subtitle: str = "") -> Path:
    """Draws ``report``'s prices and volumes and saves them as a PNG at ``path`` (its directory is
    created if needed). Returns the path written."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    epochs = list(report.epochs)
    hours = [e.index * EPOCH_MINUTES / 60 for e in epochs]
    step = EPOCH_MINUTES / 60
    prices = [math.nan if e.price_ticks is None else e.price_ticks / TICKS_PER_CT for e in epochs]
    day_ahead = [e.day_ahead_ticks / TICKS_PER_CT for e in epochs]
    volume = [e.volume_wh / LOTS_PER_KWH for e in epochs]
    asks = [e.ask_wh / LOTS_PER_KWH for e in epochs]
    bids = [e.bid_wh / LOTS_PER_KWH for e in epochs]
    traded = sum(e.volume_wh for e in epochs)
    value = sum(e.volume_wh * e.price_ticks for e in epochs if e.price_ticks is not None)
    vwap = value / traded / TICKS_PER_CT if traded else None

    fig = Figure(figsize=(11, 7.2), dpi=110, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    cfg = report.config
    title = (
        f"gridmatch campus market, {report.day.isoformat()}: "
        f"{cfg.get('prosumers', '?')} prosumers, {cfg.get('consumers', '?')} consumers, "
        f"{len(epochs)} epochs of {EPOCH_MINUTES} min"
    )
    fig.suptitle(title + (f"\n{subtitle}" if subtitle else ""), fontsize=11)

    # Prices: each epoch's price holds for its quarter hour (a step from its start).
    edges = [*hours, hours[-1] + step] if hours else []
    model = PriceModel()
    feed_in = [p + model.feed_in_premium for p in day_ahead]
    retail = [p + model.retail_adder for p in day_ahead]
    top.fill_between(
        edges,
        [*feed_in, feed_in[-1]] if feed_in else [],
        [*retail, retail[-1]] if retail else [],
        step="post",
        color=BAND_COLOR,
        linewidth=0,
        label="peer-to-peer band (feed-in to retail tariff)",
    )
    top.stairs(
        day_ahead,
        edges,
        baseline=None,
        color=DAY_AHEAD_COLOR,
        linestyle="--",
        linewidth=1.2,
        label="day-ahead (SMARD DE)",
    )
    top.stairs(prices, edges, baseline=None, color=PRICE_COLOR, linewidth=2.0, label="clearing price")
    if vwap is not None:
        top.axhline(vwap, color=PRICE_COLOR, linestyle=":", linewidth=1.0, label=f"VWAP {vwap:.2f} ct/kWh")
    top.grid(True, color="#e4e4e4", linewidth=0.8)
    top.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=4, fontsize=9, frameon=False, borderaxespad=0.2)
    top.set_ylabel("uniform clearing price (ct/kWh)")

    # Volumes: traded per epoch as bars; offered and bid as steps behind them.
    centers = [h + step / 2 for h in hours]
    bottom.stairs(asks, edges, baseline=None, color=ASK_COLOR, linewidth=1.2, label="offered (asks)")
    bottom.stairs(bids, edges, baseline=None, color=BID_COLOR, linewidth=1.2, label="bid for (bids)")
    bottom.bar(
        centers, volume, width=step * 0.9, color=VOLUME_COLOR, label=f"traded ({traded / LOTS_PER_KWH:,.1f} kWh)"
    )
    bottom.set_ylabel("energy per epoch (kWh)")
    bottom.set_xlabel("hour of the day (UTC)")
    bottom.grid(True, axis="y", color="#e4e4e4", linewidth=0.8)
    bottom.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, fontsize=9, frameon=False, borderaxespad=0.2)
    bottom.set_ylim(bottom=0)

    if edges:
        bottom.set_xlim(edges[0], edges[-1])
    bottom.xaxis.set_major_locator(MultipleLocator(3 if len(epochs) > 24 else 1))
    bottom.xaxis.set_minor_locator(MultipleLocator(1 if len(epochs) > 24 else step))
    bottom.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x):02d}:{round(x % 1 * 60):02d}"))

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


__all__ = ["plot_day"]
