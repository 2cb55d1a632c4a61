//! `refund_order()`: once its epoch is settled, what an order did not spend goes back to its
//! owner's token accounts and the order account is closed, its rent to the owner. Anyone may
//! send it (the operator does, for every order); nothing goes anywhere but to the owner.
//! Allowed while the market is paused (a withdrawal).
//!
//! Accounts: `market`, `epoch` (mut), `order` (mut), `owner` (mut, the order's owner; need not
//! sign), `grid_account` (mut), `payment_account` (mut) (the token accounts the order named),
//! `grid_vault` (mut), `payment_vault` (mut), `grid_mint`, `payment_mint`, `token_program`.

use super::release::{release, Refund};
use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState, Order};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("refund_order");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: RefundOrder");
    let [market, epoch, order, owner, grid_account, payment_account, grid_vault, payment_vault, grid_mint, payment_mint, token_program, ..] =
        accounts
    else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    let view = checks::market(market, program_id)?;
    checks::epoch(epoch, market, program_id)?;
    checks::order(order, epoch, program_id)?;
    checks::is(owner, field::read_address(&order.try_borrow()?, Order::OWNER))?;
    if Epoch::state(&epoch.try_borrow()?) != EpochState::Settled as u8 {
        return Err(TradingError::EpochNotSettled.into());
    }
    let to = Refund { grid_account, payment_account, grid_vault, payment_vault, grid_mint, payment_mint, token_program };
    release(market, &view, epoch, order, owner, to)
}
