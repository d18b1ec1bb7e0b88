"""Build a project's tracer from its settings (the trace store comes from its backend)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ragline.store._traces import TraceStore
from ragline.trace._policy import SpanProcessor
from ragline.trace._tracer import NOOP_TRACER, Tracer
from ragline.trace._writer import SpanExporter, TraceWriter

if TYPE_CHECKING:
    from ragline.config import Settings

logger = logging.getLogger("ragline.trace")


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
    trace_store: TraceStore,
    settings: Settings,
    *,
    exporters: list[SpanExporter] | None = None,
    mask: Callable[[], Callable[[str], str] | None] | None = None,
) -> Tracer:
    """``NOOP_TRACER`` when tracing is off; else a tracer writing in the background.
    ``mask`` gives the function that hides a secret (the leak canary) in content."""
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
            max_attribute_chars=ts.max_attribute_chars,
            mode_for=content_mode_for(settings),
            mask=mask,
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
