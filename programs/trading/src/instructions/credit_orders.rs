//! `credit_orders(filled: Vec<u64>, next_hash: [u8; 32])`: credits the next results of a posted
//! epoch, one order (a writable remaining account) per entry of `filled`. Anyone may send it:
//! the results are checked against the operator's commitment, not against who sends them, so an
//! operator that posted and vanished cannot stall the epoch. Refused while paused.
//!
//! The batch is a part of the posted list: hashing back from `next_hash` over
//! `(order address, filled)` must reach the epoch's cursor, at its first order or at a later
//! one when the ones before were credited already. So a batch never fails because someone
//! credited some or all of it first: what is left is credited, and a batch credited whole is a
//! no-op. Each order is checked (of this
//! epoch, credited once, `0 < filled <= qty`, the price within its limit) and credited its dues
//! (`amounts::dues`); no token moves. The batch that credits the last result checks that the
//! buys and the sells both add up to the posted volume, finalises the epoch and adds its fees
//! to the market's `fees_due`.
//!
//! Accounts: `market` (mut), `epoch` (mut), `governance`, then the orders (mut).

use crate::amounts;
use crate::checks;
use crate::error::TradingError;
use crate::state::{Epoch, EpochState, Market, Order, Side, read_u32, result_link, write_u32};
use pinocchio::{error::ProgramError, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("credit_orders");

/// Accounts before the orders.
pub const FIXED_ACCOUNTS: usize = 3;

#[inline(always)]
fn add(a: u64, b: u64) -> Result<u64, ProgramError> {
    a.checked_add(b).ok_or_else(|| TradingError::VolumeMismatch.into())
}

/// The first `n` results of a batch are credited already, exactly as it says (someone sent this
/// part of the chain first), else the batch is not the posted list.
#[inline(always)]
fn already_credited(orders: &[AccountView], n: usize, filled: &[u8], epoch: &AccountView, program_id: &Address) -> ProgramResult {
    for (j, order) in orders[..n].iter().enumerate() {
        let credited = checks::order(order, epoch, program_id).is_ok() && {
            let data = order.try_borrow()?;
            data[Order::CREDITED] != 0 && field::read_u64(&data, Order::FILLED) == field::read_u64(filled, 8 * j)
        };
        if !credited {
            return Err(TradingError::ResultsHashMismatch.into());
        }
    }
    Ok(())
}

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    // No "Instruction: ..." log line on the per-order paths: it costs 105 units an order.
    if accounts.len() < FIXED_ACCOUNTS {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    }
    let (fixed, orders) = accounts.split_at_mut(FIXED_ACCOUNTS);
    let [market, epoch, governance] = fixed else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    // Vec<u64> (u32 length, then 8 bytes each), next_hash [u8; 32]
    let n = Reader::new(args).u32()? as usize;
    let filled_end = n.checked_mul(8).and_then(|b| b.checked_add(4)).ok_or(ErrorCode::InstructionDidNotDeserialize)?;
    if args.len() != filled_end + 32 {
        return Err(ErrorCode::InstructionDidNotDeserialize.into());
    }
    let filled = &args[4..filled_end];
    let mut next_hash = [0u8; 32];
    next_hash.copy_from_slice(&args[filled_end..]);
    if orders.len() < n {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    }
    if n == 0 {
        return Err(TradingError::InvalidResult.into());
    }

    let view = checks::market(market, program_id)?;
    accounts::writable(market)?;
    checks::epoch(epoch, market, program_id)?;
    accounts::writable(epoch)?;
    checks::not_paused(governance)?;

    // Where the batch meets the cursor: orders `start..n` are the next results to credit, and
    // `0..start` were credited already (by anyone). None of it left: a no-op.
    let (start, price, volume, fee_bps, result_count, credited, mut bought, mut sold, mut fees) = {
        let data = epoch.try_borrow()?;
        let posted = Epoch::state(&data) == EpochState::Posted as u8;
        if !posted && Epoch::state(&data) != EpochState::Finalised as u8 {
            return Err(TradingError::EpochNotPosted.into());
        }
        let cursor = &data[Epoch::CURSOR..Epoch::CURSOR + 32];
        let mut start = None;
        let mut link = next_hash;
        if posted {
            if link == cursor {
                start = Some(n);
            }
            let mut j = n;
            while start.is_none() && j > 0 {
                j -= 1;
                link = result_link(orders[j].address().as_array(), field::read_u64(filled, 8 * j), &link);
                if link == cursor {
                    start = Some(j);
                }
            }
        }
        let Some(start) = start else {
            drop(data);
            return already_credited(orders, n, filled, epoch, program_id);
        };
        (
            start,
            field::read_i64(&data, Epoch::PRICE),
            field::read_u64(&data, Epoch::VOLUME),
            Epoch::fee_bps(&data),
            read_u32(&data, Epoch::RESULT_COUNT),
            read_u32(&data, Epoch::CREDITED_COUNT),
            field::read_u64(&data, Epoch::BOUGHT),
            field::read_u64(&data, Epoch::SOLD),
            field::read_u64(&data, Epoch::FEES),
        )
    };
    // The part before the cursor must be credited already, exactly as the batch says.
    already_credited(orders, start, filled, epoch, program_id)?;
    if start == n {
        return Ok(());
    }
    let credited = credited as u64 + (n - start) as u64;
    if credited > result_count as u64 {
        return Err(TradingError::TooManyResults.into());
    }
    let done = credited == result_count as u64;
    if done != (next_hash == [0u8; 32]) {
        return Err(TradingError::ResultsHashMismatch.into());
    }

    let terms = view.terms(fee_bps);
    for (j, order) in orders[..n].iter_mut().enumerate().skip(start) {
        let qty = field::read_u64(filled, 8 * j);
        checks::order(order, epoch, program_id)?;
        accounts::writable(order)?;
        let mut data = order.try_borrow_mut()?;
        if data[Order::CREDITED] != 0 {
            return Err(TradingError::OrderAlreadyCredited.into());
        }
        if qty == 0 {
            return Err(TradingError::InvalidResult.into()); // an order that did not fill has no result
        }
        if qty > field::read_u64(&data, Order::QTY) {
            return Err(TradingError::OrderOverfilled.into());
        }
        let sell = data[Order::SIDE] == Side::Sell as u8;
        let limit = field::read_i64(&data, Order::LIMIT_PRICE);
        if (sell && price < limit) || (!sell && price > limit) {
            return Err(TradingError::FillThroughLimit.into());
        }
        let grid_escrow = field::read_u64(&data, Order::GRID_ESCROW);
        let payment_escrow = field::read_u64(&data, Order::PAYMENT_ESCROW);
        let dues = amounts::dues(sell, qty, price, grid_escrow, payment_escrow, &terms)?;
        field::write_u64(&mut data, Order::FILLED, qty);
        field::write_u64(&mut data, Order::GRID_DUE, dues.grid);
        field::write_u64(&mut data, Order::PAYMENT_DUE, dues.payment);
        data[Order::CREDITED] = 1;
        if sell {
            sold = add(sold, qty)?;
        } else {
            bought = add(bought, qty)?;
        }
        fees = fees.checked_add(dues.fee).ok_or(TradingError::AmountOverflow)?;
    }
    if bought > volume || sold > volume || (done && (bought != volume || sold != volume)) {
        return Err(TradingError::VolumeMismatch.into());
    }

    {
        let mut data = epoch.try_borrow_mut()?;
        write_u32(&mut data, Epoch::CREDITED_COUNT, credited as u32);
        data[Epoch::CURSOR..Epoch::CURSOR + 32].copy_from_slice(&next_hash);
        field::write_u64(&mut data, Epoch::BOUGHT, bought);
        field::write_u64(&mut data, Epoch::SOLD, sold);
        field::write_u64(&mut data, Epoch::FEES, fees);
        if done {
            Epoch::set_state(&mut data, EpochState::Finalised);
        }
    }
    if done {
        let mut data = market.try_borrow_mut()?;
        let due = field::read_u64(&data, Market::FEES_DUE).checked_add(fees).ok_or(TradingError::AmountOverflow)?;
        field::write_u64(&mut data, Market::FEES_DUE, due);
    }
    Ok(())
}
