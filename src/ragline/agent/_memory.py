"""Long-term memory: what the agent remembers about a user across conversations.

The agent calls an :class:`AgentMemory` twice per run: :meth:`~AgentMemory.recall`
before it asks the model (the memories it gets are shown to the model *as memory*,
with :func:`render_memories`, never as knowledge-base evidence: they carry no citation
numbers), and :meth:`~AgentMemory.record` after the answer.

:class:`LongTermMemory` is the implementation on the store's
:class:`~ragline.store.UserMemoryStore` (SQLite or PostgreSQL, per tenant and user,
row-level security on PostgreSQL):

- **record**: the salient sentences of the exchange (commitments, order numbers,
  preferences, personal details — the deterministic extractor of
  :mod:`._memory_extract`), plus, when a summary model is given, up to five facts the
  model draws from it; each embedded with the project's embedder and stored for the
  user. A fact within ``duplicate_similarity`` (cosine) of one already stored is not
  stored again. Past ``max_items`` per user the oldest are forgotten.
- **recall**: the question embedded; the user's nearest memories (a few times ``k``
  candidates) scored by relevance and recency::

      score = cosine × ((1 − recency_weight) + recency_weight × 0.5 ^ (age_days / half_life_days))

  so with the defaults (weight 0.3, half-life 30 days) a memory a month old keeps 85 %
  of its relevance and a very old one 70 %: recency breaks near-ties, it never buries a
  clearly relevant memory. Memories with a cosine below ``min_relevance`` are never
  recalled. At most ``k`` (and never more than 50) come back, best first, and no more
  than ``token_budget`` tokens of them (estimated at 4 characters a token).

Store errors (:class:`~ragline.errors.StoreError`) are raised: the agent decides what a
missing memory means for its run (it answers without, and says so in the trace). A
failing summary model only costs the summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ragline.agent._memory_extract import Fact, salient_facts, summarize_exchange
from ragline.errors import InputError
from ragline.models._pricing import estimate_tokens
from ragline.store._user_memory import MemoryEntry, MemoryItem, UserMemoryStore

if TYPE_CHECKING:
    from ragline.config import MemorySettings, Settings
    from ragline.embed._base import Embedder
    from ragline.models._base import Model

MAX_K = 50
_DAY_S = 86_400.0


@dataclass(frozen=True)
class MemoryHit:
    id: str
    text: str
    score: float
    created_at: float


@runtime_checkable
class AgentMemory(Protocol):
    def recall(self, *, tenant: str, user: str, question: str, k: int = 5) -> list[MemoryHit]: ...

    def record(
        self,
        *,
        tenant: str,
        user: str,
        question: str,
        answer: str,
        conversation_id: str | None,
    ) -> None: ...


def recency_decay(age_s: float, half_life_days: float) -> float:
    """``0.5 ^ (age_days / half_life_days)``: 1 now, ½ after one half-life (never negative
    ages: a clock that went back counts as now)."""
    return float(0.5 ** (max(0.0, age_s) / _DAY_S / half_life_days))


def render_memories(hits: Sequence[MemoryHit]) -> str:
    """The memories as the model sees them: dated lines under a heading that says they are
    memory of earlier conversations, not evidence (``""`` when there are none)."""
    if not hits:
        return ""
    lines = [
        "Memory of earlier conversations with this user (not knowledge-base evidence: "
        "do not cite it; use it only when it is relevant):"
    ]
    for hit in hits:
        day = datetime.fromtimestamp(hit.created_at, UTC).strftime("%Y-%m-%d")
        lines.append(f"- ({day}) {hit.text}")
    return "\n".join(lines)


class LongTermMemory:
    """:class:`AgentMemory` on a :class:`UserMemoryStore` (see the module docstring).

    ``summarizer``: the model that adds a summary to the rule-based facts (``None``: the
    rules only); or ``make_summarizer``, called once, on the first exchange recorded, so
    that listing or forgetting memories never builds (or loads) a model. ``clock``
    (default ``time.time``) dates the recency decay.
    """

    def __init__(
        self,
        store: UserMemoryStore,
        embedder: Embedder,
        *,
        settings: MemorySettings | None = None,
        summarizer: Model | None = None,
        make_summarizer: Callable[[], Model] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import threading

        from ragline.config import MemorySettings

        self.store = store
        self.embedder = embedder
        self.settings = settings or MemorySettings()
        self._summarizer = summarizer
        self._make_summarizer = make_summarizer
        self._lock = threading.Lock()
        self._clock = clock or time.time

    @property
    def summarizer(self) -> Model | None:
        """The summary model (built on first use from ``make_summarizer``)."""
        if self._summarizer is None and self._make_summarizer is not None:
            with self._lock:
                if self._summarizer is None and self._make_summarizer is not None:
                    self._summarizer = self._make_summarizer()
        return self._summarizer

    # -- recall -------------------------------------------------------------------------

    def recall(self, *, tenant: str, user: str, question: str, k: int = 5) -> list[MemoryHit]:
        s = self.settings
        if not s.enabled or not isinstance(question, str) or not question.strip():
            return []
        if not isinstance(k, int) or k < 1:
            raise InputError(f"k must be a positive whole number, not {k!r}")
        k = min(k, MAX_K)
        vector = self.embedder.embed_query(question)
        found = self.store.search(
            tenant, user, vector, embedder=self.embedder.name, k=max(4 * k, 20)
        )
        now = self._clock()
        scored = [
            MemoryHit(
                id=f.item.id,
                text=f.item.text,
                score=f.score
                * (
                    (1 - s.recency_weight)
                    + s.recency_weight * recency_decay(now - f.item.created_at, s.half_life_days)
                ),
                created_at=f.item.created_at,
            )
            for f in found
            if f.score >= s.min_relevance
        ]
        scored.sort(key=lambda h: (-h.score, -h.created_at, h.id))
        hits: list[MemoryHit] = []
        tokens = 0
        for hit in scored[:k]:
            tokens += estimate_tokens(hit.text)
            if tokens > s.token_budget:
                break
            hits.append(hit)
        return hits

    # -- record -------------------------------------------------------------------------

    def facts(self, question: str, answer: str) -> list[Fact]:
        """What :meth:`record` would remember of this exchange (before de-duplication)."""
        facts = salient_facts(question, answer)
        model = self.summarizer
        if model is not None:
            facts += summarize_exchange(model, question, answer)
        return facts

    def record(
        self,
        *,
        tenant: str,
        user: str,
        question: str,
        answer: str,
        conversation_id: str | None,
    ) -> None:
        if self.settings.enabled:
            self.remember(
                tenant=tenant,
                user=user,
                facts=self.facts(question or "", answer or ""),
                conversation_id=conversation_id,
            )

    def remember(
        self,
        *,
        tenant: str,
        user: str,
        facts: Sequence[Fact],
        conversation_id: str | None = None,
    ) -> list[MemoryItem]:
        """Store ``facts`` for the user (near-duplicates of stored ones left out); the
        items stored now."""
        if not facts:
            return []
        name = self.embedder.name
        vectors = self.embedder.embed_documents([f.text for f in facts])
        entries: list[MemoryEntry] = []
        for fact, vector in zip(facts, vectors, strict=True):
            if self._known(tenant, user, vector, entries):
                continue
            entries.append(
                MemoryEntry(
                    text=fact.text,
                    vector=vector,
                    embedder=name,
                    kind=fact.kind,
                    conversation_id=conversation_id,
                    metadata=dict(fact.metadata),
                )
            )
        stored = self.store.add(tenant, user, entries)
        if stored:
            self._trim(tenant, user)
        return stored

    def _known(self, tenant: str, user: str, vector: object, pending: list[MemoryEntry]) -> bool:
        """Whether the fact is within ``duplicate_similarity`` of a stored or pending one."""
        import numpy as np

        limit = self.settings.duplicate_similarity
        v = np.asarray(vector, dtype=np.float32)
        for entry in pending:
            if float(np.dot(np.asarray(entry.vector, dtype=np.float32), v)) >= limit:
                return True
        near = self.store.search(tenant, user, v, embedder=self.embedder.name, k=1)
        return bool(near) and near[0].score >= limit

    def _trim(self, tenant: str, user: str) -> None:
        """Forget the user's oldest items past ``max_items``."""
        keep = self.settings.max_items
        if self.store.count(tenant, user) <= keep:
            return
        seen, cursor = 0, None
        old: list[str] = []
        while True:
            page = self.store.list_items(tenant, user, limit=1_000, cursor=cursor)
            for item in page.items:
                seen += 1
                if seen > keep:
                    old.append(item.id)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        for memory_id in old:
            self.store.forget(tenant, user, memory_id)


def summary_model_spec(settings: Settings) -> str | None:
    """The model that summarises for memory (``memory.summarize``/``summary_model``), or
    ``None`` for the rules only: ``auto`` uses a model when one other than ``extractive``
    is configured, ``llm`` insists on one (:class:`ConfigError` if there is none)."""
    from ragline.errors import ConfigError

    m = settings.memory
    if m.summarize == "rules":
        return None
    answer = settings.model if isinstance(settings.model, str) else settings.model[0]
    spec = m.summary_model or answer
    if spec == "extractive":
        if m.summarize == "llm":
            raise ConfigError(
                "memory.summarize: llm needs a language model, but the model is extractive",
                hint="set memory.summary_model (e.g. local or openai:gpt-4o-mini), or "
                "memory.summarize: rules",
            )
        return None
    return spec


def build_memory(store: UserMemoryStore, embedder: Embedder, settings: Settings) -> LongTermMemory:
    """The project's :class:`LongTermMemory` from ``memory:`` in ragline.yaml."""
    spec = summary_model_spec(settings)  # a bad memory.summarize fails now, not later
    make = None
    if spec is not None:

        def make() -> Model:
            from ragline.models import build_model

            return build_model(spec, settings)

    return LongTermMemory(store, embedder, settings=settings.memory, make_summarizer=make)
