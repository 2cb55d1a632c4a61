//! `cancel_order()`: while its epoch is open, the owner withdraws an order: its whole escrow goes
//! to token accounts of the owner's choosing (it signs) and the order account is closed. Allowed
//! while the market is paused (a withdrawal).
//!
//! Accounts: `market`, `epoch` (mut), `order` (mut), `owner` (mut, signer), `grid_destination`
//! (mut), `payment_destination` (mut), `grid_vault` (mut), `payment_vault` (mut), `grid_mint`,
//! `payment_mint`, `token_program`.

use super::payout::{pay_and_close, Payout};
use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState, Order};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("cancel_order");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: CancelOrder");
    let [market, epoch, order, owner, grid_destination, payment_destination, grid_vault, payment_vault, grid_mint, payment_mint, token_program, ..] =
        accounts
    else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    let view = checks::market(market, program_id)?;
    checks::epoch(epoch, market, program_id)?;
    checks::order(order, epoch, program_id)?;
    accounts::signer(owner)?;
    let escrow = {
        let data = order.try_borrow()?;
        if field::read_address(&data, Order::OWNER) != owner.address().as_array() {
            return Err(TradingError::NotOrderOwner.into());
        }
        (field::read_u64(&data, Order::GRID_ESCROW), field::read_u64(&data, Order::PAYMENT_ESCROW))
    };
    if Epoch::state(&epoch.try_borrow()?) != EpochState::Open as u8 {
        return Err(TradingError::EpochNotOpen.into());
    }
    let to = Payout { grid_destination, payment_destination, grid_vault, payment_vault, grid_mint, payment_mint, token_program };
    pay_and_close(market, &view, epoch, order, owner, to, escrow)
}
