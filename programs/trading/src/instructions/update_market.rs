//! `update_market(operator: Pubkey, epoch_seconds: u32, settle_deadline: u32)`: a governance
//! authority replaces the market's operator (a lost or rogue operator key is rotated out), its
//! treasury (the `treasury` account: fees withdrawn from now on go there), and the parameters of
//! the abandonment deadline. Epochs in flight keep their state; their deadline is computed with
//! the parameters in force when it is checked.
//!
//! Accounts: `market` (mut), `treasury` (a token account of the payment mint), `governance` (the
//! config), `authority` (signer, one of governance's authorities).

use crate::checks;
use crate::error::TradingError;
use crate::state::{Market, write_u32};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::sys::log;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("update_market");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: UpdateMarket");
    let [market, treasury, governance, authority, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let operator = args.address()?;
    let epoch_seconds = args.u32()?;
    let settle_deadline = args.u32()?;
    args.finish()?;
    if epoch_seconds == 0 || settle_deadline == 0 {
        return Err(TradingError::InvalidMarketParameter.into());
    }

    let view = checks::market(market, program_id)?;
    accounts::writable(market)?;
    checks::governance_authority(governance, authority)?;
    checks::token_account(treasury, &view.payment_mint, None)?;
    let mut data = market.try_borrow_mut()?;
    field::write_address(&mut data, Market::OPERATOR, &operator);
    field::write_address(&mut data, Market::TREASURY, treasury.address());
    write_u32(&mut data, Market::EPOCH_SECONDS, epoch_seconds);
    write_u32(&mut data, Market::SETTLE_DEADLINE, settle_deadline);
    Ok(())
}
