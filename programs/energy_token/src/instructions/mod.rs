//! One module per instruction: its discriminator, its accounts in order, its checks.

pub mod burn;
pub mod initialize;
pub mod mint_for_reading;

use crate::state::EnergyConfig;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;

/// `config`: the `EnergyConfig` at its program address (2006), this program's (3007), of its
/// type (3002), writable (2000).
#[inline(always)]
pub(crate) fn energy_config(program_id: &Address, config: &AccountView) -> ProgramResult {
    accounts::known_pda(config, &crate::state::CONFIG_ADDRESS)?;
    accounts::account(config, program_id, &EnergyConfig::DISCRIMINATOR, EnergyConfig::LEN)?;
    accounts::writable(config)
}
