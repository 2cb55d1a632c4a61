//! `post_result(price: i64, volume: u64, fill_count: u32, fills_hash: [u8; 32])`: the operator
//! posts a closed epoch's clearing result: the uniform price (ticks), the volume (lots), how many
//! fills and the head of their hash chain (`state::chain_link`). A result without fills settles
//! the epoch at once (its hash must be the chain's end, all zeroes). Refused while paused.
//!
//! Accounts: `market`, `epoch` (mut), `operator` (signer, the market's operator), `governance`.

use crate::amounts;
use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState};
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
    let fill_count = args.u32()?;
    let fills_hash = *args.bytes::<32>()?;
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
    let end = fills_hash == [0u8; 32];
    if (fill_count == 0) != (volume == 0) || (fill_count == 0) != end || u64::from(fill_count) > volume {
        return Err(TradingError::InvalidResult.into());
    }
    // Every fill at this price must be computable: refuse a price whose amount per lot overflows.
    amounts::price_per_lot(price, view.terms.tick)?;

    field::write_i64(&mut data, Epoch::PRICE, price);
    field::write_u64(&mut data, Epoch::VOLUME, volume);
    Epoch::set_u32(&mut data, Epoch::FILL_COUNT, fill_count);
    data[Epoch::FILLS_HASH..Epoch::FILLS_HASH + 32].copy_from_slice(&fills_hash);
    data[Epoch::CURSOR..Epoch::CURSOR + 32].copy_from_slice(&fills_hash);
    Epoch::set_state(&mut data, if fill_count == 0 { EpochState::Settled } else { EpochState::Cleared });
    Ok(())
}
