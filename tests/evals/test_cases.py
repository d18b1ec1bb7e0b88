"""Regression cases from traces (``ragline cases add``): fields, no duplicates, bad input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ragline.errors import InputError
from ragline.evals._cases import (
    add_case_from_trace,
    add_cases_from_feedback,
    case_from_trace,
    parse_from_feedback,
    trace_facts,
)
from ragline.evals._dataset import load_cases
from ragline.evals._types import Case
from ragline.store._traces import SpanRecord
from ragline.store.memory import MemoryTraceStore
from ragline.testing._trace_conformance import T0, feedback, make_trace, tid

HITS = [
    {"rank": 1, "chunk_id": "faq#2", "document_id": "faq", "score": 0.03, "text": "..."},
    {"rank": 2, "chunk_id": "warranty#0", "document_id": "warranty", "score": 0.02},
    {"rank": 3, "chunk_id": "faq#5", "document_id": "faq", "score": 0.01},
]


def ask_trace(
    n: int, *, tenant: str = "default", question: str = "How long is the warranty?"
) -> list[SpanRecord]:
    spans = make_trace(n, tenant=tenant, start=T0 + n, question=question, answer="Five years [1].")
    retrieval = replace(
        spans[1], kind="retrieval", name="ragline.retrieve", attributes={"ragline.hits": HITS}
    )
    return [spans[0], retrieval, *spans[2:]]


@pytest.fixture
def store() -> MemoryTraceStore:
    s = MemoryTraceStore()
    for n in (1, 2, 3):
        s.write_spans(ask_trace(n))
    s.write_spans(ask_trace(4, tenant="acme", question="¿Cuánto dura la garantía?"))
    return s


def test_a_trace_becomes_a_case(store: MemoryTraceStore) -> None:
    spans = store.get_trace(tid(1))
    fb = [feedback("f", tid(1), kind="hallucination", note="it is two years")]
    case = case_from_trace(
        spans, feedback=fb, expected=["Two years."], must_contain=["two years"], tags=["battery"]
    )
    assert case.id == f"trace-{tid(1)}"
    assert case.source_trace_id == tid(1)
    assert (case.question, case.tenant) == ("How long is the warranty?", "default")
    assert case.expected == ["Two years."]
    assert case.must_contain == ["two years"]
    assert case.category == "factual_accuracy"
    assert case.tags == ["regression", "hallucination", "battery"]
    assert case.gold_doc_ids == []  # what was retrieved is not assumed right
    assert case.notes is not None
    assert "Five years [1]." in case.notes
    assert "retrieved documents then: faq, warranty" in case.notes
    assert "it is two years" in case.notes


def test_facts_read_back_from_the_spans(store: MemoryTraceStore) -> None:
    facts = trace_facts(store.get_trace(tid(2)))
    assert facts.chunk_ids == ("faq#2", "warranty#0", "faq#5")
    assert facts.document_ids == ("faq", "warranty")
    assert facts.answer == "Five years [1]."


@pytest.mark.parametrize(
    ("kinds", "category"),
    [
        (["wrong_citation"], "citation_quality"),
        (["irrelevant"], "response_relevance"),
        (["good"], "factual_accuracy"),
        (["irrelevant", "hallucination"], "factual_accuracy"),
    ],
)
def test_category_follows_the_feedback(
    store: MemoryTraceStore, kinds: list[str], category: str
) -> None:
    fb = [feedback(f"f{i}", tid(1), kind=k) for i, k in enumerate(kinds)]
    assert case_from_trace(store.get_trace(tid(1)), feedback=fb).category == category
    given = case_from_trace(store.get_trace(tid(1)), feedback=fb, category="safety")
    assert given.category == "safety"


def test_add_case_appends_a_valid_case_with_gold_docs(
    store: MemoryTraceStore, tmp_path: Path
) -> None:
    path = tmp_path / "evals" / "regression.jsonl"
    case = add_case_from_trace(
        store, path, tid(4), expected=["Dos años."], gold_doc_ids=["garantia", "garantia"]
    )
    assert load_cases(path) == [case]
    assert case.tenant == "acme"
    assert case.gold_doc_ids == ["garantia"]


def test_the_same_trace_twice_is_refused(store: MemoryTraceStore, tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    add_case_from_trace(store, path, tid(1))
    before = path.read_bytes()
    with pytest.raises(InputError, match="already in"):
        add_case_from_trace(store, path, tid(1), expected=["x"])
    assert path.read_bytes() == before


def test_unknown_gold_document_is_refused(store: MemoryTraceStore, tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    with pytest.raises(InputError, match="no document 'typo' in tenant 'default'"):
        add_case_from_trace(
            store,
            path,
            tid(1),
            gold_doc_ids=["faq", "typo"],
            known_document=lambda t, d: d == "faq",
        )
    assert not path.exists()


def test_from_feedback_adds_every_report_once(store: MemoryTraceStore, tmp_path: Path) -> None:
    path = tmp_path / "regression.jsonl"
    store.add_feedback(feedback("a", tid(1), kind="hallucination", created_at=T0 + 1))
    store.add_feedback(feedback("b", tid(1), kind="hallucination", created_at=T0 + 2))
    store.add_feedback(feedback("c", tid(2), kind="hallucination", created_at=T0 + 3))
    store.add_feedback(feedback("d", tid(3), kind="good", created_at=T0 + 4))
    store.add_feedback(feedback("e", tid(4), kind="hallucination", tenant="acme"))

    first = add_cases_from_feedback(store, path, "hallucination")
    assert (first.added, first.duplicates, first.missing) == (3, 0, 0)
    cases = load_cases(path)
    assert {c.source_trace_id for c in cases} == {tid(1), tid(2), tid(4)}

    again = add_cases_from_feedback(store, path, "hallucination")
    assert (again.added, again.duplicates) == (0, 3)
    assert load_cases(path) == cases

    store.add_feedback(feedback("f", tid(3), kind="hallucination", created_at=T0 + 9))
    later = add_cases_from_feedback(store, path, "hallucination")
    assert (later.added, later.duplicates) == (1, 3)
    [new] = [c for c in load_cases(path) if c.source_trace_id == tid(3)]
    assert new.tags == ["regression", "hallucination", "good"]


def test_from_feedback_for_one_tenant(store: MemoryTraceStore, tmp_path: Path) -> None:
    store.add_feedback(feedback("a", tid(1), kind="irrelevant"))
    store.add_feedback(feedback("e", tid(4), kind="irrelevant", tenant="acme"))
    result = add_cases_from_feedback(store, tmp_path / "c.jsonl", "irrelevant", tenant="acme")
    assert result.added == 1
    [case] = load_cases(tmp_path / "c.jsonl")
    assert (case.tenant, case.category) == ("acme", "response_relevance")


def test_from_feedback_counts_traces_that_are_gone(store: MemoryTraceStore, tmp_path: Path) -> None:
    store.add_feedback(feedback("a", tid(77), kind="wrong_citation"))
    ingest = SpanRecord(tid(78), "1" * 16, None, "ragline.ingest", "ingest", "default", T0, T0 + 1)
    store.write_spans([ingest])
    store.add_feedback(feedback("b", tid(78), kind="wrong_citation"))
    result = add_cases_from_feedback(store, tmp_path / "c.jsonl", "wrong_citation")
    assert (result.added, result.missing) == (0, 2)
    assert not (tmp_path / "c.jsonl").exists()


def test_a_trace_without_a_question_is_not_a_case(store: MemoryTraceStore) -> None:
    ingest = SpanRecord(tid(9), "1" * 16, None, "ragline.ingest", "ingest", "default", T0, T0 + 1)
    with pytest.raises(InputError, match="has no question"):
        case_from_trace([ingest])


@pytest.mark.parametrize("spec", ["hallucination", "kind:hallucination", "kind=", "type=good"])
def test_malformed_from_feedback(spec: str) -> None:
    with pytest.raises(InputError, match="bad --from-feedback value"):
        parse_from_feedback(spec)


def test_from_feedback_unknown_kind() -> None:
    with pytest.raises(InputError, match="unknown feedback kind 'nice'"):
        parse_from_feedback("kind=nice")
    assert parse_from_feedback(" kind = wrong-citation") == "wrong_citation"


def test_broken_dataset_is_left_alone(store: MemoryTraceStore, tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": "a", "question": "q"}\nnot json\n')
    store.add_feedback(feedback("a", tid(1)))
    with pytest.raises(InputError, match=r"cases\.jsonl:2"):
        add_cases_from_feedback(store, path, "hallucination")
    with pytest.raises(InputError, match=r"cases\.jsonl:2"):
        add_case_from_trace(store, path, tid(1))
    assert path.read_text() == '{"id": "a", "question": "q"}\nnot json\n'


def test_unwritable_dataset_path(store: MemoryTraceStore, tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    store.add_feedback(feedback("a", tid(1)))
    with pytest.raises(InputError, match="cannot write dataset"):
        add_cases_from_feedback(store, blocker / "cases.jsonl", "hallucination")
    with pytest.raises(InputError, match="cannot write dataset"):
        add_case_from_trace(store, blocker / "cases.jsonl", tid(1))
    assert blocker.read_text() == "not a folder"


def test_existing_cases_are_kept(store: MemoryTraceStore, tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(Case(id="hand-written", question="Who?").model_dump_json() + "\n")
    add_case_from_trace(store, path, tid(2))
    assert [c.id for c in load_cases(path)] == ["hand-written", f"trace-{tid(2)}"]
