//! Borsh by hand: little-endian integers, no padding, `bool`/`Option` tag and enum index as one
//! byte, `String`/`Vec` with a `u32` length prefix. Fields are read and written at fixed offsets,
//! never through casts to aligned structs (account data and instruction data are not aligned).

use crate::anchor::ErrorCode;
use pinocchio::{error::ProgramError, Address};

/// Reads borsh values one after another from instruction arguments. Every failure is Anchor's
/// `InstructionDidNotDeserialize` (102).
pub struct Reader<'a> {
    data: &'a [u8],
}

#[inline(always)]
fn bad() -> ProgramError {
    ErrorCode::InstructionDidNotDeserialize.into()
}

impl<'a> Reader<'a> {
    #[inline(always)]
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    #[inline(always)]
    pub fn bytes<const N: usize>(&mut self) -> Result<&'a [u8; N], ProgramError> {
        let (head, rest) = self.data.split_first_chunk::<N>().ok_or_else(bad)?;
        self.data = rest;
        Ok(head)
    }

    #[inline(always)]
    pub fn u8(&mut self) -> Result<u8, ProgramError> {
        Ok(self.bytes::<1>()?[0])
    }

    #[inline(always)]
    pub fn bool(&mut self) -> Result<bool, ProgramError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad()),
        }
    }

    #[inline(always)]
    pub fn u16(&mut self) -> Result<u16, ProgramError> {
        Ok(u16::from_le_bytes(*self.bytes()?))
    }

    #[inline(always)]
    pub fn u32(&mut self) -> Result<u32, ProgramError> {
        Ok(u32::from_le_bytes(*self.bytes()?))
    }

    #[inline(always)]
    pub fn u64(&mut self) -> Result<u64, ProgramError> {
        Ok(u64::from_le_bytes(*self.bytes()?))
    }

    #[inline(always)]
    pub fn i64(&mut self) -> Result<i64, ProgramError> {
        Ok(i64::from_le_bytes(*self.bytes()?))
    }

    #[inline(always)]
    pub fn u128(&mut self) -> Result<u128, ProgramError> {
        Ok(u128::from_le_bytes(*self.bytes()?))
    }

    #[inline(always)]
    pub fn address(&mut self) -> Result<Address, ProgramError> {
        Ok(Address::new_from_array(*self.bytes::<32>()?))
    }

    /// A borsh enum without fields: its one-byte variant index, which must be below `variants`.
    #[inline(always)]
    pub fn variant(&mut self, variants: u8) -> Result<u8, ProgramError> {
        let index = self.u8()?;
        if index < variants {
            Ok(index)
        } else {
            Err(bad())
        }
    }

    /// `Option<T>`: a tag byte (0 = None, 1 = Some) then the value.
    #[inline(always)]
    pub fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, ProgramError>,
    ) -> Result<Option<T>, ProgramError> {
        if self.bool()? {
            Ok(Some(read(self)?))
        } else {
            Ok(None)
        }
    }

    /// `Vec<u8>` or `String` bytes: a `u32` length then that many bytes.
    #[inline(always)]
    pub fn byte_vec(&mut self) -> Result<&'a [u8], ProgramError> {
        let len = self.u32()? as usize;
        if self.data.len() < len {
            return Err(bad());
        }
        let (head, rest) = self.data.split_at(len);
        self.data = rest;
        Ok(head)
    }

    /// Everything was read: trailing bytes are refused (Anchor would ignore them; refusing them
    /// catches a client whose IDL disagrees with the program).
    #[inline(always)]
    pub fn finish(self) -> Result<(), ProgramError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    }
}

/// Fixed-offset field access on account data, in borsh's layout.
pub mod field {
    use pinocchio::Address;

    #[inline(always)]
    pub fn read_u64(data: &[u8], offset: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[offset..offset + 8]);
        u64::from_le_bytes(b)
    }

    #[inline(always)]
    pub fn read_i64(data: &[u8], offset: usize) -> i64 {
        read_u64(data, offset) as i64
    }

    #[inline(always)]
    pub fn read_address(data: &[u8], offset: usize) -> &[u8; 32] {
        data[offset..offset + 32].try_into().unwrap()
    }

    #[inline(always)]
    pub fn write_u64(data: &mut [u8], offset: usize, value: u64) {
        data[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
    }

    #[inline(always)]
    pub fn write_i64(data: &mut [u8], offset: usize, value: i64) {
        write_u64(data, offset, value as u64)
    }

    #[inline(always)]
    pub fn write_address(data: &mut [u8], offset: usize, value: &Address) {
        data[offset..offset + 32].copy_from_slice(value.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_refuses_short_or_long_data() {
        let mut data = [0u8; 1 + 8 + 1 + 2];
        data[0] = 1;
        data[1..9].copy_from_slice(&42u64.to_le_bytes());
        data[9] = 1; // Some
        data[10..12].copy_from_slice(&7u16.to_le_bytes());
        let mut r = Reader::new(&data);
        assert_eq!(r.variant(2).unwrap(), 1);
        assert_eq!(r.u64().unwrap(), 42);
        assert_eq!(r.option(|r| r.u16()).unwrap(), Some(7));
        r.finish().unwrap();

        let mut r = Reader::new(&data[..5]);
        r.u8().unwrap();
        assert_eq!(r.u64().unwrap_err(), ProgramError::Custom(102));
        let mut r = Reader::new(&data);
        r.u8().unwrap();
        assert_eq!(r.finish().unwrap_err(), ProgramError::Custom(102));
        assert_eq!(Reader::new(&[2]).variant(2).unwrap_err(), ProgramError::Custom(102));
        assert_eq!(Reader::new(&[2]).bool().unwrap_err(), ProgramError::Custom(102));
    }
}
