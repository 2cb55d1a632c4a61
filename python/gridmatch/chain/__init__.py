"""Settlement's way onto Solana: one small `Chain` interface, two chains behind it, and failure
injection for tests.

- `LiteSVMChain` runs solders' LiteSVM in process (the default; optionally durable in a file).
- `RpcChain` talks to any JSON-RPC endpoint (solana-test-validator, devnet) through solana-py.
- `FaultyChain` wraps either and makes chosen submissions fail or time out.
- `gridmatch.chain.spl` builds the token instructions settlement sends (`transfer_checked_ix`).

`base` documents the contract: what `send` guarantees, and how to reconcile after a timeout.
Needs the `chain` extra (solana, solders).

>>> from gridmatch.chain import LiteSVMChain, keypair_from_seed
>>> from gridmatch.chain.spl import transfer_checked_ix
>>> chain = LiteSVMChain(seed=1)
>>> mint = chain.create_mint(9)
>>> alice, bob = (keypair_from_seed(1, name) for name in ("alice", "bob"))
>>> a, b = (chain.token_account(k.pubkey(), mint) for k in (alice, bob))
>>> chain.mint_to(mint, a, 5 * 10**9)
>>> chain.approve(alice, a, 2 * 10**9)
>>> sent = chain.send([transfer_checked_ix(a, mint, b, 10**9, 9, chain.authority.pubkey())], memo="epoch 1")
>>> chain.token_balances([a, b]), chain.delegated_amount(a), chain.memo_of(sent.signature)
([4000000000, 1000000000], 1000000000, 'epoch 1')
"""

from gridmatch.chain.base import (
    MAX_AMOUNT,
    MAX_COMPUTE_UNITS,
    MAX_LOOKUP_TABLE_ADDRESSES,
    MAX_TRANSACTION_ACCOUNTS,
    MAX_TRANSACTION_SIZE,
    Chain,
    ChainBroken,
    ChainRequestInvalid,
    Prepared,
    SendTimeout,
    Sent,
    TransactionTooLarge,
    TxStatus,
    keypair_from_seed,
)
from gridmatch.chain.faults import FaultyChain
from gridmatch.chain.litesvm import LiteSVMChain
from gridmatch.chain.rpc import RpcChain

__all__ = [
    "MAX_AMOUNT",
    "MAX_COMPUTE_UNITS",
    "MAX_LOOKUP_TABLE_ADDRESSES",
    "MAX_TRANSACTION_ACCOUNTS",
    "MAX_TRANSACTION_SIZE",
    "Chain",
    "ChainBroken",
    "ChainRequestInvalid",
    "FaultyChain",
    "LiteSVMChain",
    "Prepared",
    "RpcChain",
    "SendTimeout",
    "Sent",
    "TransactionTooLarge",
    "TxStatus",
    "keypair_from_seed",
]
