"""Long-term memory: what is remembered, what is recalled (relevance, recency, bounds),
per user and tenant, on the reference and SQLite stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.agent import AgentMemory, Fact, LongTermMemory, MemoryHit, render_memories
from ragline.agent._memory import recency_decay
from ragline.agent._memory_extract import classify, salient_facts
from ragline.config import MemorySettings
from ragline.errors import InputError, ProviderError
from ragline.store import UserMemoryStore
from ragline.store.memory._user_memory import MemoryUserMemoryStore
from ragline.store.sqlite._user_memory import SQLiteUserMemoryStore
from ragline.testing import FakeModel, HashEmbedder

DAY = 86_400.0
T0 = 1_764_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UserMemoryStore]:
    s: UserMemoryStore
    if request.param == "memory":
        s = MemoryUserMemoryStore(clock=_clock)
    else:
        s = SQLiteUserMemoryStore(tmp_path / "r.db", clock=_clock)
    yield s
    s.close()


_clock = Clock()


@pytest.fixture(autouse=True)
def _reset_clock() -> None:
    _clock.now = T0


def memory(store: UserMemoryStore, **settings: object) -> LongTermMemory:
    return LongTermMemory(store, HashEmbedder(), settings=MemorySettings(**settings), clock=_clock)


# -- the extractor ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "speaker", "kind"),
    [
        ("We'll ship a replacement battery next week.", "assistant", "commitment"),
        ("I will send you a prepaid return label.", "assistant", "commitment"),
        ("A replacement frame is on its way.", "assistant", "commitment"),
        ("I'll send the photos tomorrow.", "user", "commitment"),
        ("My order 1042 arrived with a cracked frame.", "user", "order"),
        ("Ticket #A-7731 is still open", "user", "order"),
        ("I prefer email over phone calls.", "user", "preference"),
        ("Please don't call me before 9am.", "user", "preference"),
        ("My name is Sam Ortiz.", "user", "profile"),
        ("I live in Lyon.", "user", "profile"),
        ("I'm on the Pro plan.", "user", "profile"),
    ],
)
def test_salient_sentences_are_kept_with_their_kind(sentence: str, speaker: str, kind: str) -> None:
    found = classify(sentence, speaker)  # type: ignore[arg-type]
    assert found is not None and found[0] == kind


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ("How long is the warranty on frames?", "user"),  # a question, no number
        ("Thanks!", "user"),
        ("Hello", "user"),
        ("Frames are covered for two years [1].", "assistant"),  # knowledge-base text
        ("We will repair or replace a frame within two years [2].", "assistant"),  # cited policy
        ("The return window is 30 days.", "assistant"),
        ("Do you ship to Canada?", "user"),
        ("Will you refund me?", "user"),
    ],
)
def test_questions_small_talk_and_kb_text_are_not_remembered(sentence: str, speaker: str) -> None:
    assert classify(sentence, speaker) is None  # type: ignore[arg-type]


def test_an_exchange_gives_who_said_what_and_the_order_number() -> None:
    facts = salient_facts(
        "My order 1042 arrived with a cracked frame — is it under warranty and what do I do?",
        "Frames are covered for two years [1]. We'll ship a replacement frame this week.",
    )
    assert [(f.kind, f.text) for f in facts] == [
        (
            "order",
            "user said: My order 1042 arrived with a cracked frame — is it under warranty and "
            "what do I do?",
        ),
        ("commitment", "assistant said: We'll ship a replacement frame this week."),
    ]
    assert facts[0].metadata == {"number": "1042", "what": "order"}


# -- record and recall -----------------------------------------------------------------


def test_is_an_agent_memory(store: UserMemoryStore) -> None:
    assert isinstance(memory(store), AgentMemory)


def test_a_commitment_is_recalled_in_a_later_session(store: UserMemoryStore) -> None:
    m = memory(store)
    m.record(
        tenant="acme",
        user="u1",
        question="My e-bike battery no longer charges, order 5521.",
        answer="I'm sorry to hear that. We'll ship a replacement battery for order 5521.",
        conversation_id="c1",
    )
    m.record(
        tenant="acme",
        user="u1",
        question="I prefer email over phone calls.",
        answer="Noted.",
        conversation_id="c1",
    )
    _clock.now += 7 * DAY
    hits = m.recall(tenant="acme", user="u1", question="Where is my replacement battery?", k=3)
    texts = [h.text for h in hits]
    assert "assistant said: We'll ship a replacement battery for order 5521." in texts
    assert not any("email" in t for t in texts)  # not relevant to this question
    assert all(isinstance(h, MemoryHit) for h in hits)
    assert hits == sorted(hits, key=lambda h: -h.score)
    stored = store.list_items("acme", "u1").items
    assert {i.conversation_id for i in stored} == {"c1"}
    assert {i.kind for i in stored} == {"order", "commitment", "preference"}


def test_nothing_salient_stores_nothing(store: UserMemoryStore) -> None:
    m = memory(store)
    m.record(
        tenant="acme",
        user="u1",
        question="How long is the warranty?",
        answer="Two years [1].",
        conversation_id=None,
    )
    assert store.count("acme") == 0
    assert m.recall(tenant="acme", user="u1", question="warranty") == []


def test_recall_is_per_user_and_per_tenant(store: UserMemoryStore) -> None:
    m = memory(store, min_relevance=0.0)
    owners = (("acme", "u1"), ("acme", "u2"), ("globex", "u1"))
    for n, (tenant, user) in enumerate(owners):
        m.record(
            tenant=tenant,
            user=user,
            question=f"My order 77{n} is missing its charger.",
            answer="",
            conversation_id=None,
        )
    for n, (tenant, user) in enumerate(owners):
        hits = m.recall(tenant=tenant, user=user, question="order missing charger", k=5)
        assert [h.text for h in hits] == [f"user said: My order 77{n} is missing its charger."]


def test_recency_breaks_a_tie_but_never_buries_relevance(store: UserMemoryStore) -> None:
    m = memory(store, min_relevance=0.0)
    facts = [Fact("user said: my order 9001 is a red bike", "order")]
    (old,) = m.remember(tenant="acme", user="u1", facts=facts)
    _clock.now += 90 * DAY
    (new,) = m.remember(
        tenant="acme", user="u1", facts=[Fact("user said: my order 9002 is a red bike", "order")]
    )
    hits = m.recall(tenant="acme", user="u1", question="red bike order", k=2)
    assert [h.id for h in hits] == [new.id, old.id]  # same relevance: the newer first
    # the decay as documented: score = cosine × (0.7 + 0.3 × 0.5^(age/30 days))
    assert hits[1].score / hits[0].score == pytest.approx(
        (0.7 + 0.3 * recency_decay(90 * DAY, 30)) / 0.7 / (1 + 0.3 / 0.7), rel=0.05
    )
    assert hits[1].score > 0.6 * hits[0].score  # an old relevant memory stays recallable
    _clock.now += 3650 * DAY
    assert len(m.recall(tenant="acme", user="u1", question="red bike order", k=2)) == 2


def test_recency_decay_halves_per_half_life() -> None:
    assert recency_decay(0, 30) == 1.0
    assert recency_decay(30 * DAY, 30) == pytest.approx(0.5)
    assert recency_decay(60 * DAY, 30) == pytest.approx(0.25)
    assert recency_decay(-5 * DAY, 30) == 1.0  # a clock that went back: now


def test_recall_is_bounded_by_k_and_the_token_budget(store: UserMemoryStore) -> None:
    m = memory(store, min_relevance=0.0, token_budget=40, duplicate_similarity=1.0)
    facts = [
        Fact(f"user said: my order {1000 + i} has a flat tyre and a bent wheel", "order")
        for i in range(10)
    ]
    m.remember(tenant="acme", user="u1", facts=facts)
    hits = m.recall(tenant="acme", user="u1", question="order flat tyre bent wheel", k=10)
    assert 1 <= len(hits) < 10
    assert sum((len(h.text) + 3) // 4 for h in hits) <= 40
    wide = memory(store, min_relevance=0.0, token_budget=8_000)
    assert len(wide.recall(tenant="acme", user="u1", question="order flat tyre", k=3)) == 3
    assert len(wide.recall(tenant="acme", user="u1", question="order flat tyre", k=500)) == 10
    with pytest.raises(InputError, match="k must be"):
        wide.recall(tenant="acme", user="u1", question="x", k=0)


def test_irrelevant_memories_are_not_recalled(store: UserMemoryStore) -> None:
    m = memory(store)
    m.remember(tenant="acme", user="u1", facts=[Fact("user said: I prefer email", "preference")])
    assert m.recall(tenant="acme", user="u1", question="torque spec of rear axle bolts") == []


def test_a_near_duplicate_is_stored_once(store: UserMemoryStore) -> None:
    m = memory(store)
    for _ in range(3):
        m.record(
            tenant="acme",
            user="u1",
            question="I prefer email over phone calls.",
            answer="",
            conversation_id=None,
        )
    assert store.count("acme", "u1") == 1


def test_the_oldest_memories_go_past_max_items(store: UserMemoryStore) -> None:
    m = memory(store, max_items=3, duplicate_similarity=1.0)
    for i in range(5):
        _clock.now += 1
        m.remember(tenant="acme", user="u1", facts=[Fact(f"user said: fact number {i}", "profile")])
    texts = [i.text for i in store.list_items("acme", "u1").items]
    assert texts == [
        "user said: fact number 4",
        "user said: fact number 3",
        "user said: fact number 2",
    ]


def test_disabled_memory_neither_records_nor_recalls(store: UserMemoryStore) -> None:
    on = memory(store)
    on.remember(tenant="acme", user="u1", facts=[Fact("user said: I prefer email", "preference")])
    off = memory(store, enabled=False)
    off.record(tenant="acme", user="u1", question="I prefer SMS.", answer="", conversation_id=None)
    assert store.count("acme") == 1
    assert off.recall(tenant="acme", user="u1", question="I prefer email") == []


def test_a_bad_user_is_a_clear_error_and_stores_nothing(store: UserMemoryStore) -> None:
    m = memory(store)
    with pytest.raises(InputError, match="user"):
        m.record(tenant="acme", user="", question="I prefer SMS.", answer="", conversation_id=None)
    assert store.count("acme") == 0


# -- the model summary -----------------------------------------------------------------


def test_a_model_summary_is_remembered_as_well(store: UserMemoryStore) -> None:
    model = FakeModel(["- The user's dog chewed the charging cable.\n- NONE"])
    m = LongTermMemory(store, HashEmbedder(), summarizer=model, clock=_clock)
    m.record(
        tenant="acme",
        user="u1",
        question="My dog chewed the cable, can I buy a new one? Order 881.",
        answer="Yes, cables are sold separately.",
        conversation_id="c9",
    )
    kinds = sorted(i.kind for i in store.list_items("acme", "u1").items)
    assert kinds == ["order", "summary"]
    assert "exchange" in model.calls[0].messages[0].content
    assert "Order 881" in model.calls[0].messages[1].content


def test_a_failing_summary_model_keeps_the_rule_facts(store: UserMemoryStore) -> None:
    model = FakeModel([ProviderError("model down")])
    m = LongTermMemory(store, HashEmbedder(), summarizer=model, clock=_clock)
    m.record(
        tenant="acme",
        user="u1",
        question="I prefer email over phone calls.",
        answer="",
        conversation_id=None,
    )
    assert [i.kind for i in store.list_items("acme", "u1").items] == ["preference"]


def test_memories_are_shown_as_memory_not_evidence() -> None:
    text = render_memories([MemoryHit("a" * 32, "assistant said: We'll ship it.", 0.8, T0)])
    assert "not knowledge-base evidence" in text
    assert "(2025-11-24) assistant said: We'll ship it." in text
    assert "[1]" not in text
    assert render_memories([]) == ""


# -- which model summarises ------------------------------------------------------------


def test_the_summary_model_follows_memory_summarize() -> None:
    from ragline.agent._memory import summary_model_spec
    from ragline.config import Settings
    from ragline.errors import ConfigError

    assert summary_model_spec(Settings()) is None  # extractive: the rules only
    assert summary_model_spec(Settings(model="openai:gpt-4o-mini")) == "openai:gpt-4o-mini"
    assert summary_model_spec(Settings(model=["local", "extractive"])) == "local"
    rules = Settings(model="openai:gpt-4o-mini", memory=MemorySettings(summarize="rules"))
    assert summary_model_spec(rules) is None
    chosen = Settings(memory=MemorySettings(summary_model="local"))
    assert summary_model_spec(chosen) == "local"
    with pytest.raises(ConfigError, match=r"memory\.summarize: llm needs a language model"):
        summary_model_spec(Settings(memory=MemorySettings(summarize="llm")))


def test_the_summary_model_is_built_only_when_an_exchange_is_recorded(
    store: UserMemoryStore,
) -> None:
    built: list[int] = []

    def make() -> FakeModel:
        built.append(1)
        return FakeModel(["The user owns a red Helio Mark II."])

    m = LongTermMemory(store, HashEmbedder(), make_summarizer=make, clock=_clock)
    m.recall(tenant="acme", user="u1", question="anything?")
    store.list_items("acme", "u1")
    assert built == []  # listing and recalling build no model
    for _ in range(2):
        m.record(tenant="acme", user="u1", question="Hi", answer="Hello", conversation_id=None)
    assert built == [1]  # once
    assert [i.kind for i in store.list_items("acme", "u1").items] == ["summary"]
