"""Large, realistic order books for benchmarks (vectorised numpy: a million orders in ~0.1 s).

:func:`energy_book` shapes ``n`` orders like one busy epoch of a large energy market:

- sides: buy or sell with equal probability;
- limit prices (ticks of 0.01 ct/kWh): around a day-ahead level, bids a little above and asks a
  little below it (so the book crosses over a wide band), normally spread with a Student-t tail
  (occasional far-away limits, some asks below zero);
- quantities (lots of 1 Wh): heavy-tailed, Pareto (Lomax) with shape 1.5 and scale 200 Wh: most
  orders are a few hundred Wh, a few are hundreds of kWh (capped at ``max_qty``);
- ``market_share`` of the orders (3 % by default) are market orders (``kind = 1``, price 0);
- ``ts`` = position, ``id`` = position + 1 (unique), traders drawn from ``n // 4`` participants.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .orders import BUY, MARKET, SELL, make_orders


def energy_book(
    n: int,
    seed: int = 0,
    *,
    reference_price: int = 925,
    spread: int = 150,
    price_scale: int = 400,
    market_share: float = 0.03,
    qty_scale: float = 200.0,
    qty_shape: float = 1.5,
    max_qty: int = 10_000_000,
) -> npt.NDArray[np.void]:
    """``n`` orders of ``gridmatch.ORDER_DTYPE`` shaped like a busy epoch of a large market.

    Args:
        n: number of orders (>= 0).
        seed: seed of the generator; the same ``(n, seed, options)`` give identical books.
        reference_price: the day-ahead level in ticks (925 = 9.25 ct/kWh = 92.5 EUR/MWh).
        spread: bids are centred ``spread`` ticks above, asks ``spread`` ticks below it.
        price_scale: scale of the limit-price distribution, ticks (Student-t, 5 degrees of freedom).
        market_share: fraction of market orders (price field 0, ignored by the engine).
        qty_scale, qty_shape: Lomax (Pareto II) parameters of the quantity in lots (Wh).
        max_qty: cap on a single order's quantity, lots.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0.0 <= market_share <= 1.0:
        raise ValueError(f"market_share must be in [0, 1], got {market_share}")
    if max_qty < 1:
        raise ValueError(f"max_qty must be >= 1, got {max_qty}")
    rng = np.random.default_rng([seed, n])
    side = np.where(rng.random(n) < 0.5, BUY, SELL).astype(np.int8)
    centre = reference_price + side.astype(np.int64) * spread
    price = centre + np.rint(rng.standard_t(5, size=n) * price_scale).astype(np.int64)
    # Lomax(shape) = expm1(Exp(1) / shape): same law as rng.pareto, a few times faster.
    qty = 1 + np.floor(np.expm1(rng.standard_exponential(n) / qty_shape) * qty_scale)
    qty = np.minimum(qty, max_qty).astype(np.uint64)
    kind = (rng.random(n) < market_share).astype(np.uint8) * np.uint8(MARKET)
    price[kind == MARKET] = 0
    traders = max(1, n // 4)
    trader = rng.integers(1, traders + 1, size=n, dtype=np.uint64)
    ts = np.arange(n, dtype=np.uint64)
    return make_orders(id=ts + np.uint64(1), trader=trader, side=side, price=price, qty=qty, ts=ts, kind=kind)
