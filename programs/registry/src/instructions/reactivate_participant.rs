//! `reactivate_participant()`: an authority makes a suspended participant active again.
//! Reactivating an active one is `AlreadyActive`.
//!
//! Accounts: `registry`, `participant` (mut), `authority` (signer, a registry authority).

use crate::state::ParticipantStatus;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::instruction_discriminator;
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("reactivate_participant");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: ReactivateParticipant");
    Reader::new(args).finish()?;
    super::set_status(program_id, accounts, ParticipantStatus::Active)
}
