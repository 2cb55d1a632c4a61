//! The core crate's `money` arithmetic run on chain: given a trade and the amounts the engine
//! computed for it off chain (or that it refused it), succeeds only when the chain computes the
//! same. The trading program settles with these very functions; this program lets a test prove
//! on SBF that on-chain and off-chain amounts agree to the base unit.
#![no_std]
use gridmatch_core::money::{notional, split, FeePayer, Rounding};
use pinocchio::{error::ProgramError, no_allocator, nostd_panic_handler, program_entrypoint};
use pinocchio::{AccountView, Address, ProgramResult};
use program_support as _;

program_entrypoint!(process, 8);
no_allocator!();
nostd_panic_handler!();

fn word<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&data[at..at + N]);
    out
}

/// qty u64, price i64, bps u16, payer u8, rounding u8, ok u8, then the expected
/// buyer_pays, seller_receives, buyer_fee, seller_fee as i128: Ok when the chain agrees.
pub fn process(_id: &Address, _accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    if data.len() != 8 + 8 + 2 + 3 + 64 {
        return Err(ProgramError::InvalidInstructionData);
    }
    let n = notional(u64::from_le_bytes(word(data, 0)), i64::from_le_bytes(word(data, 8)));
    let payer = [FeePayer::Buyer, FeePayer::Seller, FeePayer::Split][data[18] as usize % 3];
    let rounding = [Rounding::Down, Rounding::Up, Rounding::HalfEven][data[19] as usize % 3];
    let expected = [21, 37, 53, 69].map(|at| i128::from_le_bytes(word(data, at)));
    match (split(n, u16::from_le_bytes(word(data, 16)), payer, rounding), data[20]) {
        (Err(_), 0) => Ok(()),
        (Ok(t), 1) if [t.buyer_pays, t.seller_receives, t.buyer_fee, t.seller_fee] == expected => Ok(()),
        _ => Err(ProgramError::Custom(3)),
    }
}
