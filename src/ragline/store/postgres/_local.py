"""A project's own PostgreSQL + pgvector server (``ragline postgres start|stop|status|url``).

The server is the ``pgserver`` wheel's PostgreSQL (``pip install
'ragline[postgres-local]'``), its data in ``.ragline/postgres/`` in the project
folder, listening on 127.0.0.1 only (no Unix socket), with password
authentication. The first ``start`` runs ``initdb``, picks a free port, and creates
an ordinary login role ``ragline`` that owns the database ``ragline``
(:func:`._roles.create_postgres_role`): not a superuser, not ``BYPASSRLS``, so row-level
security keeps tenants apart exactly as on a production server. As it is the
project's own server, ``start`` also marks ``@@`` and ``@>`` leakproof there, so
keyword search uses its indexes. Ports and passwords are kept in
``.ragline/postgres/server.json`` (mode 600); ``url`` prints the URL to put in
``store:``.

As root, PostgreSQL runs as the unprivileged system user ``ragline-pg``
(:mod:`ragline.store._pgserver`). When that user cannot reach the project folder (a folder
under ``/root``, say), the data goes to ``/var/tmp/ragline-postgres-<hash>/`` and
``server.json`` says where.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ragline.errors import NotFoundError, StoreError
from ragline.store._pgserver import (
    PGSERVER_HINT,
    as_user,
    ensure_unprivileged_user,
    free_port,
    pgserver_available,
    pgserver_bin,
    reachable_install,
)
from ragline.store.postgres._roles import role_url

LOCAL_DIR = Path(".ragline") / "postgres"
STATE_FILE = "server.json"
ROLE = "ragline"
DATABASE = "ragline"
SUPERUSER = "postgres"

_CONF = """
# written by ragline postgres start
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
max_connections = 100
shared_buffers = 128MB
"""


@dataclass(frozen=True, slots=True)
class LocalState:
    """What ``server.json`` holds."""

    port: int
    password: str
    admin_password: str
    data_root: str  # holds data/ and server.log
    role: str = ROLE
    database: str = DATABASE
    superuser: str = SUPERUSER


@dataclass(frozen=True, slots=True)
class StartReport:
    url: str
    created: bool  # initdb ran now
    already_running: bool
    data_dir: Path


class LocalPostgres:
    """The PostgreSQL server of the project in ``project_dir``."""

    def __init__(self, project_dir: str | Path) -> None:
        self.folder = Path(project_dir).resolve() / LOCAL_DIR
        self.state_file = self.folder / STATE_FILE

    # -- state -----------------------------------------------------------------------

    def load(self) -> LocalState | None:
        if not self.state_file.exists():
            return None
        try:
            return LocalState(**json.loads(self.state_file.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as e:
            raise StoreError(
                f"{self.state_file} is unreadable: {e}",
                hint=f"remove {self.folder} and run ragline postgres start again",
            ) from None

    def _state(self) -> LocalState:
        state = self.load()
        if state is None:
            raise NotFoundError(
                f"no local PostgreSQL server in {self.folder.parent.parent}",
                hint="run ragline postgres start",
            )
        return state

    def _save(self, state: LocalState) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(state), f, indent=2)
        os.replace(tmp, self.state_file)

    def url(self) -> str:
        """The ordinary role's URL (what goes in ``store:``)."""
        s = self._state()
        return role_url("127.0.0.1", s.port, s.role, s.password, s.database)

    def admin_url(self, database: str = "postgres") -> str:
        """The superuser's URL (for ``create-role`` and administration)."""
        s = self._state()
        return role_url("127.0.0.1", s.port, s.superuser, s.admin_password, database)

    def data_dir(self) -> Path:
        return Path(self._state().data_root) / "data"

    # -- running the binaries --------------------------------------------------------

    def _binaries(self) -> tuple[str | None, Path]:
        if not pgserver_available():
            raise StoreError("the pgserver package is not installed", hint=PGSERVER_HINT)
        user = ensure_unprivileged_user()
        return user, reachable_install(pgserver_bin(), user)

    def _run(
        self, user: str | None, argv: Sequence[str], *, log: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(as_user(user, argv), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:].strip() if log and log.exists() else ""
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise StoreError(
                f"{Path(argv[0]).name} failed: {detail[-1] if detail else proc.returncode}"
                + (f" (server log: {tail.splitlines()[-1]})" if tail else ""),
                hint=f"see {log}" if log else None,
            )
        return proc

    def running(self) -> bool:
        """Whether the server is up (``pg_ctl status``); ``False`` when never started."""
        state = self.load()
        if state is None:
            return False
        data = Path(state.data_root) / "data"
        if not (data / "PG_VERSION").exists():
            return False
        user, bin_dir = self._binaries()
        proc = subprocess.run(
            as_user(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "status"]),
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.returncode == 0

    # -- start and stop --------------------------------------------------------------

    def start(self) -> StartReport:
        """Initialise (first time), start, and create the role; the role's URL."""
        user, bin_dir = self._binaries()
        state = self.load()
        created = state is None
        if state is None:
            state = self._initdb(user, bin_dir)
        data = Path(state.data_root) / "data"
        if self.running():
            return StartReport(self.url(), False, True, data)
        self._pg_ctl_start(user, bin_dir, state)
        if created:
            try:
                self._bootstrap(state)
            except BaseException:
                self._pg_ctl_stop(user, bin_dir, data)
                self.state_file.unlink(missing_ok=True)
                shutil.rmtree(state.data_root, ignore_errors=True)
                raise
        return StartReport(self.url(), created, False, data)

    def stop(self) -> bool:
        """Stop the server (fast shutdown); ``False`` when it was not running."""
        state = self._state()
        if not self.running():
            return False
        user, bin_dir = self._binaries()
        self._pg_ctl_stop(user, bin_dir, Path(state.data_root) / "data")
        return True

    def _pg_ctl_start(self, user: str | None, bin_dir: Path, state: LocalState) -> None:
        root = Path(state.data_root)
        log = root / "server.log"
        argv = [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(log)]
        self._run(user, [*argv, "-w", "-t", "60", "start"], log=log)

    def _pg_ctl_stop(self, user: str | None, bin_dir: Path, data: Path) -> None:
        argv = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
        self._run(user, argv, log=data.parent / "server.log")

    def _data_root(self, user: str | None) -> Path:
        """``.ragline/postgres`` when the server's user can write there, else /var/tmp."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if user is None:
            return self.folder
        shutil.chown(self.folder, user)
        probe = subprocess.run(as_user(user, ["test", "-w", str(self.folder)]), check=False)
        if probe.returncode == 0:
            return self.folder
        os.chown(self.folder, os.geteuid(), os.getegid())
        base = Path("/var/tmp") if Path("/var/tmp").is_dir() else Path(tempfile.gettempdir())
        digest = hashlib.sha1(str(self.folder).encode()).hexdigest()[:12]
        root = base / f"ragline-postgres-{digest}"
        root.mkdir(mode=0o700, exist_ok=True)
        shutil.chown(root, user)
        return root

    def _initdb(self, user: str | None, bin_dir: Path) -> LocalState:
        root = self._data_root(user)
        data = root / "data"
        if data.exists():
            raise StoreError(
                f"{data} exists but {self.state_file} does not",
                hint=f"remove {data} (a half-made server) and run ragline postgres start again",
            )
        state = LocalState(
            port=free_port(),
            password=secrets.token_urlsafe(18),
            admin_password=secrets.token_urlsafe(18),
            data_root=str(root),
        )
        pwfile = root / "initdb-password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(state.admin_password + "\n")
        if user is not None:
            shutil.chown(pwfile, user)
        try:
            self._run(
                user,
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    state.superuser,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
            )
            with (data / "postgresql.conf").open("a", encoding="utf-8") as f:
                f.write(_CONF.format(port=state.port))
        except BaseException:
            shutil.rmtree(data, ignore_errors=True)
            raise
        finally:
            pwfile.unlink(missing_ok=True)
        self._save(state)
        return state

    def _bootstrap(self, state: LocalState) -> None:
        from ragline.store.postgres._roles import create_postgres_role

        create_postgres_role(
            self.admin_url(),
            state.role,
            password=state.password,
            database=state.database,
            index_search=True,
        )
