"""Tests of the command line, run as a user runs it: ``python -m gridmatch ...`` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridmatch", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def demo_json() -> dict[str, Any]:
    proc = run("demo", "--epochs", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_demo_json_has_one_entry_per_epoch(demo_json: dict[str, Any]) -> None:
    epochs = demo_json["epochs"]
    assert [e["epoch"] for e in epochs] == [201606210000, 201606210015, 201606210030, 201606210045]
    assert demo_json["date"] == "2016-06-21"
    assert demo_json["config"]["prosumers"] == 40 and demo_json["config"]["consumers"] == 60
    assert demo_json["config"]["rule"] == "midpoint"
    assert demo_json["units"]["lot"] == "1 Wh" and demo_json["units"]["tick"] == "0.01 ct/kWh"
    for e in epochs:
        assert e["orders"] == e["buy_orders"] + e["sell_orders"] > 0
        assert e["volume_kwh"] == e["volume_wh"] / 1000
        assert e["volume_wh"] <= min(e["bid_wh"], e["ask_wh"])
        if e["price_ticks"] is None:
            assert e["volume_wh"] == 0 and e["fills"] == 0 and e["price_ct_per_kwh"] is None
        else:
            assert e["price_ct_per_kwh"] == e["price_ticks"] / 100


def test_demo_json_totals_add_up(demo_json: dict[str, Any]) -> None:
    epochs, totals = demo_json["epochs"], demo_json["totals"]
    assert totals["epochs"] == len(epochs) == 4
    assert totals["volume_wh"] == sum(e["volume_wh"] for e in epochs)
    assert totals["fills"] == sum(e["fills"] for e in epochs)
    assert totals["orders"] == sum(e["orders"] for e in epochs)
    prices = [e["price_ticks"] for e in epochs if e["price_ticks"] is not None]
    assert totals["no_cross_epochs"] == len(epochs) - len(prices)
    assert totals["cleared_epochs"] == len(prices)
    assert totals["clear_ms_total"] == pytest.approx(sum(e["clear_ms"] for e in epochs))
    assert totals["clear_ms_per_epoch"] == pytest.approx(totals["clear_ms_total"] / 4)


def test_demo_json_totals_over_a_sunny_morning() -> None:
    proc = run("demo", "--date", "2016-06-22", "--epochs", "40", "--prosumers", "10", "--consumers", "15", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    epochs, totals = out["epochs"], out["totals"]
    cleared = [e for e in epochs if e["price_ticks"] is not None]
    assert cleared, "a sunny morning has trades"
    assert totals["volume_wh"] == sum(e["volume_wh"] for e in epochs) > 0
    assert totals["notional"] == sum(e["volume_wh"] * e["price_ticks"] for e in cleared)
    assert totals["vwap_ticks"] == pytest.approx(totals["notional"] / totals["volume_wh"])
    assert totals["min_price_ticks"] == min(e["price_ticks"] for e in cleared)
    assert totals["max_price_ticks"] == max(e["price_ticks"] for e in cleared)
    assert totals["min_price_ticks"] <= totals["vwap_ticks"] <= totals["max_price_ticks"]


def test_demo_text_output_is_an_aligned_table() -> None:
    proc = run("demo", "--epochs", "3", "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("epoch"))
    rows = lines[header + 2 : header + 5]
    assert [r.split()[0] for r in rows] == ["201606210000", "201606210015", "201606210030"]
    assert len({len(r) for r in [*rows, lines[header]]}) == 1  # aligned columns
    assert "day totals" in proc.stdout and "clearing time" in proc.stdout


def test_demo_is_deterministic() -> None:
    a = json.loads(run("demo", "--epochs", "2", "--json").stdout)
    b = json.loads(run("demo", "--epochs", "2", "--json").stdout)
    for ea, eb in zip(a["epochs"], b["epochs"], strict=True):
        ea.pop("clear_ms"), eb.pop("clear_ms")
        assert ea == eb


def test_help_exits_0() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    assert "demo" in proc.stdout and "usage" in proc.stdout
    proc = run("demo", "--help")
    assert proc.returncode == 0
    for option in ("--date", "--prosumers", "--consumers", "--seed", "--epochs", "--rule", "--json"):
        assert option in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("demo", "--epochs", "0"),
        ("demo", "--epochs", "97"),
        ("demo", "--date", "2016-13-01"),
        ("demo", "--rule", "nonsense"),
        ("demo", "--prosumers", "-1"),
        ("demo", "--prosumers", "0", "--consumers", "0"),
        ("demo", "--no-such-option"),
        ("no-such-command",),
        (),
    ],
)
def test_bad_arguments_exit_2(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "usage" in proc.stderr
