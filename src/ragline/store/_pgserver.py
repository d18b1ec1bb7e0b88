"""The PostgreSQL + pgvector binaries of the ``pgserver`` wheel, run as a user they accept.

Used by ``ragline postgres start`` (:mod:`ragline.store.postgres._local`) and the
tests' throwaway servers
(:mod:`ragline.testing._postgres`). The binaries (``initdb``, ``pg_ctl``,
``postgres``, ``vector.so``) are run directly, so every failure shows PostgreSQL's
own message. PostgreSQL refuses to run as root: when this process is root, the
server runs as an unprivileged system user (``ragline-pg``, created with
``useradd`` when missing), through ``setpriv`` (no PAM session: works in bare
containers). ``pgserver`` is located, never imported.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ragline.errors import StoreError

PG_USER = "ragline-pg"
#: how to install the binaries
PGSERVER_HINT = "pip install 'ragline[postgres-local]'"


def pgserver_available() -> bool:
    """Whether the ``pgserver`` wheel is installed (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("pgserver") is not None


def missing_requirement() -> str | None:
    """What ``ragline postgres start`` needs and is not installed, as one line; else ``None``."""
    import importlib.util

    if not pgserver_available():
        return f"the local PostgreSQL server needs the pgserver package: {PGSERVER_HINT}"
    if importlib.util.find_spec("psycopg") is None:
        return f"the local PostgreSQL server needs psycopg: {PGSERVER_HINT}"
    return None


def pgserver_bin() -> Path:
    """The ``bin`` folder of the PostgreSQL the ``pgserver`` wheel bundles."""
    import importlib.util

    # Located, not imported: importing pgserver starts platformdirs machinery we skip.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover
        raise StoreError("the pgserver package is not installed", hint=PGSERVER_HINT)
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "pg_ctl").exists():  # pragma: no cover
        raise StoreError(f"no PostgreSQL binaries in {bin_dir}", hint="reinstall pgserver")
    return bin_dir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_unprivileged_user(name: str = PG_USER) -> str | None:
    """The user to run PostgreSQL as: ``None`` when not root, else ``name`` (created)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
    return name


def as_user(user: str | None, argv: Sequence[str]) -> list[str]:
    """``argv`` run as ``user`` (``setpriv``: no PAM session, works in bare containers)."""
    if user is None:
        return list(argv)
    pw = pwd.getpwnam(user)
    return [
        "setpriv",
        f"--reuid={pw.pw_uid}",
        f"--regid={pw.pw_gid}",
        "--clear-groups",
        "--",
        *argv,
    ]


def reachable_install(bin_dir: Path, user: str | None) -> Path:
    """``bin_dir``, or a copy of the installation ``user`` can run when it cannot.

    A root-owned virtual environment under ``/root`` (mode 700) is out of reach of the
    unprivileged user; the bundled installation (~30 MB: bin, lib, share and the
    wheel's ``pgserver.libs``) is then copied once to a world-readable folder in the
    temp directory.
    """
    if user is None:
        return bin_dir
    probe = subprocess.run(as_user(user, ["test", "-x", str(bin_dir / "postgres")]), check=False)
    if probe.returncode == 0:
        return bin_dir
    import hashlib

    stamp = f"{bin_dir}:{(bin_dir / 'postgres').stat().st_mtime_ns}".encode()
    target = (
        Path(tempfile.gettempdir()) / f"ragline-pginstall-{hashlib.sha1(stamp).hexdigest()[:12]}"
    )
    # Keep the wheel's layout: the binaries' RPATH is $ORIGIN/../../../pgserver.libs.
    install = bin_dir.parent  # .../pgserver/pginstall
    site = install.parent.parent
    if not (target / "pgserver" / "pginstall" / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="ragline-pginstall-"))
        for part in ("bin", "lib", "share"):
            shutil.copytree(
                install / part, staging / "pgserver" / "pginstall" / part, symlinks=True
            )
        if (site / "pgserver.libs").is_dir():
            shutil.copytree(site / "pgserver.libs", staging / "pgserver.libs", symlinks=True)
        for folder in [staging, *staging.rglob("*")]:
            if folder.is_dir():
                os.chmod(folder, 0o755)
        try:
            staging.rename(target)
        except OSError:  # another process won the race
            shutil.rmtree(staging, ignore_errors=True)
    return target / "pgserver" / "pginstall" / "bin"
