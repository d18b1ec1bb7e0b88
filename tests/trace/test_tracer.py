"""The tracer: nesting, ids, errors, no-op mode, generators and threads."""

from __future__ import annotations

import contextvars
import re
import threading
from collections.abc import Iterator

import pytest

from ragline.trace import (
    NOOP_SPAN,
    NOOP_TRACER,
    Span,
    SpanRecord,
    Tracer,
    current_span,
    iterate_in,
    span,
)


def collecting() -> tuple[Tracer, list[SpanRecord]]:
    out: list[SpanRecord] = []
    return Tracer(lambda s: out.append(s.to_record())), out


def test_spans_nest_and_share_one_trace() -> None:
    tracer, out = collecting()
    with tracer.span("ragline.ask", "ask", tenant="acme", question="q") as root:
        with span("ragline.retrieve", "retrieval") as child:
            with span("ragline.retriever.keyword", "retriever") as leaf:
                leaf.set("ragline.hits.count", 3)
            assert current_span() is child
        assert current_span() is root
    assert current_span() is NOOP_SPAN
    names = [s.name for s in out]
    assert names == ["ragline.retriever.keyword", "ragline.retrieve", "ragline.ask"]
    leaf_r, child_r, root_r = out
    assert {s.trace_id for s in out} == {root.trace_id}
    assert root_r.parent_id is None and child_r.parent_id == root_r.span_id
    assert leaf_r.parent_id == child_r.span_id
    assert all(s.tenant == "acme" for s in out)  # children inherit the tenant
    assert re.fullmatch(r"[0-9a-f]{32}", root_r.trace_id)
    assert all(re.fullmatch(r"[0-9a-f]{16}", s.span_id) for s in out)
    assert root_r.attributes == {"question": "q"}
    assert leaf_r.attributes == {"ragline.hits.count": 3}
    assert root_r.start <= child_r.start <= leaf_r.start
    assert leaf_r.end <= child_r.end <= root_r.end
    assert root_r.duration_ms >= 0


def test_an_exception_marks_the_span_failed_and_still_propagates() -> None:
    tracer, out = collecting()
    with (
        pytest.raises(ValueError, match="boom"),
        tracer.span("ragline.ask", "ask"),
        span("ragline.generate", "model"),
    ):
        raise ValueError("boom")
    model, root = out
    assert model.status == "error" and root.status == "error"
    (event,) = model.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "boom"
    assert "Traceback" in event.attributes["exception.stacktrace"]


def test_span_events_and_status() -> None:
    tracer, out = collecting()
    with tracer.span("x") as sp:
        sp.event("retry", attempt=2)
        sp.set_status("error", "gave up")
    (rec,) = out
    assert rec.status == "error" and rec.attributes["ragline.status_message"] == "gave up"
    assert rec.events[0].name == "retry" and rec.events[0].attributes == {"attempt": 2}


def test_ending_twice_emits_once() -> None:
    tracer, out = collecting()
    sp = tracer.start_span("x")
    sp.end()
    sp.end()
    assert len(out) == 1


def test_without_an_active_trace_span_does_nothing() -> None:
    with span("ragline.retrieve") as sp:
        sp.set("k", 1)
        sp.event("e")
    assert sp is NOOP_SPAN and not sp.is_recording


def test_the_noop_tracer_records_nothing() -> None:
    with NOOP_TRACER.span("ragline.ask", "ask", tenant="t") as root, span("child") as child:
        child.set("k", 1)
    assert root is NOOP_SPAN and child is NOOP_SPAN
    assert NOOP_TRACER.flush(0.1) and not NOOP_TRACER.enabled


def test_a_failing_sink_never_reaches_the_caller() -> None:
    def broken(_: Span) -> None:
        raise RuntimeError("disk on fire")

    tracer = Tracer(broken)
    with tracer.span("ragline.ask"):
        pass
    with tracer.span("ragline.ask"):
        pass
    assert tracer.sink_errors == 2


def test_iterate_in_parents_generator_spans_and_leaks_nothing() -> None:
    tracer, out = collecting()

    def gen() -> Iterator[int]:
        # a careless generator keeps a span current across its yields
        with span("inner", "model"):
            yield 1
            yield 2

    root = tracer.start_span("ragline.ask", "ask")
    it = iterate_in(root, gen())
    assert next(it) == 1
    assert current_span() is NOOP_SPAN  # nothing leaked into the caller's context
    it.close()  # abandoned: the inner generator is closed, its span ended
    root.end()
    inner, outer = out
    assert inner.name == "inner" and inner.parent_id == outer.span_id


def test_threads_started_with_the_context_keep_the_parent() -> None:
    tracer, out = collecting()
    with tracer.span("root") as root:
        ctx = contextvars.copy_context()
        t = threading.Thread(target=ctx.run, args=(lambda: span("worker").end(),))
        t.start()
        t.join()
    worker = next(s for s in out if s.name == "worker")
    assert worker.parent_id == root.span_id and worker.trace_id == root.trace_id


def test_trace_ids_are_unique() -> None:
    tracer, _ = collecting()
    ids = {tracer.start_span("x").trace_id for _ in range(2000)}
    assert len(ids) == 2000
