//! Account layouts (an 8-byte Anchor discriminator, then borsh at fixed offsets) and the
//! program addresses this program knows at compile time: its own (`EnergyConfig`, the mint
//! authority) and the oracle's signer, whose canonical bumps the host tests confirm.
//!
//! The registry's `Participant` is read here too (programs/registry/src/state.rs is its source).

use crate::error::EnergyError;
use pinocchio::{error::ProgramError, Address};
use program_support::accounts::derive_address;
use program_support::anchor::account_discriminator;
use program_support::borsh::field;

/// GRID's decimals: 1 GRID (1 kWh) = 10^9 base units.
pub const GRID_DECIMALS: u8 = 9;

/// Seed of the one `EnergyConfig`: `["energy_config"]`.
pub const CONFIG_SEED: &[u8] = b"energy_config";
pub const CONFIG_BUMP: u8 = 254;
pub const CONFIG_ADDRESS: Address = derive_address(&[CONFIG_SEED], CONFIG_BUMP, &crate::ID);

/// Seed of the mint authority: `["mint_authority"]`, an address without an account that signs
/// `MintToChecked` by CPI.
pub const MINT_AUTHORITY_SEED: &[u8] = b"mint_authority";
pub const MINT_AUTHORITY_BUMP: u8 = 254;
pub const MINT_AUTHORITY: Address = derive_address(&[MINT_AUTHORITY_SEED], MINT_AUTHORITY_BUMP, &crate::ID);

/// The oracle program (the shared contract's id) and its signer `["oracle_signer"]`: only the
/// oracle program can sign for this address, so its signature on `mint_for_reading` proves the
/// oracle invoked it.
pub const ORACLE_ID: Address = Address::from_str_const("8gQTGoiP69XSX7ywywYNxDy3HcPWjYj14jGD1dJbuLrd");
pub const ORACLE_SIGNER_SEED: &[u8] = b"oracle_signer";
pub const ORACLE_SIGNER_BUMP: u8 = 255;
pub const ORACLE_SIGNER: Address = derive_address(&[ORACLE_SIGNER_SEED], ORACLE_SIGNER_BUMP, &ORACLE_ID);

/// `EnergyConfig { mint: Pubkey, total_minted: u64, total_burned: u64, bump: u8 }`: which mint is
/// GRID, and what this program minted and burned of it.
pub struct EnergyConfig;

impl EnergyConfig {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("EnergyConfig");
    pub const MINT: usize = 8;
    pub const TOTAL_MINTED: usize = Self::MINT + 32;
    pub const TOTAL_BURNED: usize = Self::TOTAL_MINTED + 8;
    pub const BUMP: usize = Self::TOTAL_BURNED + 8;
    pub const LEN: usize = Self::BUMP + 1;

    #[inline(always)]
    pub fn write_new(data: &mut [u8], mint: &Address, bump: u8) {
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        field::write_address(data, Self::MINT, mint);
        field::write_u64(data, Self::TOTAL_MINTED, 0);
        field::write_u64(data, Self::TOTAL_BURNED, 0);
        data[Self::BUMP] = bump;
    }

    #[inline(always)]
    pub fn mint(data: &[u8]) -> &[u8; 32] {
        field::read_address(data, Self::MINT)
    }

    /// Adds `amount` to the total at `offset` (`TOTAL_MINTED` or `TOTAL_BURNED`).
    #[inline(always)]
    pub fn add(data: &mut [u8], offset: usize, amount: u64) -> Result<(), ProgramError> {
        let total = field::read_u64(data, offset).checked_add(amount).ok_or(EnergyError::Overflow)?;
        field::write_u64(data, offset, total);
        Ok(())
    }
}

/// The registry program (the shared contract's id) and its `Participant { owner: Pubkey,
/// kind: ParticipantKind, status: ParticipantStatus, registered_at: i64, bump: u8 }`.
pub mod participant {
    use super::*;

    pub const REGISTRY_ID: Address = Address::from_str_const("63DMmvAZd8XSmQXDn9nWSTYjw44M9NyqPY8F4mtkMhhG");
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Participant");
    pub const OWNER: usize = 8;
    pub const KIND: usize = OWNER + 32;
    pub const STATUS: usize = KIND + 1;
    pub const LEN: usize = STATUS + 1 + 8 + 1;
    pub const PROSUMER: u8 = 1;
    pub const ACTIVE: u8 = 0;

    /// A participant may be minted GRID for `token_owner`'s token account: it is that owner's
    /// participant, active, and a prosumer.
    #[inline(always)]
    pub fn check(data: &[u8], token_owner: &[u8; 32]) -> Result<(), ProgramError> {
        if field::read_address(data, OWNER) != token_owner {
            return Err(EnergyError::ParticipantMismatch.into());
        }
        if data[STATUS] != ACTIVE {
            return Err(EnergyError::ParticipantSuspended.into());
        }
        if data[KIND] != PROSUMER {
            return Err(EnergyError::NotAProsumer.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_addresses_are_canonical_program_addresses() {
        for (seed, program, address, bump) in [
            (CONFIG_SEED, crate::ID, CONFIG_ADDRESS, CONFIG_BUMP),
            (MINT_AUTHORITY_SEED, crate::ID, MINT_AUTHORITY, MINT_AUTHORITY_BUMP),
            (ORACLE_SIGNER_SEED, ORACLE_ID, ORACLE_SIGNER, ORACLE_SIGNER_BUMP),
        ] {
            assert_eq!(Address::find_program_address(&[seed], &program), (address, bump));
        }
        // solders: Pubkey.find_program_address([b"oracle_signer"], oracle id)
        assert_eq!(ORACLE_SIGNER, Address::from_str_const("DYBSEX99Xmt8KU5kTu4D8VEjTZxrHC3CoDuh7z5tBfXX"));
    }

    #[test]
    fn config_layout_and_totals() {
        assert_eq!(EnergyConfig::LEN, 8 + 32 + 8 + 8 + 1);
        let mut data = [0xffu8; EnergyConfig::LEN];
        EnergyConfig::write_new(&mut data, &Address::new_from_array([4; 32]), 254);
        assert_eq!(EnergyConfig::mint(&data), &[4; 32]);
        EnergyConfig::add(&mut data, EnergyConfig::TOTAL_MINTED, 5).unwrap();
        EnergyConfig::add(&mut data, EnergyConfig::TOTAL_MINTED, u64::MAX - 5).unwrap();
        assert_eq!(EnergyConfig::add(&mut data, EnergyConfig::TOTAL_MINTED, 1), Err(EnergyError::Overflow.into()));
        assert_eq!(field::read_u64(&data, EnergyConfig::TOTAL_MINTED), u64::MAX);
        assert_eq!(field::read_u64(&data, EnergyConfig::TOTAL_BURNED), 0);
        assert_eq!(data[EnergyConfig::BUMP], 254);
    }

    #[test]
    fn participants_minted_for_are_the_owner_s_active_prosumers() {
        // The registry's layout (programs/registry/src/state.rs): owner, kind, status, registered_at, bump.
        let mut data = [0u8; participant::LEN];
        assert_eq!(participant::LEN, 51);
        data[8..40].copy_from_slice(&[7; 32]);
        data[participant::KIND] = participant::PROSUMER;
        assert_eq!(participant::check(&data, &[7; 32]), Ok(()));
        assert_eq!(participant::check(&data, &[8; 32]), Err(EnergyError::ParticipantMismatch.into()));
        data[participant::STATUS] = 1;
        assert_eq!(participant::check(&data, &[7; 32]), Err(EnergyError::ParticipantSuspended.into()));
        data[participant::STATUS] = 0;
        data[participant::KIND] = 0;
        assert_eq!(participant::check(&data, &[7; 32]), Err(EnergyError::NotAProsumer.into()));
    }
}
