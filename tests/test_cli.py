"""Tests of the command line, run as a user runs it: ``python -m gridmatch ...`` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridmatch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


@pytest.fixture(scope="module", params=["chain", "no-chain"])
def demo_json(request: pytest.FixtureRequest) -> dict[str, Any]:
    extra = ("--no-chain",) if request.param == "no-chain" else ()
    proc = run("demo", "--epochs", "4", "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
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
        assert e["orders"] == e.get("accepted", e["orders"]) + e.get("refused", 0)
        assert e.get("accepted", e["orders"]) == e["buy_orders"] + e["sell_orders"] > 0
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
    if "clear_ms_total" in totals:  # clearing only
        assert totals["clear_ms_total"] == pytest.approx(sum(e["clear_ms"] for e in epochs))
        assert totals["clear_ms_per_epoch"] == pytest.approx(totals["clear_ms_total"] / 4)
    else:
        assert totals["clear_ms"] == pytest.approx(sum(e["clear_ms"] for e in epochs))
        assert totals["settle_ms"] == pytest.approx(sum(e["settle_ms"] for e in epochs))


def test_demo_json_on_chain_checks_conservation(demo_json: dict[str, Any]) -> None:
    if demo_json["config"].get("chain") is None:
        assert "conservation" not in demo_json  # clearing only: nothing moved, nothing to check
        return
    participants = 40 + 60 + 1  # and the treasury
    # per (participant, mint) 2 checks; per mint supply, sum and (program mode) the empty vault; 7 totals
    assert demo_json["conservation"] == {"ok": True, "checked": 4 * participants + 6 + 7, "mismatches": []}
    assert demo_json["config"]["settle"] == "program"
    totals = demo_json["totals"]
    assert totals["settled_epochs"] == 4 and all(e["state"] == "settled" for e in demo_json["epochs"])
    assert totals["deposited"] == 100 * 20 * 10**9  # 20 EUR each
    assert totals["minted_wh"] == 0 and totals["refused"] == 0  # midnight: no sun, nothing to sell
    assert demo_json["plot"] is None  # --json plots only when asked to


def test_demo_json_totals_over_a_sunny_morning(tmp_path: Path) -> None:
    png = tmp_path / "morning.png"
    args = ("--date", "2016-06-22", "--epochs", "40", "--prosumers", "10", "--consumers", "15")
    proc = run("demo", *args, "--settle", "delegate", "--netting", "--json", "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["conservation"]["ok"] and out["config"]["netting"] is True
    assert out["plot"] == str(png) and png.read_bytes()[:4] == b"\x89PNG"
    totals = out["totals"]
    assert totals["settled_epochs"] == 40 and totals["minted_wh"] >= totals["volume_wh"] > 0
    assert totals["paid"] == 100 * totals["notional"] > 0 and totals["fees"] >= totals["paid"] // 100
    assert totals["transactions"] == sum(e["batches"] for e in out["epochs"]) > 0
    cleared_only = json.loads(run("demo", *args, "--no-chain", "--json").stdout)
    for e, c in zip(out["epochs"], cleared_only["epochs"], strict=True):
        assert (e["price_ticks"], e["volume_wh"], e["fills"]) == (c["price_ticks"], c["volume_wh"], c["fills"])
    epochs, totals = out["epochs"], out["totals"]
    cleared = [e for e in epochs if e["price_ticks"] is not None]
    assert cleared, "a sunny morning has trades"
    assert totals["volume_wh"] == sum(e["volume_wh"] for e in epochs) > 0
    assert totals["notional"] == sum(e["volume_wh"] * e["price_ticks"] for e in cleared)
    assert totals["vwap_ticks"] == pytest.approx(totals["notional"] / totals["volume_wh"])
    assert totals["min_price_ticks"] == min(e["price_ticks"] for e in cleared)
    assert totals["max_price_ticks"] == max(e["price_ticks"] for e in cleared)
    assert totals["min_price_ticks"] <= totals["vwap_ticks"] <= totals["max_price_ticks"]


def test_demo_text_output_is_an_aligned_table(tmp_path: Path) -> None:
    proc = run("demo", "--epochs", "3", "--seed", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("epoch"))
    rows = lines[header + 2 : header + 5]
    assert [r.split()[0] for r in rows] == ["201606210000", "201606210015", "201606210030"]
    assert len({len(r) for r in [*rows, lines[header], lines[header + 1]]}) == 1  # aligned columns
    for words in ("day totals", "transfers per tx", "fees", "VWAP", "wall time", "settlement"):
        assert words in proc.stdout
    assert any(line.split()[:2] == ["conservation", "ok"] for line in lines)
    png = tmp_path / "out" / "demo-2016-06-21.png"  # the default plot
    assert "out/demo-2016-06-21.png" in proc.stdout and png.read_bytes()[:4] == b"\x89PNG"


def test_demo_text_output_without_the_chain(tmp_path: Path) -> None:
    proc = run("demo", "--epochs", "3", "--seed", "1", "--no-chain", "--no-plot", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("epoch"))
    rows = lines[header + 2 : header + 5]
    assert [r.split()[0] for r in rows] == ["201606210000", "201606210015", "201606210030"]
    assert len({len(r) for r in [*rows, lines[header]]}) == 1  # aligned columns
    assert "day totals" in proc.stdout and "clearing time" in proc.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("mode", [(), ("--no-chain",)])
def test_demo_is_deterministic(mode: tuple[str, ...]) -> None:
    a = json.loads(run("demo", "--epochs", "2", "--json", *mode).stdout)
    b = json.loads(run("demo", "--epochs", "2", "--json", *mode).stdout)
    for ea, eb in zip(a["epochs"], b["epochs"], strict=True):
        assert {k: v for k, v in ea.items() if not k.endswith("_ms")} == {
            k: v for k, v in eb.items() if not k.endswith("_ms")
        }
    assert a.get("conservation") == b.get("conservation")


def test_help_exits_0() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    assert "demo" in proc.stdout and "usage" in proc.stdout
    proc = run("demo", "--help")
    assert proc.returncode == 0
    options = ("--date", "--prosumers", "--consumers", "--seed", "--epochs", "--rule", "--json")
    for option in (*options, "--settle", "--netting", "--plot", "--no-plot", "--no-chain"):
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
        ("demo", "--no-chain", "--netting"),
        ("demo", "--netting"),
        ("demo", "--settle", "nonsense"),
        ("demo", "--plot", "x.png", "--no-plot"),
        ("no-such-command",),
        (),
    ],
)
def test_bad_arguments_exit_2(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "usage" in proc.stderr
