//! `pause()`: an authority pauses the market: trading and energy_token refuse what the pause
//! covers until `unpause`. Pausing a paused market is a no-op (an emergency stop never fails for
//! being repeated).
//!
//! Accounts: `config` (mut), `authority` (signer, a governance authority).

use super::authorised;
use crate::state;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("pause");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: Pause");
    let [config, authority, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    authorised(program_id, config, authority)?;
    state::set_paused(&mut config.try_borrow_mut()?, true);
    Ok(())
}
