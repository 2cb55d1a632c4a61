//! The continuous limit order book (README.md, "The continuous order book"): price-time priority, FIFO within a
//! price level, trades at the resting order's price.
//!
//! Every command answers with [`Event`]s. A rejected command changes nothing; an accepted
//! order's quantity ends in fills, cancellations (user, unfilled IOC/market remainder, killed
//! FOK, self-trade prevention, expiry) or rest. Order ids are unique for the book's life.
//!
//! - Submissions are validated in a fixed order (duplicate id, side, quantity, kind,
//!   time-in-force, tick, lot, GTD expiry, post-only crossing): the first failure is the
//!   reason given.
//! - FOK orders decide before anything changes whether they can fill completely, counting what
//!   self-trade prevention would let them trade; if not they are killed with no trail.
//! - Self-trade prevention (per book): `CancelNewest` cancels the incoming remainder,
//!   `CancelOldest` the resting order (matching goes on), `CancelBoth` both, `Decrement`
//!   shrinks both by the smaller quantity without a trade.
//! - Amending the quantity down at the same price keeps the queue position; a price change or a
//!   quantity increase re-enters the order (same id) at the back, trading first if it crosses;
//!   an amendment to zero cancels.
//! - `expire(now)` cancels the GTD orders with `expiry <= now`, earliest expiry first; GTD
//!   orders arriving with `expiry <= now` are refused.
//! - In a [`Phase::Call`] limit orders collect without matching (market, IOC and FOK orders are
//!   refused); `uncross` runs the call auction of [`crate::auction`] over the resting orders
//!   (time priority by arrival) and takes what filled off the book. The book returns to
//!   continuous trading only when it is not crossed.

mod command;
mod event;
mod queue;

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use hashbrown::HashMap;

pub use command::{flag, op, tif, BookConfig, CommandRecord, CommandSource, NewOrder, Phase, Stp, Tif};
pub use event::{CancelReason, Event, EventKind, RejectReason, KEPT_PRIORITY, MAKER_DONE, TAKER_DONE};
use queue::{Ladder, Node, Slab, NIL};

use crate::auction::{clear, Clearing, ClearingParams};
use crate::error::CoreError;
use crate::types::{Order, Side};

/// An id's entry once it was accepted and no longer rests.
const GONE: u32 = NIL;

/// A price level as queries report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelInfo {
    pub price: i64,
    pub qty: u64,
    pub count: u32,
}

/// A resting order as queries report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resting {
    pub id: u64,
    pub trader: u64,
    pub side: Side,
    pub price: i64,
    pub qty: u64,
    /// A [`Tif`] code: 0 GTC, 1 GTD.
    pub tif: u8,
    pub expiry: u64,
    pub ts: u64,
}

/// An order while it looks for counterparties: a new submission, or an amended order
/// re-entering.
struct Taker {
    id: u64,
    trader: u64,
    side: Side,
    /// Worst price it trades at; `None` for a market order without protection.
    limit: Option<i64>,
    /// The price its events show.
    price: i64,
    left: u64,
}

impl Taker {
    fn crosses(&self, level: i64) -> bool {
        match (self.limit, self.side) {
            (None, _) => true,
            (Some(limit), Side::Buy) => level <= limit,
            (Some(limit), Side::Sell) => level >= limit,
        }
    }

    fn event(&self, kind: EventKind, cmd: u64) -> Event {
        Event::new(kind, cmd, self.id).on(self.trader, self.side)
    }
}

pub struct Book {
    config: BookConfig,
    slab: Slab,
    bids: Ladder,
    asks: Ladder,
    /// Every accepted id: its slot while it rests, `GONE` after.
    ids: HashMap<u64, u32>,
    /// (expiry, arrival, id) of the resting GTD orders.
    expiries: BTreeSet<(u64, u64, u64)>,
    /// Arrival counter: time priority.
    seq: u64,
    /// The latest `expire` time.
    now: Option<u64>,
    /// The position of the command being applied in its batch, stamped on its events.
    cmd: u64,
    resting: usize,
    phase: Phase,
}

fn reject(cmd: u64, id: u64, trader: u64, reason: RejectReason) -> Event {
    let mut event = Event::new(EventKind::Rejected, cmd, id);
    event.trader = trader;
    event.reason = reason as u8;
    event
}

fn on_tick(price: i64, tick: Option<u64>) -> bool {
    tick.is_none_or(|t| (price as i128).rem_euclid(t as i128) == 0)
}

impl Book {
    pub fn new(config: BookConfig) -> Result<Book, CoreError> {
        for (name, step) in [("tick", config.tick), ("lot", config.lot)] {
            if step == Some(0) {
                return Err(CoreError::InvalidParameter { name, value: "0".into(), reason: "must be positive" });
            }
        }
        Ok(Book {
            config,
            slab: Slab::default(),
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
            ids: HashMap::new(),
            expiries: BTreeSet::new(),
            seq: 0,
            now: None,
            cmd: 0,
            resting: 0,
            phase: Phase::Continuous,
        })
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Switches between continuous trading and a call phase. Continuous trading resumes only on
    /// a book that is not crossed (uncross it first); otherwise nothing changes.
    pub fn set_phase(&mut self, phase: Phase) -> Result<(), CoreError> {
        if phase == Phase::Continuous {
            if let (Some(bid), Some(ask)) = (self.best_bid(), self.best_ask()) {
                if bid.price >= ask.price {
                    return Err(CoreError::InvalidParameter {
                        name: "phase",
                        value: alloc::format!("continuous (best bid {} >= best ask {})", bid.price, ask.price),
                        reason: "the book is crossed: uncross it before continuous trading",
                    });
                }
            }
        }
        self.phase = phase;
        Ok(())
    }

    pub fn config(&self) -> BookConfig {
        self.config
    }

    /// The number of resting orders.
    pub fn len(&self) -> usize {
        self.resting
    }

    pub fn is_empty(&self) -> bool {
        self.resting == 0
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn opposite(&self, side: Side) -> &Ladder {
        self.ladder(match side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        })
    }

    /// Applies a batch of commands; each event carries its command's position in the batch.
    pub fn process<C: CommandSource + ?Sized>(&mut self, commands: &C, out: &mut Vec<Event>) {
        for i in 0..commands.len() {
            self.cmd = i as u64;
            self.apply(&commands.command(i), out);
        }
        self.cmd = 0;
    }

    /// Applies one command in record form.
    pub fn apply(&mut self, c: &CommandRecord, out: &mut Vec<Event>) {
        match c.op {
            op::SUBMIT => self.submit_record(c, out),
            op::CANCEL => self.cancel_as(c.id, c.trader, out),
            op::AMEND => {
                let qty = (c.flags & flag::AMEND_QTY != 0).then_some(c.qty);
                let price = (c.flags & flag::AMEND_PRICE != 0).then_some(c.price);
                self.amend_as(c.id, c.trader, qty, price, out)
            }
            op::EXPIRE => self.expire(c.ts, out),
            _ => out.push(reject(self.cmd, c.id, c.trader, RejectReason::InvalidOp)),
        }
    }

    pub fn submit(&mut self, order: &NewOrder, out: &mut Vec<Event>) {
        let protected = order.market && order.protection.is_some();
        let record = CommandRecord {
            op: op::SUBMIT,
            id: order.id,
            trader: order.trader,
            side: order.side.code(),
            price: if order.market { order.protection.unwrap_or(0) } else { order.price },
            qty: order.qty,
            tif: order.tif.code(),
            kind: order.market as u8,
            flags: (order.post_only as u8 * flag::POST_ONLY) | (protected as u8 * flag::PROTECTED),
            expiry: if let Tif::Gtd { expiry } = order.tif { expiry } else { 0 },
            ts: order.ts,
        };
        self.submit_record(&record, out);
    }

    /// Why a submission is refused, checked in the documented order.
    fn refusal(&self, c: &CommandRecord) -> Option<RejectReason> {
        use RejectReason::*;
        let market = c.kind == 1;
        let post_only = c.flags & flag::POST_ONLY != 0;
        let priced = !market || c.flags & flag::PROTECTED != 0;
        let side = match c.side {
            1 => Side::Buy,
            -1 => Side::Sell,
            _ => Side::Buy, // refused just below, after the id
        };
        Some(if self.ids.contains_key(&c.id) {
            DuplicateId
        } else if c.side != 1 && c.side != -1 {
            InvalidSide
        } else if c.qty == 0 {
            ZeroQuantity
        } else if c.kind > 1 {
            InvalidKind
        } else if c.tif > tif::FOK
            || (market && (c.tif == tif::GTC || c.tif == tif::GTD))
            || (post_only && (market || c.tif == tif::IOC || c.tif == tif::FOK))
        {
            InvalidTimeInForce
        } else if self.phase == Phase::Call && (market || c.tif == tif::IOC || c.tif == tif::FOK) {
            CallPhase
        } else if priced && !on_tick(c.price, self.config.tick) {
            OffTick
        } else if self.config.lot.is_some_and(|lot| c.qty % lot != 0) {
            OffLot
        } else if c.tif == tif::GTD && self.now.is_some_and(|now| c.expiry <= now) {
            ExpiryPassed
        } else if post_only && self.phase == Phase::Continuous && self.opposite(side).crossed_by(c.price) {
            WouldCross
        } else {
            return None;
        })
    }

    fn submit_record(&mut self, c: &CommandRecord, out: &mut Vec<Event>) {
        if let Some(reason) = self.refusal(c) {
            out.push(reject(self.cmd, c.id, c.trader, reason));
            return;
        }
        let side = if c.side == 1 { Side::Buy } else { Side::Sell };
        let market = c.kind == 1;
        let limit = (!market || c.flags & flag::PROTECTED != 0).then_some(c.price);
        let mut taker = Taker { id: c.id, trader: c.trader, side, limit, price: limit.unwrap_or(0), left: c.qty };
        out.push(taker.event(EventKind::Accepted, self.cmd).amount(taker.price, c.qty));
        self.ids.insert(c.id, GONE);
        if c.tif == tif::FOK && !self.fillable(&taker) {
            out.push(self.cancelled(&taker, CancelReason::Killed));
            return;
        }
        if self.phase == Phase::Continuous {
            self.take(&mut taker, out);
        }
        if taker.left == 0 {
            return;
        }
        if market || c.tif == tif::IOC || c.tif == tif::FOK {
            out.push(self.cancelled(&taker, CancelReason::Unfilled));
            return;
        }
        let node = Node {
            id: c.id,
            trader: c.trader,
            price: c.price,
            qty: taker.left,
            expiry: if c.tif == tif::GTD { c.expiry } else { 0 },
            ts: c.ts,
            seq: 0,
            prev: NIL,
            next: NIL,
            side,
            tif: c.tif,
            post_only: c.flags & flag::POST_ONLY != 0,
        };
        let slot = self.slab.insert(node);
        self.resting += 1;
        self.rest(slot);
    }

    fn cancelled(&self, taker: &Taker, reason: CancelReason) -> Event {
        let mut event = taker.event(EventKind::Cancelled, self.cmd).amount(taker.price, taker.left);
        event.reason = reason as u8;
        event
    }

    /// A resting order's cancellation of `qty`.
    fn cancelled_node(&self, node: &Node, qty: u64, reason: CancelReason) -> Event {
        let mut event = Event::new(EventKind::Cancelled, self.cmd, node.id).on(node.trader, node.side).amount(node.price, qty);
        event.reason = reason as u8;
        event
    }

    /// Puts the node in `slot` at the back of its price level, as the latest arrival.
    fn rest(&mut self, slot: u32) {
        self.slab[slot].seq = self.seq;
        self.seq += 1;
        let Node { id, side, tif: code, expiry, seq, .. } = self.slab[slot];
        match side {
            Side::Buy => self.bids.push_back(&mut self.slab, slot),
            Side::Sell => self.asks.push_back(&mut self.slab, slot),
        }
        self.ids.insert(id, slot);
        if code == tif::GTD {
            self.expiries.insert((expiry, seq, id));
        }
    }

    /// Takes the node in `slot` off its queue and its expiry list; the slot stays allocated.
    fn detach(&mut self, slot: u32) {
        let Node { id, side, tif: code, expiry, seq, .. } = self.slab[slot];
        match side {
            Side::Buy => self.bids.unlink(&mut self.slab, slot),
            Side::Sell => self.asks.unlink(&mut self.slab, slot),
        }
        if code == tif::GTD {
            self.expiries.remove(&(expiry, seq, id));
        }
    }

    /// Removes a resting order from the book for good.
    fn remove(&mut self, slot: u32) {
        self.detach(slot);
        self.drop_slot(slot);
    }

    /// Frees a detached node's slot and retires its id.
    fn drop_slot(&mut self, slot: u32) {
        self.ids.insert(self.slab[slot].id, GONE);
        self.slab.release(slot);
        self.resting -= 1;
    }

    fn reduce(&mut self, slot: u32, by: u64) {
        match self.slab[slot].side {
            Side::Buy => self.bids.reduce(&mut self.slab, slot, by),
            Side::Sell => self.asks.reduce(&mut self.slab, slot, by),
        }
    }

    /// Whether a FOK order can fill completely, counting what self-trade prevention lets it
    /// trade. Changes nothing.
    fn fillable(&self, taker: &Taker) -> bool {
        let stp = self.config.stp;
        let book = self.opposite(taker.side);
        let mut got = 0u64;
        for (price, level) in book.iter() {
            if !taker.crosses(price) {
                break;
            }
            for (_, maker) in book.queue(&self.slab, level) {
                if stp != Stp::None && maker.trader == taker.trader {
                    if stp == Stp::CancelOldest {
                        continue;
                    }
                    return false;
                }
                got = got.saturating_add(maker.qty);
                if got >= taker.left {
                    return true;
                }
            }
        }
        false
    }

    /// Matches `taker` against the opposite side, best price first, FIFO within a price.
    fn take(&mut self, taker: &mut Taker, out: &mut Vec<Event>) {
        let stp = self.config.stp;
        while taker.left > 0 {
            let Some((price, slot)) = self.opposite(taker.side).best().map(|(p, l)| (p, l.head)) else { break };
            if !taker.crosses(price) {
                break;
            }
            let maker = self.slab[slot];
            if stp != Stp::None && maker.trader == taker.trader {
                let d = taker.left.min(maker.qty);
                match stp {
                    Stp::CancelNewest => {
                        out.push(self.cancelled(taker, CancelReason::SelfTrade));
                        taker.left = 0;
                    }
                    Stp::CancelOldest | Stp::CancelBoth => {
                        out.push(self.cancelled_node(&maker, maker.qty, CancelReason::SelfTrade));
                        self.remove(slot);
                        if stp == Stp::CancelBoth {
                            out.push(self.cancelled(taker, CancelReason::SelfTrade));
                            taker.left = 0;
                        }
                    }
                    Stp::Decrement | Stp::None => {
                        out.push(self.cancelled_node(&maker, d, CancelReason::SelfTrade));
                        let mut own = self.cancelled(taker, CancelReason::SelfTrade);
                        own.qty = d;
                        out.push(own);
                        taker.left -= d;
                        self.consume(slot, d);
                    }
                }
                continue;
            }
            let qty = taker.left.min(maker.qty);
            taker.left -= qty;
            let mut fill = taker.event(EventKind::Fill, self.cmd).amount(price, qty);
            fill.maker_id = maker.id;
            fill.maker_trader = maker.trader;
            fill.flags = if qty == maker.qty { MAKER_DONE } else { 0 } | if taker.left == 0 { TAKER_DONE } else { 0 };
            out.push(fill);
            self.consume(slot, qty);
        }
    }

    /// Takes `qty` off a resting order, removing it when nothing is left.
    fn consume(&mut self, slot: u32, qty: u64) {
        if qty == self.slab[slot].qty {
            self.remove(slot);
        } else {
            self.reduce(slot, qty);
        }
    }

    fn resting_slot(&self, id: u64) -> Option<u32> {
        self.ids.get(&id).copied().filter(|&slot| slot != GONE)
    }

    pub fn cancel(&mut self, id: u64, out: &mut Vec<Event>) {
        self.cancel_as(id, 0, out);
    }

    fn cancel_as(&mut self, id: u64, trader: u64, out: &mut Vec<Event>) {
        let Some(slot) = self.resting_slot(id) else {
            out.push(reject(self.cmd, id, trader, RejectReason::UnknownId));
            return;
        };
        let node = self.slab[slot];
        out.push(self.cancelled_node(&node, node.qty, CancelReason::User));
        self.remove(slot);
    }

    /// Changes a resting order's open quantity and/or price (see the module documentation).
    pub fn amend(&mut self, id: u64, qty: Option<u64>, price: Option<i64>, out: &mut Vec<Event>) {
        self.amend_as(id, 0, qty, price, out);
    }

    fn amend_as(&mut self, id: u64, trader: u64, qty: Option<u64>, price: Option<i64>, out: &mut Vec<Event>) {
        use RejectReason::*;
        let Some(slot) = self.resting_slot(id) else {
            out.push(reject(self.cmd, id, trader, UnknownId));
            return;
        };
        let node = self.slab[slot];
        let refusal = if qty.is_none() && price.is_none() {
            Some(NothingToAmend)
        } else if price.is_some_and(|p| !on_tick(p, self.config.tick)) {
            Some(OffTick)
        } else if qty.is_some_and(|q| self.config.lot.is_some_and(|lot| q % lot != 0)) {
            Some(OffLot)
        } else {
            None
        };
        if let Some(reason) = refusal {
            out.push(reject(self.cmd, id, trader, reason));
            return;
        }
        let (new_qty, new_price) = (qty.unwrap_or(node.qty), price.unwrap_or(node.price));
        if new_qty == 0 {
            out.push(self.cancelled_node(&node, node.qty, CancelReason::User));
            self.remove(slot);
            return;
        }
        let amended = |flags| {
            let mut event = Event::new(EventKind::Amended, self.cmd, id).on(node.trader, node.side).amount(new_price, new_qty);
            event.flags = flags;
            event
        };
        if new_price == node.price && new_qty <= node.qty {
            out.push(amended(KEPT_PRIORITY));
            self.reduce(slot, node.qty - new_qty);
            return;
        }
        let continuous = self.phase == Phase::Continuous;
        if continuous && node.post_only && self.opposite(node.side).crossed_by(new_price) {
            out.push(reject(self.cmd, id, trader, WouldCross));
            return;
        }
        out.push(amended(0));
        self.detach(slot);
        let mut taker = Taker { id, trader: node.trader, side: node.side, limit: Some(new_price), price: new_price, left: new_qty };
        if continuous {
            self.take(&mut taker, out);
        }
        if taker.left == 0 {
            self.drop_slot(slot);
        } else {
            self.slab[slot].price = new_price;
            self.slab[slot].qty = taker.left;
            self.rest(slot);
        }
    }

    /// Cancels every resting GTD order with `expiry <= now`, earliest expiry first.
    pub fn expire(&mut self, now: u64, out: &mut Vec<Event>) {
        let now = self.now.map_or(now, |was| was.max(now));
        self.now = Some(now);
        while let Some(&(expiry, _, id)) = self.expiries.first() {
            if expiry > now {
                break;
            }
            let Some(slot) = self.resting_slot(id) else { break };
            let node = self.slab[slot];
            out.push(self.cancelled_node(&node, node.qty, CancelReason::Expired));
            self.remove(slot);
        }
    }

    pub fn best_bid(&self) -> Option<LevelInfo> {
        self.bids.best().map(|(price, l)| LevelInfo { price, qty: l.qty, count: l.count })
    }

    pub fn best_ask(&self) -> Option<LevelInfo> {
        self.asks.best().map(|(price, l)| LevelInfo { price, qty: l.qty, count: l.count })
    }

    /// The best `n` levels of each side, best first: (bids, asks).
    pub fn depth(&self, n: usize) -> (Vec<LevelInfo>, Vec<LevelInfo>) {
        let levels = |ladder: &Ladder| {
            ladder.iter().take(n).map(|(price, l)| LevelInfo { price, qty: l.qty, count: l.count }).collect()
        };
        (levels(&self.bids), levels(&self.asks))
    }

    /// Every resting order: bids best price first, then asks best price first, each level in
    /// queue order.
    pub fn orders(&self) -> Vec<Resting> {
        let mut all = Vec::with_capacity(self.resting);
        for ladder in [&self.bids, &self.asks] {
            for (_, level) in ladder.iter() {
                all.extend(ladder.queue(&self.slab, level).map(|(_, n)| Resting {
                    id: n.id,
                    trader: n.trader,
                    side: n.side,
                    price: n.price,
                    qty: n.qty,
                    tif: n.tif,
                    expiry: n.expiry,
                    ts: n.ts,
                }));
            }
        }
        all
    }

    /// A resting order's open quantity and the number of orders ahead of it at its price.
    pub fn position(&self, id: u64) -> Option<(u64, usize)> {
        let slot = self.resting_slot(id)?;
        let node = &self.slab[slot];
        let ladder = self.ladder(node.side);
        let level = ladder.levels.get(&node.price)?;
        let ahead = ladder.queue(&self.slab, level).take_while(|&(s, _)| s != slot).count();
        Some((node.qty, ahead))
    }

    /// Clears the resting orders in one call auction and takes what filled off the book.
    /// Returns the orders as the auction saw them (time priority by arrival: `ts` is the
    /// arrival sequence) and the outcome. On an error the book is unchanged.
    pub fn uncross(&mut self, params: &ClearingParams) -> Result<(Vec<Order>, Clearing), CoreError> {
        let mut slots = Vec::with_capacity(self.resting);
        for ladder in [&self.bids, &self.asks] {
            for (_, level) in ladder.iter() {
                slots.extend(ladder.queue(&self.slab, level).map(|(slot, _)| slot));
            }
        }
        let orders: Vec<Order> = slots
            .iter()
            .map(|&slot| {
                let n = &self.slab[slot];
                Order::limit(n.id, n.trader, n.side, n.price, n.qty, n.seq)
            })
            .collect();
        let clearing = clear(&orders[..], params)?;
        for (&slot, &filled) in slots.iter().zip(&clearing.filled) {
            if filled > 0 {
                self.consume(slot, filled);
            }
        }
        Ok((orders, clearing))
    }
}

#[cfg(test)]
mod tests;
