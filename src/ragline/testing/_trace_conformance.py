"""``TraceStoreConformance``: the shared test suite every ``TraceStore`` must pass.

Subclass it in a backend's test module and implement ``make_store`` (a fresh, empty
store; the suite closes it after each test)::

    class TestMyTraceStore(TraceStoreConformance):
        def make_store(self) -> TraceStore:
            return MyTraceStore(...)

For fixtures (a temporary folder, a server), override the ``trace_store`` fixture
instead and yield the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from ragline.errors import InputError
from ragline.store._traces import Feedback, SpanEvent, SpanRecord, TraceStore

T0 = 1_764_000_000.0  # 2025-11-24, a fixed epoch so tests never read the clock


def tid(n: int) -> str:
    """A valid trace id (32 hex) from a small number."""
    return f"{n:032x}"


def sid(n: int) -> str:
    """A valid span id (16 hex) from a small number."""
    return f"{n:016x}"


def make_trace(
    n: int,
    *,
    tenant: str = "default",
    start: float = T0,
    duration_ms: float = 100.0,
    status: str = "ok",
    question: str | None = "How long is the warranty?",
    answer: str | None = "Two years [1].",
    children: int = 2,
) -> list[SpanRecord]:
    """A root ``ragline.ask`` span and ``children`` child spans inside it."""
    end = start + duration_ms / 1000.0
    attrs: dict[str, Any] = {"gen_ai.request.model": "extractive"}
    if question is not None:
        attrs["ragline.question"] = question
    if answer is not None:
        attrs["ragline.answer"] = answer
    root = SpanRecord(
        trace_id=tid(n),
        span_id=sid(n * 100),
        parent_id=None,
        name="ragline.ask",
        kind="ask",
        tenant=tenant,
        start=start,
        end=end,
        status="error" if status == "error" else "ok",
        attributes=attrs,
    )
    step = (end - start) / (children + 1)
    kids = [
        SpanRecord(
            trace_id=tid(n),
            span_id=sid(n * 100 + i + 1),
            parent_id=root.span_id,
            name=f"step-{i}",
            kind="retriever",
            tenant=tenant,
            start=start + step * (i + 0.5),
            end=start + step * (i + 1),
            attributes={"ragline.hits": [{"chunk_id": f"doc#{i}", "score": 0.5}]},
        )
        for i in range(children)
    ]
    return [root, *kids]


def feedback(
    fid: str,
    trace_id: str,
    *,
    kind: str = "hallucination",
    tenant: str = "default",
    note: str | None = "the answer is wrong",
    created_at: float = T0,
) -> Feedback:
    return Feedback(
        id=fid, trace_id=trace_id, tenant=tenant, kind=kind, note=note, created_at=created_at
    )


def _ids(summaries: list[Any]) -> list[str]:
    return [s.trace_id for s in summaries]


class TraceStoreConformance:
    """Behaviour every ``TraceStore`` must have. Subclasses implement ``make_store``."""

    def make_store(self) -> TraceStore:  # pragma: no cover - always overridden
        raise NotImplementedError("subclasses return a fresh, empty TraceStore")

    @pytest.fixture
    def trace_store(self) -> Iterator[TraceStore]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    # -- writing and reading spans -----------------------------------------------------

    def test_is_a_trace_store(self, trace_store: TraceStore) -> None:
        assert isinstance(trace_store, TraceStore)

    def test_spans_round_trip_exactly(self, trace_store: TraceStore) -> None:
        spans = make_trace(1)
        event = SpanEvent("exception", T0 + 0.01, {"exception.message": "boom ünï 🎉"})
        nested = {
            "ragline.prompt": "line 1\nline 2 « quoted » 'x' \"y\"",
            "ragline.hits": [{"chunk_id": "a#0", "score": 0.25, "ranks": {"dense": 1}}],
            "ragline.flag": True,
            "ragline.none": None,
            "gen_ai.usage.input_tokens": 12,
        }
        spans[1] = replace(spans[1], status="error", attributes=nested, events=(event,))
        trace_store.write_spans(spans)
        got = trace_store.get_trace(tid(1))
        assert got == sorted(spans, key=lambda s: s.start)
        assert got[1].events == (event,)
        assert got[1].attributes == nested

    def test_get_trace_orders_spans_by_start(self, trace_store: TraceStore) -> None:
        spans = make_trace(2, children=4)
        trace_store.write_spans(list(reversed(spans)))
        got = trace_store.get_trace(tid(2))
        assert [s.span_id for s in got] == [s.span_id for s in spans]
        assert got[0].parent_id is None

    def test_empty_batch_is_a_no_op(self, trace_store: TraceStore) -> None:
        trace_store.write_spans([])
        assert trace_store.list_traces() == []

    def test_writes_are_idempotent(self, trace_store: TraceStore) -> None:
        spans = make_trace(3)
        trace_store.write_spans(spans)
        trace_store.write_spans(spans)  # a retried batch
        trace_store.write_spans(spans[1:2])
        assert len(trace_store.get_trace(tid(3))) == len(spans)
        [summary] = trace_store.list_traces()
        assert summary.spans == len(spans)

    def test_rewriting_a_span_replaces_it(self, trace_store: TraceStore) -> None:
        spans = make_trace(4)
        trace_store.write_spans(spans)
        changed = replace(spans[0], attributes={"ragline.question": "changed?"})
        trace_store.write_spans([changed])
        got = trace_store.get_trace(tid(4))
        assert len(got) == len(spans)
        assert got[0].attributes == {"ragline.question": "changed?"}

    def test_batches_from_several_threads_all_land(self, trace_store: TraceStore) -> None:
        def write(n: int) -> None:
            trace_store.write_spans(make_trace(n, start=T0 + n))

        threads = [threading.Thread(target=write, args=(n,)) for n in range(10, 16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(_ids(trace_store.list_traces())) == [tid(n) for n in range(10, 16)]

    # -- nonexistent ids ---------------------------------------------------------------

    def test_unknown_trace_is_empty_not_an_error(self, trace_store: TraceStore) -> None:
        trace_store.write_spans(make_trace(5))
        assert trace_store.get_trace(tid(999)) == []
        assert trace_store.get_trace("not-a-trace-id") == []
        assert trace_store.get_trace("") == []
        assert trace_store.list_feedback(trace_id=tid(999)) == []

    # -- tenants -----------------------------------------------------------------------

    def test_every_read_is_scoped_by_tenant(self, trace_store: TraceStore) -> None:
        trace_store.write_spans(make_trace(6, tenant="acme", start=T0))
        trace_store.write_spans(make_trace(7, tenant="globex", start=T0 + 1))
        trace_store.add_feedback(feedback("f-acme", tid(6), tenant="acme"))
        trace_store.add_feedback(feedback("f-globex", tid(7), tenant="globex"))

        assert _ids(trace_store.list_traces(tenant="acme")) == [tid(6)]
        assert _ids(trace_store.list_traces(tenant="globex")) == [tid(7)]
        assert _ids(trace_store.list_traces()) == [tid(7), tid(6)]
        assert trace_store.list_traces(tenant="nobody") == []

        assert trace_store.get_trace(tid(6), tenant="globex") == []
        assert len(trace_store.get_trace(tid(6), tenant="acme")) == 3
        assert {s.tenant for s in trace_store.get_trace(tid(6))} == {"acme"}

        assert [f.id for f in trace_store.list_feedback(tenant="acme")] == ["f-acme"]
        assert [f.id for f in trace_store.list_feedback(tenant="globex")] == ["f-globex"]
        assert trace_store.list_feedback(tenant="acme", trace_id=tid(7)) == []
        assert trace_store.list_feedback(tenant="nobody") == []

    # -- list filters ------------------------------------------------------------------

    def _three(self, store: TraceStore) -> None:
        store.write_spans(make_trace(21, start=T0, duration_ms=50.0, question="battery warranty"))
        store.write_spans(
            make_trace(22, start=T0 + 60, duration_ms=250.0, status="error", question="Shipping?")
        )
        store.write_spans(
            make_trace(
                23,
                start=T0 + 120,
                duration_ms=1200.0,
                question="Frame WARRANTY for owners",
                answer="A lifetime guarantee [1].",
            )
        )

    def test_lists_only_root_spans_newest_first(self, trace_store: TraceStore) -> None:
        self._three(trace_store)
        got = trace_store.list_traces()
        assert _ids(got) == [tid(23), tid(22), tid(21)]
        newest = got[0]
        assert (newest.name, newest.tenant, newest.status, newest.spans) == (
            "ragline.ask",
            "default",
            "ok",
            3,
        )
        assert newest.start == pytest.approx(T0 + 120)
        assert newest.duration_ms == pytest.approx(1200.0)
        assert newest.question == "Frame WARRANTY for owners"
        assert got[1].status == "error"

    def test_limit(self, trace_store: TraceStore) -> None:
        self._three(trace_store)
        assert _ids(trace_store.list_traces(limit=2)) == [tid(23), tid(22)]
        assert _ids(trace_store.list_traces(limit=1)) == [tid(23)]
        assert trace_store.list_traces(limit=0) == []

    def test_time_range_is_inclusive(self, trace_store: TraceStore) -> None:
        self._three(trace_store)
        assert _ids(trace_store.list_traces(since=T0 + 60)) == [tid(23), tid(22)]
        assert _ids(trace_store.list_traces(until=T0 + 60)) == [tid(22), tid(21)]
        assert _ids(trace_store.list_traces(since=T0 + 30, until=T0 + 90)) == [tid(22)]
        assert trace_store.list_traces(since=T0 + 500) == []
        assert trace_store.list_traces(until=T0 - 1) == []

    def test_status_filter(self, trace_store: TraceStore) -> None:
        self._three(trace_store)
        assert _ids(trace_store.list_traces(status="error")) == [tid(22)]
        assert _ids(trace_store.list_traces(status="ok")) == [tid(23), tid(21)]

    def test_min_latency_filter_is_inclusive(self, trace_store: TraceStore) -> None:
        self._three(trace_store)
        assert _ids(trace_store.list_traces(min_latency_ms=200)) == [tid(23), tid(22)]
        assert _ids(trace_store.list_traces(min_latency_ms=1000)) == [tid(23)]
        assert _ids(trace_store.list_traces(min_latency_ms=1200 - 1e-6)) == [tid(23)]
        assert trace_store.list_traces(min_latency_ms=5000) == []

    def test_text_search_is_case_insensitive_over_question_and_answer(
        self, trace_store: TraceStore
    ) -> None:
        self._three(trace_store)
        assert _ids(trace_store.list_traces(text="warranty")) == [tid(23), tid(21)]
        assert _ids(trace_store.list_traces(text="WARRANTY")) == [tid(23), tid(21)]
        assert _ids(trace_store.list_traces(text="lifetime guarantee")) == [tid(23)]
        assert trace_store.list_traces(text="no such words") == []

    def test_text_search_treats_special_characters_literally(self, trace_store: TraceStore) -> None:
        trace_store.write_spans(make_trace(31, question="100% _sure_ it's [fine]?", start=T0))
        trace_store.write_spans(make_trace(32, question="100 percent sure", start=T0 + 1))
        for needle in ("100%", "_sure_", "it's", "[fine]", "%", "_"):
            assert _ids(trace_store.list_traces(text=needle)) == [tid(31)], needle
        assert trace_store.list_traces(text="'; DROP TABLE spans; --") == []

    def test_filters_combine(self, trace_store: TraceStore) -> None:
        self._three(trace_store)
        trace_store.write_spans(
            make_trace(24, tenant="acme", start=T0 + 130, duration_ms=900, question="warranty")
        )
        got = trace_store.list_traces(
            tenant="default", since=T0 + 1, status="ok", min_latency_ms=100, text="warranty"
        )
        assert _ids(got) == [tid(23)]

    def test_trace_without_question(self, trace_store: TraceStore) -> None:
        trace_store.write_spans(make_trace(41, question=None, answer=None))
        [summary] = trace_store.list_traces()
        assert summary.question is None
        assert trace_store.list_traces(text="warranty") == []

    def test_trace_whose_root_is_not_written_yet_is_not_listed(
        self, trace_store: TraceStore
    ) -> None:
        spans = make_trace(42)
        trace_store.write_spans(spans[1:])
        assert trace_store.list_traces() == []
        assert len(trace_store.get_trace(tid(42))) == 2
        trace_store.write_spans(spans[:1])
        [summary] = trace_store.list_traces()
        assert summary.spans == 3

    # -- feedback ----------------------------------------------------------------------

    def test_feedback_round_trips_oldest_first(self, trace_store: TraceStore) -> None:
        trace_store.write_spans(make_trace(51))
        b = feedback("fb-b", tid(51), kind="good", note=None, created_at=T0 + 5)
        a = feedback("fb-a", tid(51), note="cites the wrong doc « x »", created_at=T0 + 1)
        trace_store.add_feedback(b)
        trace_store.add_feedback(a)
        assert trace_store.list_feedback() == [a, b]

    def test_feedback_filters(self, trace_store: TraceStore) -> None:
        trace_store.write_spans(make_trace(52))
        trace_store.write_spans(make_trace(53, start=T0 + 1))
        trace_store.add_feedback(feedback("f1", tid(52), kind="hallucination", created_at=T0))
        trace_store.add_feedback(feedback("f2", tid(52), kind="good", created_at=T0 + 1))
        trace_store.add_feedback(feedback("f3", tid(53), kind="hallucination", created_at=T0 + 2))
        trace_store.add_feedback(feedback("f4", tid(53), kind="irrelevant", created_at=T0 + 3))

        def ids(**kw: Any) -> list[str]:
            return [f.id for f in trace_store.list_feedback(**kw)]

        assert ids() == ["f1", "f2", "f3", "f4"]
        assert ids(kind="hallucination") == ["f1", "f3"]
        assert ids(kind="wrong_citation") == []
        assert ids(trace_id=tid(52)) == ["f1", "f2"]
        assert ids(trace_id=tid(53), kind="irrelevant") == ["f4"]

    def test_feedback_with_the_same_id_is_stored_once(self, trace_store: TraceStore) -> None:
        trace_store.write_spans(make_trace(54))
        fb = feedback("same", tid(54))
        trace_store.add_feedback(fb)
        trace_store.add_feedback(fb)
        assert trace_store.list_feedback() == [fb]

    def test_unknown_feedback_kind_is_refused(self, trace_store: TraceStore) -> None:
        trace_store.write_spans(make_trace(55))
        with pytest.raises(InputError, match="unknown feedback kind"):
            trace_store.add_feedback(feedback("bad", tid(55), kind="meh"))
        assert trace_store.list_feedback() == []
