//! Account layouts: an 8-byte Anchor discriminator, then the fields in borsh, at fixed offsets.
//! The IDL's `accounts` describe the same layouts; the tests decode them with anchorpy.

use pinocchio::Address;
use program_support::anchor::account_discriminator;
use program_support::borsh::field;

/// Seed of the one `Registry` account: `["registry"]`.
pub const REGISTRY_SEED: &[u8] = b"registry";
/// Seed prefix of a `Participant` account: `["participant", owner]`.
pub const PARTICIPANT_SEED: &[u8] = b"participant";

/// `Registry { authority: Pubkey, participant_count: u64, bump: u8 }`
pub struct Registry;

impl Registry {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Registry");
    pub const AUTHORITY: usize = 8;
    pub const PARTICIPANT_COUNT: usize = Self::AUTHORITY + 32;
    pub const BUMP: usize = Self::PARTICIPANT_COUNT + 8;
    pub const LEN: usize = Self::BUMP + 1;

    #[inline(always)]
    pub fn authority(data: &[u8]) -> &[u8; 32] {
        field::read_address(data, Self::AUTHORITY)
    }

    #[inline(always)]
    pub fn participant_count(data: &[u8]) -> u64 {
        field::read_u64(data, Self::PARTICIPANT_COUNT)
    }

    #[inline(always)]
    pub fn write(data: &mut [u8], authority: &Address, participant_count: u64, bump: u8) {
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        field::write_address(data, Self::AUTHORITY, authority);
        field::write_u64(data, Self::PARTICIPANT_COUNT, participant_count);
        data[Self::BUMP] = bump;
    }

    #[inline(always)]
    pub fn set_participant_count(data: &mut [u8], count: u64) {
        field::write_u64(data, Self::PARTICIPANT_COUNT, count);
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
/// registered_at: i64, bump: u8 }`
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_packed_borsh() {
        assert_eq!(Registry::LEN, 8 + 32 + 8 + 1);
        assert_eq!(Participant::LEN, 8 + 32 + 1 + 1 + 8 + 1);
        let mut data = [0u8; Registry::LEN];
        let authority = Address::new_from_array([7; 32]);
        Registry::write(&mut data, &authority, 3, 254);
        assert_eq!(Registry::authority(&data), &[7; 32]);
        assert_eq!(Registry::participant_count(&data), 3);
        assert_eq!(data[48], 254);
    }
}
