//! `initialize_market(market_id: u64, operator: Pubkey, lot: u64, tick: u64, fee_payer: FeePayer,
//! fee_rounding: Rounding, epoch_seconds: u32, settle_deadline: u32)`: a governance authority
//! creates a `Market` and its two vaults (GRID and payment) owned by the market account. GRID
//! must be energy_token's mint: its mint authority is energy_token's `["mint_authority"]`, so
//! the market trades only energy the oracle metered.
//!
//! Accounts: `market` (mut, PDA `["market", market_id]`), `grid_mint`, `payment_mint`,
//! `grid_vault` (mut, PDA `["vault", market, grid_mint]`), `payment_vault` (mut, PDA
//! `["vault", market, payment_mint]`), `treasury` (a token account of the payment mint: the
//! fees' destination), `governance` (the config), `authority` (mut, signer, one of governance's
//! authorities, pays the rent), `system_program`, `token_program`.

use crate::checks;
use crate::error::TradingError;
use crate::state::{FEE_PAYERS, GRID_MINT_AUTHORITY, MARKET_SEED, Market, ROUNDINGS, VAULT_SEED, write_u32};
use crate::vault;
use pinocchio::{cpi::Seed, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::{instruction_discriminator, ErrorCode};
use program_support::borsh::{field, Reader};
use program_support::sys::log;
use program_support::token;

pub const DISCRIMINATOR: [u8; 8] = instruction_discriminator("initialize_market");

#[inline(always)]
fn mint_decimals(mint: &AccountView, authority: Option<&Address>) -> Result<u8, pinocchio::error::ProgramError> {
    token::owned_account(mint, token::mint::LEN)?;
    let data = mint.try_borrow()?;
    if !token::mint::is_initialized(&data) {
        return Err(ErrorCode::AccountDidNotDeserialize.into());
    }
    if let Some(authority) = authority {
        if token::mint::mint_authority(&data) != Some(authority.as_array()) {
            return Err(TradingError::NotEnergyTokenMint.into());
        }
    }
    Ok(token::mint::decimals(&data))
}

pub fn process(program_id: &Address, accounts: &mut [AccountView], args: &[u8]) -> ProgramResult {
    log("Instruction: InitializeMarket");
    let [market, grid_mint, payment_mint, grid_vault, payment_vault, treasury, governance, authority, system_program, token_program, ..] =
        accounts
    else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let mut args = Reader::new(args);
    let market_id = args.u64()?;
    let operator = args.address()?;
    let lot = args.u64()?;
    let tick = args.u64()?;
    let fee_payer = args.variant(FEE_PAYERS)?;
    let fee_rounding = args.variant(ROUNDINGS)?;
    let epoch_seconds = args.u32()?;
    let settle_deadline = args.u32()?;
    args.finish()?;
    if lot == 0 || tick == 0 || epoch_seconds == 0 || settle_deadline == 0 || grid_mint.address() == payment_mint.address() {
        return Err(TradingError::InvalidMarketParameter.into());
    }

    accounts::writable(market)?;
    accounts::writable(grid_vault)?;
    accounts::writable(payment_vault)?;
    checks::governance_authority(governance, authority)?;
    accounts::writable(authority)?;
    accounts::system_program(system_program)?;
    token::program(token_program)?;
    let grid_decimals = mint_decimals(grid_mint, Some(&GRID_MINT_AUTHORITY))?;
    let payment_decimals = mint_decimals(payment_mint, None)?;
    checks::token_account(treasury, payment_mint.address().as_array(), None)?;

    accounts::uninitialized(market, program_id)?;
    accounts::uninitialized(grid_vault, program_id)?;
    accounts::uninitialized(payment_vault, program_id)?;
    let id_le = market_id.to_le_bytes();
    let bump = accounts::find_pda(market, &[MARKET_SEED, &id_le], program_id)?;
    let market_key = market.address().as_ref();
    let grid_bump = accounts::find_pda(grid_vault, &[VAULT_SEED, market_key, grid_mint.address().as_ref()], program_id)?;
    let payment_bump =
        accounts::find_pda(payment_vault, &[VAULT_SEED, market_key, payment_mint.address().as_ref()], program_id)?;

    let bump_seed = [bump];
    accounts::create_pda(
        authority,
        market,
        Market::LEN,
        program_id,
        &[Seed::from(MARKET_SEED), Seed::from(&id_le), Seed::from(&bump_seed)],
    )?;
    for (vault_account, mint, vault_bump) in [(&*grid_vault, &*grid_mint, grid_bump), (&*payment_vault, &*payment_mint, payment_bump)] {
        let vault_bump = [vault_bump];
        accounts::create_pda(
            authority,
            vault_account,
            token::account::LEN,
            &token::ID,
            &[Seed::from(VAULT_SEED), Seed::from(market.address().as_ref()), Seed::from(mint.address().as_ref()), Seed::from(&vault_bump)],
        )?;
        vault::initialize(vault_account, mint, market.address())?;
    }

    let mut data = market.try_borrow_mut()?;
    data[..8].copy_from_slice(&Market::DISCRIMINATOR);
    field::write_u64(&mut data, Market::MARKET_ID, market_id);
    field::write_address(&mut data, Market::OPERATOR, &operator);
    field::write_address(&mut data, Market::GRID_MINT, grid_mint.address());
    field::write_address(&mut data, Market::PAYMENT_MINT, payment_mint.address());
    field::write_address(&mut data, Market::GRID_VAULT, grid_vault.address());
    field::write_address(&mut data, Market::PAYMENT_VAULT, payment_vault.address());
    field::write_address(&mut data, Market::TREASURY, treasury.address());
    field::write_u64(&mut data, Market::LOT, lot);
    field::write_u64(&mut data, Market::TICK, tick);
    data[Market::FEE_PAYER] = fee_payer;
    data[Market::FEE_ROUNDING] = fee_rounding;
    write_u32(&mut data, Market::EPOCH_SECONDS, epoch_seconds);
    write_u32(&mut data, Market::SETTLE_DEADLINE, settle_deadline);
    data[Market::GRID_DECIMALS] = grid_decimals;
    data[Market::PAYMENT_DECIMALS] = payment_decimals;
    data[Market::BUMP] = bump;
    Ok(())
}
