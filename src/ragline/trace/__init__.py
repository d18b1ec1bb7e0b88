"""Tracing: nested spans for every pipeline step, stored in the background.

- :class:`Tracer` makes spans; :func:`span` opens a child of the current span (and
  does nothing when no trace is active); :func:`current_span` is the span in scope.
- :class:`TraceWriter` is the bounded queue + background thread that stores spans in
  a :class:`TraceStore` (the records and the protocol live in ``ragline.store``; the
  project's backend gives the store), counting what it has to drop
  (:class:`TraceStats`).
- :class:`SpanProcessor` applies the content policy (``full``/``redact``/``off``) and
  the attribute size cap; :func:`redact_pii` masks emails, phones, cards and IBANs.
- :class:`OTLPExporter` sends spans to an OpenTelemetry collector (``ragline[otel]``).

Modules that need SQLite, numpy or OpenTelemetry are imported on first use.
"""

from __future__ import annotations

from ragline._lazy import lazy_exports
from ragline.store._traces import (
    FEEDBACK_KINDS,
    Feedback,
    SpanEvent,
    SpanRecord,
    TraceStore,
    TraceSummary,
)
from ragline.trace._errors import TraceNotFoundError
from ragline.trace._policy import CONTENT_KEYS, CONTENT_MODES, SpanProcessor
from ragline.trace._redact import redact_pii
from ragline.trace._tracer import (
    NOOP_SPAN,
    NOOP_TRACER,
    NoopSpan,
    NoopTracer,
    Span,
    Tracer,
    activate,
    current_span,
    iterate_in,
    span,
)
from ragline.trace._writer import TraceStats, TraceWriter

__all__ = [
    "CONTENT_KEYS",
    "CONTENT_MODES",
    "FEEDBACK_KINDS",
    "NOOP_SPAN",
    "NOOP_TRACER",
    "Feedback",
    "NoopSpan",
    "NoopTracer",
    "OTLPExporter",
    "Span",
    "SpanEvent",
    "SpanProcessor",
    "SpanRecord",
    "TraceNotFoundError",
    "TraceStats",
    "TraceStore",
    "TraceSummary",
    "TraceWriter",
    "Tracer",
    "activate",
    "current_span",
    "iterate_in",
    "redact_pii",
    "span",
]

# public names defined in modules that are imported on first use
__getattr__ = lazy_exports(__name__, {"OTLPExporter": "ragline.trace._otel"})
