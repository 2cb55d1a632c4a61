//! `suspend_participant()`: an authority suspends an active participant (energy_token then mints
//! it nothing, trading takes no order from it). Suspending a suspended one is `AlreadySuspended`.
//!
//! Accounts: `registry`, `participant` (mut), `authority` (signer, a registry authority).

use crate::state::ParticipantStatus;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::instruction_discriminator;
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("suspend_participant");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: SuspendParticipant");
    Reader::new(args).finish()?;
    super::set_status(program_id, accounts, ParticipantStatus::Suspended)
}
