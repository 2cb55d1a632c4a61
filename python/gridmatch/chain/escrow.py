"""Settlement through the trading program (escrow mode): the funds of each order are held by the
program from the moment the order is accepted; the operator commits to the clearing result, the
program credits each order what it is owed, and every order claims it (pull, not push: see
programs/README.md, "Trading").

- `OrderEscrow` is the epoch engine's `Escrow`: accepting an order places it on chain, signed by
  its trader (opening the epoch there first), which escrows its worst case in the market's vaults;
  a batch of orders (`EpochManager.submit_many`) goes in as few transactions as fit.
- `ProgramSettler` is the engine's `Settler`. An ended epoch is closed on chain first (`close`),
  and the engine's orders no longer there (cancelled by their owners while it was open) are
  named, so the engine leaves them out of the book. The cleared epoch then becomes batches, each
  journaled before it is sent like any other: the result posted (price, volume, how many orders
  filled, the head of their results' hash chain), the orders' results credited in the chain's
  order (as many a transaction as fit), every order of the epoch claimed to the token accounts it
  recorded, and the fees withdrawn to the treasury.

Accounting: each order settles against the market's vaults (`settlement.VAULT`) at the uniform
price. A credit batch journals, per order, what the order's trader gains or loses once it has
claimed (`trading.dues` less the escrow): one fee rounding per order, not per fill. The fee batch
moves the fees from the vaults to the treasury. So `balances_moved` is each trader's change once
its orders are claimed, and the vaults' net is zero once an epoch is claimed and its fees are out.

Claims are checked against the chain when signed: an order already claimed (by anyone) is left
out; one whose recorded token account is closed, frozen or not an account of its mint is left out
too, and named with the signed attempt (`Attempt.left_out`) so that the engine marks it
unclaimable in its journal (its owner can still claim it, signing, to accounts of its choosing):
it never holds the others back. A claim batch that failed because such an account changed after
it was signed is therefore signed again without that order.

The settler reads no journal: the engine hands it each epoch's clearing (`ClearedEpoch`: the
book with each order's fill, the fills, the ids taken), rebuilt from its journal after a
restart. A batch's instructions are rebuilt from that and the epoch's fee on chain (fixed when
it opened) whenever it is signed: the plan is a pure function of them, so after a crash the same
batch gets the same instructions, and its id (derived from its content) is checked to be sure.

An order is journaled as being placed (an intent) before its placement is sent, so a crash
between the two leaves the intent: its id is never given out again, and when the epoch closes
the intent is marked taken (`OrderMark.ID_TAKEN`) and, if the placement landed, the order is
claimed back whole with the epoch (it is in no result). `close` closes the epoch on chain before
the engine resolves its intents; an epoch with intents and no account on chain yet is opened and
closed there at once, so that no placement still on its way can land after. An order a trader
places itself under an id the engine would give it next makes that id taken too (`OrderIdTaken`):
the engine skips it, and claims that order back with the epoch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount, TokenAccountState

from gridmatch.chain import programs
from gridmatch.chain.base import Chain, ChainRequestInvalid
from gridmatch.chain.settler import ChainSender
from gridmatch.chain.spl import ACCOUNT_LEN
from gridmatch.chain.trading import OrderRef, Trader, TradingMarket, dues, escrow, result_heads
from gridmatch.epochs import InsufficientFunds, OrderIdTaken
from gridmatch.errors import ChainError, GridmatchError, TransactionFailed
from gridmatch.journal import Attempt, MarkRecord, OrderMark, OrderRecord
from gridmatch.settlement import (
    GRID,
    PAYMENT,
    TREASURY,
    VAULT,
    Batch,
    ClearedEpoch,
    Transfer,
    batch_id,
    memo,
    pack,
)


@dataclass(frozen=True)
class _Claim:
    """An order of the epoch to claim: its journal id and trader, its address on chain, and its
    claim cranked to the trader's own token accounts (the accounts the engine's orders record)."""

    order_id: int
    trader: int
    address: Pubkey
    ix: Instruction


# The fields of an `Order` account a claim depends on, at the program's fixed offsets (programs/
# README.md, "Accounts"): owner at 40, grid_escrow, payment_escrow, grid_due, payment_due from
# 105, credited at 137, grid_account at 138, payment_account at 170. A claim batch reads every
# one of its orders, and anchorpy's decoder takes fifty times as long.
_ORDER = struct.Struct("<40x32s33x4QB32s32s")


@dataclass(frozen=True)
class _Owed:
    """What claiming an order of a finalised epoch pays, and where a cranked claim pays it."""

    owner: Pubkey
    grid: int
    payment: int
    grid_account: Pubkey
    payment_account: Pubkey

    @classmethod
    def read(cls, data: bytes) -> _Owed:
        owner, grid_escrow, payment_escrow, grid_due, payment_due, credited, grid, payment = _ORDER.unpack_from(data)
        owed = (grid_due, payment_due) if credited else (grid_escrow, payment_escrow)  # not filled: its escrow
        return cls(Pubkey(owner), *owed, Pubkey(grid), Pubkey(payment))


@dataclass(frozen=True)
class _Step:
    batch: Batch
    #: What the batch's id is derived from: for a claim batch, every claim as planned.
    instructions: tuple[Instruction, ...]
    #: A claim batch's orders: it sends the claims of those still payable when it is signed.
    claims: tuple[_Claim, ...] = ()


class ProgramSettler(ChainSender):
    """The epoch engine's `Settler` through the trading program; see the module docstring.
    `wallets` maps each participant to its wallet."""

    def __init__(
        self,
        chain: Chain,
        trading: TradingMarket,
        wallets: Mapping[int, Pubkey],
        *,
        lookup_tables: Sequence[Pubkey] = (),
    ) -> None:
        super().__init__(chain, lookup_tables)
        self.trading = trading
        self.wallets = dict(wallets)
        self._traders: dict[int, Trader] = {}
        self._claims: dict[tuple[int, int], _Claim] = {}  # one epoch's, shared by its close, plan and claims
        self._claims_epoch: int | None = None
        self._steps: dict[int, list[_Step]] = {}  # the last epoch planned, kept for its signing

    def close(self, epoch: int, orders: Sequence[OrderRecord], placing: bool) -> list[int]:
        """Closes `epoch` on chain unless it is closed already, then returns the ids of `orders`
        (the journal's of it) that the chain no longer holds: cancelled by their owners.
        `placing`: placements of it may be on their way."""
        t = self.trading
        (data,) = self.chain.account_data([t.epoch(epoch)])
        if data is None:
            if not placing:  # nothing was placed, nor is being
                return []
            # A placement may be in flight, and would open the epoch: opened and closed here
            # first, it can never land.
            self.chain.send([t.open_epoch_ix(epoch), t.close_epoch_ix(epoch)])
        elif type(t.decode("Epoch", data).state).__name__ == "Open":
            self.chain.send([t.close_epoch_ix(epoch)])
        found = self.chain.account_data([self._claim(epoch, o.id, o.trader).address for o in orders])
        return [o.id for o, held in zip(orders, found, strict=True) if not held]  # none, or closed

    def plan(self, cleared: ClearedEpoch) -> list[Batch]:
        return [step.batch for step in self._plan(cleared)]

    def prepare(self, batch: Batch, cleared: ClearedEpoch) -> Attempt:
        steps = self._steps.get(batch.epoch)
        if steps is None:
            steps = self._plan(cleared)
        if batch.idx >= len(steps) or steps[batch.idx].batch.id != batch.id:
            message = f"batch {batch.id} of epoch {batch.epoch} is not what its orders and fills plan"
            raise ChainRequestInvalid(message, field="batch", value=batch.id)
        step = steps[batch.idx]
        if not step.claims:
            return self.attempt(list(step.instructions), batch.memo)
        ixs, left_out = self._payable(batch.epoch, step.claims)
        return dataclasses.replace(self.attempt(ixs, batch.memo), left_out=left_out)

    def _trader(self, participant: int) -> Trader:
        if participant not in self._traders:  # deriving the addresses hashes; settlement asks thousands of times
            self._traders[participant] = self.trading.trader(self.wallets[participant])
        return self._traders[participant]

    def _claim(self, epoch: int, order_id: int, participant: int) -> _Claim:
        if epoch != self._claims_epoch:  # a new epoch: the last one's are not needed again
            self._claims, self._claims_epoch = {}, epoch
        key = (order_id, participant)
        if key not in self._claims:  # deriving the order's address hashes: once an order
            ix = self.trading.claim_ix(OrderRef(epoch, order_id, self._trader(participant)))
            self._claims[key] = _Claim(order_id, participant, ix.accounts[2].pubkey, ix)  # its third: `order`
        return self._claims[key]

    def _plan(self, cleared: ClearedEpoch) -> list[_Step]:
        t, epoch, fills, orders = self.trading, cleared.epoch, cleared.fills, cleared.orders
        (data,) = self.chain.account_data([t.epoch(epoch)])
        if data is None:  # nothing was placed: the epoch was never opened on chain
            return []
        fee_bps = t.decode("Epoch", data).fee_bps  # governance's when the epoch opened
        filled: dict[int, int] = defaultdict(int)
        for buy_id, sell_id, _, _, qty, _ in fills:
            filled[buy_id] += qty
            filled[sell_id] += qty
        price = fills[0][5] if fills else 0
        claims = [self._claim(epoch, o.id, o.trader) for o in orders]
        credited = [(o, c) for o, c in zip(orders, claims, strict=True) if filled[o.id]]
        results = [(c.address, filled[o.id]) for o, c in credited]
        heads = result_heads(results)
        volume = sum(f[4] for f in fills)
        sizing_memo = memo(epoch, 0, "0" * 32)  # every memo of the epoch has this length

        def fits(ixs: list[Instruction]) -> bool:
            # No compute-unit limit: the default, 200,000 an instruction, covers a credit batch
            # (about 2,200 an order) and each claim, and a limit would take an order's bytes.
            return self.chain.fits(ixs, memo=sizing_memo, lookup_tables=self.lookup_tables)

        def credit(i: int, j: int) -> list[Instruction]:
            return [t.credit_ix(epoch, results[i:j], heads[j])]

        moves, fees = [], 0
        for o, _ in credited:
            moved, fee = self._dues(o, filled[o.id], price, fee_bps)
            moves.append(moved)
            fees += fee
        post = t.post_result_ix(epoch, price, volume, len(results), heads[0])
        groups: list[tuple[list[Instruction], tuple[Transfer, ...], tuple[_Claim, ...]]] = [([post], (), ())]
        for i, j in pack(len(results), lambda i, j: fits(credit(i, j))):
            groups.append((credit(i, j), tuple(m for moved in moves[i:j] for m in moved), ()))
        for i, j in pack(len(claims), lambda i, j: fits([c.ix for c in claims[i:j]])):
            groups.append(([c.ix for c in claims[i:j]], (), tuple(claims[i:j])))
        # Ids the chain held for a trader already: its own orders, or the engine's lost before a
        # crash; claimed one a transaction (the accounts they recorded are no table's).
        for order_id, trader in cleared.taken:
            claim = self._claim(epoch, order_id, trader)
            groups.append(([claim.ix], (), (claim,)))
        if fees:
            groups.append(([t.withdraw_fees_ix()], (Transfer(PAYMENT, VAULT, TREASURY, fees),), ()))
        steps = []
        for k, (ixs, moved_, batch_claims) in enumerate(groups):
            batch = Batch(_step_id(t, epoch, k, moved_, ixs), epoch, k, moved_)
            steps.append(_Step(batch, tuple(ixs), batch_claims))
        self._steps = {epoch: steps}
        return steps

    def _dues(self, order: OrderRecord, filled: int, price: int, fee_bps: int) -> tuple[list[Transfer], int]:
        """What an order filled `filled` lots at `price` moves once claimed, as transfers between
        its trader and the vaults, and its fee: what the program credits it less its escrow."""
        market = self.trading.market
        grid_escrow, payment_escrow = escrow(market, order.side, order.price, order.qty, fee_bps=fee_bps)
        grid_due, payment_due, fee = dues(
            market, order.side, filled, price, grid_escrow, payment_escrow, fee_bps=fee_bps
        )
        changes = ((GRID, grid_due - grid_escrow), (PAYMENT, payment_due - payment_escrow))
        moved = [
            Transfer(mint, VAULT, order.trader, change) if change > 0 else Transfer(mint, order.trader, VAULT, -change)
            for mint, change in changes
            if change
        ]
        return moved, fee

    def _payable(self, epoch: int, claims: Sequence[_Claim]) -> tuple[list[Instruction], tuple[MarkRecord, ...]]:
        """The claims of `claims` the chain can pay now, to the token accounts each order
        recorded, and the orders left out because their recorded account cannot receive (marked
        unclaimable: its owner claims it, signing). An order claimed already is left out too."""
        t = self.trading
        found = self.chain.account_data([c.address for c in claims])
        live = [(c, _Owed.read(data)) for c, data in zip(claims, found, strict=True) if data]  # not closed
        recorded = list(dict.fromkeys(a for _, o in live for a in (o.grid_account, o.payment_account)))
        accounts = dict(zip(recorded, self.chain.account_data(recorded), strict=True))
        ixs, left_out = [], []
        for claim, owed in live:
            # The program checks a destination only when it pays something into it.
            problem = (owed.grid and _unpayable("GRID", accounts[owed.grid_account], t.grid_mint)) or (
                owed.payment and _unpayable("payment", accounts[owed.payment_account], t.payment_mint)
            )
            if problem:
                left_out.append(MarkRecord(claim.order_id, epoch, claim.trader, OrderMark.UNCLAIMABLE, problem))
                continue
            recorded_by = Trader(owed.owner, owed.grid_account, owed.payment_account)
            if recorded_by == self._trader(claim.trader):
                ixs.append(claim.ix)
            else:  # an order the trader placed itself, recording other accounts
                ixs.append(t.claim_ix(OrderRef(epoch, claim.order_id, recorded_by)))
        return ixs, tuple(left_out)


def _unpayable(name: str, data: bytes | None, mint: Pubkey) -> str | None:
    """Why a claim cannot pay into a recorded token account, or None if it can."""
    if not data:  # no account, or a closed one (the System program's, empty)
        return f"its recorded {name} account is closed"
    if len(data) != ACCOUNT_LEN:
        return f"its recorded {name} account is not a token account"
    account = TokenAccount.from_bytes(data)
    if account.mint != mint:
        return f"its recorded {name} account holds another mint ({account.mint})"
    if account.state != TokenAccountState.Initialized:
        return f"its recorded {name} account is frozen"
    return None


def _step_id(
    trading: TradingMarket, epoch: int, idx: int, moved: Sequence[Transfer], ixs: Sequence[Instruction]
) -> str:
    """A batch's id from everything it sends (the instructions' bytes, not only the transfers
    they amount to): a batch rebuilt from a journal that changed since can never pass for it."""
    digest = hashlib.sha256(batch_id(trading.market, epoch, idx, moved).encode())
    for ix in ixs:
        digest.update(bytes(ix))
    return digest.hexdigest()[:32]


class OrderEscrow:
    """The epoch engine's `Escrow` through the trading program: `place` puts an accepted order
    on chain, signed by its trader's key (`keys`), opening its epoch there if needed;
    `place_many` puts several in as few transactions as fit (with `lookup_tables`), each signed
    by its orders' traders. An order is refused, nothing of it sent, with `InsufficientFunds`
    when its trader's token account holds less than it escrows (at the epoch's fee; less its
    earlier orders of the batch), and with `OrderIdTaken` when the chain holds an order of the
    trader under that id already; a refusal by the chain is `TransactionFailed`."""

    def __init__(
        self, chain: Chain, trading: TradingMarket, keys: Mapping[int, Keypair], *, lookup_tables: Sequence[Pubkey] = ()
    ) -> None:
        self.chain = chain
        self.trading = trading
        self.keys = dict(keys)
        self.lookup_tables = tuple(lookup_tables)
        self._traders: dict[int, Trader] = {}
        self._open: dict[int, int] = {}  # the epoch this placed orders in last, and its fee (fixed when it opened)

    def place(self, order: OrderRecord) -> None:
        (refused,) = self.place_many([order])
        if refused is not None:
            raise refused

    def place_many(self, orders: Sequence[OrderRecord]) -> list[GridmatchError | None]:
        """Places `orders` (of one epoch); for each, None once it is on chain or the error that
        refused it (a `ChainTimeout`: it may land yet). A transaction the chain refuses is tried
        again order by order, so that one order's refusal is its own."""
        if not orders:
            return []
        t, epoch, n = self.trading, orders[0].epoch, len(orders)
        refs = [OrderRef(o.epoch, o.id, self._trader(o.trader)) for o in orders]
        fee = self._open.get(epoch)
        found = self.chain.account_data(
            [t.order_address(r) for r in refs] + ([] if fee is not None else [t.epoch(epoch), t.governance])
        )
        opened = fee is not None or found[n] is not None
        fee = fee if fee is not None else _fee(t, found[n], found[n + 1])
        traders = list(dict.fromkeys(o.trader for o in orders))
        amounts = self.chain.token_balances(
            [a for p in traders for a in (self._trader(p).grid, self._trader(p).payment)]
        )
        held = {p: [amounts[2 * i], amounts[2 * i + 1]] for i, p in enumerate(traders)}
        outcomes: list[GridmatchError | None] = [None] * n
        ready = []
        for k, order in enumerate(orders):
            grid, payment = escrow(t.market, order.side, order.price, order.qty, fee_bps=fee)
            holds = held[order.trader]
            if grid > holds[0] or payment > holds[1]:
                message = (
                    f"participant {order.trader} escrows {grid} GRID and {payment} payment base units; "
                    f"holds {holds[0]} and {holds[1]}"
                )
                outcomes[k] = InsufficientFunds(message, field="funds", value=order.trader)
            elif found[k] is not None:
                message = f"order {order.id} of epoch {epoch} is on chain already for participant {order.trader}"
                outcomes[k] = OrderIdTaken(message, field="order_id", value=order.id)
            else:
                holds[0], holds[1] = holds[0] - grid, holds[1] - payment
                ready.append(k)
        places = {k: t.place_ix(refs[k], orders[k].side, orders[k].price, orders[k].qty) for k in ready}

        def send(run: Sequence[int]) -> None:
            nonlocal opened
            ixs = ([] if opened else [t.open_epoch_ix(epoch)]) + [places[k] for k in run]
            signers = list({orders[k].trader: self.keys[orders[k].trader] for k in run}.values())
            try:
                self.chain.send(ixs, signers=signers, lookup_tables=self.lookup_tables)
            except TransactionFailed as refused:
                if len(run) == 1:
                    outcomes[run[0]] = refused
                    return
                for k in run:  # whose refusal was it? each alone
                    send([k])
                return
            except ChainError as lost:  # a timeout (it may land yet), or nothing sent
                for k in run:
                    outcomes[k] = lost
                return
            opened = True

        def fits(i: int, j: int) -> bool:
            ixs = ([] if opened or i else [t.open_epoch_ix(epoch)]) + [places[k] for k in ready[i:j]]
            return self.chain.fits(ixs, lookup_tables=self.lookup_tables)

        for i, j in pack(len(ready), fits):
            send(ready[i:j])
        if opened:
            self._open = {epoch: fee}
        return outcomes

    def _trader(self, participant: int) -> Trader:
        if participant not in self._traders:  # a wallet's address and its accounts' are hashes: once each
            self._traders[participant] = self.trading.trader(self.keys[participant].pubkey())
        return self._traders[participant]


def _fee(trading: TradingMarket, epoch: bytes | None, governance: bytes | None) -> int:
    """An epoch's fee: its own once it is open, else governance's, which it gets when it opens."""
    if epoch is not None:
        return int(trading.decode("Epoch", epoch).fee_bps)
    if governance is None:
        message = "governance is not initialised on this chain: the market has no fee"
        raise ChainRequestInvalid(message, field="governance", value=str(trading.governance))
    return int(programs.decode("governance", "GovernanceConfig", governance).fee_bps)


__all__ = ["OrderEscrow", "ProgramSettler"]
