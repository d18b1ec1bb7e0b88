"""The answer pipeline: one flow of named stages behind ask, ask_stream, chat and search."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ragline
from ragline.answer import (
    Answerer,
    Ask,
    CitationEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Event,
    ExtractiveAnswerer,
    GroundedAnswerer,
    RetrievalEvent,
    Stage,
)
from ragline.errors import InputError, ProviderError
from ragline.models import Delta
from ragline.testing import FakeModel, HashEmbedder

DOCS = {
    "warranty.md": "# Warranty\n\nEvery X200 comes with a two-year warranty. "
    "The warranty covers the motor and the battery.\n\n## Frame\n\n"
    "The frame is covered for ten years.\n",
    "shipping.md": "# Shipping\n\nOrders ship within three days. Express shipping costs EUR 9.\n",
}
STAGES = [
    "guard_in", "analyze", "retrieve", "rerank", "guard_docs", "generate", "cite", "guard_out",
]  # fmt: skip
# the stages that do something are traced; the pass-through one (rerank) is not
STAGE_SPANS = [
    "ragline.guard_in",
    "ragline.query_analysis",
    "ragline.retrieve",
    "ragline.guard_docs",
    "ragline.answer",
    "ragline.citations",
    "ragline.guard_out",
]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[ragline.Project]:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (tmp_path / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    p = ragline.Project(tmp_path, embedder=HashEmbedder())
    p.ingest([docs])
    yield p
    p.close()


def use_model(project: ragline.Project, replies: list[Any]) -> FakeModel:
    model = FakeModel(replies, name="openai:test")
    project.parts.view().answerer = GroundedAnswerer(model, project.embedder)
    return model


def spans_of(project: ragline.Project, trace_id: str | None) -> list[Any]:
    assert trace_id
    return project.get_trace(trace_id)


def test_every_stage_is_a_span_of_the_ask_in_order(project: ragline.Project) -> None:
    pipeline = project.parts.view().pipeline
    assert [s.name for s in pipeline.stages] == STAGES
    answer = project.ask("How long is the warranty?")
    spans = spans_of(project, answer.trace_id)
    root = next(s for s in spans if s.parent_id is None)
    stages = [s for s in spans if s.parent_id == root.span_id]
    assert [s.name for s in sorted(stages, key=lambda s: s.start)] == STAGE_SPANS
    assert all(s.status == "ok" for s in spans)
    # the retriever's own steps hang under the retrieve stage, the answerer's under answer
    by_id = {s.span_id: s.name for s in spans}
    keyword = next(s for s in spans if s.name == "ragline.retriever.keyword")
    assert by_id[keyword.parent_id] == "ragline.retrieve"
    assert {"retrieval", "answer", "total"} <= set(answer.timings_ms)
    assert answer.timings_ms["total"] >= answer.timings_ms["retrieval"]


def test_ask_is_the_stream_drained(project: ragline.Project) -> None:
    answer = project.ask("How long is the warranty?")
    events = list(project.ask_stream("How long is the warranty?"))
    kinds = [e.type for e in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"delta", "citation"}
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.answer.text == answer.text and done.answer.references == answer.references
    assert isinstance(events[0], RetrievalEvent) and events[0].hits == done.answer.hits
    text = "".join(e.text for e in events if isinstance(e, DeltaEvent))
    assert text == answer.text
    assert len([e for e in events if isinstance(e, CitationEvent)]) == len(answer.sentences)


def test_both_answerers_are_answerers(project: ragline.Project) -> None:
    assert isinstance(project.parts.view().answerer, ExtractiveAnswerer)
    assert isinstance(project.parts.view().answerer, Answerer)
    assert isinstance(GroundedAnswerer(FakeModel(["x"]), project.embedder), Answerer)


def test_an_llm_answer_runs_the_same_stages(project: ragline.Project) -> None:
    model = use_model(project, ["Every X200 comes with a two-year warranty [1].", "x"])
    answer = project.ask("How long is the X200 warranty?")
    assert answer.sentences[0].citations == [1] and answer.usage is not None
    assert model.last_call.method == "complete"  # not streamed: one model call
    spans = spans_of(project, answer.trace_id)
    root = next(s for s in spans if s.parent_id is None)
    assert [s.name for s in spans if s.parent_id == root.span_id] == STAGE_SPANS
    events = list(project.ask_stream("How long is the X200 warranty?"))
    assert model.last_call.method == "stream"
    assert isinstance(events[-1], DoneEvent)


class Recorder:
    """A stage a user adds: it sees the hits and writes to its span."""

    name, span, kind = "audit", "ragline.audit", "guard"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def run(self, ask: Ask) -> Iterable[Event]:
        self.seen.append(ask.question)
        ask.record(lambda hits: {"audit.hits": hits}, len(ask.hits))
        return ()


def test_a_new_stage_plugs_in_without_touching_the_flow(project: ragline.Project) -> None:
    pipeline = project.parts.view().pipeline
    recorder = Recorder()
    assert isinstance(recorder, Stage)
    pipeline.answering.insert(0, recorder)
    answer = project.ask("How long is the warranty?")
    assert recorder.seen == ["How long is the warranty?"]
    audit = next(s for s in spans_of(project, answer.trace_id) if s.name == "ragline.audit")
    assert audit.attributes["audit.hits"] == len(answer.hits) > 0


class Broken:
    name, span, kind = "broken", "ragline.broken", "guard"

    def run(self, ask: Ask) -> Iterable[Event]:
        raise RuntimeError("the guard crashed")


def test_a_failing_stage_fails_the_ask_and_marks_its_span(project: ragline.Project) -> None:
    project.parts.view().pipeline.retrieval.insert(1, Broken())
    with pytest.raises(RuntimeError, match="the guard crashed"):
        project.ask("How long is the warranty?")
    (summary,) = project.list_traces(status="error")
    spans = {s.name: s for s in project.get_trace(summary.trace_id)}
    assert spans["ragline.broken"].status == "error"
    assert spans["ragline.broken"].events[0].name == "exception"
    assert spans["ragline.ask"].status == "error"
    assert "ragline.retrieve" not in spans  # nothing ran after the failure


def test_a_model_failure_mid_stream_ends_with_an_error_event(project: ragline.Project) -> None:
    use_model(project, [[Delta("Every X200 "), ProviderError("connection reset")]])
    events = list(project.ask_stream("How long is the X200 warranty?"))
    last = events[-1]
    assert isinstance(last, ErrorEvent) and "partial" in last.message
    assert last.partial_text == "Every X200 "
    assert not any(isinstance(e, DoneEvent) for e in events)
    (summary,) = project.list_traces(status="error")
    spans = {s.name: s for s in project.get_trace(summary.trace_id)}
    assert spans["ragline.answer"].status == "error"
    assert "ragline.citations" not in spans  # cite never ran on a partial text


def test_stopping_after_the_last_event_abandons_nothing(project: ragline.Project) -> None:
    stream = project.ask_stream("How long is the warranty?")
    done = None
    for event in stream:
        if isinstance(event, DoneEvent):
            done = event
            break  # a consumer that stops once it has the answer
    stream.close()
    assert done is not None
    root = next(s for s in spans_of(project, done.answer.trace_id) if s.parent_id is None)
    assert "ragline.stream.abandoned" not in root.attributes and root.status == "ok"


def test_an_abandoned_stream_marks_the_stage_it_stopped_in(project: ragline.Project) -> None:
    reply = "Every X200 comes with a two-year warranty [1]. It covers the motor [1]."
    use_model(project, [reply])
    stream = project.ask_stream("How long is the X200 warranty?")
    assert isinstance(next(stream), RetrievalEvent)
    assert isinstance(next(stream), DeltaEvent)
    stream.close()
    (summary,) = project.list_traces(text="x200")
    spans = {s.name: s for s in project.get_trace(summary.trace_id)}
    assert spans["ragline.ask"].attributes["ragline.stream.abandoned"] is True
    assert spans["ragline.answer"].attributes["ragline.stream.abandoned"] is True
    assert "ragline.citations" not in spans


def test_search_runs_only_the_retrieval_stages(project: ragline.Project) -> None:
    result = project.retrieve("warranty motor")
    assert result.hits and result.hits[0].chunk.document_id == "docs/warranty.md"
    (summary,) = [t for t in project.list_traces() if t.name == "ragline.search"]
    spans = project.get_trace(summary.trace_id)
    root = next(s for s in spans if s.parent_id is None)
    assert root.attributes["ragline.query"] == "warranty motor"
    assert [s.name for s in spans if s.parent_id == root.span_id] == STAGE_SPANS[1:3]


@pytest.mark.parametrize(
    ("question", "why"),
    [("", "is blank"), ("   \n", "is blank"), ("what\x00", "NUL"), ("x" * 5000, "longer than")],
)
def test_every_entry_point_checks_the_question(
    project: ragline.Project, question: str, why: str
) -> None:
    before = project.list_traces()
    with pytest.raises(InputError, match=why):
        project.ask(question)
    with pytest.raises(InputError, match=why):
        list(project.ask_stream(question))
    with pytest.raises(InputError, match=why):
        project.search(question)
    with pytest.raises(InputError, match=why):
        project.chat(None, question)
    assert project.list_traces() == before  # nothing traced
    assert project.conversations.list_conversations("default") == []  # nothing stored


def test_chat_stores_both_turns_and_asks_a_follow_up_with_its_topic(
    project: ragline.Project,
) -> None:
    first = project.chat(None, "How long is the X200 warranty?")
    assert "two-year" in first.answer.text and first.turn == 1
    follow = project.chat(first.conversation_id, "And the frame?")
    assert follow.answer.question == "How long is the X200 frame warranty?"
    assert "ten years" in follow.answer.text
    turns = project.conversations.turns("default", first.conversation_id)
    assert [t.role for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[3].trace_id == follow.answer.trace_id and turns[3].citations
    # the trace shows what was asked and what the user typed
    root = next(s for s in spans_of(project, follow.answer.trace_id) if s.parent_id is None)
    assert root.attributes["ragline.question"] == follow.answer.question
    assert root.attributes["ragline.message"] == "And the frame?"


def test_a_chat_answer_that_fails_keeps_the_user_turn(project: ragline.Project) -> None:
    use_model(project, [ProviderError("the model is down")])
    with pytest.raises(ProviderError):
        project.chat(None, "How long is the X200 warranty?")
    (conversation,) = project.conversations.list_conversations("default")
    (turn,) = project.conversations.turns("default", conversation.id)
    assert turn.role == "user" and turn.content == "How long is the X200 warranty?"


def test_an_unknown_conversation_is_not_found_and_nothing_is_stored(
    project: ragline.Project,
) -> None:
    from ragline.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no conversation"):
        project.chat("does-not-exist", "How long is the warranty?")
    assert project.conversations.list_conversations("default") == []
