"""OpenTelemetry export: stored spans also go to a collector over OTLP/HTTP.

Needs the optional extra ``ragline[otel]`` (``opentelemetry-sdk`` and
``opentelemetry-exporter-otlp-proto-http``), imported only when an exporter is made.
Set ``tracing.otlp_endpoint: http://127.0.0.1:4318/v1/traces`` in ``ragline.yaml``.

Each :class:`SpanRecord` becomes an SDK span with the same trace id, span id and
parent, start/end times, status and events; ``gen_ai.*`` attributes keep their names.
Attribute values OTLP cannot carry (mappings, lists of mappings) are sent as JSON
text. Spans are handed to the SDK's ``BatchSpanProcessor``, which sends them from
its own thread, so a slow collector never slows the trace writer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ragline.errors import ConfigError
from ragline.store._traces import SpanRecord

_KINDS = {"model": "CLIENT", "ask": "SERVER"}


def _attr(value: Any) -> Any:
    """An OTLP attribute value: a primitive, a list of one primitive type, or JSON text."""
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, bool) for v in value):
            return list(value)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return (
                [float(v) for v in value]
                if any(isinstance(v, float) for v in value)
                else list(value)
            )
    return json.dumps(value, ensure_ascii=False, default=str)


def otel_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _attr(v) for k, v in attributes.items() if v is not None}


class OTLPExporter:
    """Send spans to an OpenTelemetry collector at ``endpoint`` (OTLP/HTTP, protobuf).

    >>> exporter = OTLPExporter("http://127.0.0.1:4318/v1/traces")   # doctest: +SKIP
    >>> TraceWriter(store, exporters=[exporter])                     # doctest: +SKIP
    """

    def __init__(
        self,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 5.0,
        service_name: str = "ragline",
        schedule_delay_ms: float = 500,
    ) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        except ImportError as e:
            raise ConfigError(
                f"tracing.otlp_endpoint is set but OpenTelemetry is not installed ({e.name})",
                hint="pip install 'ragline[otel]', or remove tracing.otlp_endpoint",
            ) from None
        from ragline._version import __version__

        self.endpoint = endpoint
        self._exporter = OTLPSpanExporter(
            endpoint=endpoint, headers=dict(headers or {}), timeout=timeout_s
        )
        self._processor = BatchSpanProcessor(
            self._exporter, schedule_delay_millis=schedule_delay_ms
        )
        self._resource = Resource.create(
            {"service.name": service_name, "telemetry.sdk.name": "ragline"}
        )
        self._scope = InstrumentationScope("ragline", __version__)

    def to_otel(self, record: SpanRecord) -> Any:
        """The SDK ``ReadableSpan`` for one record."""
        from opentelemetry.sdk.trace import Event, ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        trace_id = int(record.trace_id, 16)
        context = SpanContext(
            trace_id, int(record.span_id, 16), False, TraceFlags(TraceFlags.SAMPLED)
        )
        parent = (
            SpanContext(trace_id, int(record.parent_id, 16), False, TraceFlags(TraceFlags.SAMPLED))
            if record.parent_id
            else None
        )
        attributes = otel_attributes(record.attributes)
        attributes["ragline.kind"] = record.kind
        attributes["ragline.tenant"] = record.tenant
        message = record.attributes.get("ragline.status_message")
        status = (
            Status(StatusCode.ERROR, str(message) if message else None)
            if record.status == "error"
            else Status(StatusCode.OK)
        )
        return ReadableSpan(
            name=record.name,
            context=context,
            parent=parent,
            resource=self._resource,
            attributes=attributes,
            events=[
                Event(e.name, otel_attributes(e.attributes), int(e.time * 1e9))
                for e in record.events
            ],
            kind=getattr(SpanKind, _KINDS.get(record.kind, "INTERNAL")),
            status=status,
            start_time=int(record.start * 1e9),
            end_time=int(record.end * 1e9),
            instrumentation_scope=self._scope,
        )

    def export(self, spans: Sequence[SpanRecord]) -> None:
        for record in spans:
            self._processor.on_end(self.to_otel(record))

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        return bool(self._processor.force_flush(int(timeout_s * 1000)))

    def shutdown(self) -> None:
        self._processor.shutdown()  # type: ignore[no-untyped-call]
