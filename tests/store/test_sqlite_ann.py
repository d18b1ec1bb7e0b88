"""The SQLite store's approximate vector index: same answers as the exact scan, and
rebuilt or caught up from SQLite whenever its file is missing, stale or damaged."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragline.store import SQLiteStore, Store, parse_filter
from ragline.store.sqlite._ann import AnnFiles, ann_dir
from ragline.testing import StoreConformance
from ragline.types import Chunk, Document

DIM = 32
TENANT = "default"


class TestSQLiteStoreWithAnn(StoreConformance):
    """The whole store contract, with every vector search planned through the index."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        s = SQLiteStore(tmp_path / "store.db", ann_threshold=1)
        yield s
        s.close()


def _vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, DIM)).astype(np.float32)
    v = centres[rng.integers(0, 8, n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def add_docs(store: SQLiteStore, first: int, count: int, *, per_doc: int = 10) -> None:
    """Documents ``d<first>`` … with ``per_doc`` chunks each; half are ``kind=even``."""
    for d in range(first, first + count):
        doc_id = f"d{d}"
        kind = "even" if d % 2 == 0 else "odd"
        doc = Document(
            id=doc_id,
            source=f"{doc_id}.txt",
            title=doc_id,
            content_hash=doc_id,
            embedder="test-32",
            metadata={"kind": kind},
        )
        chunks = [
            Chunk(
                id=f"{doc_id}#{i}",
                document_id=doc_id,
                ordinal=i,
                text=f"chunk {i} of {doc_id}",
                title=doc_id,
                content_hash=f"{doc_id}#{i}",
                metadata={"kind": kind},
            )
            for i in range(per_doc)
        ]
        store.upsert_document(doc, chunks, _vectors(per_doc, seed=d))


def ids(store: SQLiteStore, q: np.ndarray, k: int = 10, filters: str | None = None) -> list[str]:
    conds = [parse_filter(filters)] if filters else []
    return [h.chunk.id for h in store.vector_search(TENANT, q, k=k, filters=conds)]


QUERIES = _vectors(20, seed=10_000)


def exact_ids(db: Path, q: np.ndarray, k: int = 10, filters: str | None = None) -> list[str]:
    with SQLiteStore(db, ann_threshold=0) as exact:
        return ids(exact, q, k, filters)


def recall(db: Path, store: SQLiteStore, filters: str | None = None) -> float:
    found = 0
    for q in QUERIES:
        found += len(set(ids(store, q, 10, filters)) & set(exact_ids(db, q, 10, filters)))
    return found / (10 * len(QUERIES))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-chunk store whose ANN index has been built and written once."""
    db = tmp_path_factory.mktemp("ann") / "ragline.db"
    with SQLiteStore(db, ann_threshold=1) as s:
        add_docs(s, 0, 200)
        ids(s, QUERIES[0])
    return db


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    """A private copy of ``built`` (database and index folder)."""
    import shutil

    target = tmp_path / "ragline.db"
    shutil.copy(built, target)
    shutil.copytree(str(built) + ".ann", str(target) + ".ann")
    return target


def files(db: Path) -> AnnFiles:
    folder = ann_dir(str(db))
    assert folder is not None
    return AnnFiles.of(folder, TENANT)


def test_index_is_written_beside_the_database_with_a_manifest(db: Path) -> None:
    f = files(db)
    manifest = json.loads(f.manifest.read_text())
    assert f.index.stat().st_size == manifest["bytes"]
    assert manifest["dimension"] == DIM and manifest["count"] == 2000
    assert manifest["embedders"] == ["test-32"] and manifest["tenant"] == TENANT


def test_ann_answers_like_the_exact_scan(db: Path) -> None:
    with SQLiteStore(db, ann_threshold=1) as s:
        assert recall(db, s) >= 0.95  # the bar; HNSW builds vary run to run
        q = QUERIES[0]
        ann_hits = s.vector_search(TENANT, q, k=5)
    with SQLiteStore(db, ann_threshold=0) as exact:
        exact_hits = exact.vector_search(TENANT, q, k=5)
    # scores are the exact cosines (rescored from the store's vectors)
    by_id = {h.chunk.id: h.score for h in exact_hits}
    for h in ann_hits:
        if h.chunk.id in by_id:
            assert h.score == pytest.approx(by_id[h.chunk.id], abs=1e-6)


def test_filters_post_filter_or_pre_filter(db: Path) -> None:
    with SQLiteStore(db, ann_threshold=1) as s:
        assert recall(db, s, "kind=even") >= 0.95  # half pass: ANN with overfetch
        for q in QUERIES[:5]:  # one document passes: exact, never short of hits
            assert ids(s, q, 10, "document_id=d7") == exact_ids(db, q, 10, "document_id=d7")


def test_incremental_ingest_and_delete_are_searchable_at_once(db: Path) -> None:
    with SQLiteStore(db, ann_threshold=1) as s:
        ids(s, QUERIES[0])  # loaded
        add_docs(s, 500, 5)
        target = _vectors(10, seed=502)[3]
        assert ids(s, target, 1) == ["d502#3"]
        s.delete_document(TENANT, "d502")
        assert "d502#3" not in ids(s, target, 10)
    manifest = json.loads(files(db).manifest.read_text())
    assert manifest["count"] == 2040  # written back on close, with the new generation
    with SQLiteStore(db, ann_threshold=1) as s:
        assert recall(db, s) >= 0.95  # the bar; HNSW builds vary run to run


def test_missing_index_is_rebuilt_with_a_log_line(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    f = files(db)
    f.index.unlink()
    with caplog.at_level(logging.WARNING, "ragline.store"), SQLiteStore(db, ann_threshold=1) as s:
        assert recall(db, s) >= 0.95  # the bar; HNSW builds vary run to run
    assert "the index file is missing; rebuilding it from the store" in caplog.text
    assert f.index.exists()


def test_a_large_index_is_built_in_the_background_while_exact_answers(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragline.store import _plan
    from ragline.store.sqlite import _vector_plan

    monkeypatch.setattr(_vector_plan, "SYNC_BUILD_MAX", 100)  # 2,000 chunks: background
    f = files(db)
    f.index.unlink()
    with SQLiteStore(db, ann_threshold=1) as s:
        with _plan.collect_plan() as plan:
            first = ids(s, QUERIES[0])
        # the search did not wait for the build: the exact scan answered it
        assert plan["ragline.vector.plan"] == "exact"
        assert plan["ragline.vector.reason"] == "ANN index building"
        assert first == exact_ids(db, QUERIES[0])
        s._ann.wait_built(TENANT, timeout=120)
        assert not s._ann.building(TENANT)
        with _plan.collect_plan() as plan:
            ids(s, QUERIES[1])
        assert plan["ragline.vector.plan"] == "ann"
        assert recall(db, s) >= 0.95  # the bar; HNSW builds vary run to run
    assert f.index.exists()  # written by the first search after the build


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage manifest"])
def test_damaged_index_is_rebuilt(db: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    f = files(db)
    if damage == "truncate":
        with open(f.index, "r+b") as fh:
            fh.truncate(f.index.stat().st_size // 2)
    elif damage == "flip":
        data = bytearray(f.index.read_bytes())
        data[len(data) // 2] ^= 0xFF
        f.index.write_bytes(bytes(data))
    else:
        f.manifest.write_text("{not json")
    with caplog.at_level(logging.WARNING, "ragline.store"), SQLiteStore(db, ann_threshold=1) as s:
        assert recall(db, s) >= 0.95  # the bar; HNSW builds vary run to run
    assert "rebuilding it from the store" in caplog.text
    json.loads(f.manifest.read_text())  # rewritten whole


def test_index_of_another_dimension_is_rebuilt(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = files(db)
    manifest = json.loads(f.manifest.read_text())
    manifest["dimension"] = 768
    f.manifest.write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING, "ragline.store"), SQLiteStore(db, ann_threshold=1) as s:
        assert recall(db, s) >= 0.95  # the bar; HNSW builds vary run to run
    assert "768-d vectors (another embedder's)" in caplog.text
    assert json.loads(f.manifest.read_text())["dimension"] == DIM


def test_another_process_write_is_caught_up(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    with SQLiteStore(db, ann_threshold=1) as reader:
        ids(reader, QUERIES[0])
        with SQLiteStore(db, ann_threshold=0) as writer:  # never touches the index
            add_docs(writer, 600, 2)
            writer.delete_document(TENANT, "d3")
        with caplog.at_level(logging.WARNING, "ragline.store"):
            target = _vectors(10, seed=601)[4]
            assert ids(reader, target, 1) == ["d601#4"]
            assert not any(i.startswith("d3#") for i in ids(reader, _vectors(10, seed=3)[0], 10))
        assert "was stale" in caplog.text


KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path[:0] = [{src!r}, {tests!r}]
    from test_sqlite_ann import add_docs
    from ragline.store import SQLiteStore
    from ragline.store.sqlite import _vector_plan

    def die(*args, **kwargs):  # the SQLite commit is done; the index write never happens
        os.kill(os.getpid(), signal.SIGKILL)

    store = SQLiteStore({db!r}, ann_threshold=1)
    store.vector_search("default", __import__("numpy").ones(32, dtype="float32"), k=1)
    store.delete_document("default", "d199")  # the last rows: SQLite reuses their ids
    _vector_plan.AnnIndexes.applied = die
    add_docs(store, 700, 1)
    """
)


def test_kill_9_between_commit_and_index_write_loses_nothing(db: Path) -> None:
    script = KILLED_WRITER.format(
        src=str(Path(__file__).parents[2] / "src"), tests=str(Path(__file__).parent), db=str(db)
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    with SQLiteStore(db, ann_threshold=1) as s:
        assert [d.id for d in s.list_documents(TENANT) if d.id in ("d700", "d199")] == ["d700"]
        target = _vectors(10, seed=700)[2]
        assert ids(s, target, 1) == ["d700#2"]  # not lost
        hits = ids(s, _vectors(10, seed=199)[5], 50)
        assert not any(h.startswith("d199#") for h in hits)  # no phantom
        assert recall(db, s) >= 0.95  # the bar; HNSW builds vary run to run


def test_disk_full_while_writing_falls_back_to_exact(
    db: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from usearch.index import Index

    files(db).index.unlink()  # the next search rebuilds and writes it

    def full(self: object, path: object = None, progress: object = None) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Index, "save", full)
    with caplog.at_level(logging.WARNING, "ragline.store"), SQLiteStore(db, ann_threshold=1) as s:
        for q in QUERIES[:5]:
            assert ids(s, q) == exact_ids(db, q)
        assert "No space left on device" in caplog.text
        assert "use the exact scan until its next write" in caplog.text
        assert s.stats(TENANT).chunks == 2000  # the database is untouched
        monkeypatch.undo()
        add_docs(s, 800, 1)  # the next write re-enables the index
        assert ids(s, _vectors(10, seed=800)[0], 1) == ["d800#0"]
    assert files(db).index.exists()
    assert not list(files(db).index.parent.glob("*.tmp"))
    os.sync()


@pytest.mark.parametrize(("threshold", "plan"), [(1, "ann"), (0, "exact"), (1000, "exact")])
def test_project_setting_and_the_plan_on_the_dense_span(
    tmp_path: Path, threshold: int, plan: str
) -> None:
    import ragline
    from ragline.testing import HashEmbedder

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "warranty.md").write_text(
        "# Warranty\n\nEvery X200 comes with a two-year warranty. The warranty covers the "
        "motor and the battery.\n"
    )
    (docs / "shipping.md").write_text("# Shipping\n\nOrders ship within three days.\n")
    (tmp_path / "ragline.yaml").write_text(
        f"store: sqlite:///ragline.db\nembedder: hash\nretrieval: {{ann_threshold: {threshold}}}\n"
    )
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as project:
        project.ingest([docs])
        answer = project.ask("How long is the warranty?")
        assert "two-year warranty" in answer.hits[0].chunk.text
        spans = {s.name: s for s in project.get_trace(answer.trace_id)}
    attrs = spans["ragline.retriever.dense"].attributes
    assert attrs["ragline.vector.plan"] == plan
    assert (tmp_path / "ragline.db.ann").exists() == (plan == "ann")
    if plan == "ann":
        assert attrs["ragline.vector.candidates"] >= 1 and attrs["ragline.vector.overfetch"] == 2


def test_planner_choices() -> None:
    from ragline.store.sqlite._vector_plan import plan_search

    assert plan_search(100, 10, None, 0).reason == "ann off"
    assert plan_search(100, 10, None, 1000).method == "exact"
    half = np.arange(10_000) % 2 == 0
    p = plan_search(10_000, 10, half, 1000)
    assert (p.method, p.overfetch, p.candidates) == ("ann", 4, 40)
    rare = np.arange(10_000) % 100 == 0
    assert plan_search(10_000, 10, rare, 1000).reason == "selective filter (100 of 10000 rows)"
