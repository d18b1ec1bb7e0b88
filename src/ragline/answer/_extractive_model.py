"""``extractive`` as a :class:`~ragline.models.Model`: cited sentences, no LLM.

It lives with the answerers (it wraps :class:`ExtractiveAnswerer`); ``ragline.answer``
registers it as the ``extractive`` builtin of :func:`ragline.models.make_model`, so
``models`` never imports ``answer``.

ragline's default answerer (:class:`ragline.answer.ExtractiveAnswerer`) works on
retrieved hits directly. This adapter gives it the same protocol as the language
models, so it can stand anywhere a model can — most usefully as the last link of a
fallback chain (``model: [openai:gpt-4o-mini, extractive]``): when the provider is
down, users still get cited sentences instead of an error.

It reads ragline's grounded prompts (the chat template ``grounded_v1`` and the
completion template ``grounded_base_v1``, or any template in the same form): the
*last* ``Context:`` block holds passages ``[n] label`` followed by their text (or,
data-marked as ``grounded_v2`` does, ``<passage id="n" source="label">`` … ``</passage>``),
and the ``Question:`` line after it is the question. It answers with sentences taken
verbatim from those passages, each ending in the marker of its passage (``[n]``),
so the citation post-processor verifies them like any model's output. A prompt
without numbered context gets the abstention text. ``tools`` are accepted and
never called. Usage is estimated (≈ 4 characters per token) and the cost is 0.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragline._time import elapsed_ms
from ragline.models._base import Completion, Delta, Messages, Tools
from ragline.models._pricing import estimate_usage

if TYPE_CHECKING:
    from ragline.config import AnswerSettings, Settings
    from ragline.embed import Embedder

_CONTEXT = re.compile(r"^Context:[ \t]*$", re.MULTILINE)
_QUESTION = re.compile(r"^Question:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_PASSAGE = re.compile(r"^\[(\d{1,4})\][ \t]?(.*)$", re.MULTILINE)
# a data-marked passage (grounded_v2): its text cannot hold "</passage" (neutralised)
_MARKED = re.compile(
    r'^<passage id="(\d{1,4})"(?: source="([^"\n]*)")?([^>\n]*)>[ \t]*\n(.*?)\n</passage>[ \t]*$',
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Passage:
    number: int
    label: str
    text: str
    quoted: bool = False  #: marked ``trust="untrusted"`` (a chunk the retrieval guard quoted)


def parse_grounded_prompt(messages: Messages) -> tuple[str, list[Passage]]:
    """``(question, passages)`` from the last ``Context:`` block of the last user turn.

    Returns ``("", [])`` when the messages carry no numbered context.
    """
    content = next((m.content for m in reversed(messages) if m.role == "user"), "")
    starts = [m.end() for m in _CONTEXT.finditer(content)]
    if not starts:
        return "", []
    rest = content[starts[-1] :]
    question_match = _QUESTION.search(rest)
    if question_match is None:
        return "", []
    block = rest[: question_match.start()]
    question = question_match.group(1).strip()
    passages: list[Passage] = [
        Passage(
            int(m.group(1)),
            (m.group(2) or "").strip(),
            m.group(4).strip(),
            'trust="untrusted"' in m.group(3),
        )
        for m in _MARKED.finditer(block)
    ]
    block = _MARKED.sub("", block)
    found = list(_PASSAGE.finditer(block))
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(block)
        body = block[match.end() : end].strip()
        label = match.group(2).strip()
        if not body:  # "[n] text" on one line, no label
            label, body = "", label
        passages.append(Passage(int(match.group(1)), label, body))
    return question, sorted(passages, key=lambda p: p.number)


class ExtractiveModel:
    """The extractive answerer behind the :class:`~ragline.models.Model` protocol.

    ``embedder`` is an :class:`~ragline.embed.Embedder` or a function that makes one
    on first use (so building a fallback chain loads nothing until it is needed).
    """

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder | Callable[[], Embedder],
        settings: AnswerSettings | None = None,
        *,
        instruction_threshold: float | None = 0.5,
    ) -> None:
        self._embedder_or_factory = embedder
        self._settings = settings
        self._instruction_threshold = instruction_threshold
        self._answerer: Any = None

    def __repr__(self) -> str:
        return "ExtractiveModel()"

    def _get_answerer(self) -> Any:
        if self._answerer is None:
            from ragline.answer._extractive import ExtractiveAnswerer
            from ragline.embed import Embedder

            source = self._embedder_or_factory
            embedder = source if isinstance(source, Embedder) else source()
            self._answerer = ExtractiveAnswerer(
                embedder, self._settings, instruction_threshold=self._instruction_threshold
            )
        return self._answerer

    def _sentences(self, messages: Messages) -> list[str]:
        """The answer as sentences that each end in their passage's marker."""
        from ragline.answer._extractive import ABSTAIN_TEXT
        from ragline.types import Chunk, Hit

        question, passages = parse_grounded_prompt(messages)
        if not question or not passages:
            return [ABSTAIN_TEXT]
        hits = [
            Hit(
                chunk=Chunk(
                    id=f"passage-{p.number}",
                    document_id=f"passage-{p.number}",
                    ordinal=0,
                    text=p.text,
                    title=p.label,
                ),
                score=1.0 / (rank + 1),
                quoted=p.quoted,
            )
            for rank, p in enumerate(passages)
        ]
        answer = self._get_answerer().answer(question, hits)
        if answer.abstained:
            return [ABSTAIN_TEXT]
        # the answerer numbers references itself; map back to the prompt's numbers
        prompt_number = {
            ref.number: int(ref.chunk_id.removeprefix("passage-")) for ref in answer.references
        }
        return [
            s.text + " " + "".join(f"[{prompt_number[n]}]" for n in s.citations)
            for s in answer.sentences
        ]

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        start = time.perf_counter()
        text = " ".join(self._sentences(messages))
        return Completion(
            text=text,
            model=self.name,
            finish_reason="stop",
            usage=estimate_usage(messages, text),
            cost_usd=0.0,
            latency_ms=elapsed_ms(start),
        )

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        sentences = self._sentences(messages)
        for i, sentence in enumerate(sentences):
            yield Delta(text=sentence if i == 0 else " " + sentence)
        yield Delta(finish_reason="stop", usage=estimate_usage(messages, " ".join(sentences)))

    def close(self) -> None:
        """Nothing to release (the embedder belongs to whoever made it)."""


def build_extractive(spec: str, settings: Settings) -> ExtractiveModel:
    """``make_model("extractive")``: the embedder is made from ``settings`` on first use."""

    def embedder() -> Embedder:
        from ragline.embed import make_embedder

        return make_embedder(settings.embedder, settings.embedding)

    from ragline.guards._policy import instruction_threshold

    threshold = instruction_threshold(settings.guards)
    return ExtractiveModel(embedder, settings.answer, instruction_threshold=threshold)
