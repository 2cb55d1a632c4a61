//! Account layouts: an 8-byte Anchor discriminator, then the fields in borsh, at fixed offsets.
//! The IDL's `accounts` describe the same layouts; the tests decode them with anchorpy.
//!
//! - `Market` (PDA `["market", market_id u64 LE]`): the market's parties, mints, vaults and rules.
//!   It owns the two vaults (PDA token accounts `["vault", market, mint]`) and signs for them.
//! - `Epoch` (PDA `["epoch", market, epoch_id u64 LE]`): one batch auction, its state and result.
//! - `Order` (PDA `["order", epoch, order_id u64 LE]`): one limit order and what it escrowed.

use pinocchio::Address;
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
fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

#[inline(always)]
fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// `enum FeePayer { Buyer, Seller, Split }`: core's `money::FeePayer`, as a borsh index.
pub const FEE_PAYERS: u8 = 3;
/// `enum Rounding { Down, Up, HalfEven }`: core's `money::Rounding`, as a borsh index.
pub const ROUNDINGS: u8 = 3;

/// `Market { market_id: u64, authority, operator, grid_mint, payment_mint, grid_vault,
/// payment_vault, treasury: Pubkey, lot: u64, tick: u64, fee_bps: u16, fee_payer: FeePayer,
/// fee_rounding: Rounding, epoch_seconds: u32, grid_decimals: u8, payment_decimals: u8, bump: u8 }`
pub struct Market;

impl Market {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Market");
    pub const MARKET_ID: usize = 8;
    pub const AUTHORITY: usize = 16;
    pub const OPERATOR: usize = 48;
    pub const GRID_MINT: usize = 80;
    pub const PAYMENT_MINT: usize = 112;
    pub const GRID_VAULT: usize = 144;
    pub const PAYMENT_VAULT: usize = 176;
    pub const TREASURY: usize = 208;
    pub const LOT: usize = 240;
    pub const TICK: usize = 248;
    pub const FEE_BPS: usize = 256;
    pub const FEE_PAYER: usize = 258;
    pub const FEE_ROUNDING: usize = 259;
    pub const EPOCH_SECONDS: usize = 260;
    pub const GRID_DECIMALS: usize = 264;
    pub const PAYMENT_DECIMALS: usize = 265;
    pub const BUMP: usize = 266;
    pub const LEN: usize = 267;
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
    pub terms: crate::amounts::Terms,
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
            terms: crate::amounts::Terms {
                lot: field::read_u64(data, Market::LOT),
                tick: field::read_u64(data, Market::TICK),
                fee_bps: read_u16(data, Market::FEE_BPS),
                fee_payer: data[Market::FEE_PAYER],
                fee_rounding: data[Market::FEE_ROUNDING],
            },
            grid_decimals: data[Market::GRID_DECIMALS],
            payment_decimals: data[Market::PAYMENT_DECIMALS],
        }
    }
}

/// `enum EpochState { Open, Closed, Cleared, Settled }`: orders are placed and cancelled while
/// open; the operator closes it, posts its result (cleared), and the last settled fill (or a
/// result without fills) settles it; then what did not fill is refunded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EpochState {
    Open = 0,
    Closed = 1,
    Cleared = 2,
    Settled = 3,
}

/// `Epoch { market: Pubkey, epoch_id: u64, state: EpochState, orders_placed: u32,
/// live_orders: u32, price: i64, volume: u64, fill_count: u32, fills_hash: [u8; 32],
/// settled_count: u32, settled_volume: u64, cursor: [u8; 32], fees: u64, bump: u8 }`
///
/// `fills_hash` is the head of the posted fills' hash chain ([`chain_link`]); `cursor` is the
/// head of what is left to settle: `fills_hash` at first, all zeroes once every fill is settled.
pub struct Epoch;

impl Epoch {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Epoch");
    pub const MARKET: usize = 8;
    pub const EPOCH_ID: usize = 40;
    pub const STATE: usize = 48;
    pub const ORDERS_PLACED: usize = 49;
    pub const LIVE_ORDERS: usize = 53;
    pub const PRICE: usize = 57;
    pub const VOLUME: usize = 65;
    pub const FILL_COUNT: usize = 73;
    pub const FILLS_HASH: usize = 77;
    pub const SETTLED_COUNT: usize = 109;
    pub const SETTLED_VOLUME: usize = 113;
    pub const CURSOR: usize = 121;
    pub const FEES: usize = 153;
    pub const BUMP: usize = 161;
    pub const LEN: usize = 162;

    #[inline(always)]
    pub fn write_new(data: &mut [u8], market: &Address, epoch_id: u64, bump: u8) {
        data[..Self::LEN].fill(0);
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        field::write_address(data, Self::MARKET, market);
        field::write_u64(data, Self::EPOCH_ID, epoch_id);
        data[Self::STATE] = EpochState::Open as u8;
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
    pub fn u32_at(data: &[u8], at: usize) -> u32 {
        read_u32(data, at)
    }

    #[inline(always)]
    pub fn set_u32(data: &mut [u8], at: usize, value: u32) {
        write_u32(data, at, value)
    }
}

/// `enum Side { Buy, Sell }`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Side {
    Buy = 0,
    Sell = 1,
}

/// `Order { epoch: Pubkey, owner: Pubkey, order_id: u64, side: Side, limit_price: i64, qty: u64,
/// filled: u64, grid_escrow: u64, payment_escrow: u64, grid_account: Pubkey,
/// payment_account: Pubkey, bump: u8 }`
///
/// `grid_escrow`/`payment_escrow` are what the vaults still hold for the order; `grid_account` and
/// `payment_account` are the owner's token accounts that receive what it bought or earned and
/// its refunds.
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
    pub const GRID_ACCOUNT: usize = 121;
    pub const PAYMENT_ACCOUNT: usize = 153;
    pub const BUMP: usize = 185;
    pub const LEN: usize = 186;
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

/// One fill as the operator's list has it and as it is hashed: `buy_order_id u64,
/// sell_order_id u64, qty u64, price i64`, little-endian.
pub const FILL_RECORD_LEN: usize = 32;

#[inline(always)]
pub fn fill_record(buy_id: u64, sell_id: u64, qty: u64, price: i64) -> [u8; FILL_RECORD_LEN] {
    let mut record = [0u8; FILL_RECORD_LEN];
    record[..8].copy_from_slice(&buy_id.to_le_bytes());
    record[8..16].copy_from_slice(&sell_id.to_le_bytes());
    record[16..24].copy_from_slice(&qty.to_le_bytes());
    record[24..].copy_from_slice(&price.to_le_bytes());
    record
}

/// The fills hash is a chain from the end of the list: `h[n] = [0; 32]`,
/// `h[i] = sha256(record[i] || h[i + 1])`, and the posted hash is `h[0]`. A batch of fills
/// `i..j` comes with `h[j]`; hashing back from it must reach the epoch's cursor `h[i]`, so every
/// settled fill is in the posted list, in its place, once.
#[inline(always)]
pub fn chain_link(record: &[u8; FILL_RECORD_LEN], next: &[u8; 32]) -> [u8; 32] {
    sha256(&[record, next])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_packed_borsh() {
        assert_eq!(Market::LEN, 8 + 8 + 7 * 32 + 8 + 8 + 2 + 1 + 1 + 4 + 1 + 1 + 1);
        assert_eq!(Epoch::LEN, 8 + 32 + 8 + 1 + 4 + 4 + 8 + 8 + 4 + 32 + 4 + 8 + 32 + 8 + 1);
        assert_eq!(Order::LEN, 8 + 32 + 32 + 8 + 1 + 8 + 8 + 8 + 8 + 8 + 32 + 32 + 1);
        let mut data = [0xffu8; Epoch::LEN];
        Epoch::write_new(&mut data, &Address::new_from_array([4; 32]), 202601010000, 250);
        assert_eq!(Epoch::market(&data), &[4; 32]);
        assert_eq!(field::read_u64(&data, Epoch::EPOCH_ID), 202601010000);
        assert_eq!((Epoch::state(&data), data[Epoch::BUMP]), (EpochState::Open as u8, 250));
        assert!(data[Epoch::ORDERS_PLACED..Epoch::BUMP].iter().all(|&b| b == 0));
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
    fn the_chain_links_records_from_the_end() {
        let a = fill_record(1, 2, 3, -4);
        assert_eq!(&a[24..], &(-4i64).to_le_bytes());
        let end = [0u8; 32];
        let h1 = chain_link(&fill_record(5, 6, 7, 8), &end);
        let h0 = chain_link(&a, &h1);
        let mut joined = [0u8; 64];
        joined[..32].copy_from_slice(&a);
        joined[32..].copy_from_slice(&h1);
        assert_eq!(h0, sha256(&[&joined]));
        assert_ne!(h0, chain_link(&fill_record(5, 6, 7, 8), &chain_link(&a, &end)));
    }
}
