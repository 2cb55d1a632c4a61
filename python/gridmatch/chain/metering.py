"""The metering programs' client (programs/oracle and programs/energy_token): their addresses,
their instructions built from their IDLs with anchorpy, the bounds of a plausible reading, and
the refusal of a reading read back from the chain's error.

GRID comes into existence only here: an oracle operator submits a meter's reading, the oracle
checks it (later than the meter's last, not in the future, within the maxima per reading and
per second; the meter admitted by the registry as the prosumer's) and mints it by CPI into
energy_token, whose program address is the GRID mint's only authority.

Addresses: energy_token's config `["energy_config"]` and mint authority `["mint_authority"]`;
the oracle's config `["oracle"]`, its CPI signer `["oracle_signer"]` and a meter
`["meter", meter_id]`; the registry's meter `["meter", meter_id]` and participant
`["participant", owner]`; governance's config `["governance"]`.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from anchorpy.program.context import Context
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from gridmatch.chain import programs
from gridmatch.chain.base import ChainRequestInvalid
from gridmatch.chain.spl import TOKEN_PROGRAM_ID
from gridmatch.chain.trading import TradingMarket
from gridmatch.errors import TransactionFailed

#: GRID base units per kWh: energy_token admits only a 9-decimal mint (1 GRID = 1 kWh).
GRID_DECIMALS = 9
KWH = 10**GRID_DECIMALS
#: The largest reading the oracle admits: 10 kWh. A campus prosumer's array is at most 10 kWp
#: (`CampusConfig.kwp_range`), 2.5 kWh in a 15-minute epoch at full sun; the simulated year's
#: largest surplus is about 1.6 kWh. Four times the physical peak leaves room for a reading that
#: covers a missed epoch or a bigger roof, and still refuses a misplaced decimal.
MAX_ENERGY_PER_READING = 10 * KWH
#: The fastest the oracle admits energy: 40 kW (four 10 kWp arrays), in base units a second,
#: rounded up so that a full epoch (900 s) admits a full `MAX_ENERGY_PER_READING`.
MAX_ENERGY_PER_SECOND = -(-40 * KWH // 3600)

_U64 = struct.Struct("<Q")
#: Anchor's own error numbers the programs use for accounts (programs/README.md, "Wire format"):
#: what a reading of a meter never registered, or of a wrong account, is refused with.
_ANCHOR_ERRORS = {
    2006: "ConstraintSeeds",
    3002: "AccountDiscriminatorMismatch",
    3007: "AccountOwnedByWrongProgram",
    3010: "AccountNotSigner",
    3012: "AccountNotInitialized",
}
#: The innermost failing program's custom error, as LiteSVM and validators log it.
_CUSTOM_ERROR = re.compile(r"Program (\w+) failed: custom program error: 0x([0-9a-fA-F]+)")


def meter_of(market_id: int, participant: int) -> int:
    """The meter of `participant` in market `market_id`: the market in the high 32 bits, so that
    markets sharing the registry never share a meter."""
    for name, value in (("market_id", market_id), ("participant", participant)):
        if not 0 <= value < 2**32:
            raise ChainRequestInvalid(f"{name} = {value}: a meter id holds 0 .. 2^32 - 1", field=name, value=value)
    return market_id << 32 | participant


def _pda(program: str, *seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), programs.program_id(program))[0]


class ReadingRefused(TransactionFailed):
    """The chain refused a meter reading (nothing was minted, the meter did not advance).
    `field` is "reading"; `value` is the refusing program's error name (its IDL's), or the
    chain's message when it names none; `program` and `code` say who refused and how."""

    def __init__(self, message: str, *, program: str | None, code: int | None, value: object) -> None:
        super().__init__(message, field="reading", value=value)
        self.program = program
        self.code = code


def refusal(exc: TransactionFailed, context: str) -> ReadingRefused:
    """`exc` (a failed reading's transaction) as a `ReadingRefused` naming the program error."""
    text = str(exc.value if exc.value is not None else exc)
    by_id = {str(programs.program_id(name)): name for name in ("oracle", "energy_token")}
    match = _CUSTOM_ERROR.search(str(exc))
    if match is None or match.group(1) not in by_id:
        return ReadingRefused(f"{context} refused: {text}", program=None, code=None, value=text)
    program, code = by_id[match.group(1)], int(match.group(2), 16)
    names = _ANCHOR_ERRORS | {e.code: e.name for e in programs.idl(program).errors or []}
    name = names.get(code, f"error {code}")
    return ReadingRefused(f"{context} refused by {program}: {name} ({code})", program=program, code=code, value=name)


class Metering:
    """The oracle and energy_token as the venue of market `market_id` uses them: `operator`
    submits readings and registers meters; `grid_mint` is GRID."""

    def __init__(self, *, grid_mint: Pubkey, operator: Pubkey, market_id: int) -> None:
        self.grid_mint = grid_mint
        self.operator = operator
        self.market_id = market_id
        self.oracle = programs.client("oracle")
        self.energy = programs.client("energy_token")
        self.energy_config = _pda("energy_token", b"energy_config")
        #: GRID's mint authority: only energy_token signs for it, and only for the oracle.
        self.mint_authority = mint_authority()
        self.oracle_config = _pda("oracle", b"oracle")
        self.oracle_signer = _pda("oracle", b"oracle_signer")
        self.governance = _pda("governance", b"governance")
        self.registry = _pda("registry", b"registry")

    # -- addresses -----------------------------------------------------------------------

    def meter_id(self, participant: int) -> int:
        """The id of `participant`'s meter (whether or not it is registered)."""
        return meter_of(self.market_id, participant)

    @staticmethod
    def meter(meter_id: int) -> Pubkey:
        """The oracle's `Meter` of `meter_id`."""
        return _pda("oracle", b"meter", _U64.pack(meter_id))

    @staticmethod
    def registry_meter(meter_id: int) -> Pubkey:
        """The registry's `Meter` of `meter_id`: the oracle takes readings only of meters it admitted."""
        return _pda("registry", b"meter", _U64.pack(meter_id))

    # -- instructions --------------------------------------------------------------------

    @staticmethod
    def _ix(program: Any, name: str, *args: Any, accounts: dict[str, Pubkey]) -> Instruction:
        ix: Instruction = program.instruction[name](*args, ctx=Context(accounts=accounts))
        return ix

    def initialize_ixs(
        self,
        authority: Pubkey,
        *,
        per_reading: int = MAX_ENERGY_PER_READING,
        per_second: int = MAX_ENERGY_PER_SECOND,
    ) -> list[Instruction]:
        """energy_token named GRID's mint, and the oracle with `operator` as its one operator;
        `authority` is a governance authority and pays."""
        energy = {
            "config": self.energy_config,
            "mint": self.grid_mint,
            "mint_authority": self.mint_authority,
            "governance_config": self.governance,
            "authority": authority,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        oracle = {
            "config": self.oracle_config,
            "governance_config": self.governance,
            "authority": authority,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return [
            self._ix(self.energy, "initialize", accounts=energy),
            self._ix(self.oracle, "initialize", [self.operator], per_reading, per_second, accounts=oracle),
        ]

    def register_meter_ixs(self, meter_id: int, wallet: Pubkey, authority: Pubkey) -> list[Instruction]:
        """Meter `meter_id` admitted as `wallet`'s by the registry (`authority`, a registry
        authority, signs and pays), then registered with the oracle by `operator`."""
        registry = {
            "registry": self.registry,
            "meter": self.registry_meter(meter_id),
            "participant": TradingMarket.participant(wallet),
            "authority": authority,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        oracle = {
            "config": self.oracle_config,
            "meter": self.meter(meter_id),
            "prosumer": wallet,
            "operator": self.operator,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return [
            self._ix(programs.client("registry"), "register_meter", meter_id, accounts=registry),
            self._ix(self.oracle, "register_meter", meter_id, accounts=oracle),
        ]

    def reading_ix(self, meter_id: int, wallet: Pubkey, grid: Pubkey, timestamp: int, energy: int) -> Instruction:
        """`operator` submits meter `meter_id`'s reading: `energy` base units at `timestamp`
        (unix seconds), minted into `grid`, `wallet`'s GRID token account."""
        accounts = {
            "config": self.oracle_config,
            "meter": self.meter(meter_id),
            "registry_meter": self.registry_meter(meter_id),
            "operator": self.operator,
            "energy_config": self.energy_config,
            "governance_config": self.governance,
            "mint": self.grid_mint,
            "destination": grid,
            "participant": TradingMarket.participant(wallet),
            "mint_authority": self.mint_authority,
            "oracle_signer": self.oracle_signer,
            "energy_token_program": programs.program_id("energy_token"),
            "token_program": TOKEN_PROGRAM_ID,
        }
        return self._ix(self.oracle, "submit_reading", meter_id, timestamp, energy, accounts=accounts)


def mint_authority() -> Pubkey:
    """energy_token's mint-authority address, the GRID mint's authority in program mode."""
    return _pda("energy_token", b"mint_authority")


__all__ = [
    "GRID_DECIMALS",
    "KWH",
    "MAX_ENERGY_PER_READING",
    "MAX_ENERGY_PER_SECOND",
    "Metering",
    "ReadingRefused",
    "meter_of",
    "mint_authority",
    "refusal",
]
