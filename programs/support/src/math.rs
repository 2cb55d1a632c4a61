//! Integer arithmetic that upstream LLVM's BPF backend can compile.
//!
//! The backend refuses every call to a compiler-rt routine ("A call to built-in function
//! '__multi3' is not supported"): `u64::checked_mul` (its overflow test is a 128-bit multiply),
//! any `u128`/`i128` multiply or divide, floating point, and signed division (SBPF v0 has none)
//! all fail at link time. These do the same with 64-bit operations BPF has.

/// `a * b`, or `None` on overflow, without a 128-bit multiply.
#[inline(always)]
pub fn checked_mul(a: u64, b: u64) -> Option<u64> {
    if a != 0 && b > u64::MAX / a {
        None
    } else {
        Some(a.wrapping_mul(b))
    }
}

/// The full 128-bit product of `a` and `b` as `(high, low)`, from four 32x32-bit products.
#[inline(always)]
pub fn mul_wide(a: u64, b: u64) -> (u64, u64) {
    const MASK: u64 = 0xffff_ffff;
    let (a_lo, a_hi) = (a & MASK, a >> 32);
    let (b_lo, b_hi) = (b & MASK, b >> 32);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let cross = (lo_lo >> 32) + (hi_lo & MASK) + lo_hi;
    let high = hi_hi + (hi_lo >> 32) + (cross >> 32);
    let low = (cross << 32) | (lo_lo & MASK);
    (high, low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_mul_matches_core() {
        let samples = [0u64, 1, 2, 3, 1 << 31, 1 << 32, (1 << 32) + 1, u64::MAX / 3, u64::MAX / 2, u64::MAX];
        for &a in &samples {
            for &b in &samples {
                assert_eq!(checked_mul(a, b), a.checked_mul(b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn mul_wide_matches_u128() {
        let samples = [0u64, 1, 7, 1 << 31, u32::MAX as u64, 1 << 32, 0xdead_beef_cafe_f00d, u64::MAX - 1, u64::MAX];
        for &a in &samples {
            for &b in &samples {
                let p = a as u128 * b as u128;
                assert_eq!(mul_wide(a, b), ((p >> 64) as u64, p as u64), "{a} * {b}");
            }
        }
    }
}
