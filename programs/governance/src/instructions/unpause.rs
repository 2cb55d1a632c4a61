//! `unpause()`: an authority lifts the pause. Unpausing a market that is not paused is a no-op.
//!
//! Accounts: `config` (mut), `authority` (signer, a governance authority).

use super::authorised;
use crate::state;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("unpause");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: Unpause");
    let [config, authority, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    authorised(program_id, config, authority)?;
    state::set_paused(&mut config.try_borrow_mut()?, false);
    Ok(())
}
