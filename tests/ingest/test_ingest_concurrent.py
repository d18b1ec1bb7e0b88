"""Two ingests of one folder at once: every document done once, the other run told so.

Each run has its own store connection (two ``SQLiteStore`` on one file, two
``PostgresStore`` on one database, or two processes); embedder calls are counted.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import ragline
from ragline.errors import EmbedderError, StoreError
from ragline.ingest import Ingestor, IngestReport, JsonFields
from ragline.store import ClaimHolder, ClaimOutcome, MemoryStore, SQLiteStore, Store
from ragline.types import Chunk, Document

from .helpers import CountingEmbedder, make_settings

N_FILES = 6
PG_MISSING = [
    m for m in ("psycopg", "psycopg_pool", "pgserver") if importlib.util.find_spec(m) is None
]
_pg_names = itertools.count()
StoreFactory = Callable[[], Store]


def _write_folder(project: Path, n: int = N_FILES) -> Path:
    docs = project / "docs"
    docs.mkdir(exist_ok=True)
    for i in range(n):
        # distinct texts: no chunk of one file can reuse another's vector
        words = " ".join(f"word{i}x{j}" for j in range(120))
        (docs / f"doc{i}.md").write_text(f"# Topic {i}\n\n{words}\n", encoding="utf-8")
    return docs


class GatedEmbedder(CountingEmbedder):
    """Blocks in its first call until ``go`` is set (after setting ``entered``)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.go = threading.Event()

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.entered.set()
        assert self.go.wait(30), "the test never let the first run go on"
        return super().embed_documents(texts)


class SlowEmbedder(CountingEmbedder):
    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        time.sleep(0.01)
        return super().embed_documents(texts)


def _statuses(report: IngestReport) -> dict[str, str]:
    """Document id → status, for a folder of plain files (one document each)."""
    out: dict[str, str] = {}
    for r in report.files:
        for doc_id in r.ids or [r.path]:
            assert doc_id not in out, f"{doc_id} reported twice in one run"
            out[doc_id] = r.status
    return out


# -- backends: each run gets its own connection ------------------------------------


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Any]:
    if PG_MISSING:
        pytest.skip(f"PostgreSQL tests need {', '.join(PG_MISSING)} (pip install -e '.[dev]')")
    from ragline.testing._postgres import TempPostgres

    server = TempPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens a new connection to one shared store per call (all closed at the end)."""
    if request.param == "memory":  # one object: its lock is the only "connection"
        shared = MemoryStore()
        yield lambda: shared
        return
    opened: list[Store] = []
    server: Any = None
    name = f"c{next(_pg_names)}"
    if request.param == "sqlite":
        db = tmp_path / "ragline.db"
        SQLiteStore(db).close()  # migrated once, before several connections open it

        def open_store() -> Store:
            opened.append(SQLiteStore(db))
            return opened[-1]

    else:
        from ragline.store import PostgresStore

        server = request.getfixturevalue("pg_server")
        url = str(server.create_database(name))

        def open_store() -> Store:
            opened.append(PostgresStore(url, max_connections=4))
            return opened[-1]

    try:
        yield open_store
    finally:
        for s in opened:
            s.close()
        if server is not None:
            server.drop_database(name)


# -- two runs at once --------------------------------------------------------------


def test_a_second_run_leaves_what_the_first_is_doing_to_it(
    stores: StoreFactory, project: Path
) -> None:
    docs = _write_folder(project)
    first_embedder, second_embedder = GatedEmbedder(), CountingEmbedder()
    first = Ingestor(stores(), first_embedder, make_settings(), project_dir=project)
    second = Ingestor(stores(), second_embedder, make_settings(), project_dir=project)
    reports: list[IngestReport] = []
    runner = threading.Thread(target=lambda: reports.append(first.ingest([docs])))
    runner.start()
    try:
        assert first_embedder.entered.wait(30)  # every document claimed, none written
        during = second.ingest([docs])
    finally:
        first_embedder.go.set()
        runner.join(30)
    assert not runner.is_alive() and len(reports) == 1
    after = reports[0]

    # the second run did nothing and said why; the first did everything once
    ids = {f"docs/doc{i}.md" for i in range(N_FILES)}
    assert _statuses(during) == dict.fromkeys(ids, "busy")
    assert during.totals()["busy"] == N_FILES and during.totals()["added"] == 0
    assert during.ok and during.chunks_embedded == 0 and second_embedder.calls == []
    busy = during.busy[0]
    assert "another run" in (busy.error or "") and f"pid {os.getpid()}" in (busy.error or "")
    assert _statuses(after) == dict.fromkeys(ids, "added")
    store = stores()
    chunks = store.stats("default").chunks
    assert len(first_embedder.texts) == chunks == after.chunks_embedded
    assert len(set(first_embedder.texts)) == chunks  # each chunk embedded exactly once

    # a run after both reports everything unchanged, as before claims existed
    again = Ingestor(stores(), CountingEmbedder(), make_settings(), project_dir=project)
    rerun = again.ingest([docs])
    assert _statuses(rerun) == dict.fromkeys(ids, "unchanged") and rerun.chunks_embedded == 0


def test_two_free_running_ingests_do_each_document_once(
    stores: StoreFactory, project: Path
) -> None:
    docs = _write_folder(project, 12)
    embedders = [SlowEmbedder(), SlowEmbedder()]
    # batch_size 1: a flush every few chunks, so the two runs interleave
    ingestors = [
        Ingestor(stores(), e, make_settings(batch_size=1), project_dir=project) for e in embedders
    ]
    start = threading.Barrier(2)
    reports: list[IngestReport | BaseException] = [RuntimeError("not run")] * 2

    def run(n: int) -> None:
        start.wait()
        try:
            reports[n] = ingestors[n].ingest([docs])
        except BaseException as e:  # pragma: no cover - asserted below
            reports[n] = e

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    done = [r for r in reports if isinstance(r, IngestReport)]
    assert len(done) == 2, reports
    statuses = [_statuses(r) for r in done]
    ids = {f"docs/doc{i}.md" for i in range(12)}
    for doc_id in ids:
        seen = sorted(s[doc_id] for s in statuses)
        # added by exactly one run; the other left it (busy) or found it done (unchanged)
        assert seen in (["added", "busy"], ["added", "unchanged"]), (doc_id, seen)
    texts = [t for e in embedders for t in e.texts]
    chunks = stores().stats("default").chunks
    assert len(texts) == len(set(texts)) == chunks
    assert sum(r.chunks_embedded for r in done) == chunks


def test_records_of_a_jsonl_file_held_by_another_run_are_busy(
    store: MemoryStore, project: Path
) -> None:
    path = project / "faq.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "text": f"answer number {i} here"}) + "\n" for i in range(4)
        )
    )
    other = ClaimHolder.new()
    ing = Ingestor(store, CountingEmbedder(), make_settings(), project_dir=project)
    # another run holds q1 and q2 (any version: one run per document at a time)
    store.claim_documents("default", {"q1": "x", "q2": "y"}, holder=other, timeout_s=600)
    fields = JsonFields("id")
    report = ing.ingest([path], json_fields=fields)
    by_status = {r.status: r for r in report.files}
    assert by_status["added"].documents == 2
    assert by_status["busy"].documents == 2 and by_status["busy"].ids == ["q1", "q2"]
    assert "2 documents being ingested by another run" in (by_status["busy"].error or "")
    assert {d.id for d in store.list_documents("default")} == {"q0", "q3"}
    store.release_documents("default", ["q1", "q2"], holder=other)
    report = ing.ingest([path], json_fields=fields)
    assert report.totals()["added"] == 2 and report.totals()["unchanged"] == 2


# -- stale claims ------------------------------------------------------------------


def test_a_claim_older_than_the_timeout_is_taken_over(store: MemoryStore, project: Path) -> None:
    docs = _write_folder(project, 2)
    # a run on another host (its process cannot be checked) claimed doc0, then vanished
    gone = ClaimHolder("vanished-run", "another-host.invalid", 12345)
    store.claim_documents("default", {"docs/doc0.md": "any"}, holder=gone, timeout_s=600)
    patient = Ingestor(store, CountingEmbedder(), make_settings(), project_dir=project)
    assert _statuses(patient.ingest([docs]))["docs/doc0.md"] == "busy"
    time.sleep(0.05)
    hasty = Ingestor(
        store, CountingEmbedder(), make_settings(claim_timeout_s=0.01), project_dir=project
    )
    assert _statuses(hasty.ingest([docs])) == {
        "docs/doc0.md": "added",
        "docs/doc1.md": "unchanged",
    }


_HOLDER_SCRIPT = """
import sys, time
from pathlib import Path
from ragline.embed._hash import HashEmbedder
from ragline.ingest import Ingestor
from ragline.store import SQLiteStore

class Stuck(HashEmbedder):
    def embed_documents(self, texts):
        Path(sys.argv[3]).write_text("embedding")
        time.sleep(600)  # until killed

store = SQLiteStore(sys.argv[1])
Ingestor(store, Stuck(64), project_dir=sys.argv[2]).ingest([Path(sys.argv[2]) / "docs"])
"""


def test_a_crashed_process_s_claims_are_taken_over_at_once(project: Path, tmp_path: Path) -> None:
    """Another process holds the folder (busy), is killed, and the next run does it all."""
    docs = _write_folder(project, 3)
    db, marker = tmp_path / "ragline.db", tmp_path / "embedding"
    SQLiteStore(db).close()  # migrated before two processes open it
    env = {**os.environ, "PYTHONPATH": str(Path(ragline.__file__).resolve().parents[1])}
    script = textwrap.dedent(_HOLDER_SCRIPT)
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(db), str(project), str(marker)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert holder.poll() is None, "the holding process exited early"
            assert time.monotonic() < deadline, "the holding process never started embedding"
            time.sleep(0.05)
        with SQLiteStore(db) as store:
            embedder = CountingEmbedder()
            ing = Ingestor(store, embedder, make_settings(), project_dir=project)
            during = ing.ingest([docs])
            assert set(_statuses(during).values()) == {"busy"} and embedder.calls == []
            assert f"pid {holder.pid} " in (during.busy[0].error or "")
            holder.send_signal(signal.SIGKILL)  # dies holding its claims
            holder.wait(30)
            after = ing.ingest([docs])
            assert set(_statuses(after).values()) == {"added"}
            assert len(embedder.texts) == store.stats("default").chunks
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)


# -- claims are released on every way out ------------------------------------------


def _claimable(store: Store, ids: list[str]) -> bool:
    """Whether a new run could claim all ``ids`` now (nobody holds them)."""
    probe = ClaimHolder.new()
    outcome = store.claim_documents(
        "default", dict.fromkeys(ids, "probe"), holder=probe, timeout_s=600
    )
    store.release_documents("default", outcome.claimed, holder=probe)
    return not outcome.busy


class Watching(MemoryStore):
    """A memory store that records what was claimed and released, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.claims: list[list[str]] = []
        self.releases: list[list[str]] = []

    def claim_documents(self, tenant: str, documents: Any, **kw: Any) -> ClaimOutcome:
        out = super().claim_documents(tenant, documents, **kw)
        self.claims.append(list(out.claimed))
        return out

    def release_documents(self, tenant: str, document_ids: Any, **kw: Any) -> None:
        self.releases.append(list(document_ids))
        super().release_documents(tenant, document_ids, **kw)


class FailingEmbedder(CountingEmbedder):
    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise EmbedderError("the embedding server went away", hint="start it again")


class FailingStore(Watching):
    """Fails the second document write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def upsert_document(self, document: Document, chunks: Sequence[Chunk], embeddings: Any) -> None:
        self.writes += 1
        if self.writes == 2:
            raise StoreError("disk full", hint="free some space")
        super().upsert_document(document, chunks, embeddings)


class Interrupted(BaseException):
    pass


IDS3 = [f"docs/doc{i}.md" for i in range(3)]


def test_claims_are_released_when_the_embedder_fails(project: Path) -> None:
    docs = _write_folder(project, 3)
    store = Watching()
    with pytest.raises(EmbedderError):
        Ingestor(store, FailingEmbedder(), make_settings(), project_dir=project).ingest([docs])
    assert sorted(d for c in store.claims for d in c) == IDS3  # held while embedding
    assert _claimable(store, IDS3)
    report = Ingestor(store, CountingEmbedder(), make_settings(), project_dir=project).ingest(
        [docs]
    )
    assert set(_statuses(report).values()) == {"added"}


def test_claims_are_released_when_a_write_fails_midway(project: Path) -> None:
    docs = _write_folder(project, 3)
    store = FailingStore()
    with pytest.raises(StoreError):
        Ingestor(store, CountingEmbedder(), make_settings(), project_dir=project).ingest([docs])
    assert store.writes == 2 and sorted(d for c in store.claims for d in c) == IDS3
    assert _claimable(store, IDS3)
    report = Ingestor(store, CountingEmbedder(), make_settings(), project_dir=project).ingest(
        [docs]
    )
    assert sorted(_statuses(report).values()) == ["added", "added", "unchanged"]


def test_claims_are_released_on_an_interrupt(project: Path) -> None:
    docs = _write_folder(project, 3)
    store = Watching()

    def stop(done: int, total: int, path: str) -> None:
        if done == 2:  # two files read and queued (claimed), none written
            raise Interrupted

    ing = Ingestor(store, CountingEmbedder(), make_settings(), project_dir=project)
    with pytest.raises(Interrupted):
        ing.ingest([docs], on_progress=stop)
    assert store.claims == [IDS3[:1], IDS3[1:2]] and store.stats("default").documents == 0
    assert _claimable(store, IDS3)


def test_a_file_that_fails_to_parse_is_released_at_once(project: Path) -> None:
    docs = _write_folder(project, 1)
    (docs / "broken.pdf").write_bytes(b"not a pdf at all")
    store = Watching()
    report = Ingestor(store, CountingEmbedder(), make_settings(), project_dir=project).ingest(
        [docs]
    )
    assert _statuses(report) == {"docs/broken.pdf": "failed", "docs/doc0.md": "added"}
    # the broken file is claimed and released before the next file is read
    assert store.claims == [["docs/broken.pdf"], ["docs/doc0.md"]]
    assert store.releases == [["docs/broken.pdf"], ["docs/doc0.md"]]
    assert _claimable(store, ["docs/broken.pdf", "docs/doc0.md"])
