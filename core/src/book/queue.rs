//! Resting orders: a slab of nodes linked into one FIFO queue per price level, and each side's
//! levels ordered by price. Cancelling is O(1) in the queue; the price map is O(log levels).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::types::Side;

pub(crate) const NIL: u32 = u32::MAX;

/// A resting order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub id: u64,
    pub trader: u64,
    pub price: i64,
    pub qty: u64,
    pub expiry: u64,
    pub ts: u64,
    /// Arrival order: time priority across the whole book (for expiry order and auctions).
    pub seq: u64,
    pub prev: u32,
    pub next: u32,
    pub side: Side,
    pub tif: u8,
    pub post_only: bool,
}

/// One price level: its queue's ends, total quantity and order count.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub head: u32,
    pub tail: u32,
    pub qty: u64,
    pub count: u32,
}

/// The nodes of both sides and the free slots among them.
#[derive(Default)]
pub(crate) struct Slab {
    nodes: Vec<Node>,
    free: Vec<u32>,
}

impl Slab {
    pub fn insert(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    pub fn release(&mut self, slot: u32) {
        self.free.push(slot);
    }
}

impl core::ops::Index<u32> for Slab {
    type Output = Node;
    fn index(&self, slot: u32) -> &Node {
        &self.nodes[slot as usize]
    }
}

impl core::ops::IndexMut<u32> for Slab {
    fn index_mut(&mut self, slot: u32) -> &mut Node {
        &mut self.nodes[slot as usize]
    }
}

/// One side's price levels.
pub(crate) struct Ladder {
    pub side: Side,
    pub levels: BTreeMap<i64, Level>,
}

impl Ladder {
    pub fn new(side: Side) -> Ladder {
        Ladder { side, levels: BTreeMap::new() }
    }

    /// The best price: highest bid, lowest ask.
    pub fn best(&self) -> Option<(i64, &Level)> {
        let best = match self.side {
            Side::Buy => self.levels.last_key_value(),
            Side::Sell => self.levels.first_key_value(),
        };
        best.map(|(&p, l)| (p, l))
    }

    /// Levels best first.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &Level)> + '_ {
        let (fwd, back) = match self.side {
            Side::Buy => (None, Some(self.levels.iter().rev())),
            Side::Sell => (Some(self.levels.iter()), None),
        };
        fwd.into_iter().flatten().chain(back.into_iter().flatten()).map(|(&p, l)| (p, l))
    }

    /// Whether an order of the other side at `limit` would trade with this side's best.
    pub fn crossed_by(&self, limit: i64) -> bool {
        self.best().is_some_and(|(best, _)| match self.side {
            Side::Buy => best >= limit,
            Side::Sell => best <= limit,
        })
    }

    /// Appends `slot` (already holding its price) to the back of its level.
    pub fn push_back(&mut self, slab: &mut Slab, slot: u32) {
        let (price, qty) = (slab[slot].price, slab[slot].qty);
        let level = self.levels.entry(price).or_insert(Level { head: NIL, tail: NIL, qty: 0, count: 0 });
        slab[slot].prev = level.tail;
        slab[slot].next = NIL;
        if level.tail == NIL {
            level.head = slot;
        } else {
            slab[level.tail].next = slot;
        }
        level.tail = slot;
        level.qty += qty;
        level.count += 1;
    }

    /// Takes `slot` out of its level's queue (dropping the level when it empties). The node
    /// itself stays in the slab.
    pub fn unlink(&mut self, slab: &mut Slab, slot: u32) {
        let Node { price, qty, prev, next, .. } = slab[slot];
        let level = self.levels.get_mut(&price).expect("a resting order's level exists");
        if prev == NIL {
            level.head = next;
        } else {
            slab[prev].next = next;
        }
        if next == NIL {
            level.tail = prev;
        } else {
            slab[next].prev = prev;
        }
        level.qty -= qty;
        level.count -= 1;
        if level.count == 0 {
            self.levels.remove(&price);
        }
    }

    /// Lowers a resting order's quantity in place (it keeps its queue position).
    pub fn reduce(&mut self, slab: &mut Slab, slot: u32, by: u64) {
        let price = slab[slot].price;
        slab[slot].qty -= by;
        if let Some(level) = self.levels.get_mut(&price) {
            level.qty -= by;
        }
    }

    /// The orders of a level, front to back.
    pub fn queue<'a>(&self, slab: &'a Slab, level: &Level) -> impl Iterator<Item = (u32, &'a Node)> + 'a {
        let mut slot = level.head;
        core::iter::from_fn(move || {
            (slot != NIL).then(|| {
                let here = slot;
                slot = slab[here].next;
                (here, &slab[here])
            })
        })
    }
}
