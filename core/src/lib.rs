//! gridmatch-core: uniform-price clearing (call auction) and exact integer money for
//! peer-to-peer energy markets.
//!
//! Quantities are `u64` lots, prices `i64` ticks (negative prices are real), notional `i128`.
//! No floats anywhere: the same input gives the same output, bit for bit.
//!
//! Without the default `std` feature the crate is `no_std` + `alloc`, so that on-chain programs
//! can use the very same [`money`] functions as the off-chain engine.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod auction;
pub mod book;
pub mod error;
pub mod money;
mod radix;
pub mod types;

pub use auction::{clear, Allocation, Clearing, ClearingParams, Fill, PriceRule};
pub use error::CoreError;
pub use types::{Kind, Order, OrderRecord, OrderSource, Side};
