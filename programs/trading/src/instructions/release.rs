//! What `cancel_order` and `refund_order` share: an order's remaining escrow goes back to the
//! owner's token accounts it named, and the order account is closed (its rent to the owner).

use crate::checks;
use crate::state::{Epoch, MarketView, Order};
use crate::vault;
use pinocchio::{AccountView, ProgramResult};
use program_support::accounts;
use program_support::borsh::field;
use program_support::token;

/// The accounts in the order both instructions take them, after `market`, `epoch`, `order` and
/// `owner`.
pub struct Refund<'a> {
    pub grid_account: &'a AccountView,
    pub payment_account: &'a AccountView,
    pub grid_vault: &'a AccountView,
    pub payment_vault: &'a AccountView,
    pub grid_mint: &'a AccountView,
    pub payment_mint: &'a AccountView,
    pub token_program: &'a AccountView,
}

#[inline(always)]
pub fn release(
    market: &AccountView,
    view: &MarketView,
    epoch: &mut AccountView,
    order: &mut AccountView,
    owner: &mut AccountView,
    to: Refund,
) -> ProgramResult {
    accounts::writable(epoch)?;
    accounts::writable(order)?;
    accounts::writable(owner)?;
    checks::is(to.grid_vault, &view.grid_vault)?;
    checks::is(to.payment_vault, &view.payment_vault)?;
    checks::is(to.grid_mint, &view.grid_mint)?;
    checks::is(to.payment_mint, &view.payment_mint)?;
    token::program(to.token_program)?;
    let (grid, payment) = {
        let data = order.try_borrow()?;
        checks::is(to.grid_account, field::read_address(&data, Order::GRID_ACCOUNT))?;
        checks::is(to.payment_account, field::read_address(&data, Order::PAYMENT_ACCOUNT))?;
        (field::read_u64(&data, Order::GRID_ESCROW), field::read_u64(&data, Order::PAYMENT_ESCROW))
    };
    vault::pay_out(market, view, to.grid_vault, to.grid_mint, to.grid_account, grid, view.grid_decimals)?;
    vault::pay_out(market, view, to.payment_vault, to.payment_mint, to.payment_account, payment, view.payment_decimals)?;

    // Anchor's `close = owner`: the lamports to the owner, the account emptied and given back
    // to the System program.
    let lamports = owner.lamports().checked_add(order.lamports()).ok_or(pinocchio::error::ProgramError::ArithmeticOverflow)?;
    owner.set_lamports(lamports);
    order.set_lamports(0);
    order.close()?;

    let mut data = epoch.try_borrow_mut()?;
    let live = Epoch::u32_at(&data, Epoch::LIVE_ORDERS).saturating_sub(1);
    Epoch::set_u32(&mut data, Epoch::LIVE_ORDERS, live);
    Ok(())
}
