//! The core's money arithmetic for Python: one source of every fee and amount.

use gridmatch_core::money::{self, FeePayer, Rounding};
use pyo3::prelude::*;

use crate::error::{invalid_parameter, Error};

/// (buyer_pays, seller_receives, buyer_fee, seller_fee) of a trade whose notional is
/// `notional` payment base units, with a fee of `fee_bps` paid by `payer` ("buyer", "seller",
/// "split"), rounded once (`rounding`: "down", "up", "half_even").
#[pyfunction]
#[pyo3(signature = (notional, *, fee_bps, payer, rounding))]
pub fn split_trade(notional: i128, fee_bps: u16, payer: &str, rounding: &str) -> PyResult<(i128, i128, i128, i128)> {
    let payer = FeePayer::from_name(payer)
        .ok_or_else(|| invalid_parameter("fee_payer", format!("{payer:?}"), "expected buyer, seller or split"))?;
    let rounding = Rounding::from_name(rounding)
        .ok_or_else(|| invalid_parameter("fee_rounding", format!("{rounding:?}"), "expected down, up or half_even"))?;
    let t = money::split(notional, fee_bps, payer, rounding).map_err(Error)?;
    Ok((t.buyer_pays, t.seller_receives, t.buyer_fee, t.seller_fee))
}
