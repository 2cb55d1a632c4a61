"""gridmatch.testing: the checks raise on results that break an invariant (so they can fail),
and the strategy draws the books it promises."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given

import gridmatch as gm
from gridmatch.testing import ClearingInvariantError, check_clearing, order_books

# Two bid levels (105 x4, 101 x2) against asks 95 x3 and 100 x3; at 100 the bids are short.
BOOK = gm.order_array(
    id=[1, 2, 3, 4], trader=[1, 2, 3, 4], side=[1, 1, -1, -1], price=[105, 101, 95, 100], qty=[4, 2, 3, 3]
)


def tampered(result: gm.ClearingResult, **changes) -> gm.ClearingResult:
    return dataclasses.replace(result, **changes)


def test_a_valid_result_passes():
    check_clearing(BOOK, gm.clear(BOOK), allocation="time")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: {"volume": r.volume - 1}, "volume"),
        (lambda r: {"price": 96}, "D, S"),
        (lambda r: {"demand": 1}, "D, S"),
        (lambda r: {"filled": np.array([4, 2, 3, 4], np.uint64)}, "filled 4 of 3"),
        (lambda r: {"filled": np.array([4, 2, 2, 3], np.uint64)}, "sell orders filled"),
        (lambda r: {"welfare": r.welfare + 1}, "welfare"),
        (lambda r: {"fills": r.fills[:-1]}, "add up"),
        (lambda r: {"fills": np.array([(1, 3, 1, 9, 4, 100), (2, 4, 2, 4, 2, 100)], gm.FILL_DTYPE)}, "traders"),
        (lambda r: {"price": None}, "no price"),
    ],
)
def test_broken_results_are_caught(change, message):
    result = gm.clear(BOOK)
    with pytest.raises(ClearingInvariantError, match=message):
        check_clearing(BOOK, tampered(result, **change(result)))


def test_a_fill_through_a_limit_is_caught():
    # Bids 105 x2 and 101 x2 against an ask 103 x2: V = 2 on [103, 105], midpoint 104, where
    # the 101 bid may not buy. Moving one lot to it keeps every total right but breaks its limit.
    book = gm.order_array(id=[1, 2, 3], trader=[1, 2, 3], side=[1, 1, -1], price=[105, 101, 103], qty=[2, 2, 2])
    result = gm.clear(book)
    assert (result.price, result.filled.tolist()) == (104, [2, 0, 2])
    broken = tampered(result, filled=np.array([1, 1, 2], np.uint64))
    with pytest.raises(ClearingInvariantError, match="through its limit"):
        check_clearing(book, broken)


def test_time_and_pro_rata_shares_are_checked():
    # One bid of 6 against four asks of 3 at 100, same price: the marginal level shares 6.
    book = gm.order_array(id=[1, 2, 3, 4, 5], trader=[1, 2, 3, 4, 5], side=[1, -1, -1, -1, -1],
                          price=[100] * 5, qty=[6, 3, 3, 3, 3])  # fmt: skip
    by_time = gm.clear(book, allocation="time")
    assert by_time.filled.tolist() == [6, 3, 3, 0, 0]
    check_clearing(book, by_time, allocation="time")
    with pytest.raises(ClearingInvariantError, match="pro rata"):
        check_clearing(book, by_time, allocation="pro_rata")
    pro_rata = gm.clear(book, allocation="pro_rata")
    assert pro_rata.filled.tolist() == [6, 2, 2, 1, 1]
    with pytest.raises(ClearingInvariantError, match="time priority"):
        check_clearing(book, pro_rata, allocation="time")


@given(order_books(min_size=1, max_size=10, huge=False))
def test_order_books_draws_valid_books(book):
    assert book.dtype == gm.ORDER_DTYPE and 1 <= len(book) <= 10
    assert len(set(book["id"].tolist())) == len(book)
    assert set(book["side"].tolist()) <= {1, -1} and (book["qty"] > 0).all()
