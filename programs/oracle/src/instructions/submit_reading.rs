//! `submit_reading(meter_id: u64, timestamp: i64, energy: u64)`: an operator submits a meter's
//! reading; if it is plausible (`state::check_reading`: later than the meter's last, not in the
//! future, positive, within the maxima per reading and per second) the same instruction mints
//! `energy` GRID base units to the meter's prosumer, by CPI into energy_token's
//! `mint_for_reading` signed with this program's address `["oracle_signer"]`. A refusal there
//! (market paused, participant suspended, ...) refuses the reading: the meter is not advanced.
//! The meter must be registered in the registry too, as the prosumer's: a meter the registry did
//! not admit, or admitted for someone else, earns nothing.
//!
//! Accounts: `config` (mut), `meter` (mut, the `Meter` of `meter_id`), `registry_meter` (the
//! registry's `Meter` at `["meter", meter_id]`), `operator` (signer, an oracle operator), then energy_token's `mint_for_reading` accounts: `energy_config` (mut),
//! `governance_config`, `mint` (mut), `destination` (mut, the prosumer's GRID token account),
//! `participant` (the registry's, of the prosumer), `mint_authority`, `oracle_signer` (PDA
//! `["oracle_signer"]`), and `energy_token_program`, `token_program`.

use super::{operator, oracle_config, registered_meter};
use crate::error::OracleError;
use crate::state::{self, check_reading, Meter, OracleConfig};
use pinocchio::{
    cpi::{invoke_signed, Seed, Signer},
    instruction::{InstructionAccount, InstructionView},
    AccountView, Address, ProgramResult,
};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::{clock, log};
use program_support::token;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("submit_reading");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: SubmitReading");
    let [config, meter, registry_meter, operator_account, energy_config, governance_config, mint, destination, participant, mint_authority, oracle_signer, energy_token_program, token_program, ..] =
        accounts
    else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let meter_id = args.u64()?;
    let timestamp = args.i64()?;
    let energy = args.u64()?;
    args.finish()?;

    oracle_config(program_id, config)?;
    accounts::writable(config)?;
    operator(config, operator_account)?;
    // A `Meter` exists only at the address of its own `meter_id` (register_meter checked it), so
    // the id it holds stands for `seeds = ["meter", meter_id]` without a 1,500-unit syscall.
    accounts::account(meter, program_id, &Meter::DISCRIMINATOR, Meter::LEN)?;
    accounts::writable(meter)?;
    if energy_token_program.address() != &state::ENERGY_TOKEN_ID {
        return Err(ErrorCode::InvalidProgramId.into());
    }
    accounts::known_pda(oracle_signer, &state::ORACLE_SIGNER)?;
    token::owned_account(destination, token::account::LEN)?;
    {
        let meter_data = meter.try_borrow()?;
        if Meter::meter_id(&meter_data) != meter_id {
            return Err(ErrorCode::ConstraintSeeds.into());
        }
        if token::account::owner(&destination.try_borrow()?) != Meter::prosumer(&meter_data) {
            return Err(OracleError::WrongProsumer.into());
        }
        registered_meter(registry_meter, meter_id, Meter::prosumer(&meter_data))?;
        let limits = OracleConfig::limits(&config.try_borrow()?);
        let now = clock()?.unix_timestamp;
        check_reading(Meter::last_timestamp(&meter_data), now, timestamp, energy, limits)?;
    }

    // energy_token.mint_for_reading(energy), signed by ["oracle_signer"].
    let metas = [
        InstructionAccount::writable(energy_config.address()),
        InstructionAccount::readonly(governance_config.address()),
        InstructionAccount::writable(mint.address()),
        InstructionAccount::writable(destination.address()),
        InstructionAccount::readonly(participant.address()),
        InstructionAccount::readonly(mint_authority.address()),
        InstructionAccount::readonly_signer(oracle_signer.address()),
        InstructionAccount::readonly(token_program.address()),
    ];
    let mut data = [0u8; 16];
    data[..8].copy_from_slice(&state::MINT_FOR_READING);
    data[8..].copy_from_slice(&energy.to_le_bytes());
    let instruction = InstructionView { program_id: &state::ENERGY_TOKEN_ID, accounts: &metas, data: &data };
    let bump_seed = [state::ORACLE_SIGNER_BUMP];
    let seeds = [Seed::from(state::ORACLE_SIGNER_SEED), Seed::from(&bump_seed)];
    let views: [&AccountView; 8] =
        [energy_config, governance_config, mint, destination, participant, mint_authority, oracle_signer, token_program];
    invoke_signed(&instruction, &views, &[Signer::from(&seeds[..])])?;

    Meter::record(&mut meter.try_borrow_mut()?, timestamp, energy)?;
    OracleConfig::record(&mut config.try_borrow_mut()?, energy)
}
