"""The on-chain toolchain end to end: programs/registry, built to SBPF v0 by scripts/build-programs.sh
(`make programs`), loaded into LiteSVM and driven with anchorpy from its legacy (Anchor 0.29) IDL,
which must agree with the program on discriminators, layouts and error numbers."""

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
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
SO = PROGRAMS / "target" / "deploy" / "registry.so"
IDL_JSON = PROGRAMS / "registry" / "idl.json"
BUILD_COMMAND = "make programs   (that is: scripts/build-programs.sh)"

# Compute-unit budgets: what each instruction measured when written, with room (programs/README.md), besides
# the program-address search, which costs 1,500 units per bump tried (255 first, then down).
UNITS_BESIDES_PDA_SEARCH = {"initialize": 3_000, "register_participant": 3_500}
UNITS_PER_BUMP_TRIED = 1_500


def _budget(instruction: str, bump: int) -> int:
    return UNITS_BESIDES_PDA_SEARCH[instruction] + UNITS_PER_BUMP_TRIED * (256 - bump)


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

    def initialize_ix(self, authority: Pubkey) -> Instruction:
        accounts = {"registry": self.registry, "authority": authority, "system_program": SYSTEM_PROGRAM_ID}
        return self.program.instruction["initialize"](ctx=Context(accounts=accounts))

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


@pytest.fixture
def chain() -> Registry:
    return Registry()


@pytest.fixture
def initialized(chain: Registry) -> Registry:
    sent = chain.send(chain.initialize_ix(chain.payer.pubkey()), [chain.payer])
    assert sent.err is None, sent.logs
    return chain


def test_initialize_creates_the_registry_with_its_authority(chain: Registry):
    sent = chain.send(chain.initialize_ix(chain.payer.pubkey()), [chain.payer])
    assert sent.err is None, sent.logs
    assert sent.units <= _budget("initialize", chain.decode(chain.registry).bump)
    assert "Program log: Instruction: Initialize" in sent.logs

    account = chain.svm.get_account(chain.registry)
    assert account is not None and account.owner == chain.program_id
    assert len(account.data) == chain.program.account["Registry"].size == 8 + 32 + 8 + 1
    assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(len(account.data))
    registry = chain.decode(chain.registry)
    assert registry.authority == chain.payer.pubkey()
    assert registry.participant_count == 0
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
    assert chain.idl_errors[6000] == "The signer is not the registry's authority"
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


def test_initialize_twice_and_register_twice_are_refused(initialized: Registry):
    chain = initialized
    before = chain.snapshot(chain.registry)
    again = chain.send(chain.initialize_ix(chain.payer.pubkey()), [chain.payer])
    assert again.code == 3000  # AccountDiscriminatorAlreadySet
    assert chain.snapshot(chain.registry) == before

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


# --- the IDL agrees with the program -------------------------------------------------------


def test_the_idl_discriminators_are_anchors(chain: Registry):
    """anchorpy's instruction and account discriminators from the IDL are sha256("global:<snake>")
    and sha256("account:<Name>"), the ones the program computes (program_support::anchor)."""
    built = {
        "initialize": chain.initialize_ix(chain.payer.pubkey()),
        "registerParticipant": chain.register_ix(Keypair().pubkey(), chain.payer.pubkey()),
    }
    assert set(built) == {ix.name for ix in chain.idl.instructions}
    for name, ix in built.items():
        assert ix.data[:8] == _sighash("global", _snake(name))
    discriminators = chain.program.coder.accounts.acc_name_to_discriminator
    assert {a.name for a in chain.idl.accounts} == {"Registry", "Participant"}
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
