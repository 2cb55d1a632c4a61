//! `initialize(operators: Vec<Pubkey>, max_energy_per_reading: u64, max_energy_per_second: u64)`:
//! a governance authority creates the one `OracleConfig`, naming one to four operators and the
//! bounds of a plausible reading (GRID base units; both positive).
//!
//! Accounts: `config` (mut, PDA `["oracle"]`), `governance_config` (the shared contract's),
//! `authority` (mut, signer, a governance authority, pays the rent), `system_program`.

use super::governance_authority;
use crate::state::{self, Limits, OracleConfig, Operators};
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("initialize");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: Initialize");
    let [config, governance_config, authority, system_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let operators = Operators::read(&mut args)?;
    let limits = Limits { per_reading: args.u64()?, per_second: args.u64()? };
    args.finish()?;

    accounts::writable(config)?;
    accounts::writable(authority)?;
    accounts::system_program(system_program)?;
    governance_authority(governance_config, authority)?;
    accounts::uninitialized(config, program_id)?;
    accounts::known_pda(config, &state::CONFIG_ADDRESS)?;
    let limits = limits.checked()?;

    let bump_seed = [state::CONFIG_BUMP];
    accounts::create_pda(
        authority,
        config,
        OracleConfig::LEN,
        program_id,
        &[Seed::from(state::CONFIG_SEED), Seed::from(&bump_seed)],
    )?;
    OracleConfig::write_new(&mut config.try_borrow_mut()?, &operators, limits, state::CONFIG_BUMP);
    Ok(())
}
