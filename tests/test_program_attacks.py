"""The registry, governance, the oracle and energy_token against the Solana attack classes (issue 9):
for each instruction, one refusal test per class that applies, each asserting that nothing changed
(every watched account's bytes, owner and lamports) and that the unaltered instruction would have
gone through (simulated, committing nothing). The trading program's are tests/test_trading_attacks.py.

Classes: sig a signer's account passed unsigned; own an account the program reads, owned by another
program (in place: its own address and bytes); sub every account replaced by another of its kind
(another participant's, meter's or config's, a forged copy of a config naming the attacker, a
foreign mint or token account); pda an account at its seeds' address under another bump or under
another program; cos an account of each other type (and a wallet) where a typed one goes; ini
reinitialisation; dup one account in two writable places; cpi another program where a CPI target
goes (the System or token program's, energy_token's; a copy of the real code at another address
among them); clo closing and revival; pre lamports sent to a program address before its creation;
ovf counters, totals and amounts at u64::MAX, readings at the extremes.

Cells: `+` tested here; `=` tested already where COVERED below says (test_the_matrix_is_whole
checks that those tests exist); a letter: n/a, for the reason below the table. The table drives
the tests: each class's test runs for the instructions whose cell is `+`.

    instruction                      sig own sub pda cos ini dup cpi clo pre ovf
    registry.initialize               +   a   +   +   +   =   +   +   c   =   d
    registry.register_participant     =   +   +   +   +   =   +   +   c   +   +
    registry.suspend_participant      =   +   =   +   +   b   e   f   c   b   g
    registry.reactivate_participant   +   +   +   +   +   b   e   f   c   b   g
    registry.register_meter           =   +   +   +   +   =   +   +   c   +   +
    registry.add_authority            =   +   =   +   +   b   e   f   c   b   h
    registry.remove_authority         +   +   +   +   +   b   e   f   c   b   h
    governance.initialize             =   a   =   +   +   =   +   =   c   =   i
    governance.set_parameters         =   +   =   +   +   b   e   f   c   b   i
    governance.pause                  =   =   =   +   +   b   e   f   c   b   g
    governance.unpause                =   +   =   +   +   b   e   f   c   b   g
    governance.add_authority          =   +   =   +   +   b   e   f   c   b   h
    governance.remove_authority       =   +   =   +   +   b   e   f   c   b   h
    oracle.initialize                 =   +   +   +   +   =   +   +   c   +   j
    oracle.set_operators              +   +   +   +   +   b   e   f   c   b   j
    oracle.set_limits                 =   +   +   +   +   b   e   f   c   b   j
    oracle.register_meter             =   +   +   +   +   =   +   +   c   +   d
    oracle.submit_reading             =   +   =   +   +   k   +   +   c   b   +
    energy_token.initialize           =   +   =   +   +   =   +   +   c   +   d
    energy_token.mint_for_reading     =   s   s   s   s   b   s   s   c   b   s
    energy_token.burn                 =   +   +   +   +   b   +   +   c   b   +

    a: it creates its one account and reads none: nothing but this program can own an account at
       an address only it signs for, and its signers are wallets.
    b: it creates no account.
    c: nothing in these programs closes an account or takes lamports out of one: nothing to revive.
    d: no arithmetic: it stores keys, ids and the clock.
    e: it writes one account: there is no second one to alias.
    f: no CPI.
    g: it sets a flag: no arithmetic.
    h: no arithmetic: four authority slots, a fifth refused (TooManyAuthorities).
    i: no arithmetic: fee_bps, a u16, is at most 10,000 (InvalidFeeBps).
    j: no arithmetic: the limits and operators are stored; what they bound is summed by
       submit_reading (its ovf).
    k: it creates no account; the same reading twice is ReplayedReading (test_program_energy.py).
    s: it runs only as submit_reading's CPI (a direct call is NotOracle or 3010: its sig cell); its
       accounts are submit_reading's, whose tests here forge, replace, alias and overflow each of
       them and see energy_token refuse.

Accounts checked by address (the configs, the registry, energy_token's mint authority, the
oracle's signer) refuse any other account as 2006, whatever its type: their `cos` cells check
that. The registry's participants and meters and the oracle's meters are identified by owner and
type (and the id they hold): only their program creates them, and only at the canonical address
(each creating instruction's `pda` cell), so a copy at a non-canonical bump cannot exist; their
`pda` cells put one at the same seeds under another program.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import pytest
from program_harness import (
    ENERGY_ID,
    GOVERNANCE_CONFIG,
    GOVERNANCE_ID,
    I64_MIN,
    MINT_AUTHORITY,
    ORACLE_ID,
    PROGRAM_IDS,
    REGISTRY,
    REGISTRY_ID,
    ROOT,
    T0,
    U64_MAX,
    Ledger,
    cached_program,
    field_offset,
    other_bump,
    pda,
    without_signer,
)
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from gridmatch.chain import programs
from gridmatch.chain.spl import TOKEN_PROGRAM_ID, associated_token_address

DEPLOYER = programs.deployer()
ORACLE_CONFIG = pda([b"oracle"], ORACLE_ID)
ORACLE_SIGNER = pda([b"oracle_signer"], ORACLE_ID)
ENERGY_CONFIG = pda([b"energy_config"], ENERGY_ID)
KWH = 10**9
PER_READING = 100 * KWH
PER_SECOND = 2_777_778  # about 10 kW
HOUR = 3_600

# --- the matrix ------------------------------------------------------------------------------------

CLASSES = ("sig", "own", "sub", "pda", "cos", "ini", "dup", "cpi", "clo", "pre", "ovf")


def _matrix() -> dict[str, dict[str, str]]:
    rows = re.findall(r"^ {4}(\w+\.\w+)((?: +\S+){11})$", __doc__ or "", flags=re.M)
    return {name: dict(zip(CLASSES, cells.split(), strict=True)) for name, cells in rows}


MATRIX = _matrix()
REASONS = set(re.findall(r"^ {4}(\w): ", __doc__ or "", flags=re.M))


def here(column: str) -> list[str]:
    return [name for name, cells in MATRIX.items() if cells[column] == "+"]


#: The `=` cells: the tests that already refuse that class for that instruction (file::test).
COVERED = {
    ("registry.initialize", "ini"): "test_programs_toolchain.py::test_initialize_twice_and_register_twice_are_refused",
    ("registry.initialize", "pre"): (
        "test_programs_toolchain.py::test_a_prefunded_registry_address_is_still_initialised_by_the_deployer_alone"
    ),
    ("registry.register_participant", "sig"): (
        "test_programs_toolchain.py::test_an_authority_that_did_not_sign_is_refused_and_changes_nothing"
    ),
    ("registry.register_participant", "ini"): (
        "test_programs_toolchain.py::test_initialize_twice_and_register_twice_are_refused"
    ),
    ("registry.suspend_participant", "sig"): "test_programs_toolchain.py::test_suspension_refusals_change_nothing",
    ("registry.suspend_participant", "sub"): "test_programs_toolchain.py::test_suspension_refusals_change_nothing",
    ("registry.register_meter", "sig"): "test_programs_toolchain.py::test_register_meter_refusals_change_nothing",
    ("registry.register_meter", "ini"): "test_programs_toolchain.py::test_register_meter_refusals_change_nothing",
    ("registry.add_authority", "sig"): "test_programs_toolchain.py::test_authority_rotation_refusals_change_nothing",
    ("registry.add_authority", "sub"): "test_programs_toolchain.py::test_authority_rotation_refusals_change_nothing",
    ("governance.initialize", "sig"): "test_program_governance.py::test_initialize_refusals_change_nothing",
    ("governance.initialize", "sub"): "test_program_governance.py::test_initialize_refusals_change_nothing",
    ("governance.initialize", "ini"): "test_program_governance.py::test_initialize_refusals_change_nothing",
    ("governance.initialize", "cpi"): "test_program_governance.py::test_initialize_refusals_change_nothing",
    ("governance.initialize", "pre"): (
        "test_program_governance.py::test_a_prefunded_config_address_is_still_initialised_by_the_deployer_alone"
    ),
    ("governance.pause", "own"): (
        "test_program_governance.py::test_a_config_at_the_right_address_but_not_governance_s_is_refused"
    ),
    **{
        (f"governance.{name}", column): (
            "test_program_governance.py::test_every_instruction_refuses_a_wrong_signer_and_a_wrong_config"
        )
        for name in ("set_parameters", "pause", "unpause", "add_authority", "remove_authority")
        for column in ("sig", "sub")
    },
    ("oracle.initialize", "sig"): "test_program_energy.py::test_oracle_initialize_refusals_change_nothing",
    ("oracle.initialize", "ini"): "test_program_energy.py::test_oracle_initialize_refusals_change_nothing",
    ("oracle.set_limits", "sig"): "test_program_energy.py::test_governance_rotates_operators_and_sets_limits",
    ("oracle.register_meter", "sig"): "test_program_energy.py::test_register_meter",
    ("oracle.register_meter", "ini"): "test_program_energy.py::test_register_meter",
    ("oracle.submit_reading", "sig"): "test_program_energy.py::test_a_reading_by_anyone_but_an_operator_is_refused",
    ("oracle.submit_reading", "sub"): (
        "test_program_energy.py::test_a_reading_with_a_wrong_account_is_refused_and_mints_nothing"
    ),
    ("energy_token.initialize", "sig"): "test_program_energy.py::test_energy_initialize_refusals_change_nothing",
    ("energy_token.initialize", "sub"): "test_program_energy.py::test_energy_initialize_refusals_change_nothing",
    ("energy_token.initialize", "ini"): "test_program_energy.py::test_energy_initialize_refusals_change_nothing",
    ("energy_token.mint_for_reading", "sig"): (
        "test_program_energy.py::test_mint_for_reading_called_directly_is_refused"
    ),
    ("energy_token.burn", "sig"): "test_program_energy.py::test_burn_refusals_change_nothing",
}


def test_the_matrix_is_whole(world: World):
    """Every instruction of the four programs has a row; every cell is `+`, `=` with the existing
    test that covers it, or a reason; the explicit tables below cover exactly the `+` cells."""
    instructions = {
        f"{program}.{snake_name}"
        for program in ("registry", "governance", "oracle", "energy_token")
        for snake_name in (p.stem for p in (ROOT / "programs" / program / "src" / "instructions").glob("*.rs"))
        if snake_name != "mod"
    }
    assert set(MATRIX) == instructions
    for name, cells in MATRIX.items():
        for column, cell in cells.items():
            assert cell in ("+", "=") or cell in REASONS, (name, column, cell)
            assert (cell == "=") == ((name, column) in COVERED), (name, column)
    for reference in set(COVERED.values()):
        path, test = reference.split("::")
        assert f"\ndef {test}(" in (ROOT / "tests" / path).read_text(), reference
    tables = {"sub": substitutes(world), "dup": duplicates(world), "pre": prefunded(world), "ovf": OVERFLOWS}
    for column, table in tables.items():
        assert set(table) == set(here(column)), column
    assert set(SLOTS) == set(MATRIX) - {"energy_token.mint_for_reading"}


# --- what each account of each instruction is checked by -------------------------------------------


@dataclass(frozen=True)
class Slot:
    """How the program `checker` (the one that refuses a wrong account there) knows the account:
    `created` (it creates it: the address must be empty), `pinned` (by address), `typed` (by
    owner and type), `token` (an SPL token account), `grid` (GRID, by energy_token's config),
    `fresh_mint` (a mint energy_token's initialize inspects), `registry_meter` (the oracle's check
    of the registry's meter). `type` is the account type expected or created."""

    kind: str
    checker: str
    type: str | None = None


def created(checker: str, type_: str) -> Slot:
    return Slot("created", checker, type_)


def pinned(checker: str, type_: str | None) -> Slot:
    return Slot("pinned", checker, type_)


def typed(checker: str, type_: str) -> Slot:
    return Slot("typed", checker, type_)


_REGISTRY = pinned("registry", "Registry")
_GOVERNANCE = pinned("governance", "GovernanceConfig")
_ORACLE_ADMIN = {"config": pinned("oracle", "OracleConfig"), "governance_config": pinned("oracle", "GovernanceConfig")}

SLOTS: dict[str, dict[str, Slot]] = {
    "registry.initialize": {"registry": created("registry", "Registry")},
    "registry.register_participant": {"registry": _REGISTRY, "participant": created("registry", "Participant")},
    "registry.suspend_participant": {"registry": _REGISTRY, "participant": typed("registry", "Participant")},
    "registry.reactivate_participant": {"registry": _REGISTRY, "participant": typed("registry", "Participant")},
    "registry.register_meter": {
        "registry": _REGISTRY,
        "meter": created("registry", "RegistryMeter"),
        "participant": typed("registry", "Participant"),
    },
    "registry.add_authority": {"registry": _REGISTRY},
    "registry.remove_authority": {"registry": _REGISTRY},
    "governance.initialize": {"config": created("governance", "GovernanceConfig")},
    **{
        f"governance.{name}": {"config": _GOVERNANCE}
        for name in ("set_parameters", "pause", "unpause", "add_authority", "remove_authority")
    },
    "oracle.initialize": {
        "config": created("oracle", "OracleConfig"),
        "governance_config": pinned("oracle", "GovernanceConfig"),
    },
    "oracle.set_operators": _ORACLE_ADMIN,
    "oracle.set_limits": _ORACLE_ADMIN,
    "oracle.register_meter": {"config": pinned("oracle", "OracleConfig"), "meter": created("oracle", "OracleMeter")},
    "oracle.submit_reading": {
        "config": pinned("oracle", "OracleConfig"),
        "meter": typed("oracle", "OracleMeter"),
        "registry_meter": Slot("registry_meter", "oracle", "RegistryMeter"),
        "energy_config": pinned("energy_token", "EnergyConfig"),
        "governance_config": pinned("energy_token", "GovernanceConfig"),
        "mint": Slot("grid", "energy_token", "Mint"),
        "destination": Slot("token", "oracle", "TokenAccount"),
        "participant": typed("energy_token", "Participant"),
        "mint_authority": pinned("energy_token", None),
        "oracle_signer": pinned("oracle", None),
    },
    "energy_token.initialize": {
        "config": created("energy_token", "EnergyConfig"),
        "mint": Slot("fresh_mint", "energy_token", "Mint"),
        "mint_authority": pinned("energy_token", None),
        "governance_config": pinned("energy_token", "GovernanceConfig"),
    },
    "energy_token.burn": {
        "config": pinned("energy_token", "EnergyConfig"),
        "mint": Slot("grid", "energy_token", "Mint"),
        "source": Slot("token", "energy_token", "TokenAccount"),
    },
}
#: Which program owns each account type.
TYPE_OWNER = {
    "GovernanceConfig": GOVERNANCE_ID,
    "Registry": REGISTRY_ID,
    "Participant": REGISTRY_ID,
    "RegistryMeter": REGISTRY_ID,
    "OracleConfig": ORACLE_ID,
    "OracleMeter": ORACLE_ID,
    "EnergyConfig": ENERGY_ID,
    "Mint": TOKEN_PROGRAM_ID,
    "TokenAccount": TOKEN_PROGRAM_ID,
    "Wallet": SYSTEM_PROGRAM_ID,
}
CHECKERS = {**PROGRAM_IDS, "token": TOKEN_PROGRAM_ID}
#: The program whose address of the same seeds a `pda` test uses, for each program.
FOREIGN = {REGISTRY_ID: ORACLE_ID, ORACLE_ID: REGISTRY_ID, GOVERNANCE_ID: ENERGY_ID, ENERGY_ID: GOVERNANCE_ID}
#: The instructions that create a program's one account of its type, and its address.
SINGLETONS = {
    "registry.initialize": REGISTRY,
    "governance.initialize": GOVERNANCE_CONFIG,
    "oracle.initialize": ORACLE_CONFIG,
    "energy_token.initialize": ENERGY_CONFIG,
}


# --- the world -------------------------------------------------------------------------------------


@dataclass
class Person:
    """A wallet; when registered, its participant, GRID token account and meter id."""

    keypair: Keypair
    participant: Pubkey
    grid: Pubkey
    meter_id: int = 0

    @property
    def key(self) -> Pubkey:
        return self.keypair.pubkey()


@dataclass
class Call:
    """An instruction to send: its program's name, itself, its accounts' names (the IDL's order)
    and who signs it."""

    program: str
    ix: Instruction
    names: list[str]
    signers: list[Keypair] = field(default_factory=list)

    def address(self, account: str) -> Pubkey:
        return self.ix.accounts[self.names.index(account)].pubkey


class World(Ledger):
    """The four programs deployed and set up through their own instructions: governance and the
    registry initialised by the deployer, `admin` and `admin2` the authorities of both; GRID (a
    raw mint whose authority is energy_token's) named by energy_token's initialize; the oracle with
    operators `op` and `op2`; prosumers alice and bob (a reading minted each 1 kWh), carol a consumer,
    dave a suspended prosumer, each with a GRID account and, the prosumers, a meter in the
    registry and the oracle; a stranger with a wallet and a GRID account; a foreign mint (also
    energy_token's mint authority's: anyone can make one) and alice's account of it; forged copies
    of every config and of the registry naming the stranger; the clock an hour after T0."""

    def __init__(self) -> None:
        super().__init__("registry", "governance", "energy_token", "oracle")
        self.seeds: dict[Pubkey, tuple[list[bytes], Pubkey]] = {}
        for seeds, program in (
            ([b"registry"], REGISTRY_ID),
            ([b"governance"], GOVERNANCE_ID),
            ([b"oracle"], ORACLE_ID),
            ([b"oracle_signer"], ORACLE_ID),
            ([b"energy_config"], ENERGY_ID),
            ([b"mint_authority"], ENERGY_ID),
        ):
            self.watch(self.address(seeds, program))
        self.set_time(T0)
        self.admin, self.admin2 = self.wallet(), self.wallet()
        self.op, self.op2 = self.wallet(), self.wallet()
        self.newcomer = Keypair().pubkey()  # registered by no one yet
        self.grid = self.new_mint(9, MINT_AUTHORITY)
        self.fresh_grid = self.new_mint(9, MINT_AUTHORITY)  # what a valid energy_token.initialize names
        self.fake_grid = self.new_mint(9, MINT_AUTHORITY)
        self.alice, self.bob = self.person(1), self.person(2)
        self.carol, self.dave, self.stranger = self.person(0), self.person(4), self.person(0)
        self.alice_fake = self.new_token_account(self.fake_grid, self.alice.key, 0)
        for name in ("governance.initialize", "registry.initialize", "oracle.initialize"):
            self.commit(name)
        self.commit("energy_token.initialize", mint=self.grid)
        for name in ("registry.add_authority", "governance.add_authority"):
            self.commit(name, args=[self.admin2.pubkey()])
        people = ((self.alice, "Prosumer"), (self.bob, "Prosumer"), (self.carol, "Consumer"), (self.dave, "Prosumer"))
        for person, kind in people:
            self.register(person, kind)
        self.commit("registry.suspend_participant", participant=self.dave.participant)
        self.set_time(T0 + 600)
        for person in (self.alice, self.bob):
            accounts = {
                "meter": self.meter(ORACLE_ID, person.meter_id),
                "registry_meter": self.meter(REGISTRY_ID, person.meter_id),
                "participant": person.participant,
                "destination": person.grid,
            }
            self.commit("oracle.submit_reading", args=[person.meter_id, T0 + 600, KWH], **accounts)
        self.set_time(T0 + HOUR)
        self.forged = {
            address: self.forge(address, field_offset(program, type_, first), bytes(replacement))
            for address, program, type_, first, replacement in (
                (REGISTRY, "registry", "Registry", "authorities", self.stranger.key),
                (GOVERNANCE_CONFIG, "governance", "GovernanceConfig", "authorities", self.stranger.key),
                (ORACLE_CONFIG, "oracle", "OracleConfig", "operators", self.stranger.key),
                (ENERGY_CONFIG, "energy_token", "EnergyConfig", "mint", self.fake_grid),
            )
        }
        self.fake_token = self.deployed_copy(TOKEN_PROGRAM_ID)
        self.fake_energy = Keypair().pubkey()
        self.svm.add_program(self.fake_energy, cached_program("energy_token"))

    # -- setting up ------------------------------------------------------------------------------

    def address(self, seeds: list[bytes], program: Pubkey) -> Pubkey:
        """The program address of `seeds`, remembered for the `pda` tests."""
        address = pda(seeds, program)
        self.seeds[address] = (seeds, program)
        return address

    def commit(self, name: str, **kwargs: Any) -> None:
        """Sends `call(name, **kwargs)`, which must go through."""
        call = self.call(name, **kwargs)
        sent = self.send([call.ix], *call.signers)
        assert sent.ok, (name, sent.logs)

    def person(self, meter_id: int) -> Person:
        """A wallet, its participant's address, its GRID account and meter `meter_id` (0: none)."""
        keypair = self.wallet()
        participant = self.address([b"participant", bytes(keypair.pubkey())], REGISTRY_ID)
        self.watch(participant)
        grid = associated_token_address(keypair.pubkey(), self.grid)
        return Person(keypair, participant, self.new_token_account(self.grid, keypair.pubkey(), 0, grid), meter_id)

    def register(self, person: Person, kind: str) -> None:
        """`person` registered as a participant of `kind`, and its meter in the registry and the oracle."""
        kind_arg = getattr(self.program["registry"].type["ParticipantKind"], kind)()
        self.commit("registry.register_participant", args=[kind_arg], participant=person.participant, owner=person.key)
        if person.meter_id:
            registry_meter, oracle_meter = (
                self.meter(REGISTRY_ID, person.meter_id),
                self.meter(ORACLE_ID, person.meter_id),
            )
            self.commit(
                "registry.register_meter", args=[person.meter_id], participant=person.participant, meter=registry_meter
            )
            self.commit("oracle.register_meter", args=[person.meter_id], prosumer=person.key, meter=oracle_meter)

    def meter(self, program: Pubkey, meter_id: int) -> Pubkey:
        """The registry's or the oracle's (`program`'s) meter `meter_id`."""
        address = self.address([b"meter", struct.pack("<Q", meter_id)], program)
        self.watch(address)
        return address

    def forge(self, address: Pubkey, offset: int, replacement: bytes) -> Pubkey:
        """A copy of the account at `address`, at another address and owned by the same program,
        with `replacement` written at `offset` (the first authority or operator, or the mint)."""
        account = self.account(address)
        assert account is not None
        data = bytearray(account.data)
        data[offset : offset + len(replacement)] = replacement
        forged = Keypair().pubkey()
        self.put(forged, bytes(data), account.owner)
        return forged

    def deployed_copy(self, program: Pubkey) -> Pubkey:
        """`program`'s code at another address."""
        real = self.account(program)
        assert real is not None and real.executable
        copy = Keypair().pubkey()
        self.svm.set_account(copy, Account(real.lamports, bytes(real.data), real.owner, True, 0))
        return copy

    # -- instructions ---------------------------------------------------------------------------

    def spec(self, name: str) -> tuple[list[Any], dict[str, Pubkey], list[Keypair]]:
        """Instruction `name` as it would go through (its singleton's account absent, for an
        initialize): its arguments, accounts and signers."""
        admin, op, alice = self.admin, self.op, self.alice
        signed = {"authority": admin.pubkey()}
        system = {"system_program": SYSTEM_PROGRAM_ID}
        registry = {"registry": REGISTRY, **signed}
        governance = {"config": GOVERNANCE_CONFIG, **signed}
        oracle = {"config": ORACLE_CONFIG, "governance_config": GOVERNANCE_CONFIG, **signed}
        prosumer = self.program["registry"].type["ParticipantKind"].Prosumer()
        new_meter = 90
        specs: dict[str, tuple[list[Any], dict[str, Pubkey], list[Keypair]]] = {
            "registry.initialize": ([], {**registry, "deployer": DEPLOYER.pubkey(), **system}, [admin, DEPLOYER]),
            "registry.register_participant": (
                [prosumer],
                {
                    **registry,
                    "participant": self.address([b"participant", bytes(self.newcomer)], REGISTRY_ID),
                    "owner": self.newcomer,
                    **system,
                },
                [admin],
            ),
            "registry.suspend_participant": ([], {**registry, "participant": self.bob.participant}, [admin]),
            "registry.reactivate_participant": ([], {**registry, "participant": self.dave.participant}, [admin]),
            "registry.register_meter": (
                [new_meter],
                {**registry, "meter": self.meter(REGISTRY_ID, new_meter), "participant": alice.participant, **system},
                [admin],
            ),
            "registry.add_authority": ([self.newcomer], registry, [admin]),
            "registry.remove_authority": ([self.admin2.pubkey()], registry, [admin]),
            "governance.initialize": ([25], {**governance, "deployer": DEPLOYER.pubkey(), **system}, [admin, DEPLOYER]),
            "governance.set_parameters": ([30], governance, [admin]),
            "governance.pause": ([], governance, [admin]),
            "governance.unpause": ([], governance, [admin]),
            "governance.add_authority": ([self.newcomer], governance, [admin]),
            "governance.remove_authority": ([self.admin2.pubkey()], governance, [admin]),
            "oracle.initialize": (
                [[op.pubkey(), self.op2.pubkey()], PER_READING, PER_SECOND],
                {**oracle, **system},
                [admin],
            ),
            "oracle.set_operators": ([[op.pubkey()]], oracle, [admin]),
            "oracle.set_limits": ([PER_READING, PER_SECOND], oracle, [admin]),
            "oracle.register_meter": (
                [new_meter],
                {
                    "config": ORACLE_CONFIG,
                    "meter": self.meter(ORACLE_ID, new_meter),
                    "prosumer": alice.key,
                    "operator": op.pubkey(),
                    **system,
                },
                [op],
            ),
            "oracle.submit_reading": (
                [1, T0 + HOUR, KWH],
                {
                    "config": ORACLE_CONFIG,
                    "meter": self.meter(ORACLE_ID, 1),
                    "registry_meter": self.meter(REGISTRY_ID, 1),
                    "operator": op.pubkey(),
                    "energy_config": ENERGY_CONFIG,
                    "governance_config": GOVERNANCE_CONFIG,
                    "mint": self.grid,
                    "destination": alice.grid,
                    "participant": alice.participant,
                    "mint_authority": MINT_AUTHORITY,
                    "oracle_signer": ORACLE_SIGNER,
                    "energy_token_program": ENERGY_ID,
                    "token_program": TOKEN_PROGRAM_ID,
                },
                [op],
            ),
            "energy_token.initialize": (
                [],
                {
                    "config": ENERGY_CONFIG,
                    "mint": self.fresh_grid,
                    "mint_authority": MINT_AUTHORITY,
                    "governance_config": GOVERNANCE_CONFIG,
                    **signed,
                    **system,
                },
                [admin],
            ),
            "energy_token.burn": (
                [1],
                {
                    "config": ENERGY_CONFIG,
                    "mint": self.grid,
                    "source": alice.grid,
                    "owner": alice.key,
                    "token_program": TOKEN_PROGRAM_ID,
                },
                [alice.keypair],
            ),
        }
        return specs[name]

    def call(
        self, name: str, *, args: list[Any] | None = None, signers: tuple[Keypair, ...] = (), **overrides: Pubkey
    ) -> Call:
        """Instruction `name` as `spec` has it, with `args` instead of its arguments, any account
        swapped by `overrides`, signed by its signers still among its accounts and `signers`."""
        program, ix_name = name.split(".")
        default_args, accounts, default_signers = self.spec(name)
        ix = self.instruction(
            program, ix_name, *(default_args if args is None else args), accounts=accounts, overrides=overrides
        )
        keys = {m.pubkey for m in ix.accounts if m.is_signer}
        kept = [s for s in default_signers if s.pubkey() in keys]
        return Call(program, ix, self.account_names(program, ix_name), [*kept, *signers])

    # -- checks ---------------------------------------------------------------------------------

    def ready(self, name: str) -> AbstractContextManager[None]:
        """The world where `name` would go through: its singleton's account absent for an
        initialize."""
        return self.replaced(SINGLETONS[name], absent=True) if name in SINGLETONS else nullcontext()

    def refuse(self, call: Call, code: int | None, checker: str, *extra: Pubkey) -> None:
        """`call` refused with `code` (None: any) by `checker` (a program's name, or "token"),
        changing nothing (`extra` watched too)."""
        self.refused([call.ix], call.signers, code, *extra, failed=CHECKERS[checker])

    def assert_valid(self, name: str) -> None:
        call = self.call(name)
        sent = self.simulate([call.ix], *call.signers)
        assert sent.ok, (name, sent.logs[-6:])

    def types(self) -> dict[str, Pubkey]:
        """One account of each type there is now (a singleton an initialize test removed is not)."""
        kinds = {
            "GovernanceConfig": GOVERNANCE_CONFIG,
            "Registry": REGISTRY,
            "Participant": self.alice.participant,
            "RegistryMeter": self.meter(REGISTRY_ID, 1),
            "OracleConfig": ORACLE_CONFIG,
            "OracleMeter": self.meter(ORACLE_ID, 1),
            "EnergyConfig": ENERGY_CONFIG,
            "Mint": self.grid,
            "TokenAccount": self.alice.grid,
            "Wallet": self.stranger.key,
        }
        return {kind: address for kind, address in kinds.items() if not self.closed(address)}

    @contextmanager
    def u64_at(self, address: Pubkey, offset: int, value: int) -> Iterator[None]:
        """Within the block, the account at `address` holds the u64 `value` at `offset`."""
        data = bytearray(self.account(address).data)  # type: ignore[union-attr]
        data[offset : offset + 8] = struct.pack("<Q", value)
        with self.replaced(address, bytes(data)):
            yield


@pytest.fixture(scope="module")
def world() -> World:
    """One world for the module: a refusal changes nothing, a baseline is only simulated, and what
    a test alters it restores."""
    return World()


# --- missing signer --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", here("sig"))
def test_missing_signer(world: World, name: str):
    """Each signer's account passed unsigned (the fee paid by another): 3010."""
    with world.ready(name):
        call = world.call(name)
        assert call.signers
        for signer in call.signers:
            ix = without_signer(call.ix, signer.pubkey())
            others = [s for s in call.signers if s != signer]
            world.refuse(Call(call.program, ix, call.names, others), 3010, call.program)
        world.assert_valid(name)


# --- wrong owner -----------------------------------------------------------------------------------

#: What an account of the right bytes at the right address but owned by another program is refused
#: with: 3007 where the program checks the owner; UnregisteredMeter where the oracle checks the
#: registry's meter; GRID's mint energy_token knows by address, and the token program refuses.
OWNED_ELSEWHERE = {"pinned": 3007, "typed": 3007, "token": 3007, "fresh_mint": 3007, "registry_meter": 6012}


def other_owners(owner: Pubkey) -> list[Pubkey]:
    """The System program (as any program that could hold such bytes) and one of these programs."""
    return [o for o in (SYSTEM_PROGRAM_ID, ORACLE_ID if owner != ORACLE_ID else REGISTRY_ID) if o != owner]


@pytest.mark.parametrize("name", here("own"))
def test_wrong_owner(world: World, name: str):
    """Each account the instruction reads, its own bytes at its own address, owned by another
    program: refused, nothing changed."""
    with world.ready(name):
        call = world.call(name)
        forged = 0
        for account, slot in SLOTS[name].items():
            address = call.address(account)
            real = world.account(address)
            if slot.kind == "created" or real is None or world.closed(address):
                continue
            for owner in other_owners(real.owner):
                with world.replaced(address, owner=owner):
                    if slot.kind == "grid":
                        world.refuse(call, None, "token")
                    else:
                        world.refuse(call, OWNED_ELSEWHERE[slot.kind], slot.checker)
                forged += 1
        assert forged
        world.assert_valid(name)


# --- account substitution --------------------------------------------------------------------------


@dataclass
class Sub:
    """Accounts swapped (`overrides`), who signs in place of a swapped signer, and the refusal."""

    overrides: dict[str, Pubkey]
    code: int | None
    checker: str
    signers: tuple[Keypair, ...] = ()


def _by(person: Keypair, account: str, code: int, checker: str) -> Sub:
    """`person` signing as `account`."""
    return Sub({account: person.pubkey()}, code, checker, (person,))


def substitutes(w: World) -> dict[str, list[Sub]]:
    """For each instruction, its accounts replaced by others of their kind: another participant's,
    meter's or config's (a forged copy naming the stranger, signed by the stranger), a foreign
    mint or token account, someone who is not the authority or operator."""
    stranger, alice = w.stranger.keypair, w.alice.keypair
    registry_forged = Sub(
        {"registry": w.forged[REGISTRY], "authority": stranger.pubkey()}, 2006, "registry", (stranger,)
    )
    governance_forged = Sub(
        {"governance_config": w.forged[GOVERNANCE_CONFIG], "authority": stranger.pubkey()}, 2006, "oracle", (stranger,)
    )
    oracle_admin = [
        Sub({"config": w.forged[ORACLE_CONFIG]}, 2006, "oracle"),
        governance_forged,
        _by(w.op, "authority", 6000, "oracle"),  # an operator does not administer
    ]
    return {
        "registry.initialize": [
            Sub({"registry": pda([b"registry", b"2"], REGISTRY_ID)}, 2006, "registry"),
            _by(stranger, "deployer", 6010, "registry"),
        ],
        "registry.register_participant": [
            registry_forged,
            Sub({"participant": pda([b"participant", bytes(Keypair().pubkey())], REGISTRY_ID)}, 2006, "registry"),
            Sub({"owner": w.bob.key}, 2006, "registry"),  # the newcomer's address, bob named
            _by(alice, "authority", 6000, "registry"),
        ],
        "registry.reactivate_participant": [registry_forged, _by(alice, "authority", 6000, "registry")],
        "registry.register_meter": [
            registry_forged,
            Sub({"meter": w.meter(REGISTRY_ID, 91)}, 2006, "registry"),  # meter 91's address for id 90
            Sub({"participant": w.dave.participant}, 6009, "registry"),  # suspended
            _by(alice, "authority", 6000, "registry"),
        ],
        "registry.remove_authority": [registry_forged, _by(alice, "authority", 6000, "registry")],
        "oracle.initialize": [
            Sub({"config": pda([b"oracle", b"2"], ORACLE_ID)}, 2006, "oracle"),
            governance_forged,
            _by(w.op, "authority", 6000, "oracle"),
        ],
        "oracle.set_operators": oracle_admin,
        "oracle.set_limits": oracle_admin,
        "oracle.register_meter": [
            Sub({"config": w.forged[ORACLE_CONFIG], "operator": stranger.pubkey()}, 2006, "oracle", (stranger,)),
            Sub({"meter": w.meter(ORACLE_ID, 91)}, 2006, "oracle"),
            _by(w.admin, "operator", 6001, "oracle"),  # a governance authority is no operator
        ],
        "energy_token.burn": [
            Sub({"config": w.forged[ENERGY_CONFIG], "mint": w.fake_grid, "source": w.alice_fake}, 2006, "energy_token"),
            Sub({"mint": w.fake_grid}, 6004, "energy_token"),
            Sub({"source": w.alice_fake}, 6004, "energy_token"),
            Sub({"source": w.bob.grid}, 4, "token"),  # bob's GRID, alice signing: OwnerMismatch
            _by(stranger, "owner", 4, "token"),
        ],
    }


#: Accounts whose replacement is the instruction's purpose, not an attack: the deployer names any
#: first authority, an authority reactivates or gives a meter to whichever participant it names,
#: an operator registers a meter for any prosumer (the registry's meter binds it to one).
LEGITIMATE = {
    ("registry.initialize", "authority"),
    ("registry.reactivate_participant", "participant"),
    ("oracle.register_meter", "prosumer"),
}


@pytest.mark.parametrize("name", here("sub"))
def test_account_substitution(world: World, name: str):
    """Every account replaced by another of its kind: refused, nothing changed."""
    with world.ready(name):
        replaced: set[str] = set()
        for sub in substitutes(world)[name]:
            world.refuse(world.call(name, signers=sub.signers, **sub.overrides), sub.code, sub.checker)
            replaced |= set(sub.overrides)
        names = {n for n in world.call(name).names if not n.endswith("_program")}
        missing = names - replaced - {a for n, a in LEGITIMATE if n == name}
        assert not missing, f"{name}: no substitution of {missing}"
        world.assert_valid(name)


# --- non-canonical bump, foreign program address --------------------------------------------------

PDA_CODE = {"created": 2006, "pinned": 2006, "typed": 3007, "registry_meter": 6012}


@pytest.mark.parametrize("name", here("pda"))
def test_non_canonical_bump_and_foreign_program_address(world: World, name: str):
    """Each account at a program address, put at its seeds' address under another bump and under
    another program (a copy of its bytes there, owned by that program, where it exists): refused.
    An account the program knows by owner and type only at the other program's address (see the
    module's docstring)."""
    with world.ready(name):
        call = world.call(name)
        cases = 0
        for account, slot in SLOTS[name].items():
            address = call.address(account)
            if address not in world.seeds:
                continue
            seeds, program = world.seeds[address]
            foreign = FOREIGN[program]
            places = [(pda(seeds, foreign), foreign)]
            if slot.kind != "typed":
                places.append((other_bump(seeds, program), program))
            real = world.account(address)
            for where, owner in places:
                copy = slot.kind != "created" and real is not None and world.closed(where)
                if slot.kind == "created":
                    assert world.closed(where)
                with world.replaced(where, bytes(real.data), owner) if copy else nullcontext():  # type: ignore[union-attr]
                    world.refuse(world.call(name, **{account: where}), PDA_CODE[slot.kind], slot.checker, where)
                cases += 1
        assert cases
        world.assert_valid(name)


# --- type cosplay ----------------------------------------------------------------------------------


def cosplay_code(world: World, slot: Slot, given: Pubkey) -> int:
    """What an account of another type is refused with where `slot` expects its type."""
    account = world.account(given)
    assert account is not None
    owner = account.owner
    if slot.kind == "created":  # an account that exists: this program's (3000), another's (3011)
        if owner == PROGRAM_IDS[slot.checker]:
            return 3000
        return 2006 if owner == SYSTEM_PROGRAM_ID and not bytes(account.data) else 3011
    if slot.kind == "typed":
        return 3002 if owner == TYPE_OWNER[slot.type or ""] else 3007
    if slot.kind == "token":  # a mint is the token program's too, but too short
        return 3003 if owner == TOKEN_PROGRAM_ID else 3007
    if slot.kind == "fresh_mint":  # a token account is long enough, and is no fresh GRID mint
        return 6003 if owner == TOKEN_PROGRAM_ID else 3007
    return {"pinned": 2006, "grid": 6004, "registry_meter": 6012}[slot.kind]


@pytest.mark.parametrize("name", here("cos"))
def test_type_cosplay(world: World, name: str):
    """Every account of a type (or one the instruction creates) replaced by an account of each
    other type there is, and a wallet: refused, nothing changed."""
    with world.ready(name):
        slots = [(account, slot) for account, slot in SLOTS[name].items() if slot.type is not None]
        assert slots
        for account, slot in slots:
            for given, address in world.types().items():
                if given != slot.type:
                    code = cosplay_code(world, slot, address)
                    world.refuse(world.call(name, **{account: address}), code, slot.checker)
        world.assert_valid(name)


# --- duplicate mutable accounts --------------------------------------------------------------------


def duplicates(w: World) -> dict[str, list[Sub]]:
    """For each instruction with two writable accounts, one of them passed in the other's place."""
    admin, op = w.admin.pubkey(), w.op.pubkey()
    meter, grid = w.meter(ORACLE_ID, 1), w.grid
    return {
        "registry.initialize": [Sub({"registry": admin}, 2006, "registry")],  # the payer as what it pays for
        "registry.register_participant": [
            Sub({"participant": REGISTRY}, 3000, "registry"),
            Sub({"participant": admin}, 2006, "registry"),
            Sub({"registry": admin}, 2006, "registry"),
        ],
        "registry.register_meter": [
            Sub({"meter": REGISTRY}, 3000, "registry"),
            Sub({"meter": admin}, 2006, "registry"),
            Sub({"registry": admin}, 2006, "registry"),
        ],
        "governance.initialize": [Sub({"config": admin}, 2006, "governance")],
        "oracle.initialize": [Sub({"config": admin}, 2006, "oracle")],
        "oracle.register_meter": [Sub({"meter": op}, 2006, "oracle")],
        "oracle.submit_reading": [
            Sub({"meter": ORACLE_CONFIG}, 3002, "oracle"),
            Sub({"energy_config": ORACLE_CONFIG}, 2006, "energy_token"),
            Sub({"mint": ORACLE_CONFIG}, 6004, "energy_token"),
            Sub({"destination": ORACLE_CONFIG}, 3007, "oracle"),
            Sub({"energy_config": meter}, 2006, "energy_token"),
            Sub({"mint": meter}, 6004, "energy_token"),
            Sub({"destination": meter}, 3007, "oracle"),
            Sub({"mint": ENERGY_CONFIG}, 6004, "energy_token"),
            Sub({"destination": ENERGY_CONFIG}, 3007, "oracle"),
            Sub({"destination": grid}, 3003, "oracle"),
        ],
        "energy_token.initialize": [Sub({"config": admin}, 2006, "energy_token")],
        "energy_token.burn": [
            Sub({"mint": ENERGY_CONFIG}, 6004, "energy_token"),
            Sub({"source": ENERGY_CONFIG}, 3007, "energy_token"),
            Sub({"source": grid}, 3003, "energy_token"),
        ],
    }


@pytest.mark.parametrize("name", here("dup"))
def test_duplicate_mutable_accounts(world: World, name: str):
    """Each pair of writable accounts (the payer included), one passed for both: refused."""
    with world.ready(name):
        for sub in duplicates(world)[name]:
            call = world.call(name, **sub.overrides)
            ((_, address),) = sub.overrides.items()
            assert [m.pubkey for m in call.ix.accounts if m.is_writable].count(address) == 2
            world.refuse(call, sub.code, sub.checker)
        world.assert_valid(name)


# --- arbitrary CPI targets -------------------------------------------------------------------------


@pytest.mark.parametrize("name", here("cpi"))
def test_arbitrary_cpi_target(world: World, name: str):
    """Each program an instruction invokes (the System program, the token program, energy_token)
    replaced by another: a copy of the token program's or energy_token's code at another address,
    another of the programs: 3008 (the token program energy_token invokes for the oracle is
    energy_token's to refuse)."""
    fakes = (world.fake_token, world.fake_energy, GOVERNANCE_ID, SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID, ENERGY_ID)
    with world.ready(name):
        call = world.call(name)
        targets = [account for account in call.names if account.endswith("_program")]
        assert targets
        for account in targets:
            checker = "energy_token" if (name, account) == ("oracle.submit_reading", "token_program") else call.program
            for fake in fakes:
                if fake != call.address(account):
                    world.refuse(world.call(name, **{account: fake}), 3008, checker)
        world.assert_valid(name)


# --- pre-funded program addresses ------------------------------------------------------------------


def prefunded(w: World) -> dict[str, tuple[str, Sub]]:
    """The account each instruction creates, and someone who may not create it."""
    alice, stranger = w.alice.keypair, w.stranger.keypair
    return {
        "registry.register_participant": ("participant", _by(alice, "authority", 6000, "registry")),
        "registry.register_meter": ("meter", _by(alice, "authority", 6000, "registry")),
        "oracle.initialize": ("config", _by(w.op, "authority", 6000, "oracle")),
        "oracle.register_meter": ("meter", _by(w.admin, "operator", 6001, "oracle")),
        "energy_token.initialize": ("config", _by(stranger, "authority", 6000, "energy_token")),
    }


@pytest.mark.parametrize("name", here("pre"))
def test_pre_funded_addresses_are_created_by_the_right_signer_only(name: str):
    """Lamports sent to the address of what the instruction creates, beforehand: someone else is
    still refused, changing nothing; the right signer creates it, of its size and type, paying
    only the shortfall to rent exemption."""
    world = World()
    account, impostor = prefunded(world)[name]
    with world.ready(name):
        call = world.call(name)
        address = call.address(account)
        world.fund(address, 1_000)
        world.refuse(world.call(name, signers=impostor.signers, **impostor.overrides), impostor.code, impostor.checker)
        payer = call.signers[0].pubkey()
        before = world.lamports(payer)
        sent = world.send([call.ix], *call.signers)
        assert sent.ok, sent.logs
        type_ = SLOTS[name][account].type or ""
        idl_name = "Meter" if type_.endswith("Meter") else type_
        size = world.program[call.program].account[idl_name].size
        rent = world.svm.minimum_balance_for_rent_exemption(size)
        created_account = world.account(address)
        assert created_account is not None
        assert (created_account.owner, len(created_account.data), created_account.lamports) == (
            PROGRAM_IDS[call.program],
            size,
            rent,
        )
        assert type(world.decode(address)).__name__ == idl_name
        assert before - world.lamports(payer) == rent - 1_000


# --- overflow --------------------------------------------------------------------------------------

#: Where a mint's supply is (SPL Token's layout: the mint authority option, then the supply).
MINT_SUPPLY = 36


def _counter_overflows(world: World, name: str, field: str) -> None:
    """The registry's count `field` at u64::MAX: CountOverflow; one below, the instruction goes through."""
    offset = field_offset("registry", "Registry", field)
    with world.u64_at(REGISTRY, offset, U64_MAX):
        world.refuse(world.call(name), 6001, "registry")
    with world.u64_at(REGISTRY, offset, U64_MAX - 1):
        world.assert_valid(name)


def _reading_overflows(world: World, name: str) -> None:
    """Every total a reading adds to at its edge (the oracle's and its meter's count and energy,
    energy_token's minted total, GRID's supply), and readings at the extremes of energy, time and
    rate."""
    oracle_meter = world.meter(ORACLE_ID, 1)
    minted = world.u64_at(ENERGY_CONFIG, field_offset("energy_token", "EnergyConfig", "total_minted"), U64_MAX)
    supply = int(struct.unpack_from("<Q", bytes(world.account(world.grid).data), MINT_SUPPLY)[0])  # type: ignore[union-attr]
    full = [
        (world.u64_at(ORACLE_CONFIG, field_offset("oracle", "OracleConfig", "reading_count"), U64_MAX), 6011, "oracle"),
        (world.u64_at(ORACLE_CONFIG, field_offset("oracle", "OracleConfig", "total_energy"), U64_MAX), 6011, "oracle"),
        (world.u64_at(oracle_meter, field_offset("oracle", "Meter", "reading_count"), U64_MAX), 6011, "oracle"),
        (world.u64_at(oracle_meter, field_offset("oracle", "Meter", "total_energy"), U64_MAX), 6011, "oracle"),
        (minted, 6009, "energy_token"),
        (world.u64_at(world.grid, MINT_SUPPLY, U64_MAX), None, "token"),
    ]
    for context, code, checker in full:
        with context:
            world.refuse(world.call(name), code, checker)
    now = world.now()
    for args, code in (
        ([1, now, U64_MAX], 6008),  # above the maximum a reading
        ([1, 2**63 - 1, 1], 6006),  # after the clock
        ([1, I64_MIN, 1], 6005),  # before the last
    ):
        world.refuse(world.call(name, args=args), code, "oracle")
    limits = field_offset("oracle", "OracleConfig", "max_energy_per_reading")
    rate = field_offset("oracle", "OracleConfig", "max_energy_per_second")
    last = field_offset("oracle", "Meter", "last_timestamp")
    # No bound at all: elapsed * per_second is far past u64, and what the supply has room for is
    # accepted; a unit more overflows GRID's supply, which the token program refuses.
    with world.u64_at(ORACLE_CONFIG, limits, U64_MAX), world.u64_at(ORACLE_CONFIG, rate, U64_MAX):
        room = U64_MAX - supply
        assert world.simulate([world.call(name, args=[1, now, room]).ix], world.op).ok
        world.refuse(world.call(name, args=[1, now, room + 1]), None, "token")
        # One unit a second since i64::MIN: 2^63 and more seconds, and u64::MAX is still above it.
        with world.u64_at(ORACLE_CONFIG, rate, 1), world.u64_at(oracle_meter, last, I64_MIN % 2**64):
            world.refuse(world.call(name, args=[1, now, U64_MAX]), 6009, "oracle")
            assert world.simulate([world.call(name, args=[1, now, now - I64_MIN]).ix], world.op).ok


def _burn_overflows(world: World, name: str) -> None:
    """energy_token's burned total at its edge: Overflow; more than the balance: the token program."""
    with world.u64_at(ENERGY_CONFIG, field_offset("energy_token", "EnergyConfig", "total_burned"), U64_MAX):
        world.refuse(world.call(name), 6009, "energy_token")
    world.refuse(world.call(name, args=[U64_MAX]), 1, "token")  # InsufficientFunds


OVERFLOWS = {
    "registry.register_participant": lambda w, n: _counter_overflows(w, n, "participant_count"),
    "registry.register_meter": lambda w, n: _counter_overflows(w, n, "meter_count"),
    "oracle.submit_reading": _reading_overflows,
    "energy_token.burn": _burn_overflows,
}


@pytest.mark.parametrize("name", here("ovf"))
def test_overflow(world: World, name: str):
    """Counters, totals and amounts at u64::MAX and the extremes: refused, nothing changed."""
    with world.ready(name):
        OVERFLOWS[name](world, name)
        world.assert_valid(name)
