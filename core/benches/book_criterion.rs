//! Continuous-book throughput at 1e5 and 1e6 messages of L3-like order flow: about half passive
//! adds near the touch (hundreds of levels deep), about 40 % cancels of live orders (mostly
//! recent, near the touch), a few % amends and a few % aggressive orders (IOC, market with and
//! without protection, FOK, crossing GTC limits) that sweep one or several levels.
//!
//! The stream comes from a Rust twin of `gridmatch.sim.messages` (python/gridmatch/sim/messages.py):
//! the same construction (a boundary path moved only by whole-level sweeps; first-passage fills;
//! planned lives; cancels sent only before the fill), with this file's SplitMix64 instead of
//! numpy's generator, so the streams have the same shape but not the same bytes. Before timing,
//! each stream is processed once and checked: no command is rejected, and the fills and traded
//! volume are exactly the ones the generator designed.
//!
//! Each iteration processes the whole stream into a fresh book (the book is built, and the
//! events dropped, outside the timing); the events vector is allocated inside it, as
//! `OrderBook.process` does from Python.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use gridmatch_core::book::{flag, op, tif, Book, BookConfig, CommandRecord, Event, EventKind};
use std::hint::black_box;
use std::time::Instant;

mod common;
use common::Rng;

/// The generator's options, with `message_stream`'s defaults.
struct Params {
    levels: i64,
    traders: u64,
    price_level: i64,
    aggressive: f64,
    amend: f64,
    reprice: f64,
    near: f64,
    near_scale: f64,
    fleeting: f64,
    fleeting_life: f64,
    resting_life: f64,
    reversion: f64,
    qty_median: f64,
    qty_sigma: f64,
    max_qty: f64,
}

const DEFAULTS: Params = Params {
    levels: 300,
    traders: 1000,
    price_level: 900,
    aggressive: 0.04,
    amend: 0.08,
    reprice: 0.3,
    near: 0.75,
    near_scale: 3.0,
    fleeting: 0.85,
    fleeting_life: 12.0,
    resting_life: 5000.0,
    reversion: 1.0,
    qty_median: 500.0,
    qty_sigma: 1.0,
    max_qty: 1_000_000.0,
};

/// Levels a sweep takes, 1 .. 6 ticks.
const SWEEP_LEVELS: [f64; 6] = [0.70, 0.17, 0.07, 0.03, 0.02, 0.01];
/// Aggressive kinds (tif, market, flags, share): IOC limit, market, protected market, crossing GTC, FOK.
const IOC: usize = 0;
const MARKET: usize = 1;
const PROTECTED: usize = 2;
const GTC_CROSS: usize = 3;
const FOK: usize = 4;
const AGGRESSIVE_SHARES: [f64; 5] = [0.45, 0.15, 0.10, 0.22, 0.08];
const SLOT_NS: f64 = 20_000.0;

/// A generated stream and what it was designed to do.
struct Stream {
    commands: Vec<CommandRecord>,
    fills: u64,
    volume: u64,
    cancels: usize,
    amends: usize,
    aggressive: usize,
}

impl Params {
    fn distance(&self, rng: &mut Rng) -> i64 {
        let near = rng.unit() < self.near;
        let d = if near {
            (rng.exponential() * self.near_scale).floor()
        } else {
            // gamma(2, levels / 6): the sum of two exponentials.
            ((rng.exponential() + rng.exponential()) * self.levels as f64 / 6.0).floor()
        };
        (d as i64).min(self.levels - 1)
    }

    fn quantity(&self, rng: &mut Rng) -> u64 {
        (self.qty_median * (self.qty_sigma * rng.normal()).exp())
            .round()
            .clamp(1.0, self.max_qty) as u64
    }
}

/// Sorted (level, sweep) keys of the sweeps that take resting orders at `level`: upward
/// crossings take asks (`b[i-1] < level <= b[i]`), downward ones bids (`b[i] < level <= b[i-1]`).
struct FirstPassage {
    keys: Vec<i64>,
    low: i64,
    stride: i64,
}

impl FirstPassage {
    fn new(boundary: &[i64], up: bool, low: i64) -> FirstPassage {
        let stride = boundary.len() as i64; // sweeps + 1
        let mut keys = Vec::new();
        for i in 0..boundary.len() - 1 {
            let (before, after) = (boundary[i], boundary[i + 1]);
            if up && after > before {
                keys.extend((before + 1..=after).map(|level| (level - low) * stride + i as i64));
            } else if !up && after < before {
                keys.extend((after + 1..=before).map(|level| (level - low) * stride + i as i64));
            }
        }
        keys.sort_unstable();
        FirstPassage { keys, low, stride }
    }

    /// The first sweep at or after `start` that takes an order resting at `price`; `never` if none.
    fn find(&self, price: i64, start: usize, never: usize) -> usize {
        let base = (price - self.low) * self.stride;
        let pos = self.keys.partition_point(|&k| k < base + start as i64);
        match self.keys.get(pos) {
            Some(&k) if k - base < self.stride => (k - base) as usize,
            _ => never,
        }
    }
}

/// A resting order of the design: a passive add, or what a crossing GTC limit leaves.
struct Entity {
    slot: usize,
    side: i8,
    price: i64,
    qty: u64,
    cancel_time: f64,
    amend_time: f64,
    amend: u8, // 0 none, 1 quantity down, 2 reprice
    new_qty: u64,
    new_price: i64,
    fill: usize,
    cancelled: bool,
}

fn generate(n: usize, seed: u64, p: &Params) -> Stream {
    let mut slots = n * 100 / 145 + 256;
    loop {
        if let Some(stream) = try_generate(n, seed, slots, p) {
            return stream;
        }
        slots = slots * 13 / 10 + 256;
    }
}

fn try_generate(n: usize, seed: u64, slots: usize, p: &Params) -> Option<Stream> {
    let mut rng = Rng(seed ^ (n as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ slots as u64);
    let sweep_share = p.aggressive * 1.9 / (1.0 + p.aggressive * 0.9);
    let is_sweep: Vec<bool> = (0..slots)
        .map(|s| rng.unit() < sweep_share && s >= 200)
        .collect();
    let sweep_slot: Vec<usize> = (0..slots).filter(|&s| is_sweep[s]).collect();
    let sweeps = sweep_slot.len();

    // The boundary path: bids rest at <= b, asks at >= b + 1; sweeps move it by whole levels.
    let total: f64 = SWEEP_LEVELS.iter().sum();
    let mut boundary = Vec::with_capacity(sweeps + 1);
    let mut b = p.price_level - 1;
    boundary.push(b);
    let pull = p.reversion / p.levels as f64;
    for _ in 0..sweeps {
        let mut x = rng.unit() * total;
        let mut k = 1;
        for w in SWEEP_LEVELS {
            if x < w {
                break;
            }
            x -= w;
            k += 1;
        }
        let k = k.min(SWEEP_LEVELS.len()) as i64;
        let up = rng.unit() < 0.5 - pull * ((b - p.price_level) as f64 + 0.5);
        b += if up { k } else { -k };
        boundary.push(b);
    }
    let low = boundary.iter().min().unwrap() - 2 * p.levels - 16;
    let up_passage = FirstPassage::new(&boundary, true, low);
    let down_passage = FirstPassage::new(&boundary, false, low);
    let first_fill = |side: i8, price: i64, start: usize| {
        if side > 0 {
            down_passage.find(price, start, sweeps)
        } else {
            up_passage.find(price, start, sweeps)
        }
    };
    let sweep_time = |f: usize| {
        if f < sweeps {
            sweep_slot[f] as f64
        } else {
            f64::INFINITY
        }
    };

    // Aggressive kinds and sides.
    let share_total: f64 = AGGRESSIVE_SHARES.iter().sum();
    let sweep_kind: Vec<usize> = (0..sweeps)
        .map(|_| {
            let mut x = rng.unit() * share_total;
            let mut kind = 0;
            while kind + 1 < AGGRESSIVE_SHARES.len() && x >= AGGRESSIVE_SHARES[kind] {
                x -= AGGRESSIVE_SHARES[kind];
                kind += 1;
            }
            kind
        })
        .collect();
    let sweep_side = |i: usize| {
        if boundary[i + 1] > boundary[i] {
            1i8
        } else {
            -1i8
        }
    };

    // Resting orders: passive adds in slot order, and the remainders of crossing GTC limits.
    let mut entities: Vec<Entity> = Vec::with_capacity(slots);
    let mut sweeps_before = 0;
    let mut gtc_entity = vec![usize::MAX; sweeps];
    for (slot, &sweep) in is_sweep.iter().enumerate() {
        let (side, price, start, dist) = if sweep {
            let i = sweeps_before;
            sweeps_before += 1;
            if sweep_kind[i] != GTC_CROSS {
                continue;
            }
            gtc_entity[i] = entities.len();
            let side = sweep_side(i);
            (side, boundary[i + 1] + i64::from(side < 0), i + 1, 0)
        } else {
            let side = if rng.unit() < 0.5 { 1i8 } else { -1i8 };
            let d = p.distance(&mut rng);
            let b = boundary[sweeps_before];
            (
                side,
                if side > 0 { b - d } else { b + 1 + d },
                sweeps_before,
                d,
            )
        };
        let qty = p.quantity(&mut rng);
        let time = slot as f64;
        let fleeting = rng.unit() < p.fleeting * (-(dist as f64) / 4.0).exp();
        let mean_life = if fleeting {
            p.fleeting_life
        } else {
            p.resting_life * (0.1 + dist as f64 / 60.0)
        };
        let cancel_time = time + 0.5 + rng.exponential() * mean_life;
        let mut fill = first_fill(side, price, start);
        let life_end = cancel_time.min(sweep_time(fill));
        let amend_time = time + (0.05 + 0.9 * rng.unit()) * (life_end - time);
        let mut amend = 0;
        let mut new_qty = qty;
        let mut new_price = price;
        if rng.unit() < p.amend {
            if rng.unit() < p.reprice {
                amend = 2;
                let before = sweep_slot.partition_point(|&s| (s as f64) <= amend_time);
                let d = p.distance(&mut rng);
                let b = boundary[before];
                new_price = if side > 0 { b - d } else { b + 1 + d };
                fill = first_fill(side, new_price, before);
            } else {
                amend = 1;
                new_qty = ((qty as f64 * (0.2 + 0.7 * rng.unit())).floor() as u64).max(1);
            }
        }
        let cancelled = cancel_time < sweep_time(fill);
        entities.push(Entity {
            slot,
            side,
            price,
            qty,
            cancel_time,
            amend_time,
            amend,
            new_qty,
            new_price,
            fill,
            cancelled,
        });
    }

    // What each sweep takes: every order it crosses that was not cancelled before.
    let mut swept = vec![0u64; sweeps];
    let mut makers = vec![0u64; sweeps];
    for e in &entities {
        if e.fill < sweeps && !e.cancelled {
            let reduced = e.amend == 1 && e.amend_time < sweep_time(e.fill);
            swept[e.fill] += if reduced { e.new_qty } else { e.qty };
            makers[e.fill] += 1;
        }
    }

    // Amends and cancels in time order (an amend before a cancel at the same time).
    let mut secondary: Vec<(f64, u8, usize)> = Vec::new();
    for (j, e) in entities.iter().enumerate() {
        if e.amend != 0 && e.amend_time < slots as f64 {
            secondary.push((e.amend_time, 0, j));
        }
        if e.cancelled && e.cancel_time < slots as f64 {
            secondary.push((e.cancel_time, 1, j));
        }
    }
    if slots + secondary.len() < n {
        return None;
    }
    secondary.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));

    // Submissions: one per slot (id = slot + 1); merge with the secondaries by time, a
    // submission first at equal times.
    let mut trader_of = vec![0u64; slots];
    let mut commands = Vec::with_capacity(n);
    let (mut fills, mut volume, mut cancels, mut amends, mut aggressive) = (0, 0, 0, 0, 0);
    let (mut next_sec, mut sweep_i, mut entity_i) = (0, 0, 0);
    for slot in 0..slots {
        while next_sec < secondary.len()
            && secondary[next_sec].0 < slot as f64
            && commands.len() < n
        {
            let (time, is_cancel, j) = secondary[next_sec];
            next_sec += 1;
            let e = &entities[j];
            let mut c = CommandRecord {
                id: e.slot as u64 + 1,
                trader: trader_of[e.slot],
                side: e.side,
                ts: (time * SLOT_NS).round() as u64,
                ..CommandRecord::default()
            };
            if is_cancel == 1 {
                c.op = op::CANCEL;
                c.price = if e.amend == 2 { e.new_price } else { e.price };
                cancels += 1;
            } else {
                c.op = op::AMEND;
                if e.amend == 2 {
                    c.price = e.new_price;
                    c.flags = flag::AMEND_PRICE;
                } else {
                    c.qty = e.new_qty;
                    c.flags = flag::AMEND_QTY;
                }
                amends += 1;
            }
            commands.push(c);
        }
        if commands.len() == n {
            break;
        }
        let trader = 1 + rng.next() % p.traders;
        trader_of[slot] = trader;
        let mut c = CommandRecord {
            op: op::SUBMIT,
            id: slot as u64 + 1,
            trader,
            ts: (slot as f64 * SLOT_NS) as u64,
            ..CommandRecord::default()
        };
        if is_sweep[slot] {
            let i = sweep_i;
            sweep_i += 1;
            let kind = sweep_kind[i];
            let side = sweep_side(i);
            let limit = boundary[i + 1] + i64::from(side < 0);
            let extra_draw = p.quantity(&mut rng);
            let mut extra = if rng.unit() < 0.5 {
                0
            } else {
                (swept[i] as f64 * rng.unit()).floor() as u64
            };
            let mut kind = kind;
            if kind == MARKET || kind == FOK {
                extra = 0;
            }
            if kind == GTC_CROSS {
                extra = entities[gtc_entity[i]].qty;
            }
            if swept[i] + extra == 0 {
                if kind == MARKET || kind == FOK {
                    kind = IOC;
                }
                extra = extra_draw;
            }
            c.side = side;
            c.qty = swept[i] + extra;
            c.price = limit;
            match kind {
                IOC => c.tif = tif::IOC,
                MARKET => {
                    c.tif = tif::IOC;
                    c.kind = 1;
                    c.price = 0;
                }
                PROTECTED => {
                    c.tif = tif::IOC;
                    c.kind = 1;
                    c.flags = flag::PROTECTED;
                }
                GTC_CROSS => c.tif = tif::GTC,
                _ => c.tif = tif::FOK,
            }
            fills += makers[i];
            volume += swept[i];
            aggressive += 1;
        } else {
            let e = &entities[entity_i];
            debug_assert_eq!(e.slot, slot);
            c.side = e.side;
            c.price = e.price;
            c.qty = e.qty;
            c.tif = tif::GTC;
        }
        if !is_sweep[slot] || sweep_kind[sweep_i - 1] == GTC_CROSS {
            entity_i += 1;
        }
        commands.push(c);
        if commands.len() == n {
            break;
        }
    }
    if commands.len() < n {
        return None;
    }
    Some(Stream {
        commands,
        fills,
        volume,
        cancels,
        amends,
        aggressive,
    })
}

/// Processes the stream once and checks what the generator promised.
fn check(stream: &Stream) {
    let mut book = Book::new(BookConfig::default()).expect("default config");
    let mut events = Vec::new();
    book.process(&stream.commands[..], &mut events);
    let count = |kind: EventKind| {
        events
            .iter()
            .filter(|e: &&Event| e.kind == kind as u8)
            .count()
    };
    let fills: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == EventKind::Fill as u8)
        .collect();
    assert_eq!(
        count(EventKind::Rejected),
        0,
        "a generated command was rejected"
    );
    assert_eq!(
        fills.len() as u64,
        stream.fills,
        "fills differ from the design"
    );
    assert_eq!(
        fills.iter().map(|e| e.qty).sum::<u64>(),
        stream.volume,
        "volume differs from the design"
    );
    let n = stream.commands.len() as f64;
    let adds = n as usize - stream.cancels - stream.amends - stream.aggressive;
    eprintln!(
        "book stream {}: adds {:.1}%, cancels {:.1}%, amends {:.1}%, aggressive {:.1}%; {} fills, {} events, {} resting at the end",
        stream.commands.len(),
        100.0 * adds as f64 / n,
        100.0 * stream.cancels as f64 / n,
        100.0 * stream.amends as f64 / n,
        100.0 * stream.aggressive as f64 / n,
        stream.fills,
        events.len(),
        book.len(),
    );
}

/// Per-message latency: each command applied alone and timed with `Instant` (which adds its own
/// ~20-30 ns), on a fresh book; median and p99 over the stream, printed once.
fn latency(stream: &Stream) {
    let mut book = Book::new(BookConfig::default()).expect("default config");
    let mut events = Vec::with_capacity(16);
    let mut ns = Vec::with_capacity(stream.commands.len());
    for c in &stream.commands {
        events.clear();
        let t = Instant::now();
        book.apply(black_box(c), &mut events);
        ns.push(t.elapsed().as_nanos() as u64);
    }
    ns.sort_unstable();
    let q = |f: f64| ns[((ns.len() - 1) as f64 * f) as usize];
    eprintln!(
        "book latency per message ({} messages, Book::apply one at a time): median {} ns, p99 {} ns, p99.9 {} ns",
        ns.len(),
        q(0.5),
        q(0.99),
        q(0.999)
    );
}

fn book(c: &mut Criterion) {
    let mut group = c.benchmark_group("book");
    group.sample_size(10);
    for &n in &[100_000usize, 1_000_000] {
        let stream = generate(n, 7, &DEFAULTS);
        check(&stream);
        if n == 1_000_000 {
            latency(&stream);
        }
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::new("process", n),
            &stream.commands,
            |b, commands| {
                b.iter_batched(
                    || Book::new(BookConfig::default()).expect("default config"),
                    |mut book| {
                        let mut events = Vec::with_capacity(commands.len() * 2);
                        book.process(&commands[..], &mut events);
                        (book, events)
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, book);
criterion_main!(benches);
