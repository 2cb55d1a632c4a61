"""Replays of one command stream through gridmatch, the pure-Python reference and liquibook.

Every replay starts from an empty book and returns `Trades`: the number of fills, the traded
quantity, and the commands the book refused (or, for liquibook, could not find). The benchmarks
time these functions on streams of `gridmatch.sim.messages`; `python bench/book_engines.py [N]`
checks that they agree, and `python bench/book_engines.py --report RUN.json` renders the tables of
bench/RESULTS.md from the benchmark JSON.

- `gridmatch_process`: `gridmatch.OrderBook().process(commands)`, the batch path (one call).
- `GridmatchCalls`: the per-call methods `submit`/`cancel`/`amend`, one Python call per command
  (arguments prepared beforehand, as for liquibook).
- `replay_reference`: `tests/reference.py` `RefBook(stp="none").process(rows)` on the rows as dicts.
- `Liquibook`: liquibook 2.0.1 from PyPI (https://github.com/enewhuis/liquibook, SWIG wrapper by
  M. Kipnis), an open-source C++ price-time matching engine (its `OrderBook`, without the depth
  aggregation of `DepthOrderBook`). It has no batch call: the adapter loops over prepared tuples
  in Python, creating one `SimpleOrder` per submission and calling `add`/`cancel`/`replace`.
  With ``listener=True`` an `OrderListener` receives every accept, fill, cancel and replace (how
  liquibook reports to Python; fills are counted, as gridmatch's events are); with
  ``listener=False`` nothing is reported back (matching only).

How the stream's commands map onto liquibook, and where its rules differ from gridmatch's:

- GTC limit -> ``SimpleOrder(is_buy, price, qty)``; IOC limit and a market order with a
  protection price -> the same with ``oc_immediate_or_cancel`` (a protected market order trades
  like an IOC limit at its protection price in both); market order -> price 0 (liquibook's
  market price) with ``oc_immediate_or_cancel``; FOK -> ``oc_fill_or_kill``.
- Cancel -> ``book.cancel(order)`` on the order object kept by id.
- Amend -> ``book.replace(order, size_delta, new_price)``, then ``order.replace(...)`` so that the
  order object's price follows (liquibook finds an order by its object's price). Liquibook
  re-queues an order on **every** replace, also a quantity reduction, which keeps its place in
  gridmatch. On streams of `sim.messages` this changes no fill count or volume: every aggressive
  order there takes whole price levels, so the order of makers within a level does not matter.
- The adapter tracks open quantities itself (an order in these streams is never partly filled
  while it rests), to turn gridmatch's new quantity into liquibook's ``size_delta``.
- Liquibook has no self-trade prevention (gridmatch's ``stp="none"`` is used), no order ids of
  its own choosing (it numbers orders itself), no duplicate-id check and no tick/lot checks.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bookcache import reference_module

import gridmatch as gm
from gridmatch.book import Fill, Rejected
from gridmatch.sim.messages import (
    FLAG_AMEND_PRICE,
    FLAG_AMEND_QTY,
    FLAG_PROTECTED,
    KIND_MARKET,
    OP_AMEND,
    OP_CANCEL,
    OP_SUBMIT,
    TIF_FOK,
    TIF_GTC,
    TIF_IOC,
)

#: The PyPI release the adapter is written and checked against.
LIQUIBOOK_VERSION = "2.0.1"

FILL, REJECTED = 2, 1


class Trades(NamedTuple):
    fills: int
    volume: int
    rejected: int


# ------------------------------------------------------------------------------------ gridmatch


def gridmatch_process(commands: np.ndarray) -> Trades:
    """One `process` call on a fresh book."""
    events = gm.OrderBook().process(commands)
    return trades_of_events(events)


def trades_of_events(events: np.ndarray) -> Trades:
    kind = events["kind"]
    fills = kind == FILL
    return Trades(int(fills.sum()), int(events["qty"][fills].sum()), int((kind == REJECTED).sum()))


class GridmatchCalls:
    """The stream as per-call arguments of `OrderBook.submit`/`cancel`/`amend` (prepared once)."""

    def __init__(self, commands: np.ndarray) -> None:
        calls: list[tuple[int, tuple[Any, ...], dict[str, Any]]] = []
        for op, oid, trader, side, price, qty, tif, kind, flags, _, ts in commands.tolist():
            if op == OP_SUBMIT:
                tif_name = {TIF_GTC: "gtc", TIF_IOC: "ioc", TIF_FOK: "fok"}[tif]
                if kind == KIND_MARKET:
                    protection = price if flags & FLAG_PROTECTED else None
                    calls.append((op, (oid, trader, side, qty), {"tif": tif_name, "protection": protection, "ts": ts}))
                else:
                    calls.append((op, (oid, trader, side, qty, price), {"tif": tif_name, "ts": ts}))
            elif op == OP_CANCEL:
                calls.append((op, (oid,), {}))
            elif op == OP_AMEND:
                kwargs = {}
                if flags & FLAG_AMEND_QTY:
                    kwargs["qty"] = qty
                if flags & FLAG_AMEND_PRICE:
                    kwargs["price"] = price
                calls.append((op, (oid,), kwargs))
            else:
                raise ValueError(f"op {op} is not in these streams")
        self.calls = calls

    def replay(self, book: Any = None) -> Trades:
        """All calls on a fresh book (or `book`), collecting the events' fills."""
        book = gm.OrderBook() if book is None else book
        submit, cancel, amend = book.submit, book.cancel, book.amend
        fills = volume = rejected = 0
        for op, args, kwargs in self.calls:
            if op == OP_SUBMIT:
                events = submit(*args, **kwargs)
            elif op == OP_CANCEL:
                events = cancel(*args)
            else:
                events = amend(*args, **kwargs)
            for e in events:
                if type(e) is Fill:
                    fills += 1
                    volume += e.qty
                elif type(e) is Rejected:
                    rejected += 1
        return Trades(fills, volume, rejected)


# ------------------------------------------------------------------------------------ reference


def reference_rows(commands: np.ndarray) -> list[dict[str, int]]:
    """The rows as dicts, what `RefBook.process` reads (the conversion is not timed)."""
    names = commands.dtype.names
    assert names is not None
    return [dict(zip(names, row, strict=True)) for row in commands.tolist()]


def replay_reference(rows: Sequence[dict[str, int]]) -> Trades:
    events = reference_module().RefBook(stp="none").process(rows)
    fills = [e for e in events if e.kind == FILL]
    return Trades(len(fills), sum(e.qty for e in fills), sum(1 for e in events if e.kind == REJECTED))


# ------------------------------------------------------------------------------------ liquibook


class Liquibook:
    """The stream as liquibook calls (prepared once; see the module docstring for the mapping)."""

    def __init__(self, commands: np.ndarray, traded: np.ndarray | None = None) -> None:
        """`traded`: per command, what a submission traded on arrival (`MessageStream.volume`);
        needed when orders that traded on arrival are amended later (see `replay`)."""
        import liquibook

        self.lb = liquibook
        ioc, fok = int(liquibook.oc_immediate_or_cancel), int(liquibook.oc_fill_or_kill)
        prepared: list[tuple[int, int, bool, int, int, int]] = []
        self.open_qty: dict[int, int] = {}  # what a GTC submission leaves resting
        traded_list = [0] * len(commands) if traded is None else traded.tolist()
        for i, (op, oid, _, side, price, qty, tif, kind, flags, _, _) in enumerate(commands.tolist()):
            if op == OP_SUBMIT:
                conditions = fok if tif == TIF_FOK else ioc if tif == TIF_IOC else 0
                if kind == KIND_MARKET and not flags & FLAG_PROTECTED:
                    price = 0  # liquibook's market price
                prepared.append((op, oid, side > 0, price, qty, conditions))
                if not conditions:
                    self.open_qty[oid] = qty - traded_list[i]
            elif op == OP_CANCEL:
                prepared.append((op, oid, side > 0, 0, 0, 0))
            elif op == OP_AMEND:
                new_price = price if flags & FLAG_AMEND_PRICE else 0  # 0: liquibook's PRICE_UNCHANGED
                new_qty = qty if flags & FLAG_AMEND_QTY else -1
                prepared.append((op, oid, side > 0, new_price, new_qty, 0))
            else:
                raise ValueError(f"op {op} is not in these streams")
        self.prepared = prepared

    def replay(self, listener: bool = True) -> Trades:
        """All commands on a fresh book. Liquibook's replace takes a size *change*: the adapter
        keeps each order's open quantity, starting from what its submission left resting (in
        these streams a resting order is never partly filled, so only amendments change it)."""
        lb = self.lb
        book = lb.liquibook_book_OrderBook()
        report = _listener(lb) if listener else None
        if report is not None:
            book.set_order_listener(report)
        order_of: dict[int, Any] = {}
        qty_of = dict(self.open_qty)
        missing = 0
        add, cancel, replace, new_order = book.add, book.cancel, book.replace, lb.SimpleOrder
        for op, oid, is_buy, price, qty, conditions in self.prepared:
            if op == OP_SUBMIT:
                order = new_order(is_buy, price, qty, 0, conditions)
                add(order, conditions)  # the book reads the conditions given here, not the order's
                if not conditions:
                    order_of[oid] = order
            elif op == OP_CANCEL:
                order = order_of.pop(oid, None)
                if order is None:
                    missing += 1
                    continue
                cancel(order)
            else:
                order = order_of.get(oid)
                if order is None:
                    missing += 1
                    continue
                delta = 0 if qty < 0 else qty - qty_of[oid]
                replace(order, delta, price)
                order.accept()  # a SimpleOrder follows replace() only once accepted
                order.replace(delta, price or order.price())
                qty_of[oid] += delta
        if report is None:
            return Trades(0, 0, missing)
        return Trades(report.fills, report.volume, missing + report.rejected)


def _listener(lb: Any) -> Any:
    """An `OrderListener`; its class is made on first use, liquibook being optional."""
    global _LISTENER
    if _LISTENER is None:

        class Listener(lb.OrderListener):  # type: ignore[misc, name-defined]
            """Receives everything liquibook reports; counts fills, volume and rejections."""

            def __init__(self) -> None:
                lb.OrderListener.__init__(self)
                self.fills = self.volume = self.rejected = 0

            def on_accept(self, order: Any) -> None:
                pass

            def on_reject(self, order: Any, reason: str) -> None:
                self.rejected += 1

            def on_fill(self, passive: Any, aggressive: Any, qty: int, price: int) -> None:
                self.fills += 1
                self.volume += qty

            def on_cancel(self, order: Any) -> None:
                pass

            def on_cancel_reject(self, order: Any, reason: str) -> None:
                self.rejected += 1

            def on_replace(self, order: Any, size_delta: int, new_price: int) -> None:
                pass

            def on_replace_reject(self, order: Any, reason: str) -> None:
                self.rejected += 1

        _LISTENER = Listener
    return _LISTENER()


_LISTENER: Any = None


# ------------------------------------------------------------------------------------ agreement


def agreement(n: int = 20_000, seed: int = 1) -> dict[str, Trades]:
    """Every engine on one stream of `n` messages: fills, volume, refusals."""
    from gridmatch.sim.messages import generate

    stream = generate(n, seed)
    results = {
        "designed": Trades(int(stream.makers.sum()), int(stream.volume.sum()), 0),
        "gridmatch.process": gridmatch_process(stream.commands),
        "gridmatch per-call": GridmatchCalls(stream.commands).replay(),
        "tests/reference.py": replay_reference(reference_rows(stream.commands)),
        "liquibook": Liquibook(stream.commands, stream.volume).replay(),
    }
    return results


# ------------------------------------------------------------------------------------ report

LABELS = {
    "test_gridmatch_process": "gridmatch `OrderBook.process` (one batch call)",
    "test_gridmatch_calls": "gridmatch `submit`/`cancel`/`amend` (one call per message)",
    "test_reference": "tests/reference.py `RefBook.process`",
    "test_liquibook[events": "liquibook 2.0.1, Python loop, OrderListener",
    "test_liquibook[matching-only": "liquibook 2.0.1, Python loop, no listener",
}


def report(path: str) -> str:
    """Markdown tables of `test_bench_book.py` results from a pytest-benchmark JSON file:
    median and min per run, messages/s at the median, and how many times slower than
    `OrderBook.process` each is (medians, same run)."""
    import json

    data = json.loads(Path(path).read_text())
    rows: dict[int, list[tuple[str, dict[str, float]]]] = {}
    for bench in data["benchmarks"]:
        label = next((text for key, text in LABELS.items() if bench["name"].startswith(key)), None)
        if label is None:
            continue
        rows.setdefault(int(bench["extra_info"]["messages"]), []).append((label, bench["stats"]))
    out = []
    for n in sorted(rows):
        out.append(f"**{n:,} messages**\n")
        out.append("| engine | median | min | rounds | messages/s (median) | time vs `process` |")
        out.append("|---|---:|---:|---:|---:|---:|")
        base = next(stats["median"] for label, stats in rows[n] if "process" in label)
        for label, stats in sorted(rows[n], key=lambda r: r[1]["median"]):
            ratio = stats["median"] / base
            out.append(
                f"| {label} | {_seconds(stats['median'])} | {_seconds(stats['min'])} | {stats['rounds']} | "
                f"{n / stats['median'] / 1e6:.2f} M | {ratio:.1f}x |"
            )
        out.append("")
    return "\n".join(out)


def _seconds(s: float) -> str:
    if s < 0.01:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--report":
        print(report(sys.argv[2]))
    else:
        size = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
        for name, result in agreement(size).items():
            print(f"{name:20} fills {result.fills:>9,}  volume {result.volume:>13,}  refused {result.rejected}")
