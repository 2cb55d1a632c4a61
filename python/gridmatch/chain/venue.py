"""`Venue`: a market's footing on a chain. Creates the GRID mint (the market's GRID decimals) and
a payment mint, and every participant's and the treasury's associated token accounts. Then, by
how the venue settles:

- `"delegate"` (the seed design): each participant approves the chain's authority, which moves
  committed funds at settlement; the epoch engine checks orders against holdings (`funds`).
- `"program"`: the trading program holds each order's funds in escrow from the moment it is
  accepted (`escrow`) and settles what the operator (the chain's authority) posts. The venue
  loads the registry, governance, trading, energy_token and oracle programs (embedded chain),
  sets up governance (the market's fee), the registry (every participant, with its kind), the
  market, energy_token (GRID's mint, whose authority is energy_token's address) and the oracle
  (the chain's authority its operator), registers each prosumer's meter with the registry and
  the oracle, and gives each wallet SOL for its orders' rent (returned with each claim). GRID
  is minted only by a meter reading the oracle accepts (`mint_grid`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from anchorpy.program.context import Context
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from gridmatch.chain import programs
from gridmatch.chain.base import MAX_AMOUNT, MAX_LOOKUP_TABLE_ADDRESSES, Chain, ChainRequestInvalid, keypair_from_seed
from gridmatch.chain.escrow import OrderEscrow, ProgramSettler
from gridmatch.chain.litesvm import LiteSVMChain
from gridmatch.chain.metering import GRID_DECIMALS, Metering, mint_authority, refusal
from gridmatch.chain.settler import Accounts, ChainFunds, ChainSettler
from gridmatch.chain.spl import check_amount
from gridmatch.chain.trading import TradingMarket
from gridmatch.errors import TransactionFailed
from gridmatch.market import Market
from gridmatch.participants import Role
from gridmatch.settlement import GRID, PAYMENT, TREASURY, pack

#: SOL a wallet gets in program mode: rent for its open orders (about 0.002 SOL each).
WALLET_LAMPORTS = 10**9
#: Epochs after its close within which an epoch must be settled; then anyone may abandon it
#: and every order claims its whole escrow back (the trading program's escape hatch).
SETTLE_DEADLINE_EPOCHS = 4


@dataclass
class Venue:
    chain: Chain
    accounts: Accounts
    #: Each participant's (and the treasury's) wallet keypair.
    keys: dict[int, Keypair]
    #: Address lookup tables holding the mints and every token account (program mode: the
    #: program's accounts, every wallet and registry entry too): with them a settlement
    #: transaction names each account in one byte instead of 32, so about three times as many
    #: transfers fit (then the 64-account limit binds, not the 1,232 bytes), and a placement
    #: transaction carries several orders.
    lookup_tables: tuple[Pubkey, ...] = ()
    #: The trading program's market, in program mode (None: delegate mode).
    trading: TradingMarket | None = None
    #: The oracle and energy_token, which alone mint GRID in program mode.
    metering: Metering | None = None

    @classmethod
    def create(
        cls,
        chain: Chain,
        market: Market,
        participants: Iterable[int] | Mapping[int, Role],
        *,
        seed: int = 0,
        grid_mint: Pubkey | None = None,
        payment_mint: Pubkey | None = None,
        lookup_tables: bool = True,
        settle: Literal["delegate", "program"] = "delegate",
        market_id: int = 1,
    ) -> Venue:
        """Sets up the market on `chain`: mints (new unless given), a wallet per participant
        (reproducible from `seed`), their token accounts, then what `settle` needs (see the
        module docstring; program mode takes `participants` as a mapping to their roles, and
        `market_id` names the program's market), and, with `lookup_tables`, tables of every
        address settlement names."""
        if settle not in ("delegate", "program"):
            raise ChainRequestInvalid(f"settle = {settle!r}: 'delegate' or 'program'", field="settle", value=settle)
        if settle == "program" and not isinstance(participants, Mapping):
            message = "program mode registers each participant with its kind: pass {id: Role}"
            raise ChainRequestInvalid(message, field="participants", value=participants)
        if settle == "program" and market.grid_decimals != GRID_DECIMALS:
            message = f"grid_decimals = {market.grid_decimals}: energy_token mints GRID with {GRID_DECIMALS}"
            raise ChainRequestInvalid(message, field="grid_decimals", value=market.grid_decimals)
        # In program mode only energy_token's address may mint GRID, from the first unit on.
        grid_authority = mint_authority() if settle == "program" else None
        grid = grid_mint or chain.create_mint(market.grid_decimals, mint_authority=grid_authority)
        payment = payment_mint or chain.create_mint(market.payment_decimals)
        keys = {TREASURY: keypair_from_seed(seed, "treasury")}
        keys |= {pid: keypair_from_seed(seed, f"participant-{pid}") for pid in participants}
        accounts = Accounts(market, grid, payment, {pid: k.pubkey() for pid, k in keys.items()})
        addresses = [grid, payment]
        for pid, key in keys.items():
            for mint in (grid, payment):
                account = chain.token_account(key.pubkey(), mint)
                addresses.append(account)
                if pid != TREASURY and settle == "delegate":
                    chain.approve(key, account, MAX_AMOUNT)
        trading = metering = None
        if isinstance(participants, Mapping) and settle == "program":
            trading, metering = _program_market(chain, market, accounts, keys, participants, market_id)
            wallets = [k.pubkey() for k in keys.values()]
            addresses += trading.static_addresses() + wallets + [trading.participant(w) for w in wallets]
        tables: tuple[Pubkey, ...] = ()
        if lookup_tables:
            step = MAX_LOOKUP_TABLE_ADDRESSES
            tables = tuple(chain.create_lookup_table(addresses[i : i + step]) for i in range(0, len(addresses), step))
        return cls(chain, accounts, keys, tables, trading, metering)

    def wallet(self, participant: int) -> Pubkey:
        return self.keys[participant].pubkey()

    def mint_grid(self, participant: int, units: int, *, at: int | None = None) -> None:
        """Issues `units` GRID base units to a participant (metered generation).

        Delegate mode: the chain's authority mints them (`at` is not used). Program mode: the
        oracle's operator submits the participant's meter reading of `units` at `at` (unix
        seconds), which the oracle mints by CPI if it is plausible; on LiteSVM the clock moves
        forward to `at` first, and `at` defaults to one epoch after the clock (a live chain
        needs `at`). A refused reading raises `ReadingRefused` (a `TransactionFailed`, naming
        the program's error) and mints nothing."""
        self.mint_grids({participant: units}, at=at)

    def mint_grids(self, units: Mapping[int, int], *, at: int | None = None) -> None:
        """`mint_grid` for several participants, their readings all at `at` and sent in as few
        transactions as fit (program mode). Every amount is checked before anything is sent; a
        refused reading raises its `ReadingRefused` once the readings before it are minted, and
        none after it is sent."""
        if self.metering is None:
            for participant, amount in units.items():
                self.chain.mint_to(self.accounts.mints[GRID], self.accounts.account(participant, GRID), amount)
            return
        energies = {participant: check_amount(amount) for participant, amount in units.items()}
        if not energies:
            return
        timestamp = self._reading_time(at)
        metering, tables = self.metering, self.lookup_tables
        readings = [(participant, metering.meter_id(participant), energy) for participant, energy in energies.items()]
        ixs = [
            metering.reading_ix(meter, self.wallet(p), self.accounts.account(p, GRID), timestamp, energy)
            for p, meter, energy in readings
        ]
        for i, j in pack(len(ixs), lambda i, j: self.chain.fits(ixs[i:j], lookup_tables=tables)):
            try:
                self.chain.send(ixs[i:j], lookup_tables=tables)
            except TransactionFailed:
                for (participant, meter, energy), ix in zip(readings[i:j], ixs[i:j], strict=True):
                    try:  # whose reading was refused? each alone
                        self.chain.send([ix], lookup_tables=tables)
                    except TransactionFailed as exc:
                        context = f"participant {participant}'s reading of meter {meter} ({energy} at {timestamp})"
                        raise refusal(exc, context) from exc

    def _reading_time(self, at: int | None) -> int:
        if at is not None and (isinstance(at, bool) or not isinstance(at, int)):
            raise ChainRequestInvalid(f"at = {at!r}: a reading's time is whole unix seconds", field="at", value=at)
        if not isinstance(self.chain, LiteSVMChain):
            if at is None:
                raise ChainRequestInvalid("a reading on a live chain needs its time (at)", field="at", value=at)
            return at
        # LiteSVM's clock stands still: a reading is "not in the future" only once it has moved.
        if at is None:
            at = self.chain.unix_time() + self.accounts.market.epoch_seconds
        self.chain.advance_clock(at)
        return at

    def deposit(self, participant: int, units: int) -> None:
        """Issues payment tokens to a participant (a test or demo faucet)."""
        self.chain.mint_to(self.accounts.mints[PAYMENT], self.accounts.account(participant, PAYMENT), units)

    def balances(self) -> dict[tuple[str, int], int]:
        """Every (mint, participant)'s token balance on chain."""
        keys = [(mint, pid) for pid in sorted(self.keys) for mint in (GRID, PAYMENT)]
        amounts = self.chain.token_balances([self.accounts.account(pid, mint) for mint, pid in keys])
        return dict(zip(keys, amounts, strict=True))

    def settler(self, *, netting: bool = False) -> ChainSettler | ProgramSettler:
        """The epoch engine's settler (program mode settles per fill: `netting` does not apply)."""
        if self.trading is not None:
            wallets = {pid: key.pubkey() for pid, key in self.keys.items()}
            return ProgramSettler(self.chain, self.trading, wallets, lookup_tables=self.lookup_tables)
        return ChainSettler(self.chain, self.accounts, netting=netting, lookup_tables=self.lookup_tables)

    def funds(self) -> ChainFunds | None:
        """The engine's funds check (delegate mode; in program mode placing the order checks)."""
        return None if self.trading is not None else ChainFunds(self.chain, self.accounts)

    def escrow(self) -> OrderEscrow | None:
        """The engine's escrow (program mode)."""
        if self.trading is None:
            return None
        return OrderEscrow(self.chain, self.trading, self.keys, lookup_tables=self.lookup_tables)


def _program_market(
    chain: Chain,
    market: Market,
    accounts: Accounts,
    keys: Mapping[int, Keypair],
    roles: Mapping[int, Role],
    market_id: int,
) -> tuple[TradingMarket, Metering]:
    """Governance, the registry, the market of the trading program, energy_token and the
    oracle, the chain's authority administering them all, operating the market and the oracle;
    each prosumer's meter registered with the registry and the oracle."""
    if isinstance(chain, LiteSVMChain):
        programs.deploy(chain, ("registry", "governance", "trading", "energy_token", "oracle"))
    authority = chain.authority.pubkey()
    trading = TradingMarket(
        market,
        market_id=market_id,
        operator=authority,
        grid_mint=accounts.mints[GRID],
        payment_mint=accounts.mints[PAYMENT],
        treasury=accounts.account(TREASURY, PAYMENT),
    )
    governance, registry = programs.client("governance"), programs.client("registry")
    registry_address = Pubkey.find_program_address([b"registry"], programs.program_id("registry"))[0]
    system = {"system_program": SYSTEM_PROGRAM_ID}
    # The deployer signs the first initialize of each; the chain's authority becomes their authority.
    deployer = programs.deployer()
    first = {"authority": authority, "deployer": deployer.pubkey(), **system}
    setup = [
        governance.instruction["initialize"](
            market.fee_bps, ctx=Context(accounts={"config": trading.governance, **first})
        ),
        registry.instruction["initialize"](ctx=Context(accounts={"registry": registry_address, **first})),
        trading.initialize_ix(authority, settle_deadline=SETTLE_DEADLINE_EPOCHS * market.epoch_seconds),
    ]
    chain.send(setup, signers=[deployer])
    metering = Metering(grid_mint=accounts.mints[GRID], operator=authority, market_id=market_id)
    chain.send(metering.initialize_ixs(authority))
    kinds = registry.type["ParticipantKind"]
    for pid, role in roles.items():
        if role not in (Role.CONSUMER, Role.PROSUMER):
            continue  # only traders are in the registry
        wallet = keys[pid].pubkey()
        chain.fund(wallet, WALLET_LAMPORTS)
        kind = kinds.Prosumer() if role == Role.PROSUMER else kinds.Consumer()
        ctx = Context(
            accounts={
                "registry": registry_address,
                "participant": trading.participant(wallet),
                "owner": wallet,
                "authority": authority,
                **system,
            }
        )
        register = [registry.instruction["register_participant"](kind, ctx=ctx)]
        if role == Role.PROSUMER:
            register += metering.register_meter_ixs(metering.meter_id(pid), wallet, authority)
        chain.send(register)
    return trading, metering


__all__ = ["Venue"]
