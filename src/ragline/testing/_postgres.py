"""A throwaway PostgreSQL + pgvector server for tests and benchmarks.

Uses the binaries the ``pgserver`` wheel ships (``initdb``, ``pg_ctl``, ``postgres``,
``vector.so``) directly, so every failure shows PostgreSQL's own log. PostgreSQL
refuses to run as root: when this process is root, the server runs as an
unprivileged user (``ragline-pg``, created with ``useradd`` when missing) that owns
the temporary data directory.

    with TempPostgres() as pg:
        url = pg.app_url  # a non-superuser role that owns the ragline tables
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragline.errors import StoreError
from ragline.store._pgserver import (
    PG_USER,
    as_user,
    ensure_unprivileged_user,
    free_port,
    pgserver_bin,
    reachable_install,
)

__all__ = [
    "PG_USER",
    "TempPostgres",
    "as_user",
    "ensure_unprivileged_user",
    "free_port",
    "pgserver_bin",
    "reachable_install",
    "wait_for_port",
]
APP_ROLE = "ragline_app"
APP_PASSWORD = "app-secret-pw"
ADMIN_PASSWORD = "admin-secret-pw"


class TempPostgres:
    """initdb + pg_ctl start in a temporary directory on a free loopback port."""

    def __init__(self, *, port: int | None = None, base_dir: str | None = None) -> None:
        self.port = port or free_port()
        self.user = ensure_unprivileged_user()
        self.bin = reachable_install(pgserver_bin(), self.user)
        self.root = Path(tempfile.mkdtemp(prefix="ragline-pg-", dir=base_dir))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.log = self.root / "server.log"
        self.superuser = "postgres"
        self.database = "ragline"
        self._started = False

    # -- commands --------------------------------------------------------------------

    def _as_pg(self, argv: Sequence[str]) -> list[str]:
        return as_user(self.user, argv)

    def _run(self, argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self._as_pg(argv), capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise StoreError(
                f"{Path(argv[0]).name} failed ({proc.returncode}): {proc.stderr.strip()}\n{log}"
            )
        return proc

    def start(self) -> TempPostgres:
        self.sock.mkdir()
        if self.user is not None:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, self.user)
            shutil.chown(self.sock, self.user)
        pwfile = self.root / "pw"
        pwfile.write_text(ADMIN_PASSWORD + "\n")
        if self.user is not None:
            shutil.chown(pwfile, self.user)
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.superuser,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        pwfile.unlink()
        with (self.data / "postgresql.conf").open("a") as f:
            f.write(
                "\nshared_buffers = 64MB\nmax_connections = 100\nfsync = on\n"
                "listen_addresses = '127.0.0.1'\nmaintenance_work_mem = 256MB\n"
            )
        self._ctl_start()
        self._started = True
        self._bootstrap()
        return self

    def _ctl_start(self) -> None:
        opts = f"-p {self.port} -k {self.sock}"
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every open connection is cut."""
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        self._ctl_start()

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._run(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- roles and databases ---------------------------------------------------------

    def url(self, user: str, password: str, database: str | None = None) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database or self.database}"

    @property
    def admin_url(self) -> str:
        return self.url(self.superuser, ADMIN_PASSWORD)

    @property
    def app_url(self) -> str:
        return self.url(APP_ROLE, APP_PASSWORD)

    def admin_sql(self, sql: str, params: Any = None, *, database: str = "postgres") -> Any:
        import psycopg

        with psycopg.connect(
            self.url(self.superuser, ADMIN_PASSWORD, database), autocommit=True
        ) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def _bootstrap(self) -> None:
        from ragline.store import create_postgres_role

        admin = self.url(self.superuser, ADMIN_PASSWORD, "postgres")
        create_postgres_role(admin, APP_ROLE, password=APP_PASSWORD, database=self.database)

    def create_database(self, name: str) -> str:
        """A fresh database owned by the app role, with pgvector installed; its app URL."""
        self.admin_sql(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}')
        self.admin_sql("CREATE EXTENSION IF NOT EXISTS vector", database=name)
        return self.url(APP_ROLE, APP_PASSWORD, name)

    def drop_database(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for_port(port: int, timeout: float = 30.0) -> None:  # pragma: no cover - helper
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise StoreError(f"nothing listening on 127.0.0.1:{port}")
