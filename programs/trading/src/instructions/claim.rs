//! `claim()`: once its epoch is finalised or abandoned, an order is paid what it is owed and
//! closed, its rent to its owner. Owed: a credited order of a finalised epoch its dues; any
//! other order (not filled, or its epoch abandoned) its whole escrow. Anyone may crank it to the
//! token accounts the order recorded; the owner, signing, may name others (`payout`). Allowed
//! while the market is paused (a withdrawal).
//!
//! An order whose account is already closed (claimed before, by anyone) is a no-op that
//! succeeds: a batch of claims never fails because one of them was claimed first. Closing is
//! final: a closed account belongs to the System program and is never read as an `Order`
//! again, whatever lamports are sent to it afterwards.
//!
//! Accounts: `market`, `epoch` (mut), `order` (mut), `owner` (mut, the order's owner; signs
//! only to redirect), `grid_destination` (mut), `payment_destination` (mut), `grid_vault` (mut),
//! `payment_vault` (mut), `grid_mint`, `payment_mint`, `token_program`.

use super::payout::{pay_and_close, Accounts};
use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState, Order};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts::SYSTEM_PROGRAM_ID;
use program_support::anchor::instruction_discriminator;
use program_support::borsh::{field, Reader};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("claim");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    // No "Instruction: ..." log line on the per-order paths: it costs 105 units an order.
    let a = Accounts::split(accounts)?;
    Reader::new(args).finish()?;

    let view = checks::market(a.market, program_id)?;
    checks::epoch(a.epoch, a.market, program_id)?;
    if a.order.owned_by(&SYSTEM_PROGRAM_ID) && a.order.is_data_empty() {
        return Ok(()); // claimed already
    }
    checks::order(a.order, a.epoch, program_id)?;
    let finalised = match Epoch::state(&a.epoch.try_borrow()?) {
        s if s == EpochState::Finalised as u8 => true,
        s if s == EpochState::Abandoned as u8 => false,
        _ => return Err(TradingError::EpochNotDone.into()),
    };
    let owed = {
        let data = a.order.try_borrow()?;
        checks::is(a.owner, field::read_address(&data, Order::OWNER))?;
        if finalised && data[Order::CREDITED] != 0 {
            (field::read_u64(&data, Order::GRID_DUE), field::read_u64(&data, Order::PAYMENT_DUE))
        } else {
            (field::read_u64(&data, Order::GRID_ESCROW), field::read_u64(&data, Order::PAYMENT_ESCROW))
        }
    };
    pay_and_close(a, &view, owed)
}
