//! `remove_authority(old_authority: Pubkey)`: an authority removes `old_authority` (possibly
//! itself), never the last one.
//!
//! Accounts: `registry` (mut), `authority` (signer, a registry authority).

use super::authorised;
use crate::state::Registry;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("remove_authority");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: RemoveAuthority");
    let [registry, authority, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let old_authority = args.address()?;
    args.finish()?;

    authorised(program_id, registry, authority)?;
    accounts::writable(registry)?;
    Registry::remove_authority(&mut registry.try_borrow_mut()?, &old_authority)
}
