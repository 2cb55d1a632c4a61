//! Governance's own errors: Anchor numbers them from 6000 in declaration order, and the IDL's
//! `errors` lists them with the same numbers and messages.

use pinocchio::error::ProgramError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum GovernanceError {
    /// The signer is not a governance authority.
    Unauthorized = 6000,
    /// fee_bps is above 10,000 (100 %).
    InvalidFeeBps = 6001,
    /// Governance already has four authorities.
    TooManyAuthorities = 6002,
    /// The key is already an authority.
    AuthorityAlreadyPresent = 6003,
    /// The key is not an authority.
    AuthorityNotFound = 6004,
    /// The last authority cannot be removed.
    LastAuthority = 6005,
    /// The all-zero key cannot be an authority.
    InvalidAuthority = 6006,
    /// `initialize` was not signed by the deployer this build names (`program_support::deployer`).
    NotDeployer = 6007,
}

impl From<GovernanceError> for ProgramError {
    #[inline(always)]
    fn from(error: GovernanceError) -> Self {
        ProgramError::Custom(error as u32)
    }
}
