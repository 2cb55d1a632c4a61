//! `post_result(price: i64, volume: u64, result_count: u32, results_hash: [u8; 32])`: the
//! operator commits to a closed epoch's clearing result: the uniform price (ticks), the volume
//! (lots bought, and sold), how many orders filled, and the head of the hash chain of their
//! results (`state::result_link`). A result without fills finalises the epoch at once (its hash
//! must be the chain's end, all zeroes). Refused while paused.
//!
//! Accounts: `market`, `epoch` (mut), `operator` (signer, the market's operator), `governance`.

use crate::amounts;
use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState, read_u32, write_u32};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("post_result");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: PostResult");
    let [market, epoch, operator, governance, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let price = args.i64()?;
    let volume = args.u64()?;
    let result_count = args.u32()?;
    let results_hash = *args.bytes::<32>()?;
    args.finish()?;

    let view = checks::market(market, program_id)?;
    checks::epoch(epoch, market, program_id)?;
    accounts::writable(epoch)?;
    checks::operator(operator, &view)?;
    checks::not_paused(governance)?;
    let mut data = epoch.try_borrow_mut()?;
    if Epoch::state(&data) != EpochState::Closed as u8 {
        return Err(TradingError::EpochNotClosed.into());
    }
    // Nothing filled, or at least one buy and one sell among the orders still on chain.
    let none = result_count == 0;
    if none != (volume == 0)
        || none != (results_hash == [0u8; 32])
        || result_count == 1
        || result_count > read_u32(&data, Epoch::LIVE_ORDERS)
    {
        return Err(TradingError::InvalidResult.into());
    }
    // Every result at this price must be computable: refuse a price whose amount per lot overflows.
    amounts::price_per_lot(price, view.tick)?;

    field::write_i64(&mut data, Epoch::PRICE, price);
    field::write_u64(&mut data, Epoch::VOLUME, volume);
    write_u32(&mut data, Epoch::RESULT_COUNT, result_count);
    data[Epoch::RESULTS_HASH..Epoch::RESULTS_HASH + 32].copy_from_slice(&results_hash);
    data[Epoch::CURSOR..Epoch::CURSOR + 32].copy_from_slice(&results_hash);
    Epoch::set_state(&mut data, if none { EpochState::Finalised } else { EpochState::Posted });
    Ok(())
}
