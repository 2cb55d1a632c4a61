//! Account layouts (an 8-byte Anchor discriminator, then borsh at fixed offsets), the program
//! addresses this program knows at compile time (canonical bumps confirmed by the host tests),
//! and the pure rules of a plausible reading.

use crate::error::OracleError;
use pinocchio::{error::ProgramError, Address};
use program_support::accounts::derive_address;
use program_support::anchor::{account_discriminator, instruction_discriminator};
use program_support::borsh::field;

/// Seed of the one `OracleConfig`: `["oracle"]`.
pub const CONFIG_SEED: &[u8] = b"oracle";
pub const CONFIG_BUMP: u8 = 252;
pub const CONFIG_ADDRESS: Address = derive_address(&[CONFIG_SEED], CONFIG_BUMP, &crate::ID);

/// Seed prefix of a `Meter`: `["meter", meter_id as u64 LE]`.
pub const METER_SEED: &[u8] = b"meter";

/// This program's signer `["oracle_signer"]` (no account): energy_token mints only when it signs.
pub const ORACLE_SIGNER_SEED: &[u8] = b"oracle_signer";
pub const ORACLE_SIGNER_BUMP: u8 = 255;
pub const ORACLE_SIGNER: Address = derive_address(&[ORACLE_SIGNER_SEED], ORACLE_SIGNER_BUMP, &crate::ID);

/// The energy_token program (the shared contract's id) and its instruction the oracle invokes.
pub const ENERGY_TOKEN_ID: Address = Address::from_str_const("AFBbTbZKuCBA6cZ5nifLQ7adKok8apnjuyGSjAuXgWZF");
pub const MINT_FOR_READING: [u8; 8] = instruction_discriminator("mint_for_reading");

pub const MAX_OPERATORS: usize = 4;
const ZERO: [u8; 32] = [0; 32];

/// `OracleConfig { operators: [Pubkey; 4], max_energy_per_reading: u64, max_energy_per_second:
/// u64, reading_count: u64, total_energy: u64, bump: u8 }`: who may submit readings, what is
/// plausible, and what was accepted in all (unused operator slots are all-zero).
pub struct OracleConfig;

impl OracleConfig {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("OracleConfig");
    pub const OPERATORS: usize = 8;
    pub const MAX_ENERGY_PER_READING: usize = Self::OPERATORS + 32 * MAX_OPERATORS;
    pub const MAX_ENERGY_PER_SECOND: usize = Self::MAX_ENERGY_PER_READING + 8;
    pub const READING_COUNT: usize = Self::MAX_ENERGY_PER_SECOND + 8;
    pub const TOTAL_ENERGY: usize = Self::READING_COUNT + 8;
    pub const BUMP: usize = Self::TOTAL_ENERGY + 8;
    pub const LEN: usize = Self::BUMP + 1;

    #[inline(always)]
    pub fn write_new(data: &mut [u8], operators: &Operators, limits: Limits, bump: u8) {
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        Self::set_operators(data, operators);
        Self::set_limits(data, limits);
        field::write_u64(data, Self::READING_COUNT, 0);
        field::write_u64(data, Self::TOTAL_ENERGY, 0);
        data[Self::BUMP] = bump;
    }

    #[inline(always)]
    pub fn set_operators(data: &mut [u8], operators: &Operators) {
        for (slot, key) in operators.keys.iter().enumerate() {
            data[Self::OPERATORS + 32 * slot..Self::OPERATORS + 32 * (slot + 1)].copy_from_slice(key);
        }
    }

    #[inline(always)]
    pub fn set_limits(data: &mut [u8], limits: Limits) {
        field::write_u64(data, Self::MAX_ENERGY_PER_READING, limits.per_reading);
        field::write_u64(data, Self::MAX_ENERGY_PER_SECOND, limits.per_second);
    }

    #[inline(always)]
    pub fn limits(data: &[u8]) -> Limits {
        Limits {
            per_reading: field::read_u64(data, Self::MAX_ENERGY_PER_READING),
            per_second: field::read_u64(data, Self::MAX_ENERGY_PER_SECOND),
        }
    }

    /// Whether `key` is an operator (the all-zero key never is).
    #[inline(always)]
    pub fn is_operator(data: &[u8], key: &Address) -> bool {
        let key = key.as_array();
        key != &ZERO
            && (0..MAX_OPERATORS).any(|slot| field::read_address(data, Self::OPERATORS + 32 * slot) == key)
    }

    /// Counts one more accepted reading of `energy`.
    #[inline(always)]
    pub fn record(data: &mut [u8], energy: u64) -> Result<(), ProgramError> {
        add(data, Self::READING_COUNT, 1)?;
        add(data, Self::TOTAL_ENERGY, energy)
    }
}

/// `Meter { meter_id: u64, prosumer: Pubkey, last_timestamp: i64, reading_count: u64,
/// total_energy: u64, bump: u8 }`: a meter, the prosumer its readings are minted to, and the
/// timestamp of its last accepted reading (its registration time before the first).
pub struct Meter;

impl Meter {
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Meter");
    pub const METER_ID: usize = 8;
    pub const PROSUMER: usize = Self::METER_ID + 8;
    pub const LAST_TIMESTAMP: usize = Self::PROSUMER + 32;
    pub const READING_COUNT: usize = Self::LAST_TIMESTAMP + 8;
    pub const TOTAL_ENERGY: usize = Self::READING_COUNT + 8;
    pub const BUMP: usize = Self::TOTAL_ENERGY + 8;
    pub const LEN: usize = Self::BUMP + 1;

    #[inline(always)]
    pub fn write_new(data: &mut [u8], meter_id: u64, prosumer: &Address, registered_at: i64, bump: u8) {
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        field::write_u64(data, Self::METER_ID, meter_id);
        field::write_address(data, Self::PROSUMER, prosumer);
        field::write_i64(data, Self::LAST_TIMESTAMP, registered_at);
        field::write_u64(data, Self::READING_COUNT, 0);
        field::write_u64(data, Self::TOTAL_ENERGY, 0);
        data[Self::BUMP] = bump;
    }

    #[inline(always)]
    pub fn meter_id(data: &[u8]) -> u64 {
        field::read_u64(data, Self::METER_ID)
    }

    #[inline(always)]
    pub fn prosumer(data: &[u8]) -> &[u8; 32] {
        field::read_address(data, Self::PROSUMER)
    }

    #[inline(always)]
    pub fn last_timestamp(data: &[u8]) -> i64 {
        field::read_i64(data, Self::LAST_TIMESTAMP)
    }

    /// Records an accepted reading: its timestamp becomes the last, its energy counts.
    #[inline(always)]
    pub fn record(data: &mut [u8], timestamp: i64, energy: u64) -> Result<(), ProgramError> {
        field::write_i64(data, Self::LAST_TIMESTAMP, timestamp);
        add(data, Self::READING_COUNT, 1)?;
        add(data, Self::TOTAL_ENERGY, energy)
    }
}

/// The registry program (the shared contract's id) and its `Meter { meter_id: u64, owner: Pubkey,
/// registered_at: i64, bump: u8 }` at `["meter", meter_id as u64 LE]` (programs/registry/src/state.rs
/// is its source): a meter the registry admitted, and the participant it belongs to.
pub mod registry_meter {
    use super::*;
    use program_support::sys::sha256;

    pub const REGISTRY_ID: Address = Address::from_str_const("63DMmvAZd8XSmQXDn9nWSTYjw44M9NyqPY8F4mtkMhhG");
    pub const SEED: &[u8] = b"meter";
    pub const DISCRIMINATOR: [u8; 8] = account_discriminator("Meter");
    pub const OWNER: usize = 16;
    pub const BUMP: usize = 56;
    pub const LEN: usize = 57;

    /// `data`, the bytes of a registry-owned account at `address`, is the registry's `Meter` of
    /// `meter_id` (its type, and at its program address: else `UnregisteredMeter`) and belongs to
    /// `prosumer` (else `MeterOwnerMismatch`). The address is derived with the bump the registry
    /// stored (one sha256 syscall, not `create_program_address`'s 1,500 units): the registry creates
    /// meters only at their canonical address.
    #[inline(always)]
    pub fn check(address: &[u8; 32], data: &[u8], meter_id: u64, prosumer: &[u8; 32]) -> Result<(), OracleError> {
        if data.len() < LEN || data[..8] != DISCRIMINATOR {
            return Err(OracleError::UnregisteredMeter);
        }
        let id_seed = meter_id.to_le_bytes();
        let bump = [data[BUMP]];
        let expected = sha256(&[SEED, &id_seed, &bump, REGISTRY_ID.as_ref(), b"ProgramDerivedAddress"]);
        if address != &expected {
            return Err(OracleError::UnregisteredMeter);
        }
        if field::read_address(data, OWNER) != prosumer {
            return Err(OracleError::MeterOwnerMismatch);
        }
        Ok(())
    }
}

#[inline(always)]
fn add(data: &mut [u8], offset: usize, amount: u64) -> Result<(), ProgramError> {
    let total = field::read_u64(data, offset).checked_add(amount).ok_or(OracleError::Overflow)?;
    field::write_u64(data, offset, total);
    Ok(())
}

/// The operators an instruction names: one to four distinct keys, none all-zero, in slot order
/// (the rest of the four slots all-zero).
pub struct Operators {
    pub keys: [[u8; 32]; MAX_OPERATORS],
}

impl Operators {
    /// Reads borsh `Vec<Pubkey>` from instruction arguments and checks it.
    #[inline(always)]
    pub fn read(args: &mut program_support::borsh::Reader) -> Result<Self, ProgramError> {
        let count = args.u32()? as usize;
        if count == 0 || count > MAX_OPERATORS {
            return Err(OracleError::InvalidOperators.into());
        }
        let mut keys = [ZERO; MAX_OPERATORS];
        for slot in 0..count {
            let key = *args.bytes::<32>()?;
            if key == ZERO || keys[..slot].contains(&key) {
                return Err(OracleError::InvalidOperators.into());
            }
            keys[slot] = key;
        }
        Ok(Self { keys })
    }
}

/// The bounds of a plausible reading, in GRID base units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub per_reading: u64,
    pub per_second: u64,
}

impl Limits {
    #[inline(always)]
    pub fn checked(self) -> Result<Self, ProgramError> {
        if self.per_reading == 0 || self.per_second == 0 {
            Err(OracleError::InvalidLimits.into())
        } else {
            Ok(self)
        }
    }
}

/// A reading of `energy` at `timestamp` for a meter whose last accepted reading (or registration)
/// was at `last`, with the chain's clock at `now`: accepted when strictly later than `last` (equal
/// is a replay, earlier is out of order), not after `now`, of positive energy, at most
/// `per_reading`, and at most `per_second` for each second since `last`.
#[inline(always)]
pub fn check_reading(last: i64, now: i64, timestamp: i64, energy: u64, limits: Limits) -> Result<(), OracleError> {
    if timestamp == last {
        return Err(OracleError::ReplayedReading);
    }
    if timestamp < last {
        return Err(OracleError::NonMonotonicTimestamp);
    }
    if timestamp > now {
        return Err(OracleError::ReadingInFuture);
    }
    if energy == 0 {
        return Err(OracleError::ZeroEnergy);
    }
    if energy > limits.per_reading {
        return Err(OracleError::EnergyAboveMaximum);
    }
    // timestamp > last, so the difference is positive (and fits a u64 even from i64::MIN).
    let elapsed = (timestamp as u64).wrapping_sub(last as u64);
    // energy > elapsed * per_second, without the product: for energy >= 1 and per_second >= 1 it
    // is (energy - 1) / per_second >= elapsed. (LLVM turns `math::checked_mul`'s division test
    // into a 128-bit multiply, which the BPF backend cannot call: `__multi3`.)
    if limits.per_second == 0 || (energy - 1) / limits.per_second >= elapsed {
        return Err(OracleError::RateAboveMaximum);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use program_support::borsh::Reader;

    const LIMITS: Limits = Limits { per_reading: 1_000, per_second: 10 };

    #[test]
    fn the_known_addresses_are_canonical_program_addresses() {
        for (seed, address, bump) in
            [(CONFIG_SEED, CONFIG_ADDRESS, CONFIG_BUMP), (ORACLE_SIGNER_SEED, ORACLE_SIGNER, ORACLE_SIGNER_BUMP)]
        {
            assert_eq!(Address::find_program_address(&[seed], &crate::ID), (address, bump));
        }
    }

    #[test]
    fn a_registry_meter_is_the_registry_s_of_its_id_and_of_the_prosumer() {
        use registry_meter::*;
        let (address, bump) = Address::find_program_address(&[SEED, &7u64.to_le_bytes()], &REGISTRY_ID);
        let address = address.to_bytes();
        let mut data = [0u8; LEN];
        data[..8].copy_from_slice(&DISCRIMINATOR);
        data[8..16].copy_from_slice(&7u64.to_le_bytes());
        data[OWNER..OWNER + 32].copy_from_slice(&[5; 32]);
        data[BUMP] = bump;
        assert_eq!(check(&address, &data, 7, &[5; 32]), Ok(()));
        assert_eq!(check(&address, &data, 7, &[6; 32]), Err(OracleError::MeterOwnerMismatch));
        assert_eq!(check(&address, &data, 8, &[5; 32]), Err(OracleError::UnregisteredMeter)); // another id's
        let other = Address::find_program_address(&[SEED, &8u64.to_le_bytes()], &REGISTRY_ID).0.to_bytes();
        assert_eq!(check(&other, &data, 7, &[5; 32]), Err(OracleError::UnregisteredMeter));
        assert_eq!(check(&address, &data[..LEN - 1], 7, &[5; 32]), Err(OracleError::UnregisteredMeter));
        let mut wrong = data;
        wrong[BUMP] = bump.wrapping_sub(1);
        assert_eq!(check(&address, &wrong, 7, &[5; 32]), Err(OracleError::UnregisteredMeter));
        let mut wrong = data;
        wrong[..8].copy_from_slice(&account_discriminator("Participant"));
        assert_eq!(check(&address, &wrong, 7, &[5; 32]), Err(OracleError::UnregisteredMeter));
        // The oracle's own `Meter` has the same discriminator: only the account's owner tells them
        // apart, which submit_reading checks before this.
        assert_eq!(DISCRIMINATOR, Meter::DISCRIMINATOR);
    }

    #[test]
    fn a_reading_is_later_than_the_last_not_in_the_future_and_plausible() {
        assert_eq!(check_reading(100, 200, 150, 500, LIMITS), Ok(()));
        assert_eq!(check_reading(100, 200, 200, 1_000, LIMITS), Ok(())); // now itself; both maxima exactly
        assert_eq!(check_reading(100, 200, 100, 1, LIMITS), Err(OracleError::ReplayedReading));
        assert_eq!(check_reading(100, 200, 99, 1, LIMITS), Err(OracleError::NonMonotonicTimestamp));
        assert_eq!(check_reading(100, 200, 201, 1, LIMITS), Err(OracleError::ReadingInFuture));
        assert_eq!(check_reading(100, 200, 150, 0, LIMITS), Err(OracleError::ZeroEnergy));
        assert_eq!(check_reading(100, 200, 200, 1_001, LIMITS), Err(OracleError::EnergyAboveMaximum));
        assert_eq!(check_reading(100, 200, 101, 11, LIMITS), Err(OracleError::RateAboveMaximum));
        assert_eq!(check_reading(100, 200, 101, 10, LIMITS), Ok(()));
    }

    #[test]
    fn the_rate_bound_holds_at_the_extremes() {
        let open = Limits { per_reading: u64::MAX, per_second: u64::MAX };
        assert_eq!(check_reading(i64::MIN, i64::MAX, i64::MAX, u64::MAX, open), Ok(()));
        let slow = Limits { per_reading: u64::MAX, per_second: 1 };
        assert_eq!(check_reading(i64::MIN, i64::MAX, i64::MAX, u64::MAX, slow), Ok(())); // 2^64 - 1 seconds
        assert_eq!(check_reading(-5, 0, 0, 5, slow), Ok(()));
        assert_eq!(check_reading(-5, 0, 0, 6, slow), Err(OracleError::RateAboveMaximum));
        let zero = Limits { per_reading: u64::MAX, per_second: 0 };
        assert_eq!(check_reading(0, 9, 9, 1, zero), Err(OracleError::RateAboveMaximum));
    }

    #[test]
    fn the_rate_bound_is_the_product_s() {
        // (energy - 1) / per_second >= elapsed  <=>  energy > elapsed * per_second (exactly, in u128)
        let values = [1u64, 2, 3, 7, 10, 999, 1_000, 1_001, 1 << 32, u64::MAX / 3, u64::MAX - 1, u64::MAX];
        for &energy in &values {
            for &per_second in &values {
                for &elapsed in &values[..8] {
                    let limits = Limits { per_reading: u64::MAX, per_second };
                    let last = 0i64;
                    let timestamp = elapsed as i64;
                    let refused = energy as u128 > elapsed as u128 * per_second as u128;
                    let got = check_reading(last, i64::MAX, timestamp, energy, limits);
                    assert_eq!(got.is_err(), refused, "{energy} {per_second} {elapsed}");
                }
            }
        }
    }

    #[test]
    fn operators_are_one_to_four_distinct_real_keys() {
        fn vec(keys: &[[u8; 32]]) -> ([u8; 4 + 32 * 5], usize) {
            let mut data = [0u8; 4 + 32 * 5];
            data[..4].copy_from_slice(&(keys.len() as u32).to_le_bytes());
            for (i, key) in keys.iter().enumerate() {
                data[4 + 32 * i..4 + 32 * (i + 1)].copy_from_slice(key);
            }
            (data, 4 + 32 * keys.len())
        }
        let read = |keys: &[[u8; 32]]| {
            let (data, len) = vec(keys);
            Operators::read(&mut Reader::new(&data[..len])).map(|o| o.keys)
        };
        assert_eq!(read(&[[1; 32], [2; 32]]), Ok([[1; 32], [2; 32], ZERO, ZERO]));
        assert_eq!(read(&[[1; 32], [2; 32], [3; 32], [4; 32]]).unwrap()[3], [4; 32]);
        let invalid = Err(OracleError::InvalidOperators.into());
        assert_eq!(read(&[]), invalid);
        assert_eq!(read(&[[1; 32], [2; 32], [3; 32], [4; 32], [5; 32]]), invalid);
        assert_eq!(read(&[[1; 32], [1; 32]]), invalid);
        assert_eq!(read(&[[0; 32]]), invalid);

        let mut config = [0u8; OracleConfig::LEN];
        let operators = read(&[[1; 32], [2; 32]]).unwrap();
        OracleConfig::write_new(&mut config, &Operators { keys: operators }, LIMITS, 252);
        assert!(OracleConfig::is_operator(&config, &Address::new_from_array([2; 32])));
        assert!(!OracleConfig::is_operator(&config, &Address::new_from_array([3; 32])));
        assert!(!OracleConfig::is_operator(&config, &Address::new_from_array([0; 32])));
        assert_eq!(OracleConfig::limits(&config), LIMITS);
        assert_eq!(OracleConfig::LEN, 8 + 128 + 8 * 4 + 1);
        assert_eq!(Meter::LEN, 8 + 8 + 32 + 8 * 3 + 1);
    }
}
