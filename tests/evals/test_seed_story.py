"""The seed's 10am story, end to end, as a user would run it.

Three finance questions were answered from general FAQ chunks instead of the annual
report, and users reported them as hallucinations (with a note saying what the right
figure is). The engineer turns the reports into regression cases with one command;
the cases fail on the current config. A currency routing rule that boosts
``doc_type: finance`` is tried first as the design sketch writes it: replay over the
20 past asks shows it also moves three customer questions with a euro amount
(shipping, battery price, service price) onto the annual report, and the eval gate of
the rest of the suite fails. Narrowed to questions about the company, the rule changes
exactly the three reported asks, the regression cases pass, and the suite's gate
passes.

The knowledge base is small and written here; the pipeline is the real one (hash
embedder, hybrid retrieval, extractive answers, traces in SQLite); cases, evals and
gates go through the ``ragline`` command line.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ragline import Project
from ragline.cli import app
from ragline.evals import Case, ReplayQuery, load_cases

runner = CliRunner()

FAQ = """\
---
title: Helio customer FAQ
doc_type: faq
---

# Helio customer FAQ

## How much money do I save with the trade-in?

Helio customers who traded in an old bike in 2025 saved EUR 120 on average. The
trade-in credit is paid in EUR to your Helio account within 14 days.

## Can I sell my old bike to Helio?

Yes. In 2025 Helio paid EUR 450 on average for a used bike in good condition, in EUR to
your bank account.

## How much does Helio charge for a service?

A standard Helio service costs EUR 89 and a full service costs EUR 149 at any dealer in
2025.

## How much cash can I pay in a store?

Helio stores accept cash payments up to EUR 1,000 per order. Larger amounts are paid by
card or bank transfer.

## What does shipping cost?

Shipping is free for orders over EUR 100. Smaller orders ship for EUR 6.90 within the
EU. Delivery takes three to five working days.

## How much is a replacement battery?

A replacement battery costs EUR 649 for the 540 Wh pack and EUR 799 for the 720 Wh pack.

## How long is the warranty?

The frame is covered for 10 years and the battery for 2 years from the date of delivery.

## How do I return a bike?

You can return a bike within 30 days of delivery for a full refund. Returns are collected
free of charge.
"""
REPORT = """\
---
title: Helio annual report 2025
doc_type: finance
---

# Helio annual report, fiscal year 2025

## Sales

Helio sold bikes, parts and services for EUR 48.6 million in 2025, 18% more than the
EUR 41.2 million of 2024.

## Results

Helio made a net income of EUR 3.2 million in fiscal year 2025, up from EUR 1.4 million
in 2024.

## Cash

At the end of 2025 Helio held EUR 11.7 million in cash and had no bank debt.
"""
SHIPPING = """\
---
title: Shipping
doc_type: policy
---

# Shipping

Orders ship within two working days. Delivery to Germany takes three days, to Spain five
days. We ship to every EU country and to the United Kingdom, but not to the United
States. Parcels cannot be sent to a PO box.
"""
BASE_CONFIG = "embedder: hash\nretrieval:\n  k: 3\n"

# the three reported asks, with the note each report carried
REPORTED = {
    "How much money did Helio make in EUR in 2025?": "net income is EUR 3.2M",
    "How much did Helio sell for in EUR in 2025?": "sales were EUR 48.6 million",
    "How much money did Helio have in EUR at the end of 2025?": (
        "cash at year end was EUR 11.7 million, not EUR 120"
    ),
}
# customer questions with a euro amount: the broad rule moves them to the annual report
EURO_CUSTOMER = [
    "How much is shipping for an order over EUR 100?",
    "Does a replacement battery cost EUR 649?",
    "How much does a service cost in EUR?",
]
OTHER = [
    "How long does delivery to Germany take?",
    "Do you ship to the United States?",
    "Can I ship a bike to a PO box?",
    "How long is the battery warranty?",
    "How long is the frame warranty?",
    "How do I return a bike?",
    "Are returns free?",
    "How much is a replacement battery?",
    "How much money do I save with a trade-in?",
    "Can I pay cash in a store?",
    "How long does delivery to Spain take?",
    "Do you ship to the United Kingdom?",
    "How much does a full service cost?",
    "Can I sell my old bike to Helio?",
]
PAST_ASKS = [*REPORTED, *EURO_CUSTOMER, *OTHER]

# the design sketch's rule, and the same rule narrowed to questions about the company
BROAD_RULE: dict[str, Any] = {
    "name": "currency",
    "when": {"query_matches": r"(\$|€|£)\s?\d|\bUSD\b|\bEUR\b"},
    "boost": {"doc_type": "finance", "factor": 1.5},
}
FIXED_RULE: dict[str, Any] = {
    "name": "company-currency",
    "when": {"query_matches": r"\bHelio\b.*((\$|€|£)\s?\d|\bUSD\b|\bEUR\b)"},
    "boost": {"doc_type": "finance", "factor": 1.5},
}

# the rest of the suite, written by hand: what customers ask and what must be in the answer
SUITE = [
    ("ship-eur-100", "How much is shipping for an order over EUR 100?", "free", "faq"),
    ("battery-eur-649", "Does a replacement battery cost EUR 649?", "EUR 649", "faq"),
    ("service-eur", "How much does a service cost in EUR?", "EUR 89", "faq"),
    ("full-service", "What does a full service cost?", "EUR 149", "faq"),
    ("battery-warranty", "How long is the battery covered by the warranty?", "2 years", "faq"),
    ("frame-warranty", "How many years is the frame covered?", "10 years", "faq"),
    ("return-window", "How many days do I have to return a bike?", "30 days", "faq"),
    ("germany", "How many days does delivery to Germany take?", "three days", "shipping"),
    ("cash-limit", "How much can I pay in cash in a store?", "EUR 1,000", "faq"),
    ("trade-in", "How much do customers save with the trade-in?", "EUR 120", "faq"),
]
SUITE_GATES = """\
gates:
  - factual_accuracy.must_contain >= 0.9
  - factual_accuracy.abstention >= 0.9
  - all.errors == 0
"""
REGRESSION_GATES = """\
gates:
  - factual_accuracy.must_contain >= 1
  - factual_accuracy.must_not_contain >= 1
  - factual_accuracy.differs_from_bad >= 1
  - all.errors == 0
"""


def config(rule: dict[str, Any] | None) -> str:
    if rule is None:
        return BASE_CONFIG
    return BASE_CONFIG + "routing:\n  - " + json.dumps(rule) + "\n"


def cli(root: Path, *args: str) -> Result:
    return runner.invoke(app, ["-C", str(root), *args], env={"COLUMNS": "160"})


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The project, its 20 traced asks, three reports, the cases made from them."""
    root = tmp_path_factory.mktemp("seed-story")
    kb = root / "kb"
    kb.mkdir()
    (kb / "faq.md").write_text(FAQ, encoding="utf-8")
    (kb / "annual-report-2025.md").write_text(REPORT, encoding="utf-8")
    (kb / "shipping.md").write_text(SHIPPING, encoding="utf-8")
    (root / "ragline.yaml").write_text(config(None), encoding="utf-8")
    (root / "broad.yaml").write_text(config(BROAD_RULE), encoding="utf-8")
    (root / "fixed.yaml").write_text(config(FIXED_RULE), encoding="utf-8")
    (root / "suite-gates.yaml").write_text(SUITE_GATES, encoding="utf-8")
    (root / "regression-gates.yaml").write_text(REGRESSION_GATES, encoding="utf-8")
    suite = [
        Case(
            id=cid,
            question=q,
            must_contain=[fact],
            gold_doc_ids=[f"kb/{doc}.md"],
            category="factual_accuracy",
        )
        for cid, q, fact, doc in SUITE
    ]
    (root / "suite.jsonl").write_text(
        "".join(c.model_dump_json(exclude_defaults=True) + "\n" for c in suite), encoding="utf-8"
    )
    with Project(root) as project:
        project.ingest([kb])
        answers = {q: project.ask(q) for q in PAST_ASKS}
        project.flush_traces()
        asked_until = time.time()  # evals run later are traced too: they are not past asks
        for question, note in REPORTED.items():
            project.add_feedback(str(answers[question].trace_id), "hallucination", note)
    out = ok(cli(root, "cases", "add", "--from-feedback", "kind=hallucination"))
    return {"root": root, "answers": answers, "added": out, "until": asked_until}


def eval_run(root: Path, dataset: str, config_file: str | None, gates: str) -> tuple[int, Any]:
    args = ["eval", "run", str(root / dataset), "--gates", str(root / gates), "--json"]
    args.append("--no-cache")
    if config_file is not None:
        args += ["--config", str(root / config_file)]
    result = cli(root, *args)
    assert result.exit_code in (0, 1), (result.output, result.exception)
    return result.exit_code, json.loads(result.stdout)


def case_verdicts(root: Path, run_id: str) -> dict[str, dict[str, bool | None]]:
    """Per case question, every pass/fail metric's verdict."""
    with Project(root) as project:
        results = project.evals.results(run_id)
    return {
        r.case.question: {m.metric: m.passed for m in r.metrics if m.passed is not None}
        for r in results
    }


def test_the_reports_became_cases_that_record_what_went_wrong(story: dict[str, Any]) -> None:
    root, answers = story["root"], story["answers"]
    assert "added 3 cases" in story["added"]
    cases = {c.question: c for c in load_cases(root / "evals" / "regression.jsonl")}
    assert set(cases) == set(REPORTED)
    for question, case in cases.items():
        then = answers[question]
        assert not then.abstained
        assert all(h.chunk.document_id == "kb/faq.md" for h in then.hits[:1])  # FAQ first
        assert case.bad_answer == then.text
        assert case.tags == ["regression", "hallucination"]
        assert case.notes is not None and REPORTED[question] in case.notes
    assert cases["How much money did Helio make in EUR in 2025?"].must_contain == ["EUR 3.2M"]
    assert cases["How much did Helio sell for in EUR in 2025?"].must_contain == ["EUR 48.6 million"]
    cash = cases["How much money did Helio have in EUR at the end of 2025?"]
    assert (cash.must_contain, cash.must_not_contain) == (["EUR 11.7 million"], ["EUR 120"])


def test_the_cases_fail_on_the_old_config_and_pass_on_the_fixed_one(
    story: dict[str, Any],
) -> None:
    root = story["root"]
    code, old = eval_run(root, "evals/regression.jsonl", None, "regression-gates.yaml")
    assert code == 1  # the gate fails: the regression is caught
    old_cases = case_verdicts(root, old["run"])
    for question, verdicts in old_cases.items():
        assert verdicts["differs_from_bad"] is False, question  # the same bad answer again
    make, sell, cash = (old_cases[q] for q in REPORTED)
    assert make["must_contain"] is False and sell["must_contain"] is False
    # the cash answer had the right figure next to a made-up one: must_not_contain catches it
    assert cash["must_contain"] is True and cash["must_not_contain"] is False

    code, fixed = eval_run(root, "evals/regression.jsonl", "fixed.yaml", "regression-gates.yaml")
    assert code == 0, fixed["gates"]
    for question, verdicts in case_verdicts(root, fixed["run"]).items():
        assert verdicts and all(verdicts.values()), (question, verdicts)


def test_replay_shows_exactly_which_past_asks_route_differently(story: dict[str, Any]) -> None:
    root = story["root"]
    cases = load_cases(root / "evals" / "regression.jsonl")
    with Project(root) as project:
        past = ReplayQuery(until=story["until"])
        broad = project.replay(past, config_file=root / "broad.yaml", cases=cases)
        fixed = project.replay(past, config_file=root / "fixed.yaml", cases=cases)
    assert sorted(a.question for a in broad.asks) == sorted(PAST_ASKS)  # the 20 past asks
    assert {a.question for a in broad.asks if a.now.rules} == {*REPORTED, *EURO_CUSTOMER}
    assert {a.question for a in broad.asks if a.retrieval_changed} == {*REPORTED, *EURO_CUSTOMER}
    for ask in broad.asks:
        if ask.question in EURO_CUSTOMER:  # the harm replay shows before it ships
            assert ask.now.document_ids[0] == "kb/annual-report-2025.md"
            assert ask.now.abstained and not ask.then.abstained

    assert {a.question for a in fixed.asks if a.now.rules} == set(REPORTED)
    assert {a.question for a in fixed.asks if a.retrieval_changed} == set(REPORTED)
    assert fixed.counts()["retrieval_changed"] == 3
    for ask in fixed.asks:
        if ask.question in REPORTED:
            assert ask.now.rules == ["company-currency"]
            assert ask.now.document_ids[0] == "kb/annual-report-2025.md"
            assert ask.verdict == "improved", ask.verdict_reason
        else:
            assert not ask.changed, ask.question


def test_the_rest_of_the_suite_does_not_regress(story: dict[str, Any]) -> None:
    root = story["root"]
    code, before = eval_run(root, "suite.jsonl", None, "suite-gates.yaml")
    assert code == 0, before["gates"]
    # the broad rule would have shipped a regression: the gate says so
    code, broad = eval_run(root, "suite.jsonl", "broad.yaml", "suite-gates.yaml")
    assert code == 1
    failed = {g["key"] for g in broad["gates"] if not g["passed"]}
    assert "factual_accuracy.must_contain" in failed
    broad_cases = case_verdicts(root, broad["run"])
    assert {q for q, v in broad_cases.items() if v["must_contain"] is False} >= set(EURO_CUSTOMER)
    # the narrowed rule: every suite case scores as it did before
    code, fixed = eval_run(root, "suite.jsonl", "fixed.yaml", "suite-gates.yaml")
    assert code == 0, fixed["gates"]
    assert case_verdicts(root, fixed["run"]) == case_verdicts(root, before["run"])
    gate = cli(root, "eval", "gate", fixed["run"], "--gates", str(root / "suite-gates.yaml"))
    assert gate.exit_code == 0, gate.output
