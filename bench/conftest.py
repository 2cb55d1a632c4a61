"""Fixtures of the benchmark suite: seeded energy books, built once per size.

Run from the repository root with ``.venv/bin/python -m pytest bench --benchmark-only`` (``make
bench``). ``pytest -q`` (``make test``) never collects this folder: its testpaths are ``tests``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bookcache import COLUMNS, book_of, reference_orders


@pytest.fixture(scope="session")
def book(request: pytest.FixtureRequest) -> np.ndarray:
    """The energy book of ``request.param`` orders (parametrize with ``indirect=True``)."""
    return book_of(request.param)


@pytest.fixture(scope="session")
def ref_book(request: pytest.FixtureRequest) -> tuple[np.ndarray, list[Any]]:
    """The energy book of ``request.param`` orders, and the same orders as ``RefOrder`` objects."""
    book = book_of(request.param)
    return book, reference_orders(book)


@pytest.fixture(scope="session")
def frame(request: pytest.FixtureRequest) -> Any:
    """The energy book of ``request.param`` orders as a pandas DataFrame, one column per field."""
    import pandas as pd

    book = book_of(request.param)
    return pd.DataFrame({name: book[name] for name in COLUMNS})
