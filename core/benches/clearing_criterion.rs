//! Clearing throughput at 1e3..1e6 orders on books shaped like a 15-minute energy epoch:
//! limit prices scattered around a day-ahead level (ticks of 0.01 ct/kWh), sellers asking a
//! little below it and buyers bidding a little above, quantities of a few Wh to a few kWh,
//! a few percent market orders, submission times in order.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gridmatch_core::{clear, ClearingParams, Kind, Order, PriceRule, Side};

mod common;
use common::Rng;

pub fn energy_book(n: usize, seed: u64) -> Vec<Order> {
    let mut rng = Rng(seed);
    let level = 900.0; // 9 ct/kWh
    (0..n as u64)
        .map(|i| {
            let side = if rng.unit() < 0.5 { Side::Buy } else { Side::Sell };
            let skew = if side == Side::Buy { 60.0 } else { -60.0 };
            let price = (level + skew + 150.0 * rng.normal()).round() as i64;
            let qty = (10.0 * (3.0 * rng.unit()).exp() * (1.0 + 50.0 * rng.unit())) as u64 + 1;
            let kind = if rng.unit() < 0.03 { Kind::Market } else { Kind::Limit };
            Order { id: i, trader: rng.next() % 5000, side, price, qty, ts: i, kind }
        })
        .collect()
}

fn clearing(c: &mut Criterion) {
    let mut group = c.benchmark_group("clear");
    group.sample_size(10);
    for &n in &[1_000usize, 10_000, 100_000, 1_000_000] {
        let book = energy_book(n, 7);
        group.throughput(Throughput::Elements(n as u64));
        for (name, rule) in [("midpoint", PriceRule::MIDPOINT), ("exchange", PriceRule::Exchange)] {
            let params = ClearingParams { rule, reference_price: Some(900), ..ClearingParams::default() };
            group.bench_with_input(BenchmarkId::new(name, n), &book, |b, book| {
                b.iter(|| clear(&book[..], &params).expect("the bench book clears"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, clearing);
criterion_main!(benches);
