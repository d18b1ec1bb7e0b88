"""Query analysis that uses document metadata: organisations, periods and document
types named in the question boost (or filter) the hits, and the trace says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.config import Settings
from ragline.embed import HashEmbedder
from ragline.ingest import Ingestor
from ragline.retrieve import Retriever
from ragline.retrieve._explain import explain_routing
from ragline.retrieve._metadata_match import MetadataValues, match_metadata
from ragline.retrieve._retriever import analysis_attributes
from ragline.store import MemoryStore

VALUES = MetadataValues.build(
    [
        {"ragline.org": "Apple Inc.", "ragline.period": "2022-Q3", "ragline.doc_type": "10-Q"},
        {"ragline.org": "Apple Inc.", "ragline.period": "FY2022", "ragline.doc_type": "10-K"},
        {"ragline.org": "3M COMPANY", "ragline.period": "FY2018", "ragline.doc_type": "10-K"},
        {"ragline.org": "Target Corporation", "ragline.period": "2021-Q2"},
        {"ragline.org": "Ünïcode & Co. (Europe) Ltd", "ragline.period": "H1 2024"},
        {"ragline.org": "C++ Tools Corp."},
    ]
)


def _found(question: str) -> dict[str, tuple[str, ...]]:
    return {m.key: m.values for m in match_metadata(question, VALUES)}


@pytest.mark.parametrize(
    ("question", "org", "period"),
    [
        ("What was Apple's net income in Q3 2022?", "Apple Inc.", ("2022-Q3",)),
        ("Apple revenue, three months ended September 30, 2022", "Apple Inc.", ("2022-Q3",)),
        ("APPLE INC. gross margin for the third quarter of 2022", "Apple Inc.", ("2022-Q3",)),
        ("What is the FY2018 capex for 3M?", "3M COMPANY", ("FY2018",)),
        ("3m capex fy18", "3M COMPANY", ("FY2018",)),
        ("Did Target grow in 2021?", "Target Corporation", ("2021-Q2",)),
        ("unicode & co (europe) results H1 2024", "Ünïcode & Co. (Europe) Ltd", ("H1 2024",)),
        ("Who founded C++ Tools?", "C++ Tools Corp.", None),
    ],
)
def test_names_and_periods_are_recognised_loosely(
    question: str, org: str, period: tuple[str, ...] | None
) -> None:
    found = _found(question)
    assert found.get("ragline.org") == (org,)
    assert found.get("ragline.period") == period


def test_fiscal_year_prefers_the_fiscal_year_a_bare_year_takes_every_period() -> None:
    assert _found("Apple FY2022 revenue")["ragline.period"] == ("FY2022",)
    assert _found("Apple revenue in 2022")["ragline.period"] == ("2022-Q3", "FY2022")


def test_common_words_and_unknown_values_match_nothing() -> None:
    assert _found("What is the target margin for the new frame?") == {}
    assert _found("What did Microsoft earn in Q1 2019?") == {}
    assert _found("") == {}
    assert match_metadata("Apple in Q3 2022", MetadataValues()) == []


def test_document_types() -> None:
    assert _found("What does Apple's 10-K say about risk?")["ragline.doc_type"] == ("10-K",)
    assert _found("apple quarterly report")["ragline.doc_type"] == ("10-Q",)


# ---------------------------------------------------------------------- end to end

FILING = (
    "# Quarterly report\n\nNet sales were {sales} million dollars for the quarter.\n"
    "Operating cash flow was {cash} million dollars.\n"
)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> tuple[MemoryStore, HashEmbedder, Path]:
    root = tmp_path_factory.mktemp("kb")
    docs = root / "docs"
    docs.mkdir()
    # three filings that read alike; only their metadata says whose and when
    for name, company, period, sales in (
        ("a.md", "Apple Inc.", "2022-Q3", 90146),
        ("b.md", "Globex Corporation", "2022-Q3", 1234),
        ("c.md", "Apple Inc.", "2021-Q3", 83360),
    ):
        (docs / name).write_text(FILING.format(sales=sales, cash=sales // 4))
        (docs / f"{name}.meta.yaml").write_text(f"company: {company}\nperiod: {period}\n")
    store, embedder = MemoryStore(), HashEmbedder()
    settings = Settings.model_validate({})
    report = Ingestor(store, embedder, settings.ingest, project_dir=root).ingest([docs])
    assert report.ok, report.failed
    return store, embedder, root


def _retriever(kb: tuple[MemoryStore, HashEmbedder, Path], mode: str) -> Retriever:
    store, embedder, _ = kb
    settings = Settings.model_validate({"retrieval": {"metadata_match": mode, "k": 3}})
    return Retriever(store, embedder, settings)


QUESTION = "What were Globex net sales in Q3 2022?"


def test_boost_puts_the_named_company_and_quarter_first(
    kb: tuple[MemoryStore, HashEmbedder, Path],
) -> None:
    hits = _retriever(kb, "boost").search(QUESTION, tenant="default").hits
    assert hits[0].chunk.document_id == "docs/b.md"
    assert hits[0].scores["boost"] == pytest.approx(4.0)  # company x2, period x2
    assert len(hits) == 3  # a boost reorders, it removes nothing
    # Apple's filing of the same quarter gets no period boost: the question is Globex's
    apple_q3 = next(h for h in hits if h.chunk.document_id == "docs/a.md")
    assert "boost" not in apple_q3.scores


def test_a_period_alone_boosts_every_organisation(
    kb: tuple[MemoryStore, HashEmbedder, Path],
) -> None:
    hits = _retriever(kb, "boost").search("net sales in Q3 2022", tenant="default").hits
    boosted = {h.chunk.document_id for h in hits if h.scores.get("boost") == pytest.approx(2.0)}
    assert boosted == {"docs/a.md", "docs/b.md"}


def test_filter_keeps_only_the_named_company_and_quarter(
    kb: tuple[MemoryStore, HashEmbedder, Path],
) -> None:
    retriever = _retriever(kb, "filter")
    hits = retriever.search("Apple net sales Q3 2022", tenant="default").hits
    assert [h.chunk.document_id for h in hits] == ["docs/a.md"]
    plan = retriever.analyze("Apple net sales Q3 2022", tenant="default")
    attrs = analysis_attributes(plan)
    assert attrs["ragline.metadata.mode"] == "filter"
    assert attrs["ragline.metadata.matches"] == [
        "ragline.org in (Apple Inc.) on 'apple'",
        "ragline.period in (2022-Q3) on 'q3 2022'",
    ]
    assert len(attrs["ragline.metadata.filters"]) == 2


def test_off_changes_nothing(kb: tuple[MemoryStore, HashEmbedder, Path]) -> None:
    retriever = _retriever(kb, "off")
    plan = retriever.analyze(QUESTION, tenant="default")
    assert plan.metadata.matches == [] and plan.boosts == []
    hits = retriever.search(QUESTION, tenant="default").hits
    assert all("boost" not in h.scores for h in hits)


def test_explain_shows_metadata_as_fired_rules(kb: tuple[MemoryStore, HashEmbedder, Path]) -> None:
    explanation = explain_routing(_retriever(kb, "boost"), QUESTION, tenant="default")
    fired = {m.rule: (m.matched, m.action) for m in explanation.matches if m.fired}
    assert fired["metadata:ragline.org"] == ("globex", "boost ragline.org=Globex Corporation x2")
    top = explanation.hits[0]
    assert top.document_id == "docs/b.md" and top.after == 1
    assert "metadata:ragline.org" in top.rules and top.boost == pytest.approx(4.0)


def test_the_index_sees_a_new_document_at_once(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(FILING.format(sales=1, cash=1))
    (docs / "a.md.meta.yaml").write_text("company: Initech LLC\n")
    store, embedder = MemoryStore(), HashEmbedder()
    settings = Settings.model_validate({})
    ingestor = Ingestor(store, embedder, settings.ingest, project_dir=tmp_path)
    ingestor.ingest([docs])
    retriever = Retriever(store, embedder, settings)
    assert retriever.analyze("Initrode sales?", tenant="default").metadata.matches == []
    (docs / "b.md").write_text(FILING.format(sales=2, cash=2))
    (docs / "b.md.meta.yaml").write_text("company: Initrode Inc.\n")
    ingestor.ingest([docs])
    matches = retriever.analyze("Initrode sales?", tenant="default").metadata.matches
    assert [m.values for m in matches] == [("Initrode Inc.",)]
    # a tenant's values are its own
    assert retriever.analyze("Initrode sales?", tenant="other").metadata.matches == []


def test_a_key_few_documents_carry_is_not_matched() -> None:
    """One tagged page among untagged ones must not be lifted above them."""
    tagged = {"ragline.org": "Apple Inc.", "ragline.period": "FY2022"}
    sparse = MetadataValues.build([tagged, {}, {}, {}])
    assert match_metadata("What was Apple's revenue in FY2022?", sparse) == []
    half = MetadataValues.build([tagged, {"ragline.org": "3M COMPANY"}, {}, {}])
    keys = {m.key for m in match_metadata("What was Apple's revenue in FY2022?", half)}
    assert keys == {"ragline.org"}  # companies on half the documents; periods on a quarter
