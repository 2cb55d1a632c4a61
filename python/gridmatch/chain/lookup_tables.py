"""Address Lookup Table program instructions (solders 0.26 has the account types, not the
instructions). Encoding: bincode, a u32 little-endian variant index then the fields.

A v0 transaction names an address held in a table with one byte instead of 32, so transfers
between many distinct accounts fit in far fewer bytes. Addresses added in one slot are usable
from the next slot on. A table holds at most 256 addresses; a transaction still locks every
account it touches (Solana's limit of 64 holds with or without tables).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from solders.address_lookup_table_account import ID as LOOKUP_TABLE_PROGRAM_ID
from solders.address_lookup_table_account import AddressLookupTable, derive_lookup_table_address
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

__all__ = [
    "EXTEND_CHUNK",
    "LOOKUP_TABLE_PROGRAM_ID",
    "create_lookup_table_ix",
    "extend_lookup_table_ix",
    "lookup_table_addresses",
]

#: Addresses per extend instruction that keep its transaction well under 1,232 bytes.
EXTEND_CHUNK = 28


def _accounts(table: Pubkey, authority: Pubkey, payer: Pubkey) -> list[AccountMeta]:
    return [
        AccountMeta(table, is_signer=False, is_writable=True),
        AccountMeta(authority, is_signer=True, is_writable=False),
        AccountMeta(payer, is_signer=True, is_writable=True),
        AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
    ]


def create_lookup_table_ix(authority: Pubkey, payer: Pubkey, recent_slot: int) -> tuple[Instruction, Pubkey]:
    """Creates the table derived from `authority` and `recent_slot` (a slot the executing bank
    has in its SlotHashes); returns the instruction and the table's address."""
    table, bump = derive_lookup_table_address(authority, recent_slot)
    data = struct.pack("<IQB", 0, recent_slot, bump)
    return Instruction(LOOKUP_TABLE_PROGRAM_ID, data, _accounts(table, authority, payer)), table


def extend_lookup_table_ix(table: Pubkey, authority: Pubkey, payer: Pubkey, addresses: Sequence[Pubkey]) -> Instruction:
    """Appends `addresses` to `table` (`payer` tops up its rent)."""
    data = struct.pack("<IQ", 2, len(addresses)) + b"".join(bytes(a) for a in addresses)
    return Instruction(LOOKUP_TABLE_PROGRAM_ID, data, _accounts(table, authority, payer))


def lookup_table_addresses(data: bytes) -> list[Pubkey]:
    """The addresses a lookup table account holds, from its raw data."""
    return list(AddressLookupTable.deserialize(data).addresses)
