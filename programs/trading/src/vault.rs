//! The market's vaults: token accounts at program addresses `["vault", market, mint]` whose
//! token-program owner is the market account, which signs for them with its own seeds.

use crate::state::{MarketView, MARKET_SEED};
use pinocchio::{
    cpi::{invoke_signed, Seed, Signer},
    instruction::{InstructionAccount, InstructionView},
    AccountView, Address, ProgramResult,
};
use program_support::token;

/// `InitializeAccount3` (18): makes `vault` (already allocated to the token program) a token
/// account of `mint` owned by `owner`. No rent sysvar account is needed.
#[inline(always)]
pub fn initialize(vault: &AccountView, mint: &AccountView, owner: &Address) -> ProgramResult {
    let metas = [InstructionAccount::writable(vault.address()), InstructionAccount::readonly(mint.address())];
    let mut data = [0u8; 33];
    data[0] = 18;
    data[1..].copy_from_slice(owner.as_ref());
    let instruction = InstructionView { program_id: &token::ID, accounts: &metas, data: &data };
    invoke_signed(&instruction, &[vault, mint], &[])
}

/// Moves `amount` of `mint` out of `vault` to `to` (`TransferChecked`, signed by the market's
/// seeds). Nothing happens for 0.
#[inline(always)]
pub fn pay_out(
    market: &AccountView,
    view: &MarketView,
    vault: &AccountView,
    mint: &AccountView,
    to: &AccountView,
    amount: u64,
    decimals: u8,
) -> ProgramResult {
    if amount == 0 {
        return Ok(());
    }
    let seeds = [Seed::from(MARKET_SEED), Seed::from(&view.id_le), Seed::from(&view.bump)];
    token::transfer_checked(vault, mint, to, market, amount, decimals, &[Signer::from(&seeds)])
}
