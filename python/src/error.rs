//! Core errors as the Python exceptions of `gridmatch.errors`, with their fields as attributes.

use gridmatch_core::CoreError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A core error on its way to Python (a newtype: both `CoreError` and `PyErr` are foreign here).
pub struct Error(pub CoreError);

impl From<CoreError> for Error {
    fn from(err: CoreError) -> Self {
        Error(err)
    }
}

impl From<Error> for PyErr {
    fn from(Error(err): Error) -> PyErr {
        Python::attach(|py| to_python(py, &err).unwrap_or_else(|failure| failure))
    }
}

fn to_python(py: Python<'_>, err: &CoreError) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    let class = match err {
        CoreError::InvalidOrder { id, field, value, .. } => {
            kwargs.set_item("field", field)?;
            kwargs.set_item("order_id", id)?;
            kwargs.set_item("value", value)?;
            "InvalidOrder"
        }
        CoreError::DuplicateOrderId { id } => {
            kwargs.set_item("field", "id")?;
            kwargs.set_item("order_id", id)?;
            kwargs.set_item("value", id)?;
            "DuplicateOrderId"
        }
        CoreError::QuantityOverflow { side } => {
            kwargs.set_item("field", "qty")?;
            kwargs.set_item("value", side.name())?;
            "AmountOverflow"
        }
        CoreError::Overflow { what, .. } => {
            kwargs.set_item("field", what)?;
            "AmountOverflow"
        }
        CoreError::IndeterminatePrice { below } => {
            kwargs.set_item("field", if *below { "min_price" } else { "max_price" })?;
            "IndeterminatePrice"
        }
        CoreError::MissingReferencePrice { .. } => {
            kwargs.set_item("field", "reference_price")?;
            "MissingReferencePrice"
        }
        CoreError::InvalidParameter { name, value, .. } => {
            kwargs.set_item("field", name)?;
            kwargs.set_item("value", value)?;
            "InvalidParameter"
        }
    };
    let errors = py.import("gridmatch.errors")?;
    let exception = errors.getattr(class)?.call((err.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(exception))
}

/// For conversions that fail before the core is reached.
pub fn invalid_parameter(name: &'static str, value: String, reason: &'static str) -> PyErr {
    Error(CoreError::InvalidParameter { name, value, reason }).into()
}
