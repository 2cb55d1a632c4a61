"""`Venue`: a market's footing on a chain. Creates the GRID mint (the market's GRID decimals) and
a payment mint, every participant's and the treasury's associated token accounts, and the
approvals that let the chain's authority move committed funds at settlement (the seed design).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from gridmatch.chain.base import MAX_AMOUNT, MAX_LOOKUP_TABLE_ADDRESSES, Chain, keypair_from_seed
from gridmatch.chain.settler import Accounts, ChainFunds, ChainSettler
from gridmatch.market import Market
from gridmatch.settlement import GRID, PAYMENT, TREASURY


@dataclass
class Venue:
    chain: Chain
    accounts: Accounts
    #: Each participant's (and the treasury's) wallet keypair.
    keys: dict[int, Keypair]
    #: Address lookup tables holding the mints and every token account: with them a settlement
    #: transaction names each account in one byte instead of 32, so about three times as many
    #: transfers fit (then the 64-account limit binds, not the 1,232 bytes).
    lookup_tables: tuple[Pubkey, ...] = ()

    @classmethod
    def create(
        cls,
        chain: Chain,
        market: Market,
        participants: Iterable[int],
        *,
        seed: int = 0,
        grid_mint: Pubkey | None = None,
        payment_mint: Pubkey | None = None,
        lookup_tables: bool = True,
    ) -> Venue:
        """Sets up the market on `chain`: mints (new unless given), a wallet per participant
        (reproducible from `seed`), their token accounts, approvals of the authority for
        everything they hold (u64 max: the epoch engine checks every order against holdings),
        and, with `lookup_tables`, tables of all those addresses for settlement to use."""
        grid = grid_mint or chain.create_mint(market.grid_decimals)
        payment = payment_mint or chain.create_mint(market.payment_decimals)
        keys = {TREASURY: keypair_from_seed(seed, "treasury")}
        keys |= {pid: keypair_from_seed(seed, f"participant-{pid}") for pid in participants}
        accounts = Accounts(market, grid, payment, {pid: k.pubkey() for pid, k in keys.items()})
        addresses = [grid, payment]
        for pid, key in keys.items():
            for mint in (grid, payment):
                account = chain.token_account(key.pubkey(), mint)
                addresses.append(account)
                if pid != TREASURY:
                    chain.approve(key, account, MAX_AMOUNT)
        tables: tuple[Pubkey, ...] = ()
        if lookup_tables:
            step = MAX_LOOKUP_TABLE_ADDRESSES
            tables = tuple(chain.create_lookup_table(addresses[i : i + step]) for i in range(0, len(addresses), step))
        return cls(chain, accounts, keys, tables)

    def wallet(self, participant: int) -> Pubkey:
        return self.keys[participant].pubkey()

    def mint_grid(self, participant: int, units: int) -> None:
        """Issues `units` GRID base units to a participant (metered generation)."""
        self.chain.mint_to(self.accounts.mints[GRID], self.accounts.account(participant, GRID), units)

    def deposit(self, participant: int, units: int) -> None:
        """Issues payment tokens to a participant (a test or demo faucet)."""
        self.chain.mint_to(self.accounts.mints[PAYMENT], self.accounts.account(participant, PAYMENT), units)

    def balances(self) -> dict[tuple[str, int], int]:
        """Every (mint, participant)'s token balance on chain."""
        keys = [(mint, pid) for pid in sorted(self.keys) for mint in (GRID, PAYMENT)]
        amounts = self.chain.token_balances([self.accounts.account(pid, mint) for mint, pid in keys])
        return dict(zip(keys, amounts, strict=True))

    def settler(self, *, netting: bool = False) -> ChainSettler:
        return ChainSettler(self.chain, self.accounts, netting=netting, lookup_tables=self.lookup_tables)

    def funds(self) -> ChainFunds:
        return ChainFunds(self.chain, self.accounts)


__all__ = ["Venue"]
