//! The gridmatch market on chain: per-epoch batch auctions at one uniform price. Orders escrow in
//! program-owned vaults; the operator commits to the clearing result (price, volume, a hash
//! chain of the orders' results); anyone credits the results against it, inside the program;
//! each order then claims what it is owed. Nothing that settles an epoch touches an account a
//! trader can close, and an epoch not finalised in time is abandoned and refunded in full.
//! Amounts come from the engine's own `money` arithmetic (programs/README.md: the protocol).
//!
//! Anchor's wire format by hand (see `program_support::anchor`); its legacy IDL is
//! `../idl.json`. This file only dispatches: one module per instruction, `state` for the
//! accounts' layouts, `error` for the program's error numbers, `amounts` for escrow and dues
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

// A transaction locks at most 64 distinct accounts, so a credit batch names fewer orders.
program_entrypoint!(process_instruction, 64);
no_allocator!();
nostd_panic_handler!();

#[inline(always)]
pub fn process_instruction(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let (discriminator, args) = split_instruction(data)?;
    match *discriminator {
        initialize_market::DISCRIMINATOR => initialize_market::process(program_id, accounts, args),
        update_market::DISCRIMINATOR => update_market::process(program_id, accounts, args),
        open_epoch::DISCRIMINATOR => open_epoch::process(program_id, accounts, args),
        place_order::DISCRIMINATOR => place_order::process(program_id, accounts, args),
        cancel_order::DISCRIMINATOR => cancel_order::process(program_id, accounts, args),
        close_epoch::DISCRIMINATOR => close_epoch::process(program_id, accounts, args),
        post_result::DISCRIMINATOR => post_result::process(program_id, accounts, args),
        credit_orders::DISCRIMINATOR => credit_orders::process(program_id, accounts, args),
        claim::DISCRIMINATOR => claim::process(program_id, accounts, args),
        abandon_epoch::DISCRIMINATOR => abandon_epoch::process(program_id, accounts, args),
        withdraw_fees::DISCRIMINATOR => withdraw_fees::process(program_id, accounts, args),
        _ => Err(ProgramError::from(ErrorCode::InstructionFallbackNotFound)),
    }
}
