"""The support checker (issue 23): wrong names and figures, content-free sentences,
long passages, other languages, and the one checker everywhere (config selects it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ragline
from ragline.answer import FactScorer, GroundedAnswerer, SupportScorer, verify_citations
from ragline.answer._support_model import MAX_FACT_CHARS, SupportWeights
from ragline.errors import ConfigError
from ragline.evals import (
    Case,
    CaseOutput,
    FactSupport,
    Faithfulness,
    RetrievedContext,
    ScorerSupport,
    default_metrics,
)
from ragline.guards import GuardContext
from ragline.guards._citation import CitationGuard
from ragline.testing import FakeModel, HashEmbedder
from ragline.types import Chunk, Hit

TROLLER = (
    "The Pantanal is a mid-size pickup truck made by the Brazilian off-road vehicle "
    "manufacturer Troller Veículos Especiais S/A from 2006 to 2008. Troller Veículos "
    "Especiais S/A (Troller) is a manufacturer of off-road vehicles in Brazil."
)
KENT = (
    "Raconte-moi... is a 2010 album by jazz singer Stacey Kent. "
    "She is married to saxophonist Jim Tomlinson."
)
# the sample knowledge base's annual report (examples/make_sample_kb.py)
PROFIT = (
    "Gross profit was EUR 18.6 million, a gross margin of 38.2% (2024: 35.9%). "
    "Operating expenses grew by 11% to EUR 15.0 million, mainly from hiring in "
    "service and software. EBITDA was EUR 6.1 million and net income was EUR 3.2 "
    "million, compared with EUR 1.4 million in 2024. Helio ended the year with "
    "EUR 11.7 million in cash and no bank debt."
)
CHECKER = FactScorer()


def make_hit(chunk_id: str, text: str) -> Hit:
    doc = chunk_id.split("#")[0]
    return Hit(Chunk(id=chunk_id, document_id=doc, ordinal=0, text=text, title="", source=doc), 1.0)


def _judge(sentence: str, passage: str) -> tuple[bool, str]:
    j = CHECKER.judge(sentence, [passage], threshold=0.45)
    return j.supported, j.code


@pytest.mark.parametrize(
    ("sentence", "passage", "code"),
    [
        ("The Pantanal is made by the Colombian manufacturer Troller.", TROLLER, "missing_entity"),
        ("Jim Tomlinson is a married singer.", KENT, "predicate_mismatch"),
        ("Net profit was EUR 18.6 million.", PROFIT, "number_mismatch"),
        ("Net income was EUR 18.6 million.", PROFIT, "number_mismatch"),
        ("Net income was EUR 3.4 million.", PROFIT, "number_mismatch"),
        ("Gross profit was EUR 18.6 million in Q3 2023.", PROFIT, "missing_entity"),
        ("Operating expenses grew by 11% over 5 years.", PROFIT, "number_mismatch"),
    ],
)
def test_a_wrong_name_or_figure_is_unsupported_with_its_reason(
    sentence: str, passage: str, code: str
) -> None:
    assert _judge(sentence, passage) == (False, code)
    # a similarity score alone ranks these sentences high: the rules decide
    lexical = ScorerSupport(None, check_numbers=False)
    assert lexical.check([(sentence, [passage])])[0].supported


@pytest.mark.parametrize(
    ("sentence", "passage"),
    [
        ("The Pantanal is made by the Brazilian manufacturer Troller.", TROLLER),
        ("Jim Tomlinson is a saxophonist.", KENT),
        ("Stacey Kent is a jazz singer.", KENT),
        ("Gross profit was EUR 18.6 million.", PROFIT),
        ("Net income was EUR 3.2 million.", PROFIT),
    ],
)
def test_the_right_fact_is_supported(sentence: str, passage: str) -> None:
    assert _judge(sentence, passage) == (True, "")


def test_the_cite_stage_flags_gross_profit_given_as_net_profit() -> None:
    hits = [make_hit("report#3", PROFIT)]
    text = "Net profit was EUR 18.6 million [1]. Net income was EUR 3.2 million [1]."
    cited = verify_citations(text, hits, CHECKER)
    assert cited.report.weak_sentences == [0]
    assert cited.report.reasons == {0: "number_mismatch"}
    assert [s.supported for s in cited.sentences] == [False, True]


def test_a_content_free_sentence_is_skipped_not_failed_or_counted() -> None:
    hits = [make_hit("report#3", PROFIT)]
    cited = verify_citations("Sure! Net income was EUR 3.2 million [1].", hits, CHECKER)
    assert cited.report.skipped == [0]
    assert cited.report.unsupported == [] and cited.report.weak_sentences == []
    alone = verify_citations("Net income was EUR 3.2 million [1].", hits, CHECKER)
    assert cited.support == alone.support  # the mean leaves "Sure!" out
    assert CHECKER.judge("Yes!", [PROFIT], threshold=0.45).code == "skipped"


def test_the_citation_guard_on_its_own_skips_a_content_free_sentence() -> None:
    guard, context = CitationGuard(), GuardContext(stage="output")
    assert not guard.check("Sure! Net income was EUR 3.2 million [1].", context).triggered
    assert guard.check("Sure! Net income was EUR 3.2 million.", context).triggered


def _output(answer: str) -> CaseOutput:
    return CaseOutput(answer=answer, contexts=(RetrievedContext("r#0", "r", PROFIT, 1.0),))


def test_faithfulness_counts_only_sentences_with_content() -> None:
    case = Case(id="c", question="What was net income?")
    metric = Faithfulness(FactSupport())
    r = metric.score(case, _output("Yes. Net income was EUR 3.2 million. Sure!"))
    assert r.value == 1.0 and r.details["sentences"] == 1
    wrong = metric.score(case, _output("Yes. Net profit was EUR 18.6 million."))
    assert wrong.value == 0.0 and wrong.details["reasons"] == [[1, "number_mismatch"]]
    assert metric.score(case, _output("Yes! Sure.")).skipped == "no_content"


def test_a_very_long_passage_is_read_in_windows_and_bounded() -> None:
    line = "Paragraph {} describes routine maintenance of the fleet."
    filler = " ".join(line.format(i) for i in range(4000))
    assert len(filler) > 200_000 > MAX_FACT_CHARS
    near = filler[: MAX_FACT_CHARS // 2] + " " + PROFIT + " " + filler
    assert _judge("Net income was EUR 3.2 million.", near) == (True, "")
    beyond = filler + " " + PROFIT  # past the first MAX_FACT_CHARS: not read
    assert not _judge("Net income was EUR 3.2 million.", beyond)[0]
    # words spread over the passage do not add up to support within one window
    spread = " ".join(
        [f"The {w} was mentioned once. " + filler[:3000] for w in ("helio", "ebitda", "cash")]
    )
    j = CHECKER.judge("Helio paid its EBITDA in cash.", [spread], threshold=0.45)
    assert not j.supported


def test_other_languages_are_judged_on_their_words_never_passed_silently() -> None:
    french = "Le bénéfice brut était de 18,6 millions d'euros, une marge de 38,2 %."
    assert _judge("Le bénéfice brut était de 18,6 millions d'euros.", french) == (True, "")
    assert _judge("Le bénéfice brut était de 19,6 millions d'euros.", french)[1] == (
        "number_mismatch"
    )
    # a German sentence against the English passage shares no words: unsupported
    assert not _judge("Der Bruttogewinn betrug 18,6 Millionen Euro.", PROFIT)[0]
    assert not _judge("el beneficio bruto fue de 18,6 millones de euros.", PROFIT)[0]


def test_corrupt_weights_are_a_config_error_saying_how_to_fix(tmp_path: Path) -> None:
    bad = tmp_path / "w.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="support checker's weights") as e:
        SupportWeights.load(bad)
    assert "fit_support.py" in str(e.value.hint)
    bad.write_text(json.dumps({"features": ["x"]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="features"):
        SupportWeights.load(bad)
    shipped = SupportWeights.load()
    assert shipped.metadata["licence"] == "MIT" and "held_back" in shipped.metadata


def _project(root: Path, extra: str = "") -> ragline.Project:
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "docs" / "report.md").write_text(f"# Profitability\n\n{PROFIT}\n", encoding="utf-8")
    (root / "ragline.yaml").write_text(f"embedder: hash\n{extra}", encoding="utf-8")
    return ragline.Project(root, embedder=HashEmbedder())


MODEL = (
    "model: openai:fixed\n"
    "models:\n  openai:fixed: {base_url: 'http://127.0.0.1:9', max_retries: 0}\n"
)


def test_config_selects_the_one_checker_for_answers_and_evals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # never called: no question is asked
    with _project(tmp_path / "a", MODEL) as p:
        assert isinstance(p.parts.view().answerer.scorer, FactScorer)  # type: ignore[attr-defined]
    similarity = MODEL + "support:\n  checker: similarity\n"
    with _project(tmp_path / "b", similarity) as p:
        assert isinstance(p.parts.view().answerer.scorer, SupportScorer)  # type: ignore[attr-defined]
    kinds = {type(getattr(m, "support", None)) for m in default_metrics()}
    assert FactSupport in kinds and ScorerSupport not in kinds
    kinds = {type(getattr(m, "support", None)) for m in default_metrics(checker="similarity")}
    assert ScorerSupport in kinds and FactSupport not in kinds
    with pytest.raises(ConfigError, match=r"support\.checker"):
        _project(tmp_path / "c", "support:\n  checker: nli-large\n")


def test_the_citation_guard_drops_the_wrong_figure(tmp_path: Path) -> None:
    extra = "guards:\n  citation: {enabled: true, action: redact}\n"
    with _project(tmp_path, extra) as p:
        p.ingest([tmp_path / "docs"])
        reply = "Net income was EUR 3.2 million [1]. Net profit was EUR 18.6 million [1]."
        p.parts.view().answerer = GroundedAnswerer(
            FakeModel([reply], name="openai:test"), p.embedder
        )
        answer = p.ask("What was the net profit?")
        assert answer.text == "Net income was EUR 3.2 million [1]."
        assert [g.reasons for g in answer.guards if g.guard == "citation"] == [["citation.missing"]]
