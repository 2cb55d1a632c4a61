"""The order book against the pure-Python reference book: hypothesis drives both with the same
command streams and compares every event and the whole book after every step, and checks the
book's invariants on the engine's own events."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import reference
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import gridmatch as gm

FIELDS = gm.EVENT_DTYPE.names
PRICES = st.integers(95, 105)
QTYS = st.integers(1, 6)
TRADERS = st.integers(1, 4)
ALLOCATIONS = ["time", "pro_rata"]


class BookMachine(RuleBasedStateMachine):
    @initialize(
        stp=st.sampled_from(["none", "cancel_newest", "cancel_oldest", "cancel_both", "decrement"]),
        tick=st.sampled_from([None, None, 1, 2]),
        lot=st.sampled_from([None, None, 2]),
    )
    def start(self, stp, tick, lot):
        self.book = gm.OrderBook(stp=stp, tick=tick, lot=lot)
        self.ref = reference.RefBook(stp=stp, tick=tick, lot=lot)
        self.stp = stp
        self.next_id = 1
        self.now = 0
        self.accepted: dict[int, tuple[int, int, int | None, bool]] = {}  # id -> (side, qty, limit, post_only)
        self.filled: dict[int, int] = defaultdict(int)
        self.cancelled: dict[int, int] = defaultdict(int)
        self.fok: set[int] = set()

    # -- commands -------------------------------------------------------------------------

    def run(self, rows: list[dict[str, int]]) -> np.ndarray:
        commands = gm.command_array(**{name: [row.get(name, 0) for row in rows] for name in gm.COMMAND_DTYPE.names})
        got = self.book.process(commands)
        want = self.ref.process(commands)
        got_rows = [dict(zip(FIELDS, ev, strict=True)) for ev in got.tolist()]
        want_rows = [{name: getattr(ev, name) for name in FIELDS} for ev in want]
        assert got_rows == want_rows, f"commands {rows}"
        self.account(got, rows)
        return got

    def account(self, events: np.ndarray, rows: list[dict[str, int]]) -> None:
        for ev in gm.to_events(events):
            match ev:
                case gm.Accepted(cmd=cmd, id=oid, side=side, qty=qty):
                    row = rows[cmd]
                    market = row.get("kind", 0) == 1
                    limit = row["price"] if not market or row.get("flags", 0) & gm.Flag.PROTECTED else None
                    self.accepted[oid] = (side, qty, limit, bool(row.get("flags", 0) & gm.Flag.POST_ONLY))
                    if row.get("tif", 0) == gm.Tif.FOK:
                        self.fok.add(oid)
                case gm.Fill(taker_id=taker, maker_id=maker, qty=qty, price=price):
                    side, _, limit, post_only = self.accepted[taker]
                    assert limit is None or (price <= limit if side == gm.Side.BUY else price >= limit)
                    assert not post_only, f"post-only order {taker} took liquidity"
                    if self.stp != "none":
                        assert ev.taker_trader != ev.maker_trader, "a trader traded with itself"
                    self.filled[taker] += qty
                    self.filled[maker] += qty
                case gm.Cancelled(id=oid, qty=qty):
                    self.cancelled[oid] += qty
                case gm.Amended(id=oid, qty=qty):
                    # the open quantity is set anew: what rested before is neither filled nor cancelled
                    side, _, _, post_only = self.accepted[oid]
                    self.accepted[oid] = (side, self.filled[oid] + self.cancelled[oid] + qty, ev.price, post_only)

    def new_id(self, reuse: bool) -> int:
        if reuse and self.accepted:
            return min(self.accepted)
        self.next_id += 1
        return self.next_id - 1

    @rule(
        reuse=st.booleans(),
        trader=TRADERS,
        side=st.sampled_from([1, -1]),
        price=PRICES,
        qty=QTYS,
        tif=st.sampled_from([0, 0, 0, 1, 2, 3]),
        market=st.integers(0, 9),
        post_only=st.integers(0, 4),
        expiry=st.integers(0, 30),
    )
    def submit(self, reuse, trader, side, price, qty, tif, market, post_only, expiry):
        kind = 1 if market == 0 else 0
        flags = int(gm.Flag.POST_ONLY) if post_only == 0 else 0
        if kind and market:
            flags |= int(gm.Flag.PROTECTED)
        tif = gm.Tif.IOC if kind and tif < 2 else tif  # market orders are IOC or FOK
        row = dict(op=0, id=self.new_id(reuse and market == 1), trader=trader, side=side, price=price, qty=qty)
        row.update(tif=tif, kind=kind, flags=flags, expiry=expiry)
        self.run([row])

    @rule(data=st.data())
    def malformed(self, data):
        row = {"op": 0, "id": self.new_id(False), "trader": 1, "side": 1, "price": 100, "qty": 1}
        field, value = data.draw(
            st.sampled_from([("side", 0), ("side", 2), ("qty", 0), ("kind", 3), ("tif", 4), ("op", 9), ("price", 101)])
        )
        row[field] = value
        self.run([row])

    @precondition(lambda self: self.accepted)
    @rule(data=st.data())
    def cancel(self, data):
        oid = data.draw(st.sampled_from(sorted(self.accepted)) | st.integers(0, self.next_id + 2))
        self.run([{"op": 1, "id": oid, "trader": 3}])

    @precondition(lambda self: self.accepted)
    @rule(data=st.data(), qty=st.none() | st.integers(0, 8), price=st.none() | PRICES)
    def amend(self, data, qty, price):
        oid = data.draw(st.sampled_from(sorted(self.accepted)))
        flags = int(gm.Flag.AMEND_QTY) if qty is not None else 0
        flags |= int(gm.Flag.AMEND_PRICE) if price is not None else 0
        self.run([{"op": 2, "id": oid, "qty": qty or 0, "price": price or 0, "flags": flags}])

    @rule(step=st.integers(0, 8))
    def expire(self, step):
        self.now += step
        self.run([{"op": 3, "ts": self.now}])

    @rule(phase=st.sampled_from(["call", "continuous"]))
    def set_phase(self, phase):
        try:
            self.book.set_phase(phase)
        except gm.InvalidParameter:
            try:
                self.ref.set_phase(phase)
            except ValueError:
                return
            raise AssertionError("the engine refused a phase change the reference took") from None
        self.ref.set_phase(phase)

    @rule(rule_=st.sampled_from(["midpoint", "marginal_ask", "exchange"]), allocation=st.sampled_from(ALLOCATIONS))
    def uncross(self, rule_, allocation):
        got = self.book.uncross(rule=rule_, allocation=allocation, reference_price=100)
        want = self.ref.uncross(rule=rule_, allocation=allocation, reference_price=100)
        got_tuple = (got.price, got.volume, got.filled.tolist(), got.fills.tolist())
        assert got_tuple == (want.price, want.volume, want.filled, want.fills)
        ids = got.orders["id"].tolist()
        for oid, qty in zip(ids, got.filled.tolist(), strict=True):
            self.filled[oid] += qty

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def same_book(self):
        if not hasattr(self, "book"):
            return
        assert [tuple(o) for o in self.book.orders()] == self.ref.orders()
        assert self.book.depth(5) == tuple([gm.Level(*lvl) for lvl in side] for side in self.ref.depth(5))

    @invariant()
    def never_crossed_in_continuous_trading(self):
        if not hasattr(self, "book") or self.book.phase != "continuous":
            return
        bid, ask = self.book.best_bid(), self.book.best_ask()
        assert bid is None or ask is None or bid.price < ask.price

    @invariant()
    def quantity_is_conserved(self):
        if not hasattr(self, "book"):
            return
        resting = {o.id: o.qty for o in self.book.orders()}
        for oid, (_, qty, _, _) in self.accepted.items():
            assert qty == self.filled[oid] + self.cancelled[oid] + resting.get(oid, 0), f"order {oid}"
        for oid in self.fok:
            assert self.filled[oid] in (0, self.accepted[oid][1]), f"FOK {oid} filled partly"


TestBook = BookMachine.TestCase
