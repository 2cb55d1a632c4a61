//! `clear_records`: the columnar clearing entry point.

use gridmatch_core::{clear, Allocation, ClearingParams};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::error::{invalid_parameter, Error};
use crate::records::{OrderRow, Rows};
use crate::rule::extract_rule;

/// (name, numpy format) of every field of `FILL_DTYPE`, in the order of `gridmatch_core::Fill`.
pub fn fill_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("buy_id", "<u8"),
        ("sell_id", "<u8"),
        ("buyer", "<u8"),
        ("seller", "<u8"),
        ("qty", "<u8"),
        ("price", "<i8"),
    ]
}

type Cleared<'py> = (
    Option<i64>,
    Option<(i64, i64)>,
    u64,
    u64,
    u64,
    u128,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
);

/// Clears the orders in `records` (the bytes of a C-contiguous `ORDER_DTYPE` array).
/// Returns (price, interval, volume, demand, supply, welfare, filled, fills as flat u64 words).
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
    let params = ClearingParams {
        rule: extract_rule(rule)?,
        allocation: Allocation::from_name(allocation).map_err(Error)?,
        reference_price,
        min_price,
        max_price,
    };
    let bytes = records.as_slice()?;
    let cleared = match bytemuck::try_cast_slice::<u8, OrderRow>(bytes) {
        Ok(rows) => py.detach(|| clear(&Rows(rows), &params)),
        Err(bytemuck::PodCastError::OutputSliceWouldHaveSlop) => {
            return Err(invalid_parameter("records", format!("{} bytes", bytes.len()), "not a whole number of ORDER_DTYPE rows"));
        }
        // A buffer that is not 8-byte aligned is read from an aligned copy.
        Err(_) => {
            let rows: Vec<OrderRow> = bytemuck::pod_collect_to_vec(bytes);
            py.detach(|| clear(&Rows(&rows), &params))
        }
    }
    .map_err(Error)?;
    let words: Vec<u64> = cleared
        .fills
        .iter()
        .flat_map(|f| [f.buy_id, f.sell_id, f.buyer, f.seller, f.qty, f.price as u64])
        .collect();
    Ok((
        cleared.price,
        cleared.interval,
        cleared.volume,
        cleared.demand,
        cleared.supply,
        cleared.welfare,
        PyArray1::from_vec(py, cleared.filled),
        PyArray1::from_vec(py, words),
    ))
}
