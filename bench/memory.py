"""Extra peak memory of one clearing, per order, measured by the kernel (Linux only).

    .venv/bin/python bench/memory.py [n]          # default n = 1,000,000

Each measurement runs in a fresh subprocess, which

1. builds the seeded energy book of ``n`` orders (the same book as the benchmarks) and clears a
   small book once, so that one-time set-up is not counted;
2. returns freed heap memory to the kernel (``malloc_trim(0)``): otherwise the clearing could
   reuse pages left resident by building the book, and the peak would read too low;
3. resets the peak resident set size (``echo 5 > /proc/self/clear_refs`` resets ``VmHWM`` to the
   current ``VmRSS``; the script checks that the reset took effect and stops if it did not);
4. reads ``VmRSS``, clears once, reads ``VmHWM``.

It prints ``(VmHWM - VmRSS before) / n``: every byte the clearing made resident at its peak,
the engine's working memory and the result arrays (``filled`` and ``fills``) included, the book
itself excluded. Resolution: the kernel reports kB, i.e. 0.001 byte per order at 1e6 orders;
the kernel's batched RSS counters can be off by a few hundred kB. It also prints the result
arrays' own size per order, and the same figures for the numpy baseline for comparison.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET_BYTES_PER_ORDER = 64
ENGINES = ("gridmatch-midpoint", "gridmatch-exchange", "numpy-baseline")


def status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024  # reported in kB
    return out


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def trim_heap() -> bool:
    """Hands free heap pages back to the kernel (glibc); False when there is no malloc_trim."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    libc.malloc_trim(0)
    return True


def child(engine: str, n: int) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    sys.path.insert(0, str(HERE))
    import numpy_baseline
    from bookcache import REFERENCE_PRICE, book_of

    import gridmatch as gm

    if engine == "numpy-baseline":

        def run(book: Any) -> Any:
            return numpy_baseline.clear_midpoint(book)
    else:
        rule = engine.removeprefix("gridmatch-")

        def run(book: Any) -> Any:
            return gm.clear(book, rule=rule, reference_price=REFERENCE_PRICE)

    book = book_of(n)
    run(book_of(1_000))  # first-call set-up (imports, lazily built objects) is not the clearing's
    gc.collect()
    trimmed = trim_heap()
    reset_peak()
    before = status()
    if before["VmHWM"] > before["VmRSS"] + 64 * 1024:
        raise SystemExit(f"resetting VmHWM through /proc/self/clear_refs did not work here: {before}")
    result = run(book)
    after = status()
    if engine == "numpy-baseline":
        result_bytes, fills = result.filled.nbytes, 0
    else:
        result_bytes, fills = result.filled.nbytes + result.fills.nbytes, len(result.fills)
    return {
        "engine": engine,
        "orders": n,
        "book_bytes": book.nbytes,
        "rss_before": before["VmRSS"],
        "hwm_after": after["VmHWM"],
        "rss_after": after["VmRSS"],
        "result_bytes": result_bytes,
        "fills": fills,
        "malloc_trim": trimmed,
    }


def measure(engine: str, n: int) -> dict[str, Any]:
    """Runs `child` in a fresh interpreter and returns its figures."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(n)], check=True, capture_output=True, text=True
    ).stdout
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", nargs="?", type=int, default=1_000_000, help="orders in the book (default 1,000,000)")
    parser.add_argument("--engine", choices=ENGINES, action="append", help="measure only this (repeatable)")
    parser.add_argument("--child", metavar="ENGINE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.n)))
        return

    n = args.n
    print(f"extra peak memory of one clearing of {n:,} orders (fresh process each; VmHWM - VmRSS before)")
    print(f"{'':22} {'extra peak':>14} {'result arrays':>14} {'retained':>14}")
    for engine in args.engine or ENGINES:
        m = measure(engine, n)
        peak = (m["hwm_after"] - m["rss_before"]) / n
        result = m["result_bytes"] / n
        retained = (m["rss_after"] - m["rss_before"]) / n
        verdict = ""
        if engine.startswith("gridmatch"):
            met = "met" if peak <= TARGET_BYTES_PER_ORDER else "NOT met"
            verdict = f"  target <= {TARGET_BYTES_PER_ORDER} B/order: {met}"
        print(f"{engine:22} {peak:10.1f} B/o {result:10.1f} B/o {retained:10.1f} B/o  ({m['fills']:,} fills){verdict}")
    print(f"B/o = bytes per order; the book itself is {m['book_bytes'] / n:.0f} B/o and not counted;")
    print("retained = VmRSS after minus VmRSS before (the result is still alive then)")


if __name__ == "__main__":
    main()
