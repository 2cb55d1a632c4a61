//! What a book command produces: events, with the reasons for rejections and cancellations.

use crate::types::Side;

/// What happened. Every accepted order ends, over its life, in fills, cancellations, or rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventKind {
    /// A submission was taken: `qty` at `price` (a market order's protection price, or 0
    /// without one).
    Accepted = 0,
    /// A command was refused; nothing changed. `reason` is a [`RejectReason`].
    Rejected = 1,
    /// `qty` traded at the resting order's `price`: `id`/`trader` are the incoming (taker) order,
    /// `maker_id`/`maker_trader` the resting one.
    Fill = 2,
    /// `qty` of order `id` was taken off the book or not placed. `reason` is a [`CancelReason`].
    Cancelled = 3,
    /// Order `id` now rests `qty` at `price`; `flags` says whether it kept its queue position.
    Amended = 4,
}

/// Why a command was refused. The book is unchanged by a rejected command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RejectReason {
    /// The id was used before in this book's life.
    DuplicateId = 1,
    /// Cancel or amend of an id that is not resting (never seen, filled, cancelled or expired).
    UnknownId = 2,
    ZeroQuantity = 3,
    /// `side` is not +1 or -1.
    InvalidSide = 4,
    /// The price is not a multiple of the book's tick.
    OffTick = 5,
    /// The quantity is not a multiple of the book's lot.
    OffLot = 6,
    /// A post-only order (or its amendment) would trade on arrival.
    WouldCross = 7,
    /// Unknown time-in-force, or a combination the book does not take: a market order that is
    /// not IOC or FOK, a post-only order that is not GTC or GTD, a post-only market order.
    InvalidTimeInForce = 8,
    /// A GTD order whose expiry is not after the latest `expire` time.
    ExpiryPassed = 9,
    /// Unknown order kind (not 0 limit, 1 market).
    InvalidKind = 10,
    /// Unknown operation code.
    InvalidOp = 11,
    /// An amendment that changes nothing (no quantity and no price given).
    NothingToAmend = 12,
    /// A market, IOC or FOK order during a call phase, where nothing trades until the uncross.
    CallPhase = 13,
}

/// Why quantity left the book (or never rested).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CancelReason {
    /// `cancel`, or an amendment to zero.
    User = 1,
    /// What an IOC or market order could not fill at once.
    Unfilled = 2,
    /// A FOK order that could not fill completely: the whole quantity, with no fill before it.
    Killed = 3,
    /// Self-trade prevention.
    SelfTrade = 4,
    /// A GTD order reached its expiry.
    Expired = 5,
}

/// `Event::flags` of a fill: the resting order is done (filled completely).
pub const MAKER_DONE: u8 = 1;
/// `Event::flags` of a fill: the incoming order is done.
pub const TAKER_DONE: u8 = 2;
/// `Event::flags` of an amendment: the order kept its place in the queue.
pub const KEPT_PRIORITY: u8 = 4;

/// One event, as a fixed 64-byte record (`repr(C)`, all integers: a `Vec<Event>` is a numpy
/// buffer). Fields that do not apply to an event's kind are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Event {
    /// Position of the command in its batch (0 for single commands).
    pub cmd: u64,
    pub id: u64,
    pub trader: u64,
    pub maker_id: u64,
    pub maker_trader: u64,
    pub price: i64,
    pub qty: u64,
    /// An [`EventKind`].
    pub kind: u8,
    /// A [`RejectReason`] or a [`CancelReason`]; 0 otherwise.
    pub reason: u8,
    /// The side of order `id` (+1 buy, -1 sell); 0 in rejections.
    pub side: i8,
    /// [`MAKER_DONE`], [`TAKER_DONE`], [`KEPT_PRIORITY`].
    pub flags: u8,
    pub _pad: [u8; 4],
}

impl Event {
    pub(crate) fn new(kind: EventKind, cmd: u64, id: u64) -> Event {
        Event { kind: kind as u8, cmd, id, ..bytemuck::Zeroable::zeroed() }
    }

    pub(crate) fn on(mut self, trader: u64, side: Side) -> Event {
        self.trader = trader;
        self.side = side.code();
        self
    }

    pub(crate) fn amount(mut self, price: i64, qty: u64) -> Event {
        self.price = price;
        self.qty = qty;
        self
    }

    pub fn kind(&self) -> Option<EventKind> {
        Some(match self.kind {
            0 => EventKind::Accepted,
            1 => EventKind::Rejected,
            2 => EventKind::Fill,
            3 => EventKind::Cancelled,
            4 => EventKind::Amended,
            _ => return None,
        })
    }
}
