//! `Book`: the core's continuous order book behind a Python class. `process` reads a
//! `COMMAND_DTYPE` batch in place and returns an `EVENT_DTYPE` array, without the GIL.

use bytemuck::{Pod, TransparentWrapperAlloc, Zeroable};
use gridmatch_core::book::{self, BookConfig, CommandRecord, CommandSource, Event, Phase, Stp};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::clearing::{cleared, params, Cleared};
use crate::dtype::{numpy_record, rows, Fields};
use crate::error::{invalid_parameter, Error};
use crate::records::OrderRow;

/// One row of `COMMAND_DTYPE`, laid out compactly; the dtype lists its fields in the order of
/// the documentation.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct CommandRow {
    id: u64,
    trader: u64,
    price: i64,
    qty: u64,
    expiry: u64,
    ts: u64,
    op: u8,
    side: i8,
    tif: u8,
    kind: u8,
    flags: u8,
    _pad: [u8; 3],
}

pub fn command_fields() -> Fields {
    use std::mem::offset_of;
    vec![
        ("op", "u1", offset_of!(CommandRow, op)),
        ("id", "<u8", offset_of!(CommandRow, id)),
        ("trader", "<u8", offset_of!(CommandRow, trader)),
        ("side", "i1", offset_of!(CommandRow, side)),
        ("price", "<i8", offset_of!(CommandRow, price)),
        ("qty", "<u8", offset_of!(CommandRow, qty)),
        ("tif", "u1", offset_of!(CommandRow, tif)),
        ("kind", "u1", offset_of!(CommandRow, kind)),
        ("flags", "u1", offset_of!(CommandRow, flags)),
        ("expiry", "<u8", offset_of!(CommandRow, expiry)),
        ("ts", "<u8", offset_of!(CommandRow, ts)),
    ]
}

impl From<&CommandRow> for CommandRecord {
    fn from(r: &CommandRow) -> CommandRecord {
        CommandRecord {
            op: r.op,
            id: r.id,
            trader: r.trader,
            side: r.side,
            price: r.price,
            qty: r.qty,
            tif: r.tif,
            kind: r.kind,
            flags: r.flags,
            expiry: r.expiry,
            ts: r.ts,
        }
    }
}

struct Commands<'a>(&'a [CommandRow]);

impl CommandSource for Commands<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    #[inline]
    fn command(&self, index: usize) -> CommandRecord {
        (&self.0[index]).into()
    }
}

/// An event as a numpy record of `EVENT_DTYPE`.
#[repr(transparent)]
#[derive(Clone, Copy, Pod, Zeroable, bytemuck::TransparentWrapper)]
pub struct EventRow(Event);

pub fn event_fields() -> Fields {
    use std::mem::offset_of;
    vec![
        ("cmd", "<u8", offset_of!(Event, cmd)),
        ("kind", "u1", offset_of!(Event, kind)),
        ("id", "<u8", offset_of!(Event, id)),
        ("trader", "<u8", offset_of!(Event, trader)),
        ("side", "i1", offset_of!(Event, side)),
        ("price", "<i8", offset_of!(Event, price)),
        ("qty", "<u8", offset_of!(Event, qty)),
        ("maker_id", "<u8", offset_of!(Event, maker_id)),
        ("maker_trader", "<u8", offset_of!(Event, maker_trader)),
        ("reason", "u1", offset_of!(Event, reason)),
        ("flags", "u1", offset_of!(Event, flags)),
    ]
}

numpy_record!(CommandRow, command_fields());
numpy_record!(EventRow, event_fields());

fn events(py: Python<'_>, out: Vec<Event>) -> Bound<'_, PyArray1<EventRow>> {
    PyArray1::from_vec(py, EventRow::wrap_vec(out))
}

/// An event's fields in EVENT_DTYPE order.
type EventTuple = (u64, u8, u64, u64, i8, i64, u64, u64, u64, u8, u8);

/// A price level: (price, total quantity, order count).
type LevelTuple = (i64, u64, u32);

fn level(l: book::LevelInfo) -> LevelTuple {
    (l.price, l.qty, l.count)
}

/// The continuous limit order book. See `gridmatch.OrderBook` for the documented interface.
#[pyclass(module = "gridmatch._core", name = "Book")]
pub struct Book(book::Book);

#[pymethods]
impl Book {
    #[new]
    #[pyo3(signature = (stp="none", tick=None, lot=None))]
    fn new(stp: &str, tick: Option<u64>, lot: Option<u64>) -> PyResult<Self> {
        let stp = Stp::from_name(stp).ok_or_else(|| {
            invalid_parameter(
                "stp",
                format!("{stp:?}"),
                "expected none, cancel_newest, cancel_oldest, cancel_both or decrement",
            )
        })?;
        Ok(Book(book::Book::new(BookConfig { stp, tick, lot }).map_err(Error)?))
    }

    /// Applies the commands in `commands` (the bytes of a C-contiguous COMMAND_DTYPE array) in
    /// order and returns their events.
    fn process<'py>(&mut self, py: Python<'py>, commands: PyReadonlyArray1<'py, u8>) -> PyResult<Bound<'py, PyArray1<EventRow>>> {
        let bytes = commands.as_slice()?;
        let batch = rows::<CommandRow>(bytes).map_err(|len| {
            invalid_parameter("commands", format!("{len} bytes"), "not a whole number of COMMAND_DTYPE rows")
        })?;
        let book = &mut self.0;
        let out = py.detach(|| {
            let mut out = Vec::with_capacity(batch.len() * 2);
            book.process(&Commands(&batch), &mut out);
            out
        });
        Ok(events(py, out))
    }

    /// Applies one command given field by field and returns its events as tuples in
    /// EVENT_DTYPE's field order (cheaper than an array for a handful of events).
    #[allow(clippy::too_many_arguments)] // one argument per COMMAND_DTYPE field
    fn apply(
        &mut self,
        op: u8,
        id: u64,
        trader: u64,
        side: i8,
        price: i64,
        qty: u64,
        tif: u8,
        kind: u8,
        flags: u8,
        expiry: u64,
        ts: u64,
    ) -> Vec<EventTuple> {
        let command = CommandRecord { op, id, trader, side, price, qty, tif, kind, flags, expiry, ts };
        let mut out = Vec::with_capacity(4);
        self.0.apply(&command, &mut out);
        out.iter()
            .map(|e| (e.cmd, e.kind, e.id, e.trader, e.side, e.price, e.qty, e.maker_id, e.maker_trader, e.reason, e.flags))
            .collect()
    }

    fn best_bid(&self) -> Option<LevelTuple> {
        self.0.best_bid().map(level)
    }

    fn best_ask(&self) -> Option<LevelTuple> {
        self.0.best_ask().map(level)
    }

    fn depth(&self, n: usize) -> (Vec<LevelTuple>, Vec<LevelTuple>) {
        let (bids, asks) = self.0.depth(n);
        (bids.into_iter().map(level).collect(), asks.into_iter().map(level).collect())
    }

    /// Every resting order as (id, trader, side, price, qty, tif, expiry, ts), in priority order.
    #[allow(clippy::type_complexity)]
    fn orders(&self) -> Vec<(u64, u64, i8, i64, u64, u8, u64, u64)> {
        self.0.orders().iter().map(|o| (o.id, o.trader, o.side.code(), o.price, o.qty, o.tif, o.expiry, o.ts)).collect()
    }

    fn position(&self, id: u64) -> Option<(u64, usize)> {
        self.0.position(id)
    }

    #[getter]
    fn phase(&self) -> &'static str {
        match self.0.phase() {
            Phase::Continuous => "continuous",
            Phase::Call => "call",
        }
    }

    fn set_phase(&mut self, phase: &str) -> PyResult<()> {
        let phase = match phase {
            "continuous" => Phase::Continuous,
            "call" => Phase::Call,
            other => return Err(invalid_parameter("phase", format!("{other:?}"), "expected continuous or call")),
        };
        Ok(self.0.set_phase(phase).map_err(Error)?)
    }

    #[getter]
    fn stp(&self) -> &'static str {
        self.0.config().stp.name()
    }

    #[getter]
    fn tick(&self) -> Option<u64> {
        self.0.config().tick
    }

    #[getter]
    fn lot(&self) -> Option<u64> {
        self.0.config().lot
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    /// Runs the call auction over the resting orders and removes what filled. Returns the
    /// orders as the auction saw them (ORDER_DTYPE) and the clearing tuple of `clear_records`.
    #[pyo3(signature = (*, rule, allocation, reference_price=None, min_price=None, max_price=None))]
    fn uncross<'py>(
        &mut self,
        py: Python<'py>,
        rule: &Bound<'py, PyAny>,
        allocation: &str,
        reference_price: Option<i64>,
        min_price: Option<i64>,
        max_price: Option<i64>,
    ) -> PyResult<(Bound<'py, PyArray1<OrderRow>>, Cleared<'py>)> {
        let params = params(rule, allocation, reference_price, min_price, max_price)?;
        let (orders, outcome) = self.0.uncross(&params).map_err(Error)?;
        let rows: Vec<OrderRow> = orders.iter().map(OrderRow::from).collect();
        Ok((PyArray1::from_vec(py, rows), cleared(py, outcome)))
    }
}
