//! `add_authority(new_authority: Pubkey)`: an authority adds `new_authority` to a free slot (four
//! at most; not the all-zero key; not twice).
//!
//! Accounts: `config` (mut), `authority` (signer, a governance authority).

use super::authorised;
use crate::state;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("add_authority");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: AddAuthority");
    let [config, authority, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let new_authority = args.address()?;
    args.finish()?;

    authorised(program_id, config, authority)?;
    state::add_authority(&mut config.try_borrow_mut()?, &new_authority)
}
