"""Settlement on a chain by delegate transfers: the seed design. Participants approve the chain's
authority as the delegate of their GRID and payment token accounts; at settlement the authority
moves exactly what the clearing decided, one transaction per batch, each carrying its batch's
memo. `ChainFunds` tells the epoch engine what a participant holds and has approved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from gridmatch.chain.base import Chain, Prepared, Sent
from gridmatch.chain.spl import associated_token_address, transfer_checked_ix
from gridmatch.journal import Attempt
from gridmatch.market import Market
from gridmatch.settlement import GRID, PAYMENT, Batch, ClearedEpoch, Transfer, TxStatus, batches, memo, transfers


class Accounts:
    """Where each participant's tokens live: the associated token accounts of its wallet for
    the GRID and the payment mint. Participant `settlement.TREASURY` is the fee treasury."""

    def __init__(self, market: Market, grid_mint: Pubkey, payment_mint: Pubkey, wallets: Mapping[int, Pubkey]) -> None:
        self.market = market
        self.mints = {GRID: grid_mint, PAYMENT: payment_mint}
        self.decimals = {GRID: market.grid_decimals, PAYMENT: market.payment_decimals}
        self.wallets = dict(wallets)
        self._cache: dict[tuple[int, str], Pubkey] = {}

    def account(self, participant: int, mint: str) -> Pubkey:
        key = (participant, mint)
        if key not in self._cache:  # deriving the address hashes; settlement asks thousands of times
            self._cache[key] = associated_token_address(self.wallets[participant], self.mints[mint])
        return self._cache[key]


class ChainSender:
    """What every settler on a `Chain` shares: signing a batch's instructions into a journaled
    `Attempt`, sending one, and answering for one sent before."""

    def __init__(self, chain: Chain, lookup_tables: Sequence[Pubkey] = ()) -> None:
        self.chain = chain
        self.lookup_tables = tuple(lookup_tables)

    def attempt(self, ixs: Sequence[Instruction], memo: str, compute_units: int | None = None) -> Attempt:
        p = self.chain.prepare(ixs, memo=memo, lookup_tables=self.lookup_tables, compute_units=compute_units)
        return Attempt(p.sent.signature, p.sent.blockhash, p.sent.last_valid_height, p.raw)

    def submit(self, attempt: Attempt) -> None:
        self.chain.submit(Prepared(self._sent(attempt), attempt.raw))

    def expired(self, attempt: Attempt) -> bool:
        """Whether the attempt can never land any more, judged from what the journal holds of
        it (its blockhash and last valid height), not from this process's memory."""
        return self.chain.expired(self._sent(attempt))

    @staticmethod
    def _sent(attempt: Attempt) -> Sent:
        return Sent(attempt.signature, attempt.blockhash, attempt.last_valid)

    def status(self, signature: str) -> TxStatus:
        return self.chain.status(signature)


class ChainSettler(ChainSender):
    """The epoch engine's `Settler` on a `Chain` by delegate transfers (see `gridmatch.epochs.Settler`)."""

    def __init__(
        self, chain: Chain, accounts: Accounts, *, netting: bool = False, lookup_tables: Sequence[Pubkey] = ()
    ) -> None:
        super().__init__(chain, lookup_tables)
        self.accounts = accounts
        self.netting = netting

    def instruction(self, t: Transfer) -> Instruction:
        return transfer_checked_ix(
            self.accounts.account(t.source, t.mint),
            self.accounts.mints[t.mint],
            self.accounts.account(t.dest, t.mint),
            t.amount,
            self.accounts.decimals[t.mint],
            self.chain.authority.pubkey(),
        )

    def plan(self, cleared: ClearedEpoch) -> list[Batch]:
        epoch = cleared.epoch
        planned = transfers(cleared.fills, self.accounts.market, netting=self.netting)
        built = {t: self.instruction(t) for t in planned}  # each built once, however often sized
        sizing_memo = memo(epoch, 0, "0" * 32)  # every memo of the epoch has this length

        def fits(group: Sequence[Transfer]) -> bool:
            ixs = [built[t] for t in group]
            return self.chain.fits(ixs, memo=sizing_memo, lookup_tables=self.lookup_tables)

        return batches(self.accounts.market, epoch, planned, fits)

    def prepare(self, batch: Batch, cleared: ClearedEpoch) -> Attempt:
        return self.attempt([self.instruction(t) for t in batch.transfers], batch.memo)


class ChainFunds:
    """The epoch engine's `Funds`: of each token, what a participant both holds and has let the
    authority move."""

    def __init__(self, chain: Chain, accounts: Accounts) -> None:
        self.chain = chain
        self.accounts = accounts

    def holdings(self, trader: int) -> tuple[int, int]:
        grid, payment = (self.accounts.account(trader, mint) for mint in (GRID, PAYMENT))
        balances = self.chain.token_balances([grid, payment])
        allowed = [self.chain.delegated_amount(account) for account in (grid, payment)]
        return min(balances[0], allowed[0]), min(balances[1], allowed[1])


__all__ = ["Accounts", "ChainFunds", "ChainSender", "ChainSettler"]
