"""`EpochManager`: the 15-minute market, crash-safe.

Each epoch goes pending -> open -> closed -> cleared -> settled (or failed, and retried). Every
accepted order, state change, clearing result and settlement attempt is in the journal before
it is acknowledged or acted on, and `recover()` resumes every epoch where it stopped:

- an order is acknowledged only once its row is committed; an id the escrow's chain already
  holds for the trader is journaled as taken and never given out;
- with a settler that closes epochs on its chain (the trading program's), an epoch is closed
  there first, and the journal's orders its owners cancelled there meanwhile are marked and left
  out of the book;
- closing, clearing (fills, per-order fills, rolled-over orders, the settlement plan) and the
  state change are one transaction, so a clearing happens once or not at all;
- each settlement transaction is journaled (its signature and blockhash) before it is sent,
  in the same commit that records the one before it confirmed;
  after a crash, a batch with an attempt the chain may still land is left until the chain
  answers, and a new attempt is made only once every earlier one is known dead. A batch is
  therefore never paid twice.

The clock is injectable: `step(now)` for backtests and notebooks, `run()` for services.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from gridmatch.clearing import clear
from gridmatch.errors import ChainError, ChainTimeout, GridmatchError, InvalidOrder, TransactionFailed
from gridmatch.journal import Attempt, BatchRecord, EpochRecord, Journal, OrderMark, OrderRecord, open_journal
from gridmatch.market import Market
from gridmatch.orders import ORDER_DTYPE
from gridmatch.participants import NotPermitted, Participant
from gridmatch.settlement import GRID, PAYMENT, Batch, FillRow, Transfer, TxStatus

_I63 = 2**63 - 1


class EpochState(enum.StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"
    CLEARED = "cleared"
    SETTLED = "settled"
    #: Settlement failed; the epoch is retried at the next step.
    FAILED = "failed"


class EpochClosed(GridmatchError, ValueError):
    """An order for an epoch that is not open. `value` is the epoch id."""


class OrderLimit(GridmatchError, ValueError):
    """A participant already placed the market's limit of orders in this epoch."""


class InsufficientFunds(GridmatchError, ValueError):
    """The order commits more GRID (sell) or payment (buy) than the participant holds and has
    approved, less what its other open orders and unsettled trades already commit."""


class OrderIdTaken(GridmatchError, ValueError):
    """The escrow's chain already holds an order of this trader under the id the engine was
    about to give out (placed by the trader itself, or just before a crash). Nothing was sent;
    the engine journals the id as taken and moves on to the next. `value` is the id."""


class Settler(Protocol):
    """What the epoch engine needs from a chain to settle: plans batches of transfers, signs
    one (without sending it), sends signed bytes (again, harmlessly, after a crash: a signature
    lands at most once), and answers for a transaction it may have sent before.

    Optional: `bind(journal)` is handed the engine's journal; `close(epoch)` closes an ended
    epoch on the chain before it is cleared (a no-op for one closed already) and returns the ids
    of the journal's orders of it that the chain no longer holds (cancelled by their owners)."""

    def plan(self, epoch: int, fills: Sequence[FillRow]) -> list[Batch]: ...
    def prepare(self, batch: Batch) -> Attempt: ...
    def submit(self, attempt: Attempt) -> None: ...
    def status(self, signature: str) -> TxStatus: ...
    def blockhash_valid(self, blockhash: str) -> bool: ...


class Escrow(Protocol):
    """Where accepted orders' funds are held until settlement (the trading program's vaults):
    `place` commits an order's funds, or raises (`InsufficientFunds`, `OrderIdTaken`, a
    `ChainError`) having committed nothing. The order's journal row is written in the same
    transaction, so a refusal leaves no trace of the order anywhere (an `OrderIdTaken` leaves
    the id marked taken, and the order is placed under the next id). `place_many` does the
    same for orders of one epoch at once, returning for each None (committed) or the error
    that refused it."""

    def place(self, order: OrderRecord) -> None: ...
    def place_many(self, orders: Sequence[OrderRecord]) -> list[GridmatchError | None]: ...


class Funds(Protocol):
    """What a trader holds and lets the market move: (GRID base units, payment base units)."""

    def holdings(self, trader: int) -> tuple[int, int]: ...


@dataclass(frozen=True)
class OrderAck:
    id: int
    epoch: int
    trader: int
    side: int
    qty: int
    price: int


@dataclass(frozen=True)
class EpochEvent:
    """What subscribers hear: an epoch's new `state`, with the price, volume and fills once
    it is cleared."""

    epoch: int
    state: EpochState
    price: int | None = None
    volume: int | None = None
    fills: tuple[FillRow, ...] = field(default=(), repr=False)


class EpochManager:
    """Runs a market's epochs over a journal and, when given one, a settler.

    Without a settler, cleared epochs count as settled (clearing-only backtests). Without
    `funds`, orders are not checked against holdings. With an `escrow`, each accepted order's
    funds are escrowed as it is accepted (rollover orders are refused: their rest would need
    its trader's signature in the next epoch). A settler with a `bind` method is handed the
    journal (the trading program's rebuilds its batches from the epoch's orders and fills).
    """

    def __init__(
        self,
        market: Market,
        *,
        journal: str | Journal = ":memory:",
        settler: Settler | None = None,
        funds: Funds | None = None,
        escrow: Escrow | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.market = market
        self.journal = open_journal(journal)
        self.journal.bind(market)
        self.settler = settler
        bind = getattr(settler, "bind", None)
        if bind is not None:
            bind(self.journal)
        self.funds = funds
        self.escrow = escrow
        self.clock = clock
        self._subscribers: list[Callable[[EpochEvent], None]] = []
        self._queues: list[asyncio.Queue[EpochEvent]] = []
        #: The epoch the last `step` was in: orders within it need no new step.
        self._stepped: int | None = None

    # -- participants ---------------------------------------------------------------------

    def register(self, participant: Participant) -> Participant:
        if not 0 < participant.id <= _I63:
            raise InvalidOrder(f"participant id {participant.id}: must be 1..2^63-1", field="id", value=participant.id)
        self.journal.put_participant(participant)
        return participant

    def participant(self, trader: int) -> Participant:
        found = self.journal.participant(trader)
        if found is None:
            raise NotPermitted(f"participant {trader} is not registered", field="participant", value=trader)
        return found

    def suspend(self, trader: int, suspended: bool = True) -> None:
        p = self.participant(trader)
        self.journal.put_participant(Participant(p.id, p.role, p.name, p.wallet, suspended))

    # -- orders ---------------------------------------------------------------------------

    def submit(
        self, trader: int, side: int, qty: int, price: int, *, rollover: bool = False, at: float | None = None
    ) -> OrderAck:
        """Places a limit order in the epoch open at `at` (default: now). The order is in the
        journal when this returns; a refusal raises a typed error and changes nothing."""
        epoch = self._epoch_at(at)
        self._check(epoch, trader, side, qty, price, rollover)
        while True:
            lost: ChainTimeout | None = None
            with self.journal.transaction():  # the id and its row (or its mark) together: no id given twice
                order = OrderRecord(
                    self.journal.next_order_id(), epoch, trader, side, price, qty, 0, rollover, None, None
                )
                try:
                    if self.escrow is not None:
                        self.escrow.place(order)
                except OrderIdTaken as taken:
                    self.journal.mark_order(epoch, order.id, trader, OrderMark.ID_TAKEN, str(taken))
                    continue
                except ChainTimeout as timeout:  # it may still land: its id is never given out again
                    self._lost(order, timeout)
                    lost = timeout
                else:
                    self.journal.add_order(order)
            if lost is not None:
                raise lost
            return OrderAck(order.id, epoch, trader, side, qty, price)

    def submit_many(
        self, orders: Sequence[tuple[int, int, int, int]], *, at: float | None = None
    ) -> list[OrderAck | GridmatchError]:
        """Places limit orders `(trader, side, qty, price)` in the epoch open at `at` together:
        each checked as `submit` checks it (against the batch's earlier orders too), the
        accepted escrowed at once (the trading program's: as many a transaction as fit) and
        journaled in one transaction, ids in the batch's order. Returns, in order, each one's
        acknowledgement or the typed error that refused it (a refusal changes nothing)."""
        epoch = self._epoch_at(at)
        results: dict[int, OrderAck | GridmatchError] = {}
        earlier: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # each trader's accepted ones
        waiting = []
        for k, (trader, side, qty, price) in enumerate(orders):
            try:
                self._check(epoch, trader, side, qty, price, False, earlier[trader])
            except GridmatchError as refused:
                results[k] = refused
                continue
            earlier[trader].append((side, qty, price))
            waiting.append(k)
        while waiting:  # again under new ids for the orders whose ids the chain held already
            taken = []
            with self.journal.transaction():
                first = self.journal.next_order_id()
                records = []
                for i, k in enumerate(waiting):
                    trader, side, qty, price = orders[k]
                    records.append(OrderRecord(first + i, epoch, trader, side, price, qty, 0, False, None, None))
                outcomes = self.escrow.place_many(records) if self.escrow is not None else [None] * len(records)
                for k, order, outcome in zip(waiting, records, outcomes, strict=True):
                    if outcome is None:
                        self.journal.add_order(order)
                        results[k] = OrderAck(order.id, epoch, order.trader, order.side, order.qty, order.price)
                    elif isinstance(outcome, OrderIdTaken):
                        self.journal.mark_order(epoch, order.id, order.trader, OrderMark.ID_TAKEN, str(outcome))
                        taken.append(k)
                    else:
                        if isinstance(outcome, ChainTimeout):
                            self._lost(order, outcome)
                        results[k] = outcome
            waiting = taken
        return [results[k] for k in range(len(orders))]

    def _epoch_at(self, at: float | None) -> int:
        """The epoch open at `at` (default: now), stepping there first."""
        now = self.clock() if at is None else at
        epoch = self.market.epoch_id(now)
        if epoch != self._stepped:
            self.step(now)
        return epoch

    def _check(
        self,
        epoch: int,
        trader: int,
        side: int,
        qty: int,
        price: int,
        rollover: bool,
        earlier: Sequence[tuple[int, int, int]] = (),
    ) -> None:
        """Refuses an order `submit` would not accept: `earlier` are the trader's orders of the
        same batch, accepted and not yet journaled (they count against its limit and funds)."""
        for name, value, low in (("qty", qty, 1), ("price", price, -_I63)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _I63:
                raise InvalidOrder(f"{name} = {value!r}: must be an integer in range", field=name, value=value)
        if side not in (1, -1):
            raise InvalidOrder(f"side = {side!r}: must be +1 (buy) or -1 (sell)", field="side", value=side)
        if rollover and self.escrow is not None:
            raise InvalidOrder("rollover = True: not with escrowed orders", field="rollover", value=rollover)
        self.participant(trader).require(side)
        record = self.journal.epoch(epoch)
        if record is None or record.state != EpochState.OPEN:
            raise EpochClosed(f"epoch {epoch} is not open", field="epoch", value=epoch)
        placed = self.journal.count_orders(epoch, trader) + len(earlier)
        if placed >= self.market.order_limit:
            message = f"participant {trader} has {placed} orders in epoch {epoch}"
            raise OrderLimit(message, field="order_limit", value=trader)
        self._check_funds(trader, side, qty, price, earlier)

    def _lost(self, order: OrderRecord, timeout: ChainTimeout) -> None:
        """A placement that timed out may still land: its id is marked taken, never given again."""
        detail = f"placing it timed out: {timeout}"
        self.journal.mark_order(order.epoch, order.id, order.trader, OrderMark.ID_TAKEN, detail)

    def _commitment(self, side: int, qty: int, price: int) -> tuple[int, int]:
        """The most GRID and payment an order can move away from its trader: a sell delivers
        its GRID and, at a negative price, pays; a buy pays at most its limit plus its fee."""
        buyer_pays, seller_receives, _, _ = self.market.split(self.market.notional(qty, price))
        if side == -1:
            return self.market.grid_units(qty), max(0, -seller_receives)
        return 0, max(0, buyer_pays)

    def _check_funds(
        self, trader: int, side: int, qty: int, price: int, earlier: Sequence[tuple[int, int, int]]
    ) -> None:
        if self.funds is None:
            return
        grid, payment = self.funds.holdings(trader)
        # Open orders commit their worst case (the batch's too); cleared trades not yet settled
        # commit what they move.
        unsettled = [EpochState.OPEN, EpochState.PENDING, EpochState.CLOSED]
        open_orders = [
            (o.side, o.qty, o.price) for e in self.journal.epochs(unsettled) for o in self.journal.orders(e.id, trader)
        ]
        for o_side, o_qty, o_price in [*open_orders, *earlier]:
            g, p = self._commitment(o_side, o_qty, o_price)
            grid, payment = grid - g, payment - p
        for epoch in self.journal.epochs([EpochState.CLEARED, EpochState.FAILED]):
            for batch in self.journal.batches(epoch.id):
                if batch.state != "confirmed":
                    for mint, source, _, amount in batch.transfers:
                        if source == trader:
                            grid -= amount if mint == GRID else 0
                            payment -= amount if mint == PAYMENT else 0
        need_grid, need_payment = self._commitment(side, qty, price)
        if need_grid > grid or need_payment > payment:
            message = (
                f"participant {trader} commits {need_grid} GRID and {need_payment} payment base units; "
                f"available {grid} and {payment}"
            )
            raise InsufficientFunds(message, field="funds", value=trader)

    # -- the lifecycle --------------------------------------------------------------------

    def step(self, now: float | None = None) -> list[EpochEvent]:
        """Advances every epoch to `now` (default: the clock): opens the current one, closes,
        clears and settles the ones that ended, retries failed settlements."""
        at = self.clock() if now is None else now
        current = self.market.epoch_id(at)
        events: list[EpochEvent] = []
        stuck: set[int] = set()
        # Clearing an epoch may roll orders into the next, which may itself be over already.
        ending = [EpochState.PENDING, EpochState.OPEN, EpochState.CLOSED]
        while ended := [r for r in self.journal.epochs(ending) if r.id < current and r.id not in stuck]:
            record = ended[0]
            if record.state == EpochState.PENDING:
                self._set(record.id, EpochState.OPEN, events)
            if record.state != EpochState.CLOSED:
                self._set(record.id, EpochState.CLOSED, events)
            if not self._try_clear(record, events):
                stuck.add(record.id)
        events.extend(self._settle_pending())
        found = self.journal.epoch(current)
        if found is None or found.state == EpochState.PENDING:
            self._set(current, EpochState.OPEN, events)
        self._stepped = current
        for event in events:
            self._publish(event)
        return events

    def recover(self) -> list[EpochEvent]:
        """Resumes every epoch where the journal says it stopped (clears closed ones, settles
        cleared and failed ones), then steps to now."""
        events: list[EpochEvent] = []
        for record in self.journal.epochs([EpochState.CLOSED]):
            self._try_clear(record, events)
        for event in events:
            self._publish(event)
        return events + self.step()

    async def run(self, stop: asyncio.Event | None = None, *, poll: float = 1.0) -> None:
        """Steps with the clock until `stop` is set: at each epoch boundary, and at least every
        `poll` seconds (so an injected clock may jump, and waiting settlements are retried)."""
        stop = stop or asyncio.Event()
        self.recover()
        while not stop.is_set():
            now = self.clock()
            _, end = self.market.epoch_bounds(self.market.epoch_id(now))
            delay = min(poll, end.timestamp() - now)
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(delay, 0.0))
            except TimeoutError:
                await asyncio.to_thread(self.step)

    def _set(
        self, epoch: int, state: EpochState, events: list[EpochEvent], fills: Sequence[FillRow] = (), **outcome: Any
    ) -> None:
        self.journal.set_epoch(epoch, state.value, **outcome)
        events.append(EpochEvent(epoch, state, outcome.get("price"), outcome.get("volume"), tuple(fills)))

    def _try_clear(self, record: EpochRecord, events: list[EpochEvent]) -> bool:
        """Clears a closed epoch; False (the error recorded, the epoch left closed, to be tried
        again at the next step) when its chain could not be asked or could not close it."""
        try:
            events.extend(self._clear(record.id))
        except ChainError as err:
            self.journal.set_epoch(record.id, EpochState.CLOSED.value, detail={"error": str(err)}, attempt=True)
            return False
        return True

    def _close(self, epoch: int) -> set[int]:
        """Closes the epoch on the settler's chain, if it does that; marks the journal's orders
        the chain no longer holds (cancelled there by their owners) and returns every id marked."""
        close = getattr(self.settler, "close", None)
        if close is not None:
            gone = set(close(epoch))
            with self.journal.transaction():
                for o in self.journal.orders(epoch):
                    if o.id in gone:
                        self.journal.mark_order(epoch, o.id, o.trader, OrderMark.CANCELLED, "not on chain at close")
        return {m.id for m in self.journal.marks(epoch, OrderMark.CANCELLED)}

    def _clear(self, epoch: int) -> list[EpochEvent]:
        """Closes an epoch (on chain first, see `_close`), clears its book and records
        everything the clearing decides in one transaction."""
        cancelled = self._close(epoch)
        orders = [o for o in self.journal.orders(epoch) if o.id not in cancelled]
        book = np.zeros(len(orders), dtype=ORDER_DTYPE)
        for i, o in enumerate(orders):
            book[i] = (o.id, o.trader, o.side, o.price, o.qty, o.id, o.kind)
        last = [e.price for e in self.journal.epochs([EpochState.SETTLED]) if e.price is not None]
        result = clear(
            book,
            rule=self.market.rule,
            allocation=self.market.allocation,
            reference_price=last[-1] if last else None,
            min_price=self.market.min_price,
            max_price=self.market.max_price,
        )
        fills: list[FillRow] = [tuple(f) for f in result.fills.tolist()]
        filled = dict(zip(book["id"].tolist(), result.filled.tolist(), strict=True))
        batches = self.settler.plan(epoch, fills) if self.settler else []
        state = EpochState.CLEARED if batches else EpochState.SETTLED
        events: list[EpochEvent] = []
        with self.journal.transaction():
            self.journal.add_fills(epoch, fills)
            self.journal.set_filled(filled)
            self._roll_over(epoch, orders, filled)
            for batch in batches:
                self.journal.add_batch(batch.id, epoch, batch.idx, [t.row() for t in batch.transfers])
            detail = {"orders": len(orders), "cancelled": len(cancelled), "fills": len(fills), "batches": len(batches)}
            outcome = {"price": result.price, "volume": result.volume, "detail": detail}
            self._set(epoch, EpochState.CLEARED, events, fills, **outcome)
            if state == EpochState.SETTLED:
                self._set(epoch, EpochState.SETTLED, events)
        return events

    def _roll_over(self, epoch: int, orders: list[OrderRecord], filled: dict[int, int]) -> None:
        """Carries the unfilled rest of every rollover order into the next epoch."""
        next_epoch = self.market.next_epoch(epoch)
        rolled = [(o, o.qty - filled.get(o.id, 0)) for o in orders if o.rollover and o.qty > filled.get(o.id, 0)]
        for o, left in rolled:
            order_id = self.journal.next_order_id()
            self.journal.add_order(
                OrderRecord(order_id, next_epoch, o.trader, o.side, o.price, left, o.kind, True, o.id, None)
            )
        if rolled and self.journal.epoch(next_epoch) is None:
            self.journal.set_epoch(next_epoch, EpochState.PENDING.value)

    def _settle_pending(self) -> list[EpochEvent]:
        events: list[EpochEvent] = []
        for record in self.journal.epochs([EpochState.CLEARED, EpochState.FAILED]):
            if self.settler is None:
                self._set(record.id, EpochState.SETTLED, events)
                continue
            outcome = self._settle(record.id)
            if outcome is not None and outcome != record.state:
                self._set(record.id, outcome, events)
        return events

    def _settle(self, epoch: int) -> EpochState | None:
        """Sends what is left of an epoch's batches. Returns its new state, or None while a
        transaction's fate is unknown. A batch that landed is journaled confirmed in the same
        commit as the next batch's attempt (or on the way out): one durable write a batch."""
        assert self.settler is not None
        landed: tuple[str, str] | None = None  # (signature, batch): landed, not yet journaled
        try:
            for batch in self.journal.batches(epoch):
                if batch.state == "confirmed":
                    continue
                try:
                    known = self._reconcile(batch)
                    if known == "dead":
                        plan = Batch(batch.id, epoch, batch.idx, tuple(Transfer(*t) for t in batch.transfers))
                        attempt = self.settler.prepare(plan)
                        with self.journal.transaction():
                            if landed is not None:
                                self._confirm(*landed)
                                landed = None
                            self.journal.add_attempt(batch.id, attempt)
                        known = "waiting"
                        if self._send(attempt):
                            landed, known = (attempt.signature, batch.id), "confirmed"
                except TransactionFailed as err:
                    self.journal.set_epoch(epoch, EpochState.FAILED.value, detail={"error": str(err)}, attempt=True)
                    return EpochState.FAILED
                if known != "confirmed":
                    return None
            return EpochState.SETTLED
        finally:
            if landed is not None:
                self._confirm(*landed)

    def _send(self, attempt: Attempt) -> bool:
        """Submits a journaled attempt: True once it landed, False when the chain did not answer
        (a `TransactionFailed` propagates, the attempt marked failed)."""
        assert self.settler is not None
        try:
            self.settler.submit(attempt)
        except TransactionFailed:
            self.journal.set_attempt(attempt.signature, "failed")
            raise
        except ChainTimeout:
            return False
        return True

    def _confirm(self, signature: str, batch: str) -> None:
        with self.journal.transaction():
            self.journal.set_attempt(signature, "confirmed")
            self.journal.set_batch(batch, "confirmed")

    def _reconcile(self, batch: BatchRecord) -> str:
        """Settles what the chain says of a batch's earlier attempts: "confirmed" if one landed,
        "waiting" if one may still land (it is sent again: the same signature lands at most
        once), "dead" if none can."""
        assert self.settler is not None
        for attempt, state in batch.attempts:
            if state != "sent":
                continue
            status = self.settler.status(attempt.signature)
            if status == TxStatus.CONFIRMED:
                self._confirm(attempt.signature, batch.id)
                return "confirmed"
            if status == TxStatus.FAILED:
                self.journal.set_attempt(attempt.signature, "failed")
            elif self.settler.blockhash_valid(attempt.blockhash):
                if not self._send(attempt):
                    return "waiting"
                self._confirm(attempt.signature, batch.id)
                return "confirmed"
            else:
                self.journal.set_attempt(attempt.signature, "expired")
        return "dead"

    # -- subscribers ----------------------------------------------------------------------

    def subscribe(self, callback: Callable[[EpochEvent], None]) -> Callable[[], None]:
        """Calls `callback` with every event; returns a function that unsubscribes it."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    async def events(self) -> AsyncIterator[EpochEvent]:
        """Every event from now on, as an async iterator."""
        queue: asyncio.Queue[EpochEvent] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    def _publish(self, event: EpochEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)
        for queue in self._queues:
            queue.put_nowait(event)

    # -- queries --------------------------------------------------------------------------

    def state(self, epoch: int) -> EpochState | None:
        record = self.journal.epoch(epoch)
        return None if record is None else EpochState(record.state)

    def balances_moved(self) -> dict[tuple[str, int], int]:
        """Each (mint, participant)'s net change over every confirmed batch: what the chain
        must show against the balances it started from (once, in program mode, every order
        is claimed; the market's vaults are participant `settlement.VAULT`)."""
        net: dict[tuple[str, int], int] = defaultdict(int)
        for record in self.journal.epochs():
            for batch in self.journal.batches(record.id):
                if batch.state == "confirmed":
                    for mint, source, dest, amount in batch.transfers:
                        net[mint, source] -= amount
                        net[mint, dest] += amount
        return {k: v for k, v in net.items() if v}


__all__ = [
    "EpochClosed",
    "EpochEvent",
    "EpochManager",
    "EpochState",
    "Escrow",
    "Funds",
    "InsufficientFunds",
    "OrderAck",
    "OrderIdTaken",
    "OrderLimit",
    "Settler",
]
