//! The meter oracle. Governance's authorities name up to four oracle operators and the bounds of
//! a plausible reading; an operator registers meters (each bound to its prosumer) and submits
//! their readings. A reading is accepted only with a timestamp later than the meter's last one and
//! not in the future, and an energy within the maximum per reading and per second since the last
//! reading, and only for a meter the registry admitted as that prosumer's (its `Meter`); in the
//! same instruction it mints that energy as GRID to the prosumer, by CPI into energy_token signed
//! with this program's address `["oracle_signer"]`.
//!
//! Anchor's wire format by hand; its legacy IDL is `../idl.json`. This file only dispatches: one
//! module per instruction, `state` for the accounts' layouts, `error` for the error numbers.
#![no_std]

pub mod error;
pub mod instructions;
pub mod state;

use instructions::*;
use pinocchio::{error::ProgramError, no_allocator, nostd_panic_handler, program_entrypoint};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{split_instruction, ErrorCode};

// The address the tests load the program at (the shared contract's oracle id).
solana_address::declare_id!("8gQTGoiP69XSX7ywywYNxDy3HcPWjYj14jGD1dJbuLrd");

program_entrypoint!(process_instruction, 13);
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
        set_operators::DISCRIMINATOR => set_operators::process(program_id, accounts, args),
        set_limits::DISCRIMINATOR => set_limits::process(program_id, accounts, args),
        register_meter::DISCRIMINATOR => register_meter::process(program_id, accounts, args),
        submit_reading::DISCRIMINATOR => submit_reading::process(program_id, accounts, args),
        _ => Err(ProgramError::from(ErrorCode::InstructionFallbackNotFound)),
    }
}
