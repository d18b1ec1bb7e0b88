"""The background writer: batching, exact counters, a full queue, failing writes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from ragline.store.memory import MemoryTraceStore
from ragline.store.sqlite import SQLiteTraceStore
from ragline.trace import (
    SpanProcessor,
    SpanRecord,
    Tracer,
    TraceWriter,
    span,
)


class BlockingStore(MemoryTraceStore):
    """A store whose writes wait until the test lets them through."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        self.entered.set()
        assert self.release.wait(10)
        self.batches.append(len(spans))
        super().write_spans(spans)


class DiskFullStore(MemoryTraceStore):
    """Fails the first ``failures`` batches the way SQLite does when the disk is full."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        super().write_spans(spans)


def one_trace(tracer: Tracer, children: int = 2) -> str:
    with tracer.span("ragline.ask", "ask", tenant="t") as root:
        for i in range(children):
            with span(f"step{i}"):
                pass
    return root.trace_id


def test_spans_are_written_in_batches_and_counted(tmp_path: Path) -> None:
    store = SQLiteTraceStore(tmp_path / "ragline.db")
    writer = TraceWriter(store, batch_size=4)
    tracer = Tracer(writer)
    ids = [one_trace(tracer) for _ in range(10)]
    assert writer.flush(10)
    s = writer.stats
    assert (s.queued, s.written, s.dropped, s.pending) == (30, 30, 0, 0)
    assert s.write_errors == 0 and 1 <= s.max_queue <= 30
    assert {t.trace_id for t in store.list_traces(limit=100)} == set(ids)
    assert all(len(store.get_trace(t)) == 3 for t in ids)
    writer.close()


def test_a_full_queue_drops_exactly_the_overflow() -> None:
    store = BlockingStore()
    writer = TraceWriter(store, queue_size=5, batch_size=100, close_store=False)
    tracer = Tracer(writer)
    tracer.start_span("first").end()
    assert store.entered.wait(10)  # the writer holds span 1 and is stuck writing it
    for i in range(20):
        tracer.start_span(f"s{i}").end()  # never blocks: 5 queue up, 15 are dropped
    s = writer.stats
    assert (s.queued, s.dropped, s.dropped_queue_full) == (6, 15, 15)
    assert s.max_queue == 5
    store.release.set()
    assert writer.flush(10)
    s = writer.stats
    assert (s.written, s.dropped, s.pending) == (6, 15, 0)
    assert store.batches == [1, 5]
    writer.close()


def test_failed_batches_are_dropped_counted_and_logged_once(caplog: object) -> None:
    store = DiskFullStore(failures=2)
    writer = TraceWriter(store, batch_size=3, close_store=False)
    tracer = Tracer(writer)
    for _ in range(3):
        one_trace(tracer)  # 3 spans each
        assert writer.flush(10)
    s = writer.stats
    assert (s.written, s.dropped_write_failed, s.write_errors) == (3, 6, 2)
    assert s.queued == s.written + s.dropped
    assert len(store.list_traces()) == 1
    warnings = [r for r in caplog.records if "could not write" in r.getMessage()]  # type: ignore[attr-defined]
    assert len(warnings) == 1 and "disk is full" in warnings[0].getMessage()
    writer.close()


def test_drops_are_persisted_for_other_processes(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    store = SQLiteTraceStore(db)
    writer = TraceWriter(store, queue_size=1, close_store=False)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the database is locked for the writer
    tracer = Tracer(writer)
    for _ in range(5):
        tracer.start_span("x").end()
    writer.flush(10)
    blocker.execute("COMMIT")
    blocker.close()
    tracer.start_span("after").end()
    assert writer.flush(10)
    s = writer.stats
    assert s.queued + s.dropped_queue_full == 6 and s.written >= 1
    writer.close(5)
    assert SQLiteTraceStore(db).dropped_spans() == s.dropped


def test_flush_and_close_are_safe_to_repeat_and_late_spans_are_counted() -> None:
    store = MemoryTraceStore()
    writer = TraceWriter(store)
    tracer = Tracer(writer)
    assert writer.flush(1)  # nothing queued, no thread yet
    one_trace(tracer)
    assert writer.close(5) and writer.close(5)
    tracer.start_span("late").end()  # after close: dropped and counted, not raised
    s = writer.stats
    assert (s.written, s.dropped) == (3, 1)


def test_huge_attributes_are_truncated_with_a_marker() -> None:
    store = MemoryTraceStore()
    writer = TraceWriter(store, processor=SpanProcessor(max_attribute_chars=1000))
    tracer = Tracer(writer)
    with tracer.span("ragline.ask", "ask") as root:
        root.set("ragline.prompt", "x" * 100_000)
        root.set("ragline.hits", [{"chunk_id": "c1", "text": "y" * 5000}])
        root.set("ragline.small", "kept")
        root.event("big", detail="z" * 3000)
    writer.flush(10)
    (rec,) = store.get_trace(root.trace_id)
    prompt = rec.attributes["ragline.prompt"]
    assert prompt.startswith("x" * 1000) and len(prompt) < 1100
    assert prompt.endswith("[truncated: 100000 chars, cap 1000]")
    assert rec.attributes["ragline.hits"][0]["text"].endswith("[truncated: 5000 chars, cap 1000]")
    assert rec.attributes["ragline.hits"][0]["chunk_id"] == "c1"
    assert rec.attributes["ragline.small"] == "kept"
    assert "truncated: 3000 chars" in rec.events[0].attributes["detail"]
    writer.close()


def test_an_idle_writer_thread_ends_and_restarts_on_the_next_span() -> None:
    store = MemoryTraceStore()
    writer = TraceWriter(store, flush_interval_s=0.01)
    writer.idle_exit_s = 0.05
    tracer = Tracer(writer)
    one_trace(tracer)
    assert writer.flush(10)
    thread = writer._thread
    assert thread is not None
    thread.join(10)  # idles out
    assert writer._thread is None
    one_trace(tracer)
    assert writer.flush(10)
    assert writer.stats.written == 6 and len(store.list_traces()) == 2
    writer.close()


def test_counts_stay_exact_with_many_request_threads() -> None:
    store = BlockingStore()
    writer = TraceWriter(store, queue_size=300, batch_size=50, close_store=False)
    tracer = Tracer(writer)
    tracer.start_span("first").end()
    assert store.entered.wait(10)  # the writer is stuck: the queue fills up

    def work() -> None:
        for _ in range(100):
            one_trace(tracer, children=1)  # 2 spans

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.release.set()
    assert writer.flush(30)
    s = writer.stats
    assert s.queued + s.dropped_queue_full == 1 + 8 * 100 * 2  # every span accounted for
    assert s.written == s.queued and s.dropped == s.dropped_queue_full > 0
    assert sum(store.batches) == s.written
    writer.close()
