"""How simulated participants choose limit prices around the day-ahead price.

The model (all prices in ct/kWh before rounding to ticks):

- ``feed_in = day_ahead + feed_in_premium``: what a prosumer gets for exporting to the grid instead
  (a dynamic feed-in tariff that follows the day-ahead price; negative in negative-price hours).
- ``retail = day_ahead + retail_adder``: what a consumer pays the utility instead (a dynamic
  retail tariff: day-ahead plus network charges, levies and taxes).
- Peer-to-peer trades are worth making anywhere in the band ``[feed_in, retail]``. A seller's
  block ``k`` asks ``feed_in + spread * f``, a buyer's block ``k`` bids ``retail - spread * f``,
  where ``spread = retail - feed_in`` and ``f`` = the participant's own persistent markup
  (Beta-distributed, drawn once per participant) + ``k * block_step`` + per-epoch noise,
  clipped to [0, 1]. So asks are always at or above the feed-in tariff, bids at or below the
  retail tariff; first blocks are the most eager, later blocks ask more / bid less.

When the day-ahead price is negative, the feed-in tariff is negative and eager sellers ask
negative prices: in a surplus epoch the clearing price is then negative too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .units import ct_to_ticks


@dataclass(frozen=True)
class PriceModel:
    """Parameters of the limit-price model (ct/kWh unless noted)."""

    feed_in_premium: float = 0.0
    """Feed-in tariff minus day-ahead price."""
    retail_adder: float = 20.0
    """Retail tariff minus day-ahead price (network charges, levies, taxes)."""
    markup_alpha: float = 1.5
    """Beta(alpha, beta) of the persistent markup, as a fraction of the spread (mean ~0.16)."""
    markup_beta: float = 8.0
    block_step: float = 0.08
    """Extra markup per further block, as a fraction of the spread."""
    noise: float = 0.02
    """Standard deviation of the per-epoch markup noise, as a fraction of the spread."""

    def __post_init__(self) -> None:
        if self.retail_adder <= self.feed_in_premium:
            raise ValueError(
                f"retail_adder ({self.retail_adder}) must exceed feed_in_premium "
                f"({self.feed_in_premium}): the peer-to-peer band would be empty"
            )
        if self.markup_alpha <= 0 or self.markup_beta <= 0:
            raise ValueError("markup_alpha and markup_beta must be positive")
        if self.block_step < 0 or self.noise < 0:
            raise ValueError("block_step and noise must be >= 0")

    def draw_markups(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        """Persistent per-participant markups (fractions of the spread), one per participant."""
        return rng.beta(self.markup_alpha, self.markup_beta, size=n)

    def limit_ticks(
        self,
        rng: np.random.Generator,
        day_ahead_ct: float,
        side: npt.NDArray[np.int8],
        markup: npt.NDArray[np.float64],
        block: npt.NDArray[np.integer],
    ) -> npt.NDArray[np.int64]:
        """Limit prices in ticks for orders of one epoch.

        ``side`` is +1 (buy) / -1 (sell) per order, ``markup`` the owner's persistent markup,
        ``block`` the block number within the owner's orders (0 = most eager).
        """
        feed_in = day_ahead_ct + self.feed_in_premium
        retail = day_ahead_ct + self.retail_adder
        spread = retail - feed_in
        f = markup + block * self.block_step + rng.normal(0.0, self.noise, size=len(side))
        f = np.clip(f, 0.0, 1.0)
        ct = np.where(side < 0, feed_in + spread * f, retail - spread * f)
        return ct_to_ticks(ct)
