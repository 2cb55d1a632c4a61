//! The trading program's own errors: Anchor numbers them from 6000 in declaration order, and the
//! IDL's `errors` lists them with the same numbers and messages. Account mismatches use Anchor's
//! framework numbers (`program_support::anchor::ErrorCode` and [`TOKEN_MINT`]/[`TOKEN_OWNER`]).

use pinocchio::error::ProgramError;

/// Anchor's `ConstraintTokenMint`: a token account of another mint.
pub const TOKEN_MINT: u32 = 2014;
/// Anchor's `ConstraintTokenOwner`: a token account of another owner.
pub const TOKEN_OWNER: u32 = 2015;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum TradingError {
    /// The market is paused by governance (the shared contract's name for it).
    MarketPaused = 6000,
    /// The signer is not the market's operator.
    NotOperator = 6001,
    /// The signer does not own the order.
    NotOrderOwner = 6002,
    /// The epoch is not open for orders.
    EpochNotOpen = 6003,
    /// The epoch is not closed (or already has its result).
    EpochNotClosed = 6004,
    /// The epoch has no posted result to credit.
    EpochNotPosted = 6005,
    /// The epoch is neither finalised nor abandoned: nothing can be claimed yet.
    EpochNotDone = 6006,
    /// The participant is suspended.
    ParticipantSuspended = 6007,
    /// Only a prosumer may sell.
    NotProsumer = 6008,
    /// An order needs a positive quantity.
    InvalidOrder = 6009,
    /// A market parameter is out of range.
    InvalidMarketParameter = 6010,
    /// An amount does not fit in a u64 (or a price per lot in an i64).
    AmountOverflow = 6011,
    /// The order's result was credited already.
    OrderAlreadyCredited = 6012,
    /// More results than the posted result has.
    TooManyResults = 6013,
    /// The results are not the posted list (their hash chain disagrees).
    ResultsHashMismatch = 6014,
    /// The price is above the buy's limit or below the sell's.
    FillThroughLimit = 6015,
    /// A result fills more than the order's quantity.
    OrderOverfilled = 6016,
    /// The result is inconsistent (orders without volume, volume without orders, one order
    /// alone, an order filled zero, an empty batch).
    InvalidResult = 6017,
    /// The credited volumes disagree with each other or with the posted volume.
    VolumeMismatch = 6018,
    /// An order's escrow does not cover what its result takes.
    EscrowShortfall = 6019,
    /// The signer is not one of governance's authorities.
    NotGovernanceAuthority = 6020,
    /// The epoch's deadline has not passed: only governance may abandon it now.
    DeadlineNotReached = 6021,
    /// The epoch is finalised or abandoned already.
    EpochFinished = 6022,
    /// GRID must be energy_token's mint (its mint authority energy_token's address).
    NotEnergyTokenMint = 6023,
}

impl From<TradingError> for ProgramError {
    #[inline(always)]
    fn from(error: TradingError) -> Self {
        ProgramError::Custom(error as u32)
    }
}
