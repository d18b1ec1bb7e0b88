"""Banned topics and terms: whole words in any case and accent, per tenant, on the
question and the answer; a bad list fails at start-up naming its key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

import ragline
from ragline.config import load_settings
from ragline.errors import ConfigError
from ragline.guards import Guard, GuardContext
from ragline.guards._policy import REFUSAL_TEXT, build_guards
from ragline.guards._topics import REMOVED, Topic, TopicGuard, fold
from ragline.testing import GuardConformance, HashEmbedder

INPUT = GuardContext(stage="input")
OUTPUT = GuardContext(stage="output", question="q")
TOPICS = [
    Topic("competitors", terms=("Velocita", "Stromer Bikes")),
    Topic("speed_tuning", terms=("speed limiter", "tuning kit"), patterns=(r"\b4[5-9] ?km/h",)),
    Topic("cafe", terms=("Café Noir",)),
]


class TestTopicGuard(GuardConformance):
    triggering: ClassVar[list[str]] = [
        "Is the Velocita X cheaper than your bike?",
        "How do I remove the SPEED   LIMITER?",
        "Can it do 45 km/h?",
        "Meet me at the cafe noir.",
    ]
    benign: ClassVar[list[str]] = [
        "How long is the battery warranty?",
        "Does the speed sensor need calibration?",
        "Velocitator is not a word we ban.",  # not a whole word
        "It goes 25 km/h, or 145 km/h on a motorbike.",
        "Stromer alone is not the phrase.",
    ]

    @pytest.fixture
    def guard(self) -> Guard:
        return TopicGuard(TOPICS, action="redact")


def test_terms_match_whole_words_in_any_case_and_accent() -> None:
    guard = TopicGuard(TOPICS)
    for text in ["CAFÉ NOIR tonight?", "café  noir", "Cafe\u0301 Noir", "ask about STROMER bikes"]:
        assert guard.check(text, INPUT).blocked, text
    for text in ["cafénoir", "a café noirish mood", "harms", "velocitas"]:
        assert not guard.check(text, INPUT).triggered, text


def test_reasons_name_each_topic_and_findings_are_the_original_offsets() -> None:
    text = "Does the Velocita come with a tuning kit for the Café Noir crowd?"
    verdict = TopicGuard(TOPICS).check(text, INPUT)
    assert verdict.reasons == ("topic.competitors", "topic.speed_tuning", "topic.cafe")
    assert [text[f.start : f.end] for f in verdict.findings] == [
        "Velocita",
        "tuning kit",
        "Café Noir",
    ]


def test_redact_cuts_every_match_and_keeps_the_rest() -> None:
    text = "Velocita and velocita fans love a tuning kit."
    verdict = TopicGuard(TOPICS, action="redact").check(text, OUTPUT)
    assert verdict.action == "redact"
    assert verdict.redacted == f"{REMOVED} and {REMOVED} fans love a {REMOVED}."


def test_folding_keeps_offsets_for_characters_that_grow() -> None:
    folded, where = fold("Straße Ü")
    assert folded == "strasse u" and len(where) == len(folded)
    verdict = TopicGuard([Topic("street", terms=("strasse",))]).check("Die Straße hier", INPUT)
    (f,) = verdict.findings
    assert "Die Straße hier"[f.start : f.end] == "Straße"


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        (Topic("x"), "has no terms or patterns"),
        (Topic("x", terms=("  ",)), "banned term is empty"),
        (Topic("x", patterns=("(unclosed",)), "not a valid regular expression"),
        (Topic("x", patterns=("a*",)), "matches the empty text"),
    ],
)
def test_a_bad_topic_is_a_clear_error(topic: Topic, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TopicGuard([topic])


# --- configuration ------------------------------------------------------------------

CONFIG = """\
embedder: hash
guards:
  banned:
    terms: [Project Falcon]
    topics:
      - name: competitors
        terms: [Velocita]
tenants:
  extends:
    guards:
      banned:
        inherit: true
        topics:
          - name: pricing
            patterns: ['\\bdiscount codes?\\b']
  replaces:
    guards:
      banned:
        action: flag
        terms: [Stromer]
  redacts:
    guards:
      banned: {inherit: true, action: redact, stages: [output]}
"""


def _write(root: Path, text: str) -> Path:
    (root / "ragline.yaml").write_text(text, encoding="utf-8")
    return root


def test_a_tenant_extends_or_replaces_the_global_lists(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path, CONFIG), environ={})

    def run(tenant: str, text: str) -> tuple[str, tuple[str, ...]]:
        result = build_guards(s.for_tenant(tenant).guards).run(text, INPUT)
        banned = [v for v in result.verdicts if v.guard == "banned"]
        return result.action, banned[0].reasons if banned else ()

    assert run("default", "Tell me about Project Falcon") == ("block", ("topic.banned_terms",))
    assert run("default", "Any discount code?") == ("allow", ())
    assert run("extends", "Any discount code?") == ("block", ("topic.pricing",))
    assert run("extends", "Is Velocita better?") == ("block", ("topic.competitors",))
    assert run("replaces", "Is Velocita better?") == ("allow", ())
    assert run("replaces", "Is Stromer better?") == ("flag", ("topic.banned_terms",))
    assert run("redacts", "Is Velocita better?") == ("allow", ())  # output only


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ("guards:\n  banned:\n    patterns: ['(oops']\n", "guards.banned", "(oops"),
        (
            "guards:\n  banned:\n    topics:\n      - name: t\n        patterns: ['[a-']\n",
            "guards.banned.topics[0]",
            "not a valid regular expression",
        ),
        (
            "guards:\n  banned:\n    topics:\n      - name: empty\n",
            "guards.banned.topics[0]",
            "has no terms or patterns",
        ),
        (
            "guards:\n  banned:\n    topics:\n      - {name: '', terms: [x]}\n",
            "guards.banned.topics[0].name",
            "pattern",
        ),
        (
            "guards:\n  banned:\n    topics:\n      - {name: a, terms: [x]}\n"
            "      - {name: a, terms: [y]}\n",
            "guards.banned",
            "unique",
        ),
        (
            "tenants:\n  t:\n    guards:\n      banned: {terms: ['   ']}\n",
            "tenants.t.guards.banned",
            "empty",
        ),
    ],
)
def test_a_bad_list_fails_at_start_up_naming_the_key(
    tmp_path: Path, body: str, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, body), environ={})
    assert f": {key}:" in str(err.value) and message in str(err.value), str(err.value)


def test_no_lists_no_guard(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path, "embedder: hash\n"), environ={})
    assert "banned" not in {g.guard.name for g in build_guards(s.guards).guards}


# --- in the pipeline -----------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ragline.Project]:
    root = tmp_path_factory.mktemp("topics")
    docs = root / "docs"
    docs.mkdir()
    (docs / "compare.md").write_text(
        "# Comparison\n\nThe X200 is lighter than the Velocita Sprint. The X200 battery "
        "lasts 80 km on one charge.\n",
        encoding="utf-8",
    )
    _write(
        root,
        "embedder: hash\nguards:\n  banned:\n    topics:\n      - name: competitors\n"
        "        terms: [Velocita]\n"
        "tenants:\n  cut:\n    guards:\n      banned: {inherit: true, action: redact, "
        "stages: [output]}\n",
    )
    p = ragline.Project(root, embedder=HashEmbedder())
    p.ingest([docs])
    p.ingest([docs], tenant="cut")
    yield p
    p.close()


def test_a_banned_question_is_refused_before_retrieval(project: ragline.Project) -> None:
    answer = project.ask("Is the X200 lighter than the Velocita?")
    assert answer.blocked and answer.text == REFUSAL_TEXT and answer.hits == []
    assert answer.refusal_reason == "topic.competitors"


def test_a_banned_term_in_an_answer_is_refused_or_cut(project: ragline.Project) -> None:
    question = "Is the X200 lighter?"
    blocked = project.ask(question)
    assert blocked.blocked and blocked.refusal_reason == "topic.competitors"
    assert "Velocita" not in blocked.text
    cut = project.ask(question, tenant="cut")
    assert not cut.blocked and "Velocita" not in cut.text and REMOVED in cut.text
    assert [(g.guard, g.stage, g.action) for g in cut.guards] == [("banned", "output", "redact")]


# --- optional similarity matching (examples) -------------------------------------------


def _fake_similarity(text: str) -> dict[str, float]:
    """Stands in for MiniLM: 0.9 for questions about going faster, 0.2 otherwise."""
    return {"speed_tuning": 0.9 if "faster" in text else 0.2}


SIMILAR = [Topic("speed_tuning", examples=("remove the speed limiter",)), *TOPICS[:1]]


def test_a_question_close_to_a_topics_examples_is_refused_at_the_input_only() -> None:
    guard = TopicGuard(SIMILAR, similarity=_fake_similarity, min_similarity=0.6)
    verdict = guard.check("How do I make my bike go faster?", INPUT)
    assert verdict.blocked and verdict.reasons == ("topic.speed_tuning",)
    assert verdict.score == pytest.approx(0.9) and verdict.findings == ()
    assert not guard.check("How long is the warranty?", INPUT).triggered
    assert not guard.check("It goes faster downhill.", OUTPUT).triggered  # answers: lexical
    lexical = guard.check("Is the Velocita faster?", INPUT)
    assert lexical.reasons == ("topic.competitors", "topic.speed_tuning")


def test_a_similar_question_is_blocked_even_when_the_action_is_redact() -> None:
    guard = TopicGuard(SIMILAR, action="redact", similarity=_fake_similarity)
    assert guard.check("Can it go faster?", INPUT).action == "block"  # no words to cut
    assert guard.check("Velocita rocks", INPUT).redacted == f"{REMOVED} rocks"


def test_examples_need_similarity_and_similarity_needs_minilm(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only examples"):
        TopicGuard(SIMILAR)
    examples = "guards:\n  banned:\n    topics:\n      - {name: s, examples: [go faster]}\n"
    with pytest.raises(ConfigError, match=r"guards\.banned: .*set guards\.banned\.similarity"):
        load_settings(_write(tmp_path, examples), environ={})
    with pytest.raises(ConfigError, match=r"guards\.banned\.similarity"):
        load_settings(_write(tmp_path, "guards:\n  banned: {similarity: 1.5}\n"), environ={})
    _write(tmp_path, "embedder: hash\n" + examples + "    similarity: 0.6\n")
    with pytest.raises(ConfigError, match="bundled MiniLM") as err:
        ragline.Project(tmp_path, embedder=HashEmbedder())
    assert "embedder: minilm" in (err.value.hint or "")


def test_similarity_with_the_bundled_minilm_in_a_project(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "speed.md").write_text(
        "# Speed\n\nThe motor assists up to 25 km/h. The battery warranty lasts two years.\n",
        encoding="utf-8",
    )
    _write(
        tmp_path,
        # the unsafe guard refuses a limiter removal as tampering first: keep it to privacy
        "store: memory://\nguards:\n  unsafe: {categories: [privacy]}\n"
        "  banned:\n    similarity: 0.6\n    topics:\n"
        "      - name: speed_tuning\n"
        "        examples: [remove the speed limiter of my e-bike, install a tuning kit]\n",
    )
    with ragline.Project(tmp_path) as p:
        p.ingest([docs])
        refused = p.ask("How do I remove the speed limiter on my e-bike?")
        assert refused.blocked and refused.refusal_reason == "topic.speed_tuning"
        assert refused.guards[0].score >= 0.6
        answered = p.ask("How long is the battery warranty?")
        assert not answered.blocked and answered.guards == []
