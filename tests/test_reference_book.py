"""Hand-checked tests of the reference continuous order book (RefBook in tests/reference.py), so that
the oracle the engine's book is compared with is itself trusted.

The scenario tables read: the book's set-up commands, one incoming command, the events it must
produce and the resting orders afterwards. Every expected event was worked out by hand from the
semantics contract (book_semantics.md). The hypothesis tests at the end check invariants of the
contract on random command streams. No gridmatch import: plain pytest (+ hypothesis).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

# tests/ is on sys.path (conftest.py)
from reference import (
    ACCEPTED,
    AMEND_PRICE,
    AMEND_QTY,
    AMENDED,
    CALL_PHASE,
    CANCELLED,
    DUPLICATE_ID,
    EXPIRED,
    EXPIRY_PASSED,
    FILL,
    FOK,
    GTC,
    GTD,
    INVALID_KIND,
    INVALID_OP,
    INVALID_SIDE,
    INVALID_TIF,
    IOC,
    KEPT_PRIORITY,
    KILLED,
    LIMIT,
    MAKER_DONE,
    MARKET,
    NOTHING_TO_AMEND,
    OFF_LOT,
    OFF_TICK,
    OP_AMEND,
    OP_CANCEL,
    OP_EXPIRE,
    OP_SUBMIT,
    POST_ONLY,
    PROTECTED,
    REJECTED,
    SELF_TRADE,
    STP_MODES,
    TAKER_DONE,
    UNFILLED,
    UNKNOWN_ID,
    USER,
    WOULD_CROSS,
    ZERO_QUANTITY,
    RefBook,
    RefEvent,
    RefOrder,
    clear,
)

B, S = 1, -1
MD, TD = MAKER_DONE, TAKER_DONE


# -- commands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cmd:
    method: str
    args: tuple
    kwargs: dict = field(default_factory=dict)

    def run(self, book: RefBook) -> list[RefEvent]:
        return getattr(book, self.method)(*self.args, **self.kwargs)


def buy(id, price, qty, trader=1, **kw):
    return Cmd("submit", (id, trader, B, price, qty), kw)


def sell(id, price, qty, trader=1, **kw):
    return Cmd("submit", (id, trader, S, price, qty), kw)


def submit(id, side, price, qty, trader=1, **kw):
    return Cmd("submit", (id, trader, side, price, qty), kw)


def mbuy(id, qty, trader=1, tif=IOC, **kw):
    """A market buy; its price argument (ignored) is 0."""
    return Cmd("submit", (id, trader, B, 0, qty), {"kind": MARKET, "tif": tif, **kw})


def msell(id, qty, trader=1, tif=IOC, **kw):
    return Cmd("submit", (id, trader, S, 0, qty), {"kind": MARKET, "tif": tif, **kw})


def cancel(id, trader=0):
    return Cmd("cancel", (id,), {"trader": trader})


def amend(id, qty=None, price=None, trader=0):
    return Cmd("amend", (id,), {"qty": qty, "price": price, "trader": trader})


def expire(now):
    return Cmd("expire", (now,))


def phase(name):
    return Cmd("set_phase", (name,))


CALL = phase("call")


# -- expected events ----------------------------------------------------------------------------


def acc(id, trader, side, price, qty):
    return RefEvent(kind=ACCEPTED, id=id, trader=trader, side=side, price=price, qty=qty)


def rej(id, trader, reason):
    return RefEvent(kind=REJECTED, id=id, trader=trader, reason=reason)


def fill(id, trader, maker, maker_trader, side, price, qty, flags=0):
    return RefEvent(
        kind=FILL,
        id=id,
        trader=trader,
        maker_id=maker,
        maker_trader=maker_trader,
        side=side,
        price=price,
        qty=qty,
        flags=flags,
    )


def cxl(id, trader, side, price, qty, reason):
    return RefEvent(kind=CANCELLED, id=id, trader=trader, side=side, price=price, qty=qty, reason=reason)


def amd(id, trader, side, price, qty, flags=0):
    return RefEvent(kind=AMENDED, id=id, trader=trader, side=side, price=price, qty=qty, flags=flags)


# -- the scenario runner ------------------------------------------------------------------------


def resting(book: RefBook) -> list[tuple[int, int, int, int, int]]:
    """(id, trader, side, price, qty) of every resting order: bids best first, then asks, FIFO."""
    return [o[:5] for o in book.orders()]


def make_book(setup, stp="none", tick=None, lot=None) -> RefBook:
    book = RefBook(stp=stp, tick=tick, lot=lot)
    for c in setup:
        events = c.run(book) or []  # set_phase returns None
        assert all(e.kind != REJECTED for e in events), (c, events)
    return book


def case(name, setup, command, events, after, **config):
    return pytest.param(setup, command, events, after, config, id=name)


def check(setup, command, events, after, config):
    book = make_book(setup, **config)
    assert command.run(book) == events
    assert resting(book) == after


# The ladder most tables start from: asks 101: [1 (5, trader 1), 2 (3, trader 2)], 102: [3 (4, trader 3)].
ASKS = [sell(1, 101, 5, trader=1), sell(2, 101, 3, trader=2), sell(3, 102, 4, trader=3)]
ASKS_AFTER = [(1, 1, S, 101, 5), (2, 2, S, 101, 3), (3, 3, S, 102, 4)]
# and bids 100: [4 (2, trader 1), 5 (2, trader 2)], 99: [6 (2, trader 3)]
BIDS = [buy(4, 100, 2, trader=1), buy(5, 100, 2, trader=2), buy(6, 99, 2, trader=3)]

MATCHING = [
    case(
        "fifo in a level, then the next price",
        ASKS,
        buy(10, 102, 10, trader=4),
        [
            acc(10, 4, B, 102, 10),
            fill(10, 4, 1, 1, B, 101, 5, MD),
            fill(10, 4, 2, 2, B, 101, 3, MD),
            fill(10, 4, 3, 3, B, 102, 2, TD),
        ],
        [(3, 3, S, 102, 2)],
    ),
    case(
        "a sell takes the highest bids first, fifo in a level",
        BIDS,
        sell(10, 99, 5, trader=4),
        [
            acc(10, 4, S, 99, 5),
            fill(10, 4, 4, 1, S, 100, 2, MD),
            fill(10, 4, 5, 2, S, 100, 2, MD),
            fill(10, 4, 6, 3, S, 99, 1, TD),
        ],
        [(6, 3, B, 99, 1)],
    ),
    case(
        "trades at the maker's price, not the taker's limit",
        [sell(1, 101, 5)],
        buy(10, 150, 5, trader=4),
        [acc(10, 4, B, 150, 5), fill(10, 4, 1, 1, B, 101, 5, MD | TD)],
        [],
    ),
    case(
        "a sell far below the bid trades at the bid",
        [buy(1, 99, 5)],
        sell(10, 50, 2, trader=4),
        [acc(10, 4, S, 50, 2), fill(10, 4, 1, 1, S, 99, 2, TD)],
        [(1, 1, B, 99, 3)],
    ),
    case(
        "partial fill of the taker: its remainder rests at its limit",
        [sell(1, 101, 5)],
        buy(10, 101, 8, trader=4),
        [acc(10, 4, B, 101, 8), fill(10, 4, 1, 1, B, 101, 5, MD)],
        [(10, 4, B, 101, 3)],
    ),
    case(
        "partial fill of the maker: it keeps its place",
        ASKS,
        buy(10, 101, 2, trader=4),
        [acc(10, 4, B, 101, 2), fill(10, 4, 1, 1, B, 101, 2, TD)],
        [(1, 1, S, 101, 3), (2, 2, S, 101, 3), (3, 3, S, 102, 4)],
    ),
    case(
        "no trade beyond the limit: the rest rests, the book is not crossed",
        ASKS,
        buy(10, 101, 10, trader=4),
        [acc(10, 4, B, 101, 10), fill(10, 4, 1, 1, B, 101, 5, MD), fill(10, 4, 2, 2, B, 101, 3, MD)],
        [(10, 4, B, 101, 2), (3, 3, S, 102, 4)],
    ),
    case(
        "a resting order joins the back of its level",
        BIDS,
        buy(10, 100, 1, trader=4),
        [acc(10, 4, B, 100, 1)],
        [(4, 1, B, 100, 2), (5, 2, B, 100, 2), (10, 4, B, 100, 1), (6, 3, B, 99, 2)],
    ),
    case(
        "a new best level goes in front",
        BIDS,
        buy(10, 101, 1, trader=4),
        [acc(10, 4, B, 101, 1)],
        [(10, 4, B, 101, 1), (4, 1, B, 100, 2), (5, 2, B, 100, 2), (6, 3, B, 99, 2)],
    ),
    case(
        "negative prices",
        [sell(1, -5, 2), sell(2, -3, 2)],
        buy(10, -4, 3, trader=4),
        [acc(10, 4, B, -4, 3), fill(10, 4, 1, 1, B, -5, 2, MD)],
        [(10, 4, B, -4, 1), (2, 1, S, -3, 2)],
    ),
]

TIME_IN_FORCE = [
    case(
        "IOC: the remainder is cancelled, Unfilled",
        [sell(1, 101, 5)],
        buy(10, 101, 8, trader=4, tif=IOC),
        [acc(10, 4, B, 101, 8), fill(10, 4, 1, 1, B, 101, 5, MD), cxl(10, 4, B, 101, 3, UNFILLED)],
        [],
    ),
    case(
        "IOC that does not cross: all of it Unfilled",
        [sell(1, 101, 5)],
        buy(10, 100, 8, trader=4, tif=IOC),
        [acc(10, 4, B, 100, 8), cxl(10, 4, B, 100, 8, UNFILLED)],
        [(1, 1, S, 101, 5)],
    ),
    case(
        "IOC filled completely: no cancellation",
        [sell(1, 101, 5)],
        buy(10, 101, 5, trader=4, tif=IOC),
        [acc(10, 4, B, 101, 5), fill(10, 4, 1, 1, B, 101, 5, MD | TD)],
        [],
    ),
    case(
        "FOK that fills: across levels, exactly the crossing quantity",
        ASKS,
        buy(10, 102, 12, trader=4, tif=FOK),
        [
            acc(10, 4, B, 102, 12),
            fill(10, 4, 1, 1, B, 101, 5, MD),
            fill(10, 4, 2, 2, B, 101, 3, MD),
            fill(10, 4, 3, 3, B, 102, 4, MD | TD),
        ],
        [],
    ),
    case(
        "FOK one short: killed whole, no fills, book unchanged",
        ASKS,
        buy(10, 102, 13, trader=4, tif=FOK),
        [acc(10, 4, B, 102, 13), cxl(10, 4, B, 102, 13, KILLED)],
        ASKS_AFTER,
    ),
    case(
        "FOK killed by its limit (only 8 at or below 101)",
        ASKS,
        buy(10, 101, 9, trader=4, tif=FOK),
        [acc(10, 4, B, 101, 9), cxl(10, 4, B, 101, 9, KILLED)],
        ASKS_AFTER,
    ),
    case(
        "FOK on an empty side: killed",
        [],
        sell(10, 100, 1, trader=4, tif=FOK),
        [acc(10, 4, S, 100, 1), cxl(10, 4, S, 100, 1, KILLED)],
        [],
    ),
    case(
        "market buy without protection walks the book",
        ASKS,
        mbuy(10, 10, trader=4),
        [
            acc(10, 4, B, 0, 10),
            fill(10, 4, 1, 1, B, 101, 5, MD),
            fill(10, 4, 2, 2, B, 101, 3, MD),
            fill(10, 4, 3, 3, B, 102, 2, TD),
        ],
        [(3, 3, S, 102, 2)],
    ),
    case(
        "market buy larger than the book: the rest Unfilled at price 0",
        ASKS,
        mbuy(10, 20, trader=4),
        [
            acc(10, 4, B, 0, 20),
            fill(10, 4, 1, 1, B, 101, 5, MD),
            fill(10, 4, 2, 2, B, 101, 3, MD),
            fill(10, 4, 3, 3, B, 102, 4, MD),
            cxl(10, 4, B, 0, 8, UNFILLED),
        ],
        [],
    ),
    case(
        "market buy with protection 101 stops there; events show the protection",
        ASKS,
        mbuy(10, 10, trader=4, protection=101),
        [
            acc(10, 4, B, 101, 10),
            fill(10, 4, 1, 1, B, 101, 5, MD),
            fill(10, 4, 2, 2, B, 101, 3, MD),
            cxl(10, 4, B, 101, 2, UNFILLED),
        ],
        [(3, 3, S, 102, 4)],
    ),
    case(
        "market sell with protection 100 takes only the 100 level",
        BIDS,
        msell(10, 5, trader=4, protection=100),
        [
            acc(10, 4, S, 100, 5),
            fill(10, 4, 4, 1, S, 100, 2, MD),
            fill(10, 4, 5, 2, S, 100, 2, MD),
            cxl(10, 4, S, 100, 1, UNFILLED),
        ],
        [(6, 3, B, 99, 2)],
    ),
    case(
        "market sell into an empty book",
        [],
        msell(10, 5, trader=4),
        [acc(10, 4, S, 0, 5), cxl(10, 4, S, 0, 5, UNFILLED)],
        [],
    ),
    case(
        "market FOK with protection: killed when the protected depth is short",
        ASKS,
        mbuy(10, 9, trader=4, tif=FOK, protection=101),
        [acc(10, 4, B, 101, 9), cxl(10, 4, B, 101, 9, KILLED)],
        ASKS_AFTER,
    ),
    case(
        "market FOK without protection fills across levels",
        ASKS,
        mbuy(10, 9, trader=4, tif=FOK),
        [
            acc(10, 4, B, 0, 9),
            fill(10, 4, 1, 1, B, 101, 5, MD),
            fill(10, 4, 2, 2, B, 101, 3, MD),
            fill(10, 4, 3, 3, B, 102, 1, TD),
        ],
        [(3, 3, S, 102, 3)],
    ),
    case(
        "post-only buy at the best ask: WouldCross, nothing changes",
        ASKS,
        buy(10, 101, 1, trader=4, post_only=True),
        [rej(10, 4, WOULD_CROSS)],
        ASKS_AFTER,
    ),
    case(
        "post-only sell at the best bid: WouldCross",
        BIDS,
        sell(10, 100, 1, trader=4, post_only=True),
        [rej(10, 4, WOULD_CROSS)],
        [(4, 1, B, 100, 2), (5, 2, B, 100, 2), (6, 3, B, 99, 2)],
    ),
    case(
        "post-only one tick inside the spread rests",
        ASKS,
        buy(10, 100, 1, trader=4, post_only=True),
        [acc(10, 4, B, 100, 1)],
        [(10, 4, B, 100, 1), *ASKS_AFTER],
    ),
    case(
        "post-only GTD on an empty side rests",
        [],
        sell(10, 100, 1, trader=4, post_only=True, tif=GTD, expiry=9),
        [acc(10, 4, S, 100, 1)],
        [(10, 4, S, 100, 1)],
    ),
]

# GTD orders for the expiry tables: expiries 20, 10, -, 10 (arrival 1, 2, 3, 4)
GTDS = [
    buy(1, 100, 1, tif=GTD, expiry=20),
    buy(2, 99, 2, tif=GTD, expiry=10),
    buy(3, 98, 3),
    buy(4, 97, 4, tif=GTD, expiry=10),
]

EXPIRY = [
    case(
        "expire: only expiry <= now",
        GTDS,
        expire(10),
        [cxl(2, 1, B, 99, 2, EXPIRED), cxl(4, 1, B, 97, 4, EXPIRED)],
        [(1, 1, B, 100, 1), (3, 1, B, 98, 3)],
    ),
    case(
        "expire: in order of (expiry, arrival), not of price",
        GTDS,
        expire(25),
        [cxl(2, 1, B, 99, 2, EXPIRED), cxl(4, 1, B, 97, 4, EXPIRED), cxl(1, 1, B, 100, 1, EXPIRED)],
        [(3, 1, B, 98, 3)],
    ),
    case(
        "expire: nothing due, no events",
        GTDS,
        expire(9),
        [],
        [(1, 1, B, 100, 1), (2, 1, B, 99, 2), (3, 1, B, 98, 3), (4, 1, B, 97, 4)],
    ),
    case(
        "expire: arrival across sides, the remaining quantity",
        [sell(1, 105, 5, tif=GTD, expiry=5), buy(2, 95, 5, tif=GTD, expiry=5), buy(3, 105, 2, trader=2)],
        expire(5),
        [cxl(1, 1, S, 105, 3, EXPIRED), cxl(2, 1, B, 95, 5, EXPIRED)],
        [],
    ),
    case(
        "expire: an amendment that lost priority arrives anew",
        [*GTDS, amend(2, qty=5)],
        expire(10),
        [cxl(4, 1, B, 97, 4, EXPIRED), cxl(2, 1, B, 99, 5, EXPIRED)],
        [(1, 1, B, 100, 1), (3, 1, B, 98, 3)],
    ),
    case(
        "GTD before any expire: any expiry is taken",
        [],
        buy(1, 100, 1, tif=GTD, expiry=0),
        [acc(1, 1, B, 100, 1)],
        [(1, 1, B, 100, 1)],
    ),
    case(
        "GTD after expire(10): expiry 10 has passed",
        [expire(10)],
        buy(1, 100, 1, tif=GTD, expiry=10),
        [rej(1, 1, EXPIRY_PASSED)],
        [],
    ),
    case(
        "GTD after expire(10): expiry 11 is taken",
        [expire(10)],
        buy(1, 100, 1, tif=GTD, expiry=11),
        [acc(1, 1, B, 100, 1)],
        [(1, 1, B, 100, 1)],
    ),
    case(
        "now never goes back: expire(10) then expire(5) keeps now at 10",
        [expire(10), expire(5)],
        buy(1, 100, 1, tif=GTD, expiry=8),
        [rej(1, 1, EXPIRY_PASSED)],
        [],
    ),
    case(
        "a GTC order never expires",
        [buy(1, 100, 1), expire(3), buy(2, 99, 1, tif=GTD, expiry=4)],
        expire(4),
        [cxl(2, 1, B, 99, 1, EXPIRED)],
        [(1, 1, B, 100, 1)],
    ),
]

# Self-trade prevention. Asks 101: [2 (3, trader 2), 1 (5, trader 1)], 102: [3 (4, trader 3)];
# the incoming buy is trader 1's, so order 1 is its own.
STP_ASKS = [sell(2, 101, 3, trader=2), sell(1, 101, 5, trader=1), sell(3, 102, 4, trader=3)]
STP_ASKS_AFTER = [(2, 2, S, 101, 3), (1, 1, S, 101, 5), (3, 3, S, 102, 4)]

STP = [
    case(
        "none: a trader trades with itself",
        STP_ASKS,
        buy(10, 102, 10, trader=1),
        [
            acc(10, 1, B, 102, 10),
            fill(10, 1, 2, 2, B, 101, 3, MD),
            fill(10, 1, 1, 1, B, 101, 5, MD),
            fill(10, 1, 3, 3, B, 102, 2, TD),
        ],
        [(3, 3, S, 102, 2)],
        stp="none",
    ),
    case(
        "cancel_newest: the taker's remainder goes, the maker stays",
        STP_ASKS,
        buy(10, 102, 10, trader=1),
        [acc(10, 1, B, 102, 10), fill(10, 1, 2, 2, B, 101, 3, MD), cxl(10, 1, B, 102, 7, SELF_TRADE)],
        [(1, 1, S, 101, 5), (3, 3, S, 102, 4)],
        stp="cancel_newest",
    ),
    case(
        "cancel_newest on a market order: cancelled at price 0",
        STP_ASKS,
        mbuy(10, 10, trader=1),
        [acc(10, 1, B, 0, 10), fill(10, 1, 2, 2, B, 101, 3, MD), cxl(10, 1, B, 0, 7, SELF_TRADE)],
        [(1, 1, S, 101, 5), (3, 3, S, 102, 4)],
        stp="cancel_newest",
    ),
    case(
        "cancel_oldest: the maker goes, matching goes on, the rest rests",
        STP_ASKS,
        buy(10, 102, 10, trader=1),
        [
            acc(10, 1, B, 102, 10),
            fill(10, 1, 2, 2, B, 101, 3, MD),
            cxl(1, 1, S, 101, 5, SELF_TRADE),
            fill(10, 1, 3, 3, B, 102, 4, MD),
        ],
        [(10, 1, B, 102, 3)],
        stp="cancel_oldest",
    ),
    case(
        "cancel_both: maker then taker",
        STP_ASKS,
        buy(10, 102, 10, trader=1),
        [
            acc(10, 1, B, 102, 10),
            fill(10, 1, 2, 2, B, 101, 3, MD),
            cxl(1, 1, S, 101, 5, SELF_TRADE),
            cxl(10, 1, B, 102, 7, SELF_TRADE),
        ],
        [(3, 3, S, 102, 4)],
        stp="cancel_both",
    ),
    case(
        "decrement, taker larger: the maker goes, the taker goes on with 2",
        STP_ASKS,
        buy(10, 102, 10, trader=1),
        [
            acc(10, 1, B, 102, 10),
            fill(10, 1, 2, 2, B, 101, 3, MD),
            cxl(1, 1, S, 101, 5, SELF_TRADE),
            cxl(10, 1, B, 102, 5, SELF_TRADE),
            fill(10, 1, 3, 3, B, 102, 2, TD),
        ],
        [(3, 3, S, 102, 2)],
        stp="decrement",
    ),
    case(
        "decrement, maker larger: the maker keeps 2 and its place, the taker is done",
        STP_ASKS,
        buy(10, 102, 6, trader=1),
        [
            acc(10, 1, B, 102, 6),
            fill(10, 1, 2, 2, B, 101, 3, MD),
            cxl(1, 1, S, 101, 3, SELF_TRADE),
            cxl(10, 1, B, 102, 3, SELF_TRADE),
        ],
        [(1, 1, S, 101, 2), (3, 3, S, 102, 4)],
        stp="decrement",
    ),
    case(
        "decrement, equal: both are done",
        STP_ASKS,
        buy(10, 102, 8, trader=1),
        [
            acc(10, 1, B, 102, 8),
            fill(10, 1, 2, 2, B, 101, 3, MD),
            cxl(1, 1, S, 101, 5, SELF_TRADE),
            cxl(10, 1, B, 102, 5, SELF_TRADE),
        ],
        [(3, 3, S, 102, 4)],
        stp="decrement",
    ),
    case(
        "decrement, taker larger with a remainder that rests",
        [sell(1, 101, 5, trader=1)],
        buy(10, 101, 8, trader=1),
        [acc(10, 1, B, 101, 8), cxl(1, 1, S, 101, 5, SELF_TRADE), cxl(10, 1, B, 101, 5, SELF_TRADE)],
        [(10, 1, B, 101, 3)],
        stp="decrement",
    ),
    case(
        "stp does not touch other traders' orders",
        ASKS,
        buy(10, 102, 10, trader=4),
        [
            acc(10, 4, B, 102, 10),
            fill(10, 4, 1, 1, B, 101, 5, MD),
            fill(10, 4, 2, 2, B, 101, 3, MD),
            fill(10, 4, 3, 3, B, 102, 2, TD),
        ],
        [(3, 3, S, 102, 2)],
        stp="cancel_both",
    ),
    case(
        "FOK, cancel_oldest: the own maker is not counted (3 + 4 = 7) and is cancelled",
        STP_ASKS,
        buy(10, 102, 7, trader=1, tif=FOK),
        [
            acc(10, 1, B, 102, 7),
            fill(10, 1, 2, 2, B, 101, 3, MD),
            cxl(1, 1, S, 101, 5, SELF_TRADE),
            fill(10, 1, 3, 3, B, 102, 4, MD | TD),
        ],
        [],
        stp="cancel_oldest",
    ),
    case(
        "FOK, cancel_oldest: 8 > 3 + 4: killed, the own maker stays",
        STP_ASKS,
        buy(10, 102, 8, trader=1, tif=FOK),
        [acc(10, 1, B, 102, 8), cxl(10, 1, B, 102, 8, KILLED)],
        STP_ASKS_AFTER,
        stp="cancel_oldest",
    ),
    case(
        "FOK, cancel_newest: counting stops at the own maker (3 < 4): killed",
        STP_ASKS,
        buy(10, 102, 4, trader=1, tif=FOK),
        [acc(10, 1, B, 102, 4), cxl(10, 1, B, 102, 4, KILLED)],
        STP_ASKS_AFTER,
        stp="cancel_newest",
    ),
    case(
        "FOK, cancel_newest: 3 before the own maker is enough for 3",
        STP_ASKS,
        buy(10, 102, 3, trader=1, tif=FOK),
        [acc(10, 1, B, 102, 3), fill(10, 1, 2, 2, B, 101, 3, MD | TD)],
        [(1, 1, S, 101, 5), (3, 3, S, 102, 4)],
        stp="cancel_newest",
    ),
    case(
        "FOK, decrement: counting stops at the own maker: killed",
        STP_ASKS,
        buy(10, 102, 4, trader=1, tif=FOK),
        [acc(10, 1, B, 102, 4), cxl(10, 1, B, 102, 4, KILLED)],
        STP_ASKS_AFTER,
        stp="decrement",
    ),
    case(
        "FOK, cancel_both: counting stops at the own maker: killed",
        STP_ASKS,
        buy(10, 102, 4, trader=1, tif=FOK),
        [acc(10, 1, B, 102, 4), cxl(10, 1, B, 102, 4, KILLED)],
        STP_ASKS_AFTER,
        stp="cancel_both",
    ),
]

# Amendments. Bids 100: [1 (5, trader 1), 2 (5, trader 2)], 99: [3 (1, trader 3)].
AMEND_BIDS = [buy(1, 100, 5, trader=1), buy(2, 100, 5, trader=2), buy(3, 99, 1, trader=3)]

AMEND = [
    case(
        "qty down keeps the place",
        AMEND_BIDS,
        amend(1, qty=3),
        [amd(1, 1, B, 100, 3, KEPT_PRIORITY)],
        [(1, 1, B, 100, 3), (2, 2, B, 100, 5), (3, 3, B, 99, 1)],
    ),
    case(
        "the same qty keeps the place",
        AMEND_BIDS,
        amend(1, qty=5),
        [amd(1, 1, B, 100, 5, KEPT_PRIORITY)],
        [(1, 1, B, 100, 5), (2, 2, B, 100, 5), (3, 3, B, 99, 1)],
    ),
    case(
        "the same price (given) and a smaller qty keep the place",
        AMEND_BIDS,
        amend(1, qty=4, price=100),
        [amd(1, 1, B, 100, 4, KEPT_PRIORITY)],
        [(1, 1, B, 100, 4), (2, 2, B, 100, 5), (3, 3, B, 99, 1)],
    ),
    case(
        "only the same price given: kept, unchanged",
        AMEND_BIDS,
        amend(1, price=100),
        [amd(1, 1, B, 100, 5, KEPT_PRIORITY)],
        [(1, 1, B, 100, 5), (2, 2, B, 100, 5), (3, 3, B, 99, 1)],
    ),
    case(
        "qty up loses the place",
        AMEND_BIDS,
        amend(1, qty=6),
        [amd(1, 1, B, 100, 6)],
        [(2, 2, B, 100, 5), (1, 1, B, 100, 6), (3, 3, B, 99, 1)],
    ),
    case(
        "a price change loses the place (back of the new level)",
        AMEND_BIDS,
        amend(2, price=99),
        [amd(2, 2, B, 99, 5)],
        [(1, 1, B, 100, 5), (3, 3, B, 99, 1), (2, 2, B, 99, 5)],
    ),
    case(
        "a price change with a smaller qty still loses the place",
        [*AMEND_BIDS, buy(4, 101, 1, trader=4)],
        amend(1, qty=2, price=101),
        [amd(1, 1, B, 101, 2)],
        [(4, 4, B, 101, 1), (1, 1, B, 101, 2), (2, 2, B, 100, 5), (3, 3, B, 99, 1)],
    ),
    case(
        "qty 0 cancels (User), with the remaining qty",
        [*AMEND_BIDS, sell(9, 100, 2, trader=9)],
        amend(1, qty=0),
        [cxl(1, 1, B, 100, 3, USER)],
        [(2, 2, B, 100, 5), (3, 3, B, 99, 1)],
    ),
    case(
        "qty 0 with a new price: cancelled at its old price",
        AMEND_BIDS,
        amend(1, qty=0, price=90),
        [cxl(1, 1, B, 100, 5, USER)],
        [(2, 2, B, 100, 5), (3, 3, B, 99, 1)],
    ),
    case(
        "the amended qty is the new OPEN qty (after a partial fill)",
        [*AMEND_BIDS, sell(9, 100, 2, trader=9)],
        amend(1, qty=2),
        [amd(1, 1, B, 100, 2, KEPT_PRIORITY)],
        [(1, 1, B, 100, 2), (2, 2, B, 100, 5), (3, 3, B, 99, 1)],
    ),
    case(
        "an amendment that crosses trades as a taker, the rest rests at the new price",
        [*AMEND_BIDS, sell(7, 102, 3, trader=7)],
        amend(3, qty=4, price=102),
        [amd(3, 3, B, 102, 4), fill(3, 3, 7, 7, B, 102, 3, MD)],
        [(3, 3, B, 102, 1), (1, 1, B, 100, 5), (2, 2, B, 100, 5)],
    ),
    case(
        "an amendment beyond the best ask trades at the makers' prices, fully",
        [*AMEND_BIDS, sell(7, 101, 3, trader=7), sell(8, 102, 3, trader=8)],
        amend(1, price=105),
        [amd(1, 1, B, 105, 5), fill(1, 1, 7, 7, B, 101, 3, MD), fill(1, 1, 8, 8, B, 102, 2, TD)],
        [(2, 2, B, 100, 5), (3, 3, B, 99, 1), (8, 8, S, 102, 1)],
    ),
    case(
        "a sell amended down through the bids",
        [*AMEND_BIDS, sell(7, 103, 6, trader=7)],
        amend(7, price=100),
        [amd(7, 7, S, 100, 6), fill(7, 7, 1, 1, S, 100, 5, MD), fill(7, 7, 2, 2, S, 100, 1, TD)],
        [(2, 2, B, 100, 4), (3, 3, B, 99, 1)],
    ),
    case(
        "a crossing amendment under STP cancel_newest: the amended order is cancelled",
        [buy(1, 100, 5, trader=1), sell(7, 102, 3, trader=1)],
        amend(1, price=102),
        [amd(1, 1, B, 102, 5), cxl(1, 1, B, 102, 5, SELF_TRADE)],
        [(7, 1, S, 102, 3)],
        stp="cancel_newest",
    ),
    case(
        "a crossing amendment under STP decrement: the rest rests",
        [buy(1, 100, 5, trader=1), sell(7, 102, 3, trader=1)],
        amend(1, price=102),
        [amd(1, 1, B, 102, 5), cxl(7, 1, S, 102, 3, SELF_TRADE), cxl(1, 1, B, 102, 3, SELF_TRADE)],
        [(1, 1, B, 102, 2)],
        stp="decrement",
    ),
    case(
        "post-only: an amendment that would cross is rejected, the order unchanged",
        [buy(1, 100, 5, trader=1, post_only=True), buy(2, 100, 5, trader=2), sell(7, 102, 3, trader=7)],
        amend(1, price=102, trader=1),
        [rej(1, 1, WOULD_CROSS)],
        [(1, 1, B, 100, 5), (2, 2, B, 100, 5), (7, 7, S, 102, 3)],
    ),
    case(
        "post-only: a price change that does not cross is fine",
        [buy(1, 100, 5, trader=1, post_only=True), buy(2, 101, 5, trader=2), sell(7, 102, 3, trader=7)],
        amend(1, price=101),
        [amd(1, 1, B, 101, 5)],
        [(2, 2, B, 101, 5), (1, 1, B, 101, 5), (7, 7, S, 102, 3)],
    ),
    case(
        "post-only: a qty increase at its price never crosses",
        [buy(1, 100, 5, trader=1, post_only=True), buy(2, 100, 5, trader=2), sell(7, 101, 3, trader=7)],
        amend(1, qty=9),
        [amd(1, 1, B, 100, 9)],
        [(2, 2, B, 100, 5), (1, 1, B, 100, 9), (7, 7, S, 101, 3)],
    ),
]

REJECTS = [
    case("DuplicateId: a resting id", [buy(1, 100, 1)], buy(1, 99, 1), [rej(1, 1, DUPLICATE_ID)], [(1, 1, B, 100, 1)]),
    case(
        "DuplicateId: after a cancel",
        [buy(1, 100, 1), cancel(1)],
        buy(1, 100, 1, trader=2),
        [rej(1, 2, DUPLICATE_ID)],
        [],
    ),
    case(
        "DuplicateId: after a fill (taker and maker)",
        [buy(1, 100, 1), sell(2, 100, 1)],
        sell(2, 100, 1),
        [rej(2, 1, DUPLICATE_ID)],
        [],
    ),
    case(
        "DuplicateId: after an IOC's remainder was cancelled",
        [buy(1, 100, 1, tif=IOC)],
        buy(1, 100, 1),
        [rej(1, 1, DUPLICATE_ID)],
        [],
    ),
    case(
        "DuplicateId: after a FOK was killed",
        [buy(1, 100, 1, tif=FOK)],
        buy(1, 100, 1),
        [rej(1, 1, DUPLICATE_ID)],
        [],
    ),
    case(
        "DuplicateId: after an expiry",
        [buy(1, 100, 1, tif=GTD, expiry=5), expire(5)],
        buy(1, 100, 1, tif=GTD, expiry=6),
        [rej(1, 1, DUPLICATE_ID)],
        [],
    ),
    case("UnknownId: cancel of a never-seen id", [], cancel(9, trader=7), [rej(9, 7, UNKNOWN_ID)], []),
    case("UnknownId: cancel twice", [buy(1, 100, 1), cancel(1)], cancel(1, trader=1), [rej(1, 1, UNKNOWN_ID)], []),
    case(
        "UnknownId: cancel of a filled order",
        [buy(1, 100, 1), sell(2, 100, 1)],
        cancel(1),
        [rej(1, 0, UNKNOWN_ID)],
        [],
    ),
    case("UnknownId: amend", [buy(1, 100, 1)], amend(2, qty=1, trader=3), [rej(2, 3, UNKNOWN_ID)], [(1, 1, B, 100, 1)]),
    case("UnknownId: amend beats NothingToAmend", [], amend(2), [rej(2, 0, UNKNOWN_ID)], []),
    case("ZeroQuantity", [], buy(1, 100, 0), [rej(1, 1, ZERO_QUANTITY)], []),
    case("InvalidSide: 0", [], submit(1, 0, 100, 1), [rej(1, 1, INVALID_SIDE)], []),
    case("InvalidSide: 2", [], submit(1, 2, 100, 1), [rej(1, 1, INVALID_SIDE)], []),
    case("InvalidKind", [], buy(1, 100, 1, kind=2), [rej(1, 1, INVALID_KIND)], []),
    case("InvalidTimeInForce: code 4", [], buy(1, 100, 1, tif=4), [rej(1, 1, INVALID_TIF)], []),
    case("InvalidTimeInForce: market GTC", [], mbuy(1, 1, tif=GTC), [rej(1, 1, INVALID_TIF)], []),
    case("InvalidTimeInForce: market GTD", [], mbuy(1, 1, tif=GTD, expiry=9), [rej(1, 1, INVALID_TIF)], []),
    case(
        "InvalidTimeInForce: post-only IOC", [], buy(1, 100, 1, tif=IOC, post_only=True), [rej(1, 1, INVALID_TIF)], []
    ),
    case(
        "InvalidTimeInForce: post-only FOK", [], buy(1, 100, 1, tif=FOK, post_only=True), [rej(1, 1, INVALID_TIF)], []
    ),
    case("InvalidTimeInForce: post-only market", [], mbuy(1, 1, post_only=True), [rej(1, 1, INVALID_TIF)], []),
    case("NothingToAmend", [buy(1, 100, 1)], amend(1, trader=1), [rej(1, 1, NOTHING_TO_AMEND)], [(1, 1, B, 100, 1)]),
    # validation order: the first failing step wins
    case(
        "order: DuplicateId before InvalidSide",
        [buy(1, 100, 1)],
        submit(1, 0, 100, 0),
        [rej(1, 1, DUPLICATE_ID)],
        [(1, 1, B, 100, 1)],
    ),
    case("order: InvalidSide before ZeroQuantity", [], submit(1, 0, 100, 0), [rej(1, 1, INVALID_SIDE)], []),
    case("order: ZeroQuantity before InvalidKind", [], buy(1, 100, 0, kind=7), [rej(1, 1, ZERO_QUANTITY)], []),
    case(
        "order: InvalidKind before InvalidTimeInForce", [], buy(1, 100, 1, kind=7, tif=9), [rej(1, 1, INVALID_KIND)], []
    ),
    case(
        "order: InvalidTimeInForce before OffTick",
        [],
        buy(1, 101, 1, tif=9),
        [rej(1, 1, INVALID_TIF)],
        [],
        tick=5,
    ),
    case("order: OffTick before OffLot", [], buy(1, 101, 3), [rej(1, 1, OFF_TICK)], [], tick=5, lot=2),
    case(
        "order: OffLot before ExpiryPassed",
        [expire(10)],
        buy(1, 100, 3, tif=GTD, expiry=1),
        [rej(1, 1, OFF_LOT)],
        [],
        lot=2,
    ),
    case(
        "order: ExpiryPassed before WouldCross",
        [sell(9, 100, 1, trader=9), expire(10)],
        buy(1, 100, 1, tif=GTD, expiry=1, post_only=True),
        [rej(1, 1, EXPIRY_PASSED)],
        [(9, 9, S, 100, 1)],
    ),
    case(
        "amend order: NothingToAmend before OffTick",
        [buy(1, 100, 1)],
        amend(1),
        [rej(1, 0, NOTHING_TO_AMEND)],
        [(1, 1, B, 100, 1)],
        tick=5,
    ),
    case(
        "amend order: OffTick before OffLot",
        [buy(1, 100, 2)],
        amend(1, qty=3, price=101),
        [rej(1, 0, OFF_TICK)],
        [(1, 1, B, 100, 2)],
        tick=5,
        lot=2,
    ),
]

TICK_AND_LOT = [
    case("tick 5: 105 is on tick", [], buy(1, 105, 1), [acc(1, 1, B, 105, 1)], [(1, 1, B, 105, 1)], tick=5),
    case("tick 5: 102 is off tick", [], buy(1, 102, 1), [rej(1, 1, OFF_TICK)], [], tick=5),
    case("tick 5: -10 is on tick", [], sell(1, -10, 1), [acc(1, 1, S, -10, 1)], [(1, 1, S, -10, 1)], tick=5),
    case("tick 5: -3 is off tick (euclidean remainder 2)", [], sell(1, -3, 1), [rej(1, 1, OFF_TICK)], [], tick=5),
    case("tick 5: 0 is on tick", [], sell(1, 0, 1), [acc(1, 1, S, 0, 1)], [(1, 1, S, 0, 1)], tick=5),
    case(
        "tick 5: a market order's (ignored) price is not checked",
        [],
        Cmd("submit", (1, 1, B, 3, 1), {"kind": MARKET, "tif": IOC}),
        [acc(1, 1, B, 0, 1), cxl(1, 1, B, 0, 1, UNFILLED)],
        [],
        tick=5,
    ),
    case(
        "tick 5: a market order's protection is checked",
        [],
        mbuy(1, 1, protection=103),
        [rej(1, 1, OFF_TICK)],
        [],
        tick=5,
    ),
    case(
        "tick 5: a market order's protection on tick",
        [],
        mbuy(1, 1, protection=105),
        [acc(1, 1, B, 105, 1), cxl(1, 1, B, 105, 1, UNFILLED)],
        [],
        tick=5,
    ),
    case(
        "tick 5: amend to an off-tick price",
        [buy(1, 100, 1)],
        amend(1, price=104, trader=1),
        [rej(1, 1, OFF_TICK)],
        [(1, 1, B, 100, 1)],
        tick=5,
    ),
    case(
        "tick 5: amend to an on-tick price",
        [buy(1, 100, 1)],
        amend(1, price=95),
        [amd(1, 1, B, 95, 1)],
        [(1, 1, B, 95, 1)],
        tick=5,
    ),
    case("lot 10: 30 is a multiple", [], buy(1, 100, 30), [acc(1, 1, B, 100, 30)], [(1, 1, B, 100, 30)], lot=10),
    case("lot 10: 15 is not", [], buy(1, 100, 15), [rej(1, 1, OFF_LOT)], [], lot=10),
    case(
        "lot 10: amend to 15", [buy(1, 100, 30)], amend(1, qty=15), [rej(1, 0, OFF_LOT)], [(1, 1, B, 100, 30)], lot=10
    ),
    case(
        "lot 10: amend to 20",
        [buy(1, 100, 30)],
        amend(1, qty=20),
        [amd(1, 1, B, 100, 20, KEPT_PRIORITY)],
        [(1, 1, B, 100, 20)],
        lot=10,
    ),
    case(
        "lot 10: amend to 0 is always allowed",
        [buy(1, 100, 30)],
        amend(1, qty=0),
        [cxl(1, 1, B, 100, 30, USER)],
        [],
        lot=10,
    ),
    case(
        "lot 10: a fill of lots keeps lots",
        [sell(1, 100, 30)],
        buy(2, 100, 10, trader=2),
        [acc(2, 2, B, 100, 10), fill(2, 2, 1, 1, B, 100, 10, TD)],
        [(1, 1, S, 100, 20)],
        lot=10,
    ),
]

CANCEL = [
    case(
        "cancel: the remaining qty, User; the order's own trader",
        [buy(1, 100, 5, trader=3), sell(2, 100, 2, trader=4)],
        cancel(1, trader=9),
        [cxl(1, 3, B, 100, 3, USER)],
        [],
    ),
    case(
        "cancel from the middle of a level",
        BIDS,
        cancel(5),
        [cxl(5, 2, B, 100, 2, USER)],
        [(4, 1, B, 100, 2), (6, 3, B, 99, 2)],
    ),
    case(
        "cancel the last order of a level removes the level",
        BIDS,
        cancel(6),
        [cxl(6, 3, B, 99, 2, USER)],
        [(4, 1, B, 100, 2), (5, 2, B, 100, 2)],
    ),
]


CALL_PHASE_TABLE = [
    case(
        "call: a crossing buy rests, no matching",
        [*ASKS, CALL],
        buy(10, 102, 10, trader=4),
        [acc(10, 4, B, 102, 10)],
        [(10, 4, B, 102, 10), *ASKS_AFTER],
    ),
    case(
        "call: a crossing order joins the back of its level",
        [*ASKS, CALL],
        sell(10, 90, 1, trader=4),
        [acc(10, 4, S, 90, 1)],
        [(10, 4, S, 90, 1), *ASKS_AFTER],
    ),
    case("call: market orders are refused", [CALL], mbuy(10, 1, trader=4), [rej(10, 4, CALL_PHASE)], []),
    case(
        "call: protected market orders too",
        [CALL],
        msell(10, 1, trader=4, protection=90),
        [rej(10, 4, CALL_PHASE)],
        [],
    ),
    case("call: IOC is refused", [CALL], buy(10, 100, 1, tif=IOC), [rej(10, 1, CALL_PHASE)], []),
    case("call: FOK is refused", [CALL], buy(10, 100, 1, tif=FOK), [rej(10, 1, CALL_PHASE)], []),
    case("call: GTD rests", [CALL], buy(10, 100, 1, tif=GTD, expiry=3), [acc(10, 1, B, 100, 1)], [(10, 1, B, 100, 1)]),
    case(
        "call: InvalidTimeInForce comes first (market GTC)",
        [CALL],
        mbuy(10, 1, tif=GTC),
        [rej(10, 1, INVALID_TIF)],
        [],
    ),
    case(
        "call: InvalidTimeInForce comes first (post-only IOC)",
        [CALL],
        buy(10, 100, 1, tif=IOC, post_only=True),
        [rej(10, 1, INVALID_TIF)],
        [],
    ),
    case(
        "call: CallPhase before OffTick",
        [CALL],
        buy(10, 101, 1, tif=IOC),
        [rej(10, 1, CALL_PHASE)],
        [],
        tick=5,
    ),
    case("call: ZeroQuantity before CallPhase", [CALL], buy(10, 100, 0, tif=IOC), [rej(10, 1, ZERO_QUANTITY)], []),
    case(
        "call: post-only is not checked for crossing",
        [*ASKS, CALL],
        buy(10, 101, 1, trader=4, post_only=True),
        [acc(10, 4, B, 101, 1)],
        [(10, 4, B, 101, 1), *ASKS_AFTER],
    ),
    case(
        "call: a crossing amendment is not matched: back of the new level",
        [*ASKS, buy(11, 100, 5, trader=5), CALL, buy(12, 102, 1, trader=6)],
        amend(11, price=102),
        [amd(11, 5, B, 102, 5)],
        [(12, 6, B, 102, 1), (11, 5, B, 102, 5), *ASKS_AFTER],
    ),
    case(
        "call: a post-only amendment may cross",
        [*ASKS, buy(11, 100, 5, trader=5, post_only=True), CALL],
        amend(11, qty=6, price=101),
        [amd(11, 5, B, 101, 6)],
        [(11, 5, B, 101, 6), *ASKS_AFTER],
    ),
    case(
        "call: qty down keeps the place as usual",
        [*ASKS, CALL],
        amend(1, qty=1),
        [amd(1, 1, S, 101, 1, KEPT_PRIORITY)],
        [(1, 1, S, 101, 1), (2, 2, S, 101, 3), (3, 3, S, 102, 4)],
    ),
    case(
        "call: amend to 0 cancels as usual",
        [*ASKS, CALL],
        amend(1, qty=0),
        [cxl(1, 1, S, 101, 5, USER)],
        [(2, 2, S, 101, 3), (3, 3, S, 102, 4)],
    ),
    case(
        "call: cancel as usual, in a crossed book",
        [*ASKS, CALL, buy(10, 102, 1, trader=4)],
        cancel(2),
        [cxl(2, 2, S, 101, 3, USER)],
        [(10, 4, B, 102, 1), (1, 1, S, 101, 5), (3, 3, S, 102, 4)],
    ),
    case(
        "call: expire as usual",
        [CALL, *GTDS],
        expire(10),
        [cxl(2, 1, B, 99, 2, EXPIRED), cxl(4, 1, B, 97, 4, EXPIRED)],
        [(1, 1, B, 100, 1), (3, 1, B, 98, 3)],
    ),
    case(
        "back to continuous: matching again",
        [*ASKS, CALL, buy(10, 100, 1, trader=4), phase("continuous")],
        buy(11, 101, 1, trader=4),
        [acc(11, 4, B, 101, 1), fill(11, 4, 1, 1, B, 101, 1, TD)],
        [(10, 4, B, 100, 1), (1, 1, S, 101, 4), (2, 2, S, 101, 3), (3, 3, S, 102, 4)],
    ),
]


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), MATCHING)
def test_matching(setup, command, events, after, config):
    check(setup, command, events, after, config)


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), TIME_IN_FORCE)
def test_time_in_force_market_and_post_only(setup, command, events, after, config):
    check(setup, command, events, after, config)


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), EXPIRY)
def test_gtd_and_expire(setup, command, events, after, config):
    check(setup, command, events, after, config)


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), STP)
def test_self_trade_prevention(setup, command, events, after, config):
    check(setup, command, events, after, config)


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), AMEND)
def test_amend(setup, command, events, after, config):
    check(setup, command, events, after, config)


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), REJECTS)
def test_rejections(setup, command, events, after, config):
    check(setup, command, events, after, config)


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), TICK_AND_LOT)
def test_tick_and_lot(setup, command, events, after, config):
    check(setup, command, events, after, config)


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), CANCEL)
def test_cancel(setup, command, events, after, config):
    check(setup, command, events, after, config)


@pytest.mark.parametrize(("setup", "command", "events", "after", "config"), CALL_PHASE_TABLE)
def test_call_phase(setup, command, events, after, config):
    check(setup, command, events, after, config)


def test_set_phase():
    book = make_book(ASKS)
    assert book.phase == "continuous"
    book.set_phase("continuous")  # not crossed: allowed, nothing happens
    book.set_phase("call")
    book.set_phase("call")  # always allowed
    assert book.phase == "call"
    book.submit(10, 4, B, 101, 1)  # crossed now (101 >= 101)
    before = book.orders()
    with pytest.raises(ValueError):
        book.set_phase("continuous")
    assert (book.phase, book.orders()) == ("call", before)
    book.uncross()
    assert book.phase == "call"  # uncross keeps the phase
    book.set_phase("continuous")
    assert book.phase == "continuous"
    with pytest.raises(ValueError):
        book.set_phase("auction")
    assert book.phase == "continuous"


# -- single checks ------------------------------------------------------------------------------


def test_event_tuple_is_in_the_engine_records_field_order():
    e = RefEvent(kind=2, cmd=1, id=2, trader=3, maker_id=4, maker_trader=5, price=6, qty=7, reason=8, side=-1, flags=3)
    # (cmd, id, trader, maker_id, maker_trader, price, qty, kind, reason, side, flags)
    assert e.as_tuple() == (1, 2, 3, 4, 5, 6, 7, 2, 8, -1, 3)
    assert RefEvent().as_tuple() == (0,) * 11


def test_a_rejected_submission_does_not_use_up_its_id():
    book = RefBook()
    assert book.submit(1, 1, B, 100, 0) == [rej(1, 1, ZERO_QUANTITY)]
    assert book.submit(1, 1, B, 100, 1) == [acc(1, 1, B, 100, 1)]
    assert book.submit(1, 1, B, 100, 1) == [rej(1, 1, DUPLICATE_ID)]


def test_a_killed_fok_leaves_no_trail():
    book = make_book(ASKS)
    before = (book.orders(), [book.position(i) for i in (1, 2, 3)], book.depth(5))
    assert book.submit(10, 4, B, 102, 13, tif=FOK) == [acc(10, 4, B, 102, 13), cxl(10, 4, B, 102, 13, KILLED)]
    assert (book.orders(), [book.position(i) for i in (1, 2, 3)], book.depth(5)) == before
    assert book.position(10) is None


def test_now():
    book = RefBook()
    assert book.now is None
    book.expire(10)
    book.expire(5)
    assert book.now == 10


def test_bad_configuration_and_negative_quantities_raise():
    with pytest.raises(ValueError):
        RefBook(stp="cancel_all")
    with pytest.raises(ValueError):
        RefBook(tick=0)
    with pytest.raises(ValueError):
        RefBook(lot=-1)
    book = make_book([buy(1, 100, 1)])
    with pytest.raises(ValueError):
        book.submit(2, 1, B, 100, -1)
    with pytest.raises(ValueError):
        book.amend(1, qty=-1)
    with pytest.raises(ValueError):
        book.depth(-1)
    assert resting(book) == [(1, 1, B, 100, 1)]


def test_queries():
    book = make_book([*BIDS, *ASKS])
    # bids 100: [4 (2), 5 (2)], 99: [6 (2)]; asks 101: [1 (5), 2 (3)], 102: [3 (4)]
    assert book.best_bid() == (100, 4, 2)
    assert book.best_ask() == (101, 8, 2)
    assert book.depth(1) == ([(100, 4, 2)], [(101, 8, 2)])
    assert book.depth(5) == ([(100, 4, 2), (99, 2, 1)], [(101, 8, 2), (102, 4, 1)])
    assert book.depth(0) == ([], [])
    assert [book.position(i) for i in (4, 5, 6, 1, 2, 3)] == [(2, 0), (2, 1), (2, 0), (5, 0), (3, 1), (4, 0)]
    assert book.position(99) is None
    assert [o[0] for o in book.orders()] == [4, 5, 6, 1, 2, 3]
    book.submit(7, 9, S, 101, 1)
    assert book.position(7) == (1, 2)
    book.cancel(1)
    assert book.position(2) == (3, 0)
    assert book.position(7) == (1, 1)
    assert book.best_ask() == (101, 4, 2)

    empty = RefBook()
    assert (empty.best_bid(), empty.best_ask(), empty.depth(3), empty.orders()) == (None, None, ([], []), [])


def test_orders_keep_tif_expiry_and_ts_through_amendments():
    book = RefBook()
    book.submit(1, 7, B, 100, 5, tif=GTD, expiry=50, ts=1234)
    book.submit(2, 8, S, 110, 5, tif=GTC, expiry=99, ts=5678)  # a GTC order's expiry is not kept
    book.submit(3, 9, S, 120, 5, post_only=True, ts=9)
    assert book.orders() == [
        (1, 7, B, 100, 5, GTD, 50, 1234),
        (2, 8, S, 110, 5, GTC, 0, 5678),
        (3, 9, S, 120, 5, GTC, 0, 9),
    ]
    assert book.amend(1, qty=6, price=101) == [amd(1, 7, B, 101, 6)]
    assert book.orders()[0] == (1, 7, B, 101, 6, GTD, 50, 1234)
    assert book.amend(3, price=115) == [amd(3, 9, S, 115, 5)]
    # still post-only after its amendment
    assert book.amend(3, price=101, trader=9) == [rej(3, 9, WOULD_CROSS)]
    assert book.expire(50) == [cxl(1, 7, B, 101, 6, EXPIRED)]


# -- uncross ------------------------------------------------------------------------------------


def call_book(*rows: tuple[int, int, int, int, int], setup=()) -> RefBook:
    """A book in the call phase with (id, trader, side, price, qty) GTC orders resting, unmatched."""
    book = make_book([*setup, CALL])
    for oid, trader, side, price, qty in rows:
        assert book.submit(oid, trader, side, price, qty) == [acc(oid, trader, side, price, qty)]
    return book


def ref_orders(book: RefBook) -> list[RefOrder]:
    """The resting orders as clear() takes them, ts = arrival order (checked by hand below)."""
    return [RefOrder(o[0], o[1], o[2], o[3], o[4], i, LIMIT) for i, o in enumerate(book.orders())]


def test_uncross_of_a_continuous_book_does_nothing():
    book = make_book([*BIDS, *ASKS])
    before = book.orders()
    r = book.uncross()
    assert (r.price, r.volume, r.fills) == (None, 0, [])
    assert r == clear(ref_orders(book))
    assert book.orders() == before


# Crossed (collected in the call phase): bids 1: 5 @ 102, 2: 5 @ 101; asks 3: 4 @ 100, 4: 8 @ 101, 5: 3 @ 101.
#   p      <=99  100  101  102  >=103
#   D(p)    10    10   10    5     0
#   S(p)     0     4   15   15    15
#   V        0     4   10    5     0
# max V = 10 at 101 only -> price 101, D = 10, S = 15. Bids fill; asks: level 100 (4) fits, level 101
# shares 6: by time 4 takes 6 (2 left), 5 none; pro rata 8*6/11 = 4 r4, 3*6/11 = 1 r7 -> 5 takes the last.
CROSSED = [(1, 1, B, 102, 5), (2, 2, B, 101, 5), (3, 3, S, 100, 4), (4, 4, S, 101, 8), (5, 5, S, 101, 3)]


def test_uncross_time_allocation():
    book = call_book(*CROSSED)
    expected = clear(ref_orders(book))
    r = book.uncross()
    assert r == expected
    assert (r.price, r.interval, r.volume, r.demand, r.supply) == (101, (101, 101), 10, 10, 15)
    assert r.filled == [5, 5, 4, 6, 0]
    assert r.fills == [(1, 3, 1, 3, 4, 101), (1, 4, 1, 4, 1, 101), (2, 4, 2, 4, 5, 101)]
    assert r.welfare == 5 * 1 + 4 * 1
    # order 4 keeps its place with less; filled orders are gone
    assert resting(book) == [(4, 4, S, 101, 2), (5, 5, S, 101, 3)]
    assert book.position(4) == (2, 0)
    assert book.position(1) is None


def test_uncross_pro_rata_allocation():
    book = call_book(*CROSSED)
    r = book.uncross(allocation="pro_rata")
    assert r.filled == [5, 5, 4, 4, 2]
    assert resting(book) == [(4, 4, S, 101, 4), (5, 5, S, 101, 1)]


def test_uncross_time_is_queue_position_not_submission():
    # order 4 was submitted first but its amendment up sent it behind 5
    book = call_book((1, 1, B, 102, 5), setup=[sell(4, 101, 8, trader=4), sell(5, 101, 3, trader=5), amend(4, qty=9)])
    # D = 5 up to 102; S = 12 from 101: V = 5 on [101, 102], |D-S| = 7 on both -> midpoint 101
    r = book.uncross()
    assert (r.price, r.interval, r.volume) == (101, (101, 102), 5)
    assert r.fills == [(1, 5, 1, 5, 3, 101), (1, 4, 1, 4, 2, 101)]
    assert resting(book) == [(4, 4, S, 101, 7)]


@pytest.mark.parametrize(
    "params",
    [
        {"rule": "marginal_ask"},
        {"rule": "marginal_bid", "allocation": "pro_rata"},
        {"rule": (1, 3), "max_price": 100},
        {"min_price": 102},
        {"rule": "exchange", "reference_price": 90},
    ],
)
def test_uncross_passes_its_parameters_to_clear(params):
    book = call_book(*CROSSED)
    expected = clear(ref_orders(book), **params)
    assert book.uncross(**params) == expected
    filled = dict(zip([o[0] for o in CROSSED], expected.filled, strict=True))
    assert resting(book) == [(i, t, sd, p, q - filled[i]) for i, t, sd, p, q in CROSSED if q > filled[i]]


def test_uncross_errors_leave_the_book_alone():
    book = call_book(*CROSSED)
    with pytest.raises(ValueError):
        book.uncross(allocation="by_size")
    assert resting(book) == CROSSED


# -- process ------------------------------------------------------------------------------------


def at(cmd: int, event: RefEvent) -> RefEvent:
    return RefEvent(**{**event.__dict__, "cmd": cmd})


PROCESS_ROWS = [
    {"op": OP_SUBMIT, "id": 1, "trader": 1, "side": S, "price": 101, "qty": 5},  # missing fields: GTC limit
    {
        "op": OP_SUBMIT,
        "id": 2,
        "trader": 2,
        "side": B,
        "price": 99,
        "qty": 3,
        "tif": GTD,
        "expiry": 10,
        "flags": POST_ONLY,
    },
    {
        "op": OP_SUBMIT,
        "id": 3,
        "trader": 3,
        "side": B,
        "price": 101,
        "qty": 7,
        "kind": MARKET,
        "tif": IOC,
        "flags": PROTECTED,
    },
    {"op": OP_AMEND, "id": 2, "trader": 2, "qty": 4, "price": 100, "flags": AMEND_QTY},  # the price is not given
    {"op": OP_AMEND, "id": 2, "trader": 2, "qty": 999, "price": 98, "flags": AMEND_PRICE},  # the qty is not given
    {"op": OP_AMEND, "id": 2, "trader": 5, "qty": 1, "price": 1},  # neither flag
    {"op": OP_CANCEL, "id": 9, "trader": 4},
    {"op": 7, "id": 11, "trader": 6, "side": B, "price": 50, "qty": 1},
    {"op": OP_EXPIRE, "ts": 10},
    {"op": OP_SUBMIT, "id": 11, "trader": 6, "side": B, "price": 50, "qty": 1, "kind": MARKET, "tif": FOK},
]
PROCESS_EVENTS = [
    at(0, acc(1, 1, S, 101, 5)),
    at(1, acc(2, 2, B, 99, 3)),
    at(2, acc(3, 3, B, 101, 7)),
    at(2, fill(3, 3, 1, 1, B, 101, 5, MD)),
    at(2, cxl(3, 3, B, 101, 2, UNFILLED)),
    at(3, amd(2, 2, B, 99, 4)),
    at(4, amd(2, 2, B, 98, 4)),
    at(5, rej(2, 5, NOTHING_TO_AMEND)),
    at(6, rej(9, 4, UNKNOWN_ID)),
    at(7, rej(11, 6, INVALID_OP)),
    at(8, cxl(2, 2, B, 98, 4, EXPIRED)),
    at(9, acc(11, 6, B, 0, 1)),  # the InvalidOp row did not use id 11; a market order without PROTECTED: 0
    at(9, cxl(11, 6, B, 0, 1, KILLED)),
]


def test_process_reads_rows_and_numbers_commands():
    book = RefBook()
    assert book.process(PROCESS_ROWS) == PROCESS_EVENTS
    assert book.orders() == []
    assert book.now == 10


def test_process_reads_numpy_records():
    import numpy as np

    fields = ["op", "id", "trader", "side", "price", "qty", "tif", "kind", "flags", "expiry", "ts"]
    codes = ["u1", "u8", "u8", "i1", "i8", "u8", "u1", "u1", "u1", "u8", "u8"]
    dtype = np.dtype(list(zip(fields, codes, strict=True)))
    rows = np.array([tuple(row.get(f, 0) for f in fields) for row in PROCESS_ROWS], dtype=dtype)
    events = RefBook().process(rows)
    assert events == PROCESS_EVENTS
    assert all(type(v) is int for e in events for v in e.as_tuple())


def test_single_calls_carry_their_cmd():
    book = RefBook()
    assert book.submit(1, 1, B, 100, 1, cmd=4) == [at(4, acc(1, 1, B, 100, 1))]
    assert book.amend(1, qty=2, cmd=5) == [at(5, amd(1, 1, B, 100, 2))]
    assert book.cancel(1, cmd=6) == [at(6, cxl(1, 1, B, 100, 2, USER))]
    assert book.expire(3, cmd=7) == []
    assert book.cancel(1, trader=2, cmd=8) == [at(8, rej(1, 2, UNKNOWN_ID))]


# -- invariants on random command streams -------------------------------------------------------

# Few ids, traders and prices, so that cancels and amends hit, traders meet themselves and levels
# fill up. Rows are mostly valid for the book's tick and lot; about one in five has one field spoiled.
OPS = [OP_SUBMIT] * 8 + [OP_CANCEL, OP_AMEND, OP_AMEND, OP_EXPIRE]
# not command rows: set_phase and uncross, which the Checker runs itself
BOOK_OPS = ["call", "continuous", "uncross"]
SPOILERS = [None] * 20 + ["op", "side", "qty", "kind", "tif", "market_gtc", "post_only_ioc", "tick", "lot"]


@st.composite
def rows(draw, tick=None, lot=None, book_ops=False):
    op = draw(st.sampled_from(OPS + BOOK_OPS if book_ops else OPS))
    market = draw(st.integers(0, 5)) == 0
    row = {
        "op": op,
        "id": draw(st.integers(1, 99)),
        "trader": draw(st.integers(1, 3)),
        "side": draw(st.sampled_from([B, S])),
        "price": 100 + (tick or 1) * draw(st.integers(-3, 3)),
        "qty": (lot or 1) * draw(st.integers(1, 6)),
        "tif": draw(st.sampled_from([IOC, FOK] if market else [GTC, GTC, GTC, GTC, GTD, IOC, FOK])),
        "kind": MARKET if market else LIMIT,
        "flags": 0,
        "expiry": draw(st.integers(0, 40)),
        "ts": draw(st.integers(0, 40)),
    }
    if op == OP_AMEND:
        row["flags"] = draw(st.sampled_from([AMEND_QTY, AMEND_PRICE, AMEND_QTY | AMEND_PRICE]))
        if draw(st.integers(0, 7)) == 0:
            row["qty"] = 0
    elif market:
        row["flags"] = draw(st.sampled_from([0, PROTECTED]))
    elif draw(st.integers(0, 4)) == 0:
        row["flags"] = POST_ONLY
    spoil = draw(st.sampled_from(SPOILERS))
    if spoil == "op":
        row["op"] = 9
    elif spoil == "side":
        row["side"] = draw(st.sampled_from([0, 2]))
    elif spoil == "qty":
        row["qty"] = 0
    elif spoil == "kind":
        row["kind"] = 2
    elif spoil == "tif":
        row["tif"] = draw(st.integers(4, 255))
    elif spoil == "market_gtc":
        row["kind"], row["tif"] = MARKET, draw(st.sampled_from([GTC, GTD]))
    elif spoil == "post_only_ioc":
        row["flags"] |= POST_ONLY
        row["tif"] = draw(st.sampled_from([IOC, FOK]))
    elif spoil == "tick":
        row["price"] += 1  # off tick when the tick is above 1
    elif spoil == "lot":
        row["qty"] += 1
    return row


@st.composite
def streams(draw, book_ops=False):
    """(book config, command rows): up to 10 chunks of 1 to 12 rows, so that streams are long on
    average and still shrink by whole chunks or single rows."""
    config = {
        "stp": draw(st.sampled_from(STP_MODES)),
        "tick": draw(st.sampled_from([None, None, 1, 2])),
        "lot": draw(st.sampled_from([None, None, 1, 2])),
    }
    chunks = draw(
        st.lists(st.lists(rows(config["tick"], config["lot"], book_ops), min_size=1, max_size=12), max_size=10)
    )
    stream = [dict(row) for chunk in chunks for row in chunk]
    # ids from each row's "id" (1..99) without further draws: submissions mostly fresh, above 90 a
    # used id; cancels and amends mostly of a submitted id (small: a recent one), above 90 of none
    submitted: list[int] = []
    for row in stream:
        choice = row["id"]
        if row["op"] == OP_SUBMIT:
            if submitted and choice > 90:
                row["id"] = submitted[choice % len(submitted)]
            else:
                row["id"] = len(submitted) + 1
                submitted.append(row["id"])
        elif row["op"] in (OP_CANCEL, OP_AMEND):
            row["id"] = submitted[-choice % len(submitted)] if submitted and choice <= 90 else 1000 + choice
    return config, stream


def state(book: RefBook) -> tuple:
    """Everything a command could change."""
    positions = {o[0]: book.position(o[0]) for o in book.orders()}
    return book.orders(), positions, book.now, frozenset(book.used_ids), book.phase


class Checker:
    """Runs rows one by one through a RefBook and checks the contract's invariants after each one,
    keeping its own account of every order from the events alone."""

    def __init__(self, book: RefBook) -> None:
        self.book = book
        self.open: dict[int, int] = {}  # open qty per the events
        self.accepted: dict[int, int] = {}
        self.amended: dict[int, int] = {}  # net change of open qty by amendments
        self.filled: dict[int, int] = {}
        self.cancelled: dict[int, int] = {}
        self.joined: dict[int, int] = {}  # the step at which the order last joined the back of a queue
        self.post_only: set[int] = set()
        self.now: int | None = None
        self.step = 0

    def run(self, row: dict) -> list[RefEvent]:
        self.step += 1
        book = self.book
        before = state(book)
        if row["op"] in BOOK_OPS:
            self.book_op(row, before)
            return []
        snapshot = {o[0]: o for o in before[0]}  # id -> (id, trader, side, price, qty, tif, expiry, ts)
        events = book.process([row])
        assert all(e.cmd == 0 for e in events)

        if any(e.kind == REJECTED for e in events):
            assert len(events) == 1, events
            assert events[0] == rej(row["id"], row["trader"], events[0].reason)
            assert state(book) == before, "a rejected command changed the book"
            if row["op"] not in (OP_SUBMIT, OP_CANCEL, OP_AMEND, OP_EXPIRE):
                assert events[0].reason == INVALID_OP
            return events
        assert row["op"] in (OP_SUBMIT, OP_CANCEL, OP_AMEND, OP_EXPIRE)

        op = row["op"]
        if op == OP_SUBMIT:
            self.check_submit(row, events, before[0])
        elif op == OP_CANCEL:
            o = snapshot[row["id"]]
            assert events == [cxl(o[0], o[1], o[2], o[3], o[4], USER)]
        elif op == OP_AMEND:
            self.check_amend(row, events, snapshot, before[0])
        else:
            self.check_expire(row, events, snapshot)

        self.account(events)
        self.check_book()
        if book.stp != "none":
            assert all(e.trader != e.maker_trader for e in events if e.kind == FILL), "a self-trade"
        return events

    def book_op(self, row, before):
        book = self.book
        if row["op"] == "uncross":
            orders = book.orders()
            params = {"rule": ["midpoint", "marginal_ask", "exchange"][row["flags"] % 3], "reference_price": 100}
            params["allocation"] = "pro_rata" if row["flags"] & 4 else "time"
            expected = clear(ref_orders(book), **params)
            assert book.uncross(**params) == expected
            for o, f in zip(orders, expected.filled, strict=True):
                self.open[o[0]] -= f
                self.filled[o[0]] = self.filled.get(o[0], 0) + f
            left = [(*o[:4], o[4] - f, *o[5:]) for o, f in zip(orders, expected.filled, strict=True) if o[4] > f]
            assert book.orders() == left, "uncross moved what it did not fill"
            assert book.phase == before[4]
            self.check_book()
        else:
            crossed = bool(book.best_bid() and book.best_ask() and book.best_bid()[0] >= book.best_ask()[0])
            try:
                book.set_phase(row["op"])
            except ValueError:
                assert row["op"] == "continuous" and crossed
                assert state(book) == before
            else:
                assert not (row["op"] == "continuous" and crossed)
                assert state(book) == (*before[:4], row["op"])

    # -- per command ----------------------------------------------------------------------------

    def check_submit(self, row, events, before_orders):
        id, trader, side, qty = row["id"], row["trader"], row["side"], row["qty"]
        market = row["kind"] == MARKET
        protection = row["price"] if row["flags"] & PROTECTED else None
        limit = protection if market else row["price"]
        shown = (protection or 0) if market else row["price"]
        assert events[0] == acc(id, trader, side, shown, qty)
        assert id not in self.accepted, "an id accepted twice"
        self.accepted[id] = qty
        rest = events[1:]
        fills = [e for e in rest if e.kind == FILL]
        if row["flags"] & POST_ONLY:
            assert rest == [], "post-only took liquidity"
            self.post_only.add(id)
        if row["tif"] == GTD and self.now is not None:
            assert row["expiry"] > self.now, "a GTD order accepted with its expiry passed"
        if self.book.phase == "call":
            assert not market and row["tif"] in (GTC, GTD), "only GTC/GTD limit orders in the call phase"
            assert rest == [], "matching in the call phase"
            level = [o for o in self.book.orders() if o[2] == side and o[3] == row["price"]]
            assert self.book.position(id) == (qty, len(level) - 1), "not at the back of its level"
            self.joined[id] = self.step
            return
        if row["tif"] == FOK:
            killed = rest == [cxl(id, trader, side, shown, qty, KILLED)]
            assert killed or sum(e.qty for e in fills) == qty, "a FOK filled in part"
            assert killed or all(e.reason != KILLED for e in rest)
        self.check_matching(id, trader, side, limit, qty, events[1:], before_orders)
        if self.book.stp == "none":
            crossing = sum(o[4] for o in before_orders if o[2] == -side and reaches(side, limit, o[3]))
            expected = min(qty, crossing)
            if row["tif"] == FOK and crossing < qty:
                expected = 0
            assert sum(e.qty for e in fills) == expected
        if self.book.position(id) is not None:
            assert not market and row["tif"] in (GTC, GTD), "only GTC/GTD limit orders rest"
            self.joined[id] = self.step

    def check_amend(self, row, events, snapshot, before_orders):
        o = snapshot[row["id"]]
        new_qty = row["qty"] if row["flags"] & AMEND_QTY else o[4]
        new_price = row["price"] if row["flags"] & AMEND_PRICE else o[3]
        if new_qty == 0:
            assert events == [cxl(o[0], o[1], o[2], o[3], o[4], USER)]
            return
        kept = new_price == o[3] and new_qty <= o[4]
        assert events[0] == amd(o[0], o[1], o[2], new_price, new_qty, KEPT_PRIORITY if kept else 0)
        if kept:
            assert len(events) == 1
            return
        if self.book.phase == "call":
            assert len(events) == 1, "matching in the call phase"
            level = [x for x in self.book.orders() if x[2] == o[2] and x[3] == new_price]
            assert self.book.position(o[0]) == (new_qty, len(level) - 1), "not at the back of its level"
            self.joined[o[0]] = self.step
            return
        others = [x for x in before_orders if x[0] != o[0]]
        self.check_matching(o[0], o[1], o[2], new_price, new_qty, events[1:], others)
        if self.book.stp == "none":
            crossing = sum(x[4] for x in others if x[2] == -o[2] and reaches(o[2], new_price, x[3]))
            assert sum(e.qty for e in events if e.kind == FILL) == min(new_qty, crossing)
        if self.book.position(o[0]) is not None:
            self.joined[o[0]] = self.step

    def check_expire(self, row, events, snapshot):
        now = self.book.now
        assert now == (row["ts"] if self.now is None else max(self.now, row["ts"])), "now went back"
        self.now = now
        assert all(e.kind == CANCELLED and e.reason == EXPIRED for e in events)
        expired = [snapshot[e.id] for e in events]
        assert all(o[5] == GTD and o[6] <= now for o in expired)
        assert [o[6] for o in expired] == sorted(o[6] for o in expired), "not in order of expiry"
        for o in expired:
            assert events[expired.index(o)] == cxl(o[0], o[1], o[2], o[3], o[4], EXPIRED)
        same_expiry_in_joined_order = [
            (self.joined[a[0]], self.joined[b[0]]) for a, b in pairwise(expired) if a[6] == b[6]
        ]
        assert all(x < y for x, y in same_expiry_in_joined_order), "not in order of arrival"
        assert all(not (o[5] == GTD and o[6] <= now) for o in self.book.orders())

    def check_matching(self, id, trader, side, limit, qty, events, before_orders):
        """Price-time priority: the makers touched are the opposite side's queue from its front, in
        order; each trade is at the maker's price, within the taker's limit."""
        opposite = [o for o in before_orders if o[2] == -side]
        maker_events = [e for e in events if e.kind == FILL or (e.kind == CANCELLED and e.id != id)]
        touched: list[int] = []
        for e in maker_events:
            m = e.maker_id if e.kind == FILL else e.id
            if not touched or touched[-1] != m:
                touched.append(m)
        assert touched == [o[0] for o in opposite[: len(touched)]], "makers out of priority"
        by_id = {o[0]: o for o in opposite}
        for e in events:
            if e.kind == FILL:
                maker = by_id[e.maker_id]
                assert (e.id, e.trader, e.side, e.maker_trader, e.price) == (id, trader, side, maker[1], maker[3])
                assert reaches(side, limit, e.price), "a trade beyond the limit"
                assert e.flags & TAKER_DONE == (TAKER_DONE if self.open_after(id, qty, events, e) == 0 else 0)
            else:
                assert e.kind == CANCELLED
                assert e.id == id or e.reason == SELF_TRADE
        for m in touched[:-1]:
            assert self.book.position(m) is None, "a maker was passed over before it was done"
        assert sum(e.qty for e in events if e.kind == FILL) <= qty

    @staticmethod
    def open_after(id, qty, events, upto):
        """The taker's open qty right after event `upto`."""
        left = qty
        for e in events:
            if e.id == id and e.kind in (FILL, CANCELLED):
                left -= e.qty
            if e is upto:
                return left
        raise AssertionError("event not found")

    # -- the account ----------------------------------------------------------------------------

    def account(self, events):
        for e in events:
            if e.kind == ACCEPTED:
                self.open[e.id] = e.qty
            elif e.kind == AMENDED:
                self.amended[e.id] = self.amended.get(e.id, 0) + e.qty - self.open[e.id]
                self.open[e.id] = e.qty
            elif e.kind == FILL:
                assert e.id not in self.post_only, "a post-only order took liquidity"
                for oid in (e.id, e.maker_id):
                    self.open[oid] -= e.qty
                    self.filled[oid] = self.filled.get(oid, 0) + e.qty
                flags = (MAKER_DONE if self.open[e.maker_id] == 0 else 0) | (TAKER_DONE if self.open[e.id] == 0 else 0)
                assert e.flags == flags
            elif e.kind == CANCELLED:
                self.open[e.id] -= e.qty
                self.cancelled[e.id] = self.cancelled.get(e.id, 0) + e.qty
            assert all(q >= 0 for q in self.open.values())
            assert e.qty > 0 or e.kind == REJECTED

    def check_book(self):
        book = self.book
        orders = book.orders()
        resting_qty = {o[0]: o[4] for o in orders}
        for oid, q in self.open.items():
            assert resting_qty.get(oid, 0) == q, f"order {oid}: the events say {q} open"
            # conservation: what was accepted (and amended) is filled, cancelled or resting
            lhs = self.accepted[oid] + self.amended.get(oid, 0)
            assert lhs == self.filled.get(oid, 0) + self.cancelled.get(oid, 0) + resting_qty.get(oid, 0)
        assert set(resting_qty) <= set(self.open)
        # never crossed
        bid, ask = book.best_bid(), book.best_ask()
        if book.phase == "continuous":
            assert bid is None or ask is None or bid[0] < ask[0], "crossed book"
        # FIFO: within a level, in the order the orders joined it
        for a, b in pairwise(orders):
            if a[2] == b[2] and a[3] == b[3]:
                assert self.joined[a[0]] < self.joined[b[0]], "queue out of arrival order"
            elif a[2] == b[2]:
                assert (a[3] > b[3]) if a[2] == B else (a[3] < b[3]), "levels out of price order"
        # queries agree with orders()
        levels = {}
        for o in orders:
            p, q, n = levels.get((o[2], o[3]), (o[3], 0, 0))
            levels[(o[2], o[3])] = (p, q + o[4], n + 1)
        bids, asks = book.depth(len(orders) + 1)
        assert bids == [v for (sd, _), v in levels.items() if sd == B]
        assert asks == [v for (sd, _), v in levels.items() if sd == S]
        assert bid == (bids[0] if bids else None) and ask == (asks[0] if asks else None)


def reaches(side: int, limit: int | None, price: int) -> bool:
    """Does an order on `side` with this limit (None: none) trade at a maker price of `price`?"""
    return limit is None or (price <= limit if side == B else price >= limit)


@given(streams(book_ops=True))
def test_invariants_on_random_streams(stream):
    config, commands = stream
    checker = Checker(RefBook(**config))
    for row in commands:
        checker.run(row)


@given(streams(), st.sampled_from(["continuous", "call"]))
def test_a_batch_is_the_commands_one_by_one(stream, phase):
    config, commands = stream
    one_by_one, batch = RefBook(**config), RefBook(**config)
    one_by_one.set_phase(phase)
    batch.set_phase(phase)
    expected = [at(i, e) for i, row in enumerate(commands) for e in one_by_one.process([row])]
    assert batch.process(commands) == expected
    assert state(batch) == state(one_by_one)


def test_a_long_stream():
    """A few thousand commands, with every invariant checked: also a smoke test of speed. Every 400
    steps a call phase of 100 steps, ended by an uncross."""
    rng = random.Random(7)
    for stp in STP_MODES:
        checker = Checker(RefBook(stp=stp))
        for step in range(2000):
            if step % 400 == 300:
                checker.run({"op": "call"})
            elif step % 400 == 399:
                checker.run({"op": "uncross", "flags": step // 400})
                checker.run({"op": "continuous"})
                assert checker.book.phase == "continuous"
            row = {
                "op": rng.choice([OP_SUBMIT] * 6 + [OP_CANCEL, OP_AMEND, OP_AMEND, OP_EXPIRE]),
                "id": rng.randint(1, 3000),
                "trader": rng.randint(1, 20),
                "side": rng.choice([B, S]),
                "price": rng.randint(90, 110),
                "qty": rng.randint(1, 50),
                "tif": rng.choice([GTC, GTC, GTC, GTD, IOC, FOK]),
                "kind": rng.choice([LIMIT] * 9 + [MARKET]),
                "flags": rng.randint(0, 15),
                "expiry": rng.randint(0, 2000),
                "ts": checker.step,
            }
            checker.run(row)
