//! The oracle's own errors: Anchor numbers them from 6000 in declaration order, and the IDL's
//! `errors` lists them with the same numbers and messages.

use pinocchio::error::ProgramError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum OracleError {
    /// The signer is not a governance authority.
    Unauthorized = 6000,
    /// The signer is not an oracle operator.
    NotOperator = 6001,
    /// Operators: one to four, distinct, none the all-zero key.
    InvalidOperators = 6002,
    /// Limits: both maxima must be positive.
    InvalidLimits = 6003,
    /// A reading with this timestamp was already accepted for this meter.
    ReplayedReading = 6004,
    /// The reading is older than the meter's last accepted one.
    NonMonotonicTimestamp = 6005,
    /// The reading's timestamp is later than the chain's clock.
    ReadingInFuture = 6006,
    /// A reading of zero energy.
    ZeroEnergy = 6007,
    /// The energy exceeds the maximum per reading.
    EnergyAboveMaximum = 6008,
    /// The energy exceeds the maximum per second over the time since the meter's last reading.
    RateAboveMaximum = 6009,
    /// The destination token account is not owned by the meter's prosumer.
    WrongProsumer = 6010,
    /// A running total overflowed.
    Overflow = 6011,
    /// The meter has no `Meter` in the registry (the account given is not the registry's `Meter`
    /// at `["meter", meter_id]`).
    UnregisteredMeter = 6012,
    /// The registry's meter belongs to another participant than the prosumer credited.
    MeterOwnerMismatch = 6013,
}

impl From<OracleError> for ProgramError {
    #[inline(always)]
    fn from(error: OracleError) -> Self {
        ProgramError::Custom(error as u32)
    }
}
