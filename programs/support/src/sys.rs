//! Syscalls the programs call directly.
//!
//! On `bpfel-unknown-none` pinocchio 0.11's `Clock::get()` and `Rent::get()` take their
//! `not(target_os = "solana")` branch and return a zeroed sysvar without error, and
//! `pinocchio-log` prints nothing: use [`clock`], [`minimum_balance`] and [`log`] instead.
//! Off the BPF target (host unit tests) these return fixed values.

use pinocchio::error::ProgramError;

#[cfg(target_arch = "bpf")]
use pinocchio::syscalls;

/// The `Clock` sysvar, in its bincode layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Clock {
    pub slot: u64,
    pub epoch_start_timestamp: i64,
    pub epoch: u64,
    pub leader_schedule_epoch: u64,
    pub unix_timestamp: i64,
}

/// The current `Clock` (syscall `sol_get_clock_sysvar`).
#[inline(always)]
pub fn clock() -> Result<Clock, ProgramError> {
    #[cfg(target_arch = "bpf")]
    {
        let mut clock = core::mem::MaybeUninit::<Clock>::uninit();
        #[allow(deprecated)]
        let rc = unsafe { syscalls::sol_get_clock_sysvar(clock.as_mut_ptr() as *mut u8) };
        if rc == 0 {
            Ok(unsafe { clock.assume_init() })
        } else {
            Err(ProgramError::UnsupportedSysvar)
        }
    }
    #[cfg(not(target_arch = "bpf"))]
    {
        Ok(Clock::default())
    }
}

/// Bytes the runtime counts for an account beyond its data when charging rent.
pub const ACCOUNT_STORAGE_OVERHEAD: u64 = 128;

/// The `Rent` sysvar, read field by field (its bincode layout is 17 bytes: `u64`, `f64`, `u8`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rent {
    pub lamports_per_byte_year: u64,
    /// The `f64` exemption threshold's bits (BPF has no floating point: see [`Rent::minimum_balance`]).
    pub exemption_threshold_bits: u64,
}

/// `2.0f64.to_bits()`: the exemption threshold every cluster has used since genesis.
pub const EXEMPTION_THRESHOLD_2: u64 = 0x4000_0000_0000_0000;
/// `1.0f64.to_bits()`: the threshold of SIMD-0194, which doubles `lamports_per_byte_year` so that
/// every minimum balance stays what it was.
pub const EXEMPTION_THRESHOLD_1: u64 = 0x3ff0_0000_0000_0000;

impl Rent {
    /// Lamports that make an account of `data_len` bytes rent-exempt:
    /// `(128 + data_len) * lamports_per_byte_year * threshold`. Only the thresholds 2.0 and 1.0
    /// (whole years, so integer arithmetic) are supported: upstream LLVM's BPF backend cannot call
    /// the soft-float routines another would need (it refuses every libcall), so any other is
    /// `UnsupportedSysvar`.
    #[inline(always)]
    pub fn minimum_balance(&self, data_len: usize) -> Result<u64, ProgramError> {
        let two_years = match self.exemption_threshold_bits {
            EXEMPTION_THRESHOLD_2 => true,
            EXEMPTION_THRESHOLD_1 => false,
            _ => return Err(ProgramError::UnsupportedSysvar),
        };
        let per_year = (data_len as u64)
            .checked_add(ACCOUNT_STORAGE_OVERHEAD)
            .and_then(|bytes| crate::math::checked_mul(bytes, self.lamports_per_byte_year));
        // Doubled by an addition: a multiply by a variable year count is a 128-bit overflow test
        // to LLVM (`__multi3`, which BPF cannot call).
        let minimum = if two_years { per_year.and_then(|p| p.checked_add(p)) } else { per_year };
        minimum.ok_or(ProgramError::ArithmeticOverflow)
    }
}

/// The current `Rent` (syscall `sol_get_rent_sysvar`).
#[inline(always)]
pub fn rent() -> Result<Rent, ProgramError> {
    #[cfg(target_arch = "bpf")]
    {
        let mut raw = [0u64; 3]; // 17 bytes of bincode, 8-aligned
        #[allow(deprecated)]
        let rc = unsafe { syscalls::sol_get_rent_sysvar(raw.as_mut_ptr() as *mut u8) };
        if rc != 0 {
            return Err(ProgramError::UnsupportedSysvar);
        }
        Ok(Rent { lamports_per_byte_year: raw[0], exemption_threshold_bits: raw[1] })
    }
    #[cfg(not(target_arch = "bpf"))]
    {
        Ok(Rent { lamports_per_byte_year: 3480, exemption_threshold_bits: EXEMPTION_THRESHOLD_2 })
    }
}

/// Lamports that make an account of `data_len` bytes rent-exempt under the current `Rent`.
#[inline(always)]
pub fn minimum_balance(data_len: usize) -> Result<u64, ProgramError> {
    rent()?.minimum_balance(data_len)
}

/// Writes `message` to the program log (syscall `sol_log_`).
#[inline(always)]
pub fn log(message: &str) {
    #[cfg(target_arch = "bpf")]
    unsafe {
        syscalls::sol_log_(message.as_ptr(), message.len() as u64)
    };
    #[cfg(not(target_arch = "bpf"))]
    let _ = message;
}

/// Writes up to five numbers to the program log (syscall `sol_log_64_`), shown in hex.
#[inline(always)]
pub fn log_u64(a: u64, b: u64, c: u64, d: u64, e: u64) {
    #[cfg(target_arch = "bpf")]
    unsafe {
        syscalls::sol_log_64_(a, b, c, d, e)
    };
    #[cfg(not(target_arch = "bpf"))]
    let _ = (a, b, c, d, e);
}

/// `sha256(parts[0] || parts[1] || ...)` (syscall `sol_sha256`: 85 compute units, plus half a
/// unit a byte beyond the first, per part). Off the BPF target (host unit tests) the same digest
/// in software.
#[inline(always)]
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    #[cfg(target_arch = "bpf")]
    {
        let mut digest = [0u8; 32];
        // `&[u8]` is (pointer, length) on SBF: the `SolBytes` array the syscall reads.
        unsafe { syscalls::sol_sha256(parts.as_ptr() as *const u8, parts.len() as u64, digest.as_mut_ptr()) };
        digest
    }
    #[cfg(not(target_arch = "bpf"))]
    {
        let mut hasher = sha2_const_stable::Sha256::new();
        for part in parts {
            hasher = hasher.update(part);
        }
        hasher.finalize()
    }
}

/// The C memory functions LLVM emits calls to (copies of unknown or large size), mapped to the
/// runtime's `sol_mem*` syscalls, which cost far less than byte loops in BPF.
#[cfg(target_arch = "bpf")]
mod mem {
    use pinocchio::syscalls;

    #[no_mangle]
    pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        syscalls::sol_memcpy_(dst, src, n as u64);
        dst
    }

    #[no_mangle]
    pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        syscalls::sol_memmove_(dst, src, n as u64);
        dst
    }

    #[no_mangle]
    pub unsafe extern "C" fn memset(s: *mut u8, c: i32, n: usize) -> *mut u8 {
        syscalls::sol_memset_(s, c as u8, n as u64);
        s
    }

    #[no_mangle]
    pub unsafe extern "C" fn memcmp(s1: *const u8, s2: *const u8, n: usize) -> i32 {
        let mut result = 0i32;
        syscalls::sol_memcmp_(s1, s2, n as u64, &mut result as *mut i32);
        result
    }

    #[no_mangle]
    pub unsafe extern "C" fn bcmp(s1: *const u8, s2: *const u8, n: usize) -> i32 {
        memcmp(s1, s2, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_parts_is_the_digest_of_their_concatenation() {
        // sha256("abc"), FIPS 180-2 appendix B.1
        let abc = [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03,
            0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
        ];
        assert_eq!(sha256(&[b"abc"]), abc);
        assert_eq!(sha256(&[b"a", b"", b"bc"]), abc);
    }

    #[test]
    fn rent_exemption_matches_the_runtime_default() {
        let rent = Rent { lamports_per_byte_year: 3480, exemption_threshold_bits: 2.0f64.to_bits() };
        // solana's Rent::default().minimum_balance(0) and (165) (a token account)
        assert_eq!(rent.minimum_balance(0).unwrap(), 890_880);
        assert_eq!(rent.minimum_balance(165).unwrap(), 2_039_280);
        let odd = Rent { lamports_per_byte_year: 1000, exemption_threshold_bits: 1.5f64.to_bits() };
        assert_eq!(odd.minimum_balance(72).unwrap_err(), ProgramError::UnsupportedSysvar);
    }

    #[test]
    fn simd_0194_rent_gives_the_same_minimum_balances() {
        let today = Rent { lamports_per_byte_year: 3480, exemption_threshold_bits: 2.0f64.to_bits() };
        let simd = Rent { lamports_per_byte_year: 6960, exemption_threshold_bits: 1.0f64.to_bits() };
        assert_eq!(EXEMPTION_THRESHOLD_1, 1.0f64.to_bits());
        assert_eq!(simd.minimum_balance(165).unwrap(), 2_039_280);
        for len in [0, 1, 51, 140, 161, 165, 10_240] {
            assert_eq!(simd.minimum_balance(len).unwrap(), today.minimum_balance(len).unwrap(), "{len} bytes");
        }
        for bits in [0.5f64.to_bits(), 3.0f64.to_bits(), 0, 1.0f64.to_bits() + 1] {
            let other = Rent { exemption_threshold_bits: bits, ..simd };
            assert_eq!(other.minimum_balance(0).unwrap_err(), ProgramError::UnsupportedSysvar, "{bits:#x}");
        }
    }

    #[test]
    fn rent_overflow_is_refused() {
        // The per-year product overflows, under either threshold.
        for bits in [EXEMPTION_THRESHOLD_1, EXEMPTION_THRESHOLD_2] {
            let huge = Rent { lamports_per_byte_year: u64::MAX / 100, exemption_threshold_bits: bits };
            assert_eq!(huge.minimum_balance(0).unwrap_err(), ProgramError::ArithmeticOverflow);
        }
        // 128 bytes a year fit; two years do not.
        let edge = Rent { lamports_per_byte_year: u64::MAX / 128, exemption_threshold_bits: EXEMPTION_THRESHOLD_1 };
        assert_eq!(edge.minimum_balance(0).unwrap(), u64::MAX / 128 * 128);
        let doubled = Rent { exemption_threshold_bits: EXEMPTION_THRESHOLD_2, ..edge };
        assert_eq!(doubled.minimum_balance(0).unwrap_err(), ProgramError::ArithmeticOverflow);
        let wide = Rent { lamports_per_byte_year: 1, exemption_threshold_bits: EXEMPTION_THRESHOLD_1 };
        assert_eq!(wide.minimum_balance(usize::MAX).unwrap_err(), ProgramError::ArithmeticOverflow);
    }
}
