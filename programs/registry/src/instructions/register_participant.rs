//! `register_participant(kind: ParticipantKind)`: a registry authority admits `owner` as a
//! consumer or prosumer, creating its `Participant` account (active).
//!
//! Accounts: `registry` (mut), `participant` (mut, PDA `["participant", owner]`), `owner` (the
//! participant's wallet, need not sign), `authority` (mut, signer, a registry authority, pays the
//! rent), `system_program`.

use super::authorised;
use crate::state::{Participant, ParticipantKind, ParticipantStatus, Registry, PARTICIPANT_SEED};
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::{clock, log};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("register_participant");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: RegisterParticipant");
    let [registry, participant, owner, authority, system_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let kind = args.variant(ParticipantKind::VARIANTS)?;
    args.finish()?;
    let kind = ParticipantKind::from_index(kind).ok_or(ErrorCode::InstructionDidNotDeserialize)?;

    authorised(program_id, registry, authority)?;
    accounts::writable(registry)?;
    accounts::writable(participant)?;
    accounts::writable(authority)?;
    accounts::system_program(system_program)?;
    accounts::uninitialized(participant, program_id)?;
    let bump = accounts::find_pda(participant, &[PARTICIPANT_SEED, owner.address().as_ref()], program_id)?;

    let bump_seed = [bump];
    accounts::create_pda(
        authority,
        participant,
        Participant::LEN,
        program_id,
        &[Seed::from(PARTICIPANT_SEED), Seed::from(owner.address().as_ref()), Seed::from(&bump_seed)],
    )?;
    let now = clock()?.unix_timestamp;
    Participant::write(
        &mut participant.try_borrow_mut()?,
        owner.address(),
        kind,
        ParticipantStatus::Active,
        now,
        bump,
    );
    Registry::increment(&mut registry.try_borrow_mut()?, Registry::PARTICIPANT_COUNT)
}
