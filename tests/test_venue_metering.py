"""A program-mode venue mints GRID only through the oracle and energy_token: the GRID mint's
authority is energy_token's address (the chain's authority cannot mint it), `Venue.mint_grid`
submits the prosumer's meter reading, which mints exactly its energy, and every reading the
programs refuse (replayed, older, implausible, a consumer's, a suspended prosumer's) raises
`ReadingRefused` and changes no balance. The simulated day conserves every balance with GRID so
minted; delegate mode mints as before."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from anchorpy import Context
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from gridmatch.chain import LiteSVMChain, programs
from gridmatch.chain.base import ChainRequestInvalid
from gridmatch.chain.metering import (
    KWH,
    MAX_ENERGY_PER_READING,
    MAX_ENERGY_PER_SECOND,
    Metering,
    ReadingRefused,
    meter_of,
    mint_authority,
)
from gridmatch.chain.trading import TradingMarket
from gridmatch.chain.venue import Venue
from gridmatch.errors import TransactionFailed
from gridmatch.market import Market
from gridmatch.participants import Role
from gridmatch.settlement import GRID, PAYMENT
from gridmatch.sim.campus import Campus
from gridmatch.sim.clock import epoch_start, parse_date
from gridmatch.sim.market_day import run_market_day

MARKET = Market()
ALICE, BOB, CAROL = 1, 2, 3  # two prosumers and a consumer
ROLES = {ALICE: Role.PROSUMER, BOB: Role.PROSUMER, CAROL: Role.CONSUMER}
T0 = int(dt.datetime(2016, 6, 21, 11, 0, tzinfo=dt.UTC).timestamp())
EPOCH = MARKET.epoch_seconds
DAY, FIRST = "2016-06-21", 44  # 11:00 UTC on the longest day: every prosumer has a surplus


@pytest.fixture
def venue() -> Venue:
    chain = LiteSVMChain(seed=5)
    chain.advance_clock(T0 - EPOCH)  # the meters are registered one epoch before the first reading
    return Venue.create(chain, MARKET, ROLES, seed=5, settle="program")


def metering(venue: Venue) -> Metering:
    assert venue.metering is not None
    return venue.metering


def mint_state(venue: Venue) -> tuple[Pubkey | None, int]:
    """The GRID mint's authority (None: none) and supply, from the SPL Mint layout."""
    (data,) = venue.chain.account_data([venue.accounts.mints[GRID]])
    assert data is not None
    authority = Pubkey.from_bytes(data[4:36]) if data[0] == 1 else None
    return authority, int.from_bytes(data[36:44], "little")


def account(venue: Venue, program: str, name: str, address: Pubkey) -> Any:
    (data,) = venue.chain.account_data([address])
    assert data is not None, (program, name, str(address))
    return programs.decode(program, name, data)


def everything(venue: Venue) -> tuple[Any, ...]:
    """What a refused reading must leave as it was: balances, GRID's supply, the oracle's and
    energy_token's books, both prosumers' meters."""
    m = metering(venue)
    meters = [m.meter(m.meter_id(pid)) for pid in (ALICE, BOB)]
    data = venue.chain.account_data([m.oracle_config, m.energy_config, *meters])
    return venue.balances(), mint_state(venue), data


def set_status(venue: Venue, participant: int, instruction: str) -> None:
    """The registry's suspend_participant / reactivate_participant, by its authority (the chain's)."""
    accounts = {
        "registry": metering(venue).registry,
        "participant": TradingMarket.participant(venue.wallet(participant)),
        "authority": venue.chain.authority.pubkey(),
    }
    venue.chain.send([programs.client("registry").instruction[instruction](ctx=Context(accounts=accounts))])


def test_the_grid_mint_is_energy_tokens_and_the_authority_cannot_mint_it(venue: Venue):
    assert mint_state(venue) == (mint_authority(), 0)
    assert mint_authority() == Pubkey.find_program_address([b"mint_authority"], programs.program_id("energy_token"))[0]
    config = account(venue, "energy_token", "EnergyConfig", metering(venue).energy_config)
    assert (config.mint, config.total_minted) == (venue.accounts.mints[GRID], 0)
    oracle = account(venue, "oracle", "OracleConfig", metering(venue).oracle_config)
    assert oracle.operators == [venue.chain.authority.pubkey()] + [Pubkey.default()] * 3
    assert (oracle.max_energy_per_reading, oracle.max_energy_per_second) == (
        MAX_ENERGY_PER_READING,
        MAX_ENERGY_PER_SECOND,
    )
    before = everything(venue)
    with pytest.raises(TransactionFailed):
        venue.chain.mint_to(venue.accounts.mints[GRID], venue.accounts.account(ALICE, GRID), KWH)
    assert everything(venue) == before
    # The payment token is the venue's own, as before: the faucet still mints it.
    venue.deposit(CAROL, 10**9)
    assert venue.balances()[PAYMENT, CAROL] == 10**9


def test_the_deployer_set_governance_and_the_registry_up_and_holds_nothing(venue: Venue):
    """The development deployer signed their first initialize (its seed is public): the chain's
    authority is their only authority; the deployer holds no lamports and cannot initialize again."""
    authority, deployer = venue.chain.authority.pubkey(), programs.deployer()
    others = [Pubkey.default()] * 3
    assert venue.trading is not None
    governance = account(venue, "governance", "GovernanceConfig", venue.trading.governance)
    assert (governance.authorities, governance.fee_bps) == ([authority, *others], MARKET.fee_bps)
    assert account(venue, "registry", "Registry", metering(venue).registry).authorities == [authority, *others]
    assert venue.chain.account_data([deployer.pubkey()]) == [None]
    accounts = {"authority": deployer.pubkey(), "deployer": deployer.pubkey(), "system_program": SYSTEM_PROGRAM_ID}
    again = programs.client("registry").instruction["initialize"](
        ctx=Context(accounts={"registry": metering(venue).registry, **accounts})
    )
    before = venue.chain.account_data([metering(venue).registry])
    with pytest.raises(TransactionFailed, match="custom program error: 0xbb8"):  # 3000: already initialised
        venue.chain.send([again], signers=[deployer])
    assert venue.chain.account_data([metering(venue).registry]) == before


def test_each_prosumer_has_its_meter_in_the_registry_and_the_oracle(venue: Venue):
    m = metering(venue)
    for pid in (ALICE, BOB):
        meter_id = meter_of(1, pid)
        assert m.meter_id(pid) == meter_id == 2**32 + pid
        registered = account(venue, "registry", "Meter", m.registry_meter(meter_id))
        oracle = account(venue, "oracle", "Meter", m.meter(meter_id))
        assert (registered.meter_id, registered.owner) == (meter_id, venue.wallet(pid))
        assert (oracle.meter_id, oracle.prosumer, oracle.last_timestamp) == (meter_id, venue.wallet(pid), T0 - EPOCH)
    assert venue.chain.account_data([m.meter(m.meter_id(CAROL)), m.registry_meter(m.meter_id(CAROL))]) == [None, None]
    with pytest.raises(ChainRequestInvalid) as exc:
        meter_of(1, 2**32)
    assert (exc.value.field, exc.value.value) == ("participant", 2**32)


def test_a_reading_mints_exactly_its_energy_to_the_prosumer(venue: Venue):
    chain = venue.chain
    assert isinstance(chain, LiteSVMChain)
    before = venue.balances()
    units = MARKET.grid_units(1_585)  # a 10 kWp roof's best quarter hour on the campus
    venue.mint_grid(ALICE, units, at=T0)
    after = venue.balances()
    assert after[GRID, ALICE] == before[GRID, ALICE] + units
    assert {k: v for k, v in after.items() if k != (GRID, ALICE)} == {
        k: v for k, v in before.items() if k != (GRID, ALICE)
    }
    assert mint_state(venue) == (mint_authority(), units)
    assert chain.unix_time() == T0  # the clock moved to the reading
    m = metering(venue)
    meter = account(venue, "oracle", "Meter", m.meter(m.meter_id(ALICE)))
    assert (meter.last_timestamp, meter.reading_count, meter.total_energy) == (T0, 1, units)
    assert account(venue, "energy_token", "EnergyConfig", m.energy_config).total_minted == units

    # The next epoch's reading, and one without a time: one epoch after the clock.
    venue.mint_grid(ALICE, 2 * units, at=T0 + EPOCH)
    venue.mint_grid(BOB, units)
    assert chain.unix_time() == T0 + 2 * EPOCH
    assert venue.balances()[GRID, ALICE] == 3 * units and venue.balances()[GRID, BOB] == units
    assert mint_state(venue)[1] == 4 * units


def test_a_replayed_or_older_reading_is_refused_and_changes_nothing(venue: Venue):
    venue.mint_grid(ALICE, KWH, at=T0)
    before = everything(venue)
    for at, name in ((T0, "ReplayedReading"), (T0 - 1, "NonMonotonicTimestamp"), (T0 - EPOCH, "NonMonotonicTimestamp")):
        with pytest.raises(ReadingRefused) as exc:
            venue.mint_grid(ALICE, KWH, at=at)
        assert (exc.value.program, exc.value.field, exc.value.value) == ("oracle", "reading", name), at
        assert isinstance(exc.value, TransactionFailed)
        assert everything(venue) == before
    venue.mint_grid(ALICE, KWH, at=T0 + 300)  # a later one counts
    assert venue.balances()[GRID, ALICE] == 2 * KWH


def test_the_limits_admit_a_campus_roof_and_refuse_the_implausible(venue: Venue):
    before = everything(venue)
    refusals = [
        (MAX_ENERGY_PER_READING + 1, T0, "EnergyAboveMaximum"),
        (0, T0, "ZeroEnergy"),
        (MAX_ENERGY_PER_READING, T0 - EPOCH // 2, "RateAboveMaximum"),  # the most, in half an epoch
    ]
    for units, at, name in refusals:
        with pytest.raises(ReadingRefused) as exc:
            venue.mint_grid(ALICE, units, at=at)
        assert exc.value.value == name, (units, at)
        assert everything(venue) == before
    venue.mint_grid(ALICE, MAX_ENERGY_PER_READING, at=T0)  # a full epoch admits the most
    with pytest.raises(ReadingRefused) as exc:
        venue.mint_grid(ALICE, MARKET.grid_units(2_500), at=T0 + 60)  # 2.5 kWh in a minute: 150 kW
    assert exc.value.value == "RateAboveMaximum"
    venue.mint_grid(ALICE, MARKET.grid_units(2_500), at=T0 + EPOCH)  # 10 kWp at full sun for an epoch
    assert venue.balances()[GRID, ALICE] == MAX_ENERGY_PER_READING + MARKET.grid_units(2_500)


def test_a_consumers_reading_is_refused(venue: Venue):
    before = everything(venue)
    with pytest.raises(ReadingRefused) as exc:  # the oracle knows no meter of carol's
        venue.mint_grid(CAROL, KWH, at=T0)
    assert (exc.value.program, exc.value.value) == ("oracle", "AccountOwnedByWrongProgram")
    assert everything(venue) == before
    # Even with a meter admitted by the registry and registered with the oracle, a consumer is
    # minted nothing: energy_token refuses, and the reading with it.
    m = metering(venue)
    venue.chain.send(m.register_meter_ixs(m.meter_id(CAROL), venue.wallet(CAROL), venue.chain.authority.pubkey()))
    before = everything(venue)
    with pytest.raises(ReadingRefused) as exc:
        venue.mint_grid(CAROL, KWH, at=T0 + EPOCH)
    assert (exc.value.program, exc.value.value) == ("energy_token", "NotAProsumer")
    assert everything(venue) == before


def test_a_suspended_prosumers_reading_is_refused_until_reactivated(venue: Venue):
    set_status(venue, BOB, "suspend_participant")
    before = everything(venue)
    with pytest.raises(ReadingRefused) as exc:
        venue.mint_grid(BOB, KWH, at=T0)
    assert (exc.value.program, exc.value.value) == ("energy_token", "ParticipantSuspended")
    assert everything(venue) == before  # the meter did not advance either
    venue.mint_grid(ALICE, KWH, at=T0)  # the others are minted on
    set_status(venue, BOB, "reactivate_participant")
    venue.mint_grid(BOB, KWH, at=T0)  # the same reading, now accepted
    assert venue.balances()[GRID, BOB] == KWH


def test_a_readings_time_is_whole_seconds(venue: Venue):
    before = everything(venue)
    for at in (float(T0), True):
        with pytest.raises(ChainRequestInvalid) as exc:
            venue.mint_grid(ALICE, KWH, at=at)  # type: ignore[arg-type]
        assert (exc.value.field, exc.value.value) == ("at", at)
    with pytest.raises(ChainRequestInvalid) as exc:
        venue.mint_grid(ALICE, -1, at=T0)
    assert everything(venue) == before


def test_program_mode_wants_energy_tokens_decimals():
    with pytest.raises(ChainRequestInvalid) as exc:
        Venue.create(LiteSVMChain(seed=1), Market(grid_decimals=6, lot=1), ROLES, settle="program")
    assert (exc.value.field, exc.value.value) == ("grid_decimals", 6)


def test_delegate_mode_mints_as_before():
    chain = LiteSVMChain(seed=5)
    venue = Venue.create(chain, MARKET, (ALICE, CAROL), seed=5, lookup_tables=False)
    assert venue.metering is None
    assert mint_state(venue) == (chain.authority.pubkey(), 0)
    venue.mint_grid(ALICE, KWH)
    venue.mint_grid(CAROL, KWH, at=T0)  # no meter, no clock: the authority mints
    assert mint_state(venue)[1] == 2 * KWH and chain.unix_time() == 0


def test_a_sunny_market_day_mints_through_the_oracle_and_conserves(monkeypatch: pytest.MonkeyPatch):
    created: list[Venue] = []
    create = Venue.create.__func__  # type: ignore[attr-defined]

    def keep(cls: type[Venue], *args: Any, **kwargs: Any) -> Venue:
        created.append(create(cls, *args, **kwargs))
        return created[-1]

    monkeypatch.setattr(Venue, "create", classmethod(keep))
    shape = {"prosumers": 4, "consumers": 4, "seed": 3}
    day = run_market_day(DAY, **shape, epochs=3, first=FIRST, settle="program")
    assert day.settled and day.conservation.ok and day.conservation.mismatches == []
    (venue,) = created
    m = metering(venue)
    minted = MARKET.grid_units(sum(e.minted_wh for e in day.epochs))
    assert minted > 0 and all(e.minted_wh > 0 for e in day.epochs)
    assert mint_state(venue) == (mint_authority(), minted)
    assert account(venue, "energy_token", "EnergyConfig", m.energy_config).total_minted == minted
    oracle = account(venue, "oracle", "OracleConfig", m.oracle_config)
    campus = Campus(**shape)
    surpluses = [campus.epoch(DAY, i).net_wh for i in range(FIRST, FIRST + 3)]
    assert oracle.total_energy == minted
    assert oracle.reading_count == sum(int((s > 0).sum()) for s in surpluses)
    # Each prosumer's meter holds its surpluses, read last at the start of the last epoch it had
    # one in (never read: its registration, one epoch before the first).
    starts = [int(epoch_start(parse_date(DAY), i).timestamp()) for i in range(FIRST, FIRST + 3)]
    for i, (trader, is_prosumer) in enumerate(
        zip(campus.participants.trader, campus.participants.is_prosumer, strict=True)
    ):
        if not is_prosumer:
            continue
        meter = account(venue, "oracle", "Meter", m.meter(m.meter_id(int(trader))))
        read = [(start, int(s[i])) for start, s in zip(starts, surpluses, strict=True) if s[i] > 0]
        assert meter.last_timestamp == max((t for t, _ in read), default=starts[0] - EPOCH)
        assert meter.total_energy == MARKET.grid_units(sum(wh for _, wh in read))
