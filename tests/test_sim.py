"""Tests of gridmatch.sim: bundled data, the campus market, benchmark books, units and time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import gridmatch as gm
from gridmatch import sim
from gridmatch.sim import clock, data, sanity, units

JUNE = dt.date(2016, 6, 21)  # the demo's default day, a Tuesday; prices of Tuesday 2018-06-19
SUNNY = dt.date(2016, 6, 22)  # sunny at every PV site (checked below)
MAY_DAY = dt.date(2016, 5, 3)  # maps to 2018-05-01, negative day-ahead prices all day
NOON = 48  # epoch index of 12:00 UTC


@pytest.fixture(scope="module")
def campus() -> sim.Campus:
    return sim.Campus(prosumers=40, consumers=60, seed=7)


# ----------------------------------------------------------------------------------------- data


def test_profiles_cover_leap_year_2016_in_quarter_hours() -> None:
    assert 366 * 96 == 35_136
    h0, pv = data.h0_load(), data.pv_generation()
    assert h0.values.shape == (35_136, 6)
    assert pv.values.shape == (35_136, 8)
    assert h0.names == ("H0-A", "H0-B", "H0-C", "H0-G", "H0-H", "H0-L")
    assert pv.names == tuple(f"PV{i}" for i in range(1, 9))
    assert h0.start == pv.start == dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
    # H0 normalised to peak 1.0; PV a fraction of installed capacity.
    np.testing.assert_allclose(h0.values.max(axis=0), 1.0)
    assert (h0.values > 0).all()
    assert pv.values.min() == 0.0 and 0.5 < pv.values.max() <= 1.0
    assert h0.day(JUNE).shape == (96, 6) and pv.day(JUNE).shape == (96, 8)
    # Last day of the year is whole; the arrays are read-only (shared by every caller).
    assert pv.day(dt.date(2016, 12, 31)).shape == (96, 8)
    assert not h0.values.flags.writeable


def test_pv_is_zero_at_night_and_peaks_near_solar_noon_utc() -> None:
    pv = data.pv_generation().day(JUNE)
    assert pv[:8].sum() == 0.0 and pv[-8:].sum() == 0.0  # 00:00-02:00 and 22:00-24:00 UTC
    mean = pv.mean(axis=1)
    centre = (mean * np.arange(96)).sum() / mean.sum() / 4
    assert 10.5 < centre < 12.5


def test_day_ahead_prices_2018_hourly_utc_with_negative_hours() -> None:
    prices = data.day_ahead()
    assert prices.eur_per_mwh.shape == (8_760,)
    assert prices.start == dt.datetime(2017, 12, 31, 23, tzinfo=dt.UTC)
    assert (prices.eur_per_mwh < 0).sum() == 134
    assert set(prices.zones) == {"DE-AT-LU", "DE-LU"}
    assert prices.day(JUNE).shape == (24,)
    may_day = prices.day(MAY_DAY)
    assert clock.reference_day(MAY_DAY, data.PRICE_YEAR) == dt.date(2018, 5, 1)
    assert (may_day < 0).sum() >= 12
    # The last UTC hour of the year is not in the source: it repeats the one before.
    last = prices.day(dt.date(2018, 12, 31))
    assert last[23] == last[22] == prices.eur_per_mwh[-1]


def test_ausgrid_home_loads_and_resembles_the_synthetic_profiles() -> None:
    home = data.ausgrid_home()
    assert home.consumption_kwh.shape == home.generation_kwh.shape == (17_568,)
    assert home.times[0] == np.datetime64("2011-07-01T00:00")
    assert (np.diff(home.times) == np.timedelta64(30, "m")).all()
    shapes = sanity.compare_with_ausgrid()
    load, metered_load = shapes["load"]
    pv, metered_pv = shapes["pv"]
    assert load.peak_to_mean == pytest.approx(metered_load.peak_to_mean, rel=0.2)
    assert 0.3 < load.min_to_mean < 0.7 and 0.3 < metered_load.min_to_mean < 0.7
    assert pv.top_sixth_share == pytest.approx(metered_pv.top_sixth_share, abs=0.05)
    assert 0.2 < pv.dark_share < 0.5 and 0.2 < metered_pv.dark_share < 0.5


# ----------------------------------------------------------------------------------------- time


def test_epoch_ids_are_utc_starts() -> None:
    ids = clock.epoch_ids(JUNE)
    assert ids.dtype == np.uint64 and len(ids) == sim.EPOCHS_PER_DAY == 96
    assert ids[0] == 201606210000 and ids[1] == 201606210015 and ids[-1] == 201606212345
    assert sim.epoch_id(JUNE, NOON) == 201606211200 == ids[NOON]
    with pytest.raises(ValueError):
        sim.epoch_id(JUNE, 96)


@pytest.mark.parametrize(
    ("day", "year", "expected"),
    [
        (dt.date(2016, 6, 21), 2016, dt.date(2016, 6, 21)),
        (dt.date(2016, 6, 21), 2018, dt.date(2018, 6, 19)),
        (dt.date(2016, 1, 1), 2018, dt.date(2018, 1, 5)),  # stays inside the year
        (dt.date(2016, 12, 31), 2018, dt.date(2018, 12, 29)),
        (dt.date(2016, 2, 29), 2018, dt.date(2018, 2, 26)),
        (dt.date(2024, 2, 29), 2016, dt.date(2016, 3, 3)),
    ],
)
def test_reference_day_keeps_the_weekday_and_stays_close(day: dt.date, year: int, expected: dt.date) -> None:
    ref = sim.reference_day(day, year)
    assert ref == expected
    assert ref.year == year and ref.weekday() == day.weekday()


def test_units_format_exactly() -> None:
    assert units.format_ct(925) == "9.25"
    assert units.format_ct(-115) == "-1.15"
    assert units.format_ct(-5) == "-0.05"
    assert units.format_kwh(240_626) == "240.626"
    assert units.format_kwh(9) == "0.009"
    assert units.eur_mwh_to_ticks(92.5) == 925
    assert units.ct_to_ticks(-3.59) == -359


# ----------------------------------------------------------------------------------------- campus


def test_same_seed_gives_identical_orders(campus: sim.Campus) -> None:
    other = sim.Campus(prosumers=40, consumers=60, seed=7)
    for index in (NOON, 0, 30, 75):  # any order of calls
        a, b = campus.epoch(JUNE, index).orders, other.epoch(JUNE, index).orders
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()
    different = sim.Campus(prosumers=40, consumers=60, seed=8).epoch(JUNE, NOON).orders
    assert different.tobytes() != campus.epoch(JUNE, NOON).orders.tobytes()


def test_participants_are_sampled_in_range(campus: sim.Campus) -> None:
    p = campus.participants
    assert len(p) == 100 and p.is_prosumer.sum() == 40
    np.testing.assert_array_equal(p.trader, np.arange(1, 101))
    assert ((p.kwp[:40] >= 3) & (p.kwp[:40] <= 10)).all() and (p.kwp[40:] == 0).all()
    assert ((p.annual_kwh >= 2000) & (p.annual_kwh <= 6000)).all()
    assert (p.pv_profile[:40] >= 0).all() and (p.pv_profile[40:] == -1).all()


def test_expected_load_matches_the_annual_consumption(campus: sim.Campus) -> None:
    # Summing the noise-free load over every epoch of 2016 gives the sampled annual energy.
    start = dt.date(2016, 1, 1)
    total = np.zeros(len(campus.participants))
    for d in range(366):
        day = start + dt.timedelta(days=d)
        for index in range(0, 96):
            total += campus.load_wh(day, index)
    np.testing.assert_allclose(total / 1000, campus.participants.annual_kwh, rtol=1e-9)


def test_orders_are_valid_order_arrays(campus: sim.Campus) -> None:
    for ep in campus.day(JUNE):
        o = ep.orders
        assert o.dtype == gm.ORDER_DTYPE
        assert len(o) > 0
        assert len(np.unique(o["id"])) == len(o)
        assert (o["id"] // sim.campus.ID_STRIDE == ep.epoch_id).all()
        assert (o["qty"] > 0).all()
        assert set(np.unique(o["side"]).tolist()) <= {-1, 1}
        assert (o["kind"] == 0).all()
        np.testing.assert_array_equal(o["ts"], np.arange(len(o)))
        gm.as_order_array(o)  # the engine's own validation accepts it


def test_sellers_are_prosumers_with_surplus_and_orders_add_up_to_net_energy(campus: sim.Campus) -> None:
    prosumer_ids = set(campus.participants.trader[campus.participants.is_prosumer].tolist())
    for index in range(0, 96, 3):
        ep = campus.epoch(JUNE, index)
        o = ep.orders
        sells = o[o["side"] == -1]
        assert set(sells["trader"].tolist()) <= prosumer_ids
        # Per trader: one side only, and the blocks add up to the rounded net energy exactly.
        signed = o["qty"].astype(np.int64) * -o["side"].astype(np.int64)
        per_trader = np.zeros(len(campus.participants) + 1, dtype=np.int64)
        np.add.at(per_trader, o["trader"].astype(np.int64), signed)
        np.testing.assert_array_equal(per_trader[1:], ep.net_wh)
        blocks = np.bincount(o["trader"].astype(np.int64), minlength=len(per_trader))
        assert blocks.max() <= campus.config.max_blocks


def test_sunny_june_noon_has_sellers_and_midnight_has_none(campus: sim.Campus) -> None:
    assert (data.pv_generation().day(SUNNY)[NOON] > 0.35).all()  # every site over 35 % of capacity
    noon = campus.epoch(SUNNY, NOON).orders
    midnight = campus.epoch(SUNNY, 0).orders
    assert (noon["side"] == -1).sum() >= 30
    assert (midnight["side"] == -1).sum() == 0
    assert (midnight["side"] == 1).sum() > 0
    result = gm.clear(noon)
    assert result.price is not None and result.volume > 0
    assert gm.clear(midnight).price is None


def test_limit_prices_lie_between_feed_in_and_retail(campus: sim.Campus) -> None:
    model = campus.config.prices
    for index in (NOON - 8, NOON, NOON + 8):
        ep = campus.epoch(JUNE, index)
        o = ep.orders
        feed_in = ep.day_ahead_ticks + round(model.feed_in_premium * 100)
        retail = ep.day_ahead_ticks + round(model.retail_adder * 100)
        sells, buys = o[o["side"] == -1], o[o["side"] == 1]
        assert (sells["price"] >= feed_in).all() and (sells["price"] <= retail).all()
        assert (buys["price"] <= retail).all() and (buys["price"] >= feed_in).all()
        assert buys["price"].mean() > sells["price"].mean()


def test_negative_day_ahead_gives_negative_prices(campus: sim.Campus) -> None:
    ep = campus.epoch(MAY_DAY, NOON)
    assert ep.day_ahead_ticks < 0
    asks = ep.orders[ep.orders["side"] == -1]
    assert (asks["price"] < 0).sum() > 10
    result = gm.clear(ep.orders)
    assert result.price is not None and result.price < 0


def test_campus_config_is_validated() -> None:
    with pytest.raises(ValueError, match="participant"):
        sim.Campus(prosumers=0, consumers=0)
    with pytest.raises(ValueError, match="seed"):
        sim.Campus(seed=-1)
    with pytest.raises(ValueError, match="kwp_range"):
        sim.CampusConfig(kwp_range=(0.0, 5.0))
    with pytest.raises(ValueError, match="retail_adder"):
        sim.PriceModel(retail_adder=-1.0)
    with pytest.raises(ValueError, match="epochs"):
        next(sim.Campus(prosumers=1, consumers=1).day(JUNE, epochs=97))


# ----------------------------------------------------------------------------------------- books


@pytest.mark.parametrize("n", [0, 1, 1000, 100_000])
def test_energy_book_has_n_rows_and_unique_ids(n: int) -> None:
    book = sim.energy_book(n, seed=3)
    assert book.dtype == gm.ORDER_DTYPE
    assert len(book) == n
    assert len(np.unique(book["id"])) == n
    np.testing.assert_array_equal(book["ts"], np.arange(n))
    assert (book["qty"] > 0).all()
    assert set(np.unique(book["side"]).tolist()) <= {-1, 1}


def test_energy_book_is_shaped_like_a_busy_epoch() -> None:
    book = sim.energy_book(200_000)
    assert book.tobytes() == sim.energy_book(200_000).tobytes()
    assert book.tobytes() != sim.energy_book(200_000, seed=1).tobytes()
    market = book["kind"] == 1
    assert 0.02 < market.mean() < 0.04
    assert (book["price"][market] == 0).all()
    limits = book[~market]
    assert 700 < np.median(limits["price"]) < 1150  # around 9.25 ct/kWh
    assert (limits["price"] < 0).any()  # a few asks below zero
    qty = book["qty"].astype(np.float64)
    assert np.median(qty) < qty.mean() < 10 * np.median(qty)  # heavy right tail
    assert qty.max() > 100 * np.median(qty)
    assert 0.45 < (book["side"] == 1).mean() < 0.55
    result = gm.clear(book)
    assert result.price is not None and result.volume > 0
    assert abs(result.price - 925) < 200


def test_energy_book_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n must be"):
        sim.energy_book(-1)
    with pytest.raises(ValueError, match="market_share"):
        sim.energy_book(10, market_share=1.5)
