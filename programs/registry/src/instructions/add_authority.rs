//! `add_authority(new_authority: Pubkey)`: an authority adds `new_authority` to a free slot (four
//! at most; not the all-zero key; not twice).
//!
//! Accounts: `registry` (mut), `authority` (signer, a registry authority).

use super::authorised;
use crate::state::Registry;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("add_authority");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: AddAuthority");
    let [registry, authority, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let new_authority = args.address()?;
    args.finish()?;

    authorised(program_id, registry, authority)?;
    accounts::writable(registry)?;
    Registry::add_authority(&mut registry.try_borrow_mut()?, &new_authority)
}
