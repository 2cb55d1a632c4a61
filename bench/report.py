"""Markdown tables for RESULTS.md from a pytest-benchmark JSON file.

    .venv/bin/python -m pytest bench --benchmark-only --benchmark-json=.benchmarks/run.json
    .venv/bin/python bench/report.py .benchmarks/run.json

One table per book size: median and min of every benchmark, and gridmatch's speed-up over each
baseline measured in the same run (baseline median / gridmatch median). Then the targets.
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: Python-API targets of the issue, seconds per clear.
TARGETS = {1_000: 50e-6, 100_000: 10e-3, 1_000_000: 100e-3}


def duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}" if seconds / scale < 100 else f"{seconds / scale:.0f} {unit}"
    return f"{seconds / 1e-9:.0f} ns"


def label(bench: dict[str, Any]) -> tuple[str, str]:
    """(what ran, the rule it used)."""
    test = bench["name"].split("[")[0]
    rule = bench["params"].get("rule", "midpoint")
    names = {
        "test_gridmatch": f"gridmatch.clear, {rule}",
        "test_gridmatch_dataframe": "gridmatch.clear, midpoint, pandas DataFrame in",
        "test_numpy_baseline": "numpy baseline, midpoint",
        "test_reference": f"tests/reference.py, {rule}",
    }
    return names[test], rule


def ratio(base: float | None, ours: float) -> str:
    return "" if base is None else f"{base / ours:.1f}x"


def tables(data: dict[str, Any]) -> str:
    by_size: dict[int, list[dict[str, Any]]] = {}
    for bench in data["benchmarks"]:
        by_size.setdefault(bench["extra_info"]["orders"], []).append(bench)
    lines = []
    for n in sorted(by_size):
        rows = by_size[n]
        median = {label(b)[0]: b["stats"]["median"] for b in rows}
        numpy_median = median.get("numpy baseline, midpoint")
        lines += [
            f"**{n:,} orders**",
            "",
            "| benchmark | median | min | rounds | vs numpy baseline | vs tests/reference.py |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for bench in sorted(rows, key=lambda b: b["stats"]["median"]):
            (name, rule), stats = label(bench), bench["stats"]
            faster_numpy = faster_ref = ""
            if name.startswith("gridmatch.clear"):
                faster_numpy = ratio(numpy_median, stats["median"])
                if rule == "exchange" and faster_numpy:
                    faster_numpy += " (baseline: midpoint)"
                faster_ref = ratio(median.get(f"tests/reference.py, {rule}"), stats["median"])
            lines.append(
                f"| {name} | {duration(stats['median'])} | {duration(stats['min'])} | {stats['rounds']:,} "
                f"| {faster_numpy} | {faster_ref} |"
            )
        lines.append("")

    lines += ["**Targets** (from Python, columnar API, median of the run above)", ""]
    lines += ["| orders | target | midpoint | exchange | met |", "|---:|---:|---:|---:|---|"]
    for n, target in TARGETS.items():
        got = {label(b)[1]: b["stats"]["median"] for b in by_size.get(n, []) if b["name"].startswith("test_gridmatch[")}
        if not got:
            continue
        met = "yes" if max(got.values()) <= target else "no"
        cells = " | ".join(duration(got[r]) if r in got else "" for r in ("midpoint", "exchange"))
        lines.append(f"| {n:,} | <= {duration(target)} | {cells} | {met} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: report.py BENCHMARK_JSON")
    with open(sys.argv[1]) as f:
        data = json.load(f)
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw", "?")
    print(f"<!-- {data.get('datetime', '?')}, {cpu}, Python {machine.get('python_version', '?')} -->")
    print(tables(data))


if __name__ == "__main__":
    main()
