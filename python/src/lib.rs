//! gridmatch._core: the thin PyO3 layer. Each function converts its arguments, makes one call
//! into gridmatch-core (without the GIL where the work is heavy) and converts the result back.

mod clearing;
mod error;
mod records;
mod rule;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ORDER_FIELDS", records::order_fields())?;
    m.add("ORDER_ITEMSIZE", std::mem::size_of::<records::OrderRow>())?;
    m.add("FILL_FIELDS", clearing::fill_fields())?;
    m.add("FILL_ITEMSIZE", std::mem::size_of::<gridmatch_core::Fill>())?;
    m.add_class::<rule::PriceRule>()?;
    m.add_function(wrap_pyfunction!(clearing::clear_records, m)?)?;
    Ok(())
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
