//! `set_parameters(fee_bps: u16)`: an authority sets the market's fee (at most 10,000 bps).
//!
//! Accounts: `config` (mut), `authority` (signer, a governance authority).

use super::authorised;
use crate::state;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("set_parameters");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: SetParameters");
    let [config, authority, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let fee_bps = args.u16()?;
    args.finish()?;

    authorised(program_id, config, authority)?;
    let fee_bps = state::check_fee_bps(fee_bps)?;
    state::set_fee_bps(&mut config.try_borrow_mut()?, fee_bps);
    Ok(())
}
