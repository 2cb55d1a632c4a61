//! Numpy record dtypes laid out from Rust structs, so Rust and numpy agree on every byte.

use numpy::PyArrayDescr;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// (name, numpy format, byte offset) of each field of a record.
pub type Fields = Vec<(&'static str, &'static str, usize)>;

/// The numpy dtype of a record of `itemsize` bytes with `fields`.
pub fn descr<'py>(py: Python<'py>, fields: &Fields, itemsize: usize) -> PyResult<Bound<'py, PyArrayDescr>> {
    let spec = PyDict::new(py);
    spec.set_item("names", fields.iter().map(|f| f.0).collect::<Vec<_>>())?;
    spec.set_item("formats", fields.iter().map(|f| f.1).collect::<Vec<_>>())?;
    spec.set_item("offsets", fields.iter().map(|f| f.2).collect::<Vec<_>>())?;
    spec.set_item("itemsize", itemsize)?;
    spec.set_item("aligned", true)?;
    PyArrayDescr::new(py, spec)
}

/// Lets numpy hold a `Vec` of a record type without a copy, with the dtype `$fields` describes.
macro_rules! numpy_record {
    ($ty:ty, $fields:expr) => {
        // SAFETY: `$ty` is `repr(C)` and `Pod` (no padding bytes, no pointers, no Python
        // objects), and its dtype is built from its own field offsets and size.
        unsafe impl numpy::Element for $ty {
            const IS_COPY: bool = true;

            fn get_dtype(py: pyo3::Python<'_>) -> pyo3::Bound<'_, numpy::PyArrayDescr> {
                static DTYPE: pyo3::sync::PyOnceLock<pyo3::Py<numpy::PyArrayDescr>> = pyo3::sync::PyOnceLock::new();
                DTYPE
                    .get_or_init(py, || {
                        $crate::dtype::descr(py, &$fields, core::mem::size_of::<$ty>())
                            .expect("the field list describes a valid numpy dtype")
                            .unbind()
                    })
                    .bind(py)
                    .clone()
            }

            fn clone_ref(&self, _py: pyo3::Python<'_>) -> Self {
                *self
            }
        }
    };
}
pub(crate) use numpy_record;

/// The rows of a numpy record buffer, read in place when aligned and from a copy otherwise.
pub fn rows<T: bytemuck::Pod>(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [T]>, usize> {
    match bytemuck::try_cast_slice::<u8, T>(bytes) {
        Ok(rows) => Ok(std::borrow::Cow::Borrowed(rows)),
        Err(bytemuck::PodCastError::OutputSliceWouldHaveSlop) => Err(bytes.len()),
        Err(_) => Ok(std::borrow::Cow::Owned(bytemuck::pod_collect_to_vec(bytes))),
    }
}
