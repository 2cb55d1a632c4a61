"""ORDER_DTYPE and the conversion of every accepted input shape into it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import gridmatch as gm

COLUMNS = {
    "id": [11, 12, 13],
    "trader": [1, 2, 3],
    "side": [1, -1, -1],
    "price": [105, 95, -3],
    "qty": [4, 3, 3],
    "ts": [5, 6, 7],
    "kind": [0, 0, 1],
}


def test_order_dtype_is_the_documented_layout():
    assert gm.ORDER_DTYPE.names == ("id", "trader", "side", "price", "qty", "ts", "kind")
    kinds = {name: gm.ORDER_DTYPE.fields[name][0].str for name in gm.ORDER_DTYPE.names}
    assert kinds == {
        **{"id": "<u8", "trader": "<u8", "side": "|i1", "price": "<i8"},
        **{"qty": "<u8", "ts": "<u8", "kind": "|u1"},
    }
    assert gm.ORDER_DTYPE.isalignedstruct


def test_order_array_defaults_ts_to_position_and_kind_to_limit():
    book = gm.order_array(id=[3, 1], trader=[0, 0], side=["buy", "sell"], price=[1, 1], qty=[1, 1])
    assert book.dtype == gm.ORDER_DTYPE
    assert book["ts"].tolist() == [0, 1]
    assert book["kind"].tolist() == [0, 0]
    assert book["side"].tolist() == [1, -1]


def test_side_and_kind_take_names_codes_and_enums():
    book = gm.order_array(
        id=[1, 2, 3],
        trader=[0, 0, 0],
        side=["BUY", gm.Side.SELL, -1],
        price=[1, 2, 3],
        qty=[1, 1, 1],
        kind=["market", gm.Kind.LIMIT, 1],
    )
    assert book["side"].tolist() == [1, -1, -1]
    assert book["kind"].tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: COLUMNS, id="mapping"),
        pytest.param(lambda: pd.DataFrame(COLUMNS), id="pandas"),
        pytest.param(lambda: pl.DataFrame(COLUMNS), id="polars"),
        pytest.param(lambda: [gm.Order(*row) for row in zip(*COLUMNS.values(), strict=True)], id="Order objects"),
        pytest.param(
            lambda: np.array(
                list(zip(*COLUMNS.values(), strict=True)),
                dtype=[(n, "<i8") for n in COLUMNS],  # a structured array of another layout
            ),
            id="other structured dtype",
        ),
        pytest.param(lambda: {**COLUMNS, "price": [105.0, 95.0, -3.0]}, id="integral floats"),
    ],
)
def test_every_input_shape_gives_the_same_array_and_clearing(make):
    expected = gm.order_array(**COLUMNS)
    converted = gm.as_order_array(make())
    assert converted.tobytes() == expected.tobytes()
    assert gm.clear(make()).fills.tobytes() == gm.clear(expected).fills.tobytes()


def test_an_order_array_is_read_in_place():
    book = gm.order_array(**COLUMNS)
    assert gm.as_order_array(book) is book
    assert gm.clear(book).orders is book


def test_a_strided_view_is_made_contiguous():
    book = gm.order_array(**COLUMNS)
    view = book[::2]
    assert not view.flags.c_contiguous
    result = gm.clear(view, min_price=0)  # a limit bid at 105 against a market ask
    assert (result.price, result.filled.tolist()) == (52, [3, 3])


def test_extra_columns_are_ignored():
    frame = pd.DataFrame({**COLUMNS, "note": ["a", "b", "c"]})
    assert gm.as_order_array(frame).tobytes() == gm.order_array(**COLUMNS).tobytes()


def test_huge_values_survive_exactly():
    big = 2**64 - 1
    book = gm.order_array(id=[big], trader=[big], side=[1], price=[-(2**63)], qty=[big], ts=[big])
    assert book[0].tolist() == (big, big, 1, -(2**63), big, big, 0)
