//! `GovernanceConfig`: the layout of the shared contract (`program_support::governance`, which
//! other programs read), and the pure logic of authority rotation on it.
//!
//! `GovernanceConfig { authorities: [Pubkey; 4], paused: u8, fee_bps: u16, bump: u8 }`

use crate::error::GovernanceError;
use pinocchio::{error::ProgramError, Address};
use program_support::borsh::field;
pub use program_support::governance::{
    authority, fee_bps, is_authority, paused, AUTHORITIES, BUMP, CONFIG_ADDRESS, CONFIG_BUMP, CONFIG_SEED,
    DISCRIMINATOR, FEE_BPS, LEN, MAX_AUTHORITIES, PAUSED,
};

/// The fee's denominator: a fee of 10,000 bps is the whole notional.
pub const MAX_FEE_BPS: u16 = 10_000;

const ZERO: [u8; 32] = [0; 32];

/// A fresh config: `authority` in the first slot, not paused.
#[inline(always)]
pub fn write_new(data: &mut [u8], authority: &Address, fee_bps: u16, bump: u8) {
    data[..8].copy_from_slice(&DISCRIMINATOR);
    data[AUTHORITIES..PAUSED].fill(0);
    field::write_address(data, AUTHORITIES, authority);
    data[PAUSED] = 0;
    set_fee_bps(data, fee_bps);
    data[BUMP] = bump;
}

#[inline(always)]
pub fn check_fee_bps(fee_bps: u16) -> Result<u16, ProgramError> {
    if fee_bps <= MAX_FEE_BPS {
        Ok(fee_bps)
    } else {
        Err(GovernanceError::InvalidFeeBps.into())
    }
}

#[inline(always)]
pub fn set_fee_bps(data: &mut [u8], fee_bps: u16) {
    data[FEE_BPS..FEE_BPS + 2].copy_from_slice(&fee_bps.to_le_bytes());
}

#[inline(always)]
pub fn set_paused(data: &mut [u8], paused: bool) {
    data[PAUSED] = paused as u8;
}

/// `signer` is one of the authorities, else `Unauthorized`.
#[inline(always)]
pub fn require_authority(data: &[u8], signer: &Address) -> Result<(), ProgramError> {
    if is_authority(data, signer) {
        Ok(())
    } else {
        Err(GovernanceError::Unauthorized.into())
    }
}

/// How many slots hold an authority.
#[inline(always)]
pub fn authority_count(data: &[u8]) -> usize {
    (0..MAX_AUTHORITIES).filter(|&i| authority(data, i) != &ZERO).count()
}

/// Puts `key` in the first free slot: refused when it is all-zero, already an authority, or all
/// four slots are taken.
#[inline(always)]
pub fn add_authority(data: &mut [u8], key: &Address) -> Result<(), ProgramError> {
    if key.as_array() == &ZERO {
        return Err(GovernanceError::InvalidAuthority.into());
    }
    if is_authority(data, key) {
        return Err(GovernanceError::AuthorityAlreadyPresent.into());
    }
    let free = (0..MAX_AUTHORITIES).find(|&i| authority(data, i) == &ZERO);
    let slot = free.ok_or(GovernanceError::TooManyAuthorities)?;
    field::write_address(data, AUTHORITIES + 32 * slot, key);
    Ok(())
}

/// Clears `key`'s slot: refused when it is not an authority or is the last one.
#[inline(always)]
pub fn remove_authority(data: &mut [u8], key: &Address) -> Result<(), ProgramError> {
    if !is_authority(data, key) {
        return Err(GovernanceError::AuthorityNotFound.into());
    }
    if authority_count(data) <= 1 {
        return Err(GovernanceError::LastAuthority.into());
    }
    let slot = (0..MAX_AUTHORITIES).find(|&i| authority(data, i) == key.as_array());
    let slot = slot.ok_or(GovernanceError::AuthorityNotFound)?;
    data[AUTHORITIES + 32 * slot..AUTHORITIES + 32 * (slot + 1)].fill(0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Address {
        Address::new_from_array([n; 32])
    }

    fn fresh() -> [u8; LEN] {
        let mut data = [0xaa; LEN];
        write_new(&mut data, &key(1), 30, 255);
        data
    }

    #[test]
    fn a_new_config_has_one_authority_and_is_not_paused() {
        let data = fresh();
        assert_eq!(&data[..8], &DISCRIMINATOR);
        assert_eq!(authority_count(&data), 1);
        assert!(is_authority(&data, &key(1)));
        assert_eq!(data[AUTHORITIES + 32..PAUSED], [0; 96]);
        assert!(!paused(&data));
        assert_eq!(fee_bps(&data), 30);
        assert_eq!(data[BUMP], 255);
    }

    #[test]
    fn rotation_fills_four_slots_and_never_empties_them() {
        let mut data = fresh();
        for n in 2..=4 {
            add_authority(&mut data, &key(n)).unwrap();
        }
        assert_eq!(authority_count(&data), 4);
        assert_eq!(add_authority(&mut data, &key(5)), Err(GovernanceError::TooManyAuthorities.into()));
        assert_eq!(add_authority(&mut data, &key(3)), Err(GovernanceError::AuthorityAlreadyPresent.into()));
        assert_eq!(add_authority(&mut data, &key(0)), Err(GovernanceError::InvalidAuthority.into()));
        remove_authority(&mut data, &key(2)).unwrap();
        assert_eq!(remove_authority(&mut data, &key(2)), Err(GovernanceError::AuthorityNotFound.into()));
        add_authority(&mut data, &key(5)).unwrap(); // reuses the freed slot
        assert_eq!(authority(&data, 1), &[5; 32]);
        for n in [1, 3, 4] {
            remove_authority(&mut data, &key(n)).unwrap();
        }
        assert_eq!(authority_count(&data), 1);
        assert_eq!(remove_authority(&mut data, &key(5)), Err(GovernanceError::LastAuthority.into()));
        assert!(is_authority(&data, &key(5)));
        // The all-zero key is never an authority, even though free slots hold it.
        assert_eq!(remove_authority(&mut data, &key(0)), Err(GovernanceError::AuthorityNotFound.into()));
    }

    #[test]
    fn fee_bps_is_at_most_the_whole() {
        assert_eq!(check_fee_bps(10_000), Ok(10_000));
        assert_eq!(check_fee_bps(0), Ok(0));
        assert_eq!(check_fee_bps(10_001), Err(GovernanceError::InvalidFeeBps.into()));
    }

    #[test]
    fn the_config_address_is_the_canonical_pda() {
        let (address, bump) = Address::find_program_address(&[CONFIG_SEED], &crate::ID);
        assert_eq!((CONFIG_ADDRESS, CONFIG_BUMP), (address, bump));
        assert_eq!(program_support::governance::ID, crate::ID);
    }
}
