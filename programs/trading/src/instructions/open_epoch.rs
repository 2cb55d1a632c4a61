//! `open_epoch(epoch_id: u64)`: the operator opens an epoch of the market for orders. Its fee is
//! governance's `fee_bps` now, for the whole epoch: every order escrows against it, so a change
//! of the fee never leaves an escrow short (it applies from the next epoch).
//!
//! Accounts: `market`, `epoch` (mut, PDA `["epoch", market, epoch_id]`), `governance` (the
//! config), `operator` (mut, signer, the market's operator, pays the rent), `system_program`.

use crate::checks;
use crate::state::{Epoch, EPOCH_SEED};
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::Reader;
use program_support::governance;
use program_support::sys::{clock, log};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("open_epoch");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: OpenEpoch");
    let [market, epoch, config, operator, system_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let epoch_id = args.u64()?;
    args.finish()?;

    let view = checks::market(market, program_id)?;
    checks::operator(operator, &view)?;
    accounts::writable(operator)?;
    accounts::writable(epoch)?;
    accounts::system_program(system_program)?;
    governance::config(config)?;
    let fee_bps = governance::fee_bps(&config.try_borrow()?);
    accounts::uninitialized(epoch, program_id)?;
    let id_le = epoch_id.to_le_bytes();
    let bump = accounts::find_pda(epoch, &[EPOCH_SEED, market.address().as_ref(), &id_le], program_id)?;

    let bump_seed = [bump];
    accounts::create_pda(
        operator,
        epoch,
        Epoch::LEN,
        program_id,
        &[Seed::from(EPOCH_SEED), Seed::from(market.address().as_ref()), Seed::from(&id_le), Seed::from(&bump_seed)],
    )?;
    let now = clock()?.unix_timestamp;
    Epoch::write_new(&mut epoch.try_borrow_mut()?, market.address(), epoch_id, fee_bps, now, bump);
    Ok(())
}
