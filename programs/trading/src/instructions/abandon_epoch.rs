//! `abandon_epoch()`: the escape hatch. An epoch that is not finalised is abandoned: at once when
//! a governance authority signs; by anyone once its deadline has passed (closed or posted:
//! `closed_at + settle_deadline`; still open: `opened_at + epoch_seconds + settle_deadline`, the
//! market's parameters when this runs). Every order of an abandoned epoch then claims its whole
//! escrow back, credited or not. Nothing — an operator that never closes, never posts or posts a
//! result that cannot finalise, a lost key — keeps escrow locked for ever. Allowed while paused.
//!
//! Accounts: `market`, `epoch` (mut), `governance` (the config), `caller` (signer).

use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::governance;
use program_support::sys::{clock, log};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("abandon_epoch");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: AbandonEpoch");
    let [market, epoch, config, caller, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    let view = checks::market(market, program_id)?;
    checks::epoch(epoch, market, program_id)?;
    accounts::writable(epoch)?;
    accounts::signer(caller)?;
    governance::config(config)?;
    let by_governance = governance::is_authority(&config.try_borrow()?, caller.address());
    let now = clock()?.unix_timestamp;
    let mut data = epoch.try_borrow_mut()?;
    let state = Epoch::state(&data);
    if state == EpochState::Finalised as u8 || state == EpochState::Abandoned as u8 {
        return Err(TradingError::EpochFinished.into());
    }
    if !by_governance {
        let (from, wait) = if state == EpochState::Open as u8 {
            (Epoch::OPENED_AT, view.epoch_seconds as i64 + view.settle_deadline as i64)
        } else {
            (Epoch::CLOSED_AT, view.settle_deadline as i64)
        };
        // Both terms are far from overflow: a clock in seconds and two u32s.
        if now < field::read_i64(&data, from).saturating_add(wait) {
            return Err(TradingError::DeadlineNotReached.into());
        }
    }
    Epoch::set_state(&mut data, EpochState::Abandoned);
    Ok(())
}
