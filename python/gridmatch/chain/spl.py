"""SPL Token, Associated Token Account, Memo and Compute Budget instructions, and the token
account layout: what settlement needs to build transfers without importing solana-py itself.

>>> from solders.pubkey import Pubkey
>>> a, mint, b, authority = (Pubkey.new_unique() for _ in range(4))
>>> ix = transfer_checked_ix(a, mint, b, 1_500_000_000, 9, authority)
>>> ix.program_id == TOKEN_PROGRAM_ID, [m.pubkey for m in ix.accounts] == [a, mint, b, authority]
(True, True)
>>> len(ix.data)  # tag, u64 amount, decimals
10
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.compute_budget import set_compute_unit_limit
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.token import instructions as token_ix
from spl.token.constants import ACCOUNT_LEN, ASSOCIATED_TOKEN_PROGRAM_ID, MINT_LEN, TOKEN_PROGRAM_ID

from gridmatch.chain.base import MAX_AMOUNT, MAX_COMPUTE_UNITS, ChainRequestInvalid

__all__ = [
    "ACCOUNT_LEN",
    "ASSOCIATED_TOKEN_PROGRAM_ID",
    "MEMO_PROGRAM_ID",
    "MINT_LEN",
    "TOKEN_PROGRAM_ID",
    "TokenAccount",
    "approve_ix",
    "associated_token_address",
    "check_amount",
    "compute_unit_limit_ix",
    "create_associated_token_account_ix",
    "create_mint_ixs",
    "memo_ix",
    "mint_to_ix",
    "parse_token_account",
    "transfer_checked_ix",
]


def check_amount(amount: int, field: str = "amount") -> int:
    """`amount` if it is an integer base-unit amount that fits a u64; `ChainRequestInvalid` otherwise."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_AMOUNT:
        raise ChainRequestInvalid(
            f"{field} must be an integer in [0, 2**64 - 1], got {amount!r}", field=field, value=amount
        )
    return amount


def _check_decimals(decimals: int) -> int:
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 255:
        raise ChainRequestInvalid(
            f"decimals must be an integer in [0, 255], got {decimals!r}", field="decimals", value=decimals
        )
    return decimals


def transfer_checked_ix(
    source: Pubkey, mint: Pubkey, dest: Pubkey, amount: int, decimals: int, delegate: Pubkey
) -> Instruction:
    """Moves `amount` base units of `mint` from token account `source` to token account `dest`,
    signed by `delegate` (the owner of `source` or its approved delegate; settlement passes the
    chain's authority). The token program checks `mint` and `decimals` against `source`."""
    # Built by hand, not through spl.token's construct layouts (15 times slower): settlement
    # builds one per transfer. SPL Token instruction 12, TransferChecked: amount u64 LE, decimals u8.
    data = _TRANSFER_CHECKED.pack(12, check_amount(amount), _check_decimals(decimals))
    accounts = [
        AccountMeta(source, is_signer=False, is_writable=True),
        AccountMeta(mint, is_signer=False, is_writable=False),
        AccountMeta(dest, is_signer=False, is_writable=True),
        AccountMeta(delegate, is_signer=True, is_writable=False),
    ]
    return Instruction(TOKEN_PROGRAM_ID, data, accounts)


_TRANSFER_CHECKED = struct.Struct("<BQB")


def approve_ix(account: Pubkey, delegate: Pubkey, owner: Pubkey, amount: int) -> Instruction:
    """`owner` lets `delegate` move up to `amount` base units out of `account` (`owner` signs)."""
    params = token_ix.ApproveParams(
        program_id=TOKEN_PROGRAM_ID, source=account, delegate=delegate, owner=owner, amount=check_amount(amount)
    )
    return token_ix.approve(params)


def mint_to_ix(mint: Pubkey, account: Pubkey, mint_authority: Pubkey, amount: int) -> Instruction:
    """Mints `amount` base units of `mint` into `account` (`mint_authority` signs)."""
    params = token_ix.MintToParams(
        program_id=TOKEN_PROGRAM_ID, mint=mint, dest=account, mint_authority=mint_authority, amount=check_amount(amount)
    )
    return token_ix.mint_to(params)


def create_mint_ixs(payer: Pubkey, mint: Pubkey, mint_authority: Pubkey, decimals: int, rent: int) -> list[Instruction]:
    """Creates the account `mint` (which signs, holding `rent` lamports) and initialises it as a
    mint with `decimals` decimals and no freeze authority."""
    create = create_account(
        CreateAccountParams(from_pubkey=payer, to_pubkey=mint, lamports=rent, space=MINT_LEN, owner=TOKEN_PROGRAM_ID)
    )
    init = token_ix.initialize_mint(
        token_ix.InitializeMintParams(
            decimals=_check_decimals(decimals),
            program_id=TOKEN_PROGRAM_ID,
            mint=mint,
            mint_authority=mint_authority,
            freeze_authority=None,
        )
    )
    return [create, init]


def associated_token_address(owner: Pubkey, mint: Pubkey) -> Pubkey:
    """The address of `owner`'s associated token account for `mint`."""
    return token_ix.get_associated_token_address(owner, mint)


def create_associated_token_account_ix(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    """Creates `owner`'s associated token account for `mint` unless it exists (idempotent)."""
    return token_ix.create_idempotent_associated_token_account(payer, owner, mint)


def memo_ix(memo: str) -> Instruction:
    """A Memo v2 instruction carrying `memo` (UTF-8) with no signer accounts: the fee payer's
    signature already vouches for it, and no account keeps the transaction smaller."""
    if not isinstance(memo, str):
        raise ChainRequestInvalid(f"memo must be a str, got {type(memo).__name__}", field="memo", value=memo)
    try:
        data = memo.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ChainRequestInvalid(f"memo is not encodable as UTF-8: {exc}", field="memo", value=memo) from None
    return Instruction(MEMO_PROGRAM_ID, data, [])


def compute_unit_limit_ix(units: int) -> Instruction:
    """Sets the transaction's compute-unit limit (1 to 1,400,000)."""
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= MAX_COMPUTE_UNITS:
        raise ChainRequestInvalid(
            f"compute_units must be an integer in [1, {MAX_COMPUTE_UNITS}], got {units!r}",
            field="compute_units",
            value=units,
        )
    return set_compute_unit_limit(units)


@dataclass(frozen=True)
class TokenAccount:
    """The fields of an SPL token account that settlement reads."""

    mint: Pubkey
    owner: Pubkey
    amount: int
    delegate: Pubkey | None
    delegated_amount: int


# Token account layout (165 bytes): mint 0..32, owner 32..64, amount u64 64..72, delegate
# COption<Pubkey> (u32 tag + 32 bytes) 72..108, state u8 108, is_native COption<u64> 109..121,
# delegated_amount u64 121..129, close_authority COption<Pubkey> 129..165.
_LAYOUT = struct.Struct("<32s32sQI32sB12xQ36x")


def parse_token_account(address: Pubkey, owner_program: Pubkey, data: bytes) -> TokenAccount:
    """Decodes an SPL token account; `ChainRequestInvalid` if `address` holds something else."""
    if owner_program != TOKEN_PROGRAM_ID or len(data) != ACCOUNT_LEN:
        raise ChainRequestInvalid(
            f"{address} is not an SPL token account (owner {owner_program}, {len(data)} bytes)",
            field="account",
            value=str(address),
        )
    mint, owner, amount, has_delegate, delegate, state, delegated = _LAYOUT.unpack(data)
    if state == 0:
        raise ChainRequestInvalid(f"{address} is an uninitialized token account", field="account", value=str(address))
    return TokenAccount(
        mint=Pubkey(mint),
        owner=Pubkey(owner),
        amount=amount,
        delegate=Pubkey(delegate) if has_delegate else None,
        delegated_amount=delegated if has_delegate else 0,
    )
