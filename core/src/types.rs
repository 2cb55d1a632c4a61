//! Integer domain types of an order and the trait through which the engine reads orders.

/// Buy or sell. The record form encodes it as `+1` (buy) and `-1` (sell).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub const fn code(self) -> i8 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// Limit orders carry a price; market orders execute at any price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Limit,
    Market,
}

impl Kind {
    pub const fn code(self) -> u8 {
        match self {
            Kind::Limit => 0,
            Kind::Market => 1,
        }
    }
}

/// An order as it is stored in a record (the numpy `ORDER_DTYPE` row): raw integer codes, not
/// yet validated. `price` is ignored for market orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    pub id: u64,
    pub trader: u64,
    pub side: i8,
    pub price: i64,
    pub qty: u64,
    /// Priority time: earlier `ts` wins, then the lower `id`.
    pub ts: u64,
    pub kind: u8,
}

/// A validated order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: u64,
    pub trader: u64,
    pub side: Side,
    pub price: i64,
    pub qty: u64,
    pub ts: u64,
    pub kind: Kind,
}

impl Order {
    pub const fn limit(id: u64, trader: u64, side: Side, price: i64, qty: u64, ts: u64) -> Self {
        Order { id, trader, side, price, qty, ts, kind: Kind::Limit }
    }

    pub const fn market(id: u64, trader: u64, side: Side, qty: u64, ts: u64) -> Self {
        Order { id, trader, side, price: 0, qty, ts, kind: Kind::Market }
    }

    pub const fn record(&self) -> OrderRecord {
        OrderRecord {
            id: self.id,
            trader: self.trader,
            side: self.side.code(),
            price: self.price,
            qty: self.qty,
            ts: self.ts,
            kind: self.kind.code(),
        }
    }
}

/// Random access to a batch of orders, so the engine can read columnar or packed buffers in
/// place instead of copying them into `Order` structs first.
pub trait OrderSource: Sync {
    fn len(&self) -> usize;
    fn record(&self, index: usize) -> OrderRecord;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl OrderSource for [Order] {
    fn len(&self) -> usize {
        <[Order]>::len(self)
    }

    fn record(&self, index: usize) -> OrderRecord {
        self[index].record()
    }
}

impl OrderSource for [OrderRecord] {
    fn len(&self) -> usize {
        <[OrderRecord]>::len(self)
    }

    fn record(&self, index: usize) -> OrderRecord {
        self[index]
    }
}
