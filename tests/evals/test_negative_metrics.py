"""Negative expectations on a case: ``must_not_contain``, ``must_not_cite``,
``differs_from_bad`` — what a regression case made from a bad answer checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragline.evals import (
    Case,
    CaseOutput,
    CaseResult,
    CitedSentence,
    DiffersFromBad,
    MustContain,
    MustNotCite,
    MustNotContain,
    RetrievedContext,
    default_metrics,
    evaluate_gates,
    load_cases,
    score_case,
    summarize,
)
from ragline.evals._dataset import dump_case
from ragline.evals._gates import parse_gate
from ragline.evals._metrics._phrases import contains_phrase

BAD = "Shipping is free for orders over EUR 100 [1]. Returns are free within 30 days [2]."


def case(**fields: object) -> Case:
    return Case.model_validate({"id": "c", "question": "What was the net income?", **fields})


def out(answer: str, *cited: tuple[str, str], abstained: bool = False) -> CaseOutput:
    """An answer whose sentences cite the given (chunk id, document id) pairs in turn."""
    sentences = tuple(
        CitedSentence(s.strip(), (cited[i][0],) if i < len(cited) else ())
        for i, s in enumerate(answer.split(". "))
        if s.strip()
    )
    contexts = tuple(RetrievedContext(c, d, "") for c, d in cited)
    return CaseOutput(answer=answer, sentences=sentences, contexts=contexts, abstained=abstained)


@pytest.mark.parametrize(
    ("text", "phrase", "found"),
    [
        ("Net income was EUR 3.2M.", "eur 3.2m", True),
        ("Net income was EUR 13.2M.", "3.2M", False),  # a longer number is another number
        ("Net income was EUR 3.25M.", "3.2", False),
        ("It costs EUR 3.5.", "EUR 3", False),
        ("It costs EUR 3, or 4.", "EUR 3", True),  # a comma that ends the number
        ("Revenue was 3,200,000 euros.", "3200000", True),  # thousands separators ignored
        ("Revenue was 3200000 euros.", "3,200,000", True),
        ("Free   SHIPPING\nover", "free shipping over", True),
        ("The fee is 0.32 percent.", "32", False),
    ],
)
def test_phrases_match_numbers_only_as_whole_numbers(text: str, phrase: str, found: bool) -> None:
    assert contains_phrase(text, phrase) is found


def test_must_not_contain_fails_an_answer_with_a_forbidden_figure() -> None:
    metric = MustNotContain()
    c = case(must_not_contain=["EUR 100", "free shipping"])
    bad = metric.score(c, out("Orders over EUR 100 ship for free [1]."))
    assert (bad.value, bad.passed, bad.details["found"]) == (0.5, False, ["EUR 100"])
    good = metric.score(c, out("Net income was EUR 3.2 million [1]."))
    assert (good.value, good.passed) == (1.0, True)
    assert metric.score(c, out("", abstained=True)).passed is True
    # citation markers are not text: "free [2] shipping" says "free shipping"
    assert metric.score(c, out("We offer free [2] shipping.")).passed is False
    assert not metric.applies(case())
    assert metric.score(case(must_not_contain=["  "]), out("x")).failure == "empty_phrases"


def test_must_not_cite_reads_the_cited_documents() -> None:
    metric = MustNotCite()
    c = case(must_not_cite=["kb/faq.md"])
    bad = metric.score(c, out("Net income was high. It grew", ("kb/faq.md#2", "kb/faq.md")))
    assert (bad.value, bad.passed, bad.details["cited"]) == (0.0, False, ["kb/faq.md"])
    # retrieved but not cited is allowed: only citations count
    only_retrieved = CaseOutput(
        answer="Net income was EUR 3.2 million.",
        sentences=(CitedSentence("Net income was EUR 3.2 million.", ("kb/report.pdf#1",)),),
        contexts=(
            RetrievedContext("kb/faq.md#2", "kb/faq.md", ""),
            RetrievedContext("kb/report.pdf#1", "kb/report.pdf", ""),
        ),
    )
    assert metric.score(c, only_retrieved).passed is True
    # a chunk that is not among the contexts maps to its document by the DOC#N id
    stray = CaseOutput(answer="x", sentences=(CitedSentence("x", ("kb/faq.md#9",)),))
    assert metric.score(c, stray).passed is False
    # text without sentence records: what it cites is unknown, so no silent pass
    assert metric.score(c, CaseOutput(answer="Some text.")).failure == "no_sentences"
    assert metric.score(c, CaseOutput(answer="", abstained=True)).passed is True
    assert not metric.applies(case())


def test_differs_from_bad_fails_the_same_answer_and_passes_a_new_one() -> None:
    metric = DiffersFromBad()
    c = case(bad_answer=BAD)
    same = metric.score(c, out(BAD))
    assert (same.value, same.passed, same.details["f1"]) == (0.0, False, 1.0)
    # the same words with other citation markers are still the same answer
    assert metric.score(c, out(BAD.replace("[1]", "[3]"))).passed is False
    new = metric.score(c, out("Net income was EUR 3.2 million in 2025 [1]."))
    assert (new.value, new.passed) == (1.0, True)
    assert new.details["f1"] < 0.8
    assert metric.score(c, out("", abstained=True)).passed is True
    assert not metric.applies(case()) and not metric.applies(case(bad_answer=" "))


def test_differs_from_bad_catches_an_unsupported_claim_that_reappears() -> None:
    metric = DiffersFromBad()
    claim = "Shipping is free for orders over EUR 100."
    c = case(bad_answer=BAD, bad_claims=[claim])
    # a longer answer (F1 to the bad answer below 0.8) that repeats the claim
    mixed = (
        "Net income was EUR 3.2 million in fiscal year 2025, up from EUR 1.4 million. "
        "Revenue grew by 18 percent to EUR 48.6 million. "
        "Shipping is free for orders over EUR 100."
    )
    result = metric.score(c, out(mixed))
    assert result.passed is False
    assert result.details["repeated"] == [claim]
    assert result.details["f1"] < 0.8
    # claims alone are enough for the metric to apply
    only_claims = case(bad_claims=[claim])
    assert metric.applies(only_claims)
    assert metric.score(only_claims, out("Net income was EUR 3.2 million.")).passed is True


def test_old_jsonl_without_the_fields_loads_and_writes_them_only_when_set(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cases.jsonl"
    old = {"id": "old", "question": "How long is the warranty?", "must_contain": ["2 years"]}
    path.write_text(json.dumps(old) + "\n", encoding="utf-8")
    [loaded] = load_cases(path)
    assert (loaded.must_not_contain, loaded.must_not_cite) == ([], [])
    assert (loaded.bad_answer, loaded.bad_claims) == (None, [])
    assert json.loads(dump_case(loaded)) == old  # nothing new is written for it
    names = {r.metric for r in score_case(loaded, out("2 years [1]."), default_metrics())}
    assert not names & {"must_not_contain", "must_not_cite", "differs_from_bad"}

    new = case(must_not_contain=["EUR 100"], must_not_cite=["kb/faq.md"], bad_answer=BAD)
    assert load_cases_from_line(tmp_path, dump_case(new)) == new


def load_cases_from_line(tmp_path: Path, line: str) -> Case:
    path = tmp_path / "one.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    [c] = load_cases(path)
    return c


def test_reports_and_gates_see_the_negative_metrics() -> None:
    results = []
    for n, o in enumerate((out(BAD, ("kb/faq.md#1", "kb/faq.md")), out("EUR 3.2 million [1]."))):
        c = case(id=f"c{n}", must_not_contain=["EUR 100"], bad_answer=BAD)
        results.append(CaseResult(c, 0, o, score_case(c, o, default_metrics())))
    summary = summarize(results)
    gates = [
        parse_gate("factual_accuracy.must_not_contain >= 1.0"),
        parse_gate("factual_accuracy.differs_from_bad >= 0.5"),
    ]
    verdicts = {str(g.gate): g.passed for g in evaluate_gates(summary, gates)}
    assert verdicts == {
        "factual_accuracy.must_not_contain >= 1": False,  # one of two answers has it
        "factual_accuracy.differs_from_bad >= 0.5": True,
    }


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Net income was EUR 3.2 million.", "EUR 3.2M"),
        ("Net income was €3.2m.", "EUR 3.2 million"),
        ("Revenue: $1.5bn", "USD 1.5 billion"),
        ("A budget of 40k", "40 thousand"),
    ],
)
def test_amounts_match_however_they_are_written(text: str, phrase: str) -> None:
    assert contains_phrase(text, phrase)
    assert MustContain().score(case(must_contain=[phrase]), out(text)).passed is True


def test_must_contain_no_longer_finds_a_number_inside_another() -> None:
    c = case(must_contain=["2 years"])
    assert MustContain().score(c, out("The frame is covered for 12 years [1].")).passed is False
    assert MustContain().score(c, out("The battery is covered for 2 years [1].")).passed is True
