"""Rebuild the data files in ``gridmatch/sim/data/`` from the original downloads.

This is a developer tool, not part of the runtime: nothing imports it, and the simulation reads
only the compressed files it writes. Run it by hand with the folder holding the original files::

    python -m gridmatch.sim._prepare_data --source /path/to/data --out python/gridmatch/sim/data

``--source`` must contain ``simbench/``, ``smard/`` and ``ausgrid/`` laid out as described in
``gridmatch/sim/data/SOURCES.md``. The transformation is deliberately small and checked:

- SimBench H0 and PV profiles: the values are copied verbatim (same text); only the time column
  is dropped, after checking that its labels are German local time (Europe/Berlin) of 35,136
  consecutive quarter-hours: the spring-forward hour is missing, the fall-back hour repeated, and
  there is no other gap. The simulation uses the row position: row ``i`` is the quarter-hour
  starting 2016-01-01 00:00 UTC + 15 min * i (see SOURCES.md for why UTC).
- SMARD day-ahead 2018: only the German bidding zone is kept (DE-AT-LU until 2018-09-30, DE-LU
  from 2018-10-01; exactly one of the two is present in each row), and the local (Europe/Berlin)
  hour labels are converted to UTC. The 8,760 consecutive rows are consecutive UTC hours starting
  at 2017-12-31 23:00 UTC; this is checked against the published local labels.
- Ausgrid customer 12: timestamps and the two columns copied; values rounded to 3 decimals, which
  undoes float-printing noise (e.g. ``0.48200000000000004``) and loses nothing: the published
  data are in whole Wh.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
from pathlib import Path
from zoneinfo import ZoneInfo

_MTIME = 0  # fixed gzip header time: rebuilding gives byte-identical files


def _write_gz(path: Path, text: str) -> None:
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=_MTIME) as gz,
    ):
        gz.write(text.encode("utf-8"))
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


def _simbench(src: Path, out: Path, name: str, prefix_strip: str) -> None:
    lines = src.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    assert header[0] == "time", header
    berlin = ZoneInfo("Europe/Berlin")
    start = dt.datetime(2015, 12, 31, 23, tzinfo=dt.UTC)  # 2016-01-01 00:00 CET
    step = dt.timedelta(minutes=15)
    body = []
    for i, line in enumerate(lines[1:]):
        stamp, rest = line.split(";", 1)
        expected = (start + i * step).astimezone(berlin).strftime("%d.%m.%Y %H:%M")
        if stamp != expected:
            raise ValueError(f"{src.name} row {i}: time {stamp!r}, expected {expected!r}")
        body.append(rest)
    if len(body) != 366 * 96:
        raise ValueError(f"{src.name}: {len(body)} rows, expected 35,136")
    columns = [c.removesuffix(prefix_strip) for c in header[1:]]
    _write_gz(out / name, ";".join(columns) + "\n" + "\n".join(body) + "\n")


def _smard(src: Path, out: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    with open(src, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header = rows[0]
    de_lu = header.index("Germany/Luxembourg[€/MWh]")
    de_at_lu = header.index("Germany/Austria/Luxembourg[€/MWh]")
    first_utc = dt.datetime(2017, 12, 31, 23, tzinfo=dt.UTC)
    lines = ["utc_start;zone;eur_per_mwh"]
    for i, row in enumerate(rows[1:]):
        utc = first_utc + dt.timedelta(hours=i)
        local = utc.astimezone(berlin)
        label = dt.datetime.strptime(f"{row[0]} {row[1]}", "%b %d, %Y %I:%M %p")
        if local.replace(tzinfo=None) != label:
            raise ValueError(f"row {i}: label {label} is not local time of {utc}")
        a, b = row[de_lu], row[de_at_lu]
        if (a == "-") == (b == "-"):
            raise ValueError(f"row {i}: expected exactly one German price, got {a!r}, {b!r}")
        zone, value = ("DE-LU", a) if a != "-" else ("DE-AT-LU", b)
        float(value)  # must parse
        lines.append(f"{utc:%Y-%m-%dT%H:%MZ};{zone};{value}")
    if len(lines) != 8761:
        raise ValueError(f"{src.name}: {len(lines) - 1} rows, expected 8,760")
    _write_gz(out / "smard_dayahead_de_2018_hourly_utc.csv.gz", "\n".join(lines) + "\n")


def _ausgrid(src: Path, out: Path) -> None:
    with open(src, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["", "GC", "GG"], rows[0]
    lines = ["time;GC_kwh;GG_kwh"]
    for row in rows[1:]:
        lines.append(f"{row[0]};{float(row[1]):.3f};{float(row[2]):.3f}")
    _write_gz(out / "ausgrid_customer12_2011-2012_30min.csv.gz", "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="folder with the originals")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    args = parser.parse_args(argv)
    src, out = args.source, args.out
    out.mkdir(parents=True, exist_ok=True)
    _simbench(
        src / "simbench/simbench_H0_household_pload_2016_15min.csv",
        out,
        "simbench_h0_load_2016_15min.csv.gz",
        "_pload",
    )
    _simbench(
        src / "simbench/simbench_PV_profiles_2016_15min.csv",
        out,
        "simbench_pv_2016_15min.csv.gz",
        "",
    )
    _smard(src / "smard/Day-ahead_prices_2018.csv", out)
    _ausgrid(src / "ausgrid/ausgrid_solarhome_customer12_2011-2012_30min.csv", out)
    licence = (src / "simbench/LICENSE_simbench.txt").read_bytes()
    (out / "LICENSE_simbench.txt").write_bytes(licence)
    print(f"wrote {out / 'LICENSE_simbench.txt'}")


if __name__ == "__main__":
    main()
