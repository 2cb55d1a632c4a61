//! `withdraw_fees()`: the fees of finalised epochs (`Market.fees_due`) go to the market's
//! treasury. Anyone may send it; nothing can go anywhere but the treasury governance named.
//! Kept apart from crediting, so that no settlement depends on the treasury's token account.
//!
//! Accounts: `market` (mut), `payment_vault` (mut), `treasury` (mut, the market's), `payment_mint`,
//! `token_program`.

use crate::checks;
use crate::state::Market;
use crate::vault;
use pinocchio::{AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::sys::log;
use program_support::token;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("withdraw_fees");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: WithdrawFees");
    let [market, payment_vault, treasury, payment_mint, token_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    Reader::new(args).finish()?;

    let view = checks::market(market, program_id)?;
    accounts::writable(market)?;
    checks::is(payment_vault, &view.payment_vault)?;
    checks::is(treasury, &view.treasury)?;
    checks::is(payment_mint, &view.payment_mint)?;
    token::program(token_program)?;
    let amount = {
        let mut data = market.try_borrow_mut()?;
        let amount = field::read_u64(&data, Market::FEES_DUE);
        field::write_u64(&mut data, Market::FEES_DUE, 0);
        amount
    };
    vault::pay_out(market, &view, payment_vault, payment_mint, treasury, amount, view.payment_decimals)
}
