"""Tracing never breaks a request: a locked database, a full disk, a killed process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

from ragline.store.sqlite import SQLiteTraceStore
from ragline.trace import SpanRecord
from ragline.trace._setup import build_tracer

from .helpers import make_project


def test_asks_succeed_while_the_database_is_locked_and_drops_are_counted(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path, "tracing: {write_timeout_ms: 50, batch_size: 4}\n")
    expected = project.ask("How long is the warranty?").text
    project.flush_traces(5)
    before = project.trace_stats()
    assert before is not None and before.dropped == 0
    stored_before = SQLiteTraceStore(tmp_path / "ragline.db").count_spans()

    locker = sqlite3.connect(tmp_path / "ragline.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        answers = [project.ask("How long is the warranty?") for _ in range(5)]
        assert project.flush_traces(30)  # every batch was tried (and failed) meanwhile
    finally:
        locker.execute("COMMIT")
        locker.close()
    assert all(a.text == expected and a.trace_id for a in answers)
    s = project.trace_stats()
    assert s is not None
    assert s.write_errors >= 1 and s.dropped_write_failed >= 1
    # exact accounting: everything queued was either stored or counted as dropped
    assert s.queued == s.written + s.dropped_write_failed and s.pending == 0
    project.close()
    store = SQLiteTraceStore(tmp_path / "ragline.db")
    assert store.count_spans() - stored_before == s.written - before.written
    assert store.dropped_spans() == s.dropped  # persisted once the lock was gone


class DiskFull(SQLiteTraceStore):
    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        raise sqlite3.OperationalError("database or disk is full")


def test_asks_succeed_when_the_disk_is_full(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    project.flush_traces(5)
    # a new tracer on a store whose writes fail
    project.parts.tracer = build_tracer(DiskFull(tmp_path / "ragline.db"), project.settings)
    answers = [project.ask("How long is the warranty?") for _ in range(3)]
    assert all(a.text and not a.abstained for a in answers)
    assert project.flush_traces(10)
    s = project.trace_stats()
    assert s is not None
    assert s.written == 0 and s.dropped == s.queued == s.dropped_write_failed > 0
    project.close()


WORKER = textwrap.dedent(
    """
    import sys
    from ragline.store.sqlite import SQLiteTraceStore
    from ragline.trace import Tracer, TraceWriter, span

    writer = TraceWriter(SQLiteTraceStore(sys.argv[1]), batch_size=16, flush_interval_s=0.01)
    tracer = Tracer(writer)
    n = 0
    while True:
        with tracer.span("ragline.ask", "ask", tenant="t") as root:
            root.set("ragline.question", "question %d " % n + "x" * 2000)
            for i in range(4):
                with span("step%d" % i) as sp:
                    sp.set("ragline.hits", [{"chunk_id": "c%d" % j, "text": "y" * 500}
                                            for j in range(10)])
        n += 1
    """
)


def test_a_process_killed_mid_batch_leaves_an_intact_database(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    SQLiteTraceStore(db).close()  # create the schema first
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    proc = subprocess.Popen([sys.executable, str(script), str(db)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    if conn.execute("SELECT COUNT(*) FROM spans").fetchone()[0] > 500:
                        break
            except sqlite3.OperationalError:
                pass
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # wherever it is, mid-batch most likely
    finally:
        proc.wait(10)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT attributes, events FROM spans").fetchall()
    assert len(rows) > 500
    for attributes, events in rows:
        json.loads(attributes)
        json.loads(events)
    conn.close()
    store = SQLiteTraceStore(db)
    for summary in store.list_traces(limit=1000):
        spans = store.get_trace(summary.trace_id)
        assert spans[0].attributes["ragline.question"].startswith("question")
    # a batch is one transaction: every trace whose root was stored has all its steps
    # (children end, and are queued, before their root)
    assert all(s.spans == 5 for s in store.list_traces(limit=1000))
    store.close()
