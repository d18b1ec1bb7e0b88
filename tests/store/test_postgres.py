"""PostgresStore passes the conformance suite, plus PostgreSQL-only guarantees.

A real PostgreSQL + pgvector server (from the pgserver wheel) runs for the session;
every test gets a fresh database, and connects as an ordinary (non-superuser) role.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragline.errors import InputError, StoreError
from ragline.store import Condition, PostgresStore, Store, matches, open_store
from ragline.store.postgres._cache import PostgresResponseCache
from ragline.testing import StoreConformance
from ragline.testing._store_conformance import EMBEDDER, make_document

from .pg_helpers import fresh_database


def _raw(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_url)
    yield s
    s.close()


class TestPostgresStore(StoreConformance):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[Store]:
        s = PostgresStore(pg_url)
        yield s
        s.close()


# -- filters: the reference semantics, property-tested --------------------------------

VALUES: list[Any] = [0, 1, 2, 10, 1.5, "1", "2", "10", "a", "b", "2021-01-01", "2022-06-30", True]
FIELDS = ["n", "s", "tags", "doc_type", "language", "page", "absent"]


@st.composite
def condition(draw: st.DrawFn) -> Condition:
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(["eq", "ne", "in", "gt", "gte", "lt", "lte"]))
    value = st.sampled_from(VALUES)
    if op == "in":
        return Condition(field, "in", tuple(draw(st.lists(value, min_size=1, max_size=3))))
    return Condition(field, op, draw(value))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def filter_corpus(pg_server: Any) -> Iterator[tuple[PostgresStore, list[Any]]]:
    rng = np.random.default_rng(3)
    for url in fresh_database(pg_server):
        pg = PostgresStore(url)
        chunks = []
        for i in range(40):
            md: dict[str, Any] = {
                "n": VALUES[int(rng.integers(len(VALUES)))],
                "s": VALUES[int(rng.integers(len(VALUES)))],
            }
            if i % 3:
                md["tags"] = [VALUES[int(rng.integers(len(VALUES)))] for _ in range(i % 4)]
            if i % 7 == 0:
                md["n"] = None  # JSON null and a missing key both mean "no value"
            doc = make_document(
                f"d{i}",
                [f"shared word item{i % 5} alpha" + " filler" * int(rng.integers(5))],
                doc_type=["x", "y", None][i % 3],
                language=["en", "es"][i % 2],
                metadata=md,
            )
            pg.upsert_document(*doc)
            chunks += doc[1]
        yield pg, chunks
        pg.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(conds=st.lists(condition(), min_size=1, max_size=2))
def test_filters_match_reference(
    filter_corpus: tuple[PostgresStore, list[Any]], conds: list[Condition]
) -> None:
    pg, chunks = filter_corpus
    expected = {c.id for c in chunks if matches(c, conds)}
    query = EMBEDDER.embed_query("shared word")
    vec = pg.vector_search("default", query, k=100, filters=conds)
    assert {h.chunk.id for h in vec} == expected
    kw = pg.keyword_search("default", "shared", k=100, filters=conds)
    assert {h.chunk.id for h in kw} == expected


# -- tenant isolation in the database --------------------------------------------------


def test_row_level_security_hides_other_tenants(store: PostgresStore, pg_url: str) -> None:
    store.upsert_document(*make_document("a-doc", ["apples"], tenant="a"))
    store.upsert_document(*make_document("b-doc", ["bananas", "berries"], tenant="b"))
    with _raw(pg_url) as conn:  # the application's own role, a query that forgot the tenant
        assert conn.execute("SELECT * FROM chunks").fetchall() == []
        assert conn.execute("SELECT * FROM documents").fetchall() == []
        with conn.transaction():
            conn.execute("SELECT set_config('ragline.tenant', 'b', true)")
            rows = conn.execute("SELECT tenant, id FROM chunks ORDER BY id").fetchall()
            assert rows == [("b", "b-doc#0"), ("b", "b-doc#1")]
            assert conn.execute("SELECT count(*) FROM documents").fetchone() == (1,)
            # Writing another tenant's rows is refused too, and deletes cannot reach them.
            assert conn.execute("DELETE FROM chunks WHERE tenant = 'a'").rowcount == 0
        import psycopg

        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("SELECT set_config('ragline.tenant', 'b', true)")
            conn.execute(
                "UPDATE documents SET tenant = 'a' WHERE id = 'b-doc'"
            )  # moving a row out of the tenant
        role = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert role == (False, False)
    assert store.stats("a").chunks == 1 and store.stats("b").chunks == 2
    assert store.tenants() == ["a", "b"]


# -- keyword search: per-language configurations ---------------------------------------


def test_keyword_search_uses_the_chunk_language(store: PostgresStore, pg_url: str) -> None:
    store.upsert_document(
        *make_document("es", ["Los perros estaban corriendo en el parque."], language="es")
    )
    store.upsert_document(*make_document("en", ["The engines were running."], language="en"))
    store.upsert_document(*make_document("xx", ["Zorgle blorps quickly."], language="xx"))
    assert [h.chunk.id for h in store.keyword_search("default", "correr", k=5)] == ["es#0"]
    assert [h.chunk.id for h in store.keyword_search("default", "engine runs", k=5)] == ["en#0"]
    assert [h.chunk.id for h in store.keyword_search("default", "blorps", k=5)] == ["xx#0"]
    assert store.keyword_search("default", "blorp", k=5) == []  # 'simple': no stemming
    with _raw(pg_url) as conn, conn.transaction():
        conn.execute("SELECT set_config('ragline.tenant', 'default', true)")
        configs = dict(conn.execute("SELECT document_id, ts_config::text FROM chunks").fetchall())
    assert configs == {"es": "spanish", "en": "english", "xx": "simple"}


def test_accents_are_folded(store: PostgresStore) -> None:
    store.upsert_document(*make_document("fr", ["Le café est très élégant."], language="fr"))
    assert [h.chunk.id for h in store.keyword_search("default", "cafe elegant", k=5)] == ["fr#0"]
    assert [h.chunk.id for h in store.keyword_search("default", "CAFÉ", k=5)] == ["fr#0"]


# -- vectors ---------------------------------------------------------------------------


def test_hnsw_index_per_dimension_and_small_tenant_gets_k(
    store: PostgresStore, pg_url: str
) -> None:
    rng = np.random.default_rng(0)
    for i in range(20):
        store.upsert_document(*make_document(f"big{i}", [f"text {i} {j}" for j in range(10)]))
    store.upsert_document(*make_document("s", ["one", "two", "three"], tenant="small"))
    q = rng.standard_normal(EMBEDDER.dimension).astype(np.float32)
    assert len(store.vector_search("small", q, k=3)) == 3
    assert len(store.vector_search("default", q, k=50)) == 50
    with _raw(pg_url) as conn:
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
    assert f"chunks_hnsw_{EMBEDDER.dimension}" in names
    # Another tenant may use another embedder dimension: it gets its own index.
    doc, chunks, _ = make_document("wide", ["wide vectors"], tenant="wide")
    store.upsert_document(doc, chunks, np.ones((1, 128), dtype=np.float32))
    hits = store.vector_search("wide", np.ones(128, dtype=np.float32), k=1)
    assert hits[0].chunk.id == "wide#0" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    with _raw(pg_url) as conn:
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
    assert "chunks_hnsw_128" in names


def test_dimension_mismatch_in_a_tenant_is_refused_and_nothing_lost(
    store: PostgresStore,
) -> None:
    store.upsert_document(*make_document("a", ["first"]))
    doc, chunks, _ = make_document("b", ["second"])
    with pytest.raises(InputError, match="dimensions"):
        store.upsert_document(doc, chunks, np.ones((1, 32), dtype=np.float32))
    assert store.get_document("default", "b") is None
    assert store.stats("default").documents == 1


def test_nul_characters_are_stored_as_replacement_char(store: PostgresStore) -> None:
    store.upsert_document(*make_document("n", ["bad\x00byte text"], metadata={"k": "v\x00"}))
    (chunk,) = store.get_chunks("default", ["n#0"])
    assert chunk.text == "bad\ufffdbyte text" and chunk.metadata == {"k": "v\ufffd"}


# -- opening, URLs and connection faults -----------------------------------------------


def test_open_store_routes_postgres_urls(pg_url: str) -> None:
    for url in (pg_url, pg_url.replace("postgresql://", "postgres://", 1)):
        s = open_store(url)
        assert isinstance(s, PostgresStore)
        assert "app-secret-pw" not in repr(s)
        s.close()


def test_connection_refused_names_host_and_port_not_password() -> None:
    from ragline.testing._postgres import free_port

    port = free_port()
    with pytest.raises(StoreError) as info:
        PostgresStore(f"postgresql://app:hunter2secret@127.0.0.1:{port}/db", connect_timeout=3)
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message
    assert "hunter2secret" not in message and "hunter2secret" not in repr(info.value)
    assert "running" in message  # the hint


def test_wrong_password_is_a_clear_error_and_nothing_lost(
    store: PostgresStore, pg_url: str
) -> None:
    store.upsert_document(*make_document("kept", ["still here"]))
    bad = pg_url.replace("app-secret-pw", "wrong-pw-123")
    with pytest.raises(StoreError) as info:
        PostgresStore(bad)
    message = str(info.value)
    assert "password" in message and "127.0.0.1:" in message
    assert "wrong-pw-123" not in message and "app-secret-pw" not in message
    assert store.get_document("default", "kept") is not None


def test_unknown_database_is_a_clear_error(pg_server: Any) -> None:
    url = pg_server.url("ragline_app", "app-secret-pw", "no_such_db")
    with pytest.raises(StoreError, match="does not exist"):
        PostgresStore(url)


def test_server_restart_reconnects(pg_server: Any, store: PostgresStore) -> None:
    store.upsert_document(*make_document("r", ["before the restart"]))
    pg_server.restart()  # every pooled connection is now dead
    assert store.get_document("default", "r") is not None
    assert [h.chunk.id for h in store.keyword_search("default", "restart", k=3)] == ["r#0"]
    store.upsert_document(*make_document("r2", ["after the restart"]))
    assert store.stats("default").documents == 2


def test_lost_connection_mid_operation_is_retried_once(store: PostgresStore, pg_url: str) -> None:
    """A read whose connection is killed by the server is retried on a fresh one."""
    store.upsert_document(*make_document("x", ["retry me"]))
    calls: list[int] = []

    def read(conn: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # the server kills this backend mid-transaction
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with _raw(pg_url) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))
            conn.execute("SELECT 1")
        return conn.execute("SELECT count(*) FROM chunks").fetchone()[0]

    assert store.run("default", read) == 1
    assert len(calls) == 2
    calls.clear()
    with pytest.raises(StoreError, match="lost the connection"):
        store.run("default", read, idempotent=False)


def test_closed_store_raises_store_error(store: PostgresStore) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.stats("default")


# -- the response cache ----------------------------------------------------------------


def test_response_cache_round_trip(store: PostgresStore) -> None:
    from ragline.models._base import Completion

    clock = [1000.0]
    cache = PostgresResponseCache(store)
    cache._clock = lambda: clock[0]
    cache.put("k", Completion(text="hello", model="m"), ttl_s=10)
    cache.put("k", Completion(text="hello again", model="m"), ttl_s=10)
    got = cache.get("k")
    assert got is not None and got.text == "hello again"
    assert len(cache) == 1 and cache.get("missing") is None
    clock[0] += 11
    assert cache.get("k") is None
    assert cache.purge_expired() == 1 and len(cache) == 0


# -- concurrency -----------------------------------------------------------------------


def test_threads_share_one_store(store: PostgresStore) -> None:
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(10):
                store.upsert_document(*make_document(f"t{t}-{i}", [f"thread {t} doc {i}"]))
                store.keyword_search("default", f"thread {t}", k=3)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.stats("default").documents == 40
    assert len(store.list_documents("default")) == 40
