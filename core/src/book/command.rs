//! What a book takes: orders, cancellations, amendments, expiry, in typed and in record form.

use crate::types::Side;

/// How long an order may rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tif {
    /// Good till cancelled.
    Gtc,
    /// Good till date: rests until an `expire(now)` with `now >= expiry`.
    Gtd { expiry: u64 },
    /// Immediate or cancel: trades what it can, the rest is cancelled.
    Ioc,
    /// Fill or kill: trades its whole quantity at once, or nothing at all.
    Fok,
}

/// `CommandRecord::tif` codes.
pub mod tif {
    pub const GTC: u8 = 0;
    pub const GTD: u8 = 1;
    pub const IOC: u8 = 2;
    pub const FOK: u8 = 3;
}

impl Tif {
    pub const fn code(self) -> u8 {
        match self {
            Tif::Gtc => tif::GTC,
            Tif::Gtd { .. } => tif::GTD,
            Tif::Ioc => tif::IOC,
            Tif::Fok => tif::FOK,
        }
    }
}

/// Self-trade prevention: what happens when an incoming order would trade with a resting
/// order of the same trader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Stp {
    /// They trade.
    #[default]
    None,
    /// The incoming order's remainder is cancelled.
    CancelNewest,
    /// The resting order is cancelled and matching goes on.
    CancelOldest,
    /// Both are cancelled.
    CancelBoth,
    /// Both shrink by the smaller quantity, without a trade; an order reduced to zero is gone.
    Decrement,
}

impl Stp {
    pub fn from_name(name: &str) -> Option<Stp> {
        Some(match name {
            "none" => Stp::None,
            "cancel_newest" => Stp::CancelNewest,
            "cancel_oldest" => Stp::CancelOldest,
            "cancel_both" => Stp::CancelBoth,
            "decrement" => Stp::Decrement,
            _ => return None,
        })
    }

    pub const fn name(self) -> &'static str {
        match self {
            Stp::None => "none",
            Stp::CancelNewest => "cancel_newest",
            Stp::CancelOldest => "cancel_oldest",
            Stp::CancelBoth => "cancel_both",
            Stp::Decrement => "decrement",
        }
    }
}

/// Whether incoming orders trade at once or wait for an uncross.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Phase {
    /// Orders match on arrival; the book is never crossed.
    #[default]
    Continuous,
    /// Limit orders collect without matching (an opening or closing auction); `uncross` clears them.
    Call,
}

/// A book's fixed rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BookConfig {
    pub stp: Stp,
    /// Prices must be multiples of `tick` when set.
    pub tick: Option<u64>,
    /// Quantities must be multiples of `lot` when set.
    pub lot: Option<u64>,
}

/// A new order. Market orders ignore `price` and take `protection` as their worst price, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub id: u64,
    pub trader: u64,
    pub side: Side,
    pub price: i64,
    pub qty: u64,
    pub tif: Tif,
    pub market: bool,
    pub post_only: bool,
    pub protection: Option<i64>,
    /// The caller's timestamp, kept on the resting order. Priority is arrival order, not `ts`.
    pub ts: u64,
}

impl NewOrder {
    pub const fn limit(id: u64, trader: u64, side: Side, price: i64, qty: u64) -> NewOrder {
        NewOrder { id, trader, side, price, qty, tif: Tif::Gtc, market: false, post_only: false, protection: None, ts: 0 }
    }

    pub const fn market(id: u64, trader: u64, side: Side, qty: u64) -> NewOrder {
        NewOrder { id, trader, side, price: 0, qty, tif: Tif::Ioc, market: true, post_only: false, protection: None, ts: 0 }
    }

    pub const fn with_tif(mut self, tif: Tif) -> NewOrder {
        self.tif = tif;
        self
    }
}

/// `CommandRecord::op` codes.
pub mod op {
    pub const SUBMIT: u8 = 0;
    pub const CANCEL: u8 = 1;
    pub const AMEND: u8 = 2;
    /// Expire every GTD order with `expiry <= ts`.
    pub const EXPIRE: u8 = 3;
}

/// `CommandRecord::flags` bits.
pub mod flag {
    /// Submit: the order may only rest, never take.
    pub const POST_ONLY: u8 = 1;
    /// Submit of a market order: `price` is its protection price.
    pub const PROTECTED: u8 = 2;
    /// Amend: `qty` is the new open quantity.
    pub const AMEND_QTY: u8 = 4;
    /// Amend: `price` is the new price.
    pub const AMEND_PRICE: u8 = 8;
}

/// A command as a numpy `COMMAND_DTYPE` row: raw codes, validated by the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CommandRecord {
    pub op: u8,
    pub id: u64,
    pub trader: u64,
    pub side: i8,
    pub price: i64,
    pub qty: u64,
    /// A [`tif`] code.
    pub tif: u8,
    /// 0 limit, 1 market.
    pub kind: u8,
    pub flags: u8,
    pub expiry: u64,
    pub ts: u64,
}

/// Random access to a batch of commands read in place.
pub trait CommandSource {
    fn len(&self) -> usize;
    fn command(&self, index: usize) -> CommandRecord;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CommandSource for [CommandRecord] {
    fn len(&self) -> usize {
        <[CommandRecord]>::len(self)
    }

    fn command(&self, index: usize) -> CommandRecord {
        self[index]
    }
}
