//! Orders read in place from a numpy `ORDER_DTYPE` buffer.

use bytemuck::{Pod, Zeroable};
use gridmatch_core::{Order, OrderRecord, OrderSource};

use crate::dtype::{numpy_record, Fields};

/// One row of `ORDER_DTYPE`: the numpy side builds its dtype from these offsets, so the two
/// layouts cannot drift apart.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct OrderRow {
    id: u64,
    trader: u64,
    side: i8,
    _pad_side: [u8; 7],
    price: i64,
    qty: u64,
    ts: u64,
    kind: u8,
    _pad_kind: [u8; 7],
}

pub fn order_fields() -> Fields {
    use std::mem::offset_of;
    vec![
        ("id", "<u8", offset_of!(OrderRow, id)),
        ("trader", "<u8", offset_of!(OrderRow, trader)),
        ("side", "i1", offset_of!(OrderRow, side)),
        ("price", "<i8", offset_of!(OrderRow, price)),
        ("qty", "<u8", offset_of!(OrderRow, qty)),
        ("ts", "<u8", offset_of!(OrderRow, ts)),
        ("kind", "u1", offset_of!(OrderRow, kind)),
    ]
}

numpy_record!(OrderRow, order_fields());

impl From<&Order> for OrderRow {
    fn from(o: &Order) -> OrderRow {
        let r = o.record();
        OrderRow {
            id: r.id,
            trader: r.trader,
            side: r.side,
            price: r.price,
            qty: r.qty,
            ts: r.ts,
            kind: r.kind,
            ..Zeroable::zeroed()
        }
    }
}

pub struct Rows<'a>(pub &'a [OrderRow]);

impl OrderSource for Rows<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    #[inline]
    fn record(&self, index: usize) -> OrderRecord {
        let row = &self.0[index];
        OrderRecord {
            id: row.id,
            trader: row.trader,
            side: row.side,
            price: row.price,
            qty: row.qty,
            ts: row.ts,
            kind: row.kind,
        }
    }
}
