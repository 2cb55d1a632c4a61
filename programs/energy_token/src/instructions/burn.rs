//! `burn(amount: u64)`: a holder burns `amount` GRID base units for consumption (the holder, or
//! its approved delegate, signs; the token program checks which). Not stopped by the pause: a
//! pause stops new energy entering the market, not its use.
//!
//! Accounts: `config` (mut), `mint` (mut, GRID), `source` (mut, a GRID token account), `owner`
//! (signer), `token_program`.

use super::energy_config;
use crate::error::EnergyError;
use crate::state::{self, EnergyConfig};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;
use program_support::token;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("burn");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: Burn");
    let [config, mint, source, owner, token_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let amount = args.u64()?;
    args.finish()?;

    accounts::signer(owner)?;
    energy_config(program_id, config)?;
    let grid = *EnergyConfig::mint(&config.try_borrow()?);
    if mint.address().as_array() != &grid {
        return Err(EnergyError::WrongMint.into());
    }
    accounts::writable(mint)?;
    accounts::writable(source)?;
    token::program(token_program)?;
    token::owned_account(source, token::account::LEN)?;
    if token::account::mint(&source.try_borrow()?) != &grid {
        return Err(EnergyError::WrongMint.into());
    }
    if amount == 0 {
        return Err(EnergyError::ZeroAmount.into());
    }

    token::burn_checked(source, mint, owner, amount, state::GRID_DECIMALS, &[])?;
    EnergyConfig::add(&mut config.try_borrow_mut()?, EnergyConfig::TOTAL_BURNED, amount)
}
