//! What `cancel_order` and `claim` share: an order's amounts go out of the vaults to the owner's
//! token accounts, and the order account is closed (its rent to the owner).
//!
//! Destinations: an owner that signs names any token accounts of the market's mints (its
//! recorded account may be closed, frozen or lost); anyone else can only pay the accounts the
//! order recorded. A destination is checked only when something is paid to it, so a closed
//! account that is owed nothing blocks nothing.

use crate::checks;
use crate::state::{Epoch, MarketView, Order, read_u32, write_u32};
use crate::vault;
use pinocchio::{error::ProgramError, AccountView, ProgramResult};
use program_support::accounts;
use program_support::anchor::ErrorCode;
use program_support::borsh::field;
use program_support::token;

/// Where an order's amounts go and come from.
pub struct Payout<'a> {
    pub grid_destination: &'a AccountView,
    pub payment_destination: &'a AccountView,
    pub grid_vault: &'a AccountView,
    pub payment_vault: &'a AccountView,
    pub grid_mint: &'a AccountView,
    pub payment_mint: &'a AccountView,
    pub token_program: &'a AccountView,
}

/// The accounts both instructions take, in their order: `market`, `epoch` (mut), `order` (mut),
/// `owner` (mut), then the [`Payout`]'s.
pub struct Accounts<'a> {
    pub market: &'a AccountView,
    pub epoch: &'a mut AccountView,
    pub order: &'a mut AccountView,
    pub owner: &'a mut AccountView,
    pub to: Payout<'a>,
}

impl<'a> Accounts<'a> {
    #[inline(always)]
    pub fn split(accounts: &'a mut [AccountView]) -> Result<Self, ProgramError> {
        let [market, epoch, order, owner, grid_destination, payment_destination, grid_vault, payment_vault, grid_mint, payment_mint, token_program, ..] =
            accounts
        else {
            return Err(ErrorCode::AccountNotEnoughKeys.into());
        };
        let to = Payout { grid_destination, payment_destination, grid_vault, payment_vault, grid_mint, payment_mint, token_program };
        Ok(Self { market, epoch, order, owner, to })
    }
}

/// `destination` may receive `mint`: the recorded account, or (the owner signed) any token
/// account of `mint` but the market's vaults.
#[inline(always)]
fn destination(
    destination: &AccountView,
    recorded: &[u8; 32],
    mint: &[u8; 32],
    owner_signed: bool,
    view: &MarketView,
) -> ProgramResult {
    if !owner_signed {
        return checks::is(destination, recorded);
    }
    let address = destination.address().as_array();
    if address == &view.grid_vault || address == &view.payment_vault {
        return Err(ErrorCode::ConstraintAddress.into());
    }
    checks::token_account(destination, mint, None)
}

/// Pays `(grid, payment)` to the destinations and closes the order.
#[inline(always)]
pub fn pay_and_close(a: Accounts, view: &MarketView, (grid, payment): (u64, u64)) -> ProgramResult {
    let Accounts { market, epoch, order, owner, to } = a;
    accounts::writable(epoch)?;
    accounts::writable(order)?;
    accounts::writable(owner)?;
    checks::is(to.grid_vault, &view.grid_vault)?;
    checks::is(to.payment_vault, &view.payment_vault)?;
    checks::is(to.grid_mint, &view.grid_mint)?;
    checks::is(to.payment_mint, &view.payment_mint)?;
    token::program(to.token_program)?;
    let signed = owner.is_signer();
    {
        let data = order.try_borrow()?;
        if grid > 0 {
            destination(to.grid_destination, field::read_address(&data, Order::GRID_ACCOUNT), &view.grid_mint, signed, view)?;
        }
        if payment > 0 {
            let recorded = field::read_address(&data, Order::PAYMENT_ACCOUNT);
            destination(to.payment_destination, recorded, &view.payment_mint, signed, view)?;
        }
    }
    vault::pay_out(market, view, to.grid_vault, to.grid_mint, to.grid_destination, grid, view.grid_decimals)?;
    vault::pay_out(market, view, to.payment_vault, to.payment_mint, to.payment_destination, payment, view.payment_decimals)?;

    // Anchor's `close = owner`: the lamports to the owner, the account emptied and given back
    // to the System program.
    let lamports = owner.lamports().checked_add(order.lamports()).ok_or(ProgramError::ArithmeticOverflow)?;
    owner.set_lamports(lamports);
    order.set_lamports(0);
    order.close()?;

    let mut data = epoch.try_borrow_mut()?;
    let live = read_u32(&data, Epoch::LIVE_ORDERS).saturating_sub(1);
    write_u32(&mut data, Epoch::LIVE_ORDERS, live);
    Ok(())
}
