//! The checks Anchor's `#[derive(Accounts)]` makes, with its error numbers, and the creation of
//! program-derived accounts by CPI into the System program.

use crate::anchor::{ErrorCode, DISCRIMINATOR_LEN};
use pinocchio::{
    cpi::{Seed, Signer},
    error::ProgramError,
    AccountView, Address, ProgramResult,
};
use pinocchio_system::instructions::{Allocate, Assign, CreateAccount, Transfer};

/// The System program's address.
pub const SYSTEM_PROGRAM_ID: Address = pinocchio_system::ID;

/// `Signer<'info>`: the account signed the transaction, else `AccountNotSigner` (3010).
#[inline(always)]
pub fn signer(account: &AccountView) -> ProgramResult {
    if account.is_signer() {
        Ok(())
    } else {
        Err(ErrorCode::AccountNotSigner.into())
    }
}

/// `#[account(mut)]`: the account is writable, else `ConstraintMut` (2000).
#[inline(always)]
pub fn writable(account: &AccountView) -> ProgramResult {
    if account.is_writable() {
        Ok(())
    } else {
        Err(ErrorCode::ConstraintMut.into())
    }
}

/// `Program<'info, System>`: the System program, else `InvalidProgramId` (3008).
#[inline(always)]
pub fn system_program(account: &AccountView) -> ProgramResult {
    if account.address() == &SYSTEM_PROGRAM_ID {
        Ok(())
    } else {
        Err(ErrorCode::InvalidProgramId.into())
    }
}

/// `Account<'info, T>`: owned by `program_id` (else 3007), starts with `discriminator` (else 3001
/// when shorter than one, 3002 when different) and holds at least `len` bytes (else 3003).
#[inline(always)]
pub fn account(
    account: &AccountView,
    program_id: &Address,
    discriminator: &[u8; DISCRIMINATOR_LEN],
    len: usize,
) -> ProgramResult {
    if !account.owned_by(program_id) {
        return Err(ErrorCode::AccountOwnedByWrongProgram.into());
    }
    let data = account.try_borrow()?;
    if data.len() < DISCRIMINATOR_LEN {
        return Err(ErrorCode::AccountDiscriminatorNotFound.into());
    }
    if &data[..DISCRIMINATOR_LEN] != discriminator {
        return Err(ErrorCode::AccountDiscriminatorMismatch.into());
    }
    if data.len() < len {
        return Err(ErrorCode::AccountDidNotDeserialize.into());
    }
    Ok(())
}

/// `#[account(init, ...)]` precondition: the account does not exist yet. One this program already
/// initialised is `AccountDiscriminatorAlreadySet` (3000); one owned by another program or
/// holding data is `AccountNotSystemOwned` (3011). Lamports alone (a prefunded address) are fine.
#[inline(always)]
pub fn uninitialized(account: &AccountView, program_id: &Address) -> ProgramResult {
    if account.owned_by(program_id) {
        return Err(ErrorCode::AccountDiscriminatorAlreadySet.into());
    }
    if !account.owned_by(&SYSTEM_PROGRAM_ID) || !account.is_data_empty() {
        return Err(ErrorCode::AccountNotSystemOwned.into());
    }
    Ok(())
}

/// `seeds = [...], bump`: `account` is the canonical program address of `seeds` under
/// `program_id`, else `ConstraintSeeds` (2006). Returns the bump (one `sol_try_find_program_address`
/// syscall: 1,500 compute units per bump tried).
#[inline(always)]
pub fn find_pda(account: &AccountView, seeds: &[&[u8]], program_id: &Address) -> Result<u8, ProgramError> {
    let (address, bump) = Address::find_program_address(seeds, program_id);
    if account.address() == &address {
        Ok(bump)
    } else {
        Err(ErrorCode::ConstraintSeeds.into())
    }
}

/// The program address of `seeds` with `bump` under `program_id`, computed at compile time
/// (`sha256(seeds.. || bump || program_id || "ProgramDerivedAddress")`, as the runtime does) so
/// that a program compares an account with a known address instead of paying 1,500 compute units
/// a bump for the syscall. It does not check that the result is off the curve: use it only with
/// a canonical bump that a host test confirms with `Address::find_program_address`.
pub const fn derive_address(seeds: &[&[u8]], bump: u8, program_id: &Address) -> Address {
    let mut hasher = sha2_const_stable::Sha256::new();
    let mut i = 0;
    while i < seeds.len() {
        hasher = hasher.update(seeds[i]);
        i += 1;
    }
    Address::new_from_array(
        hasher.update(&[bump]).update(program_id.as_array()).update(b"ProgramDerivedAddress").finalize(),
    )
}

/// `address = <constant>` (a program address known at compile time, from [`derive_address`]):
/// else `ConstraintSeeds` (2006), what Anchor's `seeds` constraint reports.
#[inline(always)]
pub fn known_pda(account: &AccountView, address: &Address) -> ProgramResult {
    if account.address() == address {
        Ok(())
    } else {
        Err(ErrorCode::ConstraintSeeds.into())
    }
}

/// Creates `account` (a program address whose signer seeds, bump included, are `seeds`) with
/// `space` bytes owned by `owner`, paid by `payer` up to rent exemption. An address someone
/// prefunded with lamports is topped up, allocated and assigned instead of failing, as Anchor
/// does.
#[inline(always)]
pub fn create_pda(
    payer: &AccountView,
    account: &AccountView,
    space: usize,
    owner: &Address,
    seeds: &[Seed],
) -> ProgramResult {
    let signers = [Signer::from(seeds)];
    let lamports = crate::sys::minimum_balance(space)?;
    if account.lamports() == 0 {
        return CreateAccount { from: payer, to: account, lamports, space: space as u64, owner }
            .invoke_signed(&signers);
    }
    let shortfall = lamports.saturating_sub(account.lamports());
    if shortfall > 0 {
        Transfer { from: payer, to: account, lamports: shortfall }.invoke()?;
    }
    Allocate { account, space: space as u64 }.invoke_signed(&signers)?;
    Assign { account, owner }.invoke_signed(&signers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_address_is_the_runtimes() {
        let program = Address::new_from_array([3; 32]);
        for seeds in [&[&b"governance"[..]][..], &[b"meter", &7u64.to_le_bytes()], &[]] {
            let (address, bump) = Address::find_program_address(seeds, &program);
            assert_eq!(derive_address(seeds, bump, &program), address);
        }
    }
}
