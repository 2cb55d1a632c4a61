//! The SPL Token program: its id, the layouts of its mint and token accounts (read at fixed
//! offsets), and the CPIs the programs make into it (the `*Checked` forms, which make the token
//! program check the mint's decimals too).

use crate::anchor::ErrorCode;
use pinocchio::{
    cpi::{invoke_signed, Signer},
    instruction::{InstructionAccount, InstructionView},
    AccountView, Address, ProgramResult,
};

/// `TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA`
pub const ID: Address = Address::from_str_const("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");

/// `Program<'info, Token>`: the SPL Token program, else `InvalidProgramId` (3008).
#[inline(always)]
pub fn program(account: &AccountView) -> ProgramResult {
    if account.address() == &ID {
        Ok(())
    } else {
        Err(ErrorCode::InvalidProgramId.into())
    }
}

/// `spl_token::state::Mint` (82 bytes): `mint_authority: COption<Pubkey>` (u32 tag, 32 bytes),
/// `supply: u64`, `decimals: u8`, `is_initialized: bool`, `freeze_authority: COption<Pubkey>`.
pub mod mint {
    use crate::borsh::field;

    pub const LEN: usize = 82;
    pub const MINT_AUTHORITY: usize = 0;
    pub const SUPPLY: usize = 36;
    pub const DECIMALS: usize = 44;
    pub const IS_INITIALIZED: usize = 45;
    pub const FREEZE_AUTHORITY: usize = 46;

    /// A `COption<Pubkey>` at `offset`: `None` (tag 0) or the key.
    #[inline(always)]
    fn coption(data: &[u8], offset: usize) -> Option<&[u8; 32]> {
        match data[offset..offset + 4] {
            [1, 0, 0, 0] => Some(field::read_address(data, offset + 4)),
            _ => None,
        }
    }

    #[inline(always)]
    pub fn mint_authority(data: &[u8]) -> Option<&[u8; 32]> {
        coption(data, MINT_AUTHORITY)
    }

    #[inline(always)]
    pub fn freeze_authority(data: &[u8]) -> Option<&[u8; 32]> {
        coption(data, FREEZE_AUTHORITY)
    }

    #[inline(always)]
    pub fn supply(data: &[u8]) -> u64 {
        field::read_u64(data, SUPPLY)
    }

    #[inline(always)]
    pub fn decimals(data: &[u8]) -> u8 {
        data[DECIMALS]
    }

    #[inline(always)]
    pub fn is_initialized(data: &[u8]) -> bool {
        data[IS_INITIALIZED] == 1
    }
}

/// `spl_token::state::Account` (165 bytes): `mint`, `owner`, `amount: u64`, ... `state: u8` at 108.
pub mod account {
    use crate::borsh::field;

    pub const LEN: usize = 165;
    pub const MINT: usize = 0;
    pub const OWNER: usize = 32;
    pub const AMOUNT: usize = 64;
    pub const STATE: usize = 108;

    #[inline(always)]
    pub fn mint(data: &[u8]) -> &[u8; 32] {
        field::read_address(data, MINT)
    }

    #[inline(always)]
    pub fn owner(data: &[u8]) -> &[u8; 32] {
        field::read_address(data, OWNER)
    }

    #[inline(always)]
    pub fn amount(data: &[u8]) -> u64 {
        field::read_u64(data, AMOUNT)
    }

    /// `AccountState::Initialized` (1); 0 is uninitialised, 2 frozen.
    #[inline(always)]
    pub fn is_initialized(data: &[u8]) -> bool {
        data[STATE] == 1
    }
}

/// An account of the token program of at least `len` bytes (a mint or a token account), else
/// `AccountOwnedByWrongProgram` (3007) or `AccountDidNotDeserialize` (3003).
#[inline(always)]
pub fn owned_account(account: &AccountView, len: usize) -> ProgramResult {
    if !account.owned_by(&ID) {
        return Err(ErrorCode::AccountOwnedByWrongProgram.into());
    }
    if account.data_len() < len {
        return Err(ErrorCode::AccountDidNotDeserialize.into());
    }
    Ok(())
}

#[inline(always)]
fn amount_and_decimals(tag: u8, amount: u64, decimals: u8) -> [u8; 10] {
    let mut data = [0u8; 10];
    data[0] = tag;
    data[1..9].copy_from_slice(&amount.to_le_bytes());
    data[9] = decimals;
    data
}

/// `MintToChecked` (14): mints `amount` of `mint` to `to`, signed by `authority` (a program
/// address of the caller when `signers` gives its seeds).
#[inline(always)]
pub fn mint_to_checked(
    mint: &AccountView,
    to: &AccountView,
    authority: &AccountView,
    amount: u64,
    decimals: u8,
    signers: &[Signer],
) -> ProgramResult {
    let metas = [
        InstructionAccount::writable(mint.address()),
        InstructionAccount::writable(to.address()),
        InstructionAccount::readonly_signer(authority.address()),
    ];
    let data = amount_and_decimals(14, amount, decimals);
    let instruction = InstructionView { program_id: &ID, accounts: &metas, data: &data };
    invoke_signed(&instruction, &[mint, to, authority], signers)
}

/// `BurnChecked` (15): burns `amount` of `mint` from `from`, signed by its owner or delegate.
#[inline(always)]
pub fn burn_checked(
    from: &AccountView,
    mint: &AccountView,
    authority: &AccountView,
    amount: u64,
    decimals: u8,
    signers: &[Signer],
) -> ProgramResult {
    let metas = [
        InstructionAccount::writable(from.address()),
        InstructionAccount::writable(mint.address()),
        InstructionAccount::readonly_signer(authority.address()),
    ];
    let data = amount_and_decimals(15, amount, decimals);
    let instruction = InstructionView { program_id: &ID, accounts: &metas, data: &data };
    invoke_signed(&instruction, &[from, mint, authority], signers)
}

/// `TransferChecked` (12): moves `amount` of `mint` from `from` to `to`, signed by `from`'s
/// owner or delegate.
#[inline(always)]
pub fn transfer_checked(
    from: &AccountView,
    mint: &AccountView,
    to: &AccountView,
    authority: &AccountView,
    amount: u64,
    decimals: u8,
    signers: &[Signer],
) -> ProgramResult {
    let metas = [
        InstructionAccount::writable(from.address()),
        InstructionAccount::readonly(mint.address()),
        InstructionAccount::writable(to.address()),
        InstructionAccount::readonly_signer(authority.address()),
    ];
    let data = amount_and_decimals(12, amount, decimals);
    let instruction = InstructionView { program_id: &ID, accounts: &metas, data: &data };
    invoke_signed(&instruction, &[from, mint, to, authority], signers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_read_spl_token_bytes() {
        let mut m = [0u8; mint::LEN];
        m[0] = 1;
        m[4..36].copy_from_slice(&[9; 32]);
        m[36..44].copy_from_slice(&500u64.to_le_bytes());
        m[44] = 9;
        m[45] = 1;
        assert_eq!(mint::mint_authority(&m), Some(&[9; 32]));
        assert_eq!(mint::freeze_authority(&m), None);
        assert_eq!((mint::supply(&m), mint::decimals(&m), mint::is_initialized(&m)), (500, 9, true));
        let mut a = [0u8; account::LEN];
        a[..32].copy_from_slice(&[1; 32]);
        a[32..64].copy_from_slice(&[2; 32]);
        a[64..72].copy_from_slice(&7u64.to_le_bytes());
        a[108] = 1;
        assert_eq!((account::mint(&a), account::owner(&a)), (&[1; 32], &[2; 32]));
        assert_eq!(account::amount(&a), 7);
        assert!(account::is_initialized(&a));
        assert_eq!(amount_and_decimals(14, 258, 9), [14, 2, 1, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(ID.as_array()[0], 6); // Tokenkeg... starts 0x06 0xdd
    }
}
