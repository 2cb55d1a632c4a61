//! gridmatch._core: the thin PyO3 layer. Each function converts its arguments, makes one call
//! into gridmatch-core (without the GIL where the work is heavy) and converts the result back.

mod book;
mod clearing;
mod dtype;
mod error;
mod money;
mod records;
mod rule;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ORDER_FIELDS", records::order_fields())?;
    m.add("ORDER_ITEMSIZE", std::mem::size_of::<records::OrderRow>())?;
    m.add("FILL_FIELDS", clearing::fill_fields())?;
    m.add("FILL_ITEMSIZE", std::mem::size_of::<clearing::FillRow>())?;
    m.add("COMMAND_FIELDS", book::command_fields())?;
    m.add("COMMAND_ITEMSIZE", std::mem::size_of::<book::CommandRow>())?;
    m.add("EVENT_FIELDS", book::event_fields())?;
    m.add("EVENT_ITEMSIZE", std::mem::size_of::<book::EventRow>())?;
    m.add_class::<rule::PriceRule>()?;
    m.add_class::<book::Book>()?;
    m.add_function(wrap_pyfunction!(clearing::clear_records, m)?)?;
    m.add_function(wrap_pyfunction!(money::split_trade, m)?)?;
    Ok(())
}

// freed buffers are reused across calls instead of faulting in fresh pages each time
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
