//! One module per instruction: its discriminator, its accounts in order, its checks.
//!
//! Every instruction but `initialize` takes the same two accounts, `config` (mut, the
//! `GovernanceConfig`) and `authority` (signer, one of its authorities), checked by
//! [`authorised`].

pub mod add_authority;
pub mod initialize;
pub mod pause;
pub mod remove_authority;
pub mod set_parameters;
pub mod unpause;

use crate::state;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;

/// `config`: the `GovernanceConfig` at its program address (2006), this program's (3007), of its
/// type (3002), writable (2000); `authority`: signed (3010) and one of the config's authorities
/// (`Unauthorized`, 6000).
#[inline(always)]
pub(crate) fn authorised(program_id: &Address, config: &AccountView, authority: &AccountView) -> ProgramResult {
    accounts::known_pda(config, &state::CONFIG_ADDRESS)?;
    accounts::account(config, program_id, &state::DISCRIMINATOR, state::LEN)?;
    accounts::writable(config)?;
    accounts::signer(authority)?;
    state::require_authority(&config.try_borrow()?, authority.address())
}
