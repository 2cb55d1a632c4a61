//! `register_meter(meter_id: u64)`: a registry authority admits meter `meter_id` (the id the
//! oracle knows it by) as the meter of `participant`, an active participant, creating its `Meter`.
//! The oracle then accepts readings of that meter only, credited only to that participant.
//!
//! Accounts: `registry` (mut), `meter` (mut, PDA `["meter", meter_id as u64 LE]`), `participant`
//! (the owner's `Participant`), `authority` (mut, signer, a registry authority, pays the rent),
//! `system_program`.

use super::authorised;
use crate::error::RegistryError;
use crate::state::{Meter, Participant, Registry, METER_SEED};
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::{clock, log};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("register_meter");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: RegisterMeter");
    let [registry, meter, participant, authority, system_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let meter_id = args.u64()?;
    args.finish()?;

    authorised(program_id, registry, authority)?;
    accounts::writable(registry)?;
    accounts::writable(meter)?;
    accounts::writable(authority)?;
    accounts::system_program(system_program)?;
    // Only this program creates `Participant`s, at their own address: owner and type suffice.
    accounts::account(participant, program_id, &Participant::DISCRIMINATOR, Participant::LEN)?;
    let owner = {
        let data = participant.try_borrow()?;
        if !Participant::is_active(&data) {
            return Err(RegistryError::ParticipantSuspended.into());
        }
        *Participant::owner(&data)
    };
    accounts::uninitialized(meter, program_id)?;
    let id_seed = meter_id.to_le_bytes();
    let bump = accounts::find_pda(meter, &[METER_SEED, &id_seed], program_id)?;

    let bump_seed = [bump];
    accounts::create_pda(
        authority,
        meter,
        Meter::LEN,
        program_id,
        &[Seed::from(METER_SEED), Seed::from(&id_seed), Seed::from(&bump_seed)],
    )?;
    let now = clock()?.unix_timestamp;
    Meter::write(&mut meter.try_borrow_mut()?, meter_id, &owner, now, bump);
    Registry::increment(&mut registry.try_borrow_mut()?, Registry::METER_COUNT)
}
