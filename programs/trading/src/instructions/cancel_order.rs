//! `cancel_order()`: while its epoch is open, the owner withdraws an order: its whole escrow
//! goes back to the owner's token accounts and the order account is closed. Allowed while the
//! market is paused (a withdrawal).
//!
//! Accounts: `market`, `epoch` (mut), `order` (mut), `owner` (mut, signer), `grid_account` (mut),
//! `payment_account` (mut) (the token accounts the order named), `grid_vault` (mut),
//! `payment_vault` (mut), `grid_mint`, `payment_mint`, `token_program`.

use super::release::{release, Refund};
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
    let [market, epoch, order, owner, grid_account, payment_account, grid_vault, payment_vault, grid_mint, payment_mint, token_program, ..] =
        accounts
    else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    let view = checks::market(market, program_id)?;
    checks::epoch(epoch, market, program_id)?;
    checks::order(order, epoch, program_id)?;
    accounts::signer(owner)?;
    if field::read_address(&order.try_borrow()?, Order::OWNER) != owner.address().as_array() {
        return Err(TradingError::NotOrderOwner.into());
    }
    if Epoch::state(&epoch.try_borrow()?) != EpochState::Open as u8 {
        return Err(TradingError::EpochNotOpen.into());
    }
    let to = Refund { grid_account, payment_account, grid_vault, payment_vault, grid_mint, payment_mint, token_program };
    release(market, &view, epoch, order, owner, to)
}
