"""Every step of an ask (and an ingest) is a span a user can open afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.answer import DoneEvent, ErrorEvent
from ragline.errors import InputError, NotFoundError, ProviderError
from ragline.models import Delta
from ragline.store.sqlite import SQLiteTraceStore

from .helpers import by_name, make_project, use_model

ROUTING = (
    "routing:\n  - name: money\n    when: {query_matches: 'revenue|EUR'}\n"
    "    boost: {doc_type: finance, factor: 2}\n"
)


def test_an_ask_is_one_trace_with_every_step(tmp_path: Path) -> None:
    project = make_project(tmp_path, ROUTING)
    answer = project.ask("What was the revenue in 2025?")
    assert answer.trace_id and len(answer.trace_id) == 32
    spans = project.get_trace(answer.trace_id)
    s = by_name(spans)
    assert set(s) >= {
        "ragline.ask",
        "ragline.retrieve",
        "ragline.query_analysis",
        "ragline.embed_query",
        "ragline.retriever.keyword",
        "ragline.retriever.dense",
        "ragline.fusion",
        "ragline.answer",
    }
    root = s["ragline.ask"]
    assert root.parent_id is None and root.kind == "ask" and root.status == "ok"
    assert root.attributes["ragline.question"] == "What was the revenue in 2025?"
    assert root.attributes["ragline.tenant"] == "default"
    assert root.attributes["ragline.answer"] == answer.text
    assert root.attributes["ragline.retrieved.chunk_ids"] == [h.chunk.id for h in answer.hits]
    assert s["ragline.query_analysis"].attributes["ragline.routing.rules_fired"] == ["money"]
    keyword = s["ragline.retriever.keyword"].attributes["ragline.retriever.top"]
    assert set(keyword[0]) == {"chunk_id", "score"}  # best first
    assert [k["score"] for k in keyword] == sorted((k["score"] for k in keyword), reverse=True)
    hits = s["ragline.retrieve"].attributes["ragline.hits"]
    assert hits[0]["text"] == answer.hits[0].chunk.text and hits[0]["rank"] == 1
    assert hits[0]["document_id"] == answer.hits[0].chunk.document_id
    assert hits[0]["scores"].keys() == answer.hits[0].scores.keys()
    assert s["ragline.fusion"].attributes["ragline.fusion.method"] == "rrf"
    sentences = s["ragline.answer"].attributes["ragline.sentences"]
    assert [x["citations"] for x in sentences] == [x.citations for x in answer.sentences]
    assert all(sp.trace_id == answer.trace_id for sp in spans)
    # the tree is whole: every parent is in the trace
    ids = {sp.span_id for sp in spans}
    assert all(sp.parent_id in ids for sp in spans if sp.parent_id)
    summary = project.list_traces(text="revenue")[0]
    assert summary.trace_id == answer.trace_id and summary.spans == len(spans)
    project.close()


def test_an_llm_ask_records_the_exact_prompt_model_call_and_citations(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    model = use_model(project, ["Every X200 comes with a two-year warranty [1]."])
    answer = project.ask("How long is the X200 warranty?")
    s = by_name(project.get_trace(answer.trace_id or ""))
    prompt = s["ragline.prompt"].attributes
    sent = "\n\n".join(f"[{m.role}]\n{m.content}" for m in model.calls[0].messages)
    assert prompt["ragline.prompt"] == sent  # the exact text sent to the model
    assert prompt["ragline.prompt.version"] == answer.prompt_version
    gen = s["ragline.generate"].attributes
    assert gen["gen_ai.system"] == "openai" and gen["gen_ai.request.model"] == "test"
    assert gen["gen_ai.completion"] == "Every X200 comes with a two-year warranty [1]."
    assert gen["gen_ai.usage.input_tokens"] >= 1 and gen["gen_ai.usage.output_tokens"] >= 1
    assert gen["gen_ai.response.finish_reasons"] == ["stop"]
    assert "ragline.latency_ms" in gen and "ragline.cost_usd" in gen
    cites = s["ragline.citations"].attributes
    assert cites["ragline.sentences"][0]["citations"] == [1]
    assert 0 <= cites["ragline.sentences"][0]["support"] <= 1
    assert s["ragline.generate"].parent_id == s["ragline.answer"].span_id
    project.close()


def test_a_streamed_ask_is_traced_until_the_stream_ends(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    use_model(project, ["Every X200 comes with a two-year warranty [1]."])
    events = list(project.ask_stream("How long is the X200 warranty?"))
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.answer.trace_id
    assert done.to_dict()["trace_id"] == done.answer.trace_id  # what SSE clients see
    spans = project.get_trace(done.answer.trace_id)
    s = by_name(spans)
    assert s["ragline.ask"].attributes["ragline.stream"] is True
    assert s["ragline.ask"].attributes["ragline.answer"] == done.answer.text
    assert s["ragline.generate"].attributes["ragline.stream"] is True
    # one flow: a stream has the tree of an ask (ask > answer stage > model call)
    assert s["ragline.generate"].parent_id == s["ragline.answer"].span_id
    assert s["ragline.answer"].parent_id == s["ragline.ask"].span_id
    assert s["ragline.ask"].end >= s["ragline.generate"].end
    project.close()


def test_a_failed_stream_marks_the_trace_as_an_error(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    use_model(project, [[Delta("Every X200 "), ProviderError("connection reset")]])
    events = list(project.ask_stream("How long is the X200 warranty?"))
    assert isinstance(events[-1], ErrorEvent)
    (summary,) = project.list_traces(status="error")
    s = by_name(project.get_trace(summary.trace_id))
    assert s["ragline.ask"].status == "error"
    assert s["ragline.ask"].attributes["ragline.answer.partial"] == "Every X200 "
    assert s["ragline.generate"].status == "error"
    assert s["ragline.generate"].events[0].name == "exception"
    project.close()


def test_an_abandoned_stream_still_ends_its_trace(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    reply = "Every X200 comes with a two-year warranty [1]. It covers the motor [1]."
    use_model(project, [reply, reply])
    stream = project.ask_stream("How long is the X200 warranty?")
    next(stream)  # retrieval
    next(stream)  # first delta; then the consumer goes away
    stream.close()
    (summary,) = project.list_traces(text="x200")
    s = by_name(project.get_trace(summary.trace_id))
    assert s["ragline.ask"].attributes["ragline.stream.abandoned"] is True
    assert s["ragline.generate"].attributes["ragline.stream.abandoned"] is True
    # a later ask in the same thread is a new trace, not a child of the abandoned one
    answer = project.ask("How long is the X200 warranty?")
    assert answer.trace_id != summary.trace_id
    project.close()


def test_an_extractive_stream_is_traced(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    done = list(project.ask_stream("How long is the warranty?"))[-1]
    assert isinstance(done, DoneEvent) and done.answer.trace_id
    assert "ragline.answer" in by_name(project.get_trace(done.answer.trace_id))
    project.close()


def test_a_failing_ask_is_traced_as_an_error(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    use_model(project, [ProviderError("model is down")])
    with pytest.raises(ProviderError):
        project.ask("How long is the X200 warranty?")
    (summary,) = project.list_traces(status="error")
    s = by_name(project.get_trace(summary.trace_id))
    assert s["ragline.generate"].events[0].attributes["exception.message"] == "model is down"
    project.close()


def test_ingest_is_traced_per_file(tmp_path: Path) -> None:
    project = make_project(tmp_path, ingest=False)
    report = project.ingest([tmp_path / "docs"])
    assert report.ok
    (summary,) = project.list_traces()
    spans = project.get_trace(summary.trace_id)
    names = [s.name for s in spans]
    assert names.count("ragline.ingest.file") == 3
    assert names.count("ragline.ingest.load") == 3 and names.count("ragline.ingest.chunk") == 3
    assert names.count("ragline.ingest.store") == 3 and "ragline.ingest.embed" in names
    root = by_name(spans)["ragline.ingest"]
    assert root.attributes["ragline.ingest.added"] == 3
    project.close()


def test_tracing_disabled_records_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path, "tracing: {enabled: false}\n")
    answer = project.ask("How long is the warranty?")
    assert answer.trace_id is None
    assert project.list_traces() == []
    project.close()


def test_an_unknown_trace_id_is_a_clear_error(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    answer = project.ask("How long is the warranty?")
    assert project.trace_store.get_trace("0" * 32) == []
    with pytest.raises(InputError, match=r"no trace '0{32}' — .*ragline traces list"):
        project.get_trace("0" * 32)
    with pytest.raises(NotFoundError, match="for tenant 'other'"):
        project.get_trace(answer.trace_id or "", tenant="other")  # another tenant's trace
    with pytest.raises(InputError):
        project.get_trace("")
    assert project.get_trace(answer.trace_id or "")  # nothing was lost
    project.close()


def test_traces_are_in_the_project_database_for_other_processes(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    answer = project.ask("How long is the warranty?")
    project.close()  # flushes
    other = SQLiteTraceStore(tmp_path / "ragline.db")
    assert {t.trace_id for t in other.list_traces()} >= {answer.trace_id}
    other.close()


def test_memory_projects_trace_in_memory(tmp_path: Path) -> None:
    project = make_project(tmp_path, ingest=False, store="memory://")
    project.ingest([tmp_path / "docs"])
    answer = project.ask("How long is the warranty?")
    stored = getattr(project.trace_store, "inner", project.trace_store)  # under the rollups
    assert type(stored).__name__ == "MemoryTraceStore"
    assert project.get_trace(answer.trace_id or "")
    project.close()


def test_traces_are_flushed_at_exit_without_close(tmp_path: Path) -> None:
    import subprocess
    import sys

    make_project(tmp_path).close()
    script = (
        "import sys, ragline\n"
        "from ragline.testing import HashEmbedder\n"
        "p = ragline.Project(sys.argv[1], embedder=HashEmbedder())\n"
        "print(p.ask('How long is the warranty?').trace_id)\n"  # no close(): atexit flushes
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    trace_id = out.stdout.strip().splitlines()[-1]
    store = SQLiteTraceStore(tmp_path / "ragline.db")
    assert len(store.get_trace(trace_id)) >= 5
    store.close()
