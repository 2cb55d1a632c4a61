//! The registry's own errors: Anchor numbers them from 6000 in declaration order, and the IDL's
//! `errors` lists them with the same numbers and messages.

use pinocchio::error::ProgramError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RegistryError {
    /// The signer is not the registry's authority.
    Unauthorized = 6000,
    /// The participant count overflowed.
    CountOverflow = 6001,
}

impl From<RegistryError> for ProgramError {
    #[inline(always)]
    fn from(error: RegistryError) -> Self {
        ProgramError::Custom(error as u32)
    }
}
