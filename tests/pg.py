"""A throwaway PostgreSQL server for the journal's tests: a fresh cluster in a new folder under
/tmp (short, for the socket's path, and reachable by the server's user), listening only on a
Unix socket there, stopped and removed at the end. As root (CI), it runs as the `postgres` user
that Debian's package creates."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]), None)
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL (make test does: apt-get install postgresql)")
    return found


@contextmanager
def server() -> Iterator[str]:
    """Starts a cluster; yields the URL of its `postgres` database."""
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="gm-pg-"))
    data = root / "data"
    if as_user:
        shutil.chown(root, "postgres")
    run = lambda *args: subprocess.run([*as_user, *args], check=True, capture_output=True)  # noqa: E731
    run(_binary("initdb"), "-D", str(data), "-U", "gridmatch", "--auth=trust", "-E", "UTF8")
    options = f"-k {root} -c listen_addresses='' -c fsync=on"
    run(_binary("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql://gridmatch@/postgres?host={root}"
    finally:
        run(_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
