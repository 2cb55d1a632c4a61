"""Uniform-price clearing from Python: gridmatch against two baselines, in the same run.

Groups (one per book size, 1e3 .. 1e6 orders, seeded `energy_book`s built once per size):

- ``test_gridmatch``: ``gridmatch.clear`` on the columnar ``ORDER_DTYPE`` array, rules
  ``midpoint`` and ``exchange`` (with the book's reference price); the time includes building
  the ``ClearingResult`` (per-order ``filled`` and the bilateral ``fills``).
- ``test_numpy_baseline``: `numpy_baseline.clear_midpoint`, plain vectorised numpy; it computes
  the midpoint price and per-order ``filled`` but no bilateral fills (less work than the engine).
- ``test_reference``: ``tests/reference.py``, the pure-Python oracle, on a prepared list of
  ``RefOrder`` (conversion not timed). Only at 1e3 and 1e4 orders: it takes about a third of a
  second at 1e5 and its midpoint rule scans every tick of the book's price range, so larger
  books only make the suite slow without saying anything new.
- ``test_gridmatch_dataframe``: ``gridmatch.clear`` on a pandas DataFrame at 1e5 orders: the
  cost of converting (and validating) columns into ``ORDER_DTYPE`` on top of the clearing.

Every benchmark checks the result it timed. Each warms up (up to 20 calls) before
pytest-benchmark calibrates its rounds; timings at 1e6 use ``benchmark.pedantic`` with a fixed
number of rounds after one warm-up round. `test_baseline_agrees_with_gridmatch` is a plain test: ``pytest bench
--benchmark-only`` (``make bench``) skips it, ``pytest bench --benchmark-disable`` runs it along
with one untimed pass of every benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy_baseline
import pytest
from bookcache import REFERENCE_PRICE, book_of, reference_module, reference_orders

import gridmatch as gm

SIZES = [1_000, 10_000, 100_000, 1_000_000]
REFERENCE_SIZES = [1_000, 10_000]
DATAFRAME_SIZES = [100_000]
RULES: dict[str, dict[str, Any]] = {"midpoint": {}, "exchange": {"reference_price": REFERENCE_PRICE}}
#: From this size on, a fixed number of rounds (pytest-benchmark's calibration would run more).
PEDANTIC_FROM = 1_000_000
PEDANTIC_ROUNDS = 10
#: Warm up before calibrating: a first call that faults in fresh memory would otherwise make
#: pytest-benchmark's calibration pick far fewer rounds for whichever benchmark runs first.
WARMED_UP = pytest.mark.benchmark(warmup=True, warmup_iterations=20)


def size_name(n: int) -> str:
    """The size as "1e3" for 1,000: group names that sort by size."""
    exponent = round(math.log10(n))
    return f"1e{exponent}" if 10**exponent == n else str(n)


def run(benchmark: Any, n: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    benchmark.group = f"clear {size_name(n)} orders"
    benchmark.extra_info["orders"] = n
    if n >= PEDANTIC_FROM:
        return benchmark.pedantic(fn, args, kwargs, rounds=PEDANTIC_ROUNDS, iterations=1, warmup_rounds=1)
    return benchmark(fn, *args, **kwargs)


@WARMED_UP
@pytest.mark.parametrize("book", SIZES, indirect=True, ids=size_name)
@pytest.mark.parametrize("rule", RULES)
def test_gridmatch(benchmark: Any, book: np.ndarray, rule: str) -> None:
    result = run(benchmark, len(book), gm.clear, book, rule=rule, **RULES[rule])
    assert result.price is not None and result.volume > 0
    assert int(result.filled.sum()) == 2 * result.volume


@WARMED_UP
@pytest.mark.parametrize("book", SIZES, indirect=True, ids=size_name)
def test_numpy_baseline(benchmark: Any, book: np.ndarray) -> None:
    result = run(benchmark, len(book), numpy_baseline.clear_midpoint, book)
    engine = gm.clear(book)
    assert (result.price, result.interval, result.volume) == (engine.price, engine.interval, engine.volume)
    assert np.array_equal(result.filled, engine.filled.astype(np.int64))


@WARMED_UP
@pytest.mark.parametrize("ref_book", REFERENCE_SIZES, indirect=True, ids=size_name)
@pytest.mark.parametrize("rule", RULES)
def test_reference(benchmark: Any, ref_book: tuple[np.ndarray, list[Any]], rule: str) -> None:
    book, orders = ref_book
    result = run(benchmark, len(orders), reference_module().clear, orders, rule=rule, **RULES[rule])
    engine = gm.clear(book, rule=rule, **RULES[rule])
    assert (result.price, result.volume, len(result.fills)) == (engine.price, engine.volume, len(engine.fills))
    assert result.filled == engine.filled.tolist()


@WARMED_UP
@pytest.mark.parametrize("frame", DATAFRAME_SIZES, indirect=True, ids=size_name)
def test_gridmatch_dataframe(benchmark: Any, frame: Any) -> None:
    result = run(benchmark, len(frame), gm.clear, frame)
    engine = gm.clear(book_of(len(frame)))
    assert (result.price, result.volume) == (engine.price, engine.volume)
    assert np.array_equal(result.filled, engine.filled)


@pytest.mark.parametrize("market_share", [0.0, 0.03], ids=["limit-only", "with-market-orders"])
@pytest.mark.parametrize("n", [200, 1_000, 10_000, 100_000])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_baseline_agrees_with_gridmatch(n: int, seed: int, market_share: float) -> None:
    """The numpy baseline computes what the engine computes: same midpoint price, best-price
    interval and volume, same per-order fills (time allocation), on limit-only books and on books
    with market orders; and the reference agrees on the smaller books."""
    book = book_of(n, seed, market_share)
    engine = gm.clear(book)
    baseline = numpy_baseline.clear_midpoint(book)
    assert (baseline.price, baseline.interval, baseline.volume) == (engine.price, engine.interval, engine.volume)
    assert np.array_equal(baseline.filled, engine.filled.astype(np.int64))
    if n <= 10_000:
        ref = reference_module().clear(reference_orders(book))
        assert (ref.price, ref.interval, ref.volume) == (engine.price, engine.interval, engine.volume)
