"""The simulated market day on LiteSVM: a short day around noon, minted, traded, cleared and
settled; every balance conserved, every epoch settled, the JSON complete."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from gridmatch.chain import LiteSVMChain
from gridmatch.chain.venue import Venue
from gridmatch.epochs import EpochManager, EpochState
from gridmatch.market import Market
from gridmatch.participants import Participant, Role
from gridmatch.settlement import ClearedEpoch
from gridmatch.sim.day import run_day
from gridmatch.sim.market_day import (
    ChainEpoch,
    MarketDayReport,
    _TimedSettler,
    check_conservation,
    run_market_day,
)

DAY = "2016-06-21"
NOON = 44  # 11:00 UTC: the sun is up, prosumers sell
SHORT = {"prosumers": 6, "consumers": 8, "seed": 3, "epochs": 8, "first": NOON}


@pytest.fixture(scope="module")
def day() -> MarketDayReport:
    return run_market_day(DAY, **SHORT)


def without_times(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not k.endswith("_ms")}


def test_every_epoch_is_minted_traded_cleared_and_settled(day: MarketDayReport) -> None:
    assert [e.index for e in day.epochs] == list(range(NOON, NOON + 8))
    assert day.settled and all(e.state == "settled" for e in day.epochs)
    for e in day.epochs:
        assert e.minted_wh > 0, "prosumers are minted their surplus around noon"
        assert e.ask_wh <= e.minted_wh  # a prosumer sells what it was minted
        assert e.accepted == e.orders and e.refused == 0  # 20 EUR each is plenty for a day
        assert e.fills > 0 and e.volume_wh > 0 and e.price_ticks is not None
        assert e.batches >= 1 and e.attempts == e.batches  # nothing failed, nothing resent
        # Per filled order its GRID and its payment against the vaults, then the fees out of them.
        assert e.transfers % 2 == 1 and e.transfers <= 2 * min(e.accepted, 2 * e.fills) + 1
        assert e.paid > 0 and e.fees == e.paid // 100  # 1% of whole ticks: no order's fee rounds


def test_balances_are_conserved(day: MarketDayReport) -> None:
    c = day.conservation
    assert c.ok and c.mismatches == []
    participants = SHORT["prosumers"] + SHORT["consumers"] + 1  # and the treasury
    # per (participant, mint): balance and fills; per mint: supply, sum and the vault; 7 totals
    assert c.checked == 2 * 2 * participants + 2 * 3 + 7


def test_the_chain_day_clears_exactly_as_the_clearing_only_day(day: MarketDayReport) -> None:
    cleared = run_day(DAY, prosumers=6, consumers=8, seed=3, epochs=NOON + 8).epochs[NOON:]
    for on_chain, only in zip(day.epochs, cleared, strict=True):
        assert on_chain.epoch_id == only.epoch_id
        assert (on_chain.price_ticks, on_chain.volume_wh, on_chain.fills) == (
            only.price_ticks,
            only.volume_wh,
            only.fills,
        )
        assert (on_chain.bid_wh, on_chain.ask_wh, on_chain.orders) == (only.bid_wh, only.ask_wh, only.orders)


def test_json_shape(day: MarketDayReport) -> None:
    out = json.loads(json.dumps(day.to_dict()))
    assert set(out) == {"date", "config", "units", "epochs", "totals", "conservation"}
    assert out["date"] == DAY and out["config"]["chain"] == "litesvm" and out["config"]["netting"] is False
    assert out["config"]["settle"] == "program"
    assert out["conservation"] == {"ok": True, "checked": day.conservation.checked, "mismatches": []}
    epochs, totals = out["epochs"], out["totals"]
    assert len(epochs) == totals["epochs"] == totals["settled_epochs"] == 8
    for key in ("volume_wh", "fills", "paid", "fees", "transfers", "minted_wh", "orders", "accepted", "refused"):
        assert totals[key] == sum(e[key] for e in epochs), key
    assert totals["transactions"] == sum(e["batches"] for e in epochs)
    assert totals["transfers_per_transaction"] == pytest.approx(totals["transfers"] / totals["transactions"])
    assert totals["notional"] == sum(e["volume_wh"] * e["price_ticks"] for e in epochs)
    assert totals["paid"] == 100 * totals["notional"]  # 1 tick = 100 base units per lot
    assert totals["fees_eur"] == pytest.approx(totals["fees"] / 1e9)
    assert totals["min_price_ticks"] <= totals["vwap_ticks"] <= totals["max_price_ticks"]
    for e in epochs:
        assert e["state"] == "settled" and e["volume_kwh"] == e["volume_wh"] / 1000
        assert e["clear_ms"] >= 0 and e["settle_ms"] > 0


def test_the_day_is_deterministic(day: MarketDayReport) -> None:
    again = run_market_day(DAY, **SHORT).to_dict()
    first = day.to_dict()
    assert [without_times(e) for e in again["epochs"]] == [without_times(e) for e in first["epochs"]]
    assert without_times(again["totals"]) == without_times(first["totals"])


@pytest.fixture(scope="module")
def delegated() -> MarketDayReport:
    return run_market_day(DAY, **SHORT, settle="delegate")


def test_delegate_settlement_moves_what_the_trading_program_moves(
    day: MarketDayReport, delegated: MarketDayReport
) -> None:
    """Each day's check ties its balances on chain to its fills (per order through the program,
    per fill by delegate: the same money, as no fee of whole ticks at 1% rounds)."""
    assert delegated.conservation.ok and delegated.settled and delegated.config["settle"] == "delegate"
    for a, b in zip(day.epochs, delegated.epochs, strict=True):
        assert (a.price_ticks, a.volume_wh, a.fills, a.paid, a.fees) == (
            b.price_ticks,
            b.volume_wh,
            b.fills,
            b.paid,
            b.fees,
        )
        # Program mode posts the result, credits and claims the orders, withdraws the fees.
        assert a.batches >= 4


def test_netting_moves_the_same_value_in_fewer_transfers(delegated: MarketDayReport) -> None:
    netted = run_market_day(DAY, **SHORT, settle="delegate", netting=True)
    assert netted.conservation.ok and netted.settled
    for a, b in zip(delegated.epochs, netted.epochs, strict=True):
        assert (a.price_ticks, a.volume_wh, a.fills, a.paid, a.fees) == (
            b.price_ticks,
            b.volume_wh,
            b.fills,
            b.paid,
            b.fees,
        )
        assert b.transfers < a.transfers


@pytest.mark.parametrize(
    ("options", "message"),
    [({"settle": "escrow"}, "settle = 'escrow'"), ({"netting": True}, "netting is for delegate settlement")],
)
def test_unknown_or_contradictory_settlement_is_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_market_day(DAY, prosumers=1, consumers=1, epochs=1, **options)


def test_orders_beyond_the_deposit_are_refused_counted_and_the_day_goes_on() -> None:
    poor = run_market_day(DAY, prosumers=3, consumers=4, seed=3, epochs=3, first=NOON, deposit_eur="0.001")
    assert poor.settled and poor.conservation.ok
    totals = poor.totals()
    assert totals["refused"] > 0 and totals["refusals"] == {"InsufficientFunds": totals["refused"]}
    assert totals["accepted"] + totals["refused"] == totals["orders"]
    assert totals["deposited"] == 7 * 10**6


def test_progress_is_reported_after_every_epoch() -> None:
    seen: list[tuple[int, int, int]] = []

    def progress(done: int, total: int, epoch: ChainEpoch) -> None:
        seen.append((done, total, epoch.index))

    run_market_day(DAY, prosumers=1, consumers=1, epochs=3, first=10, progress=progress)
    assert seen == [(1, 3, 10), (2, 3, 11), (3, 3, 12)]


@pytest.mark.parametrize(("first", "epochs"), [(-1, 1), (96, 1), (90, 7), (0, 0)])
def test_epochs_outside_the_day_are_refused(first: int, epochs: int) -> None:
    with pytest.raises(ValueError, match="within the day"):
        run_market_day(DAY, prosumers=1, consumers=1, epochs=epochs, first=first)


def test_the_timed_settler_plans_exactly_the_venue_settlers_batches_and_times_them() -> None:
    chain = LiteSVMChain(seed=5)
    venue = Venue.create(chain, Market(), range(1, 41), seed=5)
    fills = [(i, 1000 + i, 1 + (i * 7) % 40, 1 + (i * 13) % 40, 10 + i, 900 + i) for i in range(120)]
    fills = [f for f in fills if f[2] != f[3]]
    cleared = ClearedEpoch(201606211200, 900, sum(f[4] for f in fills), (), tuple(fills))
    for netting in (False, True):
        expected = venue.settler(netting=netting).plan(cleared)
        timed = _TimedSettler(venue.settler(netting=netting))
        assert timed.plan(cleared) == expected
        assert len(expected) > 1 and timed.ns > 0


def test_the_conservation_check_catches_what_the_books_do_not_explain() -> None:
    market = Market()
    chain = LiteSVMChain(seed=4)
    venue = Venue.create(chain, market, (1, 2), seed=4, lookup_tables=False)
    manager = EpochManager(market, settler=venue.settler(), funds=venue.funds())
    manager.register(Participant(1, Role.PROSUMER))
    manager.register(Participant(2, Role.CONSUMER))
    initial, supply = venue.balances(), {"grid": 0, "payment": 0}
    issued = {("grid", 1): market.grid_units(500), ("payment", 2): 10**10}
    venue.mint_grid(1, issued["grid", 1])
    venue.deposit(2, issued["payment", 2])
    t0 = dt.datetime(2016, 6, 21, 12, tzinfo=dt.UTC).timestamp()
    manager.step(t0)
    manager.submit(1, -1, 400, 900, at=t0 + 1)
    manager.submit(2, 1, 300, 1000, at=t0 + 2)
    manager.step(t0 + 900)
    assert manager.state(201606211200) == EpochState.SETTLED

    def check() -> list[dict[str, Any]]:
        kwargs = {"initial": initial, "initial_supply": supply, "issued": issued}
        return check_conservation(market, manager, venue, chain, **kwargs).mismatches

    assert check() == []
    venue.mint_grid(2, 7)  # GRID that no meter reading and no fill accounts for
    found = check()
    assert {(m["check"], m.get("participant")) for m in found} == {
        ("balance", 2),
        ("supply", None),
        ("GRID out = in (chain)", None),
    }
    assert all(m["difference"] == 7 for m in found if m["check"] != "GRID out = in (chain)")


def test_the_day_plots(day: MarketDayReport, tmp_path: Any) -> None:
    from gridmatch.sim.plot import plot_day  # matplotlib: pinned in requirements-dev.txt

    path = plot_day(day, tmp_path / "sub" / "day.png", subtitle="a test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000
