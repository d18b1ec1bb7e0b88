"""GroundedAnswerer with scripted models: answers, abstention, streaming, failures."""

from __future__ import annotations

from typing import Any

import pytest

from ragline.answer import (
    ABSTAIN_TEXT,
    CitationEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Event,
    GroundedAnswerer,
    RetrievalEvent,
)
from ragline.embed import HashEmbedder
from ragline.errors import InputError
from ragline.models import (
    Completion,
    Delta,
    Message,
    Price,
    RequestRejected,
    StreamInterrupted,
    StreamStalled,
    ToolSpec,
    Usage,
)
from ragline.testing import FakeModel, FunctionModel
from ragline.types import Chunk, Hit

WARRANTY = "Every X200 vacuum cleaner comes with a two-year warranty."
SHIPPING = "Standard delivery takes three to five working days within the EU."
HITS = [
    Hit(Chunk(id="w", document_id="warranty", ordinal=0, text=WARRANTY, title="Warranty"), 0.9),
    Hit(Chunk(id="s", document_id="shipping", ordinal=0, text=SHIPPING, title="Shipping"), 0.5),
]
REPLY = "The X200 comes with a two-year warranty [1]. Delivery takes three to five days [2]."
QUESTION = "How long is the X200 warranty?"


def answerer(model: Any, **kwargs: Any) -> GroundedAnswerer:
    return GroundedAnswerer(model, HashEmbedder(), **kwargs)


def test_answer_maps_citations_and_records_usage_cost_and_prompt() -> None:
    model = FakeModel([REPLY], name="openai:test")
    result = answerer(model, max_tokens=99).answer(QUESTION, HITS, tenant="acme")
    answer = result.answer
    assert not answer.abstained and answer.model == "openai:test" and answer.tenant == "acme"
    assert answer.text == REPLY
    assert [s.citations for s in answer.sentences] == [[1], [2]]
    assert [r.chunk_id for r in answer.references] == ["w", "s"]
    assert 0.45 < answer.support <= 1.0 and answer.hits == HITS
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.cost_usd == 0.0 and result.finish_reason == "stop"
    assert len(result.prompt_version) == 12 and (
        f'<passage id="1" source="Warranty">\n{WARRANTY}\n</passage>' in result.prompt_text
    )
    call = model.last_call
    assert call.method == "complete" and call.options["max_tokens"] == 99
    assert call.options["temperature"] == 0.0 and "stop" not in call.options
    assert call.messages[-1].content.endswith(f"Question: {QUESTION}")
    assert {"prompt", "generate", "cite"} <= set(answer.timings_ms)


def test_the_model_sees_the_exact_numbered_context() -> None:
    seen: list[list[Message]] = []

    def reply(messages: list[Message], tools: list[ToolSpec] | None, opts: dict[str, Any]) -> str:
        seen.append(messages)
        return "The X200 comes with a two-year warranty [1]."

    answerer(FunctionModel(reply)).answer(QUESTION, HITS)
    assert seen[0][-1].content == (
        f'Context:\n<passage id="1" source="Warranty">\n{WARRANTY}\n</passage>\n\n'
        f'<passage id="2" source="Shipping">\n{SHIPPING}\n</passage>\n\nQuestion: {QUESTION}'
    )


def test_base_model_template_passes_stop_sequences() -> None:
    model = FakeModel([" The X200 comes with a two-year warranty [1]."], name="local")
    result = answerer(model, template="grounded_base_v1").answer(QUESTION, HITS)
    assert model.last_call.options["stop"] == ["\nQuestion:", "\nContext:", "\n\n"]
    assert result.answer.references[0].chunk_id == "w"


def test_no_hits_abstains_without_calling_the_model() -> None:
    model = FakeModel([], name="fake")
    result = answerer(model).answer(QUESTION, [])
    assert result.answer.abstained and result.answer.text == ABSTAIN_TEXT
    assert model.calls == [] and result.usage.total_tokens == 0
    events = list(answerer(model).stream(QUESTION, []))
    assert [type(e) for e in events] == [RetrievalEvent, DoneEvent]
    assert isinstance(events[-1], DoneEvent) and events[-1].answer.abstained
    assert model.calls == []


def test_a_model_that_says_the_abstain_text_abstains() -> None:
    result = answerer(FakeModel([ABSTAIN_TEXT])).answer(QUESTION, HITS)
    assert result.answer.abstained and result.answer.sentences == []
    assert result.answer.references == []


def test_empty_question_and_tiny_budget_are_input_errors() -> None:
    model = FakeModel([])
    with pytest.raises(InputError, match="empty"):
        answerer(model).answer("  ", HITS)
    with pytest.raises(InputError, match="token budget"):
        answerer(model, token_budget=10).answer(QUESTION, HITS)
    with pytest.raises(InputError, match="token budget"):
        answerer(model, token_budget=10).stream(QUESTION, HITS)  # raises before any event
    assert model.calls == []


def test_dropped_markers_and_unsupported_sentences_are_reported() -> None:
    reply = "The X200 comes with a two-year warranty [4]. Bananas grow on tall green plants."
    result = answerer(FakeModel([reply])).answer(QUESTION, HITS)
    assert result.report.dropped_markers == [4]
    assert result.report.attributed == [0] and result.report.unsupported == [1]
    assert result.answer.sentences[0].citations == [1] and "[4]" not in result.answer.text


def test_stream_yields_retrieval_deltas_citations_then_done() -> None:
    model = FakeModel([REPLY], name="fake")
    price = Price(input_per_mtok=1.0, output_per_mtok=2.0)
    events = list(answerer(model, price=price).stream(QUESTION, HITS, tenant="acme"))
    kinds = [e.type for e in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "done"
    first_citation = kinds.index("citation")
    assert set(kinds[1:first_citation]) == {"delta"}
    assert kinds[first_citation:-1] == ["citation", "citation"]
    text = "".join(e.text for e in events if isinstance(e, DeltaEvent))
    assert text == REPLY
    citations = [e for e in events if isinstance(e, CitationEvent)]
    assert [(c.sentence_index, c.citations) for c in citations] == [(0, [1]), (1, [2])]
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.answer.text == REPLY and done.answer.tenant == "acme"
    assert done.usage.total_tokens > 0
    expected = (done.usage.prompt_tokens * 1.0 + done.usage.completion_tokens * 2.0) / 1e6
    assert done.cost_usd == pytest.approx(expected)
    assert {"prompt", "first_token", "generate", "cite"} <= set(done.timings_ms)
    assert model.last_call.method == "stream"
    assert done.to_dict()["type"] == "done" and events[0].to_dict()["hits"]


@pytest.mark.parametrize(
    "failure",
    [
        StreamInterrupted("connection dropped", provider="openai"),
        StreamStalled("no data for 60 s", provider="openai"),
    ],
)
def test_stream_failure_mid_way_ends_with_an_error_event(failure: Exception) -> None:
    script: list[Delta | BaseException] = [
        Delta(text="The X200 comes "),
        Delta(text="with a two-"),
        failure,
    ]
    events: list[Event] = []
    for event in answerer(FakeModel([script])).stream(QUESTION, HITS):  # never raises
        events.append(event)
    assert [e.type for e in events] == ["retrieval", "delta", "delta", "error"]
    error = events[-1]
    assert isinstance(error, ErrorEvent)
    assert error.partial_text == "The X200 comes with a two-"
    assert "partial" in error.message and error.retryable
    assert not any(isinstance(e, DoneEvent) for e in events)


def test_stream_that_fails_at_once_or_with_a_non_provider_error() -> None:
    rejected = RequestRejected("bad key", provider="openai", status_code=401)
    events = list(answerer(FakeModel([rejected])).stream(QUESTION, HITS))
    assert [e.type for e in events] == ["retrieval", "error"]
    assert isinstance(events[-1], ErrorEvent) and not events[-1].retryable
    assert events[-1].partial_text == "" and "bad key" in events[-1].message

    script: list[Delta | BaseException] = [Delta(text="The X200 "), RuntimeError("boom")]
    events = list(answerer(FakeModel([script])).stream(QUESTION, HITS))
    assert isinstance(events[-1], ErrorEvent) and events[-1].partial_text == "The X200 "
    assert "boom" in events[-1].message


def test_stream_without_a_finish_signal_is_reported_partial() -> None:
    script: list[Delta | BaseException] = [Delta(text="The X200 comes with")]
    events = list(answerer(FakeModel([script])).stream(QUESTION, HITS))
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].partial_text == "The X200 comes with" and "partial" in events[-1].message


def test_stream_uses_provider_usage_when_reported() -> None:
    script: list[Delta | BaseException] = [
        Delta(text="The X200 comes with a two-year warranty [1]."),
        Delta(finish_reason="stop", usage=Usage(120, 12)),
    ]
    events = list(answerer(FakeModel([script]), price=Price(0.0, 0.0)).stream(QUESTION, HITS))
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.usage == Usage(120, 12) and done.cost_usd == 0.0
    assert done.finish_reason == "stop"
    assert done.answer.references[0].chunk_id == "w"


def test_an_answer_cut_by_max_tokens_says_so() -> None:
    script: list[Delta | BaseException] = [
        Delta(text="The X200 comes with a two-year"),
        Delta(finish_reason="length", usage=Usage(120, 8)),
    ]
    done = list(answerer(FakeModel([script])).stream(QUESTION, HITS))[-1]
    assert isinstance(done, DoneEvent) and done.finish_reason == "length"
    assert done.to_dict()["finish_reason"] == "length"
    cut = Completion(text="The X200 comes with", model="fake", finish_reason="length")
    assert answerer(FakeModel([cut])).answer(QUESTION, HITS).finish_reason == "length"


def test_completion_cost_from_the_model_wins() -> None:
    reply = Completion(text=REPLY, model="fake", usage=Usage(10, 5), cost_usd=0.25)
    result = answerer(FakeModel([reply]), price=Price(1.0, 1.0)).answer(QUESTION, HITS)
    assert result.cost_usd == 0.25 and result.usage == Usage(10, 5)
