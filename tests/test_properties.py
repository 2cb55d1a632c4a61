"""Property tests of clearing: the core against the pure-Python reference on random books, the
invariants of gridmatch.testing, determinism and independence from input order."""

from __future__ import annotations

import numpy as np
import reference
from hypothesis import assume, given
from hypothesis import strategies as st

import gridmatch as gm
from gridmatch.testing import check_clearing, order_books

RULES = st.sampled_from(["midpoint", "marginal_ask", "marginal_bid", "exchange"]) | st.builds(
    lambda b, a: gm.PriceRule.k(a % (b + 1), b), st.integers(1, 12), st.integers(0, 100)
)
ALLOCATIONS = st.sampled_from(["time", "pro_rata"])


def ref_orders(book: np.ndarray) -> list[reference.RefOrder]:
    return [reference.RefOrder(*row) for row in book[["id", "trader", "side", "price", "qty", "ts", "kind"]].tolist()]


def ref_rule(rule: str | gm.PriceRule) -> str | tuple[int, int]:
    return rule if isinstance(rule, str) else rule.fraction


def caps(data: st.DataObject, book: np.ndarray) -> tuple[int | None, int | None]:
    """Caps somewhere around the book's prices, or none."""
    prices = book["price"].tolist() or [0]
    near = st.integers(min(prices) - 5, max(prices) + 5).filter(lambda p: -(2**63) <= p < 2**63)
    lo = data.draw(st.none() | near, label="min_price")
    hi = data.draw(st.none() | near, label="max_price")
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return lo, hi


def clear_both(book, rule, allocation, reference_price, lo, hi):
    """The core's result and the reference's, or the names of the errors both raised."""
    kwargs = dict(reference_price=reference_price, min_price=lo, max_price=hi)
    try:
        got = gm.clear(book, rule=rule, allocation=allocation, **kwargs)
    except (gm.IndeterminatePrice, gm.MissingReferencePrice) as err:
        got = type(err).__name__
    try:
        want = reference.clear(ref_orders(book), rule=ref_rule(rule), allocation=allocation, **kwargs)
    except (reference.IndeterminatePrice, reference.MissingReferencePrice) as err:
        want = type(err).__name__
    return got, want


@given(order_books(), RULES, ALLOCATIONS, st.none() | st.integers(-200, 200), st.data())
def test_core_agrees_with_the_reference(book, rule, allocation, reference_price, data):
    lo, hi = caps(data, book)
    got, want = clear_both(book, rule, allocation, reference_price, lo, hi)
    if isinstance(want, str):
        assert got == want
        return
    assert not isinstance(got, str), f"core raised {got}, reference cleared at {want.price}"
    assert (got.price, got.interval, got.volume) == (want.price, want.interval, want.volume)
    assert (got.demand, got.supply, got.welfare) == (want.demand, want.supply, want.welfare)
    assert got.filled.tolist() == want.filled
    assert got.fills.tolist() == want.fills


@given(order_books(), RULES, ALLOCATIONS, st.data())
def test_every_result_keeps_the_invariants(book, rule, allocation, data):
    lo, hi = caps(data, book)
    try:
        result = gm.clear(book, rule=rule, allocation=allocation, reference_price=0, min_price=lo, max_price=hi)
    except gm.IndeterminatePrice:
        assume(False)
    check_clearing(book, result, min_price=lo, max_price=hi, allocation=allocation)


@given(order_books(market_orders=False), ALLOCATIONS)
def test_limit_books_clear_at_maximum_welfare(book, allocation):
    result = gm.clear(book, allocation=allocation)
    assert result.welfare == reference.max_welfare(ref_orders(book))
    assert result.volume == reference.max_executable_volume(ref_orders(book))


@given(order_books(min_size=1), RULES, ALLOCATIONS, st.randoms(use_true_random=False))
def test_input_order_does_not_matter(book, rule, allocation, rnd):
    try:
        first = gm.clear(book, rule=rule, allocation=allocation, reference_price=0, min_price=-(2**62), max_price=2**62)
    except gm.IndeterminatePrice:
        assume(False)
    perm = list(range(len(book)))
    rnd.shuffle(perm)
    shuffled = gm.clear(
        book[perm], rule=rule, allocation=allocation, reference_price=0, min_price=-(2**62), max_price=2**62
    )
    assert (shuffled.price, shuffled.volume, shuffled.welfare) == (first.price, first.volume, first.welfare)
    assert shuffled.fills.tobytes() == first.fills.tobytes()
    assert shuffled.filled.tolist() == first.filled[perm].tolist()


@given(order_books(), RULES, ALLOCATIONS)
def test_same_input_same_bytes(book, rule, allocation):
    runs = []
    for _ in range(2):
        try:
            r = gm.clear(
                book.copy(), rule=rule, allocation=allocation, reference_price=7, min_price=-(2**62), max_price=2**62
            )
        except gm.IndeterminatePrice:
            return
        runs.append((r.price, r.interval, r.volume, r.welfare, r.filled.tobytes(), r.fills.tobytes()))
    assert runs[0] == runs[1]
