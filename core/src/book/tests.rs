//! Hand-checked scenarios of the book. Each names the rule it shows.

use alloc::vec::Vec;

use super::*;

fn book(stp: Stp) -> Book {
    Book::new(BookConfig { stp, ..BookConfig::default() }).unwrap()
}

fn run(book: &mut Book, order: NewOrder) -> Vec<Event> {
    let mut out = Vec::new();
    book.submit(&order, &mut out);
    out
}

/// (kind, id, maker_id, price, qty, reason) of each event: enough to read a scenario.
fn brief(events: &[Event]) -> Vec<(u8, u64, u64, i64, u64, u8)> {
    events.iter().map(|e| (e.kind, e.id, e.maker_id, e.price, e.qty, e.reason)).collect()
}

const ACC: u8 = EventKind::Accepted as u8;
const REJ: u8 = EventKind::Rejected as u8;
const FILL: u8 = EventKind::Fill as u8;
const CXL: u8 = EventKind::Cancelled as u8;
const AMD: u8 = EventKind::Amended as u8;

fn sell(id: u64, trader: u64, price: i64, qty: u64) -> NewOrder {
    NewOrder::limit(id, trader, Side::Sell, price, qty)
}

fn buy(id: u64, trader: u64, price: i64, qty: u64) -> NewOrder {
    NewOrder::limit(id, trader, Side::Buy, price, qty)
}

#[test]
fn price_then_time_priority_at_the_makers_price() {
    let mut b = book(Stp::None);
    run(&mut b, sell(1, 1, 101, 5));
    run(&mut b, sell(2, 2, 100, 5));
    run(&mut b, sell(3, 3, 100, 5));
    let events = run(&mut b, buy(4, 4, 102, 12));
    assert_eq!(
        brief(&events),
        [(ACC, 4, 0, 102, 12, 0), (FILL, 4, 2, 100, 5, 0), (FILL, 4, 3, 100, 5, 0), (FILL, 4, 1, 101, 2, 0)]
    );
    assert_eq!(events[1].flags, MAKER_DONE);
    assert_eq!(events[3].flags, TAKER_DONE);
    assert_eq!(b.best_ask(), Some(LevelInfo { price: 101, qty: 3, count: 1 }));
    assert_eq!(b.best_bid(), None);
    assert_eq!(b.len(), 1);
}

#[test]
fn fok_fills_completely_or_leaves_no_trail() {
    let mut b = book(Stp::None);
    run(&mut b, sell(1, 1, 100, 5));
    let killed = run(&mut b, buy(2, 2, 100, 6).with_tif(Tif::Fok));
    assert_eq!(brief(&killed), [(ACC, 2, 0, 100, 6, 0), (CXL, 2, 0, 100, 6, CancelReason::Killed as u8)]);
    assert_eq!(b.best_ask().unwrap().qty, 5);
    let filled = run(&mut b, buy(3, 2, 100, 5).with_tif(Tif::Fok));
    assert_eq!(brief(&filled)[1], (FILL, 3, 1, 100, 5, 0));
    assert!(b.is_empty());
}

#[test]
fn ioc_and_market_remainders_are_cancelled() {
    let mut b = book(Stp::None);
    run(&mut b, sell(1, 1, 100, 5));
    let ioc = run(&mut b, buy(2, 2, 100, 8).with_tif(Tif::Ioc));
    assert_eq!(brief(&ioc)[2], (CXL, 2, 0, 100, 3, CancelReason::Unfilled as u8));
    run(&mut b, sell(3, 1, 100, 5));
    run(&mut b, sell(4, 1, 110, 5));
    let protected = NewOrder { protection: Some(105), ..NewOrder::market(5, 2, Side::Buy, 9) };
    assert_eq!(
        brief(&run(&mut b, protected)),
        [(ACC, 5, 0, 105, 9, 0), (FILL, 5, 3, 100, 5, 0), (CXL, 5, 0, 105, 4, CancelReason::Unfilled as u8)]
    );
    let sweep = run(&mut b, NewOrder::market(6, 2, Side::Buy, 9));
    assert_eq!(brief(&sweep)[1..], [(FILL, 6, 4, 110, 5, 0), (CXL, 6, 0, 0, 4, CancelReason::Unfilled as u8)]);
}

#[test]
fn post_only_never_takes() {
    let mut b = book(Stp::None);
    run(&mut b, sell(1, 1, 100, 5));
    let crossing = NewOrder { post_only: true, ..buy(2, 2, 100, 5) };
    assert_eq!(brief(&run(&mut b, crossing)), [(REJ, 2, 0, 0, 0, RejectReason::WouldCross as u8)]);
    let passive = NewOrder { post_only: true, ..buy(2, 2, 99, 5) };
    assert_eq!(brief(&run(&mut b, passive)), [(ACC, 2, 0, 99, 5, 0)]);
    let mut out = Vec::new();
    b.amend(2, None, Some(100), &mut out);
    assert_eq!(brief(&out), [(REJ, 2, 0, 0, 0, RejectReason::WouldCross as u8)]);
    assert_eq!(b.position(2), Some((5, 0)));
}

#[test]
fn every_stp_mode() {
    let scenario = |stp| {
        let mut b = book(stp);
        run(&mut b, sell(1, 7, 100, 4)); // own order, first in the queue
        run(&mut b, sell(2, 8, 100, 4));
        let events = run(&mut b, buy(3, 7, 100, 6));
        (brief(&events[1..]), b.orders().iter().map(|o| (o.id, o.qty)).collect::<Vec<_>>())
    };
    let st = CancelReason::SelfTrade as u8;
    assert_eq!(scenario(Stp::None), (alloc::vec![(FILL, 3, 1, 100, 4, 0), (FILL, 3, 2, 100, 2, 0)], alloc::vec![(2, 2)]));
    assert_eq!(scenario(Stp::CancelNewest), (alloc::vec![(CXL, 3, 0, 100, 6, st)], alloc::vec![(1, 4), (2, 4)]));
    assert_eq!(
        scenario(Stp::CancelOldest),
        (alloc::vec![(CXL, 1, 0, 100, 4, st), (FILL, 3, 2, 100, 4, 0)], alloc::vec![(3, 2)])
    );
    assert_eq!(
        scenario(Stp::CancelBoth),
        (alloc::vec![(CXL, 1, 0, 100, 4, st), (CXL, 3, 0, 100, 6, st)], alloc::vec![(2, 4)])
    );
    assert_eq!(
        scenario(Stp::Decrement),
        (alloc::vec![(CXL, 1, 0, 100, 4, st), (CXL, 3, 0, 100, 4, st), (FILL, 3, 2, 100, 2, 0)], alloc::vec![(2, 2)])
    );
}

#[test]
fn amend_down_keeps_the_queue_position_and_up_loses_it() {
    let mut b = book(Stp::None);
    for id in 1..=3 {
        run(&mut b, buy(id, id, 100, 5));
    }
    let mut out = Vec::new();
    b.amend(1, Some(2), None, &mut out);
    assert_eq!((out[0].kind, out[0].flags), (AMD, KEPT_PRIORITY));
    assert_eq!(b.position(1), Some((2, 0)));
    out.clear();
    b.amend(1, Some(6), None, &mut out);
    assert_eq!((out[0].kind, out[0].flags, out[0].qty), (AMD, 0, 6));
    assert_eq!(b.position(1), Some((6, 2)));
    out.clear();
    b.amend(2, Some(0), None, &mut out);
    assert_eq!(brief(&out), [(CXL, 2, 0, 100, 5, CancelReason::User as u8)]);
    out.clear();
    b.amend(9, Some(1), None, &mut out);
    assert_eq!(out[0].reason, RejectReason::UnknownId as u8);
}

#[test]
fn an_amendment_that_crosses_trades_first() {
    let mut b = book(Stp::None);
    run(&mut b, sell(1, 1, 101, 3));
    run(&mut b, buy(2, 2, 99, 5));
    let mut out = Vec::new();
    b.amend(2, None, Some(101), &mut out);
    assert_eq!(brief(&out), [(AMD, 2, 0, 101, 5, 0), (FILL, 2, 1, 101, 3, 0)]);
    assert_eq!(b.best_bid(), Some(LevelInfo { price: 101, qty: 2, count: 1 }));
}

#[test]
fn gtd_orders_expire_earliest_first() {
    let mut b = book(Stp::None);
    run(&mut b, buy(1, 1, 100, 5).with_tif(Tif::Gtd { expiry: 20 }));
    run(&mut b, buy(2, 1, 100, 5).with_tif(Tif::Gtd { expiry: 10 }));
    run(&mut b, buy(3, 1, 100, 5));
    let mut out = Vec::new();
    b.expire(20, &mut out);
    let expired = CancelReason::Expired as u8;
    assert_eq!(brief(&out), [(CXL, 2, 0, 100, 5, expired), (CXL, 1, 0, 100, 5, expired)]);
    let late = run(&mut b, buy(4, 1, 100, 5).with_tif(Tif::Gtd { expiry: 20 }));
    assert_eq!(late[0].reason, RejectReason::ExpiryPassed as u8);
    assert_eq!(b.len(), 1);
}

#[test]
fn ids_are_unique_for_the_books_life_and_rejections_change_nothing() {
    let mut b = Book::new(BookConfig { tick: Some(5), lot: Some(10), ..BookConfig::default() }).unwrap();
    assert_eq!(run(&mut b, buy(1, 1, 101, 10))[0].reason, RejectReason::OffTick as u8);
    assert_eq!(run(&mut b, buy(1, 1, -5, 15))[0].reason, RejectReason::OffLot as u8);
    assert_eq!(run(&mut b, buy(1, 1, -5, 10))[0].kind, ACC); // the rejected id was not used up
    let mut out = Vec::new();
    b.cancel(1, &mut out);
    assert_eq!(run(&mut b, buy(1, 1, -5, 10))[0].reason, RejectReason::DuplicateId as u8);
    let records = [CommandRecord { op: 9, id: 5, ..CommandRecord::default() }, CommandRecord { op: op::SUBMIT, id: 6, side: 2, qty: 1, ..CommandRecord::default() }];
    out.clear();
    b.process(&records[..], &mut out);
    assert_eq!(
        out.iter().map(|e| (e.cmd, e.reason)).collect::<Vec<_>>(),
        [(0, RejectReason::InvalidOp as u8), (1, RejectReason::InvalidSide as u8)]
    );
    assert!(b.is_empty());
}

#[test]
fn a_call_phase_collects_crossing_orders_for_the_uncross() {
    let mut b = book(Stp::None);
    b.set_phase(Phase::Call).unwrap();
    run(&mut b, buy(1, 1, 105, 4));
    run(&mut b, buy(2, 2, 101, 2));
    run(&mut b, sell(3, 3, 95, 3));
    run(&mut b, sell(4, 4, 100, 3));
    let refused = run(&mut b, NewOrder::market(5, 5, Side::Buy, 1));
    assert_eq!(refused[0].reason, RejectReason::CallPhase as u8);
    assert_eq!((b.best_bid().unwrap().price, b.best_ask().unwrap().price), (105, 95));
    assert!(b.set_phase(Phase::Continuous).is_err());
    // D = 6 up to 101, S = 6 from 100: V = 6 on [100, 101], midpoint 100; everything fills.
    let (orders, cleared) = b.uncross(&ClearingParams::default()).unwrap();
    assert_eq!((orders.len(), cleared.price, cleared.volume), (4, Some(100), 6));
    assert!(b.is_empty());
    b.set_phase(Phase::Continuous).unwrap();
    assert_eq!(run(&mut b, buy(1, 1, 100, 1))[0].reason, RejectReason::DuplicateId as u8);
}

#[test]
fn an_uncross_leaves_partly_filled_orders_in_place() {
    let mut b = book(Stp::None);
    b.set_phase(Phase::Call).unwrap();
    run(&mut b, buy(1, 1, 100, 5));
    run(&mut b, buy(2, 2, 100, 5));
    run(&mut b, sell(3, 3, 100, 7));
    let (_, cleared) = b.uncross(&ClearingParams::default()).unwrap();
    assert_eq!(cleared.filled, [5, 2, 7]);
    assert_eq!(b.position(2), Some((3, 0)));
    assert_eq!(b.best_ask(), None);
}
