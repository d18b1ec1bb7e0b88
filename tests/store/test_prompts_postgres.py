"""PostgresPromptStore: conformance, and row-level security on the label moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragline.store import PromptStore
from ragline.store.postgres._prompts import PostgresPromptStore
from ragline.testing import PromptStoreConformance
from ragline.testing._conversation_conformance import FakeClock
from ragline.testing._prompt_conformance import version_of


class TestPostgresPromptStore(PromptStoreConformance):
    @pytest.fixture
    def prompt_store(self, pg_url: str, clock: FakeClock) -> Iterator[PromptStore]:
        store = PostgresPromptStore(pg_url, max_connections=2, clock=clock)
        yield store
        store.close()


def test_label_moves_have_row_level_security(pg_url: str) -> None:
    import psycopg

    store = PostgresPromptStore(pg_url)
    kept = store.add_version(version_of("cite", "Q: {{ question }}"))
    for tenant in ("a", "b"):
        store.set_label(tenant, "cite", "production", kept.version)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # versions are project-wide; label moves are seen only with a tenant set
        assert conn.execute("SELECT count(*) FROM prompt_versions").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM prompt_label_events").fetchone() == (0,)
        with conn.transaction():
            conn.execute("SELECT set_config('ragline.tenant', 'b', true)")
            rows = conn.execute("SELECT tenant, label FROM prompt_label_events").fetchall()
            assert rows == [("b", "production")]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO prompt_label_events (tenant, name, label, version, action, at)"
                    " VALUES ('a', 'cite', 'production', 'forged', 'set', 0)"
                )
    assert store.label("a", "cite", "production") == kept.version
    store.close()
