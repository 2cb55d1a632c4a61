//! GRID, the energy token (an SPL mint of 9 decimals). The program owns the mint's authority (the
//! program address `["mint_authority"]`) and mints only in `mint_for_reading`, which the oracle
//! program invokes by CPI for a reading it accepted, signing with its own program address
//! `["oracle_signer"]`; it refuses while governance has paused the market, and for a participant
//! the registry has suspended or who is not a prosumer. Holders burn GRID for consumption.
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

// The address the tests load the program at (the shared contract's energy_token id).
solana_address::declare_id!("AFBbTbZKuCBA6cZ5nifLQ7adKok8apnjuyGSjAuXgWZF");

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
        mint_for_reading::DISCRIMINATOR => mint_for_reading::process(program_id, accounts, args),
        burn::DISCRIMINATOR => burn::process(program_id, accounts, args),
        _ => Err(ProgramError::from(ErrorCode::InstructionFallbackNotFound)),
    }
}
