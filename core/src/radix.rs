//! Stable least-significant-digit radix sort of `u64` keys carrying payloads (order
//! indices, or nothing at all).
//!
//! Clearing sorts up to millions of orders by price; prices of one book span few distinct
//! bytes, and digits that are equal for every key are skipped, so a book usually costs two or
//! three linear passes instead of a comparison sort's n log n.

use alloc::vec;
use alloc::vec::Vec;

/// Sorts `keys` ascending and permutes `vals` alongside; equal keys keep their order.
pub(crate) fn sort<V: Copy + Default>(keys: &mut Vec<u64>, vals: &mut Vec<V>) {
    debug_assert_eq!(keys.len(), vals.len());
    let n = keys.len();
    if n < 2 {
        return;
    }
    // Digits of the offset from the smallest key: keys that straddle a byte boundary (prices
    // around zero flip every byte of their biased form) still sort in the passes they need.
    let min = keys.iter().copied().min().unwrap_or(0);
    let varying = keys.iter().fold(0u64, |acc, &k| acc | (k - min));
    if varying == 0 {
        return;
    }
    let mut key_buf = vec![0u64; n];
    let mut val_buf = vec![V::default(); n];
    for digit in 0..8 {
        let shift = digit * 8;
        if (varying >> shift) & 0xff == 0 {
            continue;
        }
        let mut offsets = [0usize; 256];
        for &k in keys.iter() {
            offsets[(((k - min) >> shift) & 0xff) as usize] += 1;
        }
        let mut start = 0;
        for slot in offsets.iter_mut() {
            let count = *slot;
            *slot = start;
            start += count;
        }
        for (&k, &v) in keys.iter().zip(vals.iter()) {
            let slot = &mut offsets[(((k - min) >> shift) & 0xff) as usize];
            key_buf[*slot] = k;
            val_buf[*slot] = v;
            *slot += 1;
        }
        core::mem::swap(keys, &mut key_buf);
        core::mem::swap(vals, &mut val_buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_stably_and_matches_std() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut keys: Vec<u64> = (0..5000)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                match i % 3 {
                    0 => state >> 60,
                    1 => (1 << 63) + (state >> 40) - (1 << 23), // straddles the sign bit's byte
                    _ => state,
                }
            })
            .collect();
        let mut vals: Vec<u32> = (0..keys.len() as u32).collect();
        let mut expected: Vec<(u64, u32)> = keys.iter().copied().zip(vals.iter().copied()).collect();
        expected.sort_by_key(|&(k, _)| k);
        sort(&mut keys, &mut vals);
        let got: Vec<(u64, u32)> = keys.into_iter().zip(vals).collect();
        assert_eq!(got, expected);
    }
}
