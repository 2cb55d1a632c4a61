//! The registry's own errors: Anchor numbers them from 6000 in declaration order, and the IDL's
//! `errors` lists them with the same numbers and messages.

use pinocchio::error::ProgramError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RegistryError {
    /// The signer is not one of the registry's authorities.
    Unauthorized = 6000,
    /// A count overflowed.
    CountOverflow = 6001,
    /// The registry already has four authorities.
    TooManyAuthorities = 6002,
    /// The key is already an authority.
    AuthorityAlreadyPresent = 6003,
    /// The key is not an authority.
    AuthorityNotFound = 6004,
    /// The last authority cannot be removed.
    LastAuthority = 6005,
    /// The all-zero key cannot be an authority.
    InvalidAuthority = 6006,
    /// The participant is already suspended.
    AlreadySuspended = 6007,
    /// The participant is already active.
    AlreadyActive = 6008,
    /// A suspended participant is given no new meter.
    ParticipantSuspended = 6009,
    /// `initialize` was not signed by the deployer this build names (`program_support::deployer`).
    NotDeployer = 6010,
}

impl From<RegistryError> for ProgramError {
    #[inline(always)]
    fn from(error: RegistryError) -> Self {
        ProgramError::Custom(error as u32)
    }
}
