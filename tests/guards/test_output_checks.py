"""The answer checks besides the leak guard: maximum length, answer language, citation
required — each guard on its own (the conformance suite and its edge cases), then
through ``Project.ask`` and ``Project.ask_stream`` with a scripted answer model, one
tenant per policy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

import ragline
from ragline.answer import DeltaEvent, DoneEvent, GroundedAnswerer
from ragline.answer._events import GuardEvent
from ragline.answer._extractive import ABSTAIN_TEXT
from ragline.errors import ConfigError
from ragline.guards import Guard, GuardContext
from ragline.guards._citation import CitationGuard, simple_spans
from ragline.guards._language import LanguageGuard
from ragline.guards._length import ELLIPSIS, LengthGuard, truncate
from ragline.guards._policy import REFUSAL_TEXT, ConfiguredGuard, GuardSet
from ragline.ingest._enrich import LanguageDetector
from ragline.testing import FakeModel, GuardConformance, HashEmbedder
from ragline.types import Answer

OUTPUT = GuardContext(stage="output")
LONG_EN = (
    "Every X200 comes with a two-year warranty that covers the battery and the screen, "
    "and the support team answers every claim within two working days."
)
LONG_ES = (
    "Cada X200 tiene una garantía de dos años que cubre la batería y la pantalla, y el "
    "equipo de soporte responde a cada reclamación en dos días laborables."
)

# -- length -------------------------------------------------------------------------


class TestLengthGuard(GuardConformance):
    triggering: ClassVar[list[str]] = ["One sentence here. " * 20, "x" * 500]
    benign: ClassVar[list[str]] = ["The warranty lasts two years [1].", ""]

    @pytest.fixture
    def guard(self) -> Guard:
        return LengthGuard(max_chars=300, action="redact")


def test_truncation_ends_at_a_sentence_and_keeps_its_markers() -> None:
    text = "The warranty lasts two years [1]. It covers the battery [2]. And the screen [3]."
    cut = truncate(text, 65)
    assert cut == "The warranty lasts two years [1]. It covers the battery [2]."
    assert truncate(text, len(text)) == text


def test_a_first_sentence_over_the_limit_is_cut_at_a_word_with_an_ellipsis() -> None:
    cut = truncate("word " * 40, 52)
    assert cut.endswith(ELLIPSIS) and len(cut) <= 52 and " wor" not in cut[-5:]


def test_length_block_and_flag_keep_the_text() -> None:
    text = "x " * 200
    assert LengthGuard(max_chars=100, action="block").check(text, OUTPUT).blocked
    flagged = LengthGuard(max_chars=100, action="flag").check(text, OUTPUT)
    assert flagged.action == "flag" and flagged.reasons == ("length.exceeded",)
    assert flagged.redacted is None


def test_a_stream_window_is_judged_by_its_offset() -> None:
    guard = LengthGuard(max_chars=100, action="block")
    window = "y" * 60
    early = GuardContext(stage="output", metadata={"window": True, "offset": 0})
    late = GuardContext(stage="output", metadata={"window": True, "offset": 50})
    assert not guard.check(window, early).triggered
    assert guard.check(window, late).blocked
    # redact and flag judge the complete answer, not a window
    cutter = LengthGuard(max_chars=100, action="redact")
    assert not cutter.check(window, late).triggered


# -- language -----------------------------------------------------------------------


class TestLanguageGuard(GuardConformance):
    triggering: ClassVar[list[str]] = [LONG_ES]
    benign: ClassVar[list[str]] = [LONG_EN, "Two years [1].", "Dos años [1]."]

    @pytest.fixture
    def guard(self) -> Guard:
        return LanguageGuard(LanguageDetector, languages=["en"], action="block")


def test_the_tenants_languages_decide() -> None:
    guard = LanguageGuard(LanguageDetector)
    spanish_only = GuardContext(stage="output", languages=("es",))
    verdict = guard.check(LONG_EN, spanish_only)
    assert verdict.action == "flag" and verdict.reasons == ("language.mismatch",)
    assert 0 < verdict.score <= 1
    assert not guard.check(LONG_ES, spanish_only).triggered
    assert not guard.check(LONG_EN, OUTPUT).triggered  # a tenant without languages


def test_short_answers_and_abstentions_are_not_judged() -> None:
    guard = LanguageGuard(LanguageDetector, languages=["es"], min_letters=60)
    assert not guard.check("The warranty lasts two years [1].", OUTPUT).triggered
    abstained = GuardContext(stage="output", metadata={"abstained": True})
    assert not guard.check(LONG_EN, abstained).triggered


def test_an_unknown_language_code_fails_when_the_guard_is_built() -> None:
    with pytest.raises(ConfigError, match="'xx'"):
        LanguageGuard(LanguageDetector, languages=["xx"])
    with pytest.raises(ValueError, match="flags or blocks"):
        LanguageGuard(LanguageDetector, action="redact")


# -- citations ----------------------------------------------------------------------


class TestCitationGuard(GuardConformance):
    triggering: ClassVar[list[str]] = [
        "The warranty lasts two years [1]. The moon is made of cheese.",
        "Nothing here is cited.",
    ]
    benign: ClassVar[list[str]] = [
        "The warranty lasts two years [1]. It covers the battery [2].",
        "Two years. [1] The battery too [2].",
        "",
    ]

    @pytest.fixture
    def guard(self) -> Guard:
        return CitationGuard(action="redact")


def test_redact_drops_only_the_uncited_sentence() -> None:
    text = "The warranty lasts two years [1]. The moon is made of cheese. It covers the screen [2]."
    verdict = CitationGuard(action="redact").check(text, OUTPUT)
    assert verdict.redacted == "The warranty lasts two years [1]. It covers the screen [2]."
    assert verdict.reasons == ("citation.missing",) and verdict.score == pytest.approx(1 / 3)


def test_an_answer_with_nothing_cited_is_blocked_rather_than_emptied() -> None:
    assert CitationGuard(action="redact").check("Nothing is cited here.", OUTPUT).blocked


def test_the_cite_stage_judgement_is_used_when_given() -> None:
    text = "The warranty lasts two years [1]. The moon is cheese [1]."
    spans = simple_spans(text)
    weak = GuardContext(
        stage="output",
        metadata={"sentence_spans": spans, "sentence_count": 2, "unsupported": [1]},
    )
    verdict = CitationGuard(action="redact").check(text, weak)
    assert verdict.redacted == "The warranty lasts two years [1]."
    assert not CitationGuard().check(text, OUTPUT).triggered  # both carry a marker


# -- through the pipeline -------------------------------------------------------------

DOC_EN = (
    "# Warranty\n\nEvery X200 comes with a two-year warranty. The warranty covers the "
    "battery and the screen. Claims are answered within two working days.\n"
)
DOC_ES = (
    "# Garantía\n\nCada X200 tiene una garantía de dos años. La garantía cubre la batería "
    "y la pantalla. Las reclamaciones se responden en dos días laborables.\n"
)
CONFIG = """embedder: hash
tenants:
  cut:
    guards: {length: {enabled: true, max_chars: 100, action: redact}}
  stop:
    guards: {length: {enabled: true, max_chars: 100, action: block}}
  es:
    languages: [es]
  es_strict:
    languages: [es]
    guards: {language: {action: block}}
  cite_flag:
    guards: {citation: {enabled: true}}
  cite_drop:
    guards: {citation: {enabled: true, action: redact}}
  cite_block:
    guards: {citation: {enabled: true, action: block}}
"""
TENANTS = ["default", "cut", "stop", "es", "es_strict", "cite_flag", "cite_drop", "cite_block"]
THREE = (
    "Every X200 comes with a two-year warranty [1]. The warranty covers the battery and "
    "the screen [1]. Claims are answered within two working days [1]."
)
UNCITED = (
    "Every X200 comes with a two-year warranty [1]. The moon is made of green cheese and "
    "astronauts eat it for breakfast. The warranty covers the battery and the screen [1]."
)
Q_EN = "How long is the X200 warranty?"
Q_ES = "¿Cuánto dura la garantía del X200?"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ragline.Project]:
    root = tmp_path_factory.mktemp("output-checks")
    (root / "ragline.yaml").write_text(CONFIG, encoding="utf-8")
    en, es = root / "en", root / "es"
    en.mkdir()
    es.mkdir()
    (en / "warranty.md").write_text(DOC_EN, encoding="utf-8")
    (es / "garantia.md").write_text(DOC_ES, encoding="utf-8")
    p = ragline.Project(root, embedder=HashEmbedder())
    for tenant in TENANTS:
        p.ingest([es if tenant.startswith("es") else en], tenant=tenant)
    yield p
    p.close()


def _model(project: ragline.Project, tenant: str, *replies: str) -> FakeModel:
    model = FakeModel(list(replies), name="openai:scripted")
    project.parts.view(tenant).answerer = GroundedAnswerer(model, project.embedder)
    return model


def _triggers(answer: Answer, guard: str) -> list[list[str]]:
    return [g.reasons for g in answer.guards if g.guard == guard]


def test_a_long_answer_is_cut_at_a_sentence_and_its_references_still_hold(
    project: ragline.Project,
) -> None:
    _model(project, "cut", THREE)
    answer = project.ask(Q_EN, tenant="cut")
    assert not answer.blocked and len(answer.text) <= 100
    assert answer.text.endswith("[1].") and "Claims" not in answer.text
    assert [s.text for s in answer.sentences] == [
        "Every X200 comes with a two-year warranty.",
        "The warranty covers the battery and the screen.",
    ]
    assert [r.number for r in answer.references] == [1]
    assert _triggers(answer, "length") == [["length.exceeded"]]


def test_a_long_answer_is_refused_and_its_stream_stops_at_the_limit(
    project: ragline.Project,
) -> None:
    _model(project, "stop", THREE, THREE)
    answer = project.ask(Q_EN, tenant="stop")
    assert answer.blocked and answer.text == REFUSAL_TEXT
    assert answer.refusal_reason == "length.exceeded"
    events = list(project.ask_stream(Q_EN, tenant="stop"))
    sent = "".join(e.text for e in events if isinstance(e, DeltaEvent))
    assert len(sent) <= 100 and "Claims" not in sent
    assert any(isinstance(e, GuardEvent) and e.reasons == ["length.exceeded"] for e in events)
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.finish_reason == "content_filter"


def test_a_short_answer_is_not_touched_by_the_length_limit(project: ragline.Project) -> None:
    _model(project, "cut", "Every X200 comes with a two-year warranty [1].")
    answer = project.ask(Q_EN, tenant="cut")
    assert answer.text == "Every X200 comes with a two-year warranty [1]."
    assert answer.guards == []


def test_an_answer_in_another_language_is_flagged_for_the_tenant(
    project: ragline.Project,
) -> None:
    _model(project, "es", LONG_EN, LONG_ES)
    flagged = project.ask(Q_ES, tenant="es")
    assert not flagged.blocked and flagged.text.startswith("Every X200")
    assert _triggers(flagged, "language") == [["language.mismatch"]]
    assert [g.action for g in flagged.guards] == ["flag"]
    spanish = project.ask(Q_ES, tenant="es")
    assert _triggers(spanish, "language") == []


def test_a_strict_tenant_refuses_an_answer_in_another_language(project: ragline.Project) -> None:
    _model(project, "es_strict", LONG_EN, LONG_EN)
    answer = project.ask(Q_ES, tenant="es_strict")
    assert answer.blocked and answer.refusal_reason == "language.mismatch"
    events = list(project.ask_stream(Q_ES, tenant="es_strict"))
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.finish_reason == "content_filter"
    assert any(isinstance(e, GuardEvent) and e.action == "block" for e in events)


def test_abstentions_and_short_answers_are_exempt_from_the_language(
    project: ragline.Project,
) -> None:
    _model(project, "es_strict", ABSTAIN_TEXT, "Two years [1].")
    abstained = project.ask(Q_ES, tenant="es_strict")
    assert abstained.abstained and not abstained.blocked
    short = project.ask(Q_ES, tenant="es_strict")
    assert not short.blocked and _triggers(short, "language") == []


def test_a_tenant_without_languages_is_not_judged(project: ragline.Project) -> None:
    _model(project, "default", LONG_ES)
    answer = project.ask(Q_EN)
    assert _triggers(answer, "language") == []


def test_an_uncited_sentence_flags_the_answer(project: ragline.Project) -> None:
    _model(project, "cite_flag", UNCITED)
    answer = project.ask(Q_EN, tenant="cite_flag")
    assert not answer.blocked and "green cheese" in answer.text
    assert _triggers(answer, "citation") == [["citation.missing"]]


def test_an_uncited_sentence_is_dropped_and_the_markers_still_point_right(
    project: ragline.Project,
) -> None:
    _model(project, "cite_drop", UNCITED, UNCITED)
    answer = project.ask(Q_EN, tenant="cite_drop")
    assert "cheese" not in answer.text
    assert answer.text == (
        "Every X200 comes with a two-year warranty [1]. "
        "The warranty covers the battery and the screen [1]."
    )
    assert [s.text for s in answer.sentences] == [
        "Every X200 comes with a two-year warranty.",
        "The warranty covers the battery and the screen.",
    ]
    assert all(s.citations == [1] for s in answer.sentences)
    assert answer.references[0].number == 1 and answer.references[0].title == "Warranty"
    done = list(project.ask_stream(Q_EN, tenant="cite_drop"))[-1]
    assert isinstance(done, DoneEvent) and "cheese" not in done.answer.text


def test_a_sentence_whose_citation_does_not_support_it_counts_as_uncited(
    project: ragline.Project,
) -> None:
    weak = "Every X200 comes with a two-year warranty [1]. Astronauts eat green cheese [1]."
    _model(project, "cite_drop", weak)
    answer = project.ask(Q_EN, tenant="cite_drop")
    assert answer.text == "Every X200 comes with a two-year warranty [1]."
    assert _triggers(answer, "citation") == [["citation.missing"]]


def test_an_uncited_answer_is_refused_under_block(project: ragline.Project) -> None:
    _model(project, "cite_block", UNCITED, THREE)
    assert project.ask(Q_EN, tenant="cite_block").refusal_reason == "citation.missing"
    assert not project.ask(Q_EN, tenant="cite_block").blocked  # every sentence cited


def test_the_extractive_answerer_passes_the_citation_check(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nguards:\n  citation: {enabled: true, action: block}\n", encoding="utf-8"
    )
    (tmp_path / "warranty.md").write_text(DOC_EN, encoding="utf-8")
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        p.ingest([tmp_path / "warranty.md"])
        answer = p.ask(Q_EN)
        assert not answer.blocked and not answer.abstained and answer.sentences
        assert _triggers(answer, "citation") == []


@pytest.mark.parametrize(
    ("block", "key"),
    [
        ("length: {enabled: true, max_chars: 10}", "guards.length.max_chars"),
        ("language: {action: redact}", "guards.language.action"),
        ("citation: {action: allow}", "guards.citation.action"),
        ("leak: {min_words: 2}", "guards.leak.min_words"),
    ],
)
def test_a_bad_policy_is_a_config_error_naming_the_key(
    tmp_path: Path, block: str, key: str
) -> None:
    from ragline.config import load_settings

    config = tmp_path / "ragline.yaml"
    config.write_text(f"guards:\n  {block}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(tmp_path)
    assert config.read_text(encoding="utf-8") == f"guards:\n  {block}\n"


class _SlowToLoad:
    """A detector whose first detection loads its models slowly, as lingua's does."""

    def __init__(self, codes: object) -> None:
        self.loaded = False

    def confidences(self, texts: object) -> list[dict[str, float]]:
        if not self.loaded:
            threading.Event().wait(0.5)  # the one-time model load
            self.loaded = True
        return [{"es": 0.9, "en": 0.1}]


SPANISH_ANSWER = "El cuadro de la bicicleta tiene una garantía de diez años desde la compra. [1]"


def _slow_language_guards() -> GuardSet:
    guard = LanguageGuard(_SlowToLoad, action="block", warm_for=[("en",)])
    return GuardSet([ConfiguredGuard(guard, "allow", timeout_ms=100)])


def test_the_language_check_loads_its_detector_before_the_first_answer_not_within_its_budget() -> (
    None
):
    context = GuardContext(stage="output", languages=("en",))
    cold = _slow_language_guards().run(SPANISH_ANSWER, context)
    assert cold.action == "allow" and any("GuardTimeout" in e for e in cold.errors)

    guards = _slow_language_guards()
    guards.warm()  # what the server and a first ask do, outside the budget
    warm = guards.run(SPANISH_ANSWER, context)
    assert warm.errors == [] and warm.action == "block"
    assert [v.reasons for v in warm.verdicts] == [("language.mismatch",)]
