//! `set_limits(max_energy_per_reading: u64, max_energy_per_second: u64)`: a governance authority
//! sets the bounds of a plausible reading (GRID base units; both positive).
//!
//! Accounts: `config` (mut), `governance_config`, `authority` (signer, a governance authority).

use super::{governance_authority, oracle_config};
use crate::state::{Limits, OracleConfig};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("set_limits");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: SetLimits");
    let [config, governance_config, authority, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let limits = Limits { per_reading: args.u64()?, per_second: args.u64()? };
    args.finish()?;

    oracle_config(program_id, config)?;
    accounts::writable(config)?;
    governance_authority(governance_config, authority)?;
    let limits = limits.checked()?;
    OracleConfig::set_limits(&mut config.try_borrow_mut()?, limits);
    Ok(())
}
