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


ES_PARA = (
    "Conecte el cargador al puerto situado bajo el sillín y espere hasta que la luz se "
    "ponga verde. Una carga completa de la batería tarda unas cuatro horas con el cargador "
    "estándar. Guarde la batería en un lugar seco entre diez y veinticinco grados."
)
EN_TWO = (
    "Never open the battery or try to repair it yourself, because the cells can catch "
    "fire. If the housing is damaged, stop using the battery and take it to your dealer."
)


def test_code_product_names_and_short_phrases_do_not_make_a_chunk_mixed() -> None:
    det = LanguageDetector(["en", "es"])
    code = (
        ES_PARA + "\n\n```\n$ sudo apt-get install network-manager-gnome --no-install-recommends\n"
        "$ systemctl restart NetworkManager.service && journalctl -u NetworkManager\n```\n"
        "$ helio-flash --device /dev/ttyUSB0 --image charger-pro-x2-firmware-2025.bin\n"
        "Modelo: Helio Charger Pro X2, Helio Battery Pack 500 Wh, 36 V, 13.9 Ah, 2025-06-30.\n"
        "El mensaje «Battery not found, please check the connector» indica un mal contacto."
    )
    (profile,) = det.profile_documents([[code]])
    assert profile.chunks == ["es"] and profile.mixed == [[]]
    assert profile.language == "es"


def test_two_sentences_in_another_language_make_a_chunk_mixed() -> None:
    det = LanguageDetector(["en", "es"])
    (profile,) = det.profile_documents([[ES_PARA + " " + EN_TWO, ES_PARA]])
    assert profile.mixed == [["en", "es"], []]
    assert profile.language == "es"  # most of the document's letters are Spanish


def test_document_language_is_the_majority_of_its_letters() -> None:
    det = LanguageDetector(["en", "es"])
    (profile,) = det.profile_documents([[EN_TWO, ES_PARA, ES_PARA]])
    assert profile.language == "es"
    # the short English chunk leans on its Spanish document, but its text is English:
    # the mixed marker says so, and an English-only or Spanish-only tenant skips it
    assert profile.chunks[0] == "es" and profile.mixed[0] == ["en", "es"]
    (profile,) = det.profile_documents([[" ".join([EN_TWO] * 4), ES_PARA]])
    assert profile.language == "en"
