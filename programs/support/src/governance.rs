//! The governance config, as every program reads it (the shared contract, issue 5): a
//! `GovernanceConfig` account at the program address `["governance"]` of the governance program,
//!
//! ```text
//! discriminator [u8; 8]           @ 0..8     sha256("account:GovernanceConfig")[..8]
//! authorities   [Pubkey; 4]       @ 8..136   unused slots all-zero, at least one not
//! paused        u8 (0/1)          @ 136
//! fee_bps       u16 LE            @ 137
//! bump          u8                @ 139      (140 bytes)
//! ```
//!
//! The governance program writes it (programs/governance); programs that honour the pause or
//! take governance's authorities read it through [`config`].

use crate::accounts::derive_address;
use crate::anchor::{account_discriminator, ErrorCode, DISCRIMINATOR_LEN};
use pinocchio::{AccountView, Address, ProgramResult};

/// The governance program.
pub const ID: Address = Address::from_str_const("3sp7yVqsdnh4urn8WFLurR2uAkzzWygeGuBHaD88HN4m");
pub const CONFIG_SEED: &[u8] = b"governance";
/// The canonical bump of `["governance"]` (a host test checks it).
pub const CONFIG_BUMP: u8 = 255;
/// The one `GovernanceConfig` account's address.
pub const CONFIG_ADDRESS: Address = derive_address(&[CONFIG_SEED], CONFIG_BUMP, &ID);
pub const DISCRIMINATOR: [u8; 8] = account_discriminator("GovernanceConfig");

pub const MAX_AUTHORITIES: usize = 4;
pub const AUTHORITIES: usize = DISCRIMINATOR_LEN;
pub const PAUSED: usize = AUTHORITIES + 32 * MAX_AUTHORITIES;
pub const FEE_BPS: usize = PAUSED + 1;
pub const BUMP: usize = FEE_BPS + 2;
pub const LEN: usize = BUMP + 1;

/// The governance config: at [`CONFIG_ADDRESS`] (else `ConstraintSeeds`, 2006), owned by the
/// governance program (3007), a `GovernanceConfig` (3001/3002) of [`LEN`] bytes (3003).
#[inline(always)]
pub fn config(account: &AccountView) -> ProgramResult {
    if account.address() != &CONFIG_ADDRESS {
        return Err(ErrorCode::ConstraintSeeds.into());
    }
    crate::accounts::account(account, &ID, &DISCRIMINATOR, LEN)
}

/// The authority in slot `index` (all-zero when the slot is unused).
#[inline(always)]
pub fn authority(data: &[u8], index: usize) -> &[u8; 32] {
    crate::borsh::field::read_address(data, AUTHORITIES + 32 * index)
}

/// Whether `key` is one of the authorities (the all-zero key never is).
#[inline(always)]
pub fn is_authority(data: &[u8], key: &Address) -> bool {
    let key = key.as_array();
    if key == &[0u8; 32] {
        return false;
    }
    let mut index = 0;
    while index < MAX_AUTHORITIES {
        if authority(data, index) == key {
            return true;
        }
        index += 1;
    }
    false
}

#[inline(always)]
pub fn paused(data: &[u8]) -> bool {
    data[PAUSED] != 0
}

#[inline(always)]
pub fn fee_bps(data: &[u8]) -> u16 {
    u16::from_le_bytes([data[FEE_BPS], data[FEE_BPS + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_layout() {
        assert_eq!((AUTHORITIES, PAUSED, FEE_BPS, BUMP, LEN), (8, 136, 137, 139, 140));
        let (address, bump) = Address::find_program_address(&[CONFIG_SEED], &ID);
        assert_eq!((CONFIG_ADDRESS, CONFIG_BUMP), (address, bump));
        // solders: Pubkey.find_program_address([b"governance"], governance id)
        assert_eq!(CONFIG_ADDRESS, Address::from_str_const("4rTADizqKKY16xppYUgeL9619oG8P3hmb1U4ggPfXWNx"));
    }

    #[test]
    fn authorities_and_flags() {
        let mut data = [0u8; LEN];
        data[AUTHORITIES + 32..AUTHORITIES + 64].copy_from_slice(&[5; 32]);
        data[PAUSED] = 1;
        data[FEE_BPS..FEE_BPS + 2].copy_from_slice(&25u16.to_le_bytes());
        assert!(is_authority(&data, &Address::new_from_array([5; 32])));
        assert!(!is_authority(&data, &Address::new_from_array([6; 32])));
        assert!(!is_authority(&data, &Address::new_from_array([0; 32])));
        assert!(paused(&data));
        assert_eq!(fee_bps(&data), 25);
    }
}
