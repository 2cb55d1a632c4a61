//! `place_order(order_id: u64, side: Side, limit_price: i64, qty: u64)`: a registered, active
//! participant (a prosumer to sell) places a limit order in an open epoch, escrowing in the
//! market's vaults what the order can cost at worst (`amounts::escrow`, at the epoch's fee): a
//! seller its GRID (`qty * lot`), a buyer the payment for `qty` at its limit plus the fee. The
//! order records the owner's token accounts it escrowed from: a cranked claim pays to them.
//!
//! Accounts: `market`, `epoch` (mut), `order` (mut, PDA `["order", epoch, owner, order_id]`),
//! `participant` (the owner's registry account), `governance` (the governance config: refused
//! while paused), `owner` (mut, signer, pays the rent), `grid_account` (mut, the owner's GRID
//! token account), `payment_account` (mut, the owner's payment token account), `grid_vault`
//! (mut), `payment_vault` (mut), `grid_mint`, `payment_mint`, `token_program`, `system_program`.

use crate::amounts;
use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState, ORDER_SEED, Order, Side, read_u32, write_u32};
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::token;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("place_order");

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    // No "Instruction: ..." log line on the per-order paths: it costs 105 units an order.
    let [market, epoch, order, participant, governance, owner, grid_account, payment_account, grid_vault, payment_vault, grid_mint, payment_mint, token_program, system_program, ..] =
        accounts
    else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let order_id = args.u64()?;
    let sells = args.variant(2)? == Side::Sell as u8;
    let limit_price = args.i64()?;
    let qty = args.u64()?;
    args.finish()?;

    let view = checks::market(market, program_id)?;
    checks::epoch(epoch, market, program_id)?;
    accounts::writable(epoch)?;
    accounts::writable(order)?;
    accounts::signer(owner)?;
    accounts::writable(owner)?;
    accounts::writable(grid_vault)?;
    accounts::writable(payment_vault)?;
    checks::not_paused(governance)?;
    let fee_bps = {
        let data = epoch.try_borrow()?;
        if Epoch::state(&data) != EpochState::Open as u8 {
            return Err(TradingError::EpochNotOpen.into());
        }
        Epoch::fee_bps(&data)
    };
    checks::participant(participant, owner, sells)?;
    checks::is(grid_mint, &view.grid_mint)?;
    checks::is(payment_mint, &view.payment_mint)?;
    checks::is(grid_vault, &view.grid_vault)?;
    checks::is(payment_vault, &view.payment_vault)?;
    checks::token_account(grid_account, &view.grid_mint, Some(owner.address().as_array()))?;
    checks::token_account(payment_account, &view.payment_mint, Some(owner.address().as_array()))?;
    token::program(token_program)?;
    accounts::system_program(system_program)?;
    if qty == 0 {
        return Err(TradingError::InvalidOrder.into());
    }
    let escrow = amounts::escrow(sells, limit_price, qty, &view.terms(fee_bps))?;

    accounts::uninitialized(order, program_id)?;
    let id_le = order_id.to_le_bytes();
    let (epoch_key, owner_key) = (epoch.address().as_ref(), owner.address().as_ref());
    let bump = accounts::find_pda(order, &[ORDER_SEED, epoch_key, owner_key, &id_le], program_id)?;
    let bump_seed = [bump];
    accounts::create_pda(
        owner,
        order,
        Order::LEN,
        program_id,
        &[Seed::from(ORDER_SEED), Seed::from(epoch_key), Seed::from(owner_key), Seed::from(&id_le), Seed::from(&bump_seed)],
    )?;
    if escrow.grid > 0 {
        token::transfer_checked(grid_account, grid_mint, grid_vault, owner, escrow.grid, view.grid_decimals, &[])?;
    }
    if escrow.payment > 0 {
        token::transfer_checked(payment_account, payment_mint, payment_vault, owner, escrow.payment, view.payment_decimals, &[])?;
    }

    {
        let mut data = order.try_borrow_mut()?;
        data[..8].copy_from_slice(&Order::DISCRIMINATOR);
        field::write_address(&mut data, Order::EPOCH, epoch.address());
        field::write_address(&mut data, Order::OWNER, owner.address());
        field::write_u64(&mut data, Order::ORDER_ID, order_id);
        data[Order::SIDE] = sells as u8;
        field::write_i64(&mut data, Order::LIMIT_PRICE, limit_price);
        field::write_u64(&mut data, Order::QTY, qty);
        field::write_u64(&mut data, Order::GRID_ESCROW, escrow.grid);
        field::write_u64(&mut data, Order::PAYMENT_ESCROW, escrow.payment);
        // filled, the dues and `credited` stay zero (a new account's data is zeroed).
        field::write_address(&mut data, Order::GRID_ACCOUNT, grid_account.address());
        field::write_address(&mut data, Order::PAYMENT_ACCOUNT, payment_account.address());
        data[Order::BUMP] = bump;
    }
    let mut data = epoch.try_borrow_mut()?;
    let placed = read_u32(&data, Epoch::ORDERS_PLACED).checked_add(1).ok_or(TradingError::AmountOverflow)?;
    let live = read_u32(&data, Epoch::LIVE_ORDERS) + 1; // <= placed
    write_u32(&mut data, Epoch::ORDERS_PLACED, placed);
    write_u32(&mut data, Epoch::LIVE_ORDERS, live);
    Ok(())
}
