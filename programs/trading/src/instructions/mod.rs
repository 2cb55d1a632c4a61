//! One module per instruction: its discriminator, its accounts in order, its checks.

pub mod abandon_epoch;
pub mod cancel_order;
pub mod claim;
pub mod close_epoch;
pub mod credit_orders;
pub mod initialize_market;
pub mod open_epoch;
mod payout;
pub mod place_order;
pub mod post_result;
pub mod update_market;
pub mod withdraw_fees;
