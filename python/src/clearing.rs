//! `clear_records`: the columnar clearing entry point.

use bytemuck::TransparentWrapperAlloc;
use gridmatch_core::{clear, Allocation, ClearingParams, Fill};
use numpy::{Element, PyArray1, PyArrayDescr, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::error::{invalid_parameter, Error};
use crate::records::{OrderRow, Rows};
use crate::rule::extract_rule;

/// (name, numpy format, byte offset) of every field of `FILL_DTYPE`, read off `Fill` itself.
pub fn fill_fields() -> Vec<(&'static str, &'static str, usize)> {
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

/// `FILL_DTYPE` as numpy reads it: `{"names": ..., "formats": ..., "offsets": ..., "itemsize": ...}`.
fn fill_dtype_spec(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
    let fields = fill_fields();
    let spec = pyo3::types::PyDict::new(py);
    spec.set_item("names", fields.iter().map(|f| f.0).collect::<Vec<_>>())?;
    spec.set_item("formats", fields.iter().map(|f| f.1).collect::<Vec<_>>())?;
    spec.set_item("offsets", fields.iter().map(|f| f.2).collect::<Vec<_>>())?;
    spec.set_item("itemsize", std::mem::size_of::<Fill>())?;
    Ok(spec)
}

/// A fill as a numpy record of `FILL_DTYPE`, so the core's `Vec<Fill>` becomes the result array
/// without a copy.
#[repr(transparent)]
#[derive(Clone, Copy, bytemuck::TransparentWrapper)]
pub struct FillRow(Fill);

// SAFETY: `FillRow` is `Fill`, a `repr(C)` struct of 8-byte integers (`Pod`: no padding), and
// the dtype below is built from its own field offsets and size; it holds no Python objects.
unsafe impl Element for FillRow {
    const IS_COPY: bool = true;

    fn get_dtype(py: Python<'_>) -> Bound<'_, PyArrayDescr> {
        static DTYPE: PyOnceLock<Py<PyArrayDescr>> = PyOnceLock::new();
        DTYPE
            .get_or_init(py, || {
                fill_dtype_spec(py)
                    .and_then(|spec| PyArrayDescr::new(py, spec))
                    .expect("FILL_FIELDS describes a valid numpy dtype")
                    .unbind()
            })
            .bind(py)
            .clone()
    }

    fn clone_ref(&self, _py: Python<'_>) -> Self {
        *self
    }
}

type Cleared<'py> = (
    Option<i64>,
    Option<(i64, i64)>,
    u64,
    u64,
    u64,
    u128,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<FillRow>>,
);

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
    Ok((
        cleared.price,
        cleared.interval,
        cleared.volume,
        cleared.demand,
        cleared.supply,
        cleared.welfare,
        PyArray1::from_vec(py, cleared.filled),
        PyArray1::from_vec(py, FillRow::wrap_vec(cleared.fills)),
    ))
}
