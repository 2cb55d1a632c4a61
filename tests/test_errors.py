"""Bad input: every refusal is a typed GridmatchError (also a ValueError) naming the field, the
order and the value, and nothing crashes the interpreter."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gridmatch as gm


def book(**changes):
    columns = {"id": [1, 2], "trader": [7, 8], "side": [1, -1], "price": [10, 9], "qty": [5, 5]}
    columns.update(changes)
    return columns


def test_the_tree_subclasses_the_builtins():
    for cls in (
        gm.InvalidOrder,
        gm.DuplicateOrderId,
        gm.OrderDtypeError,
        gm.AmountOverflow,
        gm.InvalidParameter,
        gm.MissingReferencePrice,
        gm.IndeterminatePrice,
    ):
        assert issubclass(cls, gm.GridmatchError) and issubclass(cls, ValueError)
    assert issubclass(gm.OrderDtypeError, TypeError)
    assert issubclass(gm.AmountOverflow, OverflowError)


@pytest.mark.parametrize(
    ("changes", "field", "order_id", "value"),
    [
        ({"qty": [5, 0]}, "qty", 2, 0),
        ({"side": [1, 3]}, "side", 2, 3),
        ({"side": [1, "hold"]}, "side", 2, "hold"),
        ({"kind": [0, 2]}, "kind", 2, 2),
        ({"qty": [5, -1]}, "qty", 2, -1),
        ({"qty": [5, 2.5]}, "qty", 2, 2.5),
        ({"price": [math.nan, 9.0]}, "price", 1, None),
        ({"price": [math.inf, 9.0]}, "price", 1, math.inf),
        ({"price": [10, 2**63]}, "price", 2, 2**63),
        ({"trader": [7, -8]}, "trader", 2, -8),
        ({"ts": [0, 2**64]}, "ts", 2, 2**64),
        ({"side": [1, 300]}, "side", 2, 300),
        ({"price": [10, None]}, "price", 2, None),
        ({"id": [1, -2]}, "id", None, -2),
    ],
)
def test_invalid_values_name_field_order_and_value(changes, field, order_id, value):
    with pytest.raises(gm.InvalidOrder) as caught:
        gm.clear(book(**changes))
    err = caught.value
    assert (err.field, err.order_id) == (field, order_id)
    if value is None:
        assert err.value is None or (isinstance(err.value, float) and math.isnan(err.value))
    else:
        assert err.value == value
    assert f"{field} = " in str(err)


def test_duplicate_ids_are_refused_with_the_id():
    with pytest.raises(gm.DuplicateOrderId) as caught:
        gm.clear(book(id=[9, 9]))
    assert (caught.value.field, caught.value.order_id) == ("id", 9)
    assert "9" in str(caught.value)


@pytest.mark.parametrize(
    "orders",
    [
        pytest.param({"id": [1], "trader": [1], "side": [1], "price": [1]}, id="missing qty"),
        pytest.param(book(price=["10", "9"]), id="strings for prices"),
        pytest.param(book(qty=[True, False]), id="booleans for quantities"),
        pytest.param(book(price=[10]), id="mismatched lengths"),
        pytest.param(book(price=[1 + 2j, 3]), id="complex prices"),
        pytest.param(np.zeros(3, dtype=np.int64), id="unstructured array"),
        pytest.param(np.zeros((2, 2), dtype=gm.ORDER_DTYPE), id="2-D order array"),
        pytest.param("orders", id="a string"),
        pytest.param(42, id="a number"),
        pytest.param(pd.DataFrame({"id": [1]}), id="frame lacking columns"),
    ],
)
def test_wrong_shapes_and_dtypes_are_typed_errors(orders):
    with pytest.raises(gm.OrderDtypeError):
        gm.clear(orders)


def test_quantity_totals_that_overflow_are_refused():
    with pytest.raises(gm.AmountOverflow) as caught:
        gm.clear(book(side=[1, 1], qty=[2**63, 2**63]))
    assert caught.value.field == "qty"


@pytest.mark.parametrize(
    ("params", "exc", "field"),
    [
        ({"rule": "fastest"}, gm.InvalidParameter, "rule"),
        ({"rule": 3}, gm.InvalidParameter, "rule"),
        ({"allocation": "fifo"}, gm.InvalidParameter, "allocation"),
        ({"min_price": 5, "max_price": 4}, gm.InvalidParameter, "min_price"),
        ({"min_price": 1.5}, gm.InvalidParameter, "min_price"),
        ({"max_price": True}, gm.InvalidParameter, "max_price"),
        ({"reference_price": 2**63}, gm.InvalidParameter, "reference_price"),
    ],
)
def test_bad_parameters_are_refused(params, exc, field):
    with pytest.raises(exc) as caught:
        gm.clear(book(), **params)
    assert caught.value.field == field


@pytest.mark.parametrize(("a", "b"), [(3, 2), (1, 0), (-1, 2), (1, -2), (2**64, 2**64 + 1), (True, 2), (0.5, 1)])
def test_k_outside_zero_one_is_refused(a, b):
    with pytest.raises(gm.InvalidParameter) as caught:
        gm.PriceRule.k(a, b)
    assert caught.value.field == "k"


def test_unbounded_interval_without_caps_is_indeterminate():
    market_sell = book(kind=[0, 1])  # a limit bid at 10 against a market ask: any price <= 10
    with pytest.raises(gm.IndeterminatePrice) as caught:
        gm.clear(market_sell)
    assert caught.value.field == "min_price"
    assert gm.clear(market_sell, min_price=4).price == 7


def test_exchange_without_the_reference_price_it_needs():
    both_market = book(kind=[1, 1])
    with pytest.raises(gm.MissingReferencePrice) as caught:
        gm.clear(both_market, rule="exchange")
    assert caught.value.field == "reference_price"
    assert gm.clear(both_market, rule="exchange", reference_price=12).price == 12


def test_a_refused_batch_leaves_the_caller_s_array_untouched():
    orders = gm.order_array(**book(qty=[5, 0]))
    before = orders.tobytes()
    with pytest.raises(gm.InvalidOrder):
        gm.clear(orders)
    assert orders.tobytes() == before


@given(
    hnp.arrays(
        dtype=st.sampled_from([gm.ORDER_DTYPE, np.dtype([("id", "<i4"), ("price", "<f8")])]),
        shape=hnp.array_shapes(max_dims=2, max_side=6),
    )
)
def test_arbitrary_bytes_never_crash(raw):
    # Random records: any outcome is a result or a GridmatchError, never a crash or another error.
    try:
        gm.clear(raw, rule="exchange", reference_price=0, min_price=-5, max_price=5)
    except gm.GridmatchError:
        pass


@given(st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=3), st.none(), st.booleans()), max_size=4))
def test_arbitrary_column_values_never_crash(values):
    n = len(values)
    try:
        gm.clear({"id": list(range(n)), "trader": [0] * n, "side": values, "price": values, "qty": values})
    except gm.GridmatchError:
        pass
