"""The on-chain programs as Python sees them: each one's legacy IDL (`programs/<name>/idl.json`),
its address (the IDL's), an anchorpy `Program` that builds its instructions and decodes its
accounts, and its built `.so` (`make programs` writes `programs/target/deploy/<name>.so`).

The programs' directory is the checkout's `programs/`; `GRIDMATCH_PROGRAMS` names another one
(an installed package has no checkout).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

from anchorpy.program.core import Program
from anchorpy.provider import Provider, Wallet
from anchorpy_core.idl import Idl
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from gridmatch.chain.base import ChainRequestInvalid
from gridmatch.chain.litesvm import LiteSVMChain

NAMES = ("registry", "governance", "energy_token", "oracle", "trading")
BUILD_COMMAND = "make programs"
#: The development deployer's ed25519 seed. Public, so never a deployment's: that builds the
#: programs with `GRIDMATCH_DEPLOYER=<its own public key>` and signs with its own key.
DEVELOPMENT_DEPLOYER_SEED = hashlib.sha256(b"gridmatch development deployer").digest()


def programs_dir() -> Path:
    configured = os.environ.get("GRIDMATCH_PROGRAMS")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "programs"


def _checked(name: str) -> str:
    if name not in NAMES:
        raise ChainRequestInvalid(f"program = {name!r}: one of {', '.join(NAMES)}", field="program", value=name)
    return name


@functools.cache
def idl(name: str) -> Idl:
    path = programs_dir() / _checked(name) / "idl.json"
    if not path.exists():
        message = f"{path} is missing: set GRIDMATCH_PROGRAMS to a checkout's programs/"
        raise ChainRequestInvalid(message, field="program", value=name)
    return Idl.from_json(path.read_text())


@functools.cache
def program_id(name: str) -> Pubkey:
    metadata = idl(name).metadata
    address = metadata.get("address") if isinstance(metadata, dict) else None
    if not isinstance(address, str):
        raise ChainRequestInvalid(f"the {name} IDL names no address (metadata.address)", field="program", value=name)
    return Pubkey.from_string(address)


@functools.cache
def client(name: str) -> Program:
    """An anchorpy `Program` for building `name`'s instructions and decoding its accounts. Its
    provider never connects: transactions go through a `Chain`."""
    provider = Provider(AsyncClient("http://127.0.0.1:9"), Wallet(Keypair()))
    return Program(idl(name), program_id(name), provider)


def decode(name: str, account: str, data: bytes) -> Any:
    """`data` decoded as program `name`'s account type `account` (its discriminator checked)."""
    return client(name).account[account].coder.accounts.decode(data)


def elf(name: str) -> bytes:
    path = programs_dir() / "target" / "deploy" / f"{_checked(name)}.so"
    if not path.exists():
        message = f"{path} is missing: build the programs with `{BUILD_COMMAND}`"
        raise ChainRequestInvalid(message, field="program", value=name)
    return path.read_bytes()


def deployer() -> Keypair:
    """The development deployer: the one key that may sign governance's and the registry's first
    `initialize` in programs built without `GRIDMATCH_DEPLOYER` (programs/support/src/deployer.rs;
    the first caller would otherwise become their authority). A deployment rebuilds the programs
    with `GRIDMATCH_DEPLOYER` set to its own key's public key and signs with that key instead."""
    return Keypair.from_seed(DEVELOPMENT_DEPLOYER_SEED)


def deploy(chain: LiteSVMChain, names: tuple[str, ...] = NAMES) -> None:
    """Loads the built programs into an embedded chain, each at its IDL's address."""
    for name in names:
        chain.load_program(program_id(name), elf(name))


__all__ = [
    "BUILD_COMMAND",
    "DEVELOPMENT_DEPLOYER_SEED",
    "NAMES",
    "client",
    "decode",
    "deploy",
    "deployer",
    "elf",
    "idl",
    "program_id",
    "programs_dir",
]
