//! `register_meter(meter_id: u64)`: an operator registers meter `meter_id` as `prosumer`'s,
//! creating its `Meter` with the chain's clock as its last timestamp (so the first reading is
//! bounded by the rate since registration, like every later one). A meter is registered once.
//!
//! Accounts: `config`, `meter` (mut, PDA `["meter", meter_id as u64 LE]`), `prosumer` (the wallet
//! GRID is minted to, need not sign), `operator` (mut, signer, an oracle operator, pays the rent),
//! `system_program`.

use super::{operator, oracle_config};
use crate::state::{Meter, METER_SEED};
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::{clock, log};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("register_meter");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: RegisterMeter");
    let [config, meter, prosumer, operator_account, system_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let meter_id = args.u64()?;
    args.finish()?;

    oracle_config(program_id, config)?;
    accounts::writable(meter)?;
    accounts::writable(operator_account)?;
    accounts::system_program(system_program)?;
    operator(config, operator_account)?;
    accounts::uninitialized(meter, program_id)?;
    let id_seed = meter_id.to_le_bytes();
    let bump = accounts::find_pda(meter, &[METER_SEED, &id_seed], program_id)?;

    let bump_seed = [bump];
    accounts::create_pda(
        operator_account,
        meter,
        Meter::LEN,
        program_id,
        &[Seed::from(METER_SEED), Seed::from(&id_seed), Seed::from(&bump_seed)],
    )?;
    let now = clock()?.unix_timestamp;
    Meter::write_new(&mut meter.try_borrow_mut()?, meter_id, prosumer.address(), now, bump);
    Ok(())
}
