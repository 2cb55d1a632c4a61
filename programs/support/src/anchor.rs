//! Anchor's wire format: discriminators and the framework's error numbers.
//!
//! An instruction's data starts with the first 8 bytes of `sha256("global:<snake_case_name>")`,
//! an account's data with the first 8 bytes of `sha256("account:<PascalCaseName>")`; the rest is
//! borsh. Errors are `ProgramError::Custom(n)`: Anchor's own numbers below 6000 for what its
//! generated code would refuse, 6000 and up for each program's `#[error_code]` enum.

use pinocchio::error::ProgramError;
use sha2_const_stable::Sha256;

/// Length of every discriminator.
pub const DISCRIMINATOR_LEN: usize = 8;

const fn first8(hash: [u8; 32]) -> [u8; 8] {
    [hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7]]
}

/// `sha256("global:" + name)[..8]`: the discriminator of instruction `name` (snake_case).
pub const fn instruction_discriminator(name: &str) -> [u8; 8] {
    first8(Sha256::new().update(b"global:").update(name.as_bytes()).finalize())
}

/// `sha256("account:" + name)[..8]`: the discriminator of account type `name` (PascalCase).
pub const fn account_discriminator(name: &str) -> [u8; 8] {
    first8(Sha256::new().update(b"account:").update(name.as_bytes()).finalize())
}

/// Splits instruction data into its discriminator and its borsh arguments.
/// Data shorter than a discriminator is Anchor's `InstructionMissing` (100).
#[inline(always)]
pub fn split_instruction(data: &[u8]) -> Result<(&[u8; 8], &[u8]), ProgramError> {
    match data.split_first_chunk::<DISCRIMINATOR_LEN>() {
        Some((discriminator, args)) => Ok((discriminator, args)),
        None => Err(ErrorCode::InstructionMissing.into()),
    }
}

/// The framework errors of Anchor 0.29 (`anchor_lang::error::ErrorCode`) that these programs use,
/// with Anchor's numbers, so that `anchorpy` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ErrorCode {
    /// 8 byte instruction identifier not provided.
    InstructionMissing = 100,
    /// Fallback functions are not supported (unknown discriminator).
    InstructionFallbackNotFound = 101,
    /// The program could not deserialize the given instruction.
    InstructionDidNotDeserialize = 102,
    /// A mut constraint was violated.
    ConstraintMut = 2000,
    /// A has one constraint was violated.
    ConstraintHasOne = 2001,
    /// A seeds constraint was violated.
    ConstraintSeeds = 2006,
    /// An address constraint was violated.
    ConstraintAddress = 2012,
    /// The account discriminator was already set on this account.
    AccountDiscriminatorAlreadySet = 3000,
    /// No 8 byte discriminator was found on the account.
    AccountDiscriminatorNotFound = 3001,
    /// 8 byte discriminator did not match what was expected.
    AccountDiscriminatorMismatch = 3002,
    /// Failed to deserialize the account.
    AccountDidNotDeserialize = 3003,
    /// Not enough account keys given to the instruction.
    AccountNotEnoughKeys = 3005,
    /// The given account is not mutable.
    AccountNotMutable = 3006,
    /// The given account is owned by a different program than expected.
    AccountOwnedByWrongProgram = 3007,
    /// Program ID was not as expected.
    InvalidProgramId = 3008,
    /// The given account did not sign.
    AccountNotSigner = 3010,
    /// The given account is not owned by the system program.
    AccountNotSystemOwned = 3011,
}

impl From<ErrorCode> for ProgramError {
    #[inline(always)]
    fn from(code: ErrorCode) -> Self {
        ProgramError::Custom(code as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminators_are_anchors() {
        // Values computed by Anchor 0.29 for these names.
        assert_eq!(instruction_discriminator("initialize"), [175, 175, 109, 31, 13, 152, 155, 237]);
        assert_eq!(account_discriminator("NewAccount"), [176, 95, 4, 118, 91, 177, 125, 232]);
    }

    #[test]
    fn short_data_is_instruction_missing() {
        assert_eq!(split_instruction(&[1, 2, 3]).unwrap_err(), ProgramError::Custom(100));
        let (d, rest) = split_instruction(&[1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap();
        assert_eq!((d, rest), (&[1, 2, 3, 4, 5, 6, 7, 8], &[9][..]));
    }
}
