"""The ``gridmatch`` command line: ``python -m gridmatch <command> ...``.

Commands:

- ``demo``: simulate a day of a campus energy market on real data and clear every 15-minute epoch
  with the engine; print one line per epoch and the day's totals (or ``--json``).

Exit codes: 0 ok, 1 the engine refused the input, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

EXAMPLES = """\
examples:
  python -m gridmatch demo                                  midsummer 2016, 40 + 60 participants
  python -m gridmatch demo --date 2016-05-03                negative day-ahead prices (May Day 2018)
  python -m gridmatch demo --prosumers 400 --consumers 600 --rule exchange
  python -m gridmatch demo --epochs 4 --json | python -m json.tool
"""

UNITS = "1 lot = 1 Wh, 1 tick = 0.01 ct/kWh"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _int_in(low: int, high: int | None = None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    from .sim.day import ALLOCATIONS, RULES

    parser = argparse.ArgumentParser(
        prog="python -m gridmatch",
        description=(
            "gridmatch: a peer-to-peer energy matching engine. Prosumers sell rooftop-solar "
            "surplus to consumers in 15-minute epochs, each cleared at one uniform price."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    demo = commands.add_parser(
        "demo",
        help="simulate and clear a day of a campus market on real data",
        description=(
            "Simulate a day of a campus market: prosumers (SimBench PV profile scaled to "
            "3-10 kWp, plus household load) and consumers (SimBench H0 load, 2-6 MWh/year) "
            "turn their net energy into buy and sell orders with limit prices around the real "
            "SMARD day-ahead price of the hour; every 15-minute epoch is cleared with "
            f"gridmatch.clear. Units: {UNITS}. Epoch ids are YYYYMMDDHHMM of the epoch start, "
            "UTC. Any date works: weather and load come from the same weekday of 2016 "
            "nearest to it, prices from that of 2018."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--date",
        type=_date,
        default=dt.date(2016, 6, 21),
        help="day to simulate, YYYY-MM-DD (default: 2016-06-21)",
    )
    demo.add_argument("--prosumers", type=_int_in(0), default=40, help="participants with PV (default: 40)")
    demo.add_argument("--consumers", type=_int_in(0), default=60, help="participants without PV (default: 60)")
    demo.add_argument("--seed", type=_int_in(0), default=7, help="seed: same seed, same orders (default: 7)")
    demo.add_argument(
        "--epochs",
        type=_int_in(1, 96),
        default=96,
        help="simulate the first N epochs of the day, 1..96 (default: 96, the whole day)",
    )
    demo.add_argument(
        "--rule",
        choices=RULES,
        default="midpoint",
        help="price rule of the uniform-price auction (default: midpoint); "
        "'exchange' uses the day-ahead price as reference price",
    )
    demo.add_argument(
        "--allocation",
        choices=ALLOCATIONS,
        default="time",
        help="who fills at the marginal price level (default: time)",
    )
    demo.add_argument("--json", action="store_true", help="print the per-epoch results and totals as JSON")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _cmd_demo(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from .sim.day import run_day

    if args.prosumers + args.consumers == 0:
        parser.error("need at least one participant (--prosumers + --consumers > 0)")
    import gridmatch as gm

    refused: tuple[type[BaseException], ...] = (ValueError,)
    if isinstance(getattr(gm, "GridmatchError", None), type):
        refused = (gm.GridmatchError, ValueError)
    try:
        report = run_day(
            args.date,
            prosumers=args.prosumers,
            consumers=args.consumers,
            seed=args.seed,
            epochs=args.epochs,
            rule=args.rule,
            allocation=args.allocation,
        )
    except refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(report.to_dict(), out, indent=2)
        out.write("\n")
    else:
        _print_demo(report, out)
    return 0


def _print_demo(report: Any, out: TextIO) -> None:
    from .sim.units import format_ct, format_kwh

    cfg = report.config
    out.write(
        f"gridmatch demo  {report.day.isoformat()}  {cfg['prosumers']} prosumers, "
        f"{cfg['consumers']} consumers  seed {cfg['seed']}  "
        f"rule {cfg['rule']}, allocation {cfg['allocation']}\n"
        f"data: SimBench profiles of {cfg['profile_day']}, SMARD DE day-ahead of "
        f"{cfg['day_ahead_day']}; {UNITS}; epoch ids are UTC\n\n"
    )
    header = ("epoch", "orders", "buys", "sells", "day-ahead", "price", "volume", "fills")
    units = ("(UTC start)", "", "", "", "ct/kWh", "ct/kWh", "kWh", "")
    widths = (12, 8, 7, 7, 11, 9, 10, 8)

    def row(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = "".join(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return f"{first}{rest}\n"

    out.write(row(header))
    out.write(row(units))
    for e in report.epochs:
        out.write(
            row(
                (
                    str(e.epoch_id),
                    f"{e.orders:,}",
                    f"{e.buy_orders:,}",
                    f"{e.sell_orders:,}",
                    format_ct(e.day_ahead_ticks),
                    "-" if e.price_ticks is None else format_ct(e.price_ticks),
                    format_kwh(e.volume_wh),
                    f"{e.fills:,}",
                )
            )
        )
    t = report.totals()
    prices = report.prices
    vwap = t["vwap_ct_per_kwh"]
    lines = [
        ("epochs", f"{t['epochs']} ({t['cleared_epochs']} cleared, {t['no_cross_epochs']} with no cross)"),
        ("orders", f"{t['orders']:,}"),
        ("volume", f"{format_kwh(t['volume_wh'])} kWh"),
        ("VWAP", "-" if vwap is None else f"{vwap:.2f} ct/kWh"),
        (
            "price min / max",
            "-" if not prices else f"{format_ct(min(prices))} / {format_ct(max(prices))} ct/kWh",
        ),
        ("fills", f"{t['fills']:,}"),
        (
            "clearing time",
            f"{t['clear_ms_total']:.3f} ms total, {t['clear_ms_per_epoch']:.4f} ms per epoch "
            "(gridmatch.clear, as called from Python)",
        ),
        ("simulation time", f"{t['build_ms_total']:.1f} ms building orders"),
    ]
    out.write("\nday totals\n")
    for label, value in lines:
        out.write(f"  {label:<17}{value}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 refused input, 2 bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.handler(args, parser, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # Output piped into e.g. `head`: stop quietly, as other command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    raise SystemExit(main())
