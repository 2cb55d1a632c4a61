//! Account layouts: an 8-byte Anchor discriminator, then the fields in borsh, at fixed offsets.
//! The IDL's `accounts` describe the same layouts; the tests decode them with anchorpy. Also the
//! pure rules on them (authority rotation, status transitions), tested on the host.

use crate::error::RegistryError;
use pinocchio::{error::ProgramError, Address};
use program_support::accounts::derive_address;
use program_support::anchor::account_discriminator;
use program_support::borsh::field;

/// Seed of the one `Registry` account: `["registry"]`.
pub const REGISTRY_SEED: &[u8] = b"registry";
/// Its canonical bump (a host test checks it), so its address is a compile-time constant.
pub const REGISTRY_BUMP: u8 = 253;
pub const REGISTRY_ADDRESS: Address = derive_address(&[REGISTRY_SEED], REGISTRY_BUMP, &crate::ID);
/// Seed prefix of a `Participant` account: `["participant", owner]`.
pub const PARTICIPANT_SEED: &[u8] = b"participant";
/// Seed prefix of a `Meter` account: `["meter", meter_id as u64 LE]` (the oracle's meter id).
pub const METER_SEED: &[u8] = b"meter";

pub const MAX_AUTHORITIES: usize = 4;
const ZERO: [u8; 32] = [0; 32];

/// `Registry { authorities: [Pubkey; 4], participant_count: u64, meter_count: u64, bump: u8 }`
/// (unused authority slots all-zero, at least one not).
pub struct Registry;

impl Registry {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Registry");
    pub const AUTHORITIES: usize = 8;
    pub const PARTICIPANT_COUNT: usize = Self::AUTHORITIES + 32 * MAX_AUTHORITIES;
    pub const METER_COUNT: usize = Self::PARTICIPANT_COUNT + 8;
    pub const BUMP: usize = Self::METER_COUNT + 8;
    pub const LEN: usize = Self::BUMP + 1;

    /// A fresh registry: `authority` in the first slot, no participants, no meters.
    #[inline(always)]
    pub fn write_new(data: &mut [u8], authority: &Address, bump: u8) {
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        data[Self::AUTHORITIES..Self::PARTICIPANT_COUNT].fill(0);
        field::write_address(data, Self::AUTHORITIES, authority);
        field::write_u64(data, Self::PARTICIPANT_COUNT, 0);
        field::write_u64(data, Self::METER_COUNT, 0);
        data[Self::BUMP] = bump;
    }

    /// The authority in slot `index` (all-zero when unused).
    #[inline(always)]
    pub fn authority(data: &[u8], index: usize) -> &[u8; 32] {
        field::read_address(data, Self::AUTHORITIES + 32 * index)
    }

    /// Whether `key` is an authority (the all-zero key, which fills free slots, never is).
    #[inline(always)]
    pub fn is_authority(data: &[u8], key: &Address) -> bool {
        let key = key.as_array();
        key != &ZERO && (0..MAX_AUTHORITIES).any(|i| Self::authority(data, i) == key)
    }

    /// `signer` is an authority, else `Unauthorized`.
    #[inline(always)]
    pub fn require_authority(data: &[u8], signer: &Address) -> Result<(), ProgramError> {
        if Self::is_authority(data, signer) {
            Ok(())
        } else {
            Err(RegistryError::Unauthorized.into())
        }
    }

    #[inline(always)]
    pub fn authority_count(data: &[u8]) -> usize {
        (0..MAX_AUTHORITIES).filter(|&i| Self::authority(data, i) != &ZERO).count()
    }

    /// Puts `key` in the first free slot: refused for the all-zero key, a present one, a fifth.
    #[inline(always)]
    pub fn add_authority(data: &mut [u8], key: &Address) -> Result<(), ProgramError> {
        if key.as_array() == &ZERO {
            return Err(RegistryError::InvalidAuthority.into());
        }
        if Self::is_authority(data, key) {
            return Err(RegistryError::AuthorityAlreadyPresent.into());
        }
        let free = (0..MAX_AUTHORITIES).find(|&i| Self::authority(data, i) == &ZERO);
        let slot = free.ok_or(RegistryError::TooManyAuthorities)?;
        field::write_address(data, Self::AUTHORITIES + 32 * slot, key);
        Ok(())
    }

    /// Clears `key`'s slot: refused when it is not an authority or is the last one.
    #[inline(always)]
    pub fn remove_authority(data: &mut [u8], key: &Address) -> Result<(), ProgramError> {
        let found = (0..MAX_AUTHORITIES).find(|&i| key.as_array() != &ZERO && Self::authority(data, i) == key.as_array());
        let slot = found.ok_or(RegistryError::AuthorityNotFound)?;
        if Self::authority_count(data) <= 1 {
            return Err(RegistryError::LastAuthority.into());
        }
        let start = Self::AUTHORITIES + 32 * slot;
        data[start..start + 32].fill(0);
        Ok(())
    }

    /// Adds one to the count at `offset` (`PARTICIPANT_COUNT` or `METER_COUNT`).
    #[inline(always)]
    pub fn increment(data: &mut [u8], offset: usize) -> Result<(), ProgramError> {
        let count = field::read_u64(data, offset).checked_add(1).ok_or(RegistryError::CountOverflow)?;
        field::write_u64(data, offset, count);
        Ok(())
    }
}

/// `enum ParticipantKind { Consumer, Prosumer }` (borsh: one byte, the variant's index)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ParticipantKind {
    Consumer = 0,
    Prosumer = 1,
}

impl ParticipantKind {
    pub const VARIANTS: u8 = 2;

    #[inline(always)]
    pub fn from_index(index: u8) -> Option<Self> {
        match index {
            0 => Some(Self::Consumer),
            1 => Some(Self::Prosumer),
            _ => None,
        }
    }
}

/// `enum ParticipantStatus { Active, Suspended }`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ParticipantStatus {
    Active = 0,
    Suspended = 1,
}

/// `Participant { owner: Pubkey, kind: ParticipantKind, status: ParticipantStatus,
/// registered_at: i64, bump: u8 }`. energy_token, oracle and trading read `owner`, `kind`,
/// `status` and `bump` at these offsets: the layout must not change.
pub struct Participant;

impl Participant {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Participant");
    pub const OWNER: usize = 8;
    pub const KIND: usize = Self::OWNER + 32;
    pub const STATUS: usize = Self::KIND + 1;
    pub const REGISTERED_AT: usize = Self::STATUS + 1;
    pub const BUMP: usize = Self::REGISTERED_AT + 8;
    pub const LEN: usize = Self::BUMP + 1;

    #[inline(always)]
    pub fn write(
        data: &mut [u8],
        owner: &Address,
        kind: ParticipantKind,
        status: ParticipantStatus,
        registered_at: i64,
        bump: u8,
    ) {
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        field::write_address(data, Self::OWNER, owner);
        data[Self::KIND] = kind as u8;
        data[Self::STATUS] = status as u8;
        field::write_i64(data, Self::REGISTERED_AT, registered_at);
        data[Self::BUMP] = bump;
    }

    #[inline(always)]
    pub fn owner(data: &[u8]) -> &[u8; 32] {
        field::read_address(data, Self::OWNER)
    }

    #[inline(always)]
    pub fn is_active(data: &[u8]) -> bool {
        data[Self::STATUS] == ParticipantStatus::Active as u8
    }

    /// Moves the status to `to`: refused when it is already there (`AlreadySuspended` /
    /// `AlreadyActive`), so that a repeated or mistaken call is visible, not silently accepted.
    #[inline(always)]
    pub fn set_status(data: &mut [u8], to: ParticipantStatus) -> Result<(), ProgramError> {
        if data[Self::STATUS] == to as u8 {
            return Err(match to {
                ParticipantStatus::Suspended => RegistryError::AlreadySuspended,
                ParticipantStatus::Active => RegistryError::AlreadyActive,
            }
            .into());
        }
        data[Self::STATUS] = to as u8;
        Ok(())
    }
}

/// `Meter { meter_id: u64, owner: Pubkey, registered_at: i64, bump: u8 }`: a meter the registry
/// admitted, and the participant it belongs to (`owner`, the wallet whose `Participant` is at
/// `["participant", owner]`). The oracle accepts readings only for meters registered here, and
/// credits them only to their owner.
pub struct Meter;

impl Meter {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Meter");
    pub const METER_ID: usize = 8;
    pub const OWNER: usize = Self::METER_ID + 8;
    pub const REGISTERED_AT: usize = Self::OWNER + 32;
    pub const BUMP: usize = Self::REGISTERED_AT + 8;
    pub const LEN: usize = Self::BUMP + 1;

    #[inline(always)]
    pub fn write(data: &mut [u8], meter_id: u64, owner: &[u8; 32], registered_at: i64, bump: u8) {
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        field::write_u64(data, Self::METER_ID, meter_id);
        data[Self::OWNER..Self::OWNER + 32].copy_from_slice(owner);
        field::write_i64(data, Self::REGISTERED_AT, registered_at);
        data[Self::BUMP] = bump;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Address {
        Address::new_from_array([n; 32])
    }

    fn fresh() -> [u8; Registry::LEN] {
        let mut data = [0xaa; Registry::LEN];
        Registry::write_new(&mut data, &key(1), 253);
        data
    }

    #[test]
    fn layouts_are_packed_borsh() {
        assert_eq!(Registry::LEN, 8 + 32 * 4 + 8 + 8 + 1);
        assert_eq!(Participant::LEN, 8 + 32 + 1 + 1 + 8 + 1);
        assert_eq!(Meter::LEN, 8 + 8 + 32 + 8 + 1);
        let data = fresh();
        assert_eq!(&data[..8], &Registry::DISCRIMINATOR);
        assert_eq!(Registry::authority(&data, 0), &[1; 32]);
        assert_eq!(data[Registry::AUTHORITIES + 32..Registry::PARTICIPANT_COUNT], [0; 96]);
        assert_eq!(data[Registry::PARTICIPANT_COUNT..Registry::BUMP], [0; 16]);
        assert_eq!(data[Registry::LEN - 1], 253);
    }

    #[test]
    fn the_participant_layout_is_the_one_other_programs_read() {
        // energy_token, oracle and trading read these offsets: owner 8, kind 40, status 41, bump 50.
        assert_eq!((Participant::OWNER, Participant::KIND, Participant::STATUS), (8, 40, 41));
        assert_eq!((Participant::REGISTERED_AT, Participant::BUMP, Participant::LEN), (42, 50, 51));
        let mut data = [0u8; Participant::LEN];
        Participant::write(&mut data, &key(7), ParticipantKind::Prosumer, ParticipantStatus::Active, -2, 254);
        assert_eq!(Participant::owner(&data), &[7; 32]);
        assert_eq!((data[40], data[41], data[50]), (1, 0, 254));
        assert_eq!(data[42..50], (-2i64).to_le_bytes());
    }

    #[test]
    fn rotation_fills_four_slots_and_never_empties_them() {
        let mut data = fresh();
        for n in 2..=4 {
            Registry::add_authority(&mut data, &key(n)).unwrap();
        }
        assert_eq!(Registry::authority_count(&data), 4);
        let err = |e: RegistryError| Err(ProgramError::from(e));
        assert_eq!(Registry::add_authority(&mut data, &key(5)), err(RegistryError::TooManyAuthorities));
        assert_eq!(Registry::add_authority(&mut data, &key(3)), err(RegistryError::AuthorityAlreadyPresent));
        assert_eq!(Registry::add_authority(&mut data, &key(0)), err(RegistryError::InvalidAuthority));
        Registry::remove_authority(&mut data, &key(2)).unwrap();
        assert_eq!(Registry::remove_authority(&mut data, &key(2)), err(RegistryError::AuthorityNotFound));
        assert!(!Registry::is_authority(&data, &key(2)));
        Registry::add_authority(&mut data, &key(5)).unwrap(); // reuses the freed slot
        assert_eq!(Registry::authority(&data, 1), &[5; 32]);
        for n in [1, 3, 4] {
            Registry::remove_authority(&mut data, &key(n)).unwrap();
        }
        assert_eq!(Registry::authority_count(&data), 1);
        assert_eq!(Registry::remove_authority(&mut data, &key(5)), err(RegistryError::LastAuthority));
        assert_eq!(Registry::require_authority(&data, &key(5)), Ok(()));
        assert_eq!(Registry::require_authority(&data, &key(1)), err(RegistryError::Unauthorized));
        // The all-zero key fills the free slots but is never an authority.
        assert!(!Registry::is_authority(&data, &key(0)));
        assert_eq!(Registry::remove_authority(&mut data, &key(0)), err(RegistryError::AuthorityNotFound));
        assert_eq!(Registry::authority_count(&data), 1);
    }

    #[test]
    fn a_status_moves_only_to_the_other_one() {
        let mut data = [0u8; Participant::LEN];
        Participant::write(&mut data, &key(7), ParticipantKind::Consumer, ParticipantStatus::Active, 0, 255);
        let err = |e: RegistryError| Err(ProgramError::from(e));
        assert_eq!(Participant::set_status(&mut data, ParticipantStatus::Active), err(RegistryError::AlreadyActive));
        Participant::set_status(&mut data, ParticipantStatus::Suspended).unwrap();
        assert!(!Participant::is_active(&data));
        let suspended = data;
        assert_eq!(
            Participant::set_status(&mut data, ParticipantStatus::Suspended),
            err(RegistryError::AlreadySuspended)
        );
        assert_eq!(data, suspended);
        Participant::set_status(&mut data, ParticipantStatus::Active).unwrap();
        assert!(Participant::is_active(&data));
    }

    #[test]
    fn counts_refuse_to_overflow() {
        let mut data = fresh();
        Registry::increment(&mut data, Registry::METER_COUNT).unwrap();
        assert_eq!(field::read_u64(&data, Registry::METER_COUNT), 1);
        field::write_u64(&mut data, Registry::PARTICIPANT_COUNT, u64::MAX);
        assert_eq!(
            Registry::increment(&mut data, Registry::PARTICIPANT_COUNT),
            Err(RegistryError::CountOverflow.into())
        );
    }

    #[test]
    fn the_registry_address_is_the_canonical_pda() {
        assert_eq!(Address::find_program_address(&[REGISTRY_SEED], &crate::ID), (REGISTRY_ADDRESS, REGISTRY_BUMP));
    }

    #[test]
    fn meters_are_laid_out_at_their_offsets() {
        let mut data = [0u8; Meter::LEN];
        Meter::write(&mut data, 0x0102_0304_0506_0708, &[9; 32], 77, 250);
        assert_eq!(&data[..8], &Meter::DISCRIMINATOR);
        assert_eq!(data[8..16], 0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(data[16..48], [9; 32]);
        assert_eq!(data[48..56], 77i64.to_le_bytes());
        assert_eq!(data[56], 250);
    }
}
