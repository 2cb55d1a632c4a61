//! Account layouts: an 8-byte Anchor discriminator, then the fields in borsh, at fixed offsets.
//! The IDL's `accounts` describe the same layouts; the tests decode them with anchorpy.
//!
//! - `Market` (PDA `["market", market_id u64 LE]`): the market's parties, mints, vaults and rules.
//!   It owns the two vaults (PDA token accounts `["vault", market, mint]`) and signs for them.
//! - `Epoch` (PDA `["epoch", market, epoch_id u64 LE]`): one batch auction, its state and result.
//! - `Order` (PDA `["order", epoch, owner, order_id u64 LE]`): one limit order, what it escrowed
//!   and, once credited, what it is owed. The owner in the seeds means no one can take an id that
//!   another trader (or the engine, for it) is about to use.

use pinocchio::Address;
use program_support::accounts::derive_address;
use program_support::anchor::account_discriminator;
use program_support::borsh::field;
use program_support::sys::sha256;

pub const MARKET_SEED: &[u8] = b"market";
pub const VAULT_SEED: &[u8] = b"vault";
pub const EPOCH_SEED: &[u8] = b"epoch";
pub const ORDER_SEED: &[u8] = b"order";

#[inline(always)]
fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([data[at], data[at + 1]])
}

#[inline(always)]
pub fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

#[inline(always)]
pub fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// `enum FeePayer { Buyer, Seller, Split }`: core's `money::FeePayer`, as a borsh index.
pub const FEE_PAYERS: u8 = 3;
/// `enum Rounding { Down, Up, HalfEven }`: core's `money::Rounding`, as a borsh index.
pub const ROUNDINGS: u8 = 3;

/// `Market { market_id: u64, operator, grid_mint, payment_mint, grid_vault, payment_vault,
/// treasury: Pubkey, lot: u64, tick: u64, fee_payer: FeePayer, fee_rounding: Rounding,
/// epoch_seconds: u32, settle_deadline: u32, grid_decimals: u8, payment_decimals: u8,
/// fees_due: u64, bump: u8 }`
///
/// Governance is its authority (it signs `initialize_market` and `update_market`); the fee is
/// governance's `fee_bps`, copied into each epoch when it opens. `fees_due` are the fees of
/// finalised epochs that `withdraw_fees` has not moved to the treasury yet.
pub struct Market;

impl Market {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Market");
    pub const MARKET_ID: usize = 8;
    pub const OPERATOR: usize = 16;
    pub const GRID_MINT: usize = 48;
    pub const PAYMENT_MINT: usize = 80;
    pub const GRID_VAULT: usize = 112;
    pub const PAYMENT_VAULT: usize = 144;
    pub const TREASURY: usize = 176;
    pub const LOT: usize = 208;
    pub const TICK: usize = 216;
    pub const FEE_PAYER: usize = 224;
    pub const FEE_ROUNDING: usize = 225;
    pub const EPOCH_SECONDS: usize = 226;
    pub const SETTLE_DEADLINE: usize = 230;
    pub const GRID_DECIMALS: usize = 234;
    pub const PAYMENT_DECIMALS: usize = 235;
    pub const FEES_DUE: usize = 236;
    pub const BUMP: usize = 244;
    pub const LEN: usize = 245;
}

/// What the instructions need of a `Market`, copied out of its data (so that no borrow of the
/// account is alive during a CPI in which it signs for its vaults).
#[derive(Clone, Copy)]
pub struct MarketView {
    pub id_le: [u8; 8],
    pub bump: [u8; 1],
    pub operator: [u8; 32],
    pub grid_mint: [u8; 32],
    pub payment_mint: [u8; 32],
    pub grid_vault: [u8; 32],
    pub payment_vault: [u8; 32],
    pub treasury: [u8; 32],
    pub lot: u64,
    pub tick: u64,
    pub fee_payer: u8,
    pub fee_rounding: u8,
    pub epoch_seconds: u32,
    pub settle_deadline: u32,
    pub grid_decimals: u8,
    pub payment_decimals: u8,
}

impl MarketView {
    #[inline(always)]
    pub fn read(data: &[u8]) -> Self {
        let mut id_le = [0u8; 8];
        id_le.copy_from_slice(&data[Market::MARKET_ID..Market::MARKET_ID + 8]);
        Self {
            id_le,
            bump: [data[Market::BUMP]],
            operator: *field::read_address(data, Market::OPERATOR),
            grid_mint: *field::read_address(data, Market::GRID_MINT),
            payment_mint: *field::read_address(data, Market::PAYMENT_MINT),
            grid_vault: *field::read_address(data, Market::GRID_VAULT),
            payment_vault: *field::read_address(data, Market::PAYMENT_VAULT),
            treasury: *field::read_address(data, Market::TREASURY),
            lot: field::read_u64(data, Market::LOT),
            tick: field::read_u64(data, Market::TICK),
            fee_payer: data[Market::FEE_PAYER],
            fee_rounding: data[Market::FEE_ROUNDING],
            epoch_seconds: read_u32(data, Market::EPOCH_SECONDS),
            settle_deadline: read_u32(data, Market::SETTLE_DEADLINE),
            grid_decimals: data[Market::GRID_DECIMALS],
            payment_decimals: data[Market::PAYMENT_DECIMALS],
        }
    }

    /// The amounts' rules of an epoch of this market that charges `fee_bps`.
    #[inline(always)]
    pub fn terms(&self, fee_bps: u16) -> crate::amounts::Terms {
        crate::amounts::Terms {
            lot: self.lot,
            tick: self.tick,
            fee_bps,
            fee_payer: self.fee_payer,
            fee_rounding: self.fee_rounding,
        }
    }
}

/// `enum EpochState { Open, Closed, Posted, Finalised, Abandoned }`: orders are placed and
/// cancelled while open; the operator closes it and posts its result's commitment (posted);
/// the batch that credits the last result finalises it. An epoch not finalised by its deadline
/// (or at once by governance) is abandoned. Orders are claimed once it is finalised or
/// abandoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EpochState {
    Open = 0,
    Closed = 1,
    Posted = 2,
    Finalised = 3,
    Abandoned = 4,
}

/// `Epoch { market: Pubkey, epoch_id: u64, state: EpochState, fee_bps: u16, opened_at: i64,
/// closed_at: i64, orders_placed: u32, live_orders: u32, price: i64, volume: u64,
/// result_count: u32, results_hash: [u8; 32], cursor: [u8; 32], credited_count: u32,
/// bought: u64, sold: u64, fees: u64, bump: u8 }`
///
/// `results_hash` is the head of the posted results' hash chain ([`result_link`]); `cursor` is
/// the head of what is left to credit: `results_hash` at first, all zeroes once every result is
/// credited. `live_orders` counts the orders whose accounts still exist.
pub struct Epoch;

impl Epoch {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Epoch");
    pub const MARKET: usize = 8;
    pub const EPOCH_ID: usize = 40;
    pub const STATE: usize = 48;
    pub const FEE_BPS: usize = 49;
    pub const OPENED_AT: usize = 51;
    pub const CLOSED_AT: usize = 59;
    pub const ORDERS_PLACED: usize = 67;
    pub const LIVE_ORDERS: usize = 71;
    pub const PRICE: usize = 75;
    pub const VOLUME: usize = 83;
    pub const RESULT_COUNT: usize = 91;
    pub const RESULTS_HASH: usize = 95;
    pub const CURSOR: usize = 127;
    pub const CREDITED_COUNT: usize = 159;
    pub const BOUGHT: usize = 163;
    pub const SOLD: usize = 171;
    pub const FEES: usize = 179;
    pub const BUMP: usize = 187;
    pub const LEN: usize = 188;

    #[inline(always)]
    pub fn write_new(data: &mut [u8], market: &Address, epoch_id: u64, fee_bps: u16, opened_at: i64, bump: u8) {
        data[..Self::LEN].fill(0);
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        field::write_address(data, Self::MARKET, market);
        field::write_u64(data, Self::EPOCH_ID, epoch_id);
        data[Self::STATE] = EpochState::Open as u8;
        data[Self::FEE_BPS..Self::FEE_BPS + 2].copy_from_slice(&fee_bps.to_le_bytes());
        field::write_i64(data, Self::OPENED_AT, opened_at);
        data[Self::BUMP] = bump;
    }

    #[inline(always)]
    pub fn market(data: &[u8]) -> &[u8; 32] {
        field::read_address(data, Self::MARKET)
    }

    #[inline(always)]
    pub fn state(data: &[u8]) -> u8 {
        data[Self::STATE]
    }

    #[inline(always)]
    pub fn set_state(data: &mut [u8], state: EpochState) {
        data[Self::STATE] = state as u8;
    }

    #[inline(always)]
    pub fn fee_bps(data: &[u8]) -> u16 {
        read_u16(data, Self::FEE_BPS)
    }
}

/// `enum Side { Buy, Sell }`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Side {
    Buy = 0,
    Sell = 1,
}

/// `Order { epoch: Pubkey, owner: Pubkey, order_id: u64, side: Side, limit_price: i64,
/// qty: u64, filled: u64, grid_escrow: u64, payment_escrow: u64, grid_due: u64,
/// payment_due: u64, credited: bool, grid_account: Pubkey, payment_account: Pubkey, bump: u8 }`
///
/// `grid_escrow`/`payment_escrow` are what the vaults hold for the order; once its result is
/// credited, `grid_due`/`payment_due` are what its claim pays. `grid_account` and
/// `payment_account` are the owner's token accounts a cranked claim pays to.
pub struct Order;

impl Order {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Order");
    pub const EPOCH: usize = 8;
    pub const OWNER: usize = 40;
    pub const ORDER_ID: usize = 72;
    pub const SIDE: usize = 80;
    pub const LIMIT_PRICE: usize = 81;
    pub const QTY: usize = 89;
    pub const FILLED: usize = 97;
    pub const GRID_ESCROW: usize = 105;
    pub const PAYMENT_ESCROW: usize = 113;
    pub const GRID_DUE: usize = 121;
    pub const PAYMENT_DUE: usize = 129;
    pub const CREDITED: usize = 137;
    pub const GRID_ACCOUNT: usize = 138;
    pub const PAYMENT_ACCOUNT: usize = 170;
    pub const BUMP: usize = 202;
    pub const LEN: usize = 203;
}

/// The registry's `Participant` account as the trading program reads it (the registry's
/// `state.rs`; a host test checks these against its constants).
pub mod participant {
    use program_support::anchor::account_discriminator;

    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Participant");
    pub const SEED: &[u8] = b"participant";
    pub const OWNER: usize = 8;
    pub const KIND: usize = 40;
    pub const STATUS: usize = 41;
    pub const BUMP: usize = 50;
    pub const LEN: usize = 51;
    /// `ParticipantKind::Prosumer`
    pub const PROSUMER: u8 = 1;
    /// `ParticipantStatus::Active`
    pub const ACTIVE: u8 = 0;
}

/// The registry program's id (the shared contract).
pub const REGISTRY_ID: Address = Address::from_str_const("63DMmvAZd8XSmQXDn9nWSTYjw44M9NyqPY8F4mtkMhhG");

/// The energy_token program, whose `["mint_authority"]` address must be GRID's mint authority.
pub const ENERGY_TOKEN_ID: Address = Address::from_str_const("AFBbTbZKuCBA6cZ5nifLQ7adKok8apnjuyGSjAuXgWZF");
/// energy_token's `["mint_authority"]` at its canonical bump (a host test checks it against
/// energy_token's own constant).
pub const GRID_MINT_AUTHORITY: Address = derive_address(&[b"mint_authority"], 254, &ENERGY_TOKEN_ID);

/// The results' hash chain runs from the end of the list: `h[n] = [0; 32]`,
/// `h[i] = sha256(order_address[i] || filled[i] || h[i + 1])`, and the posted hash is `h[0]`. A
/// batch of results `i..j` comes with `h[j]`; hashing back from it must reach the epoch's cursor
/// `h[i]`, so every credited result is in the posted list, in its place, once.
#[inline(always)]
pub fn result_link(order: &[u8; 32], filled: u64, next: &[u8; 32]) -> [u8; 32] {
    sha256(&[order, &filled.to_le_bytes(), next])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_packed_borsh() {
        assert_eq!(Market::LEN, 8 + 8 + 6 * 32 + 8 + 8 + 1 + 1 + 4 + 4 + 1 + 1 + 8 + 1);
        assert_eq!(Epoch::LEN, 8 + 32 + 8 + 1 + 2 + 8 + 8 + 4 + 4 + 8 + 8 + 4 + 32 + 32 + 4 + 8 + 8 + 8 + 1);
        assert_eq!(Order::LEN, 8 + 32 + 32 + 8 + 1 + 8 + 8 + 8 + 8 + 8 + 8 + 8 + 1 + 32 + 32 + 1);
        let mut data = [0xffu8; Epoch::LEN];
        Epoch::write_new(&mut data, &Address::new_from_array([4; 32]), 202601010000, 125, -7, 250);
        assert_eq!(Epoch::market(&data), &[4; 32]);
        assert_eq!(field::read_u64(&data, Epoch::EPOCH_ID), 202601010000);
        assert_eq!((Epoch::state(&data), Epoch::fee_bps(&data), data[Epoch::BUMP]), (EpochState::Open as u8, 125, 250));
        assert_eq!(field::read_i64(&data, Epoch::OPENED_AT), -7);
        assert!(data[Epoch::CLOSED_AT..Epoch::BUMP].iter().all(|&b| b == 0));
    }

    #[test]
    fn participant_layout_is_the_registrys() {
        use registry::state::Participant;
        assert_eq!(participant::DISCRIMINATOR, Participant::DISCRIMINATOR);
        assert_eq!(participant::OWNER, Participant::OWNER);
        assert_eq!(participant::KIND, Participant::KIND);
        assert_eq!(participant::STATUS, Participant::STATUS);
        assert_eq!(participant::BUMP, Participant::BUMP);
        assert_eq!(participant::LEN, Participant::LEN);
        assert_eq!(participant::PROSUMER, registry::state::ParticipantKind::Prosumer as u8);
        assert_eq!(participant::ACTIVE, registry::state::ParticipantStatus::Active as u8);
        assert_eq!(REGISTRY_ID, registry::ID);
    }

    #[test]
    fn grid_mint_authority_is_energy_tokens() {
        assert_eq!(ENERGY_TOKEN_ID, energy_token::ID);
        assert_eq!(GRID_MINT_AUTHORITY, energy_token::state::MINT_AUTHORITY);
    }

    #[test]
    fn the_chain_links_results_from_the_end() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let end = [0u8; 32];
        let h1 = result_link(&b, 7, &end);
        let h0 = result_link(&a, u64::MAX - 1, &h1);
        let mut joined = [0u8; 72];
        joined[..32].copy_from_slice(&a);
        joined[32..40].copy_from_slice(&(u64::MAX - 1).to_le_bytes());
        joined[40..].copy_from_slice(&h1);
        assert_eq!(h0, sha256(&[&joined]));
        assert_ne!(h0, result_link(&b, 7, &result_link(&a, u64::MAX - 1, &end)));
    }
}
