"""Document metadata found at ingest: organisation, period, doc type, file name, and
the regex extractors of ``ingest.metadata.extract``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.config import load_settings
from ragline.errors import ConfigError
from ragline.ingest import Ingestor
from ragline.ingest._metadata import find_doc_type, find_org, find_period
from ragline.store import MemoryStore

from .helpers import CountingEmbedder, all_chunks, make_settings, pdf_bytes

TEN_Q_COVER = """UNITED STATES
SECURITIES AND EXCHANGE COMMISSION
Washington, D.C. 20549
FORM 10-Q
QUARTERLY REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934
For the quarterly period ended September 24, 2022
Commission File Number: 001-36743
Apple Inc.
(Exact name of Registrant as specified in its charter)
California 94-2404110"""

TEN_K_COVER = """FORM 10-K
ANNUAL REPORT PURSUANT TO SECTION 13 OR 15(d) OF THE SECURITIES EXCHANGE ACT OF 1934
For the fiscal year ended December 31, 2021
Commission file number 1-3285
3M COMPANY
(Exact name of registrant as specified in its charter)
Delaware 41-0417775"""


def test_sec_cover_pages_give_company_period_and_form() -> None:
    assert find_org("0000320193-22-000070", TEN_Q_COVER) == "Apple Inc."
    assert find_period("0000320193-22-000070", TEN_Q_COVER) == ("2022-Q3", "2022-09-24")
    assert find_doc_type("0000320193-22-000070", TEN_Q_COVER) == "10-Q"
    assert find_org("", TEN_K_COVER) == "3M COMPANY"
    assert find_period("", TEN_K_COVER) == ("FY2021", "2021-12-31")
    assert find_doc_type("", TEN_K_COVER) == "10-K"


def test_titles_give_periods_and_kinds() -> None:
    assert find_period("Acme Corp Q3 2022 results", "") == ("2022-Q3", None)
    assert find_period("Third quarter of 2021 update", "") == ("2021-Q3", None)
    assert find_period("Annual Report 2023", "") == ("FY2023", None)
    assert find_period("Three months ended March 31, 2020", "") == ("2020-Q1", "2020-03-31")
    assert find_doc_type("Helio Bikes FAQ", "") == "faq"
    assert find_doc_type("Travel expenses policy", "") == "policy"
    assert find_doc_type("E-bike user guide", "") == "manual"
    assert find_org("Acme Holdings Annual Report 2023", "") == "Acme Holdings"


def test_nothing_is_guessed_from_ordinary_prose() -> None:
    prose = "We rode to the coast in May 2022. The weather was fine and the bikes held up."
    assert find_org("Trip notes", prose) is None
    assert find_period("Trip notes", prose) is None
    assert find_doc_type("Trip notes", prose) is None


def _ingest(project: Path, settings_overrides: dict[str, object] | None = None) -> MemoryStore:
    store = MemoryStore()
    settings = make_settings(**(settings_overrides or {}))
    report = Ingestor(store, CountingEmbedder(), settings, project_dir=project).ingest(
        [project / "docs"]
    )
    assert report.ok, report.failed
    return store


def test_a_filing_pdf_with_an_accession_number_title_gets_its_company(project: Path) -> None:
    pages = [TEN_Q_COVER, "Net sales were 90,146 million dollars."]
    pdf = pdf_bytes(pages, title="0000320193-22-000070")
    (project / "docs" / "aapl-20220924.pdf").write_bytes(pdf)
    store = _ingest(project)
    (doc,) = store.list_documents("default")
    assert doc.metadata["ragline.org"] == "Apple Inc."
    assert doc.metadata["ragline.period"] == "2022-Q3"
    assert doc.metadata["ragline.period_end"] == "2022-09-24"
    assert doc.metadata["ragline.doc_type"] == "10-Q"
    assert doc.metadata["ragline.file"] == "aapl-20220924.pdf"
    assert doc.doc_type is None  # the user's doc_type field is left to the user
    # the page-2 chunk never names Apple, but its indexed text does: keyword search finds it
    hits = store.keyword_search("default", "Apple net sales", k=3)
    assert hits and hits[0].chunk.page == 2
    assert "Apple Inc." in hits[0].chunk.indexed_text.split("\n")[1]


def test_the_file_name_is_searchable(project: Path) -> None:
    (project / "docs" / "helio_x200_service-notes.md").write_text(
        "# Service notes\n\nTighten the stem bolts to 5 Nm after the first ride.\n"
    )
    (project / "docs" / "other.md").write_text("# Other\n\nNothing about bolts here at all.\n")
    store = _ingest(project)
    hits = store.keyword_search("default", "x200", k=3)
    assert [h.chunk.document_id for h in hits] == ["docs/helio_x200_service-notes.md"]


def test_what_the_user_states_wins_over_extraction(project: Path) -> None:
    (project / "docs" / "report.md").write_text(
        "---\ncompany: Helio Bikes B.V.\ndoc_type: finance\nperiod: H1 2024\n---\n"
        "# Acme Corp Annual Report 2023\n\nRevenue grew.\n"
    )
    store = _ingest(project)
    (doc,) = store.list_documents("default")
    assert doc.metadata["ragline.org"] == "Helio Bikes B.V."
    assert doc.metadata["ragline.period"] == "H1 2024"
    assert doc.metadata["ragline.doc_type"] == "finance"
    assert doc.metadata["company"] == "Helio Bikes B.V."


def test_auto_off_keeps_only_stated_values(project: Path) -> None:
    (project / "docs" / "r.md").write_text("# Acme Corp Annual Report 2023\n\nRevenue grew.\n")
    store = _ingest(project, {"metadata": {"auto": False}})
    (doc,) = store.list_documents("default")
    assert not {"ragline.org", "ragline.period", "ragline.doc_type"} & set(doc.metadata)
    assert doc.metadata["ragline.file"] == "r.md"


def test_regex_rules_set_their_key_and_one_that_matches_nothing_sets_nothing(
    project: Path,
) -> None:
    (project / "docs" / "ACME_2019_10K.md").write_text("# Results\n\nTicker: ACME. Revenue grew.\n")
    rules = [
        {"key": "company", "regex": r"^(?:.*/)?([A-Za-z0-9]+)_\d{4}_", "from": "path"},
        {"key": "ticker", "regex": r"Ticker:\s*([A-Z]+)", "from": "text"},
        {"key": "auditor", "regex": r"Audited by (\w+)", "from": "first_page"},
    ]
    store = _ingest(project, {"metadata": {"extract": rules}})
    (doc,) = store.list_documents("default")
    assert doc.metadata["company"] == "ACME"
    assert doc.metadata["ragline.org"] == "ACME"  # a rule's company is the organisation
    assert doc.metadata["ticker"] == "ACME"
    assert "auditor" not in doc.metadata
    assert doc.metadata["ragline.doc_type"] == "10-K"  # from the title the file name gave
    chunk = all_chunks(store)[0]
    assert chunk.metadata["ticker"] == "ACME"


def test_odd_characters_in_values_are_cleaned(project: Path) -> None:
    (project / "docs" / "odd.md").write_text(
        '---\ncompany: "Acme\\u200b  \\u0007Corp\\tLtd"\n---\n# Notes\n\nText here.\n'
    )
    store = _ingest(project)
    (doc,) = store.list_documents("default")
    assert doc.metadata["ragline.org"] == "Acme Corp Ltd"
    assert all(ch.isprintable() for ch in all_chunks(store)[0].indexed_text.replace("\n", ""))


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"key": "company", "regex": "([A-Z"}, ["company", "not a valid regular expression"]),
        ({"key": "year", "regex": r"(\d{4})", "group": 2}, ["year", "group 2 does not exist"]),
        ({"key": "x", "regex": "a", "from": "footer"}, ["from"]),
    ],
)
def test_a_bad_extractor_is_a_config_error_naming_it(
    tmp_path: Path, rule: dict[str, object], words: list[str]
) -> None:
    import yaml

    (tmp_path / "ragline.yaml").write_text(
        yaml.safe_dump({"ingest": {"metadata": {"extract": [rule]}}})
    )
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path, environ={})
    message = str(e.value)
    assert "ingest.metadata.extract[0]" in message
    assert all(w in message for w in words), message


def test_disabled_adds_no_ragline_metadata_and_no_context_line(project: Path) -> None:
    (project / "docs" / "r.md").write_text(
        "---\ncompany: Acme Corp\n---\n# Acme Corp Annual Report 2023\n\nRevenue grew.\n"
    )
    rules = [{"key": "unit", "regex": r"(Revenue)", "from": "text"}]
    store = _ingest(project, {"metadata": {"enabled": False, "extract": rules}})
    (doc,) = store.list_documents("default")
    assert doc.metadata == {"company": "Acme Corp", "unit": "Revenue"}
    chunk = all_chunks(store)[0]
    assert chunk.indexed_text == "Acme Corp Annual Report 2023\nRevenue grew."
