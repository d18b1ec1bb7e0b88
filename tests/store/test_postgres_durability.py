"""PostgreSQL durability and concurrency with real processes.

- An ingest process SIGKILLed at random moments, several times: every document it
  acknowledged is complete, and no document anywhere is partial.
- Two ingest processes and a third writer (response cache + another tenant) at once:
  no deadlocks, no lost rows.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ragline.store import PostgresStore
from ragline.store.postgres._cache import PostgresResponseCache

from . import pg_helpers
from .pg_helpers import doc_version

WORKER = str(Path(pg_helpers.__file__))


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(WORKER).parents[2] / "src")}
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _reader(proc: subprocess.Popen[str], lines: list[str]) -> threading.Thread:
    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def _check_complete(store: PostgresStore, tenant: str, doc_id: str, version: str) -> None:
    want_doc, want_chunks, _ = doc_version(doc_id, version, tenant=tenant)
    got = store.get_document(tenant, doc_id)
    assert got is not None, f"acknowledged document {doc_id} is missing"
    assert got.content_hash == want_doc.content_hash
    chunks = store.get_chunks(tenant, [c.id for c in want_chunks])
    assert [(c.id, c.content_hash, c.text) for c in chunks] == [
        (c.id, c.content_hash, c.text) for c in want_chunks
    ]


def _assert_no_partial_documents(store: PostgresStore, tenant: str) -> None:
    docs = store.list_documents(tenant)
    total = 0
    for doc in docs:
        version = doc.content_hash.split(":")[1]
        _check_complete(store, tenant, doc.id, version)
        total += doc.chunk_count
    assert store.stats(tenant).chunks == total
    assert store.stats(tenant).documents == len(docs)


def test_sigkill_during_ingest_loses_no_acknowledged_document(pg_url: str) -> None:
    rng = random.Random(7)
    acknowledged: list[str] = []
    store = PostgresStore(pg_url)  # migrate first so the workers start equally fast
    for round_no in range(4):
        lines: list[str] = []
        proc = _spawn("ingest", pg_url, "default", f"r{round_no}-", "100000", str(round_no))
        reader = _reader(proc, lines)
        deadline = time.monotonic() + 60
        while "ready" not in lines and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "ready" in lines, proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.2, 1.5))  # mid-ingest, at a random point
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reader.join(timeout=10)
        acked = [ln for ln in lines if ln.startswith(f"r{round_no}-")]
        assert acked, "the worker acknowledged nothing before it was killed"
        acknowledged += acked
        for doc_id in acked:
            _check_complete(store, "default", doc_id, str(round_no))
        _assert_no_partial_documents(store, "default")
    assert len(acknowledged) >= 4
    store.close()


def test_two_ingesters_and_a_third_writer_at_once(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    n = 40
    # Both ingesters write the *same* document ids (different versions) to collide.
    procs = [
        _spawn("ingest", pg_url, "shared", "d", str(n), "A"),
        _spawn("ingest", pg_url, "shared", "d", str(n), "B"),
        _spawn("mixed", pg_url, str(n)),
    ]
    outputs: list[tuple[str, str]] = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    assert outputs[0][0].split().count("ready") == 1
    assert len([ln for ln in outputs[0][0].splitlines() if ln.startswith("d")]) == n
    assert len([ln for ln in outputs[1][0].splitlines() if ln.startswith("d")]) == n
    # Every shared document is wholly one version or the other, never a mix.
    _assert_no_partial_documents(store, "shared")
    assert store.stats("shared").documents == n
    # The third writer's rows are all there.
    _assert_no_partial_documents(store, "other")
    assert store.stats("other").documents == n
    assert len(PostgresResponseCache(store)) == n
    assert store.tenants() == ["other", "shared"]

    def deadlocks(conn: Any) -> int:
        row = conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        return int(row[0])

    assert store.run(None, deadlocks) == 0
    store.close()
