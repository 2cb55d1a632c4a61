//! The participant registry: who may trade on the gridmatch market. Up to four authorities
//! (never none) register participants (consumers and prosumers) and their meters, and suspend and
//! reactivate participants; energy_token, oracle and trading read the `Participant` and `Meter`
//! accounts.
//!
//! Anchor's wire format by hand (see `program_support::anchor`); its legacy IDL is
//! `../idl.json`. This file only dispatches: one module per instruction, `state` for the
//! accounts' layouts, `error` for the program's error numbers.
#![no_std]

pub mod error;
pub mod instructions;
pub mod state;

use instructions::*;
use pinocchio::{error::ProgramError, no_allocator, nostd_panic_handler, program_entrypoint};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{split_instruction, ErrorCode};

// The address the tests load the program at (not secret: a deployment would use its own keypair).
solana_address::declare_id!("63DMmvAZd8XSmQXDn9nWSTYjw44M9NyqPY8F4mtkMhhG");

program_entrypoint!(process_instruction, 8);
no_allocator!();
nostd_panic_handler!();

// Inlined into the entrypoint: as a call it would take six arguments (the result by pointer),
// which the BPF backend refuses.
#[inline(always)]
pub fn process_instruction(
    program_id: &Address,
    accounts: &mut [AccountView],
    data: &[u8],
) -> ProgramResult {
    let (discriminator, args) = split_instruction(data)?;
    match *discriminator {
        initialize::DISCRIMINATOR => initialize::process(program_id, accounts, args),
        register_participant::DISCRIMINATOR => register_participant::process(program_id, accounts, args),
        suspend_participant::DISCRIMINATOR => suspend_participant::process(program_id, accounts, args),
        reactivate_participant::DISCRIMINATOR => reactivate_participant::process(program_id, accounts, args),
        register_meter::DISCRIMINATOR => register_meter::process(program_id, accounts, args),
        add_authority::DISCRIMINATOR => add_authority::process(program_id, accounts, args),
        remove_authority::DISCRIMINATOR => remove_authority::process(program_id, accounts, args),
        _ => Err(ProgramError::from(ErrorCode::InstructionFallbackNotFound)),
    }
}
