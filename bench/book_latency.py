"""Per-message latency of the continuous book from Python: median, p99, p99.9 and mean.

    .venv/bin/python bench/book_latency.py [N]        # N messages (default 200,000)

Each method runs in a fresh Python process (this script starts one per method) on the same
stream, `gridmatch.sim.messages.generate(N, seed=20240601)`, into a fresh book. Every message is
timed on its own with `time.perf_counter_ns` around one call; the figures include the timer's
own cost, which is measured (an empty timed call) and printed. The first `WARMUP` messages build
the book and are not counted. The garbage collector stays enabled.

Methods:

- ``process``: ``book.process(batch)`` with one-row batches (slices made beforehand): the batch
  path's fixed cost per call (array checks, releasing the GIL, the events array).
- ``calls``: the per-call methods ``book.submit``/``cancel``/``amend`` (arguments prepared
  beforehand), each returning its events as objects.
- ``liquibook``: liquibook's ``add``/``cancel``/``replace`` with an ``OrderListener``, as in
  ``book_engines.py`` (liquibook comes with requirements-dev.txt).
- ``reference``: ``tests/reference.py`` ``RefBook.process([row])`` one row at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

SEED = 20240601
WARMUP = 20_000
METHODS = ["process", "calls", "liquibook", "reference"]


def measure(method: str, n: int) -> dict[str, Any]:
    """Times every message of the stream with `method`; returns nanosecond statistics."""
    import book_engines as engines

    import gridmatch as gm
    from gridmatch.sim.messages import generate

    stream = generate(n, SEED)
    commands = stream.commands
    clock = time.perf_counter_ns
    ns = np.empty(n, np.int64)

    if method == "process":
        book = gm.OrderBook()
        process = book.process
        batches = [commands[i : i + 1] for i in range(n)]
        for i, batch in enumerate(batches):
            t = clock()
            process(batch)
            ns[i] = clock() - t
    elif method == "calls":
        book = gm.OrderBook()
        submit, cancel, amend = book.submit, book.cancel, book.amend
        for i, (op, args, kwargs) in enumerate(engines.GridmatchCalls(commands).calls):
            if op == 0:
                t = clock()
                submit(*args, **kwargs)
                ns[i] = clock() - t
            elif op == 1:
                t = clock()
                cancel(*args)
                ns[i] = clock() - t
            else:
                t = clock()
                amend(*args, **kwargs)
                ns[i] = clock() - t
    elif method == "liquibook":
        ns = _liquibook(engines.Liquibook(commands, stream.volume), clock, n)
    elif method == "reference":
        ref = engines.reference_module().RefBook(stp="none")
        rows = engines.reference_rows(commands)
        for i, row in enumerate(rows):
            one = [row]
            t = clock()
            ref.process(one)
            ns[i] = clock() - t
    else:
        raise ValueError(f"unknown method {method!r}")

    overhead = np.empty(100_000, np.int64)
    for i in range(len(overhead)):
        t = clock()
        overhead[i] = clock() - t
    counted = ns[WARMUP:] if n > 2 * WARMUP else ns
    return {
        "method": method,
        "messages": len(counted),
        "median_ns": float(np.median(counted)),
        "p99_ns": float(np.percentile(counted, 99)),
        "p999_ns": float(np.percentile(counted, 99.9)),
        "mean_ns": float(counted.mean()),
        "timer_ns": float(np.median(overhead)),
    }


def _liquibook(engine: Any, clock: Any, n: int) -> np.ndarray:
    """`Liquibook.replay` with listener, one message at a time, each timed."""
    lb = engine.lb
    book = lb.liquibook_book_OrderBook()
    listener = __import__("book_engines")._listener(lb)
    book.set_order_listener(listener)
    order_of: dict[int, Any] = {}
    qty_of = dict(engine.open_qty)
    add, cancel, replace, new_order = book.add, book.cancel, book.replace, lb.SimpleOrder
    ns = np.empty(n, np.int64)
    for i, (op, oid, is_buy, price, qty, conditions) in enumerate(engine.prepared):
        if op == 0:
            t = clock()
            order = new_order(is_buy, price, qty, 0, conditions)
            add(order, conditions)
            ns[i] = clock() - t
            if not conditions:
                order_of[oid] = order
        elif op == 1:
            order = order_of.pop(oid)
            t = clock()
            cancel(order)
            ns[i] = clock() - t
        else:
            order = order_of[oid]
            delta = 0 if qty < 0 else qty - qty_of[oid]
            t = clock()
            replace(order, delta, price)
            ns[i] = clock() - t
            order.accept()
            order.replace(delta, price or order.price())
            qty_of[oid] += delta
    assert listener.rejected == 0
    return ns


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] == "--method":
        n = int(argv[2]) if len(argv) > 2 else 200_000
        print(json.dumps(measure(argv[1], n)))
        return
    n = int(argv[0]) if argv else 200_000
    print(f"per-message latency, {n:,} messages (first {WARMUP:,} not counted), each method in a fresh process")
    print("| method | median | p99 | p99.9 | mean | timer (included) |")
    print("|---|---:|---:|---:|---:|---:|")
    for method in METHODS:
        out = subprocess.run(
            [sys.executable, __file__, "--method", method, str(n)], check=True, capture_output=True, text=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        cells = [_fmt(r[k]) for k in ("median_ns", "p99_ns", "p999_ns", "mean_ns", "timer_ns")]
        print(f"| {method} | " + " | ".join(cells) + " |")


def _fmt(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


if __name__ == "__main__":
    main(sys.argv[1:])
