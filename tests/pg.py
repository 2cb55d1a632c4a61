"""A throwaway PostgreSQL server for the journal's tests: a fresh cluster in a new folder under
/tmp (short, for the socket's path, and reachable by the server's user), listening only on a
Unix socket there, stopped and removed at the end. As root (CI), it runs as the `postgres` user
that Debian's package creates."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg

DATABASES = itertools.count()


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]), None)
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL (make test does: apt-get install postgresql)")
    return found


def _as_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(*args: str) -> None:
    subprocess.run([*_as_user(), *args], check=True, capture_output=True)


def _start(root: Path) -> None:
    options = f"-k {root} -c listen_addresses='' -c fsync=on"
    _run(_binary("pg_ctl"), "-D", str(root / "data"), "-o", options, "-l", str(root / "log"), "-w", "start")


def _stop(root: Path) -> None:
    """Stops the server as a crash would: every session cut, nothing shut down cleanly."""
    _run(_binary("pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop")


def _root(url: str) -> Path:
    return Path(parse_qs(urlsplit(url).query)["host"][0])


@contextmanager
def server() -> Iterator[str]:
    """Starts a cluster; yields the URL of its `postgres` database."""
    root = Path(tempfile.mkdtemp(prefix="gm-pg-"))
    if _as_user():
        shutil.chown(root, "postgres")
    _run(_binary("initdb"), "-D", str(root / "data"), "-U", "gridmatch", "--auth=trust", "-E", "UTF8")
    _start(root)
    try:
        yield f"postgresql://gridmatch@/postgres?host={root}"
    finally:
        _stop(root)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def stopped(url: str) -> Iterator[None]:
    """Crashes the server behind `url` (any of its databases'), and starts it again on leaving."""
    _stop(_root(url))
    try:
        yield
    finally:
        _start(_root(url))


def database(url: str) -> str:
    """The URL of a new, empty database on the server of `url`."""
    name = f"journal_{next(DATABASES)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return url.replace(f"{urlsplit(url).path}?", f"/{name}?")
