//! One module per instruction: its discriminator, its accounts in order, its checks.

pub mod initialize;
pub mod register_participant;
