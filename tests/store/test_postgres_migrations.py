"""PostgreSQL migrations: versioned, idempotent, concurrent, upgradable, all-or-nothing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ragline.errors import StoreError
from ragline.store import PostgresStore
from ragline.store.postgres._migrations import (
    PG_MIGRATIONS,
    PgMigration,
    applied_pg_migrations,
    apply_pg_migrations,
)
from ragline.testing._store_conformance import EMBEDDER, make_document

ALL = [m.name for m in PG_MIGRATIONS]


def _raw(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _tables(conn: Any) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r[0] for r in rows}


def test_applied_in_order_once(pg_url: str) -> None:
    with _raw(pg_url) as conn:
        assert apply_pg_migrations(conn) == ALL
        assert apply_pg_migrations(conn) == []
        assert applied_pg_migrations(conn) == ALL
        assert {"documents", "chunks", "tenant_state", "response_cache"} <= _tables(conn)


def test_concurrent_migrations_apply_each_step_once(pg_url: str) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def migrate() -> None:
        try:
            with _raw(pg_url) as conn:
                barrier.wait()
                results.append(apply_pg_migrations(conn))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=migrate) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(name for r in results for name in r) == sorted(ALL)
    with _raw(pg_url) as conn:
        rows = conn.execute("SELECT name, count(*) FROM ragline_migrations GROUP BY name")
        assert {name: n for name, n in rows} == dict.fromkeys(ALL, 1)


def test_concurrent_store_opens(pg_url: str) -> None:
    """Several processes' worth of stores opening (and migrating) at once."""
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            stores.append(PostgresStore(pg_url, max_connections=1))
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(stores) == 4
    stores[0].upsert_document(*make_document("d", ["visible to all"]))
    assert all(s.get_document("default", "d") is not None for s in stores)
    for s in stores:
        s.close()


def test_upgrade_from_an_older_schema_keeps_data(pg_url: str) -> None:
    """A database at version 0002 with data in it, opened by the current store."""
    with _raw(pg_url) as conn:
        assert apply_pg_migrations(conn, PG_MIGRATIONS[:2]) == ALL[:2]
        vec = "[" + ",".join(["0"] * (EMBEDDER.dimension - 1) + ["1"]) + "]"
        with conn.transaction():
            conn.execute(
                "INSERT INTO documents (tenant, id, source, title, content_hash, embedder, "
                "metadata, chunk_count, updated_at) VALUES "
                "('acme', 'old', 'old.md', 'Old Guide', 'h1', %s, '{\"team\": \"ops\"}', 2, 1)",
                (EMBEDDER.name,),
            )
            for i, text in enumerate(["legacy onboarding checklist", "second legacy part"]):
                conn.execute(
                    "INSERT INTO chunks (tenant, id, document_id, ordinal, text, title, "
                    "content_hash, metadata, embedding) VALUES ('acme', %s, 'old', %s, %s, "
                    "'Old Guide', %s, '{\"team\": \"ops\"}', %s::vector)",
                    (f"old#{i}", i, text, f"hash{i}", vec),
                )
    store = PostgresStore(pg_url)  # applies 0003.. on open
    try:
        with _raw(pg_url) as conn:
            assert applied_pg_migrations(conn) == ALL
        doc = store.get_document("acme", "old")
        assert doc is not None and doc.metadata == {"team": "ops"} and doc.chunk_count == 2
        assert (store.stats("acme").documents, store.stats("acme").chunks) == (1, 2)
        assert store.tenants() == ["acme"]
        hits = store.keyword_search("acme", "onboarding checklists", k=5)
        assert [h.chunk.id for h in hits] == ["old#0"]  # backfilled tsvector, stemmed
        import numpy as np

        q = np.zeros(EMBEDDER.dimension, dtype=np.float32)
        q[-1] = 1
        assert len(store.vector_search("acme", q, k=5)) == 2
        store.upsert_document(*make_document("new", ["fresh"], tenant="acme"))
        assert store.stats("acme").documents == 2
    finally:
        store.close()


def test_failing_migration_leaves_previous_version(pg_url: str) -> None:
    with _raw(pg_url) as conn:
        apply_pg_migrations(conn)
        broken = PgMigration(
            "0999_broken",
            "CREATE TABLE half_done (x int); ALTER TABLE chunks ADD COLUMN extra int; "
            "SELECT 1 / 0;",
        )
        with pytest.raises(StoreError, match="0999_broken") as info:
            apply_pg_migrations(conn, [*PG_MIGRATIONS, broken])
        assert "previous version" in str(info.value)
        assert applied_pg_migrations(conn) == ALL
        assert "half_done" not in _tables(conn)
        cols = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns")}
        assert "extra" not in cols

        def halfway(c: Any) -> None:
            c.execute("CREATE TABLE step_one (x int)")
            raise RuntimeError("crashed halfway")

        with pytest.raises(RuntimeError):
            apply_pg_migrations(conn, [*PG_MIGRATIONS, PgMigration("1000_halfway", halfway)])
        assert "step_one" not in _tables(conn)
        assert applied_pg_migrations(conn) == ALL
        # Fixed, the step applies on the next run.
        fixed = PgMigration("0999_broken", "CREATE TABLE half_done (x int);")
        assert apply_pg_migrations(conn, [*PG_MIGRATIONS, fixed]) == ["0999_broken"]


def test_migration_as_role_without_rights_is_a_clear_error(pg_server: Any, pg_url: str) -> None:
    pg_server.admin_sql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN "
        "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; END IF; END $$"
    )
    dbname = pg_url.rsplit("/", 1)[1]  # PostgreSQL 15+: no CREATE on public for others
    url = pg_server.url("reader", "reader-pw", dbname)
    with pytest.raises(StoreError, match="permission denied") as info:
        PostgresStore(url)
    assert "ragline_migrations" in str(info.value) and "ragline migrate" in str(info.value)
    assert "reader-pw" not in str(info.value)


# -- ragline migrate -------------------------------------------------------------------


def _project(tmp_path: Path, store_url: str) -> Path:
    (tmp_path / "ragline.yaml").write_text(f"store: {store_url}\nembedder: hash\n")
    return tmp_path


def test_cli_migrate_postgres(tmp_path: Path, pg_url: str) -> None:
    from ragline.cli import app

    runner = CliRunner()
    project = _project(tmp_path, pg_url)
    first = runner.invoke(app, ["-C", str(project), "migrate"])
    assert first.exit_code == 0, first.output
    assert [ln.split()[1] for ln in first.output.splitlines() if ln.startswith("applied")] == ALL
    again = runner.invoke(app, ["-C", str(project), "migrate"])
    assert again.exit_code == 0 and "up to date" in again.output
    assert "app-secret-pw" not in first.output + again.output


def test_cli_migrate_sqlite(tmp_path: Path) -> None:
    from ragline.cli import app
    from ragline.store.sqlite._migrations import MIGRATIONS

    runner = CliRunner()
    project = _project(tmp_path, "sqlite:///data.db")
    first = runner.invoke(app, ["-C", str(project), "migrate"])
    assert first.exit_code == 0, first.output
    applied = [ln.split()[1] for ln in first.output.splitlines() if ln.startswith("applied")]
    assert applied == [m.name for m in MIGRATIONS]
    assert (tmp_path / "data.db").exists()
    again = runner.invoke(app, ["-C", str(project), "migrate"])
    assert "up to date" in again.output


def test_cli_migrate_unreachable_server_is_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    from ragline.testing._postgres import free_port

    port = free_port()
    project = _project(tmp_path, f"postgresql://u:topsecret@127.0.0.1:{port}/db")
    proc = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(project), "migrate"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:")
    assert "Traceback" not in proc.stderr and "topsecret" not in proc.stderr
