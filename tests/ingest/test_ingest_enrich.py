"""Language detection and doc-type rules."""

from __future__ import annotations

import pytest

from ragline.config import DocTypeRule
from ragline.errors import ConfigError
from ragline.ingest import LanguageDetector, match_doc_type

EN = "The battery warranty lasts two years from the date of delivery or eight hundred cycles."
ES = "La garantía de la batería es de dos años desde la fecha de entrega o de ochocientos ciclos."


def test_detects_among_configured_languages() -> None:
    det = LanguageDetector(["en", "es"])
    assert det.detect_many([EN, ES, "ok", "12 34 56", ""]) == ["en", "es", None, None, None]
    assert det.detect(ES) == "es"


def test_single_language_needs_no_detector() -> None:
    det = LanguageDetector(["EN"])
    assert det.detect_many([EN, ES, "hi"]) == ["en", "en", None]


def test_unknown_language_code_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown ISO 639-1 language code 'xx'"):
        LanguageDetector(["en", "xx"])


def test_short_chunk_leans_on_its_document() -> None:
    det = LanguageDetector(["en", "nl"])
    short = "Helio Cycles B.V., Kanaalweg 12, Utrecht, the Netherlands, and the Dealer."
    body = " ".join([EN] * 8)
    assert det.detect(short) == "nl"  # on its own, the street names win
    assert det.detect_documents([[short, body, body]]) == [["en", "en", "en"]]
    # a long Spanish chunk inside an English document is still Spanish
    det2 = LanguageDetector(["en", "es"])
    long_es = " ".join([ES] * 8)
    assert det2.detect_documents([[body, body, long_es], [ES]]) == [["en", "en", "es"], ["es"]]


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("finance/**", "finance/q1.pdf", True),
        ("finance/**", "finance/2025/q1.pdf", True),
        ("finance/**", "docs/finance/q1.pdf", False),
        ("**/finance/**", "docs/finance/q1.pdf", True),
        ("**/*.pdf", "a.pdf", True),
        ("**/*.pdf", "x/y/a.pdf", True),
        ("*.md", "deep/down/a.md", True),
        ("docs/*.md", "docs/a.md", True),
        ("docs/*.md", "docs/sub/a.md", False),
        ("docs/?.md", "docs/a.md", True),
        ("legal/[ab]*.docx", "legal/b-contract.docx", True),
        ("legal/[!ab]*.docx", "legal/b-contract.docx", False),
        ("./kb/**", "kb/a.txt", True),
    ],
)
def test_doc_type_globs(pattern: str, path: str, hit: bool) -> None:
    rules = [DocTypeRule(match=pattern, doc_type="x")]
    assert match_doc_type(rules, path) == ("x" if hit else None)


def test_first_matching_rule_wins() -> None:
    rules = [
        DocTypeRule(match="finance/legal/**", doc_type="contract"),
        DocTypeRule(match="finance/**", doc_type="finance"),
    ]
    assert match_doc_type(rules, "finance/legal/nda.docx") == "contract"
    assert match_doc_type(rules, "finance/q1.pdf") == "finance"
    assert match_doc_type(rules, "other.md") is None
