"""The benchmark books: seeded energy books built once per size, and the pure-Python reference.

Shared by the fixtures in ``conftest.py``, the benchmarks and ``memory.py``.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from gridmatch.sim.books import energy_book

SEED = 20240601
#: energy_book's day-ahead level, ticks: the reference price of the exchange rule.
REFERENCE_PRICE = 925
ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["id", "trader", "side", "price", "qty", "ts", "kind"]


@functools.cache
def book_of(n: int, seed: int = SEED, market_share: float = 0.03) -> np.ndarray:
    """An ``ORDER_DTYPE`` energy book of ``n`` orders (cached: each size is built once a session)."""
    book = energy_book(n, seed, market_share=market_share)
    book.flags.writeable = False  # every benchmark clears the very same bytes
    return book


@functools.cache
def reference_module() -> ModuleType:
    """``tests/reference.py``, the pure-Python oracle, imported by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gridmatch_bench_reference", ROOT / "tests" / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def reference_orders(book: np.ndarray) -> list[Any]:
    """The book as the reference's ``RefOrder`` objects (the conversion is not timed)."""
    ref = reference_module()
    return [ref.RefOrder(*row) for row in book[COLUMNS].tolist()]
