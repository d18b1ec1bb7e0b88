"""OTLP/HTTP export, checked against a tiny OTLP receiver on loopback."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from ragline.store.memory import MemoryTraceStore
from ragline.trace import OTLPExporter, Tracer, TraceWriter, span

from .helpers import by_name, make_project


class Receiver:
    """Records every ExportTraceServiceRequest posted to /v1/traces."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.requests.append(request)
                receiver.paths.append(self.path)
                receiver.headers.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()
                self.wfile.write(b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def spans(self) -> list[Any]:
        return [
            s
            for r in self.requests
            for rs in r.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _attrs(span_pb: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span_pb.attributes:
        v = kv.value
        kind = v.WhichOneof("value")
        if kind == "array_value":
            out[kv.key] = [getattr(x, x.WhichOneof("value")) for x in v.array_value.values]
        else:
            out[kv.key] = getattr(v, kind)
    return out


def _wait_for(receiver: Receiver, n: int) -> None:
    deadline = time.monotonic() + 10
    while len(receiver.spans()) < n and time.monotonic() < deadline:
        time.sleep(0.02)


def test_spans_arrive_with_ids_parents_and_attributes(receiver: Receiver) -> None:
    exporter = OTLPExporter(receiver.endpoint, headers={"x-team": "search"}, schedule_delay_ms=50)
    writer = TraceWriter(MemoryTraceStore(), exporters=[exporter])
    tracer = Tracer(writer)
    with tracer.span("ragline.ask", "ask", tenant="acme") as root:
        root.set("ragline.question", "How long is the warranty?")
        with span("ragline.generate", "model") as gen:
            gen.update(
                {
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": 812,
                    "gen_ai.usage.output_tokens": 41,
                    "gen_ai.response.finish_reasons": ["stop"],
                    "ragline.hits": [{"chunk_id": "c1", "score": 0.5}],
                }
            )
        with pytest.raises(RuntimeError), span("ragline.citations", "citations"):
            raise RuntimeError("scorer crashed")
    assert writer.flush(10)
    assert exporter.force_flush(10)
    _wait_for(receiver, 3)
    spans = {s.name: s for s in receiver.spans()}
    assert set(spans) == {"ragline.ask", "ragline.generate", "ragline.citations"}
    assert receiver.paths[0] == "/v1/traces"
    assert receiver.headers[0].get("x-team") == "search"
    ask, gen_pb, cite = spans["ragline.ask"], spans["ragline.generate"], spans["ragline.citations"]
    assert ask.trace_id.hex() == root.trace_id and ask.span_id.hex() == root.span_id
    assert ask.parent_span_id == b""
    assert gen_pb.parent_span_id.hex() == root.span_id == cite.parent_span_id.hex()
    assert gen_pb.trace_id == ask.trace_id
    a = _attrs(gen_pb)
    assert a["gen_ai.system"] == "openai" and a["gen_ai.request.model"] == "gpt-4o-mini"
    assert a["gen_ai.usage.input_tokens"] == 812 and a["gen_ai.usage.output_tokens"] == 41
    assert a["gen_ai.response.finish_reasons"] == ["stop"]
    assert a["ragline.hits"] == '[{"chunk_id": "c1", "score": 0.5}]'  # JSON text
    assert a["ragline.tenant"] == "acme"
    assert _attrs(ask)["ragline.question"] == "How long is the warranty?"
    assert cite.status.code == 2  # STATUS_CODE_ERROR
    assert cite.events[0].name == "exception"
    assert ask.end_time_unix_nano >= gen_pb.end_time_unix_nano >= gen_pb.start_time_unix_nano
    resource = {
        kv.key: kv.value.string_value
        for kv in receiver.requests[0].resource_spans[0].resource.attributes
    }
    assert resource["service.name"] == "ragline"
    writer.close()


def test_a_project_exports_when_an_endpoint_is_configured(
    tmp_path: Path, receiver: Receiver
) -> None:
    project = make_project(tmp_path, f"tracing: {{otlp_endpoint: '{receiver.endpoint}'}}\n")
    answer = project.ask("How long is the warranty?")
    stored = project.get_trace(answer.trace_id or "")
    project.close()  # flushes the writer and shuts the exporter down (sending the rest)
    _wait_for(receiver, len(stored))
    exported = [s for s in receiver.spans() if s.trace_id.hex() == answer.trace_id]
    assert {s.name for s in exported} == set(by_name(stored))


def test_an_unreachable_collector_never_breaks_a_request(tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        "tracing: {otlp_endpoint: 'http://127.0.0.1:9/v1/traces', otlp_timeout_s: 1}\n",
    )
    answer = project.ask("How long is the warranty?")
    assert answer.text and project.get_trace(answer.trace_id or "")  # still stored locally
    project.close()
