"""A simulated market day on the embedded chain: mint, trade, clear and settle every epoch.

:func:`run_market_day` is what ``python -m gridmatch demo`` runs (``--no-chain`` runs
:func:`gridmatch.sim.day.run_day`, clearing only). The campus and its orders are the same as the
clearing-only day's; here they go through the whole market:

1. **Set-up**: a :class:`~gridmatch.chain.LiteSVMChain` (in process), a
   :class:`~gridmatch.chain.venue.Venue` (the GRID and payment mints, every participant's token
   accounts, the address lookup tables; with ``settle="program"``, the default, the registry,
   governance, trading, energy_token and oracle programs with every participant registered, each
   prosumer's meter registered (on a chain clock one epoch before the first epoch) and the market
   initialised; with ``"delegate"``, approvals of the chain's authority), an
   :class:`~gridmatch.epochs.EpochManager` with the venue's settler and its escrow (program) or
   funds check (delegate) over an in-memory journal, on a simulated clock. Every
   participant registers (prosumers as ``PROSUMER``, consumers as ``CONSUMER``) and receives a
   payment deposit (:data:`DEPOSIT_EUR` by default: a prepaid wallet, see below).
2. **Each epoch**: the epoch opens; each prosumer with a surplus is minted that many GRID (1 Wh =
   10^6 GRID base units), *before* its sell orders: in program mode as its meter's reading at the
   epoch's start, which the oracle checks and mints through energy_token (the chain's clock moved
   to it); in delegate mode by the chain's authority; every order of
   the sim is submitted through :meth:`EpochManager.submit_many` in the sim's submission order,
   :data:`ORDER_BATCH` at a time, at simulated times spread over the epoch (a refusal, e.g.
   ``InsufficientFunds``, is counted, not fatal; in program mode each accepted order is placed on
   chain, its funds escrowed, as many a transaction as fit); then the
   clock moves to the epoch's end and :meth:`EpochManager.step` closes, clears and settles it
   on LiteSVM (program mode: the epoch closed on chain, the result posted, each filled order
   credited, every order claimed, the fees withdrawn to the treasury).
3. **The end**: the conservation check (:class:`Conservation`): every participant's and the
   treasury's balance of both tokens on chain against what was issued and what the journal's
   confirmed batches moved, both mints' supply, the fills against the journal, and (program
   mode) the market's vaults empty once every order has claimed.

Units as everywhere in the sim: 1 lot = 1 Wh, 1 tick = 0.01 ct/kWh; on chain GRID has 9 decimals
(1 GRID = 1 kWh) and the payment token is a 9-decimal euro (10^9 base units = 1 EUR), so a fill's
notional ``qty * price * 100`` is in units of 1e-9 EUR; the fee (1%, paid by the buyer, rounded
up) comes from the core's money arithmetic: once a fill by delegate transfers, once an order
through the program (each order settles its own notional against the vaults).

The deposit: :data:`DEPOSIT_EUR` (20 EUR) per participant at the start of the day. A household
of the campus uses 2-6 MWh a year, 16 kWh on an average day of the heaviest one, and bids at most
the retail tariff (day-ahead + 20 ct/kWh, about 30 ct/kWh in 2018), so a day of buying costs it
at most ~5 EUR on an ordinary day and ~8 EUR on a heavy winter one; 20 EUR also covers a
prosumer selling its surplus at negative prices. Orders beyond it would be refused and counted.

Deterministic for a seed: the orders come from the campus seed, the chain's keys and the
wallets from the same seed, so two runs give the same epochs, fills, batches and balances (only
the wall times differ).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from . import data
from .campus import Campus
from .clock import EPOCH_MINUTES, EPOCHS_PER_DAY, epoch_start, parse_date, reference_day
from .orders import SELL
from .units import LOTS_PER_KWH, TICKS_PER_CT

#: How the day settles: through the trading program's escrow, or by delegate transfers.
SETTLE_MODES: Final = ("program", "delegate")

if TYPE_CHECKING:
    from gridmatch.chain import LiteSVMChain
    from gridmatch.chain.escrow import ProgramSettler
    from gridmatch.chain.settler import ChainSettler
    from gridmatch.chain.venue import Venue
    from gridmatch.epochs import EpochManager
    from gridmatch.journal import Journal, OrderRecord
    from gridmatch.market import Market
    from gridmatch.settlement import Batch, ClearedEpoch, TxStatus

DEPOSIT_EUR: Final[Decimal] = Decimal(20)
"""Payment deposited to every participant at the start of the day, EUR (see the module docs)."""

ORDER_WINDOW_S: Final[float] = 800.0
"""Orders of an epoch arrive at simulated times spread over its first this many seconds."""

ORDER_BATCH: Final[int] = 32
"""Orders are taken in as a gateway would: up to this many that arrive one after the other are
submitted together (`EpochManager.submit_many`) when the last of them arrives; in program mode
they are escrowed in as few transactions as fit."""

Progress = Callable[[int, int, "ChainEpoch"], None]
"""Called after each epoch with (epochs done, epochs in the run, that epoch's report)."""


@dataclass(frozen=True)
class ChainEpoch:
    """One epoch of the day on chain: its orders, what was minted, cleared and settled.

    Money is in payment base units (1e-9 EUR), energy in lots (Wh), prices in ticks.
    """

    epoch_id: int
    index: int
    orders: int
    """Orders of the sim submitted (accepted + refused)."""
    accepted: int
    refused: int
    buy_orders: int
    sell_orders: int
    bid_wh: int
    """Quantity of the accepted buy orders."""
    ask_wh: int
    """Quantity of the accepted sell orders."""
    minted_wh: int
    """GRID minted for the prosumers' metered surplus this epoch (lots)."""
    day_ahead_ticks: int
    price_ticks: int | None
    volume_wh: int
    fills: int
    paid: int
    """What buyers paid sellers, fees not included (payment base units)."""
    fees: int
    """Fees paid to the treasury (rounded per fill by delegate, per order through the program)."""
    batches: int
    """Settlement batches, one transaction each."""
    attempts: int
    """Transactions sent (a batch retried counts once per attempt)."""
    transfers: int
    state: str
    """The epoch's state at the end of the run (``settled`` when all went well)."""
    orders_ns: int
    """Wall time submitting the orders (with their funds checks against the chain)."""
    mint_ns: int
    clear_ns: int
    """Wall time of the epoch's closing step outside the settler: clearing with the core and
    journaling the result and every state change."""
    settle_ns: int
    """Wall time in the settler: planning the batches, signing, sending, confirming on LiteSVM."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the integers, plus the same in kWh, ct/kWh and EUR."""
        return {
            "epoch": self.epoch_id,
            "index": self.index,
            "orders": self.orders,
            "accepted": self.accepted,
            "refused": self.refused,
            "buy_orders": self.buy_orders,
            "sell_orders": self.sell_orders,
            "bid_wh": self.bid_wh,
            "ask_wh": self.ask_wh,
            "minted_wh": self.minted_wh,
            "minted_kwh": self.minted_wh / LOTS_PER_KWH,
            "day_ahead_ticks": self.day_ahead_ticks,
            "day_ahead_ct_per_kwh": self.day_ahead_ticks / TICKS_PER_CT,
            "price_ticks": self.price_ticks,
            "price_ct_per_kwh": None if self.price_ticks is None else self.price_ticks / TICKS_PER_CT,
            "volume_wh": self.volume_wh,
            "volume_kwh": self.volume_wh / LOTS_PER_KWH,
            "fills": self.fills,
            "paid": self.paid,
            "paid_eur": eur(self.paid),
            "fees": self.fees,
            "fees_eur": eur(self.fees),
            "batches": self.batches,
            "transactions": self.attempts,
            "transfers": self.transfers,
            "state": self.state,
            "orders_ms": self.orders_ns / 1e6,
            "mint_ms": self.mint_ns / 1e6,
            "clear_ms": self.clear_ns / 1e6,
            "settle_ms": self.settle_ns / 1e6,
        }


@dataclass(frozen=True)
class Conservation:
    """The end-of-day balance check. Each check compares an expected integer with the actual
    one; ``mismatches`` lists the checks that failed (empty when ``ok``)."""

    checked: int
    mismatches: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "mismatches": self.mismatches}


@dataclass
class MarketDayReport:
    """Every epoch of the day on chain, the day's totals and its conservation check."""

    day: dt.date
    config: dict[str, Any]
    epochs: list[ChainEpoch] = field(default_factory=list)
    conservation: Conservation = field(default_factory=lambda: Conservation(0, []))
    refusals: dict[str, int] = field(default_factory=dict)
    """Refused orders by error type."""
    deposited: int = 0
    """Payment deposited over all participants (base units)."""
    setup_ns: int = 0
    build_ns: int = 0
    """Wall time simulating the campus (orders, energy), not the market."""
    wall_ns: int = 0

    @property
    def volume_wh(self) -> int:
        return sum(e.volume_wh for e in self.epochs)

    @property
    def value_ticks(self) -> int:
        """Sum of volume * price: units of 1 Wh * 0.01 ct/kWh = 1e-7 EUR (the ``notional`` of
        the totals, as in the clearing-only day's)."""
        return sum(e.volume_wh * e.price_ticks for e in self.epochs if e.price_ticks is not None)

    @property
    def vwap_ticks(self) -> float | None:
        v = self.volume_wh
        return self.value_ticks / v if v else None

    @property
    def prices(self) -> list[int]:
        return [e.price_ticks for e in self.epochs if e.price_ticks is not None]

    @property
    def settled(self) -> bool:
        return all(e.state == "settled" for e in self.epochs)

    def totals(self) -> dict[str, Any]:
        """The day's totals as a JSON-ready dict."""
        es = self.epochs
        prices = self.prices
        vwap = self.vwap_ticks
        batches = sum(e.batches for e in es)
        transfers = sum(e.transfers for e in es)
        fees = sum(e.fees for e in es)
        paid = sum(e.paid for e in es)
        minted = sum(e.minted_wh for e in es)
        ns = {name: sum(getattr(e, f"{name}_ns") for e in es) for name in ("orders", "mint", "clear", "settle")}
        return {
            "epochs": len(es),
            "settled_epochs": sum(e.state == "settled" for e in es),
            "cleared_epochs": len(prices),
            "no_cross_epochs": len(es) - len(prices),
            "orders": sum(e.orders for e in es),
            "accepted": sum(e.accepted for e in es),
            "refused": sum(e.refused for e in es),
            "refusals": dict(self.refusals),
            "minted_wh": minted,
            "minted_kwh": minted / LOTS_PER_KWH,
            "deposited": self.deposited,
            "deposited_eur": eur(self.deposited),
            "volume_wh": self.volume_wh,
            "volume_kwh": self.volume_wh / LOTS_PER_KWH,
            "vwap_ticks": vwap,
            "vwap_ct_per_kwh": None if vwap is None else vwap / TICKS_PER_CT,
            "min_price_ticks": min(prices) if prices else None,
            "max_price_ticks": max(prices) if prices else None,
            "min_price_ct_per_kwh": min(prices) / TICKS_PER_CT if prices else None,
            "max_price_ct_per_kwh": max(prices) / TICKS_PER_CT if prices else None,
            "fills": sum(e.fills for e in es),
            "notional": self.value_ticks,
            "paid": paid,
            "paid_eur": eur(paid),
            "fees": fees,
            "fees_eur": eur(fees),
            "transactions": batches,
            "attempts": sum(e.attempts for e in es),
            "transfers": transfers,
            "transfers_per_transaction": transfers / batches if batches else None,
            "setup_ms": self.setup_ns / 1e6,
            "build_ms": self.build_ns / 1e6,
            "mint_ms": ns["mint"] / 1e6,
            "orders_ms": ns["orders"] / 1e6,
            "clear_ms": ns["clear"] / 1e6,
            "settle_ms": ns["settle"] / 1e6,
            "wall_ms": self.wall_ns / 1e6,
        }

    def to_dict(self) -> dict[str, Any]:
        """Config, units, the per-epoch list, totals and the conservation check, JSON-ready."""
        return {
            "date": self.day.isoformat(),
            "config": self.config,
            "units": {
                "lot": "1 Wh",
                "tick": "0.01 ct/kWh",
                "grid": "1 GRID = 1 kWh = 10^9 base units",
                "payment": "1 EUR = 10^9 base units",
            },
            "epochs": [e.to_dict() for e in self.epochs],
            "totals": self.totals(),
            "conservation": self.conservation.to_dict(),
        }


def eur(base_units: int) -> float:
    """Payment base units (1e-9 EUR) as EUR."""
    return base_units / 10**9


# --------------------------------------------------------------------------------------- settler


class _TimedSettler:
    """The venue's settler, timed: wall time inside it is settlement; the rest of a closing step
    is clearing."""

    def __init__(self, inner: ChainSettler | ProgramSettler) -> None:
        self.inner = inner
        self.ns = 0

    def close(self, epoch: int, orders: Sequence[OrderRecord], placing: bool) -> list[int]:
        close = getattr(self.inner, "close", None)  # the trading program's settler closes epochs on chain
        return [] if close is None else list(self._timed(lambda: close(epoch, orders, placing)))

    def _timed(self, call: Callable[[], Any]) -> Any:
        t0 = time.perf_counter_ns()
        try:
            return call()
        finally:
            self.ns += time.perf_counter_ns() - t0

    def plan(self, cleared: ClearedEpoch) -> list[Batch]:
        batches: list[Batch] = self._timed(lambda: self.inner.plan(cleared))
        return batches

    def prepare(self, batch: Batch, cleared: ClearedEpoch) -> Any:
        return self._timed(lambda: self.inner.prepare(batch, cleared))

    def submit(self, attempt: Any) -> None:
        self._timed(lambda: self.inner.submit(attempt))

    def status(self, signature: str) -> TxStatus:
        status: TxStatus = self._timed(lambda: self.inner.status(signature))
        return status

    def expired(self, attempt: Any) -> bool:
        return bool(self._timed(lambda: self.inner.expired(attempt)))


# --------------------------------------------------------------------------------------- the day


def run_market_day(
    day: dt.date | str,
    *,
    prosumers: int = 40,
    consumers: int = 60,
    seed: int = 7,
    epochs: int = EPOCHS_PER_DAY,
    first: int = 0,
    rule: str = "midpoint",
    allocation: str = "time",
    netting: bool = False,
    settle: str = "program",
    deposit_eur: Decimal | int | str = DEPOSIT_EUR,
    progress: Progress | None = None,
) -> MarketDayReport:
    """Run epochs ``first .. first + epochs - 1`` of ``day`` on a campus market settled on LiteSVM.

    See the module docs for what happens in each epoch. ``rule`` and ``allocation`` are the
    market's (with ``rule="exchange"`` the epoch engine uses the last settled price as the
    reference price, not the day-ahead price). ``settle`` is ``"program"`` (the trading
    program's escrow) or ``"delegate"`` (transfers by the chain's authority as delegate);
    ``netting`` nets each participant's transfers per epoch (delegate only). ``deposit_eur`` is
    each participant's payment deposit at the start of the day.
    Raises ``ValueError`` for a range of epochs outside the day, an unknown ``settle``, or
    ``netting`` with ``"program"``.
    """
    from gridmatch.chain import LiteSVMChain
    from gridmatch.chain.venue import Venue
    from gridmatch.epochs import EpochManager, EpochState
    from gridmatch.market import Market
    from gridmatch.participants import Participant, Role
    from gridmatch.settlement import one_side

    t_start = time.perf_counter_ns()
    day = parse_date(day)
    if settle not in SETTLE_MODES:
        raise ValueError(f"settle = {settle!r}: one of {', '.join(SETTLE_MODES)}")
    if netting and settle == "program":
        raise ValueError("netting is for delegate settlement: the trading program settles each fill")
    if not 0 <= first < EPOCHS_PER_DAY or not 1 <= epochs <= EPOCHS_PER_DAY - first:
        raise ValueError(f"epochs {first}..{first + epochs - 1} are not within the day's 0..{EPOCHS_PER_DAY - 1}")
    campus = Campus(prosumers=prosumers, consumers=consumers, seed=seed)
    market = Market(rule=rule, allocation=allocation)
    deposit = _base_units(deposit_eur, market.payment_decimals)
    traders = [int(t) for t in campus.participants.trader]
    is_prosumer = [bool(p) for p in campus.participants.is_prosumer]

    chain = LiteSVMChain(seed=seed)
    if settle == "program":
        # The meters are registered one epoch before the first reading, so the oracle bounds the
        # first reading's rate over one epoch, like every later one.
        chain.advance_clock(int(epoch_start(day, first).timestamp()) - EPOCH_MINUTES * 60)
    roles = {pid: Role.PROSUMER if pro else Role.CONSUMER for pid, pro in zip(traders, is_prosumer, strict=True)}
    venue = Venue.create(chain, market, roles, seed=seed, settle="program" if settle == "program" else "delegate")
    settler = _TimedSettler(venue.settler(netting=netting))
    now = epoch_start(day, first).timestamp()
    manager = EpochManager(
        market, journal=":memory:", settler=settler, funds=venue.funds(), escrow=venue.escrow(), clock=lambda: now
    )
    for pid, role in roles.items():
        manager.register(Participant(pid, role, name=f"{role.value}-{pid}", wallet=str(venue.wallet(pid))))
    initial = venue.balances()
    initial_supply = _supplies(chain, venue)
    issued: dict[tuple[str, int], int] = defaultdict(int)
    for pid in traders:
        venue.deposit(pid, deposit)
        issued["payment", pid] += deposit
    states: dict[int, str] = {}
    manager.subscribe(lambda event: states.__setitem__(event.epoch, event.state.value))

    report = MarketDayReport(
        day=day,
        config={
            "chain": "litesvm",
            "prosumers": prosumers,
            "consumers": consumers,
            "seed": seed,
            "first_epoch": first,
            "rule": rule,
            "allocation": allocation,
            "netting": netting,
            "settle": settle,
            "fee_bps": market.fee_bps,
            "fee_payer": market.fee_payer,
            "deposit_eur": str(Decimal(deposit) / 10**market.payment_decimals),
            "lookup_tables": len(venue.lookup_tables),
            "profile_day": reference_day(day, data.PROFILE_YEAR).isoformat(),
            "day_ahead_day": reference_day(day, data.PRICE_YEAR).isoformat(),
        },
        deposited=deposit * len(traders),
    )
    report.setup_ns = time.perf_counter_ns() - t_start
    refusals: Counter[str] = Counter()
    indexes = range(first, first + epochs)
    for done, index in enumerate(indexes, start=1):
        start = epoch_start(day, index).timestamp()
        now = start
        manager.step(start)  # opens the epoch (the one before was closed at its end)

        t0 = time.perf_counter_ns()
        ep = campus.epoch(day, index)
        report.build_ns += time.perf_counter_ns() - t0

        # The meter readings, at the epoch's start: each prosumer's surplus, minted before it may sell it.
        t0 = time.perf_counter_ns()
        surplus = {traders[i]: int(ep.net_wh[i]) for i in np.flatnonzero(ep.net_wh > 0).tolist()}
        venue.mint_grids({pid: market.grid_units(wh) for pid, wh in surplus.items()}, at=int(start))
        for pid, wh in surplus.items():
            issued["grid", pid] += market.grid_units(wh)
        minted = sum(surplus.values())
        mint_ns = time.perf_counter_ns() - t0

        t0 = time.perf_counter_ns()
        rows = [
            (int(trader), int(side), int(qty), int(price)) for _, trader, side, price, qty, _, _ in ep.orders.tolist()
        ]
        accepted = buys = sells = bid = ask = 0
        spacing = ORDER_WINDOW_S / max(len(rows), 1)
        for first_row in range(0, len(rows), ORDER_BATCH):
            batch = rows[first_row : first_row + ORDER_BATCH]
            now = start + 1 + (first_row + len(batch) - 1) * spacing
            for (_, side, qty, _), outcome in zip(batch, manager.submit_many(batch, at=now), strict=True):
                if isinstance(outcome, _REFUSALS):
                    refusals[type(outcome).__name__] += 1
                    continue
                if isinstance(outcome, Exception):
                    raise outcome  # the chain failed, not the order: as from `submit`
                accepted += 1
                if side == SELL:
                    sells, ask = sells + 1, ask + qty
                else:
                    buys, bid = buys + 1, bid + qty
        orders_ns = time.perf_counter_ns() - t0

        # The epoch ends: the engine closes, clears and settles it on the chain.
        now = start + EPOCH_MINUTES * 60
        settle_before = settler.ns
        t0 = time.perf_counter_ns()
        manager.step(now)
        step_ns = time.perf_counter_ns() - t0
        settle_ns = settler.ns - settle_before

        eid = ep.epoch_id
        record = manager.journal.epoch(eid)
        fills = manager.journal.fills(eid)
        batches = manager.journal.batches(eid)
        paid = fees = 0
        for _, side, lots, price in _legs(manager.journal, eid, per_order=settle == "program"):
            paid += market.notional(lots, price) if side == 1 else 0
            fees += one_side(market, side, lots, price)[2]
        epoch = ChainEpoch(
            epoch_id=eid,
            index=index,
            orders=len(rows),
            accepted=accepted,
            refused=len(rows) - accepted,
            buy_orders=buys,
            sell_orders=sells,
            bid_wh=bid,
            ask_wh=ask,
            minted_wh=minted,
            day_ahead_ticks=ep.day_ahead_ticks,
            price_ticks=None if record is None or record.price is None else int(record.price),
            volume_wh=0 if record is None or record.volume is None else int(record.volume),
            fills=len(fills),
            paid=paid,
            fees=fees,
            batches=len(batches),
            attempts=sum(len(b.attempts) for b in batches),
            transfers=sum(len(b.transfers) for b in batches),
            state=states.get(eid, "pending"),
            orders_ns=orders_ns,
            mint_ns=mint_ns,
            clear_ns=step_ns - settle_ns,
            settle_ns=settle_ns,
        )
        report.epochs.append(epoch)
        if progress is not None:
            progress(done, epochs, epoch)

    # An epoch whose settlement failed or was left waiting is retried by the next steps.
    for retry in range(1, 4):
        if all(states.get(e.epoch_id) == EpochState.SETTLED.value for e in report.epochs):
            break
        now += retry
        manager.step(now)
    report.epochs = [_final_state(e, states) for e in report.epochs]
    report.refusals = dict(sorted(refusals.items()))
    report.conservation = check_conservation(
        market, manager, venue, chain, initial=initial, initial_supply=initial_supply, issued=issued
    )
    report.wall_ns = time.perf_counter_ns() - t_start
    return report


def _legs(journal: Journal, epoch: int, *, per_order: bool) -> list[tuple[int, int, int, int]]:
    """(participant, side, lots, price) of each side of what an epoch settled, each split on its
    own: per fill its buyer and seller (delegate transfers), or per filled order (the program)."""
    if per_order:
        record = journal.epoch(epoch)
        price = 0 if record is None or record.price is None else record.price
        return [(o.trader, o.side, o.filled, price) for o in journal.orders(epoch) if o.filled]
    return [
        leg
        for _, _, buyer, seller, qty, price in journal.fills(epoch)
        for leg in ((buyer, 1, qty, price), (seller, -1, qty, price))
    ]


def _final_state(epoch: ChainEpoch, states: dict[int, str]) -> ChainEpoch:
    state = states.get(epoch.epoch_id, epoch.state)
    return epoch if state == epoch.state else replace(epoch, state=state)


def _refusals() -> tuple[type[Exception], ...]:
    from gridmatch.epochs import EpochClosed, InsufficientFunds, OrderLimit
    from gridmatch.errors import InvalidOrder
    from gridmatch.participants import NotPermitted

    return (InsufficientFunds, OrderLimit, NotPermitted, EpochClosed, InvalidOrder)


_REFUSALS: Final[tuple[type[Exception], ...]] = _refusals()
"""What `EpochManager.submit_many` refuses an order with: counted, the day goes on."""


def _base_units(amount: Decimal | int | str, decimals: int) -> int:
    value = Decimal(amount) * 10**decimals
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"deposit {amount!r} EUR is not a whole number of base units >= 0")
    return int(value)


def _supplies(chain: LiteSVMChain, venue: Venue) -> dict[str, int]:
    """Each mint's supply on chain."""
    from solders.token.state import Mint

    out = {}
    for name, mint in venue.accounts.mints.items():
        account = chain.svm.get_account(mint)
        out[name] = 0 if account is None else int(Mint.from_bytes(bytes(account.data)).supply)
    return out


# --------------------------------------------------------------------------------- conservation


def check_conservation(
    market: Market,
    manager: EpochManager,
    venue: Venue,
    chain: LiteSVMChain,
    *,
    initial: dict[tuple[str, int], int],
    initial_supply: dict[str, int],
    issued: dict[tuple[str, int], int],
) -> Conservation:
    """Checks, to the base unit:

    - **balances**: every participant's and the treasury's balance of each token on chain ==
      its balance after set-up + what was minted or deposited to it + what the journal's
      confirmed batches moved (``EpochManager.balances_moved``);
    - **fills**: what the journal's batches moved for each of them == what the journal's fills
      imply (GRID from seller to buyer, the notional from buyer to seller, the fee to the
      treasury, each fill's fee rounded once by the core; through the program each filled
      order's own notional and fee, rounded once an order), so settlement moved what clearing
      decided, netted or not;
    - **mints**: each mint's supply == its supply after set-up + everything issued, and == the sum
      of all balances (nothing created or lost in transfers);
    - **totals**: GRID sold == GRID bought == the volume cleared; payments paid by buyers ==
      payments received by sellers + fees == (on chain) what the participants' balances lost +
      what the treasury gained; the treasury holds exactly the fees.
    """
    from gridmatch.settlement import GRID, PAYMENT, TREASURY, one_side

    final = venue.balances()
    moved = manager.balances_moved()
    expected_moves: dict[tuple[str, int], int] = defaultdict(int)
    sold = bought = paid = received = fees = volume = 0
    for record in manager.journal.epochs():
        volume += record.volume or 0
        for who, side, lots, price in _legs(manager.journal, record.id, per_order=venue.trading is not None):
            grid, payment, fee = one_side(market, side, lots, price)
            expected_moves[GRID, who] += grid
            expected_moves[PAYMENT, who] += payment
            expected_moves[PAYMENT, TREASURY] += fee
            if side == 1:
                bought, paid = bought + grid, paid - payment
            else:
                sold, received = sold - grid, received + payment
            fees += fee

    checks: list[tuple[str, dict[str, Any], int, int]] = []
    for key in sorted(final):
        mint, who = key
        where = {"mint": mint, "participant": who}
        checks.append(("balance", where, initial.get(key, 0) + issued.get(key, 0) + moved.get(key, 0), final[key]))
        checks.append(("fills", where, expected_moves.get(key, 0), moved.get(key, 0)))
    unknown = sorted(set(moved) - set(final))
    for key in unknown:  # moved to or from an account the venue does not know: always a mismatch
        checks.append(("balance", {"mint": key[0], "participant": key[1]}, 0, moved[key]))
    supply = _supplies(chain, venue)
    for mint in (GRID, PAYMENT):
        total_issued = sum(v for (m, _), v in issued.items() if m == mint)
        checks.append(("supply", {"mint": mint}, initial_supply[mint] + total_issued, supply[mint]))
        checks.append(
            ("supply = balances", {"mint": mint}, supply[mint], sum(v for (m, _), v in final.items() if m == mint))
        )

    def change(mint: str, who: int) -> int:
        return final[mint, who] - initial.get((mint, who), 0) - issued.get((mint, who), 0)

    participants = [who for (m, who) in final if m == GRID and who != TREASURY]
    grid_out = sum(-min(0, change(GRID, w)) for w in participants)
    grid_in = sum(max(0, change(GRID, w)) for w in participants)
    checks.append(("GRID sold = bought", {}, sold, bought))
    checks.append(("GRID sold = volume", {}, market.grid_units(volume), sold))
    checks.append(("GRID out = in (chain)", {}, grid_out, grid_in))
    checks.append(("paid = received + fees", {}, paid, received + fees))
    checks.append(
        (
            "payments lost = treasury gained (chain)",
            {},
            -sum(change(PAYMENT, w) for w in participants),
            change(PAYMENT, TREASURY),
        )
    )
    checks.append(("treasury = fees (chain)", {}, fees, change(PAYMENT, TREASURY)))
    checks.append(("treasury GRID (chain)", {}, 0, change(GRID, TREASURY)))
    if venue.trading is not None:  # every order claimed, the fees withdrawn: nothing left in escrow
        vaults = chain.token_balances([venue.trading.grid_vault, venue.trading.payment_vault])
        checks += [
            ("vault empty (chain)", {"mint": mint}, 0, held) for mint, held in zip((GRID, PAYMENT), vaults, strict=True)
        ]

    mismatches = [
        {"check": name, **where, "expected": expected, "actual": actual, "difference": actual - expected}
        for name, where, expected, actual in checks
        if expected != actual
    ]
    return Conservation(checked=len(checks), mismatches=mismatches)


__all__ = [
    "DEPOSIT_EUR",
    "SETTLE_MODES",
    "ChainEpoch",
    "Conservation",
    "MarketDayReport",
    "Progress",
    "check_conservation",
    "eur",
    "run_market_day",
]
