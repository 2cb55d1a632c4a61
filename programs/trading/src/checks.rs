//! The account checks the instructions share, with Anchor's error numbers where Anchor's
//! generated code would make the same check (`has_one`, `address`, `token::mint`, ...) and the
//! program's own (`TradingError`) for the market's rules.

use crate::error::{TradingError, TOKEN_MINT, TOKEN_OWNER};
use crate::state::{participant, Epoch, Market, MarketView, Order, REGISTRY_ID};
use pinocchio::{error::ProgramError, AccountView, Address, ProgramResult};
use program_support::accounts;
use program_support::anchor::ErrorCode;
use program_support::borsh::field;
use program_support::governance;
use program_support::sys::sha256;
use program_support::token;

/// `has_one`/`address` constraint: `account` is the one `expected` names, else `ConstraintHasOne`
/// (2001).
#[inline(always)]
pub fn is(account: &AccountView, expected: &[u8; 32]) -> ProgramResult {
    if account.address().as_array() == expected {
        Ok(())
    } else {
        Err(ErrorCode::ConstraintHasOne.into())
    }
}

/// `Account<'info, Market>`: the market's fields, copied out.
#[inline(always)]
pub fn market(account: &AccountView, program_id: &Address) -> Result<MarketView, ProgramError> {
    accounts::account(account, program_id, &Market::DISCRIMINATOR, Market::LEN)?;
    Ok(MarketView::read(&account.try_borrow()?))
}

/// `Account<'info, Epoch>` with `has_one = market`.
#[inline(always)]
pub fn epoch(account: &AccountView, market: &AccountView, program_id: &Address) -> ProgramResult {
    accounts::account(account, program_id, &Epoch::DISCRIMINATOR, Epoch::LEN)?;
    if Epoch::market(&account.try_borrow()?) != market.address().as_array() {
        return Err(ErrorCode::ConstraintHasOne.into());
    }
    Ok(())
}

/// `Account<'info, Order>` with `has_one = epoch`.
#[inline(always)]
pub fn order(account: &AccountView, epoch: &AccountView, program_id: &Address) -> ProgramResult {
    accounts::account(account, program_id, &Order::DISCRIMINATOR, Order::LEN)?;
    if field::read_address(&account.try_borrow()?, Order::EPOCH) != epoch.address().as_array() {
        return Err(ErrorCode::ConstraintHasOne.into());
    }
    Ok(())
}

/// The market's operator signed: else `AccountNotSigner` (3010), or `NotOperator` for a signer
/// who is someone else.
#[inline(always)]
pub fn operator(account: &AccountView, market: &MarketView) -> ProgramResult {
    accounts::signer(account)?;
    if account.address().as_array() != &market.operator {
        return Err(TradingError::NotOperator.into());
    }
    Ok(())
}

/// The governance config (owner, address, discriminator: the shared contract) does not pause the
/// market, else `MarketPaused`.
#[inline(always)]
pub fn not_paused(config: &AccountView) -> ProgramResult {
    governance::config(config)?;
    if governance::paused(&config.try_borrow()?) {
        return Err(TradingError::MarketPaused.into());
    }
    Ok(())
}

/// `authority` signed and is one of governance's authorities (the config checked as in
/// [`not_paused`]), else `AccountNotSigner` (3010) or `NotGovernanceAuthority`.
#[inline(always)]
pub fn governance_authority(config: &AccountView, authority: &AccountView) -> ProgramResult {
    accounts::signer(authority)?;
    governance::config(config)?;
    if !governance::is_authority(&config.try_borrow()?, authority.address()) {
        return Err(TradingError::NotGovernanceAuthority.into());
    }
    Ok(())
}

/// `owner`'s registry `Participant` account (owned by the registry, at its program address, with
/// its discriminator and owner): active, and a prosumer when it sells.
#[inline(always)]
pub fn participant(account: &AccountView, owner: &AccountView, sells: bool) -> ProgramResult {
    accounts::account(account, &REGISTRY_ID, &participant::DISCRIMINATOR, participant::LEN)?;
    let data = account.try_borrow()?;
    if field::read_address(&data, participant::OWNER) != owner.address().as_array() {
        return Err(ErrorCode::ConstraintSeeds.into());
    }
    // The program address from the bump the registry stored (one sha256 syscall instead of the
    // 1,500 units of `create_program_address`): the registry only ever creates participants at
    // their canonical address, and this one is owned by it.
    let bump = [data[participant::BUMP]];
    let address = sha256(&[
        participant::SEED,
        owner.address().as_ref(),
        &bump,
        REGISTRY_ID.as_ref(),
        b"ProgramDerivedAddress",
    ]);
    if account.address().as_array() != &address {
        return Err(ErrorCode::ConstraintSeeds.into());
    }
    if data[participant::STATUS] != participant::ACTIVE {
        return Err(TradingError::ParticipantSuspended.into());
    }
    if sells && data[participant::KIND] != participant::PROSUMER {
        return Err(TradingError::NotProsumer.into());
    }
    Ok(())
}

/// `token::mint = mint, token::authority = owner`: an initialised token account of `mint`
/// (else 2014) owned by `owner` (else 2015).
#[inline(always)]
pub fn token_account(account: &AccountView, mint: &[u8; 32], owner: Option<&[u8; 32]>) -> ProgramResult {
    token::owned_account(account, token::account::LEN)?;
    let data = account.try_borrow()?;
    if !token::account::is_initialized(&data) {
        return Err(ErrorCode::AccountDidNotDeserialize.into());
    }
    if token::account::mint(&data) != mint {
        return Err(ProgramError::Custom(TOKEN_MINT));
    }
    if let Some(owner) = owner {
        if token::account::owner(&data) != owner {
            return Err(ProgramError::Custom(TOKEN_OWNER));
        }
    }
    Ok(())
}
