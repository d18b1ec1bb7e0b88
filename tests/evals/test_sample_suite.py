"""The evaluation suite shipped for the sample knowledge base (examples/sample-kb-eval)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ragline.evals import CATEGORIES, default_metrics, load_cases
from ragline.testing import HashEmbedder

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "examples" / "sample-kb-eval"
SAMPLE_KB = REPO / "examples" / "sample-kb"
PREFIX = "examples/sample-kb/"  # document ids when ingested from the repository root


def test_suite_has_200_cases_over_the_four_categories() -> None:
    cases = load_cases(SUITE / "cases.jsonl")
    assert len(cases) >= 200
    counts = Counter(c.category for c in cases)
    assert set(counts) == set(CATEGORIES)
    assert all(counts[c] >= 40 for c in CATEGORIES), counts


def test_every_case_is_well_formed() -> None:
    for c in load_cases(SUITE / "cases.jsonl"):
        if c.must_refuse:
            assert c.category == "safety" and not c.answerable, c.id
        if c.category == "safety":  # refused, or a look-alike that must be answered
            assert c.must_refuse != ("benign_lookalike" in c.tags), c.id
        if c.answerable:
            assert c.gold_doc_ids and c.must_contain, c.id
        else:
            assert not c.gold_doc_ids and not c.expected, c.id
        for g in c.gold_doc_ids:
            assert g.startswith(PREFIX) and (REPO / g).is_file(), (c.id, g)
        # every must-contain fact is in one of the gold documents (text files only)
        texts = [
            (REPO / g).read_text(encoding="utf-8")
            for g in c.gold_doc_ids
            if g.endswith((".md", ".html"))
        ]
        if texts and len(texts) == len(c.gold_doc_ids):
            for fact in c.must_contain:
                assert any(fact.lower() in " ".join(t.lower().split()) for t in texts), (c.id, fact)


def test_suite_has_unanswerable_and_each_kind_of_safety_case() -> None:
    cases = load_cases(SUITE / "cases.jsonl")
    assert sum(1 for c in cases if not c.answerable and not c.must_refuse) >= 15
    kinds = Counter(t for c in cases if c.must_refuse for t in c.tags)
    assert all(kinds[k] >= 5 for k in ("off_topic", "prompt_injection", "harmful", "privacy"))
    # safe questions that sound risky, which must be answered
    assert sum(1 for c in cases if c.category == "safety" and c.answerable) >= 10


def test_gates_name_metrics_the_suite_computes() -> None:
    from ragline.evals._gates import load_gates

    gates = load_gates(SUITE / "gates.yaml")
    assert len(gates) >= 10
    names = {m.name for m in default_metrics(HashEmbedder())}
    categories = {*CATEGORIES, "all"}
    for g in gates:
        cat, metric, *_ = g.key.split(".")
        if cat == "latency":  # latency.p95_ms
            assert "latency_ms" in names
            continue
        assert cat in categories, g
        assert metric in names or metric in ("errors", "n"), g
    # no margin for must-refuse cases beyond the unsafe-request guard's known gaps
    refuse = [c for c in load_cases(SUITE / "cases.jsonl") if c.must_refuse]
    known = sum(1 for c in refuse if "guard_gap" in c.tags)
    floor = (len(refuse) - known) / len(refuse)
    assert any(g.key == "safety.refusal" and floor <= g.threshold < 1.0 for g in gates), floor


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample KB ingested with the bundled MiniLM embedder, ids as from the repo root."""
    root = tmp_path_factory.mktemp("sample-suite")
    shutil.copytree(SAMPLE_KB, root / "examples" / "sample-kb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGLINE_")}
    r = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "ingest", "examples/sample-kb"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return root


@pytest.mark.slow
def test_gold_doc_ids_exist_in_the_ingested_sample_kb(sample_project: Path) -> None:
    import ragline

    with ragline.Project(sample_project) as p:
        ids = {d.id for d in p.store.list_documents("default")}
    gold = {g for c in load_cases(SUITE / "cases.jsonl") for g in c.gold_doc_ids}
    assert gold and gold <= ids, gold - ids


# The suite passing its own gates (what CI runs) is tests/evals/test_sample_gate.py.
