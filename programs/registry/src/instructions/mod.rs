//! One module per instruction: its discriminator, its accounts in order, its checks.
//!
//! Every instruction but `initialize` is signed by one of the registry's authorities, checked by
//! [`authorised`].

pub mod add_authority;
pub mod initialize;
pub mod reactivate_participant;
pub mod register_meter;
pub mod register_participant;
pub mod remove_authority;
pub mod suspend_participant;

use crate::state::{Participant, ParticipantStatus, Registry, REGISTRY_ADDRESS};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;

/// `registry`: the `Registry` at its program address (2006), this program's (3007), of its type
/// (3002); `authority`: signed (3010) and one of the registry's authorities (`Unauthorized`).
#[inline(always)]
pub(crate) fn authorised(program_id: &Address, registry: &AccountView, authority: &AccountView) -> ProgramResult {
    accounts::known_pda(registry, &REGISTRY_ADDRESS)?;
    accounts::account(registry, program_id, &Registry::DISCRIMINATOR, Registry::LEN)?;
    accounts::signer(authority)?;
    Registry::require_authority(&registry.try_borrow()?, authority.address())
}

/// `suspend_participant` and `reactivate_participant`: an authority moves `participant` (one of
/// this program's `Participant` accounts, writable) to `to`.
#[inline(always)]
pub(crate) fn set_status(program_id: &Address, accounts: &mut [AccountView], to: ParticipantStatus) -> ProgramResult {
    let [registry, participant, authority, ..] = accounts else {
        return Err(program_support::anchor::ErrorCode::AccountNotEnoughKeys.into());
    };
    authorised(program_id, registry, authority)?;
    // Only this program creates `Participant`s, and only at their own address: owner and type
    // suffice.
    accounts::account(participant, program_id, &Participant::DISCRIMINATOR, Participant::LEN)?;
    accounts::writable(participant)?;
    Participant::set_status(&mut participant.try_borrow_mut()?, to)
}
