"""The programs under the rent sysvar of SIMD-0194 (exemption threshold 1.0, lamports per byte-year
doubled) as under today's (threshold 2.0): the programs compute rent exemption in integers
(`support::sys::Rent`, no floating point on BPF), and every account they create is rent-exempt
with the same balance under either. A threshold they cannot compute exactly is refused and
changes nothing."""

from __future__ import annotations

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rent import Rent
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from test_program_governance import CONFIG, CONFIG_LEN, DEPLOYER, Governance

TODAY = Rent(lamports_per_byte_year=3_480, exemption_threshold=2.0, burn_percent=50)
SIMD_0194 = Rent(lamports_per_byte_year=6_960, exemption_threshold=1.0, burn_percent=50)


def pda(seeds: list[bytes], program: Pubkey) -> Pubkey:
    return Pubkey.find_program_address(seeds, program)[0]


def market(rent: Rent) -> tuple[Governance, Keypair]:
    """Governance and the registry loaded under `rent`, and an unused funded key."""
    chain = Governance("governance", "registry")
    chain.svm.set_rent(rent)
    assert chain.svm.get_rent() == rent
    return chain, chain.funded()


def create_everything(chain: Governance, admin: Keypair) -> dict[str, Pubkey]:
    """Every account governance and the registry create, created by `admin`: its addresses."""
    registry_id = chain.id["registry"]
    owner = Keypair().pubkey()
    addresses = {
        "GovernanceConfig": CONFIG,
        "Registry": pda([b"registry"], registry_id),
        "Participant": pda([b"participant", bytes(owner)], registry_id),
        "Meter": pda([b"meter", (7).to_bytes(8, "little")], registry_id),
    }
    sent = chain.init_governance(admin)
    assert sent.ok, sent.logs
    signed = {"registry": addresses["Registry"], "authority": admin.pubkey(), "system_program": SYSTEM_PROGRAM_ID}
    participant = {"participant": addresses["Participant"]}
    prosumer = chain.program["registry"].type["ParticipantKind"].Prosumer()
    init = chain.ix("registry", "initialize", deployer=DEPLOYER.pubkey(), **signed)
    register = chain.ix("registry", "register_participant", prosumer, owner=owner, **participant, **signed)
    meter = chain.ix("registry", "register_meter", 7, meter=addresses["Meter"], **participant, **signed)
    steps = [(init, (admin, DEPLOYER)), (register, (admin,)), (meter, (admin,))]
    for ix, signers in steps:
        sent = chain.send(ix, *signers)
        assert sent.ok, sent.logs
    return addresses


def balances(chain: Governance, addresses: dict[str, Pubkey]) -> dict[str, tuple[int, int]]:
    """Each created account's (lamports, data length)."""
    accounts = {name: chain.svm.get_account(address) for name, address in addresses.items()}
    return {name: (account.lamports, len(account.data)) for name, account in accounts.items()}


def test_accounts_created_under_simd_0194_rent_hold_the_same_balance():
    chain, admin = market(TODAY)
    today = balances(chain, create_everything(chain, admin))
    chain, admin = market(SIMD_0194)
    simd = balances(chain, create_everything(chain, admin))

    assert simd == today
    for name, (lamports, size) in simd.items():
        # rent exemption as the runtime computes it under either sysvar, to the lamport
        assert lamports == chain.svm.minimum_balance_for_rent_exemption(size) == (128 + size) * 6_960, name
    assert simd["GovernanceConfig"] == ((128 + CONFIG_LEN) * 3_480 * 2, CONFIG_LEN)
    # A token account's minimum, the figure SIMD-0194 keeps: 2,039,280 lamports for 165 bytes.
    assert chain.svm.minimum_balance_for_rent_exemption(165) == 2_039_280


def test_a_threshold_other_than_one_or_two_years_is_refused_and_changes_nothing():
    """1.5 would need floating point (BPF has none): the programs refuse it (`UnsupportedSysvar`)
    rather than create an account that is not rent-exempt."""
    chain, admin = market(Rent(lamports_per_byte_year=4_640, exemption_threshold=1.5, burn_percent=50))
    watched = (CONFIG, admin.pubkey(), DEPLOYER.pubkey())
    before = chain.snapshot(*watched)
    sent = chain.init_governance(admin)
    assert not sent.ok
    assert any("unsupported sysvar" in line.lower() for line in sent.logs), sent.logs
    assert chain.snapshot(*watched) == before
    assert chain.svm.get_account(CONFIG) is None
