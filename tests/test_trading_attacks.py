"""The trading program against the Solana attack classes (issue 9): for each instruction, one
refusal per class that applies, each asserting that nothing changed (every account's bytes, owner
and lamports) and, where the world below makes one, that the unaltered instruction would have
gone through (simulated, committing nothing).

Classes: missing signer; wrong owner program of each account; substitution of every account
(another market's, another epoch's, another order's, a foreign vault, mint, treasury, governance
config, participant, token or system program); non-canonical bump and foreign program address;
type cosplay between every pair of account types (and the registry's and governance's accounts as
the program's); reinitialisation; duplicate mutable accounts; arbitrary CPI targets; closing and
revival; pre-funded program addresses; overflow.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest
from program_harness import other_bump
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams, transfer
from trading_harness import (
    FUNDS,
    GOVERNANCE_CONFIG,
    GOVERNANCE_ID,
    I64_MIN,
    INSTRUCTIONS,
    REGISTRY,
    REGISTRY_ID,
    TRADING_ID,
    U64_MAX,
    ZERO_HASH,
    Chain,
    EpochRef,
    MarketRef,
    Placed,
    Results,
    Trader,
    addresses,
    governance_data,
    result_heads,
    without_signer,
)

from gridmatch.chain.spl import TOKEN_PROGRAM_ID

# --- a world where every instruction has something to act on --------------------------------------


@dataclass
class Call:
    ix: Instruction
    signers: list[Keypair]


@dataclass
class World:
    """Market 1 with an epoch in each state (open, closed, posted, finalised with unclaimed orders
    and fees due), market 2 of the same mints with an open and a finalised epoch, an epoch id and
    a market id not yet used, and a stranger with a wallet and token accounts of both mints."""

    chain: Chain
    other: MarketRef
    buyer: Trader
    seller: Trader
    stranger: Trader
    open: EpochRef
    open_bid: Placed
    open_ask: Placed
    closed: EpochRef
    closed_results: Results
    posted: EpochRef
    posted_results: Results
    posted_heads: list[bytes]
    done: EpochRef
    done_bid: Placed
    done_ask: Placed
    other_open: EpochRef
    other_open_bid: Placed
    other_done: EpochRef
    other_done_bid: Placed
    new_epoch: EpochRef
    new_market: MarketRef
    forged_governance: Pubkey

    def valid(self, name: str) -> Call:
        """Instruction `name` as it would go through in this world."""
        c = self.chain
        op, auth = c.operator, c.authority
        if name == "initialize_market":
            return Call(c.initialize_ix(self.new_market), [auth])
        if name == "update_market":
            return Call(c.update_market_ix(operator=op.pubkey(), treasury=c.market.treasury), [auth])
        if name == "open_epoch":
            return Call(c.open_epoch_ix(self.new_epoch), [op])
        if name == "place_order":
            return Call(c.place_ix(self.buyer, self.open, 100, "buy", 100, 2), [self.buyer.keypair])
        if name == "cancel_order":
            return Call(c.cancel_ix(self.open_ask), [self.seller.keypair])
        if name == "close_epoch":
            return Call(c.close_epoch_ix(self.open), [op])
        if name == "post_result":
            heads = result_heads(addresses(self.closed_results))
            return Call(c.post_ix(self.closed, 100, 2, 2, heads[0]), [op])
        if name == "credit_orders":
            return Call(c.credit_ix(self.posted, addresses(self.posted_results[:1]), self.posted_heads[1]), [])
        if name == "claim":
            return Call(c.claim_ix(self.done_bid), [])
        if name == "abandon_epoch":
            return Call(c.abandon_ix(self.closed, auth.pubkey()), [auth])
        assert name == "withdraw_fees"
        return Call(c.withdraw_fees_ix(), [])

    def refuse(self, call: Call, code: int | None, *extra: Pubkey) -> None:
        self.chain.refused([call.ix], call.signers, code, *extra)

    def assert_valid(self, name: str) -> None:
        call = self.valid(name)
        sent = self.chain.simulate([call.ix], *call.signers)
        assert sent.ok, (name, sent.logs[-6:])


def _pair(chain: Chain, epoch: EpochRef, buyer: Trader, seller: Trader, order_id: int) -> tuple[Placed, Placed]:
    """A bid and an ask that cross; the ask's limit below zero, so that it escrows GRID and payment
    (a destination is read only when something is paid to it)."""
    return (
        chain.place(buyer, epoch, order_id, "buy", 110, 2),
        chain.place(seller, epoch, order_id + 1, "sell", -10, 2),
    )


def build_world() -> World:
    c = Chain()
    other = c.another_market(2)
    buyer = c.trader("Consumer", payment=FUNDS)
    seller = c.trader(grid=FUNDS, payment=FUNDS)
    stranger = c.trader(grid=FUNDS, payment=FUNDS)
    open_ = c.open_epoch(10)
    open_bid, open_ask = _pair(c, open_, buyer, seller, 1)
    closed = c.open_epoch(11)
    closed_results = [(order, 2) for order in _pair(c, closed, buyer, seller, 1)]
    c.close(closed)
    posted = c.open_epoch(12)
    posted_results = [(order, 2) for order in _pair(c, posted, buyer, seller, 1)]
    posted_heads = c.post(posted, posted_results, 100)
    done = c.open_epoch(13)
    done_bid, done_ask = _pair(c, done, buyer, seller, 1)
    c.settle(done, [(done_bid, 2), (done_ask, 2)], 100)
    other_open = c.open_epoch(20, other)
    other_open_bid, _ = _pair(c, other_open, buyer, seller, 1)
    other_done = c.open_epoch(23, other)
    other_done_bid, other_done_ask = _pair(c, other_done, buyer, seller, 1)
    c.settle(other_done, [(other_done_bid, 2), (other_done_ask, 2)], 100)
    new_market = c.market_ref(3, c.new_token_account(c.payment_mint, Keypair().pubkey(), 0))
    forged = Keypair().pubkey()
    c.put(forged, governance_data([stranger.key]), GOVERNANCE_ID)
    return World(
        c,
        other,
        buyer,
        seller,
        stranger,
        open_,
        open_bid,
        open_ask,
        closed,
        closed_results,
        posted,
        posted_results,
        posted_heads,
        done,
        done_bid,
        done_ask,
        other_open,
        other_open_bid,
        other_done,
        other_done_bid,
        c.epoch(15),
        new_market,
        forged,
    )


@pytest.fixture(scope="module")
def world() -> World:
    """One world for the module: a refusal changes nothing, and the baselines are simulated."""
    return build_world()


def swap(ix: Instruction, index: int, address: Pubkey, *, signer: bool | None = None) -> Instruction:
    """`ix` with its account at `index` replaced by `address` (its flags kept, or `signer`)."""
    metas = list(ix.accounts)
    old = metas[index]
    metas[index] = AccountMeta(address, old.is_signer if signer is None else signer, old.is_writable)
    return Instruction(ix.program_id, ix.data, metas)


def slot(world: World, name: str, account: str) -> int:
    return world.chain.account_names("trading", name).index(account)


# --- missing signer --------------------------------------------------------------------------------

SIGNED = [n for n in INSTRUCTIONS if n not in ("credit_orders", "claim", "withdraw_fees")]


@pytest.mark.parametrize("name", SIGNED)
def test_missing_signer(world: World, name: str):
    """Each signer's account passed unsigned (someone else pays the fee): 3010."""
    call = world.valid(name)
    for signer in call.signers:
        ix = without_signer(call.ix, signer.pubkey())
        world.refuse(Call(ix, [s for s in call.signers if s != signer]), 3010)
    world.assert_valid(name)


def test_missing_signer_claim_redirected_without_the_owner(world: World):
    """Anyone cranks a claim to the recorded accounts; to any others, only the owner signing."""
    owner = world.done_bid.trader
    spare = world.chain.new_token_account(world.chain.payment_mint, owner.key, 0)
    call = world.valid("claim")
    world.refuse(Call(swap(call.ix, slot(world, "claim", "payment_destination"), spare), []), 2001)
    world.assert_valid("claim")


def test_permissionless_instructions_need_no_signer(world: World):
    """credit_orders, claim (to the recorded accounts) and withdraw_fees: any fee payer sends them."""
    for name in ("credit_orders", "claim", "withdraw_fees"):
        call = world.valid(name)
        assert not call.signers and not any(m.is_signer for m in call.ix.accounts)
        world.assert_valid(name)


# --- wrong owner program ---------------------------------------------------------------------------

#: The accounts a caller picks that the program identifies by their owner (and type); the others it
#: pins by address (the market's vaults, mints and treasury: 2001; governance's config: 2006).
BY_OWNER = {"market", "epoch", "order", "participant", "grid_account", "payment_account"}
PINNED = {
    "grid_vault": 2001,
    "payment_vault": 2001,
    "grid_mint": 2001,
    "payment_mint": 2001,
    "treasury": 2001,
    "governance": 2006,
    "grid_destination": 2001,
    "payment_destination": 2001,
}


def forged_code(name: str, account: str) -> int:
    """What a copy of `account`'s bytes owned by another program is refused with in `name`."""
    if account in BY_OWNER:
        return 3007
    if name in ("initialize_market", "update_market") and account in ("grid_mint", "payment_mint", "treasury"):
        return 3007  # checked as a mint or a token account of the payment mint, whichever it is
    if name == "cancel_order" and account.endswith("_destination"):
        return 3007  # the owner signs: any token account of the mint, so its owner is checked
    return PINNED[account]


@pytest.mark.parametrize("name", INSTRUCTIONS)
def test_wrong_owner(world: World, name: str):
    """Each account the program reads, forged: its right bytes at another address, owned by
    another program (the System program, as any program's would be): refused, nothing changed."""
    chain = world.chain
    call = world.valid(name)
    names = world.chain.account_names("trading", name)
    forged_any = False
    for index, account in enumerate(names):
        real = chain.account(call.ix.accounts[index].pubkey)
        if (account not in BY_OWNER and account not in PINNED) or real is None or call.ix.accounts[index].is_signer:
            continue
        forged = Keypair().pubkey()
        chain.put(forged, bytes(real.data), SYSTEM_PROGRAM_ID if real.owner != SYSTEM_PROGRAM_ID else TRADING_ID)
        world.refuse(Call(swap(call.ix, index, forged), call.signers), forged_code(name, account))
        forged_any = True
    assert forged_any
    world.assert_valid(name)


def test_wrong_owner_of_the_orders_credited():
    """An order's bytes under another program's ownership, in a committed result: 3007."""
    chain = Chain()
    buyer = chain.trader("Consumer", payment=FUNDS)
    seller = chain.trader(grid=FUNDS)
    epoch = chain.open_epoch()
    bid = chain.place(buyer, epoch, 1, "buy", 110, 1)
    chain.place(seller, epoch, 1, "sell", 90, 1)
    forged = Keypair().pubkey()
    chain.put(forged, bytes(chain.account(bid.address).data), SYSTEM_PROGRAM_ID)  # type: ignore[union-attr]
    heads = result_heads([(forged, 1), (bid.address, 1)])
    chain.close(epoch)
    assert chain.send([chain.post_ix(epoch, 100, 1, 2, heads[0])], chain.operator).ok
    chain.refused([chain.credit_ix(epoch, [(forged, 1)], heads[1])], [], 3007)


# --- account substitution --------------------------------------------------------------------------


Substitute = tuple[str, Pubkey, int | None, Keypair | None]


def substitutes(w: World, name: str) -> list[Substitute]:
    """(account, what replaces it, the code, who signs in its place when it is a signer)."""
    c, m, o, stranger = w.chain, w.chain.market, w.other, w.stranger
    fake_mint = c.new_mint(9, Keypair().pubkey())
    market = [("market", o.address, 2001, None)]
    token = [("token_program", GOVERNANCE_ID, 3008, None)]
    system = [("system_program", GOVERNANCE_ID, 3008, None)]
    governance = [("governance", w.forged_governance, 2006, None)]
    vaults = [
        ("grid_vault", o.grid_vault, 2001, None),
        ("payment_vault", o.payment_vault, 2001, None),
        ("grid_vault", m.payment_vault, 2001, None),
        ("payment_vault", stranger.payment, 2001, None),
    ]
    mints = [("grid_mint", fake_mint, 2001, None), ("payment_mint", c.grid_mint, 2001, None)]
    unused = c.market_ref(4, m.treasury)
    subs: dict[str, list[Substitute]] = {
        "initialize_market": [
            ("market", unused.address, 2006, None),
            ("grid_mint", fake_mint, None, None),
            ("payment_mint", c.grid_mint, None, None),
            ("grid_vault", unused.grid_vault, 2006, None),
            ("payment_vault", w.new_market.grid_vault, 2006, None),
            ("treasury", stranger.grid, 2014, None),
            ("authority", stranger.key, 6020, stranger.keypair),
            *governance,
            *system,
            *token,
        ],
        # Any market and any treasury of the payment mint are governance's to choose.
        "update_market": [
            ("treasury", stranger.grid, 2014, None),
            ("authority", stranger.key, 6020, stranger.keypair),
            *governance,
        ],
        "open_epoch": [
            ("market", o.address, 2006, None),
            ("epoch", c.epoch(16).address, 2006, None),
            ("operator", stranger.key, 6001, stranger.keypair),
            *governance,
            *system,
        ],
        "place_order": [
            *market,
            ("epoch", w.other_open.address, 2001, None),
            ("order", c.order_address(w.open, w.buyer.key, 101), 2006, None),
            ("order", c.order_address(w.open, stranger.key, 100), 2006, None),
            ("participant", stranger.participant, 2006, None),
            *governance,
            ("owner", stranger.key, 2006, stranger.keypair),
            ("grid_account", stranger.grid, 2015, None),
            ("payment_account", stranger.payment, 2015, None),
            *vaults,
            *mints,
            *token,
            *system,
        ],
        "cancel_order": [
            *market,
            ("epoch", w.other_open.address, 2001, None),
            ("epoch", w.closed.address, 2001, None),
            ("order", w.other_open_bid.address, 2001, None),
            ("order", w.open_bid.address, 6002, None),
            ("owner", stranger.key, 6002, stranger.keypair),
            # The owner signs: any token account of the right mint but a vault.
            ("grid_destination", stranger.payment, 2014, None),
            ("payment_destination", m.payment_vault, 2012, None),
            *vaults,
            *mints,
            *token,
        ],
        "claim": [
            *market,
            ("epoch", w.other_done.address, 2001, None),
            ("epoch", w.posted.address, 2001, None),
            ("order", w.other_done_bid.address, 2001, None),
            ("order", w.done_ask.address, 2001, None),
            ("owner", stranger.key, 2001, None),
            ("grid_destination", stranger.grid, 2001, None),
            ("payment_destination", stranger.payment, 2001, None),
            *vaults,
            *mints,
            *token,
        ],
        "close_epoch": [
            *market,
            ("epoch", w.other_open.address, 2001, None),
            ("operator", stranger.key, 6001, stranger.keypair),
        ],
        "post_result": [
            *market,
            ("epoch", w.other_open.address, 2001, None),
            ("operator", stranger.key, 6001, stranger.keypair),
            *governance,
        ],
        "credit_orders": [
            *market,
            ("epoch", w.other_done.address, 2001, None),
            ("epoch", w.closed.address, 6005, None),
            *governance,
            # Orders the chain does not name there (another epoch's, this epoch's next): the commitment
            # refuses them before any order is read (a committed foreign order: below).
            ("#3", w.open_bid.address, 6014, None),
            ("#3", w.posted_results[1][0].address, 6014, None),
        ],
        "abandon_epoch": [
            *market,
            ("epoch", w.other_done.address, 2001, None),
            ("caller", stranger.key, 6021, stranger.keypair),
            *governance,
        ],
        "withdraw_fees": [
            *market,
            ("payment_vault", o.payment_vault, 2001, None),
            ("treasury", stranger.payment, 2001, None),
            ("payment_mint", fake_mint, 2001, None),
            *token,
        ],
    }
    return subs[name]


#: Accounts whose replacement is no attack: governance updates any market it names.
LEGITIMATE = {("update_market", "market")}


@pytest.mark.parametrize("name", INSTRUCTIONS)
def test_account_substitution(world: World, name: str):
    """Every account replaced by one of its kind that is not the right one: refused, nothing changed."""
    call = world.valid(name)
    replaced: set[str] = set()
    for account, address, code, signer in substitutes(world, name):
        index = int(account[1:]) if account.startswith("#") else slot(world, name, account)
        ix = swap(call.ix, index, address, signer=True if signer else None)
        old = call.ix.accounts[index].pubkey
        signers = [s for s in call.signers if s.pubkey() != old] + ([signer] if signer else [])
        world.chain.refused([ix], signers, code)
        replaced.add(account if not account.startswith("#") else "order")
    every = set(world.chain.account_names("trading", name)) | ({"order"} if name == "credit_orders" else set())
    missing = every - replaced - {a for n, a in LEGITIMATE if n == name}
    assert not missing, f"{name}: no substitution of {missing}"
    world.assert_valid(name)


# --- non-canonical bump, foreign program address ---------------------------------------------------


def _seeds(world: World, name: str, account: str) -> list[bytes]:
    """The seeds of the account instruction `name` creates."""
    m = world.new_market
    return {
        ("initialize_market", "market"): [b"market", struct.pack("<Q", m.market_id)],
        ("initialize_market", "grid_vault"): [b"vault", bytes(m.address), bytes(m.grid_mint)],
        ("initialize_market", "payment_vault"): [b"vault", bytes(m.address), bytes(m.payment_mint)],
        ("open_epoch", "epoch"): [b"epoch", bytes(world.chain.market.address), struct.pack("<Q", 15)],
        ("place_order", "order"): [b"order", bytes(world.open.address), bytes(world.buyer.key), struct.pack("<Q", 100)],
    }[(name, account)]


CREATED = [
    ("initialize_market", "market"),
    ("initialize_market", "grid_vault"),
    ("initialize_market", "payment_vault"),
    ("open_epoch", "epoch"),
    ("place_order", "order"),
]


@pytest.mark.parametrize(("name", "account"), CREATED)
def test_non_canonical_bump_and_foreign_program_address(world: World, name: str, account: str):
    """An account the instruction creates, at its seeds' address with another bump, or at the same
    seeds' address under another program: 2006."""
    call = world.valid(name)
    seeds = _seeds(world, name, account)
    index = slot(world, name, account)
    assert call.ix.accounts[index].pubkey == Pubkey.find_program_address(seeds, TRADING_ID)[0]
    for address in (other_bump(seeds, TRADING_ID), Pubkey.find_program_address(seeds, REGISTRY_ID)[0]):
        world.refuse(Call(swap(call.ix, index, address), call.signers), 2006, address)
    world.assert_valid(name)


def test_foreign_program_addresses_of_accounts_the_program_reads(world: World):
    """The participant's seeds under the trading program (no account there), governance's seeds
    under the trading program: refused."""
    call = world.valid("place_order")
    foreign_participant = Pubkey.find_program_address([b"participant", bytes(world.buyer.key)], TRADING_ID)[0]
    world.refuse(
        Call(swap(call.ix, slot(world, "place_order", "participant"), foreign_participant), call.signers), 3007
    )
    foreign_governance = Pubkey.find_program_address([b"governance"], TRADING_ID)[0]
    world.refuse(Call(swap(call.ix, slot(world, "place_order", "governance"), foreign_governance), call.signers), 2006)
    world.assert_valid("place_order")


# --- type cosplay ----------------------------------------------------------------------------------


def kinds(world: World) -> dict[str, Pubkey]:
    """One account of each type there is: the program's three, the registry's two, governance's
    config, a mint and a token account."""
    return {
        "Market": world.chain.market.address,
        "Epoch": world.open.address,
        "Order": world.open_ask.address,
        "Participant": world.buyer.participant,
        "Registry": REGISTRY,
        "GovernanceConfig": GOVERNANCE_CONFIG,
        "Mint": world.chain.grid_mint,
        "TokenAccount": world.stranger.payment,
    }


EXPECTS = {
    "market": "Market",
    "epoch": "Epoch",
    "order": "Order",
    "participant": "Participant",
    "governance": "GovernanceConfig",
}
OWNER_OF = {
    "Market": TRADING_ID,
    "Epoch": TRADING_ID,
    "Order": TRADING_ID,
    "Participant": REGISTRY_ID,
    "Registry": REGISTRY_ID,
    "GovernanceConfig": GOVERNANCE_ID,
    "Mint": TOKEN_PROGRAM_ID,
    "TokenAccount": TOKEN_PROGRAM_ID,
}


def cosplay_code(expected: str, given: str, created: bool) -> int | None:
    """What passing a `given` account where an `expected` one goes is refused with: governance's
    config is checked by address (2006); an account of another program is 3007; the program's or
    the registry's own of another type 3002. An account the instruction creates is refused for
    existing (3000 if the program's, else not the System program's, 3011)."""
    if created:
        return 3000 if OWNER_OF[given] == TRADING_ID else 3011
    if expected == "GovernanceConfig":
        return 2006
    return 3002 if OWNER_OF[given] == OWNER_OF[expected] else 3007


@pytest.mark.parametrize("name", INSTRUCTIONS)
def test_type_cosplay(world: World, name: str):
    """Every account of a type the program checks, replaced by an account of each other type."""
    call = world.valid(name)
    names = world.chain.account_names("trading", name)
    slots = [(i, EXPECTS[a]) for i, a in enumerate(names) if a in EXPECTS]
    assert slots  # credit_orders' own orders: in a committed result, below
    created = {slot(world, n, a) for n, a in CREATED if n == name}
    for index, expected in slots:
        for given, address in kinds(world).items():
            if given == expected:
                continue
            code = cosplay_code(expected, given, index in created)
            world.refuse(Call(swap(call.ix, index, address), call.signers), code)
    world.assert_valid(name)


def test_a_committed_result_naming_what_is_not_an_order_of_the_epoch_is_refused():
    """An operator that commits to an account that is not one of the epoch's orders (another
    epoch's or market's order, the epoch itself, the market, a registry or governance account, a
    mint, a token account, a wallet, an order cancelled on chain): the hash matches, and the
    account is refused (2001 another epoch's, 3002 another type of the program's, 3007 anything
    the program does not own)."""
    chain = Chain()
    other = chain.another_market(2)
    buyer = chain.trader("Consumer", payment=FUNDS)
    seller = chain.trader(grid=FUNDS)
    elsewhere = chain.open_epoch(99)
    foreign = chain.place(buyer, elsewhere, 1, "buy", 110, 1)
    abroad = chain.place(buyer, chain.open_epoch(99, other), 1, "buy", 110, 1)
    gone = chain.place(buyer, elsewhere, 2, "buy", 110, 1)
    assert chain.send([chain.cancel_ix(gone)], buyer.keypair).ok
    for epoch_id, (address, code) in enumerate(
        [
            (foreign.address, 2001),
            (abroad.address, 2001),
            (None, 3002),
            (chain.market.address, 3002),
            (buyer.participant, 3007),
            (REGISTRY, 3007),
            (GOVERNANCE_CONFIG, 3007),
            (chain.grid_mint, 3007),
            (buyer.payment, 3007),
            (buyer.key, 3007),
            (gone.address, 3007),
        ],
        start=1,
    ):
        epoch = chain.open_epoch(epoch_id)
        bid = chain.place(buyer, epoch, 1, "buy", 110, 1)
        ask = chain.place(seller, epoch, 1, "sell", 90, 1)
        address = address or epoch.address  # the epoch as its own order
        heads = result_heads([(address, 1), (bid.address, 1)])
        chain.close(epoch)
        assert chain.send([chain.post_ix(epoch, 100, 1, 2, heads[0])], chain.operator).ok
        chain.refused([chain.credit_ix(epoch, [(address, 1)], heads[1])], [], code, address)
        chain.refused([chain.credit_ix(epoch, [(address, 1), (bid.address, 1)], ZERO_HASH)], [], code, address)
        assert ask and chain.state(epoch) == "Posted"


# --- reinitialisation ------------------------------------------------------------------------------


def test_reinitialisation(world: World):
    """initialize_market of a market that exists, open_epoch of an epoch that exists, place_order at
    an order that exists (even after its epoch moved on): 3000."""
    c = world.chain
    world.refuse(Call(c.initialize_ix(), [c.authority]), 3000)
    world.refuse(Call(c.initialize_ix(world.other), [c.authority]), 3000)
    for epoch in (world.open, world.closed, world.done):
        world.refuse(Call(c.open_epoch_ix(epoch), [c.operator]), 3000)
    bid = world.open_bid
    world.refuse(Call(c.place_ix(bid.trader, world.open, bid.order_id, "buy", 100, 2), [bid.trader.keypair]), 3000)
    world.assert_valid("place_order")


# --- duplicate mutable accounts --------------------------------------------------------------------


def test_duplicate_accounts_in_one_instruction(world: World):
    """The same account twice where two are written (or a vault where a trader's account goes):
    refused, nothing changed."""
    c, w = world.chain, world
    m, new = c.market, w.new_market
    owner = w.done_bid.trader.keypair
    buyer = w.buyer.keypair
    cases = [
        (c.claim_ix(w.done_bid, signed=True, grid_destination=w.done_bid.trader.payment), [owner], 2014),
        (c.claim_ix(w.done_bid, signed=True, payment_destination=m.payment_vault), [owner], 2012),
        (c.cancel_ix(w.open_ask, grid_destination=m.grid_vault), [w.seller.keypair], 2012),
        (c.cancel_ix(w.open_ask, payment_destination=m.payment_vault), [w.seller.keypair], 2012),
        (c.place_ix(w.buyer, w.open, 100, "buy", 100, 2, payment_account=m.payment_vault), [buyer], 2015),
        (c.place_ix(w.buyer, w.open, 100, "buy", 100, 2, grid_vault=m.payment_vault), [buyer], 2001),
        (c.withdraw_fees_ix(treasury=m.payment_vault), [], 2001),
        (c.initialize_ix(new, payment_vault=new.grid_vault), [c.authority], 2006),
    ]
    for ix, signers, code in cases:
        c.refused([ix], signers, code)


def test_the_same_order_twice_in_a_committed_result_is_refused():
    """An operator that commits to one order twice: the second is refused in the same batch and
    in the next; the epoch is then abandoned and every order refunds in full."""
    chain = Chain()
    buyer = chain.trader("Consumer", payment=FUNDS)
    seller = chain.trader(grid=FUNDS)
    epoch = chain.open_epoch()
    bid = chain.place(buyer, epoch, 1, "buy", 110, 4)
    ask = chain.place(seller, epoch, 1, "sell", 90, 4)
    third = chain.place(seller, epoch, 2, "sell", 200, 1)  # a third order on chain: the count may be three
    results = [(bid, 2), (bid, 2), (ask, 4)]
    heads = chain.post(epoch, results, 100)
    chain.refused([chain.credit_ix(epoch, addresses(results[:2]), heads[2])], [], 6012)
    chain.credit(epoch, results, heads, 0, 1)
    chain.refused([chain.credit_ix(epoch, addresses(results[1:2]), heads[2])], [], 6012)
    before = chain.balances()
    chain.abandon(epoch)
    for order in (bid, ask, third):
        chain.claim(order)
    after = chain.balances()
    assert after[buyer.payment] - before[buyer.payment] == bid.payment_escrow
    assert after[seller.grid] - before[seller.grid] == ask.grid_escrow + third.grid_escrow
    assert chain.balance(chain.market.grid_vault) == chain.balance(chain.market.payment_vault) == 0


# --- arbitrary CPI targets -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_token_program(world: World) -> Pubkey:
    """The SPL Token program's own code, deployed at another address."""
    real = world.chain.account(TOKEN_PROGRAM_ID)
    assert real is not None and real.executable
    fake = Keypair().pubkey()
    world.chain.svm.set_account(fake, Account(real.lamports, bytes(real.data), real.owner, True, 0))
    return fake


@pytest.mark.parametrize(
    "name", ["initialize_market", "open_epoch", "place_order", "cancel_order", "claim", "withdraw_fees"]
)
def test_arbitrary_cpi_target(world: World, fake_token_program: Pubkey, name: str):
    """The token program or the System program replaced by another program (the token program's
    code at another address, governance): 3008."""
    call = world.valid(name)
    names = world.chain.account_names("trading", name)
    for account in ("token_program", "system_program"):
        if account in names:
            for fake in (fake_token_program, GOVERNANCE_ID, TRADING_ID):
                world.refuse(Call(swap(call.ix, names.index(account), fake), call.signers), 3008)
    world.assert_valid(name)


# --- closing and revival ---------------------------------------------------------------------------


def test_a_claimed_order_revived_with_lamports_is_not_claimed_again():
    """A claimed order's address sent lamports (in a later transaction, or in the same one between
    two claims): a claim of it does nothing and succeeds."""
    chain = Chain()
    buyer = chain.trader("Consumer", payment=FUNDS)
    seller = chain.trader(grid=FUNDS)
    epoch = chain.open_epoch()
    bid = chain.place(buyer, epoch, 1, "buy", 110, 4)
    ask = chain.place(seller, epoch, 1, "sell", 90, 4)
    chain.settle(epoch, [(bid, 4), (ask, 4)], 100)
    chain.claim(bid)
    chain.fund(bid.address, 10**7)
    before = chain.snapshot(bid.address)
    sent = chain.send([chain.claim_ix(bid)])
    assert sent.ok, sent.logs
    assert chain.snapshot(bid.address) == before
    revive = transfer(TransferParams(from_pubkey=chain.payer.pubkey(), to_pubkey=ask.address, lamports=10**7))
    grid = chain.balance(seller.grid)
    sent = chain.send([chain.claim_ix(ask), revive, chain.claim_ix(ask)])
    assert sent.ok, sent.logs
    assert chain.balance(seller.grid) == grid  # the sell filled whole: no GRID back, and not twice
    assert chain.balance(chain.market.payment_vault) == chain.decode(epoch.address).fees
    # Nor is a revived order credited again: it is no order of the epoch's any more.
    chain.refused([chain.credit_ix(epoch, [(bid.address, 4), (ask.address, 4)], ZERO_HASH)], [], 6014)


def test_a_cancelled_order_revived_with_lamports_is_not_credited():
    """An order cancelled on chain and its address re-funded: an operator that posts it anyway
    cannot credit it (3007); every other order still refunds once the epoch is abandoned."""
    chain = Chain()
    buyer = chain.trader("Consumer", payment=FUNDS)
    seller = chain.trader(grid=FUNDS)
    epoch = chain.open_epoch()
    bid = chain.place(buyer, epoch, 1, "buy", 110, 4)
    ask = chain.place(seller, epoch, 1, "sell", 90, 4)
    chain.place(buyer, epoch, 2, "buy", 80, 1)  # two orders left on chain: a result may name two
    assert chain.send([chain.cancel_ix(bid)], buyer.keypair).ok
    chain.fund(bid.address, chain.svm.minimum_balance_for_rent_exemption(203))
    results = [(bid, 4), (ask, 4)]
    heads = chain.post(epoch, results, 100)
    chain.refused([chain.credit_ix(epoch, addresses(results), heads[2])], [], 3007, bid.address)
    chain.refused([chain.credit_ix(epoch, addresses(results[:1]), heads[1])], [], 3007, bid.address)
    chain.abandon(epoch)
    grid = chain.balance(seller.grid)
    chain.claim(ask)
    assert chain.balance(seller.grid) - grid == ask.grid_escrow


# --- pre-funded program addresses ------------------------------------------------------------------


def test_pre_funded_addresses_are_still_created():
    """Lamports sent to the market's, its vaults', an epoch's and an order's address before their
    creation: each is still created, with at least its rent, owned and laid out as it should be."""
    chain = Chain(initialize=False)
    m = chain.market
    for address in (m.address, m.grid_vault, m.payment_vault):
        chain.fund(address, 1_000)
    sent = chain.send([chain.initialize_ix()], chain.authority)
    assert sent.ok, sent.logs
    assert chain.decode(m.address).market_id == 1
    assert chain.lamports(m.address) == chain.svm.minimum_balance_for_rent_exemption(245)
    for vault in (m.grid_vault, m.payment_vault):
        account = chain.account(vault)
        assert (
            account is not None and account.owner == TOKEN_PROGRAM_ID and bytes(account.data)[32:64] == bytes(m.address)
        )
        assert account.lamports == chain.rent_token
    epoch = chain.epoch(1)
    chain.fund(epoch.address, 10**10)  # more than the rent: kept
    chain.open_epoch(1)
    assert chain.state(epoch) == "Open" and chain.lamports(epoch.address) == 10**10
    buyer = chain.trader("Consumer", payment=FUNDS)
    order = chain.order_address(epoch, buyer.key, 1)
    chain.fund(order, 1)
    bid = chain.place(buyer, epoch, 1, "buy", 100, 2)
    assert chain.decode(bid.address).qty == 2
    assert chain.lamports(order) == chain.svm.minimum_balance_for_rent_exemption(203)


# --- overflow --------------------------------------------------------------------------------------


def test_overflow_in_placing_is_refused():
    """qty * lot, price * tick, the escrow qty * (price * tick + fee), a sell at i64::MIN: 6011."""
    chain = Chain()
    seller = chain.trader(grid=U64_MAX, payment=U64_MAX)
    buyer = chain.trader("Consumer", payment=U64_MAX)
    epoch = chain.open_epoch()
    for trader, side, price, qty in (
        (seller, "sell", 100, U64_MAX // 10**6 + 1),  # qty * lot
        (buyer, "buy", 2**62, 1),  # price * tick
        (buyer, "buy", 10**12, 2 * 10**5),  # qty * the price and fee a lot
        (seller, "sell", I64_MIN, 1),  # what a sell at i64::MIN may pay
        (buyer, "buy", I64_MIN, 1),  # i64::MIN * tick
        (seller, "sell", -(2**62), 1),
    ):
        chain.refused([chain.place_ix(trader, epoch, 1, side, price, qty)], [trader.keypair], 6011)
    # At the edge it fits: the largest quantity a lot of 10^6 allows.
    chain.place(seller, epoch, 2, "sell", 0, U64_MAX // 10**6)


@pytest.mark.parametrize("price", [2**62, I64_MIN, 2**63 - 1])
def test_overflow_in_a_posted_price_is_refused(price: int):
    """A price whose amount a lot (price * tick) does not fit: 6011 when posted."""
    chain = Chain()
    epoch = chain.open_epoch()
    bid = chain.place(chain.trader("Consumer", payment=FUNDS), epoch, 1, "buy", 100, 1)
    ask = chain.place(chain.trader(grid=FUNDS), epoch, 1, "sell", 100, 1)
    chain.close(epoch)
    head = result_heads([(bid.address, 1), (ask.address, 1)])[0]
    chain.refused([chain.post_ix(epoch, price, 1, 2, head)], [chain.operator], 6011)


def test_overflow_in_what_an_epoch_bought_is_refused():
    """Two buys of 2^63 lots at a price of 0 (they escrow nothing, so nothing bounds them; sells
    are bounded by the GRID vault's u64): the second's credit takes what the epoch bought past
    u64::MAX and is refused (6018, the sums cannot agree with any posted volume)."""
    chain = Chain(lot=1, tick=1)
    epoch = chain.open_epoch()
    orders = [chain.place(chain.trader("Consumer"), epoch, 1, "buy", 0, 2**63) for _ in range(2)]
    results = [(o, 2**63) for o in orders]
    heads = chain.post(epoch, results, 0, volume=U64_MAX)
    chain.credit(epoch, results, heads, 0, 1)
    chain.refused([chain.credit_ix(epoch, addresses(results[1:]), ZERO_HASH)], [], 6018)


def test_overflow_in_an_orders_notional_is_refused():
    """A sell escrows only its GRID; a result that fills it at a price whose notional does not fit
    a u64 (an operator's garbage: no buy could have escrowed it) is refused (6011)."""
    chain = Chain(lot=1, tick=1, fee_bps=0)
    epoch = chain.open_epoch()
    ask = chain.place(chain.trader(grid=2**40), epoch, 1, "sell", 0, 2**40)
    bid = chain.place(chain.trader("Consumer", payment=2**30), epoch, 1, "buy", 2**30, 1)
    heads = chain.post(epoch, [(ask, 2**40), (bid, 1)], 2**30, volume=2**40)
    chain.refused([chain.credit_ix(epoch, [(ask.address, 2**40)], heads[1])], [], 6011)
