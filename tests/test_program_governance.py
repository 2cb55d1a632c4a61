"""programs/governance in LiteSVM, driven with anchorpy from its legacy IDL: the GovernanceConfig
account other programs read (the shared contract's exact layout), its parameters, the emergency
pause, and authority rotation; every authorisation rule refused with nothing changed.

`Programs` below is the harness test_program_energy.py uses too: any of the programs in one LiteSVM,
each with its anchorpy `Program`, and the checks that its .so is built and fresh."""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from anchorpy import Context, Idl, Program, Provider, Wallet
from program_harness import Sent, sent_of
from solana.rpc.async_api import AsyncClient
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import Transaction

from gridmatch.chain import programs

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
BUILD_COMMAND = "make programs   (that is: scripts/build-programs.sh)"
#: The crates each program is built from (a .so older than any of their files is stale).
CRATES = {
    "registry": ("registry", "support"),
    "governance": ("governance", "support"),
    "energy_token": ("energy_token", "support"),
    "oracle": ("oracle", "support"),
}


def program_bytes(name: str) -> bytes:
    """The built program, refusing a missing or stale one with the command that builds it."""
    so = PROGRAMS / "target" / "deploy" / f"{name}.so"
    if not so.exists():
        pytest.fail(f"{so.relative_to(ROOT)} is missing: build it with `{BUILD_COMMAND}`", pytrace=False)
    sources = [PROGRAMS / ".cargo" / "config.toml"]
    for crate in CRATES[name]:
        sources += [*(PROGRAMS / crate).glob("src/**/*.rs"), PROGRAMS / crate / "Cargo.toml"]
    newer = [p for p in sources if p.stat().st_mtime > so.stat().st_mtime]
    if newer:
        names = ", ".join(str(p.relative_to(ROOT)) for p in newer[:3])
        pytest.fail(f"{so.relative_to(ROOT)} is older than {names}: rebuild with `{BUILD_COMMAND}`", pytrace=False)
    return so.read_bytes()


def sighash(namespace: str, name: str) -> bytes:
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def assert_sbpf_v0(data: bytes) -> None:
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    (e_flags,) = struct.unpack_from("<I", data, 48)
    assert data[:4] == b"\x7fELF" and (data[4], data[5]) == (2, 1)  # ELF64, little-endian
    assert (e_type, e_machine, e_flags) == (3, 247, 0)  # ET_DYN, EM_BPF, SBPF v0


def error_numbers(crate: str) -> dict[int, str]:
    """The numbered variants of `<crate>/src/error.rs`."""
    source = (PROGRAMS / crate / "src" / "error.rs").read_text()
    return {int(code): name for name, code in re.findall(r"^\s*(\w+) = (\d+),", source, flags=re.M)}


Snapshot = dict[Pubkey, tuple[int, bytes, Pubkey] | None]


class Programs:
    """Some of the programs, each loaded at its contract id into one fresh LiteSVM, with anchorpy
    building their instructions from their IDLs. `payer` pays every transaction's fee (and never
    appears among the accounts a test watches, so a refused transaction changes none of them)."""

    def __init__(self, *names: str) -> None:
        self.svm = LiteSVM()
        self.payer = Keypair()
        self.svm.airdrop(self.payer.pubkey(), 1_000 * 10**9)
        # anchorpy wants a provider; no request is ever sent to this address.
        provider = Provider(AsyncClient("http://127.0.0.1:9"), Wallet(self.payer))
        self.program: dict[str, Program] = {}
        self.idl: dict[str, Idl] = {}
        self.id: dict[str, Pubkey] = {}
        for name in names:
            text = (PROGRAMS / name / "idl.json").read_text()
            self.idl[name] = Idl.from_json(text)
            self.id[name] = Pubkey.from_string(json.loads(text)["metadata"]["address"])
            self.svm.add_program(self.id[name], program_bytes(name))
            self.program[name] = Program(self.idl[name], self.id[name], provider)

    def funded(self, sol: int = 10) -> Keypair:
        keypair = Keypair()
        self.svm.airdrop(keypair.pubkey(), sol * 10**9)
        return keypair

    def ix(self, program: str, name: str, *args: Any, **accounts: Pubkey) -> Instruction:
        return self.program[program].instruction[name](*args, ctx=Context(accounts=accounts))

    def send(self, ixs: Instruction | Sequence[Instruction], *signers: Keypair) -> Sent:
        """Sends `ixs` with `payer` paying and `signers` signing too; a fresh blockhash each time,
        so a deliberate repeat is not refused as already processed."""
        ixs = [ixs] if isinstance(ixs, Instruction) else list(ixs)
        self.svm.expire_blockhash()
        keys = [self.payer, *(s for s in signers if s.pubkey() != self.payer.pubkey())]
        tx = Transaction(keys, Message(ixs, self.payer.pubkey()), self.svm.latest_blockhash())
        return sent_of(self.svm.send_transaction(tx), len(bytes(tx)))

    def decode(self, program: str, address: Pubkey) -> Any:
        account = self.svm.get_account(address)
        assert account is not None, f"no account at {address}"
        return self.program[program].coder.accounts.decode(bytes(account.data))

    def snapshot(self, *addresses: Pubkey) -> Snapshot:
        """Lamports, data and owner of each address (None where no account is)."""
        out: Snapshot = {}
        for address in addresses:
            account = self.svm.get_account(address)
            out[address] = None if account is None else (account.lamports, bytes(account.data), account.owner)
        return out

    def put(self, address: Pubkey, data: bytes, owner: Pubkey) -> None:
        """Writes an account directly (a forgery no program made)."""
        lamports = self.svm.minimum_balance_for_rent_exemption(len(data))
        self.svm.set_account(address, Account(lamports, data, owner, False, 0))

    def set_time(self, unix_timestamp: int) -> None:
        clock = self.svm.get_clock()
        clock.unix_timestamp = unix_timestamp
        self.svm.set_clock(clock)


#: The development deployer: the one key that may sign governance's and the registry's first
#: `initialize` in a build without GRIDMATCH_DEPLOYER (programs/support/src/deployer.rs).
DEPLOYER = programs.deployer()


def without_signer(ix: Instruction, who: Pubkey) -> Instruction:
    """`ix` with `who` passed as an account that did not sign."""
    metas = [AccountMeta(m.pubkey, False, m.is_writable) if m.pubkey == who else m for m in ix.accounts]
    return Instruction(ix.program_id, ix.data, metas)


def with_account(ix: Instruction, index: int, address: Pubkey) -> Instruction:
    """`ix` with its account at `index` replaced by `address` (same flags)."""
    metas = [AccountMeta(address, m.is_signer, m.is_writable) if i == index else m for i, m in enumerate(ix.accounts)]
    return Instruction(ix.program_id, ix.data, metas)


# --- governance ----------------------------------------------------------------------------------

GOVERNANCE_ID = Pubkey.from_string("3sp7yVqsdnh4urn8WFLurR2uAkzzWygeGuBHaD88HN4m")
CONFIG, CONFIG_BUMP = Pubkey.find_program_address([b"governance"], GOVERNANCE_ID)
CONFIG_LEN = 140  # the contract: 8 + 4 * 32 + 1 + 2 + 1
ZERO = Pubkey.default()

#: Compute units each instruction measured when written, with room (the config's address is a
#: compile-time constant: no program-address search).
BUDGET = {
    "initialize": 3_000,  # measured 2,139 (of which the System program's CreateAccount)
    "set_parameters": 600,  # 346
    "pause": 600,  # 333
    "unpause": 600,  # 330
    "add_authority": 1_000,  # 682
    "remove_authority": 1_000,  # 665
}


class Governance(Programs):
    """Programs with governance's instructions by name."""

    def gov_init_ix(
        self, authority: Pubkey, fee_bps: int = 25, *, config: Pubkey = CONFIG, deployer: Pubkey | None = None
    ) -> Instruction:
        """`initialize` naming `authority` first authority, signed by `deployer` (the deployer's key)."""
        deployer = deployer or DEPLOYER.pubkey()
        accounts = {"config": config, "authority": authority, "deployer": deployer, "system_program": SYSTEM_PROGRAM_ID}
        return self.ix("governance", "initialize", fee_bps, **accounts)

    def init_governance(
        self, authority: Keypair, fee_bps: int = 25, config: Pubkey = CONFIG, deployer: Keypair = DEPLOYER
    ) -> Sent:
        ix = self.gov_init_ix(authority.pubkey(), fee_bps, config=config, deployer=deployer.pubkey())
        return self.send(ix, authority, deployer)

    def gov_ix(self, name: str, authority: Pubkey, *args: Any, config: Pubkey = CONFIG) -> Instruction:
        return self.ix("governance", name, *args, config=config, authority=authority)

    def gov(self, name: str, authority: Keypair, *args: Any) -> Sent:
        return self.send(self.gov_ix(name, authority.pubkey(), *args), authority)

    def config(self) -> Any:
        return self.decode("governance", CONFIG)


def authorities(config: Any) -> list[Pubkey]:
    return [a for a in config.authorities if a != ZERO]


@pytest.fixture
def chain() -> Governance:
    return Governance("governance")


@pytest.fixture
def admin(chain: Governance) -> Keypair:
    """An initialised governance (fee 25 bps) and its first authority."""
    admin = chain.funded()
    sent = chain.init_governance(admin)
    assert sent.ok, sent.logs
    return admin


def test_the_program_is_an_sbpf_v0_shared_object():
    assert_sbpf_v0(program_bytes("governance"))


def test_initialize_writes_the_contract_layout(chain: Governance):
    admin = chain.funded()
    sent = chain.init_governance(admin, fee_bps=30)
    assert sent.ok, sent.logs
    assert sent.units <= BUDGET["initialize"]
    assert "Program log: Instruction: Initialize" in sent.logs

    account = chain.svm.get_account(CONFIG)
    assert account is not None and account.owner == GOVERNANCE_ID
    assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(CONFIG_LEN)
    data = bytes(account.data)
    # The shared contract, byte by byte: what trading and energy_token read.
    assert len(data) == CONFIG_LEN == chain.program["governance"].account["GovernanceConfig"].size
    assert data[:8] == sighash("account", "GovernanceConfig")
    assert data[8:40] == bytes(admin.pubkey()) and data[40:136] == bytes(96)
    assert data[136] == 0  # paused
    assert struct.unpack_from("<H", data, 137)[0] == 30  # fee_bps
    assert data[139] == CONFIG_BUMP == 255
    config = chain.config()
    assert authorities(config) == [admin.pubkey()]
    assert (config.paused, config.fee_bps, config.bump) == (0, 30, CONFIG_BUMP)


def test_initialize_refusals_change_nothing(chain: Governance):
    admin = chain.funded()
    watched = (CONFIG, admin.pubkey())
    before = chain.snapshot(*watched)
    assert chain.init_governance(admin, fee_bps=10_001).code == 6001  # InvalidFeeBps
    other = Pubkey.find_program_address([b"governance2"], GOVERNANCE_ID)[0]
    assert chain.init_governance(admin, config=other).code == 2006  # not the config's address
    ix = chain.gov_init_ix(admin.pubkey())
    assert chain.send(without_signer(ix, admin.pubkey()), DEPLOYER).code == 3010
    assert chain.send(without_signer(ix, DEPLOYER.pubkey()), admin).code == 3010
    assert chain.send(with_account(ix, 3, Keypair().pubkey()), admin, DEPLOYER).code == 3008  # not System
    assert chain.snapshot(*watched) == before
    assert chain.svm.get_account(other) is None

    assert chain.init_governance(admin).ok
    before = chain.snapshot(*watched)
    # Re-initialisation: by the deployer (3000, AccountDiscriminatorAlreadySet) or anyone else.
    assert chain.init_governance(chain.funded(), fee_bps=0).code == 3000
    assert chain.init_governance(DEPLOYER, fee_bps=0).code == 3000
    assert chain.init_governance(chain.funded(), deployer=chain.funded()).code == 6007  # NotDeployer
    assert chain.snapshot(*watched) == before


def test_only_the_deployer_initializes(chain: Governance):
    """Whoever calls first does not become governance's authority: the first initialize must be
    signed by the deployer the build names, which may name another key the first authority."""
    impostor, admin = chain.funded(), chain.funded()
    watched = (CONFIG, admin.pubkey(), impostor.pubkey(), DEPLOYER.pubkey())
    before = chain.snapshot(*watched)
    assert chain.init_governance(impostor, deployer=impostor).code == 6007  # NotDeployer
    assert chain.init_governance(admin, deployer=impostor).code == 6007
    assert chain.idl["governance"].errors[-1].name == "NotDeployer"
    assert chain.snapshot(*watched) == before
    assert chain.svm.get_account(CONFIG) is None

    sent = chain.init_governance(admin)
    assert sent.ok, sent.logs
    assert authorities(chain.config()) == [admin.pubkey()]  # the deployer named admin; it holds nothing
    assert chain.svm.get_account(DEPLOYER.pubkey()) is None  # and paid nothing: admin paid the rent


def test_the_deployer_may_be_the_first_authority(chain: Governance):
    chain.svm.airdrop(DEPLOYER.pubkey(), 10**9)
    sent = chain.init_governance(DEPLOYER)
    assert sent.ok, sent.logs
    assert authorities(chain.config()) == [DEPLOYER.pubkey()]


def test_a_prefunded_config_address_is_still_initialised_by_the_deployer_alone(chain: Governance):
    """Lamports sent to the config's address beforehand neither block the deployer nor let anyone
    else in; the payer tops the account up to rent exemption."""
    chain.svm.airdrop(CONFIG, 1_000)
    admin, impostor = chain.funded(), chain.funded()
    watched = (CONFIG, admin.pubkey(), impostor.pubkey())
    before = chain.snapshot(*watched)
    assert chain.init_governance(impostor, deployer=impostor).code == 6007
    assert chain.snapshot(*watched) == before

    sent = chain.init_governance(admin)
    assert sent.ok, sent.logs
    rent = chain.svm.minimum_balance_for_rent_exemption(CONFIG_LEN)
    account = chain.svm.get_account(CONFIG)
    assert (account.lamports, account.owner, len(account.data)) == (rent, GOVERNANCE_ID, CONFIG_LEN)
    assert chain.svm.get_balance(admin.pubkey()) == 10 * 10**9 - (rent - 1_000)  # the shortfall alone
    assert authorities(chain.config()) == [admin.pubkey()]


def test_the_development_deployer_is_the_programs():
    """deployer.rs hard-codes the public key of the seed `gridmatch.chain.programs` signs with."""
    source = (PROGRAMS / "support" / "src" / "deployer.rs").read_text()
    (key,) = re.findall(r'pub const DEVELOPMENT: &str = "(\w+)";', source)
    seed = hashlib.sha256(b"gridmatch development deployer").digest()
    assert Keypair.from_seed(seed).pubkey() == Pubkey.from_string(key) == DEPLOYER.pubkey()


def test_set_parameters_sets_the_fee(chain: Governance, admin: Keypair):
    for fee in (0, 10_000, 40):
        sent = chain.gov("set_parameters", admin, fee)
        assert sent.ok, sent.logs
        assert sent.units <= BUDGET["set_parameters"]
        assert chain.config().fee_bps == fee
    before = chain.snapshot(CONFIG)
    assert chain.gov("set_parameters", admin, 10_001).code == 6001
    assert chain.snapshot(CONFIG) == before


def test_pause_and_unpause(chain: Governance, admin: Keypair):
    for name, paused in [("pause", 1), ("pause", 1), ("unpause", 0), ("unpause", 0), ("pause", 1)]:
        sent = chain.gov(name, admin)
        assert sent.ok, sent.logs
        assert sent.units <= BUDGET[name]
        assert chain.config().paused == paused
        assert bytes(chain.svm.get_account(CONFIG).data)[136] == paused  # the contract's offset
    assert chain.config().fee_bps == 25  # the pause touches nothing else


def test_authority_rotation(chain: Governance, admin: Keypair):
    others = [chain.funded() for _ in range(4)]
    for n, other in enumerate(others[:3], start=2):
        sent = chain.gov("add_authority", admin, other.pubkey())
        assert sent.ok, sent.logs
        assert sent.units <= BUDGET["add_authority"]
        assert len(authorities(chain.config())) == n
    # A new authority acts; four is the most.
    assert chain.gov("pause", others[0]).ok
    before = chain.snapshot(CONFIG)
    assert chain.gov("add_authority", others[0], others[3].pubkey()).code == 6002  # TooManyAuthorities
    assert chain.gov("add_authority", admin, others[1].pubkey()).code == 6003  # AuthorityAlreadyPresent
    assert chain.snapshot(CONFIG) == before

    # Removal frees a slot that the next addition reuses; a removed authority can no longer act.
    sent = chain.gov("remove_authority", others[1], admin.pubkey())
    assert sent.ok, sent.logs
    assert sent.units <= BUDGET["remove_authority"]
    assert chain.config().authorities[0] == ZERO
    before = chain.snapshot(CONFIG)
    assert chain.gov("unpause", admin).code == 6000
    assert chain.gov("add_authority", admin, admin.pubkey()).code == 6000
    assert chain.gov("remove_authority", others[0], admin.pubkey()).code == 6004  # AuthorityNotFound
    assert chain.gov("add_authority", others[0], ZERO).code == 6006  # InvalidAuthority
    assert chain.snapshot(CONFIG) == before
    assert chain.gov("add_authority", others[2], others[3].pubkey()).ok
    assert chain.config().authorities[0] == others[3].pubkey()


def test_the_last_authority_is_never_removed(chain: Governance, admin: Keypair):
    second = chain.funded()
    assert chain.gov("add_authority", admin, second.pubkey()).ok
    assert chain.gov("remove_authority", second, second.pubkey()).ok  # removing oneself is allowed
    assert authorities(chain.config()) == [admin.pubkey()]
    before = chain.snapshot(CONFIG)
    assert chain.gov("remove_authority", admin, admin.pubkey()).code == 6005  # LastAuthority
    assert chain.gov("remove_authority", second, admin.pubkey()).code == 6000  # no longer an authority
    assert chain.snapshot(CONFIG) == before
    assert chain.gov("set_parameters", admin, 7).ok  # and it still governs


AUTHORITY_INSTRUCTIONS = [
    ("set_parameters", (99,)),
    ("pause", ()),
    ("unpause", ()),
    ("add_authority", (Keypair().pubkey(),)),
    ("remove_authority", None),  # removes the admin, with a second authority present
]


@pytest.mark.parametrize(("name", "args"), AUTHORITY_INSTRUCTIONS, ids=[n for n, _ in AUTHORITY_INSTRUCTIONS])
def test_every_instruction_refuses_a_wrong_signer_and_a_wrong_config(chain: Governance, admin: Keypair, name, args):
    second = chain.funded()
    assert chain.gov("add_authority", admin, second.pubkey()).ok
    if name == "unpause":
        assert chain.gov("pause", admin).ok
    args = (admin.pubkey(),) if args is None else args
    impostor = chain.funded()
    good = chain.gov_ix(name, admin.pubkey(), *args)
    watched = (CONFIG, admin.pubkey(), second.pubkey(), impostor.pubkey())
    before = chain.snapshot(*watched)

    # A signer who is not an authority.
    assert chain.send(chain.gov_ix(name, impostor.pubkey(), *args), impostor).code == 6000
    # An authority that did not sign.
    assert chain.send(without_signer(good, admin.pubkey())).code == 3010
    # The config read-only.
    metas = [AccountMeta(CONFIG, False, False), good.accounts[1]]
    assert chain.send(Instruction(good.program_id, good.data, metas), admin).code == 2000
    # A forged config elsewhere (the real one's bytes, impostor as authority) and owned by
    # governance: the address is not the program address.
    forged = bytearray(chain.svm.get_account(CONFIG).data)
    forged[8:40] = bytes(impostor.pubkey())
    fake = Keypair().pubkey()
    chain.put(fake, bytes(forged), GOVERNANCE_ID)
    assert chain.send(chain.gov_ix(name, impostor.pubkey(), *args, config=fake), impostor).code == 2006
    assert chain.snapshot(*watched) == before

    # Success, for contrast.
    assert chain.send(good, admin).ok


def test_a_config_at_the_right_address_but_not_governance_s_is_refused(chain: Governance, admin: Keypair):
    """The address check alone is not enough: the owner and the discriminator are checked too."""
    real = bytes(chain.svm.get_account(CONFIG).data)
    chain.put(CONFIG, real, SYSTEM_PROGRAM_ID)
    assert chain.gov("pause", admin).code == 3007  # AccountOwnedByWrongProgram
    chain.put(CONFIG, sighash("account", "Registry") + real[8:], GOVERNANCE_ID)
    assert chain.gov("pause", admin).code == 3002  # AccountDiscriminatorMismatch
    chain.put(CONFIG, real[:100], GOVERNANCE_ID)
    assert chain.gov("pause", admin).code == 3003  # too short to be a GovernanceConfig
    chain.put(CONFIG, real, GOVERNANCE_ID)
    assert chain.gov("pause", admin).ok


# --- the IDL agrees with the program -------------------------------------------------------------


def check_idl(chain: Programs, program: str, built: dict[str, Instruction], account_names: set[str]) -> None:
    """The IDL's instruction and account discriminators are Anchor's; every IDL instruction
    reaches the program (not 100/101), an unknown one is 101, short data 100; the IDL's errors are
    the program's error.rs."""
    idl = chain.idl[program]
    assert set(built) == {ix.name for ix in idl.instructions}
    for name, ix in built.items():
        assert ix.data[:8] == sighash("global", snake(name))
    discriminators = chain.program[program].coder.accounts.acc_name_to_discriminator
    assert {a.name for a in idl.accounts} == account_names
    for account in idl.accounts:
        assert discriminators[account.name] == sighash("account", account.name)
    keys = [AccountMeta(Keypair().pubkey(), False, False) for _ in range(12)]
    program_id = chain.id[program]
    for ix in idl.instructions:
        data = sighash("global", snake(ix.name)) + b"\xff"
        sent = chain.send(Instruction(program_id, data, keys))
        assert sent.code not in (None, 100, 101), (ix.name, sent.logs)
    assert chain.send(Instruction(program_id, sighash("global", "nope"), keys)).code == 101
    assert chain.send(Instruction(program_id, b"\x01\x02", keys)).code == 100
    assert {e.code: e.name for e in idl.errors or []} == error_numbers(program)


def test_the_idl_is_the_programs(chain: Governance):
    key = Keypair().pubkey()
    built = {
        "initialize": chain.gov_init_ix(key, 1, deployer=key),
        "setParameters": chain.gov_ix("set_parameters", key, 1),
        "pause": chain.gov_ix("pause", key),
        "unpause": chain.gov_ix("unpause", key),
        "addAuthority": chain.gov_ix("add_authority", key, key),
        "removeAuthority": chain.gov_ix("remove_authority", key, key),
    }
    check_idl(chain, "governance", built, {"GovernanceConfig"})
