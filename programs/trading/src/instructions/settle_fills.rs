//! `settle_fills(start: u32, fills: Vec<Fill>, next_hash: [u8; 32])`: the operator settles the
//! posted fills `start..start + fills.len()` of a cleared epoch, each checked on chain and paid
//! out of the vaults by `TransferChecked` signed by the market:
//!
//! - the batch is the next one: `start` is the number settled so far (a replay is
//!   `FillAlreadySettled`, a gap `FillOutOfOrder`), and it is in the posted list: hashing its
//!   records back from `next_hash` (the chain's head after it, all zeroes after the last fill)
//!   reaches the epoch's cursor (`FillsHashMismatch`);
//! - each fill's price is the posted price, the bid's limit is at least the price and the ask's
//!   at most, its quantity is positive and within what both orders have left;
//! - the GRID (`qty * lot`) goes to the buyer; at a price >= 0 the bid's escrow pays the seller
//!   and the fee, below 0 the ask's escrow pays the buyer and the fee (`amounts::movement`, the
//!   core's `money`); the batch's fees go to the treasury in one transfer.
//!
//! The last batch settles the epoch, once the settled volume equals the posted one. Refused while
//! paused. `Fill { qty: u64, price: i64 }` (the records also carry both orders' ids, read from
//! the order accounts).
//!
//! Accounts: `market`, `epoch` (mut), `operator` (signer, the market's operator), `governance`,
//! `grid_vault` (mut), `payment_vault` (mut), `treasury` (mut), `grid_mint`, `payment_mint`,
//! `token_program`; then for each fill four more: the buy order (mut), the sell order (mut), the
//! buyer's GRID account (mut, the one the bid named) and the payee's payment account (mut: the
//! one the ask named at a price >= 0, else the one the bid named).

use crate::amounts;
use crate::checks;
use crate::error::TradingError;
use crate::state::{chain_link, fill_record, Epoch, EpochState, Order, Side};
use crate::vault;
use pinocchio::{error::ProgramError, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::sys::log;
use program_support::token;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("settle_fills");

/// Accounts before the fills' own.
pub const FIXED_ACCOUNTS: usize = 10;
/// Accounts per fill.
pub const FILL_ACCOUNTS: usize = 4;
/// Bytes of one `Fill` argument.
const FILL_LEN: usize = 16;

#[inline(always)]
fn fill_at(fills: &[u8], j: usize) -> (u64, i64) {
    let at = j * FILL_LEN;
    (field::read_u64(fills, at), field::read_i64(fills, at + 8))
}

#[inline(always)]
fn sub(a: u64, b: u64) -> Result<u64, ProgramError> {
    a.checked_sub(b).ok_or_else(|| TradingError::EscrowShortfall.into())
}

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: SettleFills");
    if accounts.len() < FIXED_ACCOUNTS {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    }
    let (fixed, rest) = accounts.split_at_mut(FIXED_ACCOUNTS);
    let [market, epoch, operator, governance, grid_vault, payment_vault, treasury, grid_mint, payment_mint, token_program] =
        fixed
    else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    // start u32, Vec<Fill> (u32 length, then 16 bytes a fill), next_hash [u8; 32]
    let mut head = Reader::new(args);
    let start = head.u32()?;
    let n = head.u32()? as usize;
    let fills_end = 8 + n * FILL_LEN;
    if args.len() != fills_end + 32 {
        return Err(ErrorCode::InstructionDidNotDeserialize.into());
    }
    let fills = &args[8..fills_end];
    let mut next_hash = [0u8; 32];
    next_hash.copy_from_slice(&args[fills_end..]);
    if rest.len() < n * FILL_ACCOUNTS {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    }

    let view = checks::market(market, program_id)?;
    checks::epoch(epoch, market, program_id)?;
    accounts::writable(epoch)?;
    checks::operator(operator, &view)?;
    checks::not_paused(governance)?;
    checks::is(grid_vault, &view.grid_vault)?;
    checks::is(payment_vault, &view.payment_vault)?;
    checks::is(treasury, &view.treasury)?;
    checks::is(grid_mint, &view.grid_mint)?;
    checks::is(payment_mint, &view.payment_mint)?;
    token::program(token_program)?;

    // Where settlement stands.
    let (price, volume, fill_count, settled_count, settled_volume, cursor) = {
        let data = epoch.try_borrow()?;
        let state = Epoch::state(&data);
        if state != EpochState::Cleared as u8 && state != EpochState::Settled as u8 {
            return Err(TradingError::EpochNotCleared.into());
        }
        let mut cursor = [0u8; 32];
        cursor.copy_from_slice(&data[Epoch::CURSOR..Epoch::CURSOR + 32]);
        (
            field::read_i64(&data, Epoch::PRICE),
            field::read_u64(&data, Epoch::VOLUME),
            Epoch::u32_at(&data, Epoch::FILL_COUNT),
            Epoch::u32_at(&data, Epoch::SETTLED_COUNT),
            field::read_u64(&data, Epoch::SETTLED_VOLUME),
            cursor,
        )
    };
    if start < settled_count || settled_count == fill_count {
        return Err(TradingError::FillAlreadySettled.into());
    }
    if start > settled_count {
        return Err(TradingError::FillOutOfOrder.into());
    }
    if n == 0 {
        return Err(TradingError::InvalidFill.into());
    }
    let end = start as u64 + n as u64;
    if end > fill_count as u64 {
        return Err(TradingError::TooManyFills.into());
    }
    if end == fill_count as u64 && next_hash != [0u8; 32] {
        return Err(TradingError::FillsHashMismatch.into());
    }

    // The batch is the posted list's next part: hash back from `next_hash` to the cursor.
    let mut link = next_hash;
    for j in (0..n).rev() {
        let bid = &rest[j * FILL_ACCOUNTS];
        let ask = &rest[j * FILL_ACCOUNTS + 1];
        checks::order(bid, epoch, program_id)?;
        checks::order(ask, epoch, program_id)?;
        let bid_id = field::read_u64(&bid.try_borrow()?, Order::ORDER_ID);
        let ask_id = field::read_u64(&ask.try_borrow()?, Order::ORDER_ID);
        let (qty, fill_price) = fill_at(fills, j);
        link = chain_link(&fill_record(bid_id, ask_id, qty, fill_price), &link);
    }
    if link != cursor {
        return Err(TradingError::FillsHashMismatch.into());
    }

    let mut batch_volume = 0u64;
    let mut fees = 0u64;
    for j in 0..n {
        let (qty, fill_price) = fill_at(fills, j);
        let group = &mut rest[j * FILL_ACCOUNTS..(j + 1) * FILL_ACCOUNTS];
        let [bid, ask, buyer_grid, payee] = group else {
            return Err(ErrorCode::AccountNotEnoughKeys.into());
        };
        accounts::writable(bid)?;
        accounts::writable(ask)?;
        if qty == 0 {
            return Err(TradingError::InvalidFill.into());
        }
        if fill_price != price {
            return Err(TradingError::FillPriceMismatch.into());
        }
        let m = amounts::movement(qty, price, &view.terms)?;
        {
            let mut bid_data = bid.try_borrow_mut()?;
            let mut ask_data = ask.try_borrow_mut()?;
            if bid_data[Order::SIDE] != Side::Buy as u8 || ask_data[Order::SIDE] != Side::Sell as u8 {
                return Err(TradingError::InvalidFill.into());
            }
            if field::read_i64(&bid_data, Order::LIMIT_PRICE) < price || price < field::read_i64(&ask_data, Order::LIMIT_PRICE) {
                return Err(TradingError::FillThroughLimit.into());
            }
            let bid_filled = field::read_u64(&bid_data, Order::FILLED);
            let ask_filled = field::read_u64(&ask_data, Order::FILLED);
            if qty > field::read_u64(&bid_data, Order::QTY) - bid_filled
                || qty > field::read_u64(&ask_data, Order::QTY) - ask_filled
            {
                return Err(TradingError::OrderOverfilled.into());
            }
            checks::is(buyer_grid, field::read_address(&bid_data, Order::GRID_ACCOUNT))?;
            let payee_account = if price >= 0 { &ask_data } else { &bid_data };
            checks::is(payee, field::read_address(payee_account, Order::PAYMENT_ACCOUNT))?;
            // filled <= qty, so neither sum overflows.
            field::write_u64(&mut bid_data, Order::FILLED, bid_filled + qty);
            field::write_u64(&mut ask_data, Order::FILLED, ask_filled + qty);
            let ask_grid = sub(field::read_u64(&ask_data, Order::GRID_ESCROW), m.grid)?;
            field::write_u64(&mut ask_data, Order::GRID_ESCROW, ask_grid);
            let bid_payment = sub(field::read_u64(&bid_data, Order::PAYMENT_ESCROW), m.from_bid)?;
            field::write_u64(&mut bid_data, Order::PAYMENT_ESCROW, bid_payment);
            let ask_payment = sub(field::read_u64(&ask_data, Order::PAYMENT_ESCROW), m.from_ask)?;
            field::write_u64(&mut ask_data, Order::PAYMENT_ESCROW, ask_payment);
        }
        vault::pay_out(market, &view, grid_vault, grid_mint, buyer_grid, m.grid, view.grid_decimals)?;
        vault::pay_out(market, &view, payment_vault, payment_mint, payee, m.payment, view.payment_decimals)?;
        // Volumes are at most the posted u64 volume and fees at most what the escrows held.
        batch_volume = batch_volume.checked_add(qty).ok_or(TradingError::VolumeMismatch)?;
        fees = fees.checked_add(m.fee).ok_or(TradingError::AmountOverflow)?;
    }
    vault::pay_out(market, &view, payment_vault, payment_mint, treasury, fees, view.payment_decimals)?;

    let settled_volume = settled_volume.checked_add(batch_volume).ok_or(TradingError::VolumeMismatch)?;
    let done = end == fill_count as u64;
    if settled_volume > volume || (done && settled_volume != volume) {
        return Err(TradingError::VolumeMismatch.into());
    }
    let mut data = epoch.try_borrow_mut()?;
    Epoch::set_u32(&mut data, Epoch::SETTLED_COUNT, end as u32);
    field::write_u64(&mut data, Epoch::SETTLED_VOLUME, settled_volume);
    data[Epoch::CURSOR..Epoch::CURSOR + 32].copy_from_slice(&next_hash);
    let total_fees = field::read_u64(&data, Epoch::FEES).checked_add(fees).ok_or(TradingError::AmountOverflow)?;
    field::write_u64(&mut data, Epoch::FEES, total_fees);
    if done {
        Epoch::set_state(&mut data, EpochState::Settled);
    }
    Ok(())
}
