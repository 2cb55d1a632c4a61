"""`EpochManager`: the 15-minute market, crash-safe.

Each epoch goes pending -> open -> closed -> cleared -> settled. A clearing that raises makes it
void (no trades; settled by giving every order back). A settlement transaction that fails makes
it failed, retried after a doubling back-off, and stuck after `max_attempts` failures, until an
operator calls `retry`. Every accepted order, state change, clearing result and settlement
attempt is in the journal before it is acknowledged or acted on, and `recover()` resumes every
epoch where it stopped:

- one writer: a journal has one manager at a time (`Journal.claim_writer`); a second one, in
  this process or another, is refused with `JournalBusy`. Within it, every decision that depends
  on the journal (the epoch open, the participant's limit, the epoch's volume, funds committed)
  is taken in the transaction that writes it, so concurrent `submit`s and `step`s never
  acknowledge an order into a closed epoch or past a limit; steps never overlap;
- the engine's clock decides which epoch is open: `submit` refuses an order whose time is
  outside the open epoch's window (give or take `clock_tolerance`) and never steps the market;
  a clock that goes back never reopens an epoch (an open epoch it went back before is closed
  and cleared at once, and the rest of its rollover orders expires rather than wait in an
  epoch as far ahead), and a jump forward closes, clears and settles the epochs in between;
- an order is acknowledged only once its row is committed. With an escrow (the trading
  program's) it is first journaled as being placed, then placed on chain with no lock held,
  then acknowledged; one still being placed when its epoch closes (the process died, or the
  close won the race) is never acknowledged, and its escrow, if it landed, is claimed back;
- with a settler that closes epochs on its chain (the trading program's), an epoch is closed
  there first, and the journal's orders its owners cancelled there meanwhile are marked and left
  out of the book;
- closing, clearing (fills, per-order fills, rolled-over orders, the settlement plan) and the
  state change are one transaction, so a clearing happens once or not at all;
- each settlement transaction is journaled (its signature, blockhash and last valid height)
  before it is sent, in the same commit that records the one before it confirmed. After a
  crash, an attempt the chain has seen is waited for, one it has not is sent again as it is,
  and a new attempt is made only once the chain says every earlier one can never land. A batch
  is therefore never paid twice;
- a chain that does not answer delays clearing and settlement; it never stops the epoch clock
  or order intake, and a subscriber that raises is logged and skipped.

The clock is injectable: `step(now)` for backtests and notebooks, `run()` for services.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import functools
import logging
import math
import numbers
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from gridmatch._core import PriceRule
from gridmatch.clearing import ClearingResult, clear
from gridmatch.errors import (
    ChainError,
    ChainTimeout,
    GridmatchError,
    InvalidOrder,
    InvalidParameter,
    MissingReferencePrice,
    TransactionFailed,
)
from gridmatch.journal import (
    Attempt,
    AttemptState,
    BatchRecord,
    BatchState,
    EpochRecord,
    Journal,
    JournalError,
    OrderMark,
    OrderRecord,
    open_journal,
)
from gridmatch.market import Market
from gridmatch.orders import ORDER_DTYPE
from gridmatch.participants import NotPermitted, Participant
from gridmatch.settlement import GRID, PAYMENT, Batch, ClearedEpoch, FillRow, Transfer, TxStatus

_I63 = 2**63 - 1
_LATEST = 253_402_300_799  # 9999-12-31 23:59:59 UTC: the last instant an epoch id can name
log = logging.getLogger(__name__)


class EpochState(enum.StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"
    CLEARED = "cleared"
    #: Its clearing raised (the reason is in its detail): no trades, every order expires
    #: unfilled (an escrowed one is claimed back whole). Settled as a cleared epoch is.
    VOID = "void"
    SETTLED = "settled"
    #: A settlement transaction failed; tried again after a back-off.
    FAILED = "failed"
    #: Settlement failed `max_attempts` times; it waits for an operator (`EpochManager.retry`).
    STUCK = "stuck"


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
    lands at most once), and answers for a transaction it may have sent before: its status, and
    whether it has expired (it can never land: judged from the attempt's journaled blockhash and
    last valid height, never from what a chain object remembers).

    The engine hands it each epoch's clearing whole (`ClearedEpoch`, rebuilt from the journal
    after a restart): the settler reads no journal. Optional: `close(epoch, orders, placing)`
    closes an ended epoch on the chain before it is cleared (a no-op for one closed already;
    `placing`: placements may be on their way) and returns the ids of `orders` the chain no
    longer holds (cancelled by their owners)."""

    def plan(self, cleared: ClearedEpoch) -> list[Batch]: ...
    def prepare(self, batch: Batch, cleared: ClearedEpoch) -> Attempt: ...
    def submit(self, attempt: Attempt) -> None: ...
    def status(self, signature: str) -> TxStatus: ...
    def expired(self, attempt: Attempt) -> bool: ...


class Escrow(Protocol):
    """Where accepted orders' funds are held until settlement (the trading program's vaults):
    `place_many` commits the funds of orders of one epoch, returning for each None (committed)
    or the error that refused it, having committed nothing of it (`InsufficientFunds`,
    `OrderIdTaken`, a `ChainError`; a `ChainTimeout` means it may land yet). `place` does the
    same for one order, raising."""

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


class _Fate(enum.Enum):
    """What the chain's answers say of a settlement batch."""

    CONFIRMED = enum.auto()  # an attempt landed
    WAITING = enum.auto()  # an attempt may still land
    DEAD = enum.auto()  # none can: sign a new one


@dataclass(frozen=True)
class EngineStatus:
    """What an operator needs at a glance: the epoch taking orders, the epochs still being
    cleared or settled, and those whose settlement gave up (`EpochManager.retry` resumes one)."""

    open_epoch: int | None
    unsettled: tuple[EpochRecord, ...]
    stuck: tuple[EpochRecord, ...]


@dataclass(frozen=True)
class _Order:
    """An order's checked arguments."""

    trader: int
    side: int
    qty: int
    price: int
    rollover: bool

    @classmethod
    def of(cls, trader: object, side: object, qty: object, price: object, rollover: object) -> _Order:
        if isinstance(side, bool) or not isinstance(side, numbers.Integral) or side not in (1, -1):
            raise InvalidOrder(f"side = {side!r}: must be +1 (buy) or -1 (sell)", field="side", value=side)
        if not isinstance(rollover, bool):
            raise InvalidOrder(f"rollover = {rollover!r}: must be a bool", field="rollover", value=rollover)
        return cls(
            _integer("trader", trader, 1, _I63),
            int(side),
            _integer("qty", qty, 1, _I63),
            _integer("price", price, -_I63, _I63),
            rollover,
        )


@functools.lru_cache(maxsize=256)
def _window(market: Market, epoch: int) -> tuple[float, float]:
    """An epoch's [start, end) as POSIX times (parsing its id costs more than an order's checks)."""
    start, end = market.epoch_bounds(epoch)
    return start.timestamp(), end.timestamp()


def _integer(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= int(value) <= high:
        raise InvalidOrder(f"{name} = {value!r}: must be an integer in {low}..{high}", field=name, value=value)
    return int(value)


def _instant(name: str, value: object, error: type[GridmatchError] = InvalidOrder) -> float:
    """A POSIX time an epoch id can name (NaN, infinities and bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) <= _LATEST:
        raise error(f"{name} = {value!r}: must be a POSIX time in 1970..9999", field=name, value=value)
    return float(value)


def _positive(name: str, value: object, *, whole: bool = False) -> None:
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not 0 <= value < math.inf:
        raise InvalidParameter(f"{name} = {value!r}: must be a finite number >= 0", field=name, value=value)


@dataclass(eq=False)
class _Intake:
    """One `submit`/`submit_many` call's orders, waiting for the group commit that journals
    them with every other call's that arrived meanwhile (one durable write for all)."""

    when: float
    orders: dict[int, _Order]  # by the call's positions
    waiting: list[int]  # positions still to journal
    holdings: dict[int, tuple[int, int]]
    results: dict[int, OrderAck | GridmatchError]
    placing: list[tuple[int, OrderRecord]] = field(default_factory=list)  # journaled as being placed
    error: Exception | None = None  # the group's journal write failed
    lead: bool = False
    wake: threading.Event = field(default_factory=threading.Event)


class EpochManager:
    """Runs a market's epochs over a journal and, when given one, a settler.

    Without a settler, cleared epochs count as settled (clearing-only backtests). Without
    `funds`, orders are not checked against holdings. With an `escrow`, each accepted order's
    funds are escrowed as it is accepted (rollover orders are refused: their rest would need
    its trader's signature in the next epoch). The settler is handed each epoch's clearing
    whole (`ClearedEpoch`); it reads no journal.

    `clock_tolerance` (seconds) is how far an order's time may lie outside the open epoch, and
    an open epoch ahead of the clock, before they count as a clock fault. A settlement that
    fails is retried after `retry_delay` seconds, doubling, `max_attempts` times in all, then
    the epoch is `STUCK`. The journal's writer lease is waited for up to `lease_wait` seconds.
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
        clock_tolerance: float = 2.0,
        max_attempts: int = 5,
        retry_delay: float = 5.0,
        lease_wait: float = 0.0,
    ) -> None:
        _positive("clock_tolerance", clock_tolerance)
        _positive("retry_delay", retry_delay)
        _positive("lease_wait", lease_wait)
        _positive("max_attempts", max_attempts, whole=True)
        if max_attempts < 1:
            raise InvalidParameter(f"max_attempts = {max_attempts}: must be >= 1", field="max_attempts", value=0)
        self.market = market
        self.journal = open_journal(journal)
        self.journal.claim_writer(lease_wait)
        self.journal.bind(market)
        self.settler = settler
        self.funds = funds
        self.escrow = escrow
        self.clock = clock
        self.clock_tolerance = float(clock_tolerance)
        self.max_attempts = max_attempts
        self.retry_delay = float(retry_delay)
        #: Steps never overlap, nor do their events (a subscriber may step); order intake never waits for one.
        self._stepping = threading.RLock()
        self._intake_lock = threading.Lock()  # guards the calls waiting for the next group commit
        self._intakes: list[_Intake] = []
        self._leading = False
        #: Each (epoch, side)'s journaled and in-flight lots, kept with the journal's rows (this
        #: manager is the journal's one writer): summing them at every order would cost O(n).
        self._volume: dict[tuple[int, int], int] = {}
        self._subscribers: list[Callable[[EpochEvent], None]] = []
        self._queues: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[EpochEvent]]] = []

    def close(self) -> None:
        """Releases the journal (and its writer lease)."""
        self.journal.close()

    def __enter__(self) -> EpochManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        """Places a limit order in the open epoch; `at` (default: the clock) must lie in its
        window. The order is in the journal when this returns; a refusal raises a typed error
        and changes nothing (a `ChainTimeout` of an escrowed order: see `submit_many`)."""
        (outcome,) = self._accept([((trader, side, qty, price), rollover)], at)
        if isinstance(outcome, GridmatchError):
            raise outcome
        return outcome

    def submit_many(
        self, orders: Sequence[tuple[int, int, int, int]], *, at: float | None = None
    ) -> list[OrderAck | GridmatchError]:
        """Places limit orders `(trader, side, qty, price)` in the open epoch together: each
        checked as `submit` checks it (against the batch's earlier orders too), the accepted
        escrowed at once (the trading program's: as many a transaction as fit) and journaled,
        ids in the batch's order. Returns, in order, each one's acknowledgement or the typed
        error that refused it (a refusal changes nothing; a `ChainTimeout` means the order may
        yet reach the chain: it is never acknowledged, and its escrow is claimed back with its
        epoch)."""
        return self._accept([(o, False) for o in orders], at)

    def _accept(self, items: Sequence[tuple[Any, object]], at: object) -> list[OrderAck | GridmatchError]:
        """Checks and journals orders in one transaction, which re-checks everything they depend
        on (the epoch open, limits, volume, funds committed), so concurrent calls and steps can
        never acknowledge an order into a closed epoch or past a limit. With an escrow, the
        orders are journaled as being placed, placed on chain with no lock held, and then
        acknowledged, each only if its epoch did not close meanwhile."""
        when = self.clock() if at is None else _instant("at", at)
        results: dict[int, OrderAck | GridmatchError] = {}
        checked: dict[int, _Order] = {}
        for k, (order, rollover) in enumerate(items):
            try:
                trader, side, qty, price = order
                checked[k] = _Order.of(trader, side, qty, price, rollover)
            except GridmatchError as refused:
                results[k] = refused
            except (TypeError, ValueError):  # not four values (or not a sequence at all)
                message = f"order {order!r}: expected (trader, side, qty, price)"
                results[k] = InvalidOrder(message, field="order", value=order)
        traders = {o.trader for o in checked.values()}
        holdings = {p: self.funds.holdings(p) for p in traders} if self.funds is not None else {}
        intake = _Intake(when, checked, list(checked), holdings, results)
        self._queue(intake)
        if intake.error is not None:
            raise intake.error
        return [results[k] for k in range(len(items))]

    # -- group commit: the calls that arrive while one is being journaled share the next write

    def _queue(self, intake: _Intake) -> None:
        """Journals a call's orders with those of every call waiting beside it: one call leads
        (journals the group, and with an escrow places it on chain), the others wait; when it is
        done it hands the lead to the first call that arrived meanwhile."""
        with self._intake_lock:
            self._intakes.append(intake)
            intake.lead = not self._leading
            self._leading = True
        if not intake.lead:
            intake.wake.wait()  # done, or handed the lead
            if not intake.lead:
                return
        with self._intake_lock:
            group, self._intakes = self._intakes, []
        try:
            self._commit(group)
        finally:
            with self._intake_lock:
                heir = self._intakes[0] if self._intakes else None
                if heir is None:
                    self._leading = False
                else:
                    heir.lead = True
            for done in group:
                done.lead = False
                done.wake.set()
            if heir is not None:
                heir.wake.set()

    def _commit(self, group: list[_Intake]) -> None:
        while group:
            try:
                self._journal_group(group)
                group = self._place_group(group) if self.escrow is not None else []
            except Exception as error:  # the group's journal write failed: nothing of it was written
                for intake in group:
                    intake.error = error
                return
            except BaseException:  # the leading call is interrupted: the others hear why, typed
                for intake in group:
                    intake.error = GridmatchError("interrupted while journaling this call's orders", field="order")
                raise

    def _journal_group(self, group: Sequence[_Intake]) -> None:
        """Journals every call's orders that pass their checks in one transaction (which
        re-checks all they depend on): as orders (acknowledged) without an escrow, as being
        placed with one (`_Intake.placing`)."""
        added: list[OrderRecord] = []
        try:
            with self.journal.transaction():
                next_id = self.journal.next_order_id()
                for intake in group:
                    next_id = self._journal_orders(intake, next_id, added)
        except BaseException:
            for record in added:
                self._add_volume(record, -1)
            raise

    def _journal_orders(self, intake: _Intake, next_id: int, added: list[OrderRecord]) -> int:
        """Journals one call's waiting orders from id `next_id`; returns the next free id."""
        waiting, intake.waiting, intake.placing = intake.waiting, [], []
        try:
            epoch = self._open_epoch(intake.when)
        except EpochClosed as closed:
            intake.results.update((k, closed) for k in waiting)
            return next_id
        intents: dict[int, list[_Order]] = defaultdict(list)  # each trader's, of this call
        for k in waiting:
            o = intake.orders[k]
            try:
                self._check(epoch, o, intake.holdings.get(o.trader), intents[o.trader])
            except GridmatchError as refused:
                intake.results[k] = refused
                continue
            record = OrderRecord(next_id, epoch, o.trader, o.side, o.price, o.qty, 0, o.rollover, None, None)
            next_id += 1
            if self.escrow is None:
                self.journal.add_order(record)
                intake.results[k] = _ack(record)
            else:
                self.journal.mark_order(epoch, record.id, o.trader, OrderMark.PLACING, "")
                intake.placing.append((k, record))
                intents[o.trader].append(o)
            self._add_volume(record, 1)
            added.append(record)
        return next_id

    def _place_group(self, group: Sequence[_Intake]) -> list[_Intake]:
        """Places the group's journaled intents on the escrow's chain (no lock held), then
        acknowledges each one it took, unless its epoch closed meanwhile. Returns the calls with
        orders to journal again under new ids (the chain held theirs already)."""
        assert self.escrow is not None
        placing = [(intake, k, record) for intake in group for k, record in intake.placing]
        by_epoch: dict[int, list[int]] = defaultdict(list)  # one epoch a placement: a group may straddle two
        for n, (_, _, record) in enumerate(placing):
            by_epoch[record.epoch].append(n)
        outcomes: list[GridmatchError | None] = [None] * len(placing)
        for positions in by_epoch.values():
            placed = self.escrow.place_many([placing[n][2] for n in positions])
            for n, outcome in zip(positions, placed, strict=True):
                outcomes[n] = outcome
        again = []
        with self.journal.transaction():
            for (intake, k, record), outcome in zip(placing, outcomes, strict=True):
                if self._placed(record, outcome, intake.results, k):
                    intake.waiting.append(k)
                    again.append(intake)
        return list(dict.fromkeys(again))

    def _placed(
        self, record: OrderRecord, outcome: GridmatchError | None, results: dict[int, OrderAck | GridmatchError], k: int
    ) -> bool:
        """Journals what became of a placement; True if the order is to be placed again under a
        new id."""
        still = self.journal.unmark_order(record.id, record.trader, OrderMark.PLACING)
        if outcome is None and still:
            self.journal.add_order(record)
            results[k] = _ack(record)
            return False
        self._add_volume(record, -1)
        if outcome is None or not still:  # its epoch closed while it was placed (see `_close`): whatever the chain said
            message = f"epoch {record.epoch} closed while the order was placed; any escrow is returned"
            results[k] = EpochClosed(message, field="epoch", value=record.epoch)
            return False
        if isinstance(outcome, OrderIdTaken):
            self.journal.mark_order(record.epoch, record.id, record.trader, OrderMark.ID_TAKEN, str(outcome))
            return True
        if isinstance(outcome, ChainTimeout):  # it may land yet: its id is never given again
            detail = f"placing it timed out: {outcome}"
            self.journal.mark_order(record.epoch, record.id, record.trader, OrderMark.ID_TAKEN, detail)
        results[k] = outcome
        return False

    def _open_epoch(self, when: float) -> int:
        """The epoch taking orders, if `when` lies in its window (give or take the tolerance)."""
        found = self.journal.epochs([EpochState.OPEN])
        if not found:
            epoch = self.market.epoch_id(when)
            raise EpochClosed(f"no epoch is open (epoch {epoch} is not)", field="epoch", value=epoch)
        epoch = found[-1].id
        start, end = _window(self.market, epoch)
        if not start - self.clock_tolerance <= when < end + self.clock_tolerance:
            message = f"at = {when}: outside the open epoch {epoch} [{start}, {end}) by more than the tolerance"
            raise EpochClosed(message, field="at", value=when)
        return epoch

    def _check(self, epoch: int, o: _Order, holdings: tuple[int, int] | None, intents: Sequence[_Order]) -> None:
        """Refuses an order the open epoch cannot take. Its trader's orders journaled already
        count against its limit and funds, and so do those being placed (its `intents` of this
        batch count against its funds: they are no orders of the journal yet)."""
        if o.rollover and self.escrow is not None:
            raise InvalidOrder("rollover = True: not with escrowed orders", field="rollover", value=True)
        self.participant(o.trader).require(o.side)
        placed = self.journal.count_orders(epoch, o.trader)
        if self.escrow is not None:
            placed += sum(m.trader == o.trader for m in self.journal.marks(epoch, OrderMark.PLACING))
        if placed >= self.market.order_limit:
            message = f"participant {o.trader} has {placed} orders in epoch {epoch}"
            raise OrderLimit(message, field="order_limit", value=o.trader)
        self._commitment(o.side, o.qty, o.price)  # refuses amounts out of range
        lots = self._volume_of(epoch, o.side) + o.qty
        if self.market.grid_units(lots) > _I63:
            message = (
                f"qty = {o.qty}: the epoch's {'buy' if o.side == 1 else 'sell'} volume would exceed 2^63-1 GRID units"
            )
            raise InvalidOrder(message, field="qty", value=o.qty)
        if holdings is not None:
            self._check_funds(o, holdings, intents)

    def _volume_of(self, epoch: int, side: int) -> int:
        key = (epoch, side)
        if key not in self._volume:
            self._volume[key] = sum(o.qty for o in self.journal.orders(epoch) if o.side == side)
        return self._volume[key]

    def _add_volume(self, record: OrderRecord, sign: int) -> None:
        key = (record.epoch, record.side)
        if key in self._volume:
            self._volume[key] += sign * record.qty

    def _commitment(self, side: int, qty: int, price: int) -> tuple[int, int]:
        """The most GRID and payment an order can move away from its trader: a sell delivers
        its GRID and, at a negative price, pays; a buy pays at most its limit plus its fee.
        Refuses an order whose amounts do not fit a token amount (2^63-1)."""
        notional = self.market.notional(qty, price)
        if self.market.grid_units(qty) > _I63:
            raise InvalidOrder(f"qty = {qty}: more than 2^63-1 GRID units", field="qty", value=qty)
        if abs(notional) > _I63:
            raise InvalidOrder(f"price = {price}: qty x price is more than 2^63-1 units", field="price", value=price)
        buyer_pays, seller_receives, _, _ = self.market.split(notional)
        if max(buyer_pays, -seller_receives) > _I63:  # a fee on top of a notional near the limit
            raise InvalidOrder(f"price = {price}: the fee takes it past 2^63-1", field="price", value=price)
        if side == -1:
            return self.market.grid_units(qty), max(0, -seller_receives)
        return 0, max(0, buyer_pays)

    def _check_funds(self, o: _Order, holdings: tuple[int, int], intents: Sequence[_Order]) -> None:
        grid, payment = holdings
        # Open orders commit their worst case (and the batch's being placed); cleared trades not
        # yet settled commit what they move.
        unsettled = [EpochState.OPEN, EpochState.PENDING, EpochState.CLOSED]
        open_orders = [
            (r.side, r.qty, r.price)
            for e in self.journal.epochs(unsettled)
            for r in self.journal.orders(e.id, o.trader)
        ]
        for side, qty, price in [*open_orders, *((e.side, e.qty, e.price) for e in intents)]:
            g, p = self._commitment(side, qty, price)
            grid, payment = grid - g, payment - p
        for epoch in self.journal.epochs([EpochState.CLEARED, EpochState.VOID, EpochState.FAILED, EpochState.STUCK]):
            for batch in self.journal.batches(epoch.id):
                if batch.state != BatchState.CONFIRMED:
                    for mint, source, _, amount in batch.transfers:
                        if source == o.trader:
                            grid -= amount if mint == GRID else 0
                            payment -= amount if mint == PAYMENT else 0
        need_grid, need_payment = self._commitment(o.side, o.qty, o.price)
        if need_grid > grid or need_payment > payment:
            message = (
                f"participant {o.trader} commits {need_grid} GRID and {need_payment} payment base units; "
                f"available {grid} and {payment}"
            )
            raise InsufficientFunds(message, field="funds", value=o.trader)

    # -- the lifecycle --------------------------------------------------------------------

    def step(self, now: float | None = None) -> list[EpochEvent]:
        """Advances the market to `now` (default: the clock): closes the epochs that ended (and
        an open one the clock went back before), opens the current one, clears the closed ones
        and settles what is left, retrying failed settlements after their back-off. A chain
        that does not answer delays clearing or settling; it never stops the epoch clock."""
        at = _instant("now", self.clock() if now is None else now, InvalidParameter)  # a clock can break too
        events: list[EpochEvent] = []
        with self._stepping:
            try:
                with self.journal.transaction():
                    self._end(at, events)
                    self._open(at, events)
                self._clear_ended(at, events)
                self._settle_pending(at, events)
            finally:  # before the next step's: subscribers hear every epoch's states in order
                for event in events:
                    self._publish(event)
        return events

    def recover(self) -> list[EpochEvent]:
        """Resumes every epoch where the journal says it stopped (clears closed ones, settles
        cleared, void and failed ones) and steps to now: `step` does exactly that."""
        return self.step()

    async def run(self, stop: asyncio.Event | None = None, *, poll: float = 1.0) -> None:
        """Steps with the clock until `stop` is set: at each epoch boundary, and at least every
        `poll` seconds (so an injected clock may jump, and waiting settlements are retried). A
        step that raises is logged and tried again at the next poll: `run` never exits on it."""
        stop = stop or asyncio.Event()
        await asyncio.to_thread(self._logged, self.recover)
        while not stop.is_set():
            delay = poll
            try:
                now = self.clock()
                if 0 <= now <= _LATEST:
                    delay = min(poll, _window(self.market, self.market.epoch_id(now))[1] - now)
            except Exception:
                log.exception("the clock failed; asked again at the next poll")
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(delay, 0.0))
            except TimeoutError:
                await asyncio.to_thread(self._logged, self.step)

    @staticmethod
    def _logged(step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:
            log.exception("epoch step failed; tried again at the next poll")

    def _set(
        self, epoch: int, state: EpochState, events: list[EpochEvent], fills: Sequence[FillRow] = (), **outcome: Any
    ) -> None:
        self.journal.set_epoch(epoch, state.value, **outcome)
        events.append(EpochEvent(epoch, state, outcome.get("price"), outcome.get("volume"), tuple(fills)))

    def _end(self, at: float, events: list[EpochEvent]) -> None:
        """Closes every epoch that ended by `at`, and an open one that starts after `at` by more
        than the tolerance: the clock went back, and its orders are cleared now rather than
        left for whenever the clock comes back (an epoch, once closed, never opens again)."""
        for record in self.journal.epochs([EpochState.PENDING, EpochState.OPEN]):
            start, end = _window(self.market, record.id)
            back = record.state == EpochState.OPEN and start > at + self.clock_tolerance
            if end <= at or back:
                if record.state == EpochState.PENDING:
                    self._set(record.id, EpochState.OPEN, events)
                self._set(record.id, EpochState.CLOSED, events, detail={"clock_went_back": at} if back else None)
                for side in (1, -1):
                    self._volume.pop((record.id, side), None)

    def _open(self, at: float, events: list[EpochEvent]) -> None:
        """Opens the epoch of `at`, unless one is open or it was opened before."""
        if self.journal.epochs([EpochState.OPEN]):
            return
        current = self.market.epoch_id(at)
        found = self.journal.epoch(current)
        if found is None or found.state == EpochState.PENDING:
            self._set(current, EpochState.OPEN, events)

    def _clear_ended(self, at: float, events: list[EpochEvent]) -> None:
        """Clears the closed epochs in order; clearing one may roll orders into an epoch that is
        over already, which is closed and cleared in turn. One that cannot be cleared yet holds
        back the later ones (its rollover orders' rest is yet to join the next one's book)."""
        while closed := self.journal.epochs([EpochState.CLOSED]):
            if not self._try_clear(closed[0], events):
                return
            with self.journal.transaction():
                self._end(at, events)

    def _try_clear(self, record: EpochRecord, events: list[EpochEvent]) -> bool:
        """Clears a closed epoch; False (the error recorded, the epoch left closed, to be tried
        again at the next step) when its chain could not be asked or could not close it."""
        try:
            events.extend(self._clear(record))
        except ChainError as err:
            self.journal.set_epoch(record.id, EpochState.CLOSED.value, detail={"error": str(err)}, attempt=True)
            return False
        return True

    def _close(self, epoch: int) -> set[int]:
        """Closes the epoch on the settler's chain, if it does that (so nothing more can be
        placed there), then settles the journal's view: an order still being placed was never
        acknowledged, so its id is marked taken (its escrow, if it landed, is claimed back);
        an order the chain no longer holds was cancelled by its owner. Returns the ids marked
        cancelled."""
        close = getattr(self.settler, "close", None)
        placing = bool(self.journal.marks(epoch, OrderMark.PLACING))
        gone = set(close(epoch, self.journal.orders(epoch), placing)) if close is not None else set()
        with self.journal.transaction():
            for m in self.journal.marks(epoch, OrderMark.PLACING):
                self.journal.unmark_order(m.id, m.trader, OrderMark.PLACING)
                self.journal.mark_order(epoch, m.id, m.trader, OrderMark.ID_TAKEN, "still being placed at close")
            for o in self.journal.orders(epoch):
                if o.id in gone:
                    self.journal.mark_order(epoch, o.id, o.trader, OrderMark.CANCELLED, "not on chain at close")
        return {m.id for m in self.journal.marks(epoch, OrderMark.CANCELLED)}

    def _clear(self, record: EpochRecord) -> list[EpochEvent]:
        """Closes an epoch (on chain first, see `_close`), clears its book and records
        everything the clearing decides in one transaction. A clearing (or its settlement plan)
        that raises voids the epoch alone: no trades, its orders expire unfilled (escrowed ones
        are claimed back; rollover ones too, or a poison order would void every epoch after it).
        A chain that does not answer leaves it closed, to be cleared at a later step."""
        epoch = record.id
        cancelled = self._close(epoch)
        orders = [o for o in self.journal.orders(epoch) if o.id not in cancelled]
        book = np.zeros(len(orders), dtype=ORDER_DTYPE)
        for name in ("id", "trader", "side", "price", "qty", "kind"):
            book[name] = [getattr(o, name) for o in orders]
        book["ts"] = book["id"]
        detail: dict[str, Any] = {"orders": len(orders), "cancelled": len(cancelled)}
        try:
            result = self._clearing(book)
            fills: list[FillRow] = [tuple(f) for f in result.fills.tolist()]
            filled = dict(zip(book["id"].tolist(), result.filled.tolist(), strict=True))
            price, volume, state = result.price, result.volume, EpochState.CLEARED
            batches = self._plan(epoch, orders, fills, filled, price, volume)
        except ChainError:
            raise  # not the epoch's fault: cleared at a later step
        except Exception as poison:  # whatever the clearing's or the plan's fault, it stays this epoch's
            fills = []
            filled = dict.fromkeys(book["id"].tolist(), 0)
            price, volume, state = None, 0, EpochState.VOID
            detail["void"] = f"{type(poison).__name__}: {poison}"
            log.error("epoch %s void: %s", epoch, detail["void"])
            batches = self._plan(epoch, orders, fills, filled, price, volume)
        events: list[EpochEvent] = []
        with self.journal.transaction():
            self.journal.add_fills(epoch, fills)
            self.journal.set_filled(filled)
            if state == EpochState.CLEARED and "clock_went_back" not in record.detail:
                self._roll_over(epoch, orders, filled)
            for batch in batches:
                self.journal.add_batch(batch.id, epoch, batch.idx, [t.row() for t in batch.transfers])
            detail |= {"fills": len(fills), "batches": len(batches)}
            self._set(epoch, state, events, fills, price=price, volume=volume, detail=detail)
            if not batches:
                self._set(epoch, EpochState.SETTLED, events)
        return events

    def _plan(
        self,
        epoch: int,
        orders: Sequence[OrderRecord],
        fills: Sequence[FillRow],
        filled: dict[int, int],
        price: int | None,
        volume: int,
    ) -> list[Batch]:
        if self.settler is None:
            return []
        book = [dataclasses.replace(o, filled=filled[o.id]) for o in orders]
        return self.settler.plan(self._cleared(epoch, book, fills, price, volume))

    def _cleared(
        self, epoch: int, book: Sequence[OrderRecord], fills: Sequence[FillRow], price: int | None, volume: int
    ) -> ClearedEpoch:
        taken = tuple((m.id, m.trader) for m in self.journal.marks(epoch, OrderMark.ID_TAKEN))
        return ClearedEpoch(epoch, price, volume, tuple(book), tuple(fills), taken)

    def _journaled(self, epoch: int) -> ClearedEpoch:
        """An epoch's clearing as its journal holds it (to sign its batches after a restart)."""
        record = self.journal.epoch(epoch)
        assert record is not None
        cancelled = {m.id for m in self.journal.marks(epoch, OrderMark.CANCELLED)}
        book = [o for o in self.journal.orders(epoch) if o.id not in cancelled]
        return self._cleared(epoch, book, self.journal.fills(epoch), record.price, record.volume or 0)

    def _clearing(self, book: np.ndarray) -> ClearingResult:
        settled = [e.price for e in self.journal.epochs([EpochState.SETTLED]) if e.price is not None]
        reference = settled[-1] if settled else None
        m = self.market

        def by(rule: str | PriceRule, reference_price: int | None) -> ClearingResult:
            return clear(book, rule=rule, allocation=m.allocation, reference_price=reference_price,
                         min_price=m.min_price, max_price=m.max_price)  # fmt: skip

        try:
            return by(m.rule, reference)
        except MissingReferencePrice:
            if reference is not None:
                raise
            # No epoch has settled yet to give the exchange rule its reference price: the
            # midpoint rule breaks this one tie (README.md, "Price rules").
            return by("midpoint", None)

    def _roll_over(self, epoch: int, orders: list[OrderRecord], filled: dict[int, int]) -> None:
        """Carries the unfilled rest of every rollover order into the next epoch."""
        next_epoch = self.market.next_epoch(epoch)
        rolled = [(o, o.qty - filled.get(o.id, 0)) for o in orders if o.rollover and o.qty > filled.get(o.id, 0)]
        for o, left in rolled:
            order_id = self.journal.next_order_id()
            self.journal.add_order(
                OrderRecord(order_id, next_epoch, o.trader, o.side, o.price, left, o.kind, True, o.id, None)
            )
            self._volume.pop((next_epoch, o.side), None)  # counted again from the journal
        if rolled and self.journal.epoch(next_epoch) is None:
            self.journal.set_epoch(next_epoch, EpochState.PENDING.value)

    def _settle_pending(self, at: float, events: list[EpochEvent]) -> None:
        """Settles the cleared and void epochs, and the failed ones whose back-off is over. A
        chain that does not answer leaves an epoch as it is, for the next step; a settler that
        raises anything else fails that epoch as a failed transaction does, not the later ones."""
        states = [EpochState.CLEARED, EpochState.VOID, EpochState.FAILED]
        for record in self.journal.epochs(states):
            if self.settler is None:
                self._set(record.id, EpochState.SETTLED, events)
                continue
            if record.state == EpochState.FAILED and at < record.detail.get("retry_at", 0):
                continue
            try:
                settled = self._settle(record.id)
            except TransactionFailed as err:
                self._failed(record, str(err), at, events)
            except ChainError as err:
                log.warning("epoch %s: settlement waits for the chain: %s", record.id, err)
            except JournalError:
                raise
            except Exception as err:
                log.exception("epoch %s: settling it raised", record.id)
                self._failed(record, f"{type(err).__name__}: {err}", at, events)
            else:
                if settled:
                    self._set(record.id, EpochState.SETTLED, events)

    def _failed(self, record: EpochRecord, error: str, at: float, events: list[EpochEvent]) -> None:
        """Counts a failed settlement: retried after a doubling back-off, or stuck at the limit."""
        failures = int(record.detail.get("failures", 0)) + 1
        detail: dict[str, Any] = {"error": error, "failures": failures}
        if failures >= self.max_attempts:
            log.error("epoch %s stuck after %s failed settlements: %s", record.id, failures, error)
            self._set(record.id, EpochState.STUCK, events, detail=detail, attempt=True)
            return
        detail["retry_at"] = at + self.retry_delay * 2 ** (failures - 1)
        self._set(record.id, EpochState.FAILED, events, detail=detail, attempt=True)

    def retry(self, epoch: int) -> None:
        """Puts a stuck epoch's settlement back in play (after an operator fixed its cause): it
        is tried at the next step, `max_attempts` times again."""
        record = self.journal.epoch(epoch)
        if record is None or record.state != EpochState.STUCK:
            raise InvalidParameter(f"epoch {epoch} is not stuck", field="epoch", value=epoch)
        self.journal.set_epoch(epoch, EpochState.FAILED.value, detail={"failures": 0, "retry_at": 0})

    def _settle(self, epoch: int) -> bool:
        """Sends what is left of an epoch's batches: True once every one is confirmed, False
        while a transaction's fate is unknown (a `TransactionFailed` propagates). A batch that
        landed is journaled confirmed in the same commit as the next batch's attempt (or on the
        way out): one durable write a batch."""
        assert self.settler is not None
        landed: tuple[str, str] | None = None  # (signature, batch): landed, not yet journaled
        cleared: ClearedEpoch | None = None
        try:
            for batch in self.journal.batches(epoch):
                if batch.state == BatchState.CONFIRMED:
                    continue
                known = self._reconcile(batch)
                if known == _Fate.DEAD:
                    plan = Batch(batch.id, epoch, batch.idx, tuple(Transfer(*t) for t in batch.transfers))
                    cleared = cleared or self._journaled(epoch)
                    attempt = self.settler.prepare(plan, cleared)
                    with self.journal.transaction():
                        if landed is not None:
                            self._confirm(*landed)
                            landed = None
                        self.journal.add_attempt(batch.id, attempt)
                        for m in attempt.left_out:
                            self.journal.mark_order(m.epoch, m.id, m.trader, m.mark, m.detail)
                    known = _Fate.WAITING
                    if self._send(attempt):
                        landed, known = (attempt.signature, batch.id), _Fate.CONFIRMED
                if known != _Fate.CONFIRMED:
                    return False
            return True
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
            self.journal.set_attempt(attempt.signature, AttemptState.FAILED)
            raise
        except ChainTimeout:
            return False
        return True

    def _confirm(self, signature: str, batch: str) -> None:
        with self.journal.transaction():
            self.journal.set_attempt(signature, AttemptState.CONFIRMED)
            self.journal.set_batch(batch, BatchState.CONFIRMED)

    def _reconcile(self, batch: BatchRecord) -> _Fate:
        """Settles what the chain says of a batch's earlier attempts: CONFIRMED if one landed,
        WAITING if one may still land, DEAD if none can. An attempt the chain has seen but
        not finalised (PENDING) is waited for, whatever its blockhash; one it has no record of
        is dead only once the chain says its blockhash can never land (for an RPC endpoint:
        the finalized height passed the attempt's journaled last valid height); until then it
        is sent again (the same signature lands at most once)."""
        assert self.settler is not None
        for attempt, state in batch.attempts:
            if state != AttemptState.SENT:
                continue
            status = self.settler.status(attempt.signature)
            if status == TxStatus.CONFIRMED:
                self._confirm(attempt.signature, batch.id)
                return _Fate.CONFIRMED
            if status == TxStatus.PENDING:
                return _Fate.WAITING
            if status == TxStatus.FAILED:
                self.journal.set_attempt(attempt.signature, AttemptState.FAILED)
            elif self.settler.expired(attempt):
                self.journal.set_attempt(attempt.signature, AttemptState.EXPIRED)
            elif not self._send(attempt):
                return _Fate.WAITING
            else:
                self._confirm(attempt.signature, batch.id)
                return _Fate.CONFIRMED
        return _Fate.DEAD

    # -- subscribers ----------------------------------------------------------------------

    def subscribe(self, callback: Callable[[EpochEvent], None]) -> Callable[[], None]:
        """Calls `callback` with every event (one that raises is logged and skipped: it never
        stops the others or the market); returns a function that unsubscribes it."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    async def events(self) -> AsyncIterator[EpochEvent]:
        """Every event from now on, as an async iterator, delivered on the caller's loop."""
        queue: asyncio.Queue[EpochEvent] = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        self._queues.append(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            if entry in self._queues:  # a closed loop's queue may be gone already (`_publish`)
                self._queues.remove(entry)

    def _publish(self, event: EpochEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("subscriber %r raised on %s; skipped", callback, event)
        for loop, queue in list(self._queues):
            try:  # steps run in worker threads: the queue belongs to its loop's thread
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # its loop is closed
                self._queues.remove((loop, queue))

    # -- queries --------------------------------------------------------------------------

    def state(self, epoch: int) -> EpochState | None:
        record = self.journal.epoch(epoch)
        return None if record is None else EpochState(record.state)

    def status(self) -> EngineStatus:
        opened = self.journal.epochs([EpochState.OPEN])
        states = [EpochState.CLOSED, EpochState.CLEARED, EpochState.VOID, EpochState.FAILED]
        return EngineStatus(
            opened[-1].id if opened else None,
            tuple(self.journal.epochs(states)),
            tuple(self.journal.epochs([EpochState.STUCK])),
        )

    def balances_moved(self) -> dict[tuple[str, int], int]:
        """Each (mint, participant)'s net change over every confirmed batch: what the chain
        must show against the balances it started from (once, in program mode, every order
        is claimed; the market's vaults are participant `settlement.VAULT`)."""
        net: dict[tuple[str, int], int] = defaultdict(int)
        for record in self.journal.epochs():
            for batch in self.journal.batches(record.id):
                if batch.state == BatchState.CONFIRMED:
                    for mint, source, dest, amount in batch.transfers:
                        net[mint, source] -= amount
                        net[mint, dest] += amount
        return {k: v for k, v in net.items() if v}


def _ack(record: OrderRecord) -> OrderAck:
    return OrderAck(record.id, record.epoch, record.trader, record.side, record.qty, record.price)


__all__ = [
    "EngineStatus",
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
