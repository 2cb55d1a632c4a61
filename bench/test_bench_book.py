"""The continuous order book from Python: gridmatch against the reference and liquibook, same run.

Streams: `gridmatch.sim.messages.generate(n, seed=SEED)`, L3-like order flow (about 53 % passive
adds near the touch over ~300 levels a side, 38 % cancels, 4 % amends, 4 % aggressive orders
sweeping whole levels), built once per size. Every benchmark processes the whole stream into a
fresh, empty book (made outside the timing by `benchmark.pedantic`'s setup) and checks that it
traded exactly the fills and volume the generator designed, with no command refused.

Groups (one per size, 1e4 .. 1e6 messages):

- ``test_gridmatch_process``: ``OrderBook().process(commands)``, the batch path: one call on
  the ``COMMAND_DTYPE`` array, returning every event as an ``EVENT_DTYPE`` array.
- ``test_gridmatch_calls``: the per-call methods ``submit``/``cancel``/``amend``, one Python
  call per message, each returning its events as objects (arguments prepared beforehand).
  Up to 1e5 messages.
- ``test_reference``: ``tests/reference.py`` ``RefBook(stp="none").process(rows)``, pure Python,
  on the rows as dicts (conversion not timed). Up to 1e5 messages.
- ``test_liquibook``: liquibook 2.0.1 (C++ engine, SWIG wrapper from PyPI) driven by a Python
  loop over prepared tuples, with an ``OrderListener`` receiving what it reports ("events") or
  with none ("matching only"); see ``book_engines.py``. Skipped when liquibook is not installed.

Rounds: one warm-up round, then a fixed number of rounds (`ROUNDS`), one iteration each.
``test_engines_agree`` is a plain test (``--benchmark-only`` skips it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from book_engines import (
    GridmatchCalls,
    Liquibook,
    Trades,
    gridmatch_process,
    reference_rows,
    replay_reference,
)

import gridmatch as gm
from gridmatch.sim.messages import MessageStream, generate

SEED = 20240601
SIZES = [10_000, 100_000, 1_000_000]
SLOW_SIZES = [10_000, 100_000]  # per-call gridmatch and the pure-Python reference
ROUNDS = {10_000: 50, 100_000: 20, 1_000_000: 10}
SLOW_ROUNDS = {10_000: 10, 100_000: 3}


def size_name(n: int) -> str:
    exponent = round(math.log10(n))
    return f"1e{exponent}" if 10**exponent == n else str(n)


@functools.cache
def stream_of(n: int) -> MessageStream:
    stream = generate(n, SEED)
    stream.commands.flags.writeable = False  # every benchmark processes the very same bytes
    return stream


def designed(stream: MessageStream) -> Trades:
    return Trades(int(stream.makers.sum()), int(stream.volume.sum()), 0)


def run(benchmark: Any, n: int, rounds: int, fn: Callable[..., Any], setup: Callable[[], Any]) -> Any:
    """`fn(*setup())` timed on fresh state each round; returns the last result."""
    benchmark.group = f"book {size_name(n)} messages"
    benchmark.extra_info["messages"] = n
    results: list[Any] = []

    def target(*args: Any) -> Any:
        result = fn(*args)
        results[:] = [result]  # keep one: 1e6 messages make 75 MB of events
        return result

    benchmark.pedantic(target, setup=lambda: (setup(), {}), rounds=rounds, iterations=1, warmup_rounds=1)
    return results[-1]


@pytest.mark.parametrize("n", SIZES, ids=size_name)
def test_gridmatch_process(benchmark: Any, n: int) -> None:
    stream = stream_of(n)
    events = run(benchmark, n, ROUNDS[n], lambda book: book.process(stream.commands), lambda: (gm.OrderBook(),))
    assert events_trades(events) == designed(stream)


def events_trades(events: np.ndarray) -> Trades:
    kind = events["kind"]
    fills = kind == 2
    return Trades(int(fills.sum()), int(events["qty"][fills].sum()), int((kind == 1).sum()))


@pytest.mark.parametrize("n", SLOW_SIZES, ids=size_name)
def test_gridmatch_calls(benchmark: Any, n: int) -> None:
    stream = stream_of(n)
    calls = GridmatchCalls(stream.commands)
    result = run(benchmark, n, SLOW_ROUNDS[n], calls.replay, lambda: (gm.OrderBook(),))
    assert result == designed(stream)


@pytest.mark.parametrize("n", SLOW_SIZES, ids=size_name)
def test_reference(benchmark: Any, n: int) -> None:
    stream = stream_of(n)
    rows = reference_rows(stream.commands)
    result = run(benchmark, n, SLOW_ROUNDS[n], replay_reference, lambda: (rows,))
    assert result == designed(stream)


@pytest.mark.parametrize("n", SIZES, ids=size_name)
@pytest.mark.parametrize("listener", [True, False], ids=["events", "matching-only"])
def test_liquibook(benchmark: Any, n: int, listener: bool) -> None:
    stream = stream_of(n)
    engine = Liquibook(stream.commands, stream.volume)
    rounds = SLOW_ROUNDS.get(n, 5)
    result = run(benchmark, n, rounds, engine.replay, lambda: (listener,))
    if listener:
        assert result == designed(stream)
    else:
        assert result == Trades(0, 0, 0)  # nothing reported back; nothing missing either


@pytest.mark.parametrize("n", [2_000, 30_000])
def test_engines_agree(n: int) -> None:
    """Same fills, volume and no refusals in every engine, as designed by the generator."""
    stream = generate(n, SEED + n)
    expected = designed(stream)
    assert gridmatch_process(stream.commands) == expected
    assert GridmatchCalls(stream.commands).replay() == expected
    assert replay_reference(reference_rows(stream.commands)) == expected
    assert Liquibook(stream.commands, stream.volume).replay() == expected
