//! `initialize()`: creates the one `Registry` account, with `authority` as its first authority.
//! Signed by the deployer (`program_support::deployer`): the first caller is not whoever comes
//! first.
//!
//! Accounts: `registry` (mut, PDA `["registry"]`), `authority` (mut, signer, pays the rent, the
//! first authority), `deployer` (signer; may be `authority`), `system_program`.

use crate::error::RegistryError;
use crate::state::{Registry, REGISTRY_ADDRESS, REGISTRY_BUMP, REGISTRY_SEED};
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("initialize");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: Initialize");
    let [registry, authority, deployer, system_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    accounts::writable(registry)?;
    accounts::signer(authority)?;
    accounts::writable(authority)?;
    program_support::deployer::require(deployer, RegistryError::NotDeployer.into())?;
    accounts::system_program(system_program)?;
    accounts::uninitialized(registry, program_id)?;
    // The address is a compile-time constant: no 1,500-unit-a-bump search.
    accounts::known_pda(registry, &REGISTRY_ADDRESS)?;

    let bump_seed = [REGISTRY_BUMP];
    accounts::create_pda(
        authority,
        registry,
        Registry::LEN,
        program_id,
        &[Seed::from(REGISTRY_SEED), Seed::from(&bump_seed)],
    )?;
    Registry::write_new(
        &mut registry.try_borrow_mut()?,
        authority.address(),
        REGISTRY_BUMP,
    );
    Ok(())
}
