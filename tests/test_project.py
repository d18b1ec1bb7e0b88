"""The Python API: ``ragline.Project`` is what the CLI wraps."""

from __future__ import annotations

from pathlib import Path

import pytest

import ragline
from ragline.errors import ConfigError, InputError
from ragline.store import Condition, MemoryStore
from ragline.testing import HashEmbedder


@pytest.fixture()
def project(tmp_path: Path) -> ragline.Project:
    docs = tmp_path / "docs"
    (docs / "finance").mkdir(parents=True)
    (docs / "finance" / "report.md").write_text(
        "# Annual report\n\nRevenue in 2025 was EUR 48.6 million, up 18 percent.\n"
    )
    (docs / "faq.md").write_text(
        "---\ndoc_type: faq\nyear: 2024\n---\n# FAQ\n\n"
        "Revenue questions go to the finance team. Shipping takes three days.\n"
    )
    (tmp_path / "ragline.yaml").write_text(
        "ingest:\n  doc_types:\n    - {match: 'docs/finance/**', doc_type: finance}\n"
        "routing:\n  - name: money\n    when: {query_matches: 'revenue|EUR'}\n"
        "    boost: {doc_type: finance, factor: 3}\n"
    )
    p = ragline.Project(tmp_path, store=MemoryStore(), embedder=HashEmbedder())
    report = p.ingest([docs])
    assert report.ok and report.totals()["added"] == 2
    return p


def test_search_accepts_every_filter_form(project: ragline.Project) -> None:
    for filters in (
        ["doc_type=faq"],
        {"doc_type": "faq"},
        [Condition("doc_type", "eq", "faq")],
        ["year>=2024"],
        {"doc_type": ["faq", "policy"]},
    ):
        hits = project.search("revenue", filters=filters)
        assert hits, filters
        assert {h.chunk.document_id for h in hits} == {"docs/faq.md"}, filters


def test_doc_type_rule_and_routing_boost(project: ragline.Project) -> None:
    result = project.retrieve("What was revenue in EUR?")
    assert result.rules_fired == ["money"]
    assert result.hits[0].chunk.doc_type == "finance"
    assert result.hits[0].chunk.document_id == "docs/finance/report.md"


def test_ask_cites_every_sentence_and_times_each_step(project: ragline.Project) -> None:
    answer = project.ask("What was the revenue in 2025?")
    assert not answer.abstained
    assert "48.6" in answer.text
    assert all(s.citations for s in answer.sentences)
    cited = {r.number for r in answer.references}
    assert cited == {n for s in answer.sentences for n in s.citations}
    for step in ("embed_query", "keyword", "dense", "fusion", "retrieval", "answer", "total"):
        assert step in answer.timings_ms


def test_tenants_are_isolated(project: ragline.Project, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "secret.md").write_text("# Secret\n\nThe launch code is zebra-42.\n")
    project.ingest([other], tenant="acme")
    assert project.search("launch code zebra", tenant="acme")
    default_hits = project.search("launch code zebra")
    assert all(h.chunk.tenant == "default" for h in default_hits)
    assert project.stats(tenant="acme") == {"documents": 1, "chunks": 1}


def test_blank_question_is_a_clear_error(project: ragline.Project) -> None:
    with pytest.raises(InputError):
        project.ask("   ")


def test_unknown_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'gpt-9'.*did you mean openai:gpt-9\?"):
        ragline.Project(tmp_path, overrides={"model": "gpt-9"})


def test_default_store_is_sqlite_in_the_project(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Bicycles have two wheels.")
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        p.ingest([tmp_path / "a.txt"])
    assert (tmp_path / "ragline.db").exists()
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:  # survives reopening
        assert p.search("wheels")[0].chunk.document_id == "a.txt"
