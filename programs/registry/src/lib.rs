//! The participant registry: who may trade on the gridmatch market.
//!
//! Anchor's wire format by hand (see `program_support::anchor`); its legacy IDL is
//! `../idl.json`. This file only dispatches: one module per instruction, `state` for the
//! accounts' layouts, `error` for the program's error numbers.
#![no_std]

pub mod error;
pub mod instructions;
pub mod state;

use pinocchio::{error::ProgramError, no_allocator, nostd_panic_handler, program_entrypoint};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{split_instruction, ErrorCode};

// The address the tests load the program at (not secret: a deployment would use its own keypair).
solana_address::declare_id!("63DMmvAZd8XSmQXDn9nWSTYjw44M9NyqPY8F4mtkMhhG");

program_entrypoint!(process_instruction, 8);
no_allocator!();
nostd_panic_handler!();

pub fn process_instruction(
    program_id: &Address,
    accounts: &mut [AccountView],
    data: &[u8],
) -> ProgramResult {
    let (discriminator, args) = split_instruction(data)?;
    match *discriminator {
        instructions::initialize::DISCRIMINATOR => {
            instructions::initialize::process(program_id, accounts, args)
        }
        instructions::register_participant::DISCRIMINATOR => {
            instructions::register_participant::process(program_id, accounts, args)
        }
        _ => Err(ProgramError::from(ErrorCode::InstructionFallbackNotFound)),
    }
}
