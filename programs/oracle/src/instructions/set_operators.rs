//! `set_operators(operators: Vec<Pubkey>)`: a governance authority replaces the oracle operators
//! (one to four, distinct): the rotation of the oracle's keys.
//!
//! Accounts: `config` (mut), `governance_config`, `authority` (signer, a governance authority).

use super::{governance_authority, oracle_config};
use crate::state::{OracleConfig, Operators};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("set_operators");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: SetOperators");
    let [config, governance_config, authority, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let operators = Operators::read(&mut args)?;
    args.finish()?;

    oracle_config(program_id, config)?;
    accounts::writable(config)?;
    governance_authority(governance_config, authority)?;
    OracleConfig::set_operators(&mut config.try_borrow_mut()?, &operators);
    Ok(())
}
