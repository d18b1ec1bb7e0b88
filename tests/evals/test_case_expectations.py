"""A case made from a hallucination report records what went wrong: the bad answer, its
unsupported sentences, and the facts the feedback note states."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ragline.errors import InputError
from ragline.evals import CaseOutput, CitedSentence, default_metrics, score_case
from ragline.evals._case_facts import facts_from_note, unsupported_sentences
from ragline.evals._cases import add_case_from_trace, add_cases_from_feedback, case_from_trace
from ragline.evals._dataset import load_cases
from ragline.store._traces import SpanRecord
from ragline.store.memory import MemoryTraceStore
from ragline.testing._trace_conformance import T0, feedback, make_trace, tid

QUESTION = "What was the net income in 2025?"
BAD = (
    "A replacement battery costs EUR 649 for the 540 Wh pack [1]. "
    "Orders over EUR 100 ship for free [2]."
)
SENTENCES = [
    {"text": "A replacement battery costs EUR 649 for the 540 Wh pack [1].", "support": 0.31},
    {"text": "Orders over EUR 100 ship for free [2].", "support": 0.62},
]


def finance_trace(n: int, *, tenant: str = "default", abstained: bool = False) -> list[SpanRecord]:
    """An ask answered from FAQ chunks, with the cite stage's per-sentence support."""
    spans = make_trace(n, tenant=tenant, start=T0 + n, question=QUESTION, answer=BAD)
    cite = replace(
        spans[1],
        kind="citations",
        name="ragline.citations",
        attributes={"ragline.sentences": SENTENCES, "ragline.abstained": abstained},
    )
    return [spans[0], cite, *spans[2:]]


@pytest.fixture
def store() -> MemoryTraceStore:
    s = MemoryTraceStore()
    s.write_spans(finance_trace(1))
    s.write_spans(finance_trace(2))
    s.write_spans(finance_trace(3, tenant="acme"))
    s.write_spans(finance_trace(4, abstained=True))
    return s


@pytest.mark.parametrize(
    ("note", "must", "must_not"),
    [
        ("net income is EUR 3.2M", ["EUR 3.2M"], []),
        ("Net income was €3.2 million, up 128%", ["€3.2 million", "128%"], []),
        ("it is 2 years, not 5 years", ["2 years"], ["5 years"]),
        ("should be 40 million euros rather than $5", ["40 million euros"], ["$5"]),
        ('say "net income was EUR 3.2 million"', ["net income was EUR 3.2 million"], []),
        ("it's 3,200,000 USD, the bot's figure is made up", ["3,200,000 USD"], []),
        ("I asked 3 times and it is wrong", [], []),  # no unit, no amount: not guessed
        ("wrong figures", [], []),
        (None, [], []),
    ],
)
def test_facts_from_the_note(note: str | None, must: list[str], must_not: list[str]) -> None:
    facts = facts_from_note(note)
    assert (facts.must_contain, facts.must_not_contain) == (must, must_not)


def test_unsupported_sentences_follow_min_support() -> None:
    spans = finance_trace(1)
    assert unsupported_sentences(spans, 0.45) == [SENTENCES[0]["text"]]
    assert unsupported_sentences(spans, 0.7) == [s["text"] for s in SENTENCES]
    assert unsupported_sentences(spans, 0.1) == []
    assert unsupported_sentences(make_trace(9), 0.45) == []  # no sentences recorded


def test_a_hallucination_report_becomes_a_case_that_fails_on_the_same_answer(
    store: MemoryTraceStore,
) -> None:
    fb = [feedback("f", tid(1), note="net income is EUR 3.2M")]
    case = case_from_trace(store.get_trace(tid(1)), feedback=fb)
    assert case.must_contain == ["EUR 3.2M"]
    assert case.bad_answer == BAD
    assert case.bad_claims == [SENTENCES[0]["text"]]
    assert case.notes is not None and "net income is EUR 3.2M" in case.notes
    assert case.tags == ["regression", "hallucination"]

    def verdicts(answer: str) -> dict[str, bool | None]:
        sentences = tuple(CitedSentence(s) for s in answer.split(" [1]. ") if s)
        output = CaseOutput(answer=answer, sentences=sentences)
        return {r.metric: r.passed for r in score_case(case, output, default_metrics())}

    again = verdicts(BAD)  # the pipeline still says it: the case fails
    assert again["differs_from_bad"] is False and again["must_contain"] is False
    fixed = verdicts("Net income was EUR 3.2 million in 2025 [1].")
    assert fixed["differs_from_bad"] is True and fixed["must_contain"] is True


def test_only_a_hallucination_records_the_bad_answer(store: MemoryTraceStore) -> None:
    spans = store.get_trace(tid(1))
    for kind in ("good", "irrelevant", "wrong_citation"):
        case = case_from_trace(spans, feedback=[feedback("f", tid(1), kind=kind, note=None)])
        assert (case.bad_answer, case.bad_claims) == (None, [])
    # an abstention is not a bad answer to avoid
    abstained = case_from_trace(store.get_trace(tid(4)), feedback=[feedback("f", tid(4))])
    assert abstained.bad_answer is None


def test_a_good_note_gives_no_facts(store: MemoryTraceStore) -> None:
    fb = [feedback("f", tid(1), kind="good", note="fine: 2 years is right")]
    assert case_from_trace(store.get_trace(tid(1)), feedback=fb).must_contain == []


def test_feedback_without_a_note_still_records_the_bad_answer(
    store: MemoryTraceStore, tmp_path: Path
) -> None:
    store.add_feedback(feedback("a", tid(1), note=None))
    path = tmp_path / "regression.jsonl"
    result = add_cases_from_feedback(store, path, "hallucination", min_support=0.7)
    [case] = result.cases
    assert load_cases(path) == [case]
    assert case.must_contain == [] and case.expected == []
    assert case.bad_answer == BAD and len(case.bad_claims) == 2  # min_support 0.7


def test_flags_and_note_facts_are_merged_without_duplicates(
    store: MemoryTraceStore, tmp_path: Path
) -> None:
    store.add_feedback(feedback("a", tid(2), note="net income is EUR 3.2M, not EUR 649"))
    path = tmp_path / "cases.jsonl"
    case = add_case_from_trace(
        store,
        path,
        tid(2),
        must_contain=["eur 3.2m", "2025"],
        must_not_contain=["free shipping"],
        must_not_cite=["kb/faq.md"],
        gold_doc_ids=["kb/report.pdf"],
        known_document=lambda tenant, doc: doc == "kb/report.pdf",
    )
    assert case.must_contain == ["eur 3.2m", "2025"]  # the note's "EUR 3.2M" is the same
    assert case.must_not_contain == ["free shipping", "EUR 649"]
    assert case.must_not_cite == ["kb/faq.md"]
    assert case.gold_doc_ids == ["kb/report.pdf"]
    assert load_cases(path) == [case]


def test_gold_docs_from_feedback_are_checked_and_nothing_is_written(
    store: MemoryTraceStore, tmp_path: Path
) -> None:
    store.add_feedback(feedback("a", tid(1)))
    store.add_feedback(feedback("b", tid(3), tenant="acme"))
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": "keep", "question": "q"}\n', encoding="utf-8")
    before = path.read_bytes()
    known = {("default", "kb/report.pdf")}
    with pytest.raises(InputError, match=r"no document 'kb/report\.pdf' in tenant 'acme'"):
        add_cases_from_feedback(
            store,
            path,
            "hallucination",
            gold_doc_ids=["kb/report.pdf"],
            known_document=lambda t, d: (t, d) in known,
        )
    assert path.read_bytes() == before
    result = add_cases_from_feedback(
        store,
        path,
        "hallucination",
        tenant="default",
        gold_doc_ids=["kb/report.pdf"],
        known_document=lambda t, d: (t, d) in known,
    )
    assert [c.gold_doc_ids for c in result.cases] == [["kb/report.pdf"]]


def test_a_trace_of_another_tenant_or_none_at_all_is_refused(
    store: MemoryTraceStore, tmp_path: Path
) -> None:
    path = tmp_path / "cases.jsonl"
    with pytest.raises(InputError, match="for tenant 'default'"):
        add_case_from_trace(store, path, tid(3), tenant="default")  # an acme trace
    with pytest.raises(InputError, match="no trace"):
        add_case_from_trace(store, path, "feedfacefeedface")
    assert not path.exists()


def test_a_malformed_dataset_line_is_named_and_nothing_is_added(
    store: MemoryTraceStore, tmp_path: Path
) -> None:
    store.add_feedback(feedback("a", tid(1), note="net income is EUR 3.2M"))
    path = tmp_path / "regression.jsonl"
    broken = b'{"id": "ok", "question": "q"}\n{"id": "bad", "question": \n'
    path.write_bytes(broken)
    with pytest.raises(InputError, match=r"regression\.jsonl:2: not valid JSON"):
        add_cases_from_feedback(store, path, "hallucination")
    with pytest.raises(InputError, match=r"regression\.jsonl:2"):
        add_case_from_trace(store, path, tid(1))
    assert path.read_bytes() == broken
