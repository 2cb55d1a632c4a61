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
    /// The epoch has no clearing result to settle.
    EpochNotCleared = 6005,
    /// The epoch is not settled yet: nothing can be refunded.
    EpochNotSettled = 6006,
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
    /// These fills were settled already.
    FillAlreadySettled = 6012,
    /// Fills settle in the posted order: an earlier one is not settled yet.
    FillOutOfOrder = 6013,
    /// More fills than the posted result has.
    TooManyFills = 6014,
    /// The fills are not the posted list (their hash chain disagrees).
    FillsHashMismatch = 6015,
    /// The fill's price is not the posted clearing price.
    FillPriceMismatch = 6016,
    /// The price is above the bid's limit or below the ask's.
    FillThroughLimit = 6017,
    /// The fill is more than the order has left.
    OrderOverfilled = 6018,
    /// A fill needs a positive quantity, a buy order first and a sell order second.
    InvalidFill = 6019,
    /// The settled volume disagrees with the posted volume.
    VolumeMismatch = 6020,
    /// The result is inconsistent (fills without volume, volume without fills).
    InvalidResult = 6021,
    /// An order's escrow does not cover what the fill takes.
    EscrowShortfall = 6022,
}

impl From<TradingError> for ProgramError {
    #[inline(always)]
    fn from(error: TradingError) -> Self {
        ProgramError::Custom(error as u32)
    }
}
