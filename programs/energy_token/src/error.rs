//! energy_token's own errors: Anchor numbers them from 6000 in declaration order, and the IDL's
//! `errors` lists them with the same numbers and messages.

use pinocchio::error::ProgramError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum EnergyError {
    /// The signer is not a governance authority.
    Unauthorized = 6000,
    /// mint_for_reading was not invoked by the oracle program (its `oracle_signer` address).
    NotOracle = 6001,
    /// Governance has paused the market: no minting.
    MarketPaused = 6002,
    /// initialize: the mint is not an initialised 9-decimal mint with no supply, no freeze
    /// authority and this program's mint authority.
    InvalidMint = 6003,
    /// The mint, or the token account's mint, is not GRID (the config's mint).
    WrongMint = 6004,
    /// The registry participant is not the destination token account's owner.
    ParticipantMismatch = 6005,
    /// The registry has suspended the participant.
    ParticipantSuspended = 6006,
    /// The participant is a consumer: only prosumers generate.
    NotAProsumer = 6007,
    /// An amount of zero.
    ZeroAmount = 6008,
    /// A running total overflowed.
    Overflow = 6009,
}

impl From<EnergyError> for ProgramError {
    #[inline(always)]
    fn from(error: EnergyError) -> Self {
        ProgramError::Custom(error as u32)
    }
}
