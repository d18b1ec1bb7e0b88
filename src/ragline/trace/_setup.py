"""Build a project's trace store and tracer from its settings."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from ragline.trace._policy import SpanProcessor
from ragline.trace._records import TraceStore
from ragline.trace._tracer import NOOP_TRACER, Tracer
from ragline.trace._writer import SpanExporter, TraceWriter

if TYPE_CHECKING:
    from ragline.config import Settings

logger = logging.getLogger("ragline.trace")


def memory_trace_store() -> TraceStore:
    from ragline.trace._memory_store import MemoryTraceStore

    store: TraceStore = MemoryTraceStore()
    return store


def trace_store_for(store: Any, settings: Settings) -> TraceStore:
    """The trace store that goes with a document store.

    A SQLite store on a file gets a :class:`SQLiteTraceStore` on the same file (its own
    connection); anything else (``memory://``, ``sqlite://:memory:``, injected test
    stores) gets an in-memory trace store.
    """
    path = getattr(store, "path", None)
    if type(store).__name__ == "SQLiteStore" and isinstance(path, str) and path != ":memory:":
        from ragline.trace._sqlite import SQLiteTraceStore

        return SQLiteTraceStore(path, busy_timeout_ms=settings.tracing.write_timeout_ms)
    if type(store).__name__ == "PostgresStore":
        from ragline.store._postgres_traces import PostgresTraceStore

        return PostgresTraceStore(store)
    return memory_trace_store()


def content_mode_for(settings: Settings) -> Any:
    default = settings.tracing.content

    def mode_for(tenant: str) -> str:
        t = settings.tenants.get(tenant)
        return (t.trace_content if t is not None else None) or default

    return mode_for


def otlp_headers(env_name: str | None) -> dict[str, str]:
    raw = os.environ.get(env_name, "") if env_name else ""
    headers: dict[str, str] = {}
    for part in raw.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            headers[key.strip()] = value.strip()
    return headers


def build_tracer(
    trace_store: TraceStore, settings: Settings, *, exporters: list[SpanExporter] | None = None
) -> Tracer:
    """``NOOP_TRACER`` when tracing is off; else a tracer writing in the background."""
    ts = settings.tracing
    if not ts.enabled:
        return NOOP_TRACER
    all_exporters: list[SpanExporter] = list(exporters or [])
    if ts.otlp_endpoint:
        from ragline.trace._otel import OTLPExporter

        all_exporters.append(
            OTLPExporter(
                ts.otlp_endpoint,
                headers=otlp_headers(ts.otlp_headers_env),
                timeout_s=ts.otlp_timeout_s,
            )
        )
    writer = TraceWriter(
        trace_store,
        queue_size=ts.queue_size,
        batch_size=ts.batch_size,
        flush_interval_s=ts.flush_interval_s,
        processor=SpanProcessor(
            max_attribute_chars=ts.max_attribute_chars, mode_for=content_mode_for(settings)
        ),
        exporters=all_exporters,
        exit_timeout_s=ts.flush_timeout_s,
    )
    return Tracer(writer, default_tenant=settings.default_tenant)


def doctor_line(project: Any) -> tuple[bool, str]:
    """``ragline doctor``'s tracing line: on/off, traces stored, spans ever dropped."""
    ts = project.settings.tracing
    if not ts.enabled:
        return True, "off (tracing.enabled: false)"
    store = project.trace_store
    count = getattr(store, "count_traces", None)
    traces = int(count()) if callable(count) else len(store.list_traces(limit=1_000_000))
    parts = [f"on, {traces} traces stored", f"content {ts.content}"]
    dropped_fn = getattr(store, "dropped_spans", None)
    if callable(dropped_fn):
        dropped = int(dropped_fn())
        if dropped:
            parts.append(
                f"{dropped} spans dropped so far (queue full or database busy; "
                "raise tracing.queue_size or tracing.write_timeout_ms)"
            )
        else:
            parts.append("0 spans dropped")
    if ts.otlp_endpoint:
        parts.append(f"exporting to {ts.otlp_endpoint}")
    return True, ", ".join(parts)
