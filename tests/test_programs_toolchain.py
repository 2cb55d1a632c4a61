"""The on-chain toolchain end to end: programs/registry, built to SBPF v0 by scripts/build-programs.sh
(`make programs`), loaded into LiteSVM and driven with anchorpy from its legacy (Anchor 0.29) IDL,
which must agree with the program on discriminators, layouts and error numbers. The registry's
instructions: participants and meters registered, participants suspended and reactivated, up to
four authorities rotated (never none); every refusal changes no account."""

from __future__ import annotations

import hashlib
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anchorpy import Context, Idl, Program, Provider, Wallet
from anchorpy.error import ProgramError
from solana.rpc.async_api import AsyncClient
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from gridmatch.chain import programs

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
SO = PROGRAMS / "target" / "deploy" / "registry.so"
IDL_JSON = PROGRAMS / "registry" / "idl.json"
BUILD_COMMAND = "make programs   (that is: scripts/build-programs.sh)"

#: Compute units each instruction measured when written (in the comments), with room
#: (programs/README.md). The registry's own address is a compile-time constant; a participant's and
#: a meter's are searched, 1,500 units per bump tried: the figures are at bump 255 (one try), and
#: each further bump tried is counted apart.
BUDGET = {
    "initialize": 3_000,  # 2,153
    "register_participant": 5_000,  # 3,991
    "register_meter": 5_500,  # 4,239
    "suspend_participant": 800,  # 419
    "reactivate_participant": 800,  # 421
    "add_authority": 1_000,  # 683
    "remove_authority": 1_000,  # 639
}
UNITS_PER_BUMP_TRIED = 1_500
ZERO = Pubkey.default()
#: The development deployer: the one key that may sign the registry's first `initialize`.
DEPLOYER = programs.deployer()


def _budget(instruction: str, bump: int = 255) -> int:
    return BUDGET[instruction] + UNITS_PER_BUMP_TRIED * (255 - bump)


def _program_bytes() -> bytes:
    """The built program, refusing a missing or stale one with the command that builds it."""
    if not SO.exists():
        pytest.fail(f"{SO.relative_to(ROOT)} is missing: build it with `{BUILD_COMMAND}`", pytrace=False)
    # What the registry is built from (cargo leaves an up-to-date .so untouched, so other programs'
    # files, or a lock file that gained their dependencies, say nothing about this one).
    sources = [PROGRAMS / ".cargo" / "config.toml"]
    for crate in ("registry", "support"):
        sources += [*(PROGRAMS / crate).glob("src/**/*.rs"), PROGRAMS / crate / "Cargo.toml"]
    newer = [p for p in sources if p.stat().st_mtime > SO.stat().st_mtime]
    if newer:
        names = ", ".join(str(p.relative_to(ROOT)) for p in newer[:3])
        pytest.fail(f"{SO.relative_to(ROOT)} is older than {names}: rebuild with `{BUILD_COMMAND}`", pytrace=False)
    return SO.read_bytes()


def test_the_program_is_built():
    """Fails (never skips) when the .so is missing, naming the command that builds it."""
    assert _program_bytes()[:4] == b"\x7fELF"


def test_the_program_is_an_sbpf_v0_shared_object():
    data = _program_bytes()
    ei_class, ei_data = data[4], data[5]
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    (e_flags,) = struct.unpack_from("<I", data, 48)
    assert (ei_class, ei_data) == (2, 1)  # ELF64, little-endian
    assert (e_type, e_machine) == (3, 247)  # ET_DYN, EM_BPF
    assert e_flags == 0  # SBPF v0


# --- the program in LiteSVM, driven by anchorpy ------------------------------------------------


def _sighash(namespace: str, name: str) -> bytes:
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass
class Sent:
    """What a transaction did: its error (None on success), Anchor error code, logs and compute units."""

    err: Any
    code: int | None
    logs: list[str]
    units: int


class Registry:
    """The registry program loaded into a fresh LiteSVM, with anchorpy building its instructions."""

    def __init__(self) -> None:
        raw = json.loads(IDL_JSON.read_text())
        self.idl = Idl.from_json(IDL_JSON.read_text())
        self.program_id = Pubkey.from_string(raw["metadata"]["address"])
        self.svm = LiteSVM()
        self.svm.add_program(self.program_id, _program_bytes())
        self.payer = Keypair()
        self.svm.airdrop(self.payer.pubkey(), 100 * 10**9)
        # anchorpy wants a provider; no request is ever sent to this address.
        provider = Provider(AsyncClient("http://127.0.0.1:9"), Wallet(self.payer))
        self.program = Program(self.idl, self.program_id, provider)
        self.idl_errors = {e.code: e.msg for e in self.idl.errors or []}
        self.registry = Pubkey.find_program_address([b"registry"], self.program_id)[0]

    def participant_address(self, owner: Pubkey) -> Pubkey:
        return Pubkey.find_program_address([b"participant", bytes(owner)], self.program_id)[0]

    def funded(self) -> Keypair:
        keypair = Keypair()
        self.svm.airdrop(keypair.pubkey(), 10 * 10**9)
        return keypair

    def send(self, ix: Instruction, signers: list[Keypair]) -> Sent:
        """Sends `ix` signed by `signers` (the first pays the fee); a fresh blockhash each time, so a
        deliberate repeat is not refused as already processed."""
        self.svm.expire_blockhash()
        tx = Transaction(signers, Message([ix], signers[0].pubkey()), self.svm.latest_blockhash())
        result = self.svm.send_transaction(tx)
        if isinstance(result, TransactionMetadata):
            return Sent(None, None, list(result.logs()), result.compute_units_consumed())
        assert isinstance(result, FailedTransactionMetadata)
        meta = result.meta()
        logs = list(meta.logs())
        parsed = ProgramError.parse_tx_error(result.err(), self.idl_errors, self.program_id, logs)
        return Sent(result.err(), parsed.code if parsed else None, logs, meta.compute_units_consumed())

    def initialize_ix(self, authority: Pubkey, deployer: Pubkey | None = None) -> Instruction:
        """`initialize` naming `authority` first authority, signed by `deployer` (the deployer's key)."""
        accounts = {
            "registry": self.registry,
            "authority": authority,
            "deployer": deployer or DEPLOYER.pubkey(),
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return self.program.instruction["initialize"](ctx=Context(accounts=accounts))

    def initialize(self) -> Sent:
        """The registry initialised by the deployer, `payer` its first authority."""
        return self.send(self.initialize_ix(self.payer.pubkey()), [self.payer, DEPLOYER])

    def register_ix(self, owner: Pubkey, authority: Pubkey, kind: str = "Prosumer") -> Instruction:
        accounts = {
            "registry": self.registry,
            "participant": self.participant_address(owner),
            "owner": owner,
            "authority": authority,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        kind_value = getattr(self.program.type["ParticipantKind"], kind)()
        return self.program.instruction["register_participant"](kind_value, ctx=Context(accounts=accounts))

    def meter_address(self, meter_id: int) -> Pubkey:
        return Pubkey.find_program_address([b"meter", meter_id.to_bytes(8, "little")], self.program_id)[0]

    def ix(self, name: str, *args: Any, **accounts: Pubkey) -> Instruction:
        return self.program.instruction[name](*args, ctx=Context(accounts=accounts))

    def status_ix(self, name: str, owner: Pubkey, authority: Pubkey) -> Instruction:
        """`suspend_participant` or `reactivate_participant` of `owner`'s participant."""
        accounts = {"registry": self.registry, "participant": self.participant_address(owner), "authority": authority}
        return self.ix(name, **accounts)

    def authority_ix(self, name: str, key: Pubkey, authority: Pubkey) -> Instruction:
        """`add_authority` or `remove_authority` of `key`."""
        return self.ix(name, key, registry=self.registry, authority=authority)

    def meter_ix(self, meter_id: int, owner: Pubkey, authority: Pubkey) -> Instruction:
        accounts = {
            "registry": self.registry,
            "meter": self.meter_address(meter_id),
            "participant": self.participant_address(owner),
            "authority": authority,
            "system_program": SYSTEM_PROGRAM_ID,
        }
        return self.ix("register_meter", meter_id, **accounts)

    def participant(self, kind: str = "Prosumer") -> Pubkey:
        """A newly registered participant's owner."""
        owner = Keypair().pubkey()
        sent = self.send(self.register_ix(owner, self.payer.pubkey(), kind), [self.payer])
        assert sent.err is None, sent.logs
        return owner

    def refused(self, ix: Instruction, signers: list[Keypair], code: int, *watched: Pubkey) -> Sent:
        """Sends what must be refused with `code`; asserts it was, and that `watched` did not change."""
        before = self.snapshot(*watched)
        sent = self.send(ix, signers)
        assert sent.err is not None and sent.code == code, (code, sent.code, sent.logs[-4:])
        assert self.snapshot(*watched) == before
        return sent

    def put(self, address: Pubkey, data: bytes, owner: Pubkey) -> None:
        """Writes an account directly (a forgery no program made)."""
        lamports = self.svm.minimum_balance_for_rent_exemption(len(data))
        self.svm.set_account(address, Account(lamports, data, owner, False, 0))

    def decode(self, address: Pubkey) -> Any:
        account = self.svm.get_account(address)
        assert account is not None, f"no account at {address}"
        return self.program.coder.accounts.decode(bytes(account.data))

    def snapshot(self, *addresses: Pubkey) -> dict[Pubkey, tuple[int, bytes, Pubkey] | None]:
        """Lamports, data and owner of each address (None where no account is)."""
        out: dict[Pubkey, tuple[int, bytes, Pubkey] | None] = {}
        for address in addresses:
            account = self.svm.get_account(address)
            out[address] = None if account is None else (account.lamports, bytes(account.data), account.owner)
        return out


def _without_signer(ix: Instruction, who: Pubkey) -> Instruction:
    """`ix` with `who` passed as an account that did not sign."""
    metas = [AccountMeta(m.pubkey, False, m.is_writable) if m.pubkey == who else m for m in ix.accounts]
    return Instruction(ix.program_id, ix.data, metas)


def _with_account(ix: Instruction, index: int, address: Pubkey) -> Instruction:
    """`ix` with its account at `index` replaced by `address` (same flags)."""
    metas = [AccountMeta(address, m.is_signer, m.is_writable) if i == index else m for i, m in enumerate(ix.accounts)]
    return Instruction(ix.program_id, ix.data, metas)


def _read_only(ix: Instruction, who: Pubkey) -> Instruction:
    """`ix` with `who` passed read-only."""
    metas = [AccountMeta(m.pubkey, m.is_signer, False) if m.pubkey == who else m for m in ix.accounts]
    return Instruction(ix.program_id, ix.data, metas)


def _at(clock: Any, unix_timestamp: int) -> Any:
    clock.unix_timestamp = unix_timestamp
    return clock


@pytest.fixture
def chain() -> Registry:
    return Registry()


@pytest.fixture
def initialized(chain: Registry) -> Registry:
    sent = chain.initialize()
    assert sent.err is None, sent.logs
    return chain


def test_initialize_creates_the_registry_with_its_authority(chain: Registry):
    sent = chain.initialize()
    assert sent.err is None, sent.logs
    assert sent.units <= _budget("initialize")
    assert "Program log: Instruction: Initialize" in sent.logs

    account = chain.svm.get_account(chain.registry)
    assert account is not None and account.owner == chain.program_id
    assert len(account.data) == chain.program.account["Registry"].size == 8 + 4 * 32 + 8 + 8 + 1
    assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(len(account.data))
    registry = chain.decode(chain.registry)
    assert registry.authorities == [chain.payer.pubkey(), ZERO, ZERO, ZERO]
    assert (registry.participant_count, registry.meter_count) == (0, 0)
    assert registry.bump == Pubkey.find_program_address([b"registry"], chain.program_id)[1]


def test_register_participant_creates_an_active_participant(initialized: Registry):
    chain = initialized
    clock = chain.svm.get_clock()
    clock.unix_timestamp = 1_767_225_600  # 2026-01-01T00:00:00Z
    chain.svm.set_clock(clock)
    owners = [Keypair().pubkey() for _ in range(3)]
    for n, (owner, kind) in enumerate(zip(owners, ["Prosumer", "Consumer", "Prosumer"], strict=True), start=1):
        sent = chain.send(chain.register_ix(owner, chain.payer.pubkey(), kind), [chain.payer])
        assert sent.err is None, sent.logs
        address = chain.participant_address(owner)
        participant = chain.decode(address)
        assert sent.units <= _budget("register_participant", participant.bump)
        assert participant.owner == owner
        assert type(participant.kind).__name__ == kind
        assert type(participant.status).__name__ == "Active"
        assert participant.registered_at == 1_767_225_600
        assert participant.bump == Pubkey.find_program_address([b"participant", bytes(owner)], chain.program_id)[1]
        account = chain.svm.get_account(address)
        assert account is not None and len(account.data) == chain.program.account["Participant"].size
        assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(len(account.data))
        assert chain.decode(chain.registry).participant_count == n


def test_a_signer_who_is_not_the_authority_is_refused_and_changes_nothing(initialized: Registry):
    chain = initialized
    impostor = chain.funded()
    owner = Keypair().pubkey()
    participant = chain.participant_address(owner)
    watched = (chain.registry, participant, owner, chain.payer.pubkey())
    before = chain.snapshot(*watched)

    sent = chain.send(chain.register_ix(owner, impostor.pubkey()), [impostor])

    assert sent.err is not None and sent.code == 6000
    assert chain.idl_errors[6000] == "The signer is not a registry authority"
    assert chain.snapshot(*watched) == before
    assert chain.svm.get_account(participant) is None


def test_an_authority_that_did_not_sign_is_refused_and_changes_nothing(initialized: Registry):
    chain = initialized
    fee_payer = chain.funded()
    owner = Keypair().pubkey()
    participant = chain.participant_address(owner)
    watched = (chain.registry, participant, owner, chain.payer.pubkey())
    before = chain.snapshot(*watched)

    ix = _without_signer(chain.register_ix(owner, chain.payer.pubkey()), chain.payer.pubkey())
    sent = chain.send(ix, [fee_payer])

    assert sent.err is not None and sent.code == 3010  # Anchor's AccountNotSigner
    assert chain.snapshot(*watched) == before


def test_only_the_deployer_initializes_the_registry(chain: Registry):
    """Whoever calls first does not become the registry's authority: the first initialize must be
    signed by the deployer the build names; it names the first authority, which pays."""
    impostor, fee_payer = chain.funded(), chain.funded()
    watched = (chain.registry, chain.payer.pubkey(), impostor.pubkey(), DEPLOYER.pubkey())
    by_impostor = chain.initialize_ix(impostor.pubkey(), impostor.pubkey())
    chain.refused(by_impostor, [fee_payer, impostor], 6010, *watched)  # NotDeployer
    for_payer = chain.initialize_ix(chain.payer.pubkey(), impostor.pubkey())
    chain.refused(for_payer, [fee_payer, chain.payer, impostor], 6010, *watched)
    unsigned = _without_signer(chain.initialize_ix(chain.payer.pubkey()), DEPLOYER.pubkey())
    chain.refused(unsigned, [fee_payer, chain.payer], 3010, *watched)
    assert chain.idl_errors[6010] == "initialize must be signed by the deployer"
    assert chain.svm.get_account(chain.registry) is None

    sent = chain.initialize()
    assert sent.err is None, sent.logs
    assert chain.decode(chain.registry).authorities == [chain.payer.pubkey(), ZERO, ZERO, ZERO]
    assert chain.svm.get_account(DEPLOYER.pubkey()) is None  # it signed, holds nothing and paid nothing


def test_a_prefunded_registry_address_is_still_initialised_by_the_deployer_alone(chain: Registry):
    chain.svm.airdrop(chain.registry, 1_000)
    impostor, fee_payer = chain.funded(), chain.funded()
    watched = (chain.registry, chain.payer.pubkey(), impostor.pubkey())
    chain.refused(chain.initialize_ix(impostor.pubkey(), impostor.pubkey()), [fee_payer, impostor], 6010, *watched)
    paid = chain.svm.get_balance(chain.payer.pubkey())

    sent = chain.initialize()
    assert sent.err is None, sent.logs
    account = chain.svm.get_account(chain.registry)
    rent = chain.svm.minimum_balance_for_rent_exemption(len(account.data))
    assert (account.lamports, account.owner) == (rent, chain.program_id)
    assert paid - chain.svm.get_balance(chain.payer.pubkey()) == rent - 1_000 + 5_000 * 2  # the shortfall, 2 signatures
    assert chain.decode(chain.registry).authorities == [chain.payer.pubkey(), ZERO, ZERO, ZERO]


def test_initialize_twice_and_register_twice_are_refused(initialized: Registry):
    chain = initialized
    before = chain.snapshot(chain.registry)
    again = chain.initialize()
    assert again.code == 3000  # AccountDiscriminatorAlreadySet
    assert chain.snapshot(chain.registry) == before
    impostor = chain.funded()
    chain.refused(chain.initialize_ix(impostor.pubkey(), impostor.pubkey()), [impostor], 6010, chain.registry)

    owner = Keypair().pubkey()
    assert chain.send(chain.register_ix(owner, chain.payer.pubkey()), [chain.payer]).err is None
    watched = (chain.registry, chain.participant_address(owner))
    before = chain.snapshot(*watched)
    twice = chain.send(chain.register_ix(owner, chain.payer.pubkey(), "Consumer"), [chain.payer])
    assert twice.code == 3000
    assert chain.snapshot(*watched) == before


def test_a_participant_at_the_wrong_address_is_refused(initialized: Registry):
    chain = initialized
    owner, other = Keypair().pubkey(), Keypair().pubkey()
    ix = chain.register_ix(owner, chain.payer.pubkey())
    wrong = chain.participant_address(other)
    metas = [AccountMeta(wrong, m.is_signer, m.is_writable) if i == 1 else m for i, m in enumerate(ix.accounts)]
    sent = chain.send(Instruction(ix.program_id, ix.data, metas), [chain.payer])
    assert sent.code == 2006  # ConstraintSeeds
    assert chain.svm.get_account(wrong) is None


# --- authorities -----------------------------------------------------------------------------


def test_authorities_are_added_up_to_four_and_removed_down_to_one(initialized: Registry):
    chain = initialized
    admin = chain.payer
    others = [chain.funded() for _ in range(4)]
    for n, other in enumerate(others[:3], start=2):
        sent = chain.send(chain.authority_ix("add_authority", other.pubkey(), admin.pubkey()), [admin])
        assert sent.err is None, sent.logs
        assert "Program log: Instruction: AddAuthority" in sent.logs
        assert chain.decode(chain.registry).authorities[n - 1] == other.pubkey()
    # A new authority acts as one: it registers a participant, and adds no fifth.
    owner = Keypair().pubkey()
    assert chain.send(chain.register_ix(owner, others[2].pubkey()), [others[2]]).err is None
    fifth = chain.authority_ix("add_authority", others[3].pubkey(), others[2].pubkey())
    chain.refused(fifth, [others[2]], 6002, chain.registry)

    # Any authority removes any other, itself included, until one is left.
    remove = chain.authority_ix("remove_authority", admin.pubkey(), others[0].pubkey())
    sent = chain.send(remove, [others[0]])
    assert sent.err is None, sent.logs
    assert "Program log: Instruction: RemoveAuthority" in sent.logs
    assert chain.decode(chain.registry).authorities == [ZERO, *(o.pubkey() for o in others[:3])]
    for other in others[:2]:
        assert chain.send(chain.authority_ix("remove_authority", other.pubkey(), other.pubkey()), [other]).err is None
    last = others[2]
    assert chain.decode(chain.registry).authorities == [ZERO, ZERO, ZERO, last.pubkey()]
    chain.refused(chain.authority_ix("remove_authority", last.pubkey(), last.pubkey()), [last], 6005, chain.registry)
    # A removed authority is no authority: it neither registers nor rotates.
    chain.refused(chain.register_ix(Keypair().pubkey(), admin.pubkey()), [admin], 6000, chain.registry)
    chain.refused(chain.authority_ix("add_authority", admin.pubkey(), admin.pubkey()), [admin], 6000, chain.registry)
    # The freed slot is reused.
    assert chain.send(chain.authority_ix("add_authority", admin.pubkey(), last.pubkey()), [last]).err is None
    assert chain.decode(chain.registry).authorities == [admin.pubkey(), ZERO, ZERO, last.pubkey()]


def test_authority_rotation_refusals_change_nothing(initialized: Registry):
    chain = initialized
    admin = chain.payer.pubkey()
    impostor = chain.funded()
    new = Keypair().pubkey()
    forged = Keypair().pubkey()  # a copy of the registry naming the impostor, at another address
    data = bytearray(chain.svm.get_account(chain.registry).data)
    data[8:40] = bytes(impostor.pubkey())
    chain.put(forged, bytes(data), chain.program_id)
    cases = [
        (chain.authority_ix("add_authority", new, impostor.pubkey()), [impostor], 6000),
        (chain.authority_ix("remove_authority", admin, impostor.pubkey()), [impostor], 6000),
        (_without_signer(chain.authority_ix("add_authority", new, admin), admin), [impostor], 3010),
        (chain.authority_ix("add_authority", admin, admin), [chain.payer], 6003),  # already one
        (chain.authority_ix("add_authority", ZERO, admin), [chain.payer], 6006),
        (chain.authority_ix("remove_authority", new, admin), [chain.payer], 6004),  # not one
        (chain.authority_ix("remove_authority", ZERO, admin), [chain.payer], 6004),
        (chain.authority_ix("remove_authority", admin, admin), [chain.payer], 6005),  # the last
        (_with_account(chain.authority_ix("add_authority", new, impostor.pubkey()), 0, forged), [impostor], 2006),
        (_read_only(chain.authority_ix("add_authority", new, admin), chain.registry), [chain.payer], 2000),
    ]
    for ix, signers, code in cases:
        chain.refused(ix, signers, code, chain.registry, forged)
    assert chain.decode(chain.registry).authorities == [admin, ZERO, ZERO, ZERO]


# --- suspension ---------------------------------------------------------------------------------


def test_suspend_and_reactivate_flip_the_status_once_each(initialized: Registry):
    chain = initialized
    owner = chain.participant()
    address = chain.participant_address(owner)
    before = bytes(chain.svm.get_account(address).data)
    admin = chain.payer

    sent = chain.send(chain.status_ix("suspend_participant", owner, admin.pubkey()), [admin])
    assert sent.err is None, sent.logs
    assert "Program log: Instruction: SuspendParticipant" in sent.logs
    after = bytes(chain.svm.get_account(address).data)
    assert type(chain.decode(address).status).__name__ == "Suspended"
    assert after[:41] + after[42:] == before[:41] + before[42:] and after[41] == 1  # only the status byte
    chain.refused(chain.status_ix("suspend_participant", owner, admin.pubkey()), [admin], 6007, address)

    sent = chain.send(chain.status_ix("reactivate_participant", owner, admin.pubkey()), [admin])
    assert sent.err is None, sent.logs
    assert "Program log: Instruction: ReactivateParticipant" in sent.logs
    assert bytes(chain.svm.get_account(address).data) == before
    chain.refused(chain.status_ix("reactivate_participant", owner, admin.pubkey()), [admin], 6008, address)
    assert chain.idl_errors[6007] == "The participant is already suspended"


def test_suspension_refusals_change_nothing(initialized: Registry):
    chain = initialized
    owner = chain.participant()
    address = chain.participant_address(owner)
    admin = chain.payer.pubkey()
    impostor = chain.funded()
    forged = Keypair().pubkey()  # a participant's bytes, owned by another program
    chain.put(forged, bytes(chain.svm.get_account(address).data), SYSTEM_PROGRAM_ID)
    suspend = chain.status_ix("suspend_participant", owner, admin)
    cases = [
        (chain.status_ix("suspend_participant", owner, impostor.pubkey()), [impostor], 6000),
        (_without_signer(suspend, admin), [impostor], 3010),
        (_with_account(suspend, 1, forged), [chain.payer], 3007),
        (_with_account(suspend, 1, chain.registry), [chain.payer], 3002),  # the registry's, not a Participant
        (_with_account(suspend, 1, chain.participant_address(Keypair().pubkey())), [chain.payer], 3007),  # none
        (_with_account(suspend, 0, forged), [chain.payer], 2006),
        (_read_only(suspend, address), [chain.payer], 2000),
        (chain.status_ix("reactivate_participant", owner, admin), [chain.payer], 6008),
    ]
    for ix, signers, code in cases:
        chain.refused(ix, signers, code, chain.registry, address, forged)
    assert type(chain.decode(address).status).__name__ == "Active"


# --- meters -------------------------------------------------------------------------------------


def test_register_meter_binds_a_meter_to_its_participant(initialized: Registry):
    chain = initialized
    chain.svm.set_clock(_at(chain.svm.get_clock(), 1_767_225_600))
    owners = [chain.participant("Prosumer"), chain.participant("Consumer")]
    for n, (meter_id, owner) in enumerate([(7, owners[0]), (2**64 - 1, owners[1]), (8, owners[0])], start=1):
        sent = chain.send(chain.meter_ix(meter_id, owner, chain.payer.pubkey()), [chain.payer])
        assert sent.err is None, sent.logs
        assert "Program log: Instruction: RegisterMeter" in sent.logs
        address = chain.meter_address(meter_id)
        meter = chain.decode(address)
        assert (meter.meter_id, meter.owner, meter.registered_at) == (meter_id, owner, 1_767_225_600)
        seeds = [b"meter", meter_id.to_bytes(8, "little")]
        assert meter.bump == Pubkey.find_program_address(seeds, chain.program_id)[1]
        assert sent.units <= _budget("register_meter", meter.bump)
        account = chain.svm.get_account(address)
        assert account.owner == chain.program_id
        assert len(account.data) == chain.program.account["Meter"].size == 8 + 8 + 32 + 8 + 1
        assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(len(account.data))
        assert chain.decode(chain.registry).meter_count == n


def test_register_meter_refusals_change_nothing(initialized: Registry):
    chain = initialized
    owner = chain.participant()
    suspended = chain.participant()
    admin = chain.payer.pubkey()
    assert chain.send(chain.status_ix("suspend_participant", suspended, admin), [chain.payer]).err is None
    impostor = chain.funded()
    assert chain.send(chain.meter_ix(1, owner, admin), [chain.payer]).err is None
    forged = Keypair().pubkey()  # a participant's bytes, owned by another program
    chain.put(forged, bytes(chain.svm.get_account(chain.participant_address(owner)).data), SYSTEM_PROGRAM_ID)
    ix = chain.meter_ix(2, owner, admin)
    cases = [
        (chain.meter_ix(2, owner, impostor.pubkey()), [impostor], 6000),
        (_without_signer(ix, admin), [impostor], 3010),
        (chain.meter_ix(2, suspended, admin), [chain.payer], 6009),
        (chain.meter_ix(1, owner, admin), [chain.payer], 3000),  # once only
        (chain.meter_ix(2, Keypair().pubkey(), admin), [chain.payer], 3007),  # not a participant
        (_with_account(ix, 2, forged), [chain.payer], 3007),
        (_with_account(ix, 2, chain.registry), [chain.payer], 3002),
        (_with_account(ix, 1, chain.meter_address(3)), [chain.payer], 2006),  # meter 3's address for id 2
        (_with_account(ix, 1, chain.participant_address(owner)), [chain.payer], 3000),  # an existing account
        (_read_only(ix, chain.registry), [chain.payer], 2000),
    ]
    watched = (chain.registry, chain.meter_address(1), chain.meter_address(2), chain.meter_address(3), forged)
    for case, signers, code in cases:
        chain.refused(case, signers, code, *watched, chain.participant_address(owner))
    assert chain.decode(chain.registry).meter_count == 1
    assert chain.svm.get_account(chain.meter_address(2)) is None


def test_compute_units_of_every_registry_instruction(initialized: Registry):
    """Each within its budget (programs/README.md). `make bench-programs` shows the figures (`-s`)."""
    chain = initialized
    fresh = Registry()
    figures = {"initialize": fresh.initialize().units}
    admin = chain.payer
    owner = Keypair().pubkey()
    units = chain.send(chain.register_ix(owner, admin.pubkey()), [admin]).units
    searched = UNITS_PER_BUMP_TRIED * (255 - chain.decode(chain.participant_address(owner)).bump)
    figures["register_participant"] = units - searched
    units = chain.send(chain.meter_ix(5, owner, admin.pubkey()), [admin]).units
    figures["register_meter"] = units - UNITS_PER_BUMP_TRIED * (255 - chain.decode(chain.meter_address(5)).bump)
    for name in ("suspend_participant", "reactivate_participant"):
        figures[name] = chain.send(chain.status_ix(name, owner, admin.pubkey()), [admin]).units
    other = Keypair().pubkey()
    for name in ("add_authority", "remove_authority"):
        figures[name] = chain.send(chain.authority_ix(name, other, admin.pubkey()), [admin]).units
    for name, units in figures.items():
        assert 0 < units <= BUDGET[name], (name, units)
    print("\nregistry program compute units:", ", ".join(f"{k} {v:,}" for k, v in figures.items()))


# --- the IDL agrees with the program -------------------------------------------------------


def test_the_idl_discriminators_are_anchors(chain: Registry):
    """anchorpy's instruction and account discriminators from the IDL are sha256("global:<snake>")
    and sha256("account:<Name>"), the ones the program computes (program_support::anchor)."""
    built = {
        "initialize": chain.initialize_ix(chain.payer.pubkey()),
        "registerParticipant": chain.register_ix(Keypair().pubkey(), chain.payer.pubkey()),
        "suspendParticipant": chain.status_ix("suspend_participant", Keypair().pubkey(), chain.payer.pubkey()),
        "reactivateParticipant": chain.status_ix("reactivate_participant", Keypair().pubkey(), chain.payer.pubkey()),
        "registerMeter": chain.meter_ix(3, Keypair().pubkey(), chain.payer.pubkey()),
        "addAuthority": chain.authority_ix("add_authority", Keypair().pubkey(), chain.payer.pubkey()),
        "removeAuthority": chain.authority_ix("remove_authority", Keypair().pubkey(), chain.payer.pubkey()),
    }
    assert set(built) == {ix.name for ix in chain.idl.instructions}
    for name, ix in built.items():
        assert ix.data[:8] == _sighash("global", _snake(name))
    discriminators = chain.program.coder.accounts.acc_name_to_discriminator
    assert {a.name for a in chain.idl.accounts} == {"Registry", "Participant", "Meter"}
    for account in chain.idl.accounts:
        assert discriminators[account.name] == _sighash("account", account.name)


def test_the_program_knows_every_idl_instruction_and_no_other(initialized: Registry):
    """Each IDL discriminator reaches its instruction (arguments missing: Anchor's 102, or an account
    check), an unknown one is 101, data shorter than a discriminator is 100."""
    chain = initialized
    keys = [AccountMeta(Keypair().pubkey(), False, False) for _ in range(5)]
    for ix in chain.idl.instructions:
        data = _sighash("global", _snake(ix.name)) + b"\xff\xff"
        sent = chain.send(Instruction(chain.program_id, data, keys), [chain.payer])
        assert sent.code not in (None, 100, 101), (ix.name, sent.logs)
    assert chain.send(Instruction(chain.program_id, _sighash("global", "nope"), keys), [chain.payer]).code == 101
    assert chain.send(Instruction(chain.program_id, b"\x01\x02", keys), [chain.payer]).code == 100


def test_the_idl_errors_are_the_programs(chain: Registry):
    source = (PROGRAMS / "registry" / "src" / "error.rs").read_text()
    in_source = {int(code): name for name, code in re.findall(r"^\s*(\w+) = (\d+),", source, flags=re.M)}
    assert {e.code: e.name for e in chain.idl.errors or []} == in_source
