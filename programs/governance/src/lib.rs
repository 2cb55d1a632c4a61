//! Market governance: the `GovernanceConfig` account other programs read (the shared contract's
//! layout, `program_support::governance`), its parameters (`fee_bps`), the emergency pause
//! that trading and energy_token honour, and the rotation of its up to four authorities.
//!
//! Anchor's wire format by hand; its legacy IDL is `../idl.json`. This file only dispatches: one
//! module per instruction, `state` for the account's layout, `error` for the error numbers.
#![no_std]

pub mod error;
pub mod instructions;
pub mod state;

use instructions::*;
use pinocchio::{error::ProgramError, no_allocator, nostd_panic_handler, program_entrypoint};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{split_instruction, ErrorCode};

// The address the tests load the program at (the shared contract's governance id).
solana_address::declare_id!("3sp7yVqsdnh4urn8WFLurR2uAkzzWygeGuBHaD88HN4m");

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
        initialize::DISCRIMINATOR => initialize::process(program_id, accounts, args),
        set_parameters::DISCRIMINATOR => set_parameters::process(program_id, accounts, args),
        pause::DISCRIMINATOR => pause::process(program_id, accounts, args),
        unpause::DISCRIMINATOR => unpause::process(program_id, accounts, args),
        add_authority::DISCRIMINATOR => add_authority::process(program_id, accounts, args),
        remove_authority::DISCRIMINATOR => remove_authority::process(program_id, accounts, args),
        _ => Err(ProgramError::from(ErrorCode::InstructionFallbackNotFound)),
    }
}
