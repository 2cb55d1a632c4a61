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

import pytest
from hypothesis import given
from hypothesis import strategies as st

# tests/ is on sys.path (conftest.py)
from reference import (
    ACCEPTED,
    AMEND_PRICE,
    AMEND_QTY,
    AMENDED,
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
    Resting,
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
        events = c.run(book)
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
    case("InvalidTimeInForce: post-only IOC", [], buy(1, 100, 1, tif=IOC, post_only=True), [rej(1, 1, INVALID_TIF)], []),
    case("InvalidTimeInForce: post-only FOK", [], buy(1, 100, 1, tif=FOK, post_only=True), [rej(1, 1, INVALID_TIF)], []),
    case("InvalidTimeInForce: post-only market", [], mbuy(1, 1, post_only=True), [rej(1, 1, INVALID_TIF)], []),
    case("NothingToAmend", [buy(1, 100, 1)], amend(1, trader=1), [rej(1, 1, NOTHING_TO_AMEND)], [(1, 1, B, 100, 1)]),
    # validation order: the first failing step wins
    case("order: DuplicateId before InvalidSide", [buy(1, 100, 1)], submit(1, 0, 100, 0), [rej(1, 1, DUPLICATE_ID)], [(1, 1, B, 100, 1)]),
    case("order: InvalidSide before ZeroQuantity", [], submit(1, 0, 100, 0), [rej(1, 1, INVALID_SIDE)], []),
    case("order: ZeroQuantity before InvalidKind", [], buy(1, 100, 0, kind=7), [rej(1, 1, ZERO_QUANTITY)], []),
    case("order: InvalidKind before InvalidTimeInForce", [], buy(1, 100, 1, kind=7, tif=9), [rej(1, 1, INVALID_KIND)], []),
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
    case("tick 5: a market order's protection is checked", [], mbuy(1, 1, protection=103), [rej(1, 1, OFF_TICK)], [], tick=5),
    case(
        "tick 5: a market order's protection on tick",
        [],
        mbuy(1, 1, protection=105),
        [acc(1, 1, B, 105, 1), cxl(1, 1, B, 105, 1, UNFILLED)],
        [],
        tick=5,
    ),
    case("tick 5: amend to an off-tick price", [buy(1, 100, 1)], amend(1, price=104, trader=1), [rej(1, 1, OFF_TICK)], [(1, 1, B, 100, 1)], tick=5),
    case("tick 5: amend to an on-tick price", [buy(1, 100, 1)], amend(1, price=95), [amd(1, 1, B, 95, 1)], [(1, 1, B, 95, 1)], tick=5),
    case("lot 10: 30 is a multiple", [], buy(1, 100, 30), [acc(1, 1, B, 100, 30)], [(1, 1, B, 100, 30)], lot=10),
    case("lot 10: 15 is not", [], buy(1, 100, 15), [rej(1, 1, OFF_LOT)], [], lot=10),
    case("lot 10: amend to 15", [buy(1, 100, 30)], amend(1, qty=15), [rej(1, 0, OFF_LOT)], [(1, 1, B, 100, 30)], lot=10),
    case("lot 10: amend to 20", [buy(1, 100, 30)], amend(1, qty=20), [amd(1, 1, B, 100, 20, KEPT_PRIORITY)], [(1, 1, B, 100, 20)], lot=10),
    case("lot 10: amend to 0 is always allowed", [buy(1, 100, 30)], amend(1, qty=0), [cxl(1, 1, B, 100, 30, USER)], [], lot=10),
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
