//! `cancel_order()`: while its epoch is open, the owner withdraws an order: its whole escrow goes
//! to token accounts of the owner's choosing (it signs) and the order account is closed. Allowed
//! while the market is paused (a withdrawal).
//!
//! Accounts: `market`, `epoch` (mut), `order` (mut), `owner` (mut, signer), `grid_destination`
//! (mut), `payment_destination` (mut), `grid_vault` (mut), `payment_vault` (mut), `grid_mint`,
//! `payment_mint`, `token_program`.

use super::payout::{pay_and_close, Accounts};
use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState, Order};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::instruction_discriminator;
use program_support::borsh::{field, Reader};
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("cancel_order");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: CancelOrder");
    let a = Accounts::split(accounts)?;
    Reader::new(args).finish()?;

    let view = checks::market(a.market, program_id)?;
    checks::epoch(a.epoch, a.market, program_id)?;
    checks::order(a.order, a.epoch, program_id)?;
    accounts::signer(a.owner)?;
    let escrow = {
        let data = a.order.try_borrow()?;
        if field::read_address(&data, Order::OWNER) != a.owner.address().as_array() {
            return Err(TradingError::NotOrderOwner.into());
        }
        (field::read_u64(&data, Order::GRID_ESCROW), field::read_u64(&data, Order::PAYMENT_ESCROW))
    };
    if Epoch::state(&a.epoch.try_borrow()?) != EpochState::Open as u8 {
        return Err(TradingError::EpochNotOpen.into());
    }
    pay_and_close(a, &view, escrow)
}
