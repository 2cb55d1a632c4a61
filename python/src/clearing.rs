//! `clear_records`: the columnar clearing entry point, and the conversions it shares with the
//! book's uncross.

use bytemuck::TransparentWrapperAlloc;
use gridmatch_core::{clear, Allocation, Clearing, ClearingParams, Fill};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::dtype::{numpy_record, rows, Fields};
use crate::error::{invalid_parameter, Error};
use crate::records::{OrderRow, Rows};
use crate::rule::extract_rule;

/// A fill as a numpy record of `FILL_DTYPE`, so the core's `Vec<Fill>` becomes the result array
/// without a copy.
#[repr(transparent)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable, bytemuck::TransparentWrapper)]
pub struct FillRow(Fill);

pub fn fill_fields() -> Fields {
    use std::mem::offset_of;
    vec![
        ("buy_id", "<u8", offset_of!(Fill, buy_id)),
        ("sell_id", "<u8", offset_of!(Fill, sell_id)),
        ("buyer", "<u8", offset_of!(Fill, buyer)),
        ("seller", "<u8", offset_of!(Fill, seller)),
        ("qty", "<u8", offset_of!(Fill, qty)),
        ("price", "<i8", offset_of!(Fill, price)),
    ]
}

numpy_record!(FillRow, fill_fields());

/// (price, interval, volume, demand, supply, welfare, filled, fills)
pub type Cleared<'py> = (
    Option<i64>,
    Option<(i64, i64)>,
    u64,
    u64,
    u64,
    u128,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<FillRow>>,
);

pub fn cleared<'py>(py: Python<'py>, c: Clearing) -> Cleared<'py> {
    (
        c.price,
        c.interval,
        c.volume,
        c.demand,
        c.supply,
        c.welfare,
        PyArray1::from_vec(py, c.filled),
        PyArray1::from_vec(py, FillRow::wrap_vec(c.fills)),
    )
}

pub fn params(
    rule: &Bound<'_, PyAny>,
    allocation: &str,
    reference_price: Option<i64>,
    min_price: Option<i64>,
    max_price: Option<i64>,
) -> PyResult<ClearingParams> {
    Ok(ClearingParams {
        rule: extract_rule(rule)?,
        allocation: Allocation::from_name(allocation).map_err(Error)?,
        reference_price,
        min_price,
        max_price,
    })
}

/// Clears the orders in `records` (the bytes of a C-contiguous `ORDER_DTYPE` array).
/// Returns (price, interval, volume, demand, supply, welfare, filled, fills).
#[pyfunction]
#[pyo3(signature = (records, *, rule, allocation, reference_price=None, min_price=None, max_price=None))]
pub fn clear_records<'py>(
    py: Python<'py>,
    records: PyReadonlyArray1<'py, u8>,
    rule: &Bound<'py, PyAny>,
    allocation: &str,
    reference_price: Option<i64>,
    min_price: Option<i64>,
    max_price: Option<i64>,
) -> PyResult<Cleared<'py>> {
    let params = params(rule, allocation, reference_price, min_price, max_price)?;
    let bytes = records.as_slice()?;
    let orders = rows::<OrderRow>(bytes).map_err(|len| {
        invalid_parameter("records", format!("{len} bytes"), "not a whole number of ORDER_DTYPE rows")
    })?;
    let outcome = py.detach(|| clear(&Rows(&orders), &params)).map_err(Error)?;
    Ok(cleared(py, outcome))
}
