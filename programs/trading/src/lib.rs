//! The gridmatch market on chain: per-epoch batch auctions whose orders escrow in program-owned
//! vaults, whose clearing result the operator posts (price, volume, a hash of the fills), and
//! whose settlement moves escrowed funds fill by fill, each fill checked against the orders and
//! the posted result, amounts from the engine's own `money` arithmetic.
//!
//! Anchor's wire format by hand (see `program_support::anchor`); its legacy IDL is
//! `../idl.json`. This file only dispatches: one module per instruction, `state` for the
//! accounts' layouts, `error` for the program's error numbers, `amounts` for escrow and fill
//! arithmetic, `checks` for shared account checks, `vault` for the token CPIs out of the vaults.
#![no_std]

pub mod amounts;
pub mod checks;
pub mod error;
pub mod instructions;
pub mod state;
pub mod vault;

use instructions::*;
use pinocchio::{error::ProgramError, no_allocator, nostd_panic_handler, program_entrypoint};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{split_instruction, ErrorCode};

// The address the tests load the program at (the shared contract's; not secret).
solana_address::declare_id!("BD4pEengw9n3vFDR6NsCr8JkV6NstwAJfbTmB6XWMmuz");

// Up to 128 instruction accounts: a settlement batch names four a fill, repeats included (one
// ask filling many bids), while the transaction locks at most 64 distinct ones.
program_entrypoint!(process_instruction, 128);
no_allocator!();
nostd_panic_handler!();

#[inline(always)]
pub fn process_instruction(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let (discriminator, args) = split_instruction(data)?;
    match *discriminator {
        initialize_market::DISCRIMINATOR => initialize_market::process(program_id, accounts, args),
        open_epoch::DISCRIMINATOR => open_epoch::process(program_id, accounts, args),
        place_order::DISCRIMINATOR => place_order::process(program_id, accounts, args),
        cancel_order::DISCRIMINATOR => cancel_order::process(program_id, accounts, args),
        close_epoch::DISCRIMINATOR => close_epoch::process(program_id, accounts, args),
        post_result::DISCRIMINATOR => post_result::process(program_id, accounts, args),
        settle_fills::DISCRIMINATOR => settle_fills::process(program_id, accounts, args),
        refund_order::DISCRIMINATOR => refund_order::process(program_id, accounts, args),
        _ => Err(ProgramError::from(ErrorCode::InstructionFallbackNotFound)),
    }
}
