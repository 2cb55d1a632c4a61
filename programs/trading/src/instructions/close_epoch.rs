//! `close_epoch()`: the operator closes an open epoch: no order is placed or cancelled any more,
//! so the book it clears off chain is final. The chain's clock at this moment starts the
//! deadline after which anyone may abandon the epoch.
//!
//! Accounts: `market`, `epoch` (mut), `operator` (signer, the market's operator).

use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::sys::{clock, log};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("close_epoch");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: CloseEpoch");
    let [market, epoch, operator, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    let view = checks::market(market, program_id)?;
    checks::epoch(epoch, market, program_id)?;
    accounts::writable(epoch)?;
    checks::operator(operator, &view)?;
    let now = clock()?.unix_timestamp;
    let mut data = epoch.try_borrow_mut()?;
    if Epoch::state(&data) != EpochState::Open as u8 {
        return Err(TradingError::EpochNotOpen.into());
    }
    Epoch::set_state(&mut data, EpochState::Closed);
    field::write_i64(&mut data, Epoch::CLOSED_AT, now);
    Ok(())
}
