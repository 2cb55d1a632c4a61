"""The trading program's Python client (gridmatch.chain.trading), off chain: the IDL against
programs/README.md (instructions, accounts in order, args, layouts, errors), the hand-built
instructions byte-equal to anchorpy's encoding from the IDL, the results' hash chain, and what an
order escrows and is owed, against independent arithmetic and conserving to the base unit."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import struct
from pathlib import Path

import pytest
from anchorpy import Context
from hypothesis import given
from hypothesis import strategies as st
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from gridmatch.chain import programs
from gridmatch.chain.base import ChainRequestInvalid
from gridmatch.chain.spl import TOKEN_PROGRAM_ID
from gridmatch.chain.trading import ZERO_HASH, OrderRef, TradingMarket, dues, escrow, result_heads
from gridmatch.market import Market

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "programs" / "README.md").read_text().split("## Trading (`programs/trading`)")[1]
IDL = json.loads((ROOT / "programs" / "trading" / "idl.json").read_text())
MARKET = Market(lot=1_000_000, tick=100, fee_bps=100, fee_payer="buyer", fee_rounding="up")
TM = TradingMarket(
    MARKET,
    market_id=7,
    operator=Pubkey.new_unique(),
    grid_mint=Pubkey.new_unique(),
    payment_mint=Pubkey.new_unique(),
    treasury=Pubkey.new_unique(),
)
ALICE, BOB = TM.trader(Pubkey.new_unique()), TM.trader(Pubkey.new_unique())
U64_MAX, I64_MIN, I64_MAX = 2**64 - 1, -(2**63), 2**63 - 1
PAYERS, ROUNDINGS = ("buyer", "seller", "split"), ("down", "up", "half_even")


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def readme_part(start: str, end: str) -> str:
    return README.split(start, 1)[1].split(end, 1)[0]


# -- the IDL is the README's protocol --------------------------------------------------------


def test_the_idl_has_the_readmes_instructions_and_args():
    calls = re.findall(r"^\| `(\w+)\(([^)]*)\)` \|", readme_part("### States", "Deadline:"), re.M)
    documented = {name: [arg.split(":")[0].strip() for arg in args.split(",") if arg.strip()] for name, args in calls}
    in_idl = {snake(ix["name"]): [snake(arg["name"]) for arg in ix["args"]] for ix in IDL["instructions"]}
    assert in_idl == documented


def test_the_idl_names_each_instructions_accounts_in_the_readmes_order():
    rows = re.findall(r"^\| `(\w+)` \| (.*) \|$", readme_part("Instruction accounts, in order:", "Errors ("), re.M)
    assert len(rows) == len(IDL["instructions"])
    by_name = {snake(ix["name"]): ix["accounts"] for ix in IDL["instructions"]}
    for name, cell in rows:
        named = re.findall(r"`(\w+)`(?: \(([^)]*)\))?", cell.split(", then")[0])
        documented = [(account, "mut" in flags, "signer" in flags) for account, flags in named]
        assert [(snake(a["name"]), a["isMut"], a["isSigner"]) for a in by_name[name]] == documented, name


def test_the_idl_accounts_have_the_readmes_fields_and_sizes():
    rows = re.findall(
        r"^\| `(\w+)` \| `\[.*?\]` \| (.*) \| (\d+) \|$", readme_part("### Accounts", "Instruction"), re.M
    )
    assert (
        [name for name, _, _ in rows]
        == [account["name"] for account in IDL["accounts"]]
        == ["Market", "Epoch", "Order"]
    )
    client = programs.client("trading")
    for name, fields, size in rows:
        account = next(a for a in IDL["accounts"] if a["name"] == name)
        assert [snake(f["name"]) for f in account["type"]["fields"]] == re.findall(r"`([a-z_]+)[^`]*`", fields)
        assert client.account[name].size == int(size), name  # discriminator + borsh layout


def test_the_idl_enums_and_errors_are_the_readmes():
    enums = re.findall(r"`(\w+) \{ ([^}]*) \}`", README)
    assert {t["name"]: [v["name"] for v in t["type"]["variants"]] for t in IDL["types"]} == {
        name: variants.split(", ") for name, variants in enums
    }
    errors = re.findall(r"(\d{4})\s+`(\w+)`", readme_part("Errors (6000 up", "Account mismatches"))
    assert [(e["code"], e["name"]) for e in IDL["errors"]] == [(int(code), name) for code, name in errors]
    assert [e["code"] for e in IDL["errors"]] == list(range(6000, 6024))
    assert all(e["msg"] for e in IDL["errors"])


def test_an_order_address_holds_its_owner():
    epoch = TM.epoch(3)
    program = programs.program_id("trading")
    expected = Pubkey.find_program_address(
        [b"order", bytes(epoch), bytes(ALICE.wallet), (9).to_bytes(8, "little")], program
    )
    assert TM.order(3, ALICE.wallet, 9) == expected[0] == TM.order_address(OrderRef(3, 9, ALICE))
    assert TM.order(3, BOB.wallet, 9) != TM.order(3, ALICE.wallet, 9)  # no one can take another's id


def test_an_order_decodes_at_the_readmes_offsets():
    discriminator = hashlib.sha256(b"account:Order").digest()[:8]
    epoch, owner, grid, payment = (Pubkey.new_unique() for _ in range(4))
    data = discriminator + struct.pack(
        "<32s32sQBqQQQQQQ?32s32sB", bytes(epoch), bytes(owner), 5, 1, -40, 9, 4, 9_000_000, 12, 5_000_000, 3_400, True,
        bytes(grid), bytes(payment), 254,
    )  # fmt: skip
    order = TM.decode("Order", data)
    assert (order.epoch, order.owner, order.order_id, type(order.side).__name__) == (epoch, owner, 5, "Sell")
    assert (order.limit_price, order.qty, order.filled, order.grid_escrow, order.payment_escrow) == (
        -40,
        9,
        4,
        9_000_000,
        12,
    )
    assert (order.grid_due, order.payment_due, order.credited) == (5_000_000, 3_400, True)
    assert (order.grid_account, order.payment_account, order.bump) == (grid, payment, 254)


# -- hand-built instructions are the IDL's encoding ---------------------------------------------


def anchor(name: str, *args, accounts: dict[str, Pubkey], remaining: list[AccountMeta] | None = None) -> Instruction:
    ctx = Context(accounts=accounts, remaining_accounts=remaining or [])
    return TM.program.instruction[name](*args, ctx=ctx)


def same(ix: Instruction, expected: Instruction) -> None:
    assert ix.program_id == expected.program_id == programs.program_id("trading")
    assert list(ix.accounts) == list(expected.accounts)  # pubkeys, signer and writable flags, in order
    assert bytes(ix.data) == bytes(expected.data)
    assert bytes(ix) == bytes(expected)


@pytest.mark.parametrize(
    ("side", "price", "qty", "order_id"),
    [
        (1, 925, 3, 0),
        (-1, 1_000, 1, 1),
        (1, -50, 7, 42),
        (-1, -1, U64_MAX, U64_MAX),
        (1, I64_MIN, 1, 2**32),
        (-1, I64_MAX, 0, 5),
    ],
)
def test_place_ix_is_the_idls_encoding(side, price, qty, order_id):
    ref = OrderRef(11, order_id, ALICE)
    accounts = {
        "market": TM.address,
        "epoch": TM.epoch(11),
        "order": TM.order(11, ALICE.wallet, order_id),
        "participant": TM.participant(ALICE.wallet),
        "governance": TM.governance,
        "owner": ALICE.wallet,
        "grid_account": ALICE.grid,
        "payment_account": ALICE.payment,
        "grid_vault": TM.grid_vault,
        "payment_vault": TM.payment_vault,
        "grid_mint": TM.grid_mint,
        "payment_mint": TM.payment_mint,
        "token_program": TOKEN_PROGRAM_ID,
        "system_program": SYSTEM_PROGRAM_ID,
    }
    side_type = TM.program.type["Side"].Buy() if side == 1 else TM.program.type["Side"].Sell()
    same(TM.place_ix(ref, side, price, qty), anchor("place_order", order_id, side_type, price, qty, accounts=accounts))
    assert TM.place_ix(ref, side, price, qty).data[:8] == hashlib.sha256(b"global:place_order").digest()[:8]


@pytest.mark.parametrize("filled", [[], [1], [3, U64_MAX, 0], list(range(1, 25))])
def test_credit_ix_is_the_idls_encoding(filled):
    results = [(TM.order(2, (ALICE, BOB)[i % 2].wallet, i), lots) for i, lots in enumerate(filled)]
    next_hash = hashlib.sha256(bytes(len(filled))).digest()
    accounts = {"market": TM.address, "epoch": TM.epoch(2), "governance": TM.governance}
    remaining = [AccountMeta(address, is_signer=False, is_writable=True) for address, _ in results]
    expected = anchor("credit_orders", filled, list(next_hash), accounts=accounts, remaining=remaining)
    same(TM.credit_ix(2, results, next_hash), expected)


@pytest.mark.parametrize("redirect", [None, "grid", "payment", "both"])
def test_claim_ix_is_the_idls_encoding(redirect):
    ref = OrderRef(U64_MAX, 8, BOB)
    grid = Pubkey.new_unique() if redirect in ("grid", "both") else None
    payment = Pubkey.new_unique() if redirect in ("payment", "both") else None
    accounts = {
        "market": TM.address,
        "epoch": TM.epoch(U64_MAX),
        "order": TM.order(U64_MAX, BOB.wallet, 8),
        "owner": BOB.wallet,
        "grid_destination": grid or BOB.grid,
        "payment_destination": payment or BOB.payment,
        "grid_vault": TM.grid_vault,
        "payment_vault": TM.payment_vault,
        "grid_mint": TM.grid_mint,
        "payment_mint": TM.payment_mint,
        "token_program": TOKEN_PROGRAM_ID,
    }
    expected = anchor("claim", accounts=accounts)
    if redirect:  # the IDL cannot say "a signer when redirecting": the owner signs to redirect
        metas = list(expected.accounts)
        metas[3] = AccountMeta(BOB.wallet, is_signer=True, is_writable=True)
        expected = Instruction(expected.program_id, bytes(expected.data), metas)
    same(TM.claim_ix(ref, grid_destination=grid, payment_destination=payment), expected)


@pytest.mark.parametrize(
    ("order_id", "side", "price", "qty", "field", "value"),
    [
        (-1, 1, 100, 1, "order_id", -1),
        (2**64, 1, 100, 1, "order_id", 2**64),
        (1, 0, 100, 1, "side", 0),
        (1, True, 100, 1, "side", True),
        (1, 1, 2**63, 1, "price", 2**63),
        (1, 1, I64_MIN - 1, 1, "price", I64_MIN - 1),
        (1, 1, 1.5, 1, "price", 1.5),
        (1, -1, 100, -1, "qty", -1),
        (1, -1, 100, 2**64, "qty", 2**64),
    ],
)
def test_place_ix_refuses_what_does_not_fit(order_id, side, price, qty, field, value):
    with pytest.raises(ChainRequestInvalid) as refused:
        TM.place_ix(OrderRef(1, order_id, ALICE), side, price, qty)
    assert (refused.value.field, refused.value.value) == (field, value)


def test_credit_ix_refuses_what_does_not_fit():
    order = TM.order(1, ALICE.wallet, 1)
    for results, next_hash, field, value in [
        ([(order, -1)], ZERO_HASH, "filled", -1),
        ([(order, 2**64)], ZERO_HASH, "filled", 2**64),
        ([(order, 1)], bytes(31), "next_hash", bytes(31)),
    ]:
        with pytest.raises(ChainRequestInvalid) as refused:
            TM.credit_ix(1, results, next_hash)
        assert (refused.value.field, refused.value.value) == (field, value)


def test_the_anchorpy_builders_name_the_accounts_in_the_readmes_order():
    authority, operator, treasury = (Pubkey.new_unique() for _ in range(3))
    ix = TM.initialize_ix(authority, settle_deadline=3_600)
    assert [m.pubkey for m in ix.accounts] == [
        TM.address, TM.grid_mint, TM.payment_mint, TM.grid_vault, TM.payment_vault, TM.treasury, TM.governance,
        authority, SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID,
    ]  # fmt: skip
    decoded = TM.program.coder.instruction.parse(bytes(ix.data))
    assert decoded.name == "initialize_market"
    assert (decoded.data.market_id, decoded.data.operator, decoded.data.settle_deadline) == (7, TM.operator, 3_600)
    assert type(decoded.data.fee_payer).__name__ == "Buyer" and type(decoded.data.fee_rounding).__name__ == "Up"
    update = TM.update_market_ix(authority, operator=operator, treasury=treasury, epoch_seconds=900, settle_deadline=60)
    assert [m.pubkey for m in update.accounts] == [TM.address, treasury, TM.governance, authority]
    assert [m.pubkey for m in TM.abandon_ix(4, authority).accounts] == [
        TM.address,
        TM.epoch(4),
        TM.governance,
        authority,
    ]
    cancel = TM.cancel_ix(OrderRef(4, 2, ALICE), payment_destination=treasury)
    assert [m.pubkey for m in cancel.accounts][3:6] == [ALICE.wallet, ALICE.grid, treasury]
    head = result_heads([(TM.order(4, ALICE.wallet, 2), 3)])[0]
    post = TM.program.coder.instruction.parse(bytes(TM.post_result_ix(4, -5, 3, 1, head).data))
    assert (post.data.price, post.data.volume, post.data.result_count, bytes(post.data.results_hash)) == (
        -5,
        3,
        1,
        head,
    )
    with pytest.raises(ChainRequestInvalid):
        TM.post_result_ix(4, -5, 3, 1, head[:31])


# -- the hash chain -------------------------------------------------------------------------


def test_result_heads_chain_each_result_to_the_next():
    a, b = TM.order(1, ALICE.wallet, 1), TM.order(1, BOB.wallet, 1)
    h2 = bytes(32)
    h1 = hashlib.sha256(bytes(b) + (U64_MAX).to_bytes(8, "little") + h2).digest()
    h0 = hashlib.sha256(bytes(a) + (3).to_bytes(8, "little") + h1).digest()
    assert result_heads([(a, 3), (b, U64_MAX)]) == [h0, h1, h2]
    assert result_heads([]) == [ZERO_HASH]
    assert result_heads([(b, 3), (a, U64_MAX)])[0] != h0  # the order of the results is committed to
    with pytest.raises(ChainRequestInvalid) as refused:
        result_heads([(a, 3), (b, -2)])
    assert (refused.value.field, refused.value.value) == ("filled", -2)


# -- escrow and dues --------------------------------------------------------------------------


def test_escrow_is_the_worst_case_a_lot():
    assert escrow(MARKET, 1, 1_000, 3) == (0, 3 * (100_000 + 1_000))  # limit plus a 1% fee, per lot
    assert escrow(MARKET, 1, 1_000, 3, fee_bps=0) == (0, 300_000)  # the epoch's fee, not the market's
    assert escrow(MARKET, -1, 1_000, 3) == (3_000_000, 0)
    assert escrow(MARKET, 1, -50, 2) == (0, 0)  # a buy at a negative limit is paid
    assert escrow(MARKET, -1, -50, 2) == (2_000_000, 2 * 5_000)  # the buyer pays the fee
    seller_pays = Market(lot=1_000_000, tick=100, fee_bps=100, fee_payer="seller", fee_rounding="down")
    assert escrow(seller_pays, -1, -50, 2) == (2_000_000, 2 * 5_050)
    assert escrow(seller_pays, 1, 1_000, 3) == (0, 300_000)
    split = Market(lot=10, tick=1, fee_bps=100, fee_payer="split", fee_rounding="down")
    assert escrow(split, 1, 333, 2) == (0, 2 * 337)  # 3.33 rounded up, charged whole to the buyer
    assert escrow(split, -1, -333, 2) == (20, 2 * 337)


def test_dues_are_the_orders_own_split():
    assert dues(MARKET, 1, 2, 900, 0, 303_000) == (2_000_000, 303_000 - 181_800, 1_800)
    assert dues(MARKET, -1, 2, 900, 3_000_000, 0) == (1_000_000, 180_000, 0)
    assert dues(MARKET, 1, 3, 1_000, 0, 303_000) == (3_000_000, 0, 3_000)  # filled whole at its limit
    assert dues(MARKET, 1, 2, -50, 0, 0) == (2_000_000, 9_900, 100)  # paid 10,000, less its fee
    assert dues(MARKET, -1, 2, -50, 2_000_000, 10_000) == (0, 0, 0)
    assert dues(MARKET, 1, 2, 900, 0, 303_000, fee_bps=0) == (2_000_000, 123_000, 0)
    split = Market(lot=10, tick=1, fee_bps=500, fee_payer="split", fee_rounding="half_even")
    assert dues(split, 1, 3, 100, 0, 400) == (30, 400 - 308, 8)  # a fee of 15: the buyer pays the odd unit
    assert dues(split, -1, 3, 100, 30, 0) == (0, 293, 7)
    half_even = Market(lot=10, tick=1, fee_bps=100, fee_payer="buyer", fee_rounding="half_even")
    assert dues(half_even, 1, 5, 50, 0, 300) == (50, 300 - 252, 2)  # 2.5 to the even 2
    assert dues(Market(lot=10, tick=1, fee_bps=100, fee_rounding="up"), 1, 5, 50, 0, 300) == (50, 300 - 253, 3)


@pytest.mark.parametrize(
    ("side", "filled", "grid_escrow", "payment_escrow", "field", "value"),
    [
        (1, 2, 0, 181_799, "payment_due", -1),
        (-1, 4, 3_000_000, 0, "grid_due", -1_000_000),
        (-1, 1, 10**6, 2**64 - 1, "payment_due", 2**64 - 1 + 100_000),
    ],
)
def test_dues_refuse_what_the_program_refuses(side, filled, grid_escrow, payment_escrow, field, value):
    with pytest.raises(ChainRequestInvalid) as refused:
        dues(MARKET, side, filled, 1_000 if side == -1 else 900, grid_escrow, payment_escrow)
    assert (refused.value.field, refused.value.value) == (field, value)


TERMS = st.builds(
    Market,
    lot=st.integers(1, 10**6),
    tick=st.integers(1, 1_000),
    fee_bps=st.integers(0, 10_000),
    fee_payer=st.sampled_from(PAYERS),
    fee_rounding=st.sampled_from(ROUNDINGS),
)


@st.composite
def cut(draw, total: int) -> list[int]:
    """`total` as a sum of positive parts."""
    points = draw(st.sets(st.integers(1, total - 1), max_size=min(total - 1, 8))) if total > 1 else set()
    bounds = [0, *sorted(points), total]
    return [b - a for a, b in itertools.pairwise(bounds)]


@given(TERMS, st.integers(-(10**6), 10**6), st.lists(st.integers(1, 1_000), min_size=1, max_size=8), st.data())
def test_dues_conserve_payment_to_the_base_unit(market, price, bought, data):
    sold = data.draw(cut(sum(bought)))
    slack = st.integers(0, 1_000)
    paid = received = fees = delivered = sent = 0
    for side, fills in ((1, bought), (-1, sold)):
        for filled in fills:
            qty, limit = filled + data.draw(slack), price + side * data.draw(slack)
            grid_escrow, payment_escrow = escrow(market, side, limit, qty)
            grid_due, payment_due, fee = dues(market, side, filled, price, grid_escrow, payment_escrow)
            if side == 1:
                paid, delivered = paid + payment_escrow - payment_due, delivered + grid_due
            else:
                received, sent = received + payment_due - payment_escrow, sent + grid_escrow - grid_due
            fees += fee
    assert paid == received + fees  # what buyers pay is what sellers receive plus the fees
    assert delivered == sent == sum(bought) * market.lot


@given(
    TERMS,
    st.sampled_from([1, -1]),
    st.integers(-(10**6), 10**6),
    st.integers(0, 10**4),
    st.integers(1, 1_000),
    st.integers(0, 1_000),
    st.integers(0, 10_000),
)
def test_dues_are_never_negative_within_the_limit(market, side, limit, gap, qty, unfilled, fee_bps):
    price = limit - side * gap  # a buy fills at or below its limit, a sell at or above
    filled = max(qty - unfilled, 1)
    grid_escrow, payment_escrow = escrow(market, side, limit, qty, fee_bps=fee_bps)
    grid_due, payment_due, fee = dues(market, side, filled, price, grid_escrow, payment_escrow, fee_bps=fee_bps)
    assert min(grid_due, payment_due, fee) >= 0
    assert grid_due == (filled * market.lot if side == 1 else (qty - filled) * market.lot)
