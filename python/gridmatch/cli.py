"""The ``gridmatch`` command line: ``python -m gridmatch <command> ...``.

Commands:

- ``demo``: simulate a day of a campus energy market on real data and run the whole market on
  the embedded chain (LiteSVM): mint GRID for metered generation, collect orders (escrowed by
  the trading program, or ``--settle delegate``), clear and settle every 15-minute epoch; print
  one line per epoch, the day's totals and the conservation check of every balance (or
  ``--json``), and save a plot of the day's prices and volumes.
  ``--no-chain`` only clears each epoch with the engine (quick).

Exit codes: 0 ok, 1 the engine or the chain refused the input (or a balance did not conserve, or
an epoch did not settle), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TextIO

EXAMPLES = """\
examples:
  python -m gridmatch demo                                  midsummer 2016, 40 + 60 participants, on chain
  python -m gridmatch demo --no-chain                       the same day, clearing only (no settlement)
  python -m gridmatch demo --settle delegate --netting       delegate transfers, netted per participant and epoch
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
    from .sim.market_day import DEPOSIT_EUR, SETTLE_MODES

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
            "SMARD day-ahead price of the hour. The market runs on the embedded Solana "
            "runtime (LiteSVM): every participant gets a GRID and a payment token account and "
            f"a deposit of {DEPOSIT_EUR} EUR; each prosumer is minted GRID for its metered "
            "surplus before it sells; every order goes through the epoch engine (checked "
            "against holdings; refusals are counted); at the end of each 15-minute epoch the "
            "engine clears it at one uniform price and settles the fills on chain (GRID to the "
            "buyer, payment to the seller, a 1% fee paid by the buyer to the treasury). The "
            "day ends with a conservation check of every balance. With --no-chain each epoch "
            f"is only cleared with gridmatch.clear. Units: {UNITS}. Epoch ids are YYYYMMDDHHMM "
            "of the epoch start, UTC. Any date works: weather and load come from the same "
            "weekday of 2016 nearest to it, prices from that of 2018."
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
    demo.add_argument(
        "--json",
        action="store_true",
        help="print the per-epoch results, the totals and the conservation check as JSON",
    )
    demo.add_argument(
        "--settle",
        choices=SETTLE_MODES,
        default="program",
        help="settle through the trading program's escrow (default) or by delegate transfers",
    )
    demo.add_argument(
        "--netting",
        action="store_true",
        help="settle each participant's net change per epoch instead of every fill's transfers",
    )
    demo.add_argument(
        "--plot",
        metavar="PATH",
        help="save the day's prices and volumes as a PNG at PATH (default: out/demo-YYYY-MM-DD.png, "
        "except with --json, which plots only when given a PATH)",
    )
    demo.add_argument("--no-plot", action="store_true", help="do not save a plot")
    demo.add_argument(
        "--no-chain",
        action="store_true",
        help="clear each epoch with gridmatch.clear only: no chain, no settlement (quick)",
    )
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _cmd_demo(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    if args.prosumers + args.consumers == 0:
        parser.error("need at least one participant (--prosumers + --consumers > 0)")
    if args.plot is not None and args.no_plot:
        parser.error("--plot and --no-plot exclude each other")
    if args.no_chain and args.netting:
        parser.error("--netting is about settlement: it needs the chain (drop --no-chain)")
    if args.netting and args.settle == "program":
        parser.error("--netting nets delegate transfers: add --settle delegate")
    plot = _plot_path(args)
    if plot is not None and not _has_matplotlib():
        if args.plot is not None:
            print("error: --plot needs matplotlib (pip install matplotlib)", file=sys.stderr)
            return 1
        print("note: matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        plot = None
    import gridmatch as gm

    refused: tuple[type[BaseException], ...] = (ValueError,)
    if isinstance(getattr(gm, "GridmatchError", None), type):
        refused = (gm.GridmatchError, ValueError)
    report: Any
    try:
        if args.no_chain:
            from .sim.day import run_day

            report = run_day(
                args.date,
                prosumers=args.prosumers,
                consumers=args.consumers,
                seed=args.seed,
                epochs=args.epochs,
                rule=args.rule,
                allocation=args.allocation,
            )
        else:
            report = _run_on_chain(args)
    except ImportError as exc:
        print(f"error: the market on chain needs the chain extra (solders): {exc}; or use --no-chain", file=sys.stderr)
        return 1
    except refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    saved = None if plot is None else _save_plot(report, plot, chain=not args.no_chain)
    if args.json:
        result = report.to_dict()
        if not args.no_chain:
            result["plot"] = None if saved is None else str(saved)
        json.dump(result, out, indent=2)
        out.write("\n")
    elif args.no_chain:
        _print_demo(report, out)
        if saved is not None:
            out.write(f"  {'plot':<17}{saved}\n")
    else:
        _print_chain_demo(report, out, saved)
    if not args.no_chain and not (report.conservation.ok and report.settled):
        what = "a balance did not conserve" if not report.conservation.ok else "an epoch did not settle"
        print(f"error: {what} (see the conservation check)", file=sys.stderr)
        return 1
    return 0


def _plot_path(args: argparse.Namespace) -> str | None:
    if args.no_plot:
        return None
    if args.plot is not None:
        return str(args.plot)
    return None if args.json else os.path.join("out", f"demo-{args.date.isoformat()}.png")


def _has_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _save_plot(report: Any, path: str, *, chain: bool) -> Any:
    from .sim.plot import plot_day
    from .sim.units import format_kwh

    t = report.totals()
    if chain:
        fees = _format_eur(t["fees"], 2)
        ok = "ok" if report.conservation.ok else "FAILED"
        subtitle = (
            f"settled on LiteSVM: {format_kwh(t['volume_wh'])} kWh in {t['fills']:,} fills, "
            f"{t['transactions']:,} transactions, fees {fees} EUR; conservation {ok}"
        )
    else:
        subtitle = f"cleared only (no chain): {format_kwh(t['volume_wh'])} kWh in {t['fills']:,} fills"
    return plot_day(report, path, subtitle=subtitle)


def _run_on_chain(args: argparse.Namespace) -> Any:
    from .sim.market_day import run_market_day

    bar = _ProgressBar(sys.stderr, label=args.date.isoformat())
    try:
        return run_market_day(
            args.date,
            prosumers=args.prosumers,
            consumers=args.consumers,
            seed=args.seed,
            epochs=args.epochs,
            rule=args.rule,
            allocation=args.allocation,
            netting=args.netting,
            settle=args.settle,
            progress=bar if bar.enabled else None,
        )
    finally:
        bar.close()


class _ProgressBar:
    """A one-line progress bar on a terminal (redrawn with \\r); silent when the stream is not one."""

    WIDTH = 30

    def __init__(self, stream: TextIO, *, label: str) -> None:
        self.stream = stream
        self.label = label
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.volume_wh = 0
        self.drawn = 0

    def __call__(self, done: int, total: int, epoch: Any) -> None:
        from .sim.units import format_kwh

        self.volume_wh += epoch.volume_wh
        filled = self.WIDTH * done // total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        hhmm = f"{epoch.epoch_id // 100 % 100:02d}:{epoch.epoch_id % 100:02d}"
        line = (
            f"{self.label} [{bar}] {done}/{total} epochs  {hhmm} UTC  "
            f"{format_kwh(self.volume_wh)} kWh settled  {time.monotonic() - self.started:.1f} s"
        )
        self.stream.write("\r" + line.ljust(self.drawn))
        self.stream.flush()
        self.drawn = len(line)

    def close(self) -> None:
        if self.enabled and self.drawn:
            self.stream.write("\r" + " " * self.drawn + "\r")
            self.stream.flush()
            self.drawn = 0


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _format_eur(base_units: int, places: int) -> str:
    """Payment base units (1e-9 EUR) as EUR with `places` decimals (half to even), exactly."""
    value = (Decimal(base_units) / 10**9).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{value:,}"


def _table(widths: Sequence[int], out: TextIO, rows: Sequence[Sequence[str]]) -> None:
    for cells in rows:
        first = cells[0].ljust(widths[0])
        rest = "".join(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        out.write(f"{first}{rest}\n")


def _settlement(cfg: dict[str, Any]) -> str:
    if cfg["settle"] == "program":
        return "settled through the trading program (escrow)"
    return f"{'netted' if cfg['netting'] else 'per-fill'} delegate settlement"


def _print_chain_demo(report: Any, out: TextIO, plot: Any) -> None:
    from .sim.units import format_ct, format_kwh

    cfg = report.config
    out.write(
        f"gridmatch demo  {report.day.isoformat()}  {cfg['prosumers']} prosumers, "
        f"{cfg['consumers']} consumers  seed {cfg['seed']}  rule {cfg['rule']}, "
        f"allocation {cfg['allocation']}, {_settlement(cfg)}\n"
        f"data: SimBench profiles of {cfg['profile_day']}, SMARD DE day-ahead of "
        f"{cfg['day_ahead_day']}; {UNITS}; epoch ids are UTC\n"
        f"chain: LiteSVM in process; GRID (1 GRID = 1 kWh) and a payment token (EUR), 9 decimals; "
        f"fee {cfg['fee_bps'] / 100:.2f}% paid by the {cfg['fee_payer']}\n\n"
    )
    header = (
        "epoch",
        "orders",
        "refused",
        "minted",
        "price",
        "volume",
        "fills",
        "txs",
        "transfers",
        "fees",
        "clear",
        "settle",
    )
    units = ("(UTC start)", "", "", "kWh", "ct/kWh", "kWh", "", "", "", "EUR", "ms", "ms")
    widths = (12, 8, 8, 10, 9, 10, 7, 5, 10, 9, 8, 8)
    rows = [header, units]
    for e in report.epochs:
        rows.append(
            (
                str(e.epoch_id),
                f"{e.orders:,}",
                f"{e.refused:,}",
                format_kwh(e.minted_wh),
                "-" if e.price_ticks is None else format_ct(e.price_ticks),
                format_kwh(e.volume_wh),
                f"{e.fills:,}",
                f"{e.batches:,}",
                f"{e.transfers:,}",
                _format_eur(e.fees, 4),
                f"{e.clear_ns / 1e6:.1f}",
                f"{e.settle_ns / 1e6:.1f}",
            )
        )
    _table(widths, out, rows)

    t = report.totals()
    c = report.conservation
    vwap = t["vwap_ct_per_kwh"]
    prices = report.prices
    refusals = ", ".join(f"{name} {n:,}" for name, n in t["refusals"].items())
    per_tx = t["transfers_per_transaction"]
    program = cfg["settle"] == "program"
    accepting = "each escrowed on chain" if program else "with funds checks"
    lines = [
        ("epochs", f"{t['epochs']} ({t['settled_epochs']} settled; {t['cleared_epochs']} traded, "
                   f"{t['no_cross_epochs']} with no cross)"),
        ("orders", f"{t['orders']:,} ({t['accepted']:,} accepted, {t['refused']:,} refused"
                   + (f": {refusals})" if refusals else ")")),
        ("GRID minted", f"{format_kwh(t['minted_wh'])} kWh (metered surplus)"),
        ("deposited", f"{_format_eur(t['deposited'], 2)} EUR ({cfg['deposit_eur']} EUR per participant)"),
        ("volume", f"{format_kwh(t['volume_wh'])} kWh in {t['fills']:,} fills"),
        ("VWAP", "-" if vwap is None else f"{vwap:.2f} ct/kWh"),
        ("price min / max", "-" if not prices else f"{format_ct(min(prices))} / {format_ct(max(prices))} ct/kWh"),
        ("paid to sellers", f"{_format_eur(t['paid'], 2)} EUR"),
        ("fees", f"{_format_eur(t['fees'], 4)} EUR to the treasury"),
        ("transactions", f"{t['transactions']:,} ({t['attempts']:,} sent), {t['transfers']:,} transfers"),
        ("transfers per tx", "-" if per_tx is None else
                             f"{per_tx:.1f} ({_plural(cfg['lookup_tables'], 'address lookup table')})"),
        ("conservation", f"ok ({c.checked:,} checks)" if c.ok else
                         f"FAILED: {len(c.mismatches)} of {c.checked:,} checks"),
        ("wall time", f"{t['wall_ms'] / 1e3:.1f} s: orders {t['orders_ms'] / 1e3:.1f} s ({accepting}), "
                      f"clearing {t['clear_ms'] / 1e3:.2f} s, settlement {t['settle_ms'] / 1e3:.1f} s, "
                      f"minting {t['mint_ms'] / 1e3:.1f} s, set-up {t['setup_ms'] / 1e3:.1f} s"),
    ]  # fmt: skip
    if plot is not None:
        lines.append(("plot", str(plot)))
    out.write("\nday totals\n")
    for label, value in lines:
        out.write(f"  {label:<18}{value}\n")
    if c.ok:
        out.write(
            "  (every participant's and the treasury's GRID and payment balance on chain == set-up + minted or\n"
            "   deposited + what the journal's confirmed batches moved; those moves == what the fills imply"
            + (",\n   each filled order's fee rounded once" if program else "")
            + ";\n   both mints' supply == everything issued; GRID sold == bought; paid == received + fees"
            + (";\n   every order claimed and the market's vaults empty)\n" if program else ")\n")
        )
    for m in c.mismatches[:20]:
        out.write(f"  mismatch: {m}\n")


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
