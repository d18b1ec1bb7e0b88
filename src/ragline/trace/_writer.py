"""The background writer: a bounded queue and one thread that writes spans in batches.

The request path only calls :meth:`TraceWriter.__call__` (``put_nowait`` on a bounded
queue): it never waits for the database and never raises. When the queue is full
the span is dropped and counted. The writer thread takes up to ``batch_size`` spans
at a time, turns them into :class:`SpanRecord`\\ s (content policy and truncation
happen here, off the request path) and writes them with one ``write_spans`` call.
A batch that fails (database locked, disk full…) is counted as dropped and logged
once — never retried forever, never raised.

Counters (:class:`TraceStats`) are exact: every span handed to the writer is, once
flushed, exactly one of ``written`` or ``dropped``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ragline.store._traces import SpanRecord, TraceStore
from ragline.trace._tracer import Span

logger = logging.getLogger("ragline.trace")

Processor = Callable[[SpanRecord], SpanRecord]


class SpanExporter(Protocol):
    """Something else that receives every written batch (e.g. the OTLP exporter)."""

    def export(self, spans: Sequence[SpanRecord]) -> None: ...

    def shutdown(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TraceStats:
    """Counters of one writer since it started.

    ``queued``: spans accepted into the queue; ``written``: spans stored;
    ``dropped``: spans lost (``dropped_queue_full`` + ``dropped_write_failed``);
    ``write_errors``: failed batches; ``max_queue``: the queue's high-water mark
    (spans); ``pending``: spans queued or being written right now.
    """

    queued: int
    written: int
    dropped: int
    dropped_queue_full: int
    dropped_write_failed: int
    write_errors: int
    export_errors: int
    max_queue: int
    pending: int
    queue_size: int

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class TraceWriter:
    """Bounded queue + one daemon thread writing batches to a :class:`TraceStore`.

    Use it as a tracer's sink: ``Tracer(sink=TraceWriter(store))``. The thread starts
    on the first span. ``flush(timeout)`` waits until everything queued so far is
    written (or dropped); ``close(timeout)`` flushes, stops the thread and closes the
    store. Both are also run at interpreter exit (``atexit``).
    """

    def __init__(
        self,
        store: TraceStore,
        *,
        queue_size: int = 10_000,
        batch_size: int = 256,
        flush_interval_s: float = 0.5,
        processor: Processor | None = None,
        exporters: Sequence[SpanExporter] = (),
        close_store: bool = True,
        exit_timeout_s: float = 5.0,
        linger_s: float | None = None,
    ) -> None:
        self.store = store
        self.queue_size = max(1, int(queue_size))
        self.batch_size = max(1, int(batch_size))
        self.flush_interval_s = flush_interval_s
        #: after the first span of a batch, wait this long for more (fewer transactions)
        self.linger_s = min(flush_interval_s, 0.2) if linger_s is None else linger_s
        self._flushers = 0
        self._wake = threading.Event()  # set by flush()/close(): stop lingering now
        self.idle_exit_s = 5.0
        self.processor = processor
        self.exporters = list(exporters)
        self.close_store = close_store
        self.exit_timeout_s = exit_timeout_s
        self._buf: deque[Span] = deque()
        self._has_work = threading.Event()  # set by the request path when the writer sleeps
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False
        # counters; queued = _taken + len(_buf), both read under _lock
        self._taken = 0  # spans the writer thread has taken from the buffer
        self._dropped_full = 0
        self._written = 0
        self._dropped_failed = 0
        self._write_errors = 0
        self._export_errors = 0
        self._finished = 0  # spans written or dropped by the thread
        self._max_queue = 0
        self._unpersisted_drops = 0
        self._logged_failure = False
        self._persist_drops = getattr(store, "record_drops", None)
        ref = weakref.ref(self)
        atexit.register(_close_at_exit, ref)

    # -- the request path --------------------------------------------------------------

    def __call__(self, span: Span) -> None:
        """Queue a finished span; drop (and count) it if the queue is full or closed.

        No lock on this path: ``deque.append`` is atomic. With many request threads
        the queue may briefly hold a few more than ``queue_size`` spans.
        """
        buf = self._buf
        if self._closed or len(buf) >= self.queue_size:
            self._count_full_drop()
            return
        buf.append(span)
        n = len(buf)
        if n > self._max_queue:
            self._max_queue = n
        if not self._has_work.is_set():
            self._has_work.set()
        if self._thread is None:  # checked after the append: see _run's idle exit
            self._start()

    def _count_full_drop(self) -> None:
        with self._lock:
            self._dropped_full += 1
            self._unpersisted_drops += 1
            first = self._dropped_full == 1
        if first:
            logger.warning(
                "trace queue full (%d spans): spans are being dropped and counted; "
                "see `ragline doctor`",
                self.queue_size,
            )

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ragline-trace-writer", daemon=True
                )
                self._thread.start()

    # -- the writer thread -------------------------------------------------------------

    def _run(self) -> None:
        buf = self._buf
        idle = 0.0
        while True:
            if not buf:
                if self._closed:
                    self._try_persist_drops()
                    return
                self._has_work.clear()
                if buf:  # appended between the check and the clear
                    continue
                if self._has_work.wait(self.flush_interval_s):
                    continue
                self._try_persist_drops()
                idle += self.flush_interval_s
                if idle >= self.idle_exit_s:
                    # nothing to do for a while: end the thread (the next span starts
                    # a new one), so idle projects hold no thread and can be collected
                    with self._lock:
                        if not buf and not self._unpersisted_drops:
                            self._thread = None
                            return
                continue
            idle = 0.0
            # linger a little for more spans: fewer, larger transactions
            deadline = time.monotonic() + self.linger_s
            while len(buf) < self.batch_size and not (self._flushers or self._closed):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.wait(min(0.02, remaining))
            with self._lock:
                n = min(len(buf), self.batch_size)
                batch = [buf.popleft() for _ in range(n)]
                self._taken += n
            if batch:
                self._write(batch)

    def _write(self, batch: list[Span]) -> None:
        ok = False
        records: list[SpanRecord] = []
        try:
            mark = time.perf_counter()
            for span in batch:
                record = span.to_record()
                if self.processor is not None:
                    record = self.processor(record)
                records.append(record)
                if time.perf_counter() - mark > 0.0005:
                    time.sleep(0)  # let request threads have the GIL every 0.5 ms
                    mark = time.perf_counter()
            self.store.write_spans(records)
            ok = True
        except Exception as e:
            with self._lock:
                self._write_errors += 1
                first = not self._logged_failure
                self._logged_failure = True
            if first:
                logger.warning(
                    "could not write %d trace spans (%s); they are dropped and counted, "
                    "further failures are only counted (see `ragline doctor`)",
                    len(batch),
                    e,
                )
        with self._done:
            if ok:
                self._written += len(batch)
            else:
                self._dropped_failed += len(batch)
                self._unpersisted_drops += len(batch)
            self._finished += len(batch)
            self._done.notify_all()
        if ok:
            self._try_persist_drops()
            for exporter in self.exporters:
                try:
                    exporter.export(records)
                except Exception as e:
                    self._export_errors += 1
                    if self._export_errors == 1:
                        logger.warning("trace export failed (%s); further failures counted", e)

    def _try_persist_drops(self) -> None:
        if self._persist_drops is None:
            return
        with self._lock:
            n = self._unpersisted_drops
        if not n:
            return
        try:
            self._persist_drops(n)
        except Exception:
            return  # the database is still unhappy; try again after the next batch
        with self._lock:
            self._unpersisted_drops -= n

    # -- control -----------------------------------------------------------------------

    @property
    def stats(self) -> TraceStats:
        with self._lock:
            dropped = self._dropped_full + self._dropped_failed
            queued = self._taken + len(self._buf)
            return TraceStats(
                queued=queued,
                written=self._written,
                dropped=dropped,
                dropped_queue_full=self._dropped_full,
                dropped_write_failed=self._dropped_failed,
                write_errors=self._write_errors,
                export_errors=self._export_errors,
                max_queue=self._max_queue,
                pending=queued - self._finished,
                queue_size=self.queue_size,
            )

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until every span queued so far is written or dropped; False on timeout."""
        if self._buf and self._thread is None and not self._closed:
            self._start()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._done:
            target = self._taken + len(self._buf)
            self._flushers += 1
            self._wake.set()
            self._has_work.set()
            try:
                while self._finished < target:
                    thread = self._thread
                    if thread is None or not thread.is_alive():
                        return False
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._done.wait(0.25 if remaining is None else min(remaining, 0.25))
            finally:
                self._flushers -= 1
                if not self._flushers:
                    self._wake.clear()
        return True

    def close(self, timeout: float | None = 5.0) -> bool:
        """Flush (up to ``timeout``), stop the thread, close the store. Idempotent."""
        if self._closed:
            return True
        flushed = self.flush(timeout)
        self._closed = True
        self._wake.set()
        self._has_work.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout if timeout is None else max(0.1, min(timeout, 5.0)))
        if thread is None or not thread.is_alive():
            self._try_persist_drops()
            for exporter in self.exporters:
                with contextlib.suppress(Exception):
                    exporter.shutdown()
            if self.close_store:
                with contextlib.suppress(Exception):
                    self.store.close()
        if not flushed:
            s = self.stats
            logger.warning("trace flush timed out with %d spans not written", s.pending)
        return flushed


def _close_at_exit(ref: weakref.ReferenceType[TraceWriter]) -> None:
    writer = ref()
    if writer is not None:
        writer.close(writer.exit_timeout_s)
