//! One module per instruction: its discriminator, its accounts in order, its checks.

pub mod initialize;
pub mod register_meter;
pub mod set_limits;
pub mod set_operators;
pub mod submit_reading;

use crate::error::OracleError;
use crate::state::{self, registry_meter, OracleConfig};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::{accounts, governance};

/// `config`: the `OracleConfig` at its program address (2006), this program's (3007), of its
/// type (3002).
#[inline(always)]
pub(crate) fn oracle_config(program_id: &Address, config: &AccountView) -> ProgramResult {
    accounts::known_pda(config, &state::CONFIG_ADDRESS)?;
    accounts::account(config, program_id, &OracleConfig::DISCRIMINATOR, OracleConfig::LEN)
}

/// `authority` signed (3010) and is one of governance's authorities (`Unauthorized`), read from
/// the shared contract's `governance_config` (2006/3007/3002).
#[inline(always)]
pub(crate) fn governance_authority(governance_config: &AccountView, authority: &AccountView) -> ProgramResult {
    accounts::signer(authority)?;
    governance::config(governance_config)?;
    if governance::is_authority(&governance_config.try_borrow()?, authority.address()) {
        Ok(())
    } else {
        Err(OracleError::Unauthorized.into())
    }
}

/// `operator` signed (3010) and is one of the config's operators (`NotOperator`).
#[inline(always)]
pub(crate) fn operator(config: &AccountView, operator: &AccountView) -> ProgramResult {
    accounts::signer(operator)?;
    if OracleConfig::is_operator(&config.try_borrow()?, operator.address()) {
        Ok(())
    } else {
        Err(OracleError::NotOperator.into())
    }
}

/// `account` is the registry's `Meter` of `meter_id` (owned by the registry, of its type, at its
/// program address: else `UnregisteredMeter`) and belongs to `prosumer` (`MeterOwnerMismatch`).
#[inline(always)]
pub(crate) fn registered_meter(account: &AccountView, meter_id: u64, prosumer: &[u8; 32]) -> ProgramResult {
    if !account.owned_by(&registry_meter::REGISTRY_ID) {
        return Err(OracleError::UnregisteredMeter.into());
    }
    registry_meter::check(account.address().as_array(), &account.try_borrow()?, meter_id, prosumer)?;
    Ok(())
}
