//! One module per instruction: its discriminator, its accounts in order, its checks.

pub mod cancel_order;
pub mod close_epoch;
pub mod initialize_market;
pub mod open_epoch;
pub mod place_order;
pub mod post_result;
pub mod refund_order;
mod release;
pub mod settle_fills;
