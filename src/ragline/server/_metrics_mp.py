"""``/metrics`` across ``ragline serve --workers N``: prometheus_client's multiprocess mode.

Every worker writes its counters, histograms and gauges to memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR``; a scrape, whichever worker answers it, reads all of
them and adds them up (:class:`prometheus_client.multiprocess.MultiProcessCollector`).
``serve`` makes that folder (a temporary one, removed at exit, or the one the
variable already names) and empties it at start, so counts of an earlier run never
leak into this one. The variable must be set before prometheus_client is imported in
the worker: the workers are fresh processes that inherit it.

Values the server keeps as plain numbers (requests shed, trace writer counters,
reranker fallbacks, requests running and waiting) cannot be read by a collector at
scrape time in another process, so :class:`StateMirror` copies them into real
metrics — the counters' growth since the last copy, the gauges as they are — after
every request a worker serves and before every scrape. A worker's numbers are at
most one request old.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The folder of multiprocess mode, when this process runs in it."""
    return os.environ.get(ENV) or os.environ.get(ENV.lower()) or None


def prepare_multiprocess_dir() -> tuple[Path, bool]:
    """The folder the workers write to, emptied; True when ``serve`` made it (and
    removes it at exit), False when ``PROMETHEUS_MULTIPROC_DIR`` named it."""
    given = os.environ.get(ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return folder, False
    return Path(tempfile.mkdtemp(prefix="ragline-metrics-")), True


def remove_multiprocess_dir(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def scrape_registry(folder: str) -> CollectorRegistry:
    """A registry whose scrape adds up every worker's files."""
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return registry


_TRACE_COUNTERS = (
    ("written", "trace spans stored"),
    ("dropped_queue_full", "trace spans dropped because the queue was full"),
    ("dropped_write_failed", "trace spans dropped because a write failed"),
    ("write_errors", "failed trace batches"),
)


class StateMirror:
    """Copies the server's plain-number state into multiprocess metrics (same names and
    help as the single-process collector, so dashboards see no difference)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        admission: Callable[[], Any],
        stats: Callable[[], Any],
        rerank_fallbacks: Callable[[], dict[str, int]] | None,
    ) -> None:
        self._admission = admission
        self._stats = stats
        self._rerank_fallbacks = rerank_fallbacks
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], float] = {}
        r = registry
        self._shed = Counter(
            "ragline_requests_shed", "requests refused with 503 (overload)", registry=r
        )
        self._fallbacks = Counter(
            "ragline_rerank_fallbacks",
            "asks whose reranker failed and kept the fused order, by reason",
            ["reason"],
            registry=r,
        )
        self._trace = {
            name: Counter(f"ragline_trace_spans_{name}", help_, registry=r)
            for name, help_ in _TRACE_COUNTERS
        }
        self._pending = Gauge(
            "ragline_trace_queue_pending",
            "trace spans waiting to be written",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._running = Gauge(
            "ragline_requests_running",
            "requests doing work now",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._waiting = Gauge(
            "ragline_requests_waiting",
            "requests waiting for a slot",
            registry=r,
            multiprocess_mode="livesum",
        )

    def _grow(self, key: tuple[str, str], counter: Any, now: float) -> None:
        delta = now - self._seen.get(key, 0.0)
        if delta > 0:
            counter.inc(delta)
            self._seen[key] = now

    def sync(self) -> None:
        with self._lock:
            admission = self._admission()
            self._running.set(admission.running)
            self._waiting.set(admission.waiting)
            self._grow(("shed", ""), self._shed, admission.shed)
            if self._rerank_fallbacks is not None:
                for reason, n in self._rerank_fallbacks().items():
                    self._grow(("rerank", reason), self._fallbacks.labels(reason), n)
            s = self._stats()
            if s is not None:
                for name, counter in self._trace.items():
                    self._grow(("trace", name), counter, getattr(s, name))
                self._pending.set(s.pending)


__all__ = [
    "ENV",
    "StateMirror",
    "multiprocess_dir",
    "prepare_multiprocess_dir",
    "remove_multiprocess_dir",
    "scrape_registry",
]
