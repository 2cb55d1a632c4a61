//! `mint_for_reading(amount: u64)`: mints `amount` GRID base units to a prosumer's token account
//! for a meter reading the oracle accepted. Only the oracle program can call it: its program
//! address `["oracle_signer"]` must sign, which only the oracle can do (by CPI, `invoke_signed`).
//! Refused while governance has paused the market, and unless the registry's participant for the
//! account's owner is an active prosumer.
//!
//! Accounts: `config` (mut), `governance_config`, `mint` (mut, GRID), `destination` (mut, a GRID
//! token account), `participant` (the registry's, of the destination's owner), `mint_authority`
//! (PDA `["mint_authority"]`), `oracle_signer` (signer, the oracle's PDA `["oracle_signer"]`),
//! `token_program`.

use super::energy_config;
use crate::error::EnergyError;
use crate::state::{self, participant, EnergyConfig};
use pinocchio::{
    cpi::{Seed, Signer},
    AccountView, Address, ProgramResult,
};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;
use program_support::{governance, token};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("mint_for_reading");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: MintForReading");
    let [config, governance_config, mint, destination, participant, mint_authority, oracle_signer, token_program, ..] =
        accounts
    else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let amount = args.u64()?;
    args.finish()?;

    // The caller: the oracle's signer, which nobody but the oracle program can sign for.
    accounts::signer(oracle_signer)?;
    if oracle_signer.address() != &state::ORACLE_SIGNER {
        return Err(EnergyError::NotOracle.into());
    }
    energy_config(program_id, config)?;
    governance::config(governance_config)?;
    if governance::paused(&governance_config.try_borrow()?) {
        return Err(EnergyError::MarketPaused.into());
    }
    let grid = *EnergyConfig::mint(&config.try_borrow()?);
    if mint.address().as_array() != &grid {
        return Err(EnergyError::WrongMint.into());
    }
    accounts::writable(mint)?;
    accounts::writable(destination)?;
    accounts::known_pda(mint_authority, &state::MINT_AUTHORITY)?;
    token::program(token_program)?;
    token::owned_account(destination, token::account::LEN)?;
    accounts::account(participant, &participant::REGISTRY_ID, &participant::DISCRIMINATOR, participant::LEN)?;
    {
        let destination_data = destination.try_borrow()?;
        if token::account::mint(&destination_data) != &grid {
            return Err(EnergyError::WrongMint.into());
        }
        participant::check(&participant.try_borrow()?, token::account::owner(&destination_data))?;
    }
    if amount == 0 {
        return Err(EnergyError::ZeroAmount.into());
    }

    let bump_seed = [state::MINT_AUTHORITY_BUMP];
    let seeds = [Seed::from(state::MINT_AUTHORITY_SEED), Seed::from(&bump_seed)];
    token::mint_to_checked(mint, destination, mint_authority, amount, state::GRID_DECIMALS, &[Signer::from(&seeds[..])])?;
    EnergyConfig::add(&mut config.try_borrow_mut()?, EnergyConfig::TOTAL_MINTED, amount)
}
