//! `initialize()`: a governance authority names GRID's mint, creating the one `EnergyConfig`.
//! The mint must already have this program's mint authority (`["mint_authority"]`), 9 decimals,
//! no freeze authority and no supply, so that every GRID in existence was minted here, for a
//! reading.
//!
//! Accounts: `config` (mut, PDA `["energy_config"]`), `mint`, `mint_authority` (PDA
//! `["mint_authority"]`), `governance_config` (the shared contract's), `authority` (mut, signer, a
//! governance authority, pays the rent), `system_program`.

use crate::error::EnergyError;
use crate::state::{self, EnergyConfig};
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;
use program_support::{governance, token};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("initialize");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: Initialize");
    let [config, mint, mint_authority, governance_config, authority, system_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    accounts::writable(config)?;
    accounts::signer(authority)?;
    accounts::writable(authority)?;
    accounts::system_program(system_program)?;
    accounts::uninitialized(config, program_id)?;
    accounts::known_pda(config, &state::CONFIG_ADDRESS)?;
    accounts::known_pda(mint_authority, &state::MINT_AUTHORITY)?;
    governance::config(governance_config)?;
    if !governance::is_authority(&governance_config.try_borrow()?, authority.address()) {
        return Err(EnergyError::Unauthorized.into());
    }
    token::owned_account(mint, token::mint::LEN)?;
    {
        let data = mint.try_borrow()?;
        let fresh = token::mint::is_initialized(&data)
            && token::mint::decimals(&data) == state::GRID_DECIMALS
            && token::mint::mint_authority(&data) == Some(state::MINT_AUTHORITY.as_array())
            && token::mint::freeze_authority(&data).is_none()
            && token::mint::supply(&data) == 0;
        if !fresh {
            return Err(EnergyError::InvalidMint.into());
        }
    }

    let bump_seed = [state::CONFIG_BUMP];
    accounts::create_pda(
        authority,
        config,
        EnergyConfig::LEN,
        program_id,
        &[Seed::from(state::CONFIG_SEED), Seed::from(&bump_seed)],
    )?;
    EnergyConfig::write_new(&mut config.try_borrow_mut()?, mint.address(), state::CONFIG_BUMP);
    Ok(())
}
