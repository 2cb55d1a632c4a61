"""Market units and epochs, participants' roles."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import gridmatch as gm
from gridmatch.market import Market
from gridmatch.participants import NotPermitted, Participant, Role

UTC = dt.UTC


def test_default_units_match_the_simulation():
    m = Market()
    assert m.lots("1.5") == 1500 and m.kwh(1500) == Decimal("1.5")  # 1 lot = 1 Wh
    assert m.ticks("0.0925") == 925 and m.price_per_kwh(925) == Decimal("0.0925")  # 1 tick = 0.01 ct/kWh
    assert m.ticks(-0.05) == -500
    assert m.grid_units(1) == 10**6  # GRID has 9 decimals
    assert m.notional(1000, 925) == 92_500_000  # 1 kWh at 9.25 ct in 1e-9 currency units


@pytest.mark.parametrize(("call", "field"), [
    (lambda m: m.lots("0.0005"), "kwh"),
    (lambda m: m.lots("1e-12"), "kwh"),
    (lambda m: m.ticks("0.00001"), "price"),
    (lambda m: m.lots(float("nan")), "kwh"),
    (lambda m: m.ticks("ten"), "price"),
    (lambda m: m.lots(True), "kwh"),
])  # fmt: skip
def test_inexact_or_invalid_values_are_refused(call, field):
    with pytest.raises(gm.InvalidParameter) as caught:
        call(Market())
    assert caught.value.field == field


@pytest.mark.parametrize(
    "kwargs",
    [{"epoch_seconds": 7}, {"lot": 0}, {"fee_bps": 10_001}, {"fee_payer": "nobody"}, {"fee_rounding": "nearest"}],
)
def test_invalid_markets_are_refused(kwargs):
    with pytest.raises(gm.InvalidParameter):
        Market(**kwargs)


def test_fees_come_from_the_core_and_conserve():
    for payer in ("buyer", "seller", "split"):
        m = Market(fee_payer=payer, fee_bps=125)
        for notional in (92_500_001, -31_000_007, 0):
            buyer_pays, seller_receives, buyer_fee, seller_fee = m.split(notional)
            assert buyer_pays == seller_receives + buyer_fee + seller_fee
            assert buyer_fee >= 0 and seller_fee >= 0


def test_epochs_are_aligned_to_utc():
    m = Market()
    at = dt.datetime(2016, 6, 21, 12, 14, 59, tzinfo=UTC)
    assert m.epoch_id(at) == 201606211200 == m.epoch_id(at.timestamp())
    start, end = m.epoch_bounds(201606211200)
    assert (start.minute, (end - start).seconds) == (0, 900)
    assert m.next_epoch(201606212345) == 201606220000
    with pytest.raises(gm.InvalidParameter):
        m.epoch_bounds(201606211207)  # not an epoch start
    with pytest.raises(gm.InvalidParameter):
        m.epoch_id(dt.datetime(2016, 6, 21, 12, 0))  # naive


def test_roles():
    Participant(1, Role.PROSUMER).require(-1)
    Participant(2, Role.CONSUMER).require(1)
    for participant, side, field in [
        (Participant(2, Role.CONSUMER), -1, "role"),
        (Participant(3, Role.ORACLE), 1, "role"),
        (Participant(4, Role.PROSUMER, suspended=True), 1, "status"),
    ]:
        with pytest.raises(NotPermitted) as caught:
            participant.require(side)
        assert caught.value.field == field and isinstance(caught.value, PermissionError)
