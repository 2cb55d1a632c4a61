"""programs/energy_token and programs/oracle in LiteSVM, with governance and the registry: GRID is
minted only for a meter reading an oracle operator submitted and the oracle accepted (monotonic,
plausible, not replayed, of a meter the registry admitted as the prosumer's), by CPI signed with
the oracle's program address; never directly, never while governance has paused the market, never
to a suspended participant or a consumer; holders burn it for consumption. Every refusal changes
no balance and no state; the GRID supply is the sum of the balances and of the accepted readings
less the burns."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from test_program_governance import CONFIG as GOVERNANCE_CONFIG
from test_program_governance import (
    DEPLOYER,
    Governance,
    Programs,
    Sent,
    assert_sbpf_v0,
    check_idl,
    program_bytes,
    with_account,
    without_signer,
)

from gridmatch.chain.spl import (
    MINT_LEN,
    TOKEN_PROGRAM_ID,
    associated_token_address,
    create_associated_token_account_ix,
    create_mint_ixs,
    mint_to_ix,
)


def pda(seeds: list[bytes], program: Pubkey) -> Pubkey:
    return Pubkey.find_program_address(seeds, program)[0]


REGISTRY_ID = Pubkey.from_string("63DMmvAZd8XSmQXDn9nWSTYjw44M9NyqPY8F4mtkMhhG")
ENERGY_ID = Pubkey.from_string("AFBbTbZKuCBA6cZ5nifLQ7adKok8apnjuyGSjAuXgWZF")
ORACLE_ID = Pubkey.from_string("8gQTGoiP69XSX7ywywYNxDy3HcPWjYj14jGD1dJbuLrd")
REGISTRY = pda([b"registry"], REGISTRY_ID)
ENERGY_CONFIG = pda([b"energy_config"], ENERGY_ID)
MINT_AUTHORITY = pda([b"mint_authority"], ENERGY_ID)
ORACLE_CONFIG = pda([b"oracle"], ORACLE_ID)
ORACLE_SIGNER = pda([b"oracle_signer"], ORACLE_ID)

KWH = 10**9  # 1 GRID = 1 kWh = 10^9 base units
PER_READING = 100 * KWH  # at most 100 kWh in one reading
PER_SECOND = 2_777_778  # about 10 kW: 10 kWh an hour
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3_600

#: Compute units each instruction measured when written (in the comments), with room. A reading
#: is three programs deep: the oracle's checks, energy_token's (through one CPI) and the token
#: program's MintToChecked (about 4,500 alone). `register_meter` searches the meter's address: 1,500
#: units per bump tried, 255 first, counted apart.
BUDGET = {
    "energy.initialize": 3_000,  # 2,270
    "energy.burn": 7_500,  # 6,567, of which the token program's BurnChecked 4,709
    "oracle.initialize": 4_500,  # 3,535
    "oracle.set_operators": 3_000,  # 1,763 (two operators) to 2,356 (four)
    "oracle.set_limits": 800,  # 553
    "oracle.register_meter": 3_000,  # 2,490 besides the search (3,990 at bump 255)
    # 10,227: the oracle 3,574 (of which 301 check the registry's meter), energy_token 2,153, the token program 4,500
    "oracle.submit_reading": 12_000,
}
UNITS_PER_BUMP_TRIED = 1_500


def participant_address(owner: Pubkey) -> Pubkey:
    return pda([b"participant", bytes(owner)], REGISTRY_ID)


def meter_address(meter_id: int) -> Pubkey:
    return pda([b"meter", meter_id.to_bytes(8, "little")], ORACLE_ID)


def registry_meter_address(meter_id: int) -> Pubkey:
    """The registry's `Meter` of `meter_id`: the oracle takes readings only of meters it admitted."""
    return pda([b"meter", meter_id.to_bytes(8, "little")], REGISTRY_ID)


@dataclass
class Prosumer:
    wallet: Keypair
    token: Pubkey  # its GRID associated token account
    meter_id: int

    @property
    def owner(self) -> Pubkey:
        return self.wallet.pubkey()


class Market(Governance):
    """Governance, the registry, energy_token and the oracle, initialised: `admin` is the
    governance and registry authority; GRID is a fresh 9-decimal mint whose authority is
    energy_token's PDA; the oracle has two operators and the bounds above; the clock is at T0."""

    def __init__(self) -> None:
        super().__init__("registry", "governance", "energy_token", "oracle")
        self.set_time(T0)
        self.admin = self.funded()
        self.operators = [self.funded(), self.funded()]
        assert self.init_governance(self.admin).ok
        accounts = {"registry": REGISTRY, "authority": self.admin.pubkey(), "deployer": DEPLOYER.pubkey()}
        ix = self.ix("registry", "initialize", **accounts, system_program=SYSTEM_PROGRAM_ID)
        assert self.send(ix, self.admin, DEPLOYER).ok
        self.mint = self.create_mint(MINT_AUTHORITY)
        sent = self.send(self.energy_init_ix(self.mint, self.admin.pubkey()), self.admin)
        assert sent.ok, sent.logs
        self.units = {"energy.initialize": sent.units}
        ops = [k.pubkey() for k in self.operators]
        sent = self.send(self.oracle_init_ix(ops, PER_READING, PER_SECOND, self.admin.pubkey()), self.admin)
        assert sent.ok, sent.logs
        self.units["oracle.initialize"] = sent.units
        self.next_meter = 1

    # --- set-up -------------------------------------------------------------------------------

    def create_mint(self, authority: Pubkey, decimals: int = 9, freeze: Pubkey | None = None) -> Pubkey:
        mint = Keypair()
        rent = self.svm.minimum_balance_for_rent_exemption(MINT_LEN)
        ixs = create_mint_ixs(self.payer.pubkey(), mint.pubkey(), authority, decimals, rent)
        if freeze is not None:  # InitializeMint with a freeze authority: tag 0, decimals, authority, Some(freeze)
            data = bytes([0, decimals]) + bytes(authority) + b"\x01" + bytes(freeze)
            ixs[1] = Instruction(TOKEN_PROGRAM_ID, data, ixs[1].accounts)
        assert self.send(ixs, mint).ok
        return mint.pubkey()

    def token_account(self, owner: Pubkey, mint: Pubkey | None = None) -> Pubkey:
        mint = mint or self.mint
        assert self.send(create_associated_token_account_ix(self.payer.pubkey(), owner, mint)).ok
        return associated_token_address(owner, mint)

    def register(self, owner: Pubkey, kind: str = "Prosumer") -> None:
        accounts = {
            "registry": REGISTRY,
            "participant": participant_address(owner),
            "owner": owner,
            "authority": self.admin.pubkey(),
            "system_program": SYSTEM_PROGRAM_ID,
        }
        kind_value = getattr(self.program["registry"].type["ParticipantKind"], kind)()
        assert self.send(self.ix("registry", "register_participant", kind_value, **accounts), self.admin).ok

    def prosumer(self, kind: str = "Prosumer") -> Prosumer:
        """A new participant of `kind` in the registry, with a GRID token account and a meter."""
        wallet = self.funded(1)
        self.register(wallet.pubkey(), kind)
        token = self.token_account(wallet.pubkey())
        meter_id = self.next_meter
        self.next_meter += 1
        sent = self.send(self.registry_meter_ix(meter_id, wallet.pubkey()), self.admin)
        assert sent.ok, sent.logs
        sent = self.send(self.register_meter_ix(meter_id, wallet.pubkey()), self.operators[0])
        assert sent.ok, sent.logs
        return Prosumer(wallet, token, meter_id)

    # --- instructions ---------------------------------------------------------------------------

    def energy_init_ix(self, mint: Pubkey, authority: Pubkey, **overrides: Pubkey) -> Instruction:
        accounts = {
            "config": ENERGY_CONFIG,
            "mint": mint,
            "mint_authority": MINT_AUTHORITY,
            "governance_config": GOVERNANCE_CONFIG,
            "authority": authority,
            "system_program": SYSTEM_PROGRAM_ID,
        } | overrides
        return self.ix("energy_token", "initialize", **accounts)

    def oracle_init_ix(
        self, operators: list[Pubkey], per_reading: int, per_second: int, authority: Pubkey
    ) -> Instruction:
        accounts = {
            "config": ORACLE_CONFIG,
            "governance_config": GOVERNANCE_CONFIG,
            "authority": authority,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return self.ix("oracle", "initialize", operators, per_reading, per_second, **accounts)

    def oracle_admin_ix(self, name: str, authority: Pubkey, *args: Any) -> Instruction:
        accounts = {"config": ORACLE_CONFIG, "governance_config": GOVERNANCE_CONFIG, "authority": authority}
        return self.ix("oracle", name, *args, **accounts)

    def register_meter_ix(self, meter_id: int, prosumer: Pubkey, operator: Keypair | None = None) -> Instruction:
        accounts = {
            "config": ORACLE_CONFIG,
            "meter": meter_address(meter_id),
            "prosumer": prosumer,
            "operator": (operator or self.operators[0]).pubkey(),
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return self.ix("oracle", "register_meter", meter_id, **accounts)

    def registry_meter_ix(self, meter_id: int, owner: Pubkey) -> Instruction:
        """The registry's register_meter: `admin` admits meter `meter_id` as `owner`'s."""
        accounts = {
            "registry": REGISTRY,
            "meter": registry_meter_address(meter_id),
            "participant": participant_address(owner),
            "authority": self.admin.pubkey(),
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return self.ix("registry", "register_meter", meter_id, **accounts)

    def registry_status_ix(self, name: str, owner: Pubkey) -> Instruction:
        """The registry's suspend_participant or reactivate_participant, signed by `admin`."""
        accounts = {"registry": REGISTRY, "participant": participant_address(owner), "authority": self.admin.pubkey()}
        return self.ix("registry", name, **accounts)

    def mint_accounts(self, p: Prosumer) -> dict[str, Pubkey]:
        """energy_token.mint_for_reading's accounts for prosumer `p`."""
        return {
            "config": ENERGY_CONFIG,
            "governance_config": GOVERNANCE_CONFIG,
            "mint": self.mint,
            "destination": p.token,
            "participant": participant_address(p.owner),
            "mint_authority": MINT_AUTHORITY,
            "oracle_signer": ORACLE_SIGNER,
            "token_program": TOKEN_PROGRAM_ID,
        }

    def reading_ix(
        self, p: Prosumer, timestamp: int, energy: int, operator: Pubkey | None = None, **overrides: Pubkey
    ) -> Instruction:
        mint = self.mint_accounts(p)
        accounts = {
            "config": ORACLE_CONFIG,
            "meter": meter_address(p.meter_id),
            "registry_meter": registry_meter_address(p.meter_id),
            "operator": operator or self.operators[0].pubkey(),
            "energy_config": ENERGY_CONFIG,
            "energy_token_program": ENERGY_ID,
            **{k: v for k, v in mint.items() if k != "config"},
        } | overrides
        return self.ix("oracle", "submit_reading", p.meter_id, timestamp, energy, **accounts)

    def submit(self, p: Prosumer, timestamp: int, energy: int, operator: Keypair | None = None) -> Sent:
        operator = operator or self.operators[0]
        return self.send(self.reading_ix(p, timestamp, energy, operator.pubkey()), operator)

    def burn_ix(self, source: Pubkey, owner: Pubkey, amount: int, mint: Pubkey | None = None) -> Instruction:
        accounts = {
            "config": ENERGY_CONFIG,
            "mint": mint or self.mint,
            "source": source,
            "owner": owner,
            "token_program": TOKEN_PROGRAM_ID,
        }
        return self.ix("energy_token", "burn", amount, **accounts)

    # --- state ----------------------------------------------------------------------------------

    def balance(self, token: Pubkey) -> int:
        account = self.svm.get_account(token)
        return 0 if account is None else int.from_bytes(bytes(account.data)[64:72], "little")

    def supply(self, mint: Pubkey | None = None) -> int:
        return int.from_bytes(bytes(self.svm.get_account(mint or self.mint).data)[36:44], "little")

    def energy_config(self) -> Any:
        return self.decode("energy_token", ENERGY_CONFIG)

    def oracle_config(self) -> Any:
        return self.decode("oracle", ORACLE_CONFIG)

    def meter(self, p: Prosumer) -> Any:
        return self.decode("oracle", meter_address(p.meter_id))

    def watched(self, *prosumers: Prosumer) -> tuple[Pubkey, ...]:
        """Every account a reading or a mint could change, for `prosumers`."""
        out = [self.mint, ENERGY_CONFIG, ORACLE_CONFIG, GOVERNANCE_CONFIG, MINT_AUTHORITY, ORACLE_SIGNER]
        for p in prosumers:
            out += [p.token, meter_address(p.meter_id), registry_meter_address(p.meter_id)]
            out += [participant_address(p.owner), p.owner]
        return tuple(out)

    def set_participant_status(self, owner: Pubkey, status: int) -> None:
        """Writes the `status` byte (offset 41 of the registry's `Participant` layout) directly,
        bypassing the registry: what energy_token reads, whoever wrote it (the registry's own
        suspend_participant is tested below too)."""
        address = participant_address(owner)
        account = self.svm.get_account(address)
        data = bytearray(account.data)
        data[41] = status
        self.put(address, bytes(data), REGISTRY_ID)


@pytest.fixture
def market() -> Market:
    return Market()


@pytest.fixture
def alice(market: Market) -> Prosumer:
    return market.prosumer()


def test_the_programs_are_sbpf_v0_shared_objects():
    assert_sbpf_v0(program_bytes("energy_token"))
    assert_sbpf_v0(program_bytes("oracle"))


# --- initialisation --------------------------------------------------------------------------------


def test_initialisation_names_grid_and_the_oracle(market: Market):
    assert market.units["energy.initialize"] <= BUDGET["energy.initialize"]
    assert market.units["oracle.initialize"] <= BUDGET["oracle.initialize"]
    config = market.energy_config()
    assert (config.mint, config.total_minted, config.total_burned) == (market.mint, 0, 0)
    assert config.bump == Pubkey.find_program_address([b"energy_config"], ENERGY_ID)[1]
    account = market.svm.get_account(ENERGY_CONFIG)
    assert (
        account.owner == ENERGY_ID and len(account.data) == market.program["energy_token"].account["EnergyConfig"].size
    )
    assert account.lamports == market.svm.minimum_balance_for_rent_exemption(len(account.data))

    oracle = market.oracle_config()
    assert oracle.operators == [k.pubkey() for k in market.operators] + [Pubkey.default()] * 2
    assert (oracle.max_energy_per_reading, oracle.max_energy_per_second) == (PER_READING, PER_SECOND)
    assert (oracle.reading_count, oracle.total_energy) == (0, 0)
    assert oracle.bump == Pubkey.find_program_address([b"oracle"], ORACLE_ID)[1]
    assert len(market.svm.get_account(ORACLE_CONFIG).data) == market.program["oracle"].account["OracleConfig"].size


def test_energy_initialize_refusals_change_nothing():
    market = Market.__new__(Market)
    Programs.__init__(market, "governance", "energy_token")
    market.admin = market.funded()
    assert market.init_governance(market.admin).ok
    admin = market.admin.pubkey()
    good = market.create_mint(MINT_AUTHORITY)
    before = market.snapshot(ENERGY_CONFIG, good)
    impostor = market.funded()
    refusals = [
        (market.energy_init_ix(good, impostor.pubkey()), impostor, 6000),  # not a governance authority
        (without_signer(market.energy_init_ix(good, admin), admin), None, 3010),
        (market.energy_init_ix(market.create_mint(impostor.pubkey()), admin), market.admin, 6003),  # authority
        (market.energy_init_ix(market.create_mint(MINT_AUTHORITY, decimals=6), admin), market.admin, 6003),
        (market.energy_init_ix(market.create_mint(MINT_AUTHORITY, freeze=admin), admin), market.admin, 6003),
        (market.energy_init_ix(good, admin, mint_authority=impostor.pubkey()), market.admin, 2006),
        (market.energy_init_ix(good, admin, config=pda([b"other"], ENERGY_ID)), market.admin, 2006),
        (market.energy_init_ix(good, admin, governance_config=impostor.pubkey()), market.admin, 2006),
        (market.energy_init_ix(impostor.pubkey(), admin), market.admin, 3007),  # not a mint
    ]
    # A mint that already has supply (minted before its authority was handed over).
    minted = market.create_mint(admin)
    token = market.token_account(admin, minted)
    assert market.send(mint_to_ix(minted, token, admin, 5), market.admin).ok
    set_authority = Instruction(
        TOKEN_PROGRAM_ID,
        bytes([6, 0, 1]) + bytes(MINT_AUTHORITY),
        [AccountMeta(minted, False, True), AccountMeta(admin, True, False)],
    )
    assert market.send(set_authority, market.admin).ok
    refusals.append((market.energy_init_ix(minted, admin), market.admin, 6003))
    for ix, signer, code in refusals:
        sent = market.send(ix, *([signer] if signer else []))
        assert sent.code == code, (code, sent.logs)
    assert market.snapshot(ENERGY_CONFIG, good) == before

    assert market.send(market.energy_init_ix(good, admin), market.admin).ok
    before = market.snapshot(ENERGY_CONFIG)
    assert market.send(market.energy_init_ix(market.create_mint(MINT_AUTHORITY), admin), market.admin).code == 3000
    assert market.snapshot(ENERGY_CONFIG) == before


def test_oracle_initialize_refusals_change_nothing():
    market = Market.__new__(Market)
    Programs.__init__(market, "governance", "oracle")
    market.admin = market.funded()
    assert market.init_governance(market.admin).ok
    admin, impostor = market.admin.pubkey(), market.funded()
    keys = [Keypair().pubkey() for _ in range(5)]
    refusals = [
        (market.oracle_init_ix(keys[:2], 1, 1, impostor.pubkey()), impostor, 6000),
        (without_signer(market.oracle_init_ix(keys[:2], 1, 1, admin), admin), None, 3010),
        (market.oracle_init_ix([], 1, 1, admin), market.admin, 6002),
        (market.oracle_init_ix(keys, 1, 1, admin), market.admin, 6002),  # five
        (market.oracle_init_ix([keys[0], keys[0]], 1, 1, admin), market.admin, 6002),
        (market.oracle_init_ix([Pubkey.default()], 1, 1, admin), market.admin, 6002),
        (market.oracle_init_ix(keys[:1], 0, 1, admin), market.admin, 6003),
        (market.oracle_init_ix(keys[:1], 1, 0, admin), market.admin, 6003),
    ]
    for ix, signer, code in refusals:
        sent = market.send(ix, *([signer] if signer else []))
        assert sent.code == code, (code, sent.logs)
    assert market.svm.get_account(ORACLE_CONFIG) is None
    assert market.send(market.oracle_init_ix(keys[:4], 1, 1, admin), market.admin).ok
    before = market.snapshot(ORACLE_CONFIG)
    assert market.send(market.oracle_init_ix(keys[:1], 2, 2, admin), market.admin).code == 3000
    assert market.snapshot(ORACLE_CONFIG) == before


# --- meters ----------------------------------------------------------------------------------------


def test_register_meter(market: Market):
    owner = market.funded(1).pubkey()
    address = meter_address(77)
    sent = market.send(market.register_meter_ix(77, owner, market.operators[1]), market.operators[1])
    assert sent.ok, sent.logs
    meter = market.decode("oracle", address)
    assert sent.units <= BUDGET["oracle.register_meter"] + UNITS_PER_BUMP_TRIED * (256 - meter.bump)
    assert (meter.meter_id, meter.prosumer, meter.last_timestamp) == (77, owner, T0)
    assert (meter.reading_count, meter.total_energy) == (0, 0)
    assert meter.bump == Pubkey.find_program_address([b"meter", (77).to_bytes(8, "little")], ORACLE_ID)[1]
    account = market.svm.get_account(address)
    assert len(account.data) == market.program["oracle"].account["Meter"].size
    assert account.lamports == market.svm.minimum_balance_for_rent_exemption(len(account.data))

    before = market.snapshot(address, meter_address(78))
    other = market.funded(1).pubkey()
    impostor = market.funded()
    assert market.send(market.register_meter_ix(77, other), market.operators[0]).code == 3000  # once only
    assert market.send(market.register_meter_ix(78, other, impostor), impostor).code == 6001  # NotOperator
    ix = market.register_meter_ix(78, other)
    assert market.send(without_signer(ix, market.operators[0].pubkey())).code == 3010
    assert market.send(with_account(ix, 1, meter_address(79)), market.operators[0]).code == 2006
    assert market.snapshot(address, meter_address(78)) == before
    assert market.svm.get_account(meter_address(79)) is None


# --- readings --------------------------------------------------------------------------------------


def test_an_accepted_reading_mints_its_energy_to_the_prosumer(market: Market, alice: Prosumer):
    market.set_time(T0 + 2 * HOUR)
    energy = 8 * KWH + 345  # within an hour at 10 kW
    sent = market.submit(alice, T0 + HOUR, energy)
    assert sent.ok, sent.logs
    assert sent.units <= BUDGET["oracle.submit_reading"]
    assert "Program log: Instruction: SubmitReading" in sent.logs
    assert "Program log: Instruction: MintForReading" in sent.logs
    assert market.balance(alice.token) == market.supply() == energy
    assert market.energy_config().total_minted == energy
    oracle = market.oracle_config()
    assert (oracle.reading_count, oracle.total_energy) == (1, energy)
    meter = market.meter(alice)
    assert (meter.last_timestamp, meter.reading_count, meter.total_energy) == (T0 + HOUR, 1, energy)

    # The other operator, the next hour: readings add up.
    sent = market.submit(alice, T0 + 2 * HOUR, KWH, market.operators[1])
    assert sent.ok, sent.logs
    assert market.balance(alice.token) == market.supply() == energy + KWH
    assert market.meter(alice).last_timestamp == T0 + 2 * HOUR


def test_replayed_out_of_order_future_and_implausible_readings_are_refused(market: Market, alice: Prosumer):
    market.set_time(T0 + 3 * HOUR)
    assert market.submit(alice, T0 + HOUR, 5 * KWH).ok
    watched = market.watched(alice)
    before = market.snapshot(*watched)
    cases = [
        (T0 + HOUR, 5 * KWH, 6004),  # the same reading again: a replay
        (T0 + HOUR, 1, 6004),  # the same timestamp, any energy
        (T0 + HOUR - 1, 1, 6005),  # older than the last
        (T0, 1, 6005),
        (T0 + 3 * HOUR + 1, 1, 6006),  # after the chain's clock
        (T0 + 2 * HOUR, 0, 6007),
        (T0 + 3 * HOUR, PER_READING + 1, 6008),  # 2 hours would allow 20 kWh, and 100 kWh is the cap anyway
        (T0 + HOUR + 60, 60 * PER_SECOND + 1, 6009),  # a minute at just above 10 kW
        (T0 + 2 * HOUR, HOUR * PER_SECOND + 1, 6009),
    ]
    for timestamp, energy, code in cases:
        sent = market.submit(alice, timestamp, energy)
        assert sent.code == code and sent.failed == ORACLE_ID, (timestamp, energy, code, sent.logs)
        assert market.snapshot(*watched) == before
    # At the bounds exactly: accepted.
    assert market.submit(alice, T0 + HOUR + 60, 60 * PER_SECOND).ok
    assert market.submit(alice, T0 + 3 * HOUR, PER_READING // 10).ok  # an hour and 59 minutes: < 20 kWh
    assert market.meter(alice).reading_count == 3


def test_a_reading_repeated_within_one_transaction_is_refused_whole(market: Market, alice: Prosumer):
    market.set_time(T0 + 2 * HOUR)
    watched = market.watched(alice)
    before = market.snapshot(*watched)
    ix = market.reading_ix(alice, T0 + HOUR, KWH)
    sent = market.send([ix, ix], market.operators[0])
    assert (sent.code, sent.failed) == (6004, ORACLE_ID)
    assert market.snapshot(*watched) == before  # the first one's mint is rolled back with it
    later = market.reading_ix(alice, T0 + HOUR + 60, 60 * PER_SECOND)
    assert market.send([ix, later], market.operators[0]).ok  # two readings in order: both count
    assert market.balance(alice.token) == KWH + 60 * PER_SECOND


def test_the_first_reading_is_bounded_by_the_rate_since_registration(market: Market, alice: Prosumer):
    market.set_time(T0 + 10)
    before = market.snapshot(*market.watched(alice))
    assert market.submit(alice, T0 + 10, 10 * PER_SECOND + 1).code == 6009
    assert market.snapshot(*market.watched(alice)) == before
    assert market.submit(alice, T0 + 10, 10 * PER_SECOND).ok


def test_a_reading_by_anyone_but_an_operator_is_refused(market: Market, alice: Prosumer):
    market.set_time(T0 + HOUR)
    watched = market.watched(alice)
    before = market.snapshot(*watched)
    for stranger in (market.funded(), market.admin):  # a governance authority is not an operator
        assert market.submit(alice, T0 + HOUR, KWH, stranger).code == 6001
    ix = market.reading_ix(alice, T0 + HOUR, KWH)
    assert market.send(without_signer(ix, market.operators[0].pubkey())).code == 3010
    assert market.snapshot(*watched) == before


def test_a_reading_with_a_wrong_account_is_refused_and_mints_nothing(market: Market, alice: Prosumer):
    bob = market.prosumer()
    market.set_time(T0 + HOUR)
    fake_grid = market.create_mint(MINT_AUTHORITY)  # anyone can make a mint with that authority
    alice_fake = market.token_account(alice.owner, fake_grid)
    stranger_token = market.token_account(market.funded(1).pubkey())
    watched = (*market.watched(alice, bob), fake_grid, alice_fake)
    before = market.snapshot(*watched)
    op = market.operators[0]
    cases = [
        # (account replaced, by what, expected code, program that refuses)
        ("meter", meter_address(bob.meter_id), 2006, ORACLE_ID),  # bob's meter for alice's id
        ("destination", bob.token, 6010, ORACLE_ID),  # alice's reading to bob's account
        ("destination", stranger_token, 6010, ORACLE_ID),
        ("oracle_signer", market.funded().pubkey(), 2006, ORACLE_ID),
        ("energy_token_program", REGISTRY_ID, 3008, ORACLE_ID),
        ("token_program", SYSTEM_PROGRAM_ID, 3008, ENERGY_ID),
        ("config", pda([b"oracle2"], ORACLE_ID), 2006, ORACLE_ID),
        ("energy_config", pda([b"energy_config2"], ENERGY_ID), 2006, ENERGY_ID),
        ("governance_config", market.funded().pubkey(), 2006, ENERGY_ID),
        ("mint", fake_grid, 6004, ENERGY_ID),
        ("destination", alice_fake, 6004, ENERGY_ID),  # alice's, but not GRID
        ("mint_authority", pda([b"mint_authority"], ORACLE_ID), 2006, ENERGY_ID),
        ("participant", participant_address(bob.owner), 6005, ENERGY_ID),
        ("participant", REGISTRY, 3002, ENERGY_ID),  # the registry's, but not a Participant
    ]
    for name, address, code, program in cases:
        sent = market.send(market.reading_ix(alice, T0 + HOUR, KWH, **{name: address}), op)
        assert (sent.code, sent.failed) == (code, program), (name, sent.code, sent.logs)
        assert market.snapshot(*watched) == before, name
    # Both fakes together: the oracle passes them on, energy_token refuses the mint.
    sent = market.send(market.reading_ix(alice, T0 + HOUR, KWH, mint=fake_grid, destination=alice_fake), op)
    assert (sent.code, sent.failed) == (6004, ENERGY_ID)
    assert market.supply(fake_grid) == 0
    assert market.snapshot(*watched) == before
    assert market.submit(alice, T0 + HOUR, KWH).ok  # and with the right accounts, accepted


def test_a_suspended_participant_or_a_consumer_is_not_minted_for(market: Market, alice: Prosumer):
    carol = market.prosumer(kind="Consumer")
    market.set_time(T0 + HOUR)
    market.set_participant_status(alice.owner, 1)  # Suspended
    watched = market.watched(alice, carol)
    before = market.snapshot(*watched)
    sent = market.submit(alice, T0 + HOUR, KWH)
    assert (sent.code, sent.failed) == (6006, ENERGY_ID)
    sent = market.submit(carol, T0 + HOUR, KWH)
    assert (sent.code, sent.failed) == (6007, ENERGY_ID)
    assert market.snapshot(*watched) == before
    market.set_participant_status(alice.owner, 0)  # reactivated: the same reading now goes through
    assert market.submit(alice, T0 + HOUR, KWH).ok
    assert market.balance(alice.token) == KWH


def test_a_participant_suspended_through_the_registry_is_not_minted_for(market: Market, alice: Prosumer):
    market.set_time(T0 + HOUR)
    assert market.send(market.registry_status_ix("suspend_participant", alice.owner), market.admin).ok
    watched = market.watched(alice)
    before = market.snapshot(*watched)
    sent = market.submit(alice, T0 + HOUR, KWH)
    assert (sent.code, sent.failed) == (6006, ENERGY_ID)  # ParticipantSuspended
    assert market.snapshot(*watched) == before
    # Suspended, it is given no new meter either.
    new_meter = market.next_meter
    sent = market.send(market.registry_meter_ix(new_meter, alice.owner), market.admin)
    assert (sent.code, sent.failed) == (6009, REGISTRY_ID)
    assert market.svm.get_account(registry_meter_address(new_meter)) is None
    assert market.send(market.registry_status_ix("reactivate_participant", alice.owner), market.admin).ok
    assert market.submit(alice, T0 + HOUR, KWH).ok
    assert market.balance(alice.token) == KWH


def test_a_reading_of_a_meter_the_registry_did_not_admit_as_the_prosumer_s_is_refused(market: Market, alice: Prosumer):
    bob = market.prosumer()
    # carol's meter is known to the oracle but was never admitted by the registry.
    carol_wallet = market.funded(1)
    market.register(carol_wallet.pubkey())
    carol = Prosumer(carol_wallet, market.token_account(carol_wallet.pubkey()), market.next_meter)
    market.next_meter += 1
    assert market.send(market.register_meter_ix(carol.meter_id, carol.owner), market.operators[0]).ok
    # dave's meter id was admitted by the registry for bob, and by the oracle for dave.
    dave_wallet = market.funded(1)
    market.register(dave_wallet.pubkey())
    dave = Prosumer(dave_wallet, market.token_account(dave_wallet.pubkey()), market.next_meter)
    market.next_meter += 1
    assert market.send(market.registry_meter_ix(dave.meter_id, bob.owner), market.admin).ok
    assert market.send(market.register_meter_ix(dave.meter_id, dave.owner), market.operators[0]).ok
    # Forgeries: alice's registry meter copied to another address (still the registry's), and the
    # same bytes at the right address of a fresh id but owned by the oracle.
    genuine = bytes(market.svm.get_account(registry_meter_address(alice.meter_id)).data)
    copied = Keypair().pubkey()
    market.put(copied, genuine, REGISTRY_ID)
    erin_wallet = market.funded(1)
    market.register(erin_wallet.pubkey())
    erin = Prosumer(erin_wallet, market.token_account(erin_wallet.pubkey()), market.next_meter)
    market.next_meter += 1
    assert market.send(market.register_meter_ix(erin.meter_id, erin.owner), market.operators[0]).ok
    forged = bytearray(genuine)
    forged[8:16] = erin.meter_id.to_bytes(8, "little")
    forged[16:48] = bytes(erin.owner)
    forged[56] = Pubkey.find_program_address([b"meter", erin.meter_id.to_bytes(8, "little")], REGISTRY_ID)[1]
    market.put(registry_meter_address(erin.meter_id), bytes(forged), ORACLE_ID)
    market.set_time(T0 + HOUR)

    watched = (*market.watched(alice, bob, carol, dave, erin), copied)
    before = market.snapshot(*watched)
    op = market.operators[0]
    cases = [
        # (prosumer, registry_meter given, expected oracle error)
        (carol, registry_meter_address(carol.meter_id), 6012),  # no such account: never registered
        (alice, registry_meter_address(bob.meter_id), 6012),  # another meter's
        (alice, copied, 6012),  # the registry's, but not at its address
        (alice, meter_address(alice.meter_id), 6012),  # the oracle's own Meter (same discriminator)
        (alice, participant_address(alice.owner), 6012),  # the registry's, but a Participant
        (alice, REGISTRY, 6012),
        (erin, registry_meter_address(erin.meter_id), 6012),  # right bytes, right address, wrong owner
        (dave, registry_meter_address(dave.meter_id), 6013),  # admitted, but as bob's
    ]
    for p, registry_meter, code in cases:
        sent = market.send(market.reading_ix(p, T0 + HOUR, KWH, registry_meter=registry_meter), op)
        assert (sent.code, sent.failed) == (code, ORACLE_ID), (p.meter_id, str(registry_meter), sent.logs[-3:])
        assert market.snapshot(*watched) == before
    assert market.idl["oracle"].errors[12].name == "UnregisteredMeter"
    assert market.idl["oracle"].errors[13].name == "MeterOwnerMismatch"
    # Admitted by the registry, carol's readings count; the genuine ones count too.
    assert market.send(market.registry_meter_ix(carol.meter_id, carol.owner), market.admin).ok
    for p in (carol, alice, bob):
        assert market.submit(p, T0 + HOUR, KWH).ok
        assert market.balance(p.token) == KWH


def test_a_paused_market_mints_nothing_until_unpaused(market: Market, alice: Prosumer):
    market.set_time(T0 + HOUR)
    pause = market.ix("governance", "pause", config=GOVERNANCE_CONFIG, authority=market.admin.pubkey())
    assert market.send(pause, market.admin).ok
    watched = market.watched(alice)
    before = market.snapshot(*watched)
    sent = market.submit(alice, T0 + HOUR, KWH)
    assert (sent.code, sent.failed) == (6002, ENERGY_ID)  # MarketPaused
    assert market.idl["energy_token"].errors[2].name == "MarketPaused"
    assert market.snapshot(*watched) == before  # the meter did not advance: the reading can come again
    unpause = market.ix("governance", "unpause", config=GOVERNANCE_CONFIG, authority=market.admin.pubkey())
    assert market.send(unpause, market.admin).ok
    assert market.submit(alice, T0 + HOUR, KWH).ok
    assert market.balance(alice.token) == KWH


def test_mint_for_reading_called_directly_is_refused(market: Market, alice: Prosumer):
    """Only the oracle can sign for its program address: a direct call cannot produce that
    signature, and no other signer stands in for it."""
    watched = market.watched(alice)
    before = market.snapshot(*watched)
    accounts = market.mint_accounts(alice)
    direct = market.ix("energy_token", "mint_for_reading", KWH, **accounts)
    assert market.send(without_signer(direct, ORACLE_SIGNER)).code == 3010  # its address, unsigned
    for impostor in (market.funded(), market.operators[0], market.admin, alice.wallet):
        ix = market.ix("energy_token", "mint_for_reading", KWH, **(accounts | {"oracle_signer": impostor.pubkey()}))
        sent = market.send(ix, impostor)
        assert (sent.code, sent.failed) == (6001, ENERGY_ID)  # NotOracle
    # Nor can anyone mint GRID through the token program: its authority is energy_token's PDA.
    sent = market.send(mint_to_ix(market.mint, alice.token, market.admin.pubkey(), KWH), market.admin)
    assert sent.code is not None and sent.failed == TOKEN_PROGRAM_ID
    assert market.snapshot(*watched) == before


# --- burning ---------------------------------------------------------------------------------------


def test_burn_for_consumption(market: Market, alice: Prosumer):
    market.set_time(T0 + 5 * HOUR)
    assert market.submit(alice, T0 + 5 * HOUR, 40 * KWH).ok
    sent = market.send(market.burn_ix(alice.token, alice.owner, 15 * KWH), alice.wallet)
    assert sent.ok, sent.logs
    assert sent.units <= BUDGET["energy.burn"]
    assert market.balance(alice.token) == market.supply() == 25 * KWH
    config = market.energy_config()
    assert (config.total_minted, config.total_burned) == (40 * KWH, 15 * KWH)

    # Not stopped by the pause (it stops new energy, not its use).
    pause = market.ix("governance", "pause", config=GOVERNANCE_CONFIG, authority=market.admin.pubkey())
    assert market.send(pause, market.admin).ok
    assert market.send(market.burn_ix(alice.token, alice.owner, 5 * KWH), alice.wallet).ok
    assert market.balance(alice.token) == market.supply() == 20 * KWH


def test_burn_refusals_change_nothing(market: Market, alice: Prosumer):
    market.set_time(T0 + 5 * HOUR)
    assert market.submit(alice, T0 + 5 * HOUR, 10 * KWH).ok
    thief = market.funded()
    fake_grid = market.create_mint(MINT_AUTHORITY)
    alice_fake = market.token_account(alice.owner, fake_grid)
    watched = (*market.watched(alice), fake_grid, alice_fake)
    before = market.snapshot(*watched)
    cases = [
        (market.burn_ix(alice.token, thief.pubkey(), KWH), thief, None, TOKEN_PROGRAM_ID),  # not the owner
        (without_signer(market.burn_ix(alice.token, alice.owner, KWH), alice.owner), None, 3010, ENERGY_ID),
        (market.burn_ix(alice.token, alice.owner, 0), alice.wallet, 6008, ENERGY_ID),
        (market.burn_ix(alice.token, alice.owner, 10 * KWH + 1), alice.wallet, None, TOKEN_PROGRAM_ID),
        (market.burn_ix(alice_fake, alice.owner, 1, mint=fake_grid), alice.wallet, 6004, ENERGY_ID),
        (market.burn_ix(alice_fake, alice.owner, 1), alice.wallet, 6004, ENERGY_ID),
    ]
    for ix, signer, code, program in cases:
        sent = market.send(ix, *([signer] if signer else []))
        assert sent.code is not None and sent.failed == program, sent.logs
        if code is not None:
            assert sent.code == code, sent.logs
    assert market.snapshot(*watched) == before


# --- operators and limits ---------------------------------------------------------------------------


def test_governance_rotates_operators_and_sets_limits(market: Market, alice: Prosumer):
    admin = market.admin
    new = market.funded()
    old = market.operators[0]
    sent = market.send(market.oracle_admin_ix("set_operators", admin.pubkey(), [new.pubkey()]), admin)
    assert sent.ok, sent.logs
    assert sent.units <= BUDGET["oracle.set_operators"]
    assert market.oracle_config().operators == [new.pubkey()] + [Pubkey.default()] * 3
    market.set_time(T0 + 2 * HOUR)
    assert market.submit(alice, T0 + HOUR, KWH, old).code == 6001
    assert market.submit(alice, T0 + HOUR, KWH, new).ok

    sent = market.send(market.oracle_admin_ix("set_limits", admin.pubkey(), 2 * KWH, 1), admin)
    assert sent.ok, sent.logs
    assert sent.units <= BUDGET["oracle.set_limits"]
    assert market.submit(alice, T0 + 2 * HOUR, 3_601, new).code == 6009  # now 1 base unit a second
    assert market.submit(alice, T0 + 2 * HOUR, 3_600, new).ok

    before = market.snapshot(ORACLE_CONFIG)
    impostor = market.funded()
    refusals = [
        (market.oracle_admin_ix("set_operators", impostor.pubkey(), [impostor.pubkey()]), impostor, 6000),
        (market.oracle_admin_ix("set_operators", new.pubkey(), [new.pubkey()]), new, 6000),  # operators do not admin
        (market.oracle_admin_ix("set_limits", impostor.pubkey(), 1, 1), impostor, 6000),
        (without_signer(market.oracle_admin_ix("set_limits", admin.pubkey(), 1, 1), admin.pubkey()), None, 3010),
        (market.oracle_admin_ix("set_operators", admin.pubkey(), []), admin, 6002),
        (market.oracle_admin_ix("set_limits", admin.pubkey(), 0, 5), admin, 6003),
    ]
    for ix, signer, code in refusals:
        sent = market.send(ix, *([signer] if signer else []))
        assert sent.code == code, (code, sent.logs)
    # An authority governance removed no longer administers the oracle.
    second = market.funded()
    add = market.ix("governance", "add_authority", second.pubkey(), config=GOVERNANCE_CONFIG, authority=admin.pubkey())
    assert market.send(add, admin).ok
    remove = market.ix(
        "governance", "remove_authority", admin.pubkey(), config=GOVERNANCE_CONFIG, authority=second.pubkey()
    )
    assert market.send(remove, second).ok
    assert market.send(market.oracle_admin_ix("set_limits", admin.pubkey(), 9, 9), admin).code == 6000
    assert market.snapshot(ORACLE_CONFIG) == before
    assert market.send(market.oracle_admin_ix("set_limits", second.pubkey(), 9, 9), second).ok


# --- conservation ----------------------------------------------------------------------------------


def test_supply_is_the_balances_and_the_accepted_readings_less_the_burns(market: Market):
    rng = random.Random(2026)
    prosumers = [market.prosumer() for _ in range(4)]
    last = {p.meter_id: T0 for p in prosumers}
    accepted: dict[int, int] = {p.meter_id: 0 for p in prosumers}
    burned = 0
    now = T0
    refused = 0
    for _ in range(60):
        now += rng.randrange(1, 900)
        market.set_time(now)
        p = rng.choice(prosumers)
        roll = rng.random()
        if roll < 0.15 and market.balance(p.token):
            amount = rng.randrange(1, market.balance(p.token) + 1)
            assert market.send(market.burn_ix(p.token, p.owner, amount), p.wallet).ok
            burned += amount
            continue
        timestamp = rng.choice([last[p.meter_id], rng.randrange(last[p.meter_id] - 5, now + 5)])
        energy = rng.choice([0, 1, rng.randrange(1, PER_READING), PER_READING + 1])
        plausible = (
            last[p.meter_id] < timestamp <= now
            and 0 < energy <= PER_READING
            and energy <= (timestamp - last[p.meter_id]) * PER_SECOND
        )
        sent = market.submit(p, timestamp, energy, rng.choice(market.operators))
        assert sent.ok == plausible, (timestamp, energy, sent.code)
        if plausible:
            last[p.meter_id] = timestamp
            accepted[p.meter_id] += energy
        else:
            refused += 1
    assert refused > 10 and sum(accepted.values()) > 0 and burned > 0

    balances = sum(market.balance(p.token) for p in prosumers)
    config = market.energy_config()
    oracle = market.oracle_config()
    assert market.supply() == balances == config.total_minted - config.total_burned
    assert config.total_minted == oracle.total_energy == sum(accepted.values())
    assert config.total_burned == burned
    for p in prosumers:
        meter = market.meter(p)
        assert (meter.total_energy, meter.last_timestamp) == (accepted[p.meter_id], last[p.meter_id])


# --- the IDLs agree with the programs ------------------------------------------------------------


def test_the_idls_are_the_programs(market: Market, alice: Prosumer):
    key = Keypair().pubkey()
    energy = {
        "initialize": market.energy_init_ix(market.mint, key),
        "mintForReading": market.ix("energy_token", "mint_for_reading", 1, **market.mint_accounts(alice)),
        "burn": market.burn_ix(alice.token, key, 1),
    }
    check_idl(market, "energy_token", energy, {"EnergyConfig"})
    oracle = {
        "initialize": market.oracle_init_ix([key], 1, 1, key),
        "setOperators": market.oracle_admin_ix("set_operators", key, [key]),
        "setLimits": market.oracle_admin_ix("set_limits", key, 1, 1),
        "registerMeter": market.register_meter_ix(5, key),
        "submitReading": market.reading_ix(alice, 1, 1),
    }
    check_idl(market, "oracle", oracle, {"OracleConfig", "Meter"})
    assert [m.pubkey for m in oracle["submitReading"].accounts][:3] == [
        ORACLE_CONFIG,
        meter_address(alice.meter_id),
        registry_meter_address(alice.meter_id),
    ]
    assert [m.pubkey for m in oracle["submitReading"].accounts][4:] == [
        ENERGY_CONFIG,
        GOVERNANCE_CONFIG,
        market.mint,
        alice.token,
        participant_address(alice.owner),
        MINT_AUTHORITY,
        ORACLE_SIGNER,
        ENERGY_ID,
        TOKEN_PROGRAM_ID,
    ]


# --- compute units ---------------------------------------------------------------------------------


def test_compute_units_of_the_oracle_and_energy_token(market: Market, alice: Prosumer):
    """Each within its budget (programs/README.md). `make bench-programs` shows the figures (`-s`)."""
    figures = {name: market.units[name] for name in ("energy.initialize", "oracle.initialize")}
    admin = market.admin
    ops = [k.pubkey() for k in market.operators]
    figures["oracle.set_operators"] = market.send(
        market.oracle_admin_ix("set_operators", admin.pubkey(), ops), admin
    ).units
    limits = market.oracle_admin_ix("set_limits", admin.pubkey(), PER_READING, PER_SECOND)
    figures["oracle.set_limits"] = market.send(limits, admin).units
    owner = market.funded(1).pubkey()
    sent = market.send(market.register_meter_ix(99, owner), market.operators[0])
    searched = UNITS_PER_BUMP_TRIED * (256 - market.decode("oracle", meter_address(99)).bump)
    figures["oracle.register_meter"] = sent.units - searched  # besides the search, as BUDGET counts it
    market.set_time(T0 + HOUR)
    figures["oracle.submit_reading"] = market.submit(alice, T0 + HOUR, 5 * KWH).units
    figures["energy.burn"] = market.send(market.burn_ix(alice.token, alice.owner, KWH), alice.wallet).units
    for name, units in figures.items():
        assert 0 < units <= BUDGET[name], (name, units)
    print("\noracle and energy_token compute units:", ", ".join(f"{k} {v:,}" for k, v in figures.items()))
