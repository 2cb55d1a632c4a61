"""The core's money arithmetic on chain equals the engine's, to the base unit.

programs/money_check runs `gridmatch_core::money::{notional, split}` on SBF (in LiteSVM) and
succeeds only when it computes the amounts the engine computed off chain through
`gridmatch._core.split_trade`, or refuses what the engine refuses. The trading program settles
with these very functions: this is the proof that on-chain and off-chain amounts agree.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import TransactionMetadata

from gridmatch import _core
from gridmatch.errors import GridmatchError

ROOT = Path(__file__).resolve().parent.parent
SO = ROOT / "programs" / "target" / "deploy" / "money_check.so"
PAYERS = ("buyer", "seller", "split")
ROUNDINGS = ("down", "up", "half_even")


@pytest.fixture(scope="module")
def chain():
    if not SO.exists():
        pytest.fail(f"{SO.relative_to(ROOT)} is missing: build it with `make programs`", pytrace=False)
    sources = list((ROOT / "core" / "src").glob("**/*.rs")) + list((ROOT / "programs" / "money_check").glob("**/*"))
    stale = [p for p in sources if p.is_file() and p.stat().st_mtime > SO.stat().st_mtime]
    if stale:
        message = f"{SO.relative_to(ROOT)} is older than {stale[0].relative_to(ROOT)}: rebuild with `make programs`"
        pytest.fail(message, pytrace=False)
    svm = LiteSVM()
    program = Pubkey.new_unique()
    svm.add_program(program, SO.read_bytes())
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 10**12)
    return svm, program, payer


def on_chain(chain, qty, price, bps, payer, rounding) -> tuple[bool, int]:
    """Whether the chain agrees with the engine on this trade, and the compute units it took."""
    svm, program, signer = chain
    try:
        expected, ok = _core.split_trade(qty * price, fee_bps=bps, payer=PAYERS[payer], rounding=ROUNDINGS[rounding]), 1
    except GridmatchError:
        expected, ok = (0, 0, 0, 0), 0
    data = struct.pack("<QqHBBB", qty, price, bps, payer, rounding, ok)
    data += b"".join(v.to_bytes(16, "little", signed=True) for v in expected)
    message = Message([Instruction(program, data, [])], signer.pubkey())
    result = svm.send_transaction(Transaction([signer], message, svm.latest_blockhash()))
    svm.expire_blockhash()
    agreed = isinstance(result, TransactionMetadata)
    return agreed, result.compute_units_consumed() if agreed else 0


EXTREMES = [2**64 - 1, 0, 1], [-(2**63), 2**63 - 1, -1, 0, 1], [0, 1, 10_000]


@pytest.mark.parametrize("qty", EXTREMES[0])
@pytest.mark.parametrize("price", EXTREMES[1])
@pytest.mark.parametrize("bps", EXTREMES[2])
def test_the_extremes_agree(chain, qty, price, bps):
    for payer in range(3):
        for rounding in range(3):
            assert on_chain(chain, qty, price, bps, payer, rounding)[0]


def test_random_trades_agree_and_cost_little(chain):
    rng = random.Random(2026)
    units = []
    for _ in range(300):
        qty = rng.choice([rng.randrange(2**64), rng.randrange(10**7)])
        price = rng.choice([rng.randrange(-(2**63), 2**63), rng.randrange(-5_000, 50_000)])
        agreed, used = on_chain(chain, qty, price, rng.randrange(10_001), rng.randrange(3), rng.randrange(3))
        assert agreed, (qty, price)
        units.append(used)
    assert max(units) < 2_000  # a settlement batch can afford one per fill
