//! `initialize(fee_bps: u16)`: creates the one `GovernanceConfig`, with `authority` as its only
//! authority, not paused. Signed by the deployer (`program_support::deployer`): the first caller
//! is not whoever comes first.
//!
//! Accounts: `config` (mut, PDA `["governance"]`), `authority` (mut, signer, pays the rent, the
//! first authority), `deployer` (signer; may be `authority`), `system_program`.

use crate::error::GovernanceError;
use crate::state;
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("initialize");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: Initialize");
    let [config, authority, deployer, system_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let fee_bps = args.u16()?;
    args.finish()?;

    accounts::writable(config)?;
    accounts::signer(authority)?;
    accounts::writable(authority)?;
    program_support::deployer::require(deployer, GovernanceError::NotDeployer.into())?;
    accounts::system_program(system_program)?;
    accounts::uninitialized(config, program_id)?;
    accounts::known_pda(config, &state::CONFIG_ADDRESS)?;
    let fee_bps = state::check_fee_bps(fee_bps)?;

    let bump_seed = [state::CONFIG_BUMP];
    accounts::create_pda(
        authority,
        config,
        state::LEN,
        program_id,
        &[Seed::from(state::CONFIG_SEED), Seed::from(&bump_seed)],
    )?;
    state::write_new(
        &mut config.try_borrow_mut()?,
        authority.address(),
        fee_bps,
        state::CONFIG_BUMP,
    );
    Ok(())
}
