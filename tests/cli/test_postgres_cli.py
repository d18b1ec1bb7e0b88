"""``ragline postgres …`` and ``ragline store copy`` on a real PostgreSQL.

One project's own server (``ragline postgres start``: the pgserver wheel's
binaries, run as an unprivileged user when the tests run as root) serves the whole
module: ingest the sample knowledge base into it, ask, copy it back to SQLite and
get the same hits, copy SQLite into a database made by ``create-role``, and check
that ``doctor`` fails a superuser connection.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ragline.cli import app
from ragline.errors import ConfigError, InputError

REPO = Path(__file__).resolve().parents[2]
SAMPLE_KB = REPO / "examples" / "sample-kb"
QUESTION = "How long is the battery warranty?"
MISSING = [
    m for m in ("psycopg", "psycopg_pool", "pgserver") if importlib.util.find_spec(m) is None
]

pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"needs {', '.join(MISSING)} (pip install -e '.[dev]')"
)

runner = CliRunner()


def cli(project: Path, *args: str, store: str | None = None) -> Any:
    extra = ["--store", store] if store else []
    return runner.invoke(app, ["-C", str(project), *extra, *args])


def ok(result: Any) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return str(result.output)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from ragline.store import LocalPostgres

    folder = tmp_path_factory.mktemp("pgproject")
    started = ok(cli(folder, "postgres", "start"))
    assert "started PostgreSQL (new server" in started
    url = ok(cli(folder, "postgres", "url")).strip()
    (folder / "ragline.yaml").write_text(f"store: {url}\nembedder: hash\n")
    try:
        yield folder
    finally:
        local = LocalPostgres(folder)
        data_root = local.data_dir().parent
        cli(folder, "postgres", "stop")
        if not data_root.is_relative_to(folder):  # root: the data went to /var/tmp
            shutil.rmtree(data_root, ignore_errors=True)


@pytest.fixture(scope="module")
def ingested(project: Path) -> Path:
    out = ok(cli(project, "ingest", str(SAMPLE_KB)))
    assert "13 added" in out
    return project


def _pg_url(project: Path) -> str:
    return ok(cli(project, "postgres", "url")).strip()


def _admin_url(project: Path, database: str = "postgres") -> str:
    from ragline.store import LocalPostgres

    return LocalPostgres(project).admin_url(database)


# -- the local server ------------------------------------------------------------------


def test_status_and_url(project: Path) -> None:
    out = ok(cli(project, "postgres", "status"))
    assert out.startswith("running: postgresql://ragline:***@127.0.0.1:")
    url = _pg_url(project)
    assert url.startswith("postgresql://ragline:") and url.endswith("/ragline")
    again = ok(cli(project, "postgres", "start"))
    assert "already running" in again and url.split("@")[1] in again
    state = project / ".ragline" / "postgres" / "server.json"
    assert state.stat().st_mode & 0o077 == 0  # passwords: owner only


def test_role_is_ordinary_so_row_level_security_applies(project: Path) -> None:
    import psycopg

    with psycopg.connect(_pg_url(project)) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False, False)
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'ragline'"
        ).fetchone()
        assert owner == ("ragline",)


def test_status_of_a_project_without_a_server(tmp_path: Path) -> None:
    result = cli(tmp_path, "postgres", "status")
    assert result.exit_code == 1 and "not created" in result.output
    assert isinstance(cli(tmp_path, "postgres", "url").exception, Exception)


def test_missing_pgserver_is_one_line_with_the_fix(tmp_path: Path) -> None:
    code = (
        "import importlib.util as u\n"
        "real = u.find_spec\n"
        "u.find_spec = lambda name, *a: None if name == 'pgserver' else real(name, *a)\n"
        "import sys\n"
        "sys.argv = ['ragline', '-C', sys.argv[1], 'postgres', 'start']\n"
        "from ragline.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        timeout=120,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "pgserver" in lines[0] and "pip install 'ragline[postgres-local]'" in lines[0]
    assert not (tmp_path / ".ragline").exists()


# -- ingest, ask, copy back to SQLite ----------------------------------------------------


def test_ask_on_postgres_then_copy_to_sqlite_gives_the_same_hits(ingested: Path) -> None:
    project = ingested
    asked = json.loads(ok(cli(project, "ask", "--json", QUESTION)))
    assert not asked["abstained"] and asked["references"]

    copied = ok(cli(project, "store", "copy", _pg_url(project), "sqlite:///copy.db"))
    assert "default: 13 documents, 83 chunks" in copied
    assert "copied 13 documents, 83 chunks in 1 tenant" in copied
    assert "***" in copied and _pg_url(project).split(":")[2].split("@")[0] not in copied
    assert _trace_ids(_pg_url(project), project) == _trace_ids("sqlite:///copy.db", project)

    again = json.loads(ok(cli(project, "ask", "--json", QUESTION, store="sqlite:///copy.db")))
    assert again["text"] == asked["text"]
    assert [r["chunk_id"] for r in again["references"]] == [
        r["chunk_id"] for r in asked["references"]
    ]
    for mode in ("dense", "hybrid"):
        pg = json.loads(ok(cli(project, "search", "--json", "--mode", mode, "battery", "-k", "5")))
        lite = json.loads(
            ok(
                cli(
                    project,
                    "search",
                    "--json",
                    "--mode",
                    mode,
                    "battery",
                    "-k",
                    "5",
                    store="sqlite:///copy.db",
                )
            )
        )
        assert [h["chunk_id"] for h in lite["hits"]] == [h["chunk_id"] for h in pg["hits"]], mode
        if mode == "dense":
            assert np.allclose(
                [h["score"] for h in lite["hits"]], [h["score"] for h in pg["hits"]], atol=1e-5
            )
    _same_vectors(_pg_url(project), "sqlite:///copy.db", project)


def _trace_ids(url: str, base: Path) -> list[tuple[str, int]]:
    from ragline.store import open_backend

    backend = open_backend(url, base_dir=base)
    try:
        return [(t.trace_id, t.spans) for t in backend.traces.list_traces(limit=1000)]
    finally:
        backend.close()


def _same_vectors(url_a: str, url_b: str, base: Path) -> None:
    """Every document, chunk and (within float tolerance) vector of ``url_a`` is in ``url_b``."""
    from ragline.store import open_backend

    a, b = open_backend(url_a, base_dir=base), open_backend(url_b, base_dir=base)
    try:
        assert a.documents.tenants() == b.documents.tenants()
        for tenant in a.documents.tenants():
            docs = a.documents.list_documents(tenant)
            assert [d.id for d in docs] == [d.id for d in b.documents.list_documents(tenant)]
            for doc in docs:
                other = b.documents.get_document(tenant, doc.id)
                assert other is not None
                assert (other.content_hash, other.metadata, other.embedder) == (
                    doc.content_hash,
                    doc.metadata,
                    doc.embedder,
                )
                chunks = a.documents.document_chunks(tenant, doc.id)
                assert b.documents.document_chunks(tenant, doc.id) == chunks
                ids = [c.id for c in chunks]
                va, vb = (
                    a.documents.get_embeddings(tenant, ids),
                    b.documents.get_embeddings(tenant, ids),
                )
                assert va.shape == vb.shape and np.allclose(va, vb, atol=1e-6)
    finally:
        a.close()
        b.close()


def test_copy_sqlite_into_a_database_made_by_create_role(ingested: Path, tmp_path: Path) -> None:
    project = ingested
    ok(cli(project, "store", "copy", _pg_url(project), "sqlite:///seed.db", "--no-traces"))
    made = cli(
        project,
        "postgres",
        "create-role",
        _admin_url(project),
        "--role",
        "copier",
        "--database",
        "copied",
    )
    ok(made)
    url = made.stdout.strip()
    assert url.startswith("postgresql://copier:") and url.endswith("/copied")

    out = ok(cli(project, "store", "copy", "sqlite:///seed.db", url))
    assert "copied 13 documents, 83 chunks" in out
    _same_vectors("sqlite:///seed.db", url, project)
    refused = cli(project, "store", "copy", "sqlite:///seed.db", url)
    assert refused.exit_code == 1 and isinstance(refused.exception, InputError)
    assert "not empty" in str(refused.exception)
    same = cli(project, "store", "copy", url, url.replace("127.0.0.1", "localhost"))
    assert same.exit_code == 1 and "same store" in str(same.exception)


def test_create_role_on_an_existing_database(ingested: Path) -> None:
    import psycopg

    project = ingested
    made = cli(
        project, "postgres", "create-role", _admin_url(project, "ragline"), "--role", "reader2"
    )
    ok(made)
    url = made.stdout.strip()
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
        # Granted the existing tables; row-level security shows nothing without a tenant.
        assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (0,)
    # ragline itself works through the grants: migrations up to date, tenants readable.
    from ragline.store import open_backend

    backend = open_backend(url)
    try:
        assert backend.documents.stats("default").chunks == 83
        assert backend.tenant_isolation() == (
            True,
            "row-level security applies (connected as reader2)",
        )
    finally:
        backend.close()
    taken = cli(project, "postgres", "create-role", _admin_url(project), "--role", "reader2")
    assert taken.exit_code == 1 and "already exists" in str(taken.exception)
    bad = cli(project, "postgres", "create-role", _admin_url(project), "--role", "Robert'); --")
    assert bad.exit_code == 1 and "invalid role name" in str(bad.exception)
    not_super = cli(project, "postgres", "create-role", _pg_url(project), "--role", "other")
    assert not_super.exit_code == 1 and "superuser" in str(not_super.exception)


def test_create_role_password_from_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEW_ROLE_PW", "pw-from-env")
    out = ok(
        cli(
            project,
            "postgres",
            "create-role",
            _admin_url(project),
            "--role",
            "envrole",
            "--password-env",
            "NEW_ROLE_PW",
        )
    )
    assert "envrole:pw-from-env@" in out
    assert "created role envrole" in out
    missing = cli(
        project, "postgres", "create-role", _admin_url(project), "--password-env", "NOPE_X"
    )
    assert isinstance(missing.exception, ConfigError) and "NOPE_X" in str(missing.exception)


# -- doctor ------------------------------------------------------------------------------


def test_doctor_passes_the_ordinary_role_and_fails_a_superuser(project: Path) -> None:
    out = ok(cli(project, "doctor"))
    assert "ok   tenant isolation: row-level security applies (connected as ragline)" in out
    failed = cli(project, "doctor", store=_admin_url(project, "ragline"))
    assert failed.exit_code == 1
    text = " ".join(failed.output.split())
    assert "FAIL tenant isolation: connected as postgres, a superuser" in text
    assert "ragline postgres create-role" in text
    from ragline.store import LocalPostgres

    state = LocalPostgres(project).load()
    assert state is not None and state.admin_password not in failed.output


# -- stop and start again ----------------------------------------------------------------


def test_stop_then_start_keeps_the_data(ingested: Path) -> None:
    project = ingested
    url = _pg_url(project)
    assert ok(cli(project, "postgres", "stop")).strip() == "stopped"
    stopped = cli(project, "postgres", "status")
    assert stopped.exit_code == 1 and stopped.output.startswith("stopped")
    assert ok(cli(project, "postgres", "stop")).strip() == "not running"
    restarted = ok(cli(project, "postgres", "start"))
    assert "started PostgreSQL," in restarted and "new server" not in restarted
    assert _pg_url(project) == url
    asked = json.loads(ok(cli(project, "ask", "--json", QUESTION)))
    assert asked["references"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback is for root's unreachable folders")
def test_as_root_an_unreachable_project_keeps_its_data_in_var_tmp(tmp_path: Path) -> None:
    from ragline.store import LocalPostgres
    from ragline.store._pgserver import ensure_unprivileged_user

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    local = LocalPostgres(private / "project")
    root = local._data_root(ensure_unprivileged_user())
    try:
        assert root.parent in (Path("/var/tmp"), Path(tempfile.gettempdir()))
        assert root.name.startswith("ragline-postgres-") and root.stat().st_mode & 0o077 == 0
        assert local.folder.is_dir() and local.folder.stat().st_uid == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)
