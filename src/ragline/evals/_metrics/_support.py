"""Does a passage support a sentence? The deterministic checkers used by the citation
and faithfulness metrics (an LLM judge, :mod:`._judge`, can take their place).

A checker answers a batch of items, each a sentence and the passages it is checked
against (supported when the passages, taken together, support it), with one
:class:`SupportVerdict` per item.

:class:`FactSupport` (``support.checker: facts``, the default) is the cite stage's
built-in checker, :class:`ragline.answer.FactScorer` (a fitted word-overlap model plus
fact rules), at its calibrated *eval* threshold; the cite stage uses the same scorer
at the *answer* threshold (``answer.min_support``).

:class:`ScorerSupport` (``support.checker: similarity``) reuses
:class:`ragline.answer.SupportScorer` (the other scorer the answerer's citation check
can use): ``lexical_weight · share of the sentence's content
words in the passage + (1 − lexical_weight) · embedding cosine``, and calls a
sentence supported when its best passage scores at least ``threshold``. Without an
embedder it is lexical only. With ``check_numbers`` (the default) the fact rules of
:mod:`ragline.answer._facts` apply: a sentence whose names or figures are missing
from or contradicted by its passages is not supported whatever its similarity ("5
years" against a passage saying "2 years" scores high on words and meaning, but is
wrong).

Every checker here skips a sentence with no content words ("Yes!"): its verdict has
``skipped=True`` (and ``supported=True``, so a caller that ignores the flag never
fails it); the metrics leave such sentences out of their counts. A verdict's
``code`` is ``""`` (supported), ``skipped``, ``low_support``, ``missing_entity``,
``number_mismatch`` or ``predicate_mismatch``. The same inputs always give the same
verdicts.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ragline.answer._citations import SupportScorer
    from ragline.embed._base import Embedder

SupportItem = tuple[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class SupportVerdict:
    supported: bool
    score: float | None = None  #: the deterministic support score, when there is one
    reason: str = ""
    #: why, as a code: "" | skipped | low_support | missing_entity | number_mismatch | …
    code: str = ""
    #: the sentence has no content words: neither supported nor failed (left uncounted)
    skipped: bool = False


@runtime_checkable
class SupportChecker(Protocol):
    #: identifies the checker and its settings (part of a metric's version)
    name: str

    def check(self, items: Sequence[SupportItem]) -> list[SupportVerdict]:
        """One verdict per ``(sentence, passages)``; may raise ``MetricFailure``."""
        ...


class _CachedEmbedder:
    """Remembers document vectors by text: a suite's cases retrieve the same chunks over
    and over, and three metrics score the same sentences (bounded, thread-safe)."""

    def __init__(self, inner: Embedder, max_items: int = 50_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.max_items = max_items
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self.inner.embed_documents(missing)
            with self._lock:
                for t, v in zip(missing, vectors, strict=True):
                    self._cache[t] = v
                while len(self._cache) > self.max_items:
                    self._cache.popitem(last=False)
        with self._lock:
            found = [self._cache.get(t) for t in texts]
        rows = [r for r in found if r is not None]
        if len(rows) != len(found):  # evicted meanwhile: embed directly
            return self.inner.embed_documents(texts)
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        return self.inner.embed_query(text)


class ScorerSupport:
    """Deterministic support: lexical overlap + embedding cosine, against a threshold."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        threshold: float | None = None,
        lexical_weight: float = 0.5,
        check_numbers: bool = True,
    ) -> None:
        if not 0.0 <= lexical_weight <= 1.0:
            raise ValueError("lexical_weight must be between 0 and 1")
        self.embedder = embedder
        self._scorer: SupportScorer | None = None
        self.lexical_weight = lexical_weight if embedder is not None else 1.0
        # 0.45 is the answerer's own min_support; lexical-only needs half the words
        self.threshold = threshold if threshold is not None else (0.45 if embedder else 0.5)
        basis = f"lexical+{embedder.name}" if embedder is not None else "lexical"
        self.check_numbers = check_numbers
        self.name = f"{basis}@{self.threshold:g}/{self.lexical_weight:g}" + (
            "+facts" if check_numbers else ""
        )

    def scores(self, sentences: Sequence[str], passages: Sequence[str]) -> list[list[float]]:
        """Support of every sentence (rows) by every passage (columns), in [0, 1]."""
        if not sentences or not passages:
            return [[0.0] * len(passages) for _ in sentences]
        if self.embedder is None:
            from ragline.answer._extractive import content_terms

            terms = [content_terms(p) for p in passages]
            out = []
            for s in sentences:
                own = content_terms(s)
                out.append([len(own & t) / len(own) if own else 0.0 for t in terms])
            return out
        if self._scorer is None:
            from ragline.answer._citations import SupportScorer

            cached = _CachedEmbedder(self.embedder)
            self._scorer = SupportScorer(cached, lexical_weight=self.lexical_weight)
        matrix = self._scorer.score_matrix(sentences, passages)
        return [[float(v) for v in row] for row in matrix]

    def check(self, items: Sequence[SupportItem]) -> list[SupportVerdict]:
        from ragline.answer._facts import fact_problem, is_content_free

        sentences = list(dict.fromkeys(s for s, _ in items))
        passages = list(dict.fromkeys(p for _, ps in items for p in ps))
        matrix = self.scores(sentences, passages)
        row = {s: i for i, s in enumerate(sentences)}
        col = {p: j for j, p in enumerate(passages)}
        out = []
        for sentence, ps in items:
            if is_content_free(sentence):
                out.append(SupportVerdict(True, None, "no content words", "skipped", True))
                continue
            best = max((matrix[row[sentence]][col[p]] for p in ps), default=0.0)
            supported = best >= self.threshold
            reason, code = ("", "") if supported else ("below threshold", "low_support")
            if supported and self.check_numbers:
                problems = [fact_problem(sentence, p) for p in ps]
                if ps and all(problems):
                    first = problems[0]
                    assert first is not None
                    supported, code, reason = False, first[0], first[1]
            out.append(SupportVerdict(supported, round(best, 4), reason, code))
        return out


class FactSupport:
    """The built-in checker (:class:`ragline.answer.FactScorer`) at the eval threshold."""

    def __init__(self, *, threshold: float | None = None) -> None:
        from ragline.answer._support_model import FactScorer

        self.scorer = FactScorer()
        self.threshold = threshold if threshold is not None else self.scorer.eval_threshold()
        self.name = f"{self.scorer.name}@{self.threshold:g}"

    def check(self, items: Sequence[SupportItem]) -> list[SupportVerdict]:
        out = []
        for sentence, passages in items:
            j = self.scorer.judge(sentence, list(passages), threshold=self.threshold)
            skipped = j.code == "skipped"
            out.append(
                SupportVerdict(j.supported, None if skipped else j.score, j.detail, j.code, skipped)
            )
        return out


def support_checker(
    checker: str = "facts", embedder: Embedder | None = None, *, threshold: float | None = None
) -> SupportChecker:
    """The eval checker ``support.checker`` names (``facts`` or ``similarity``)."""
    if checker == "facts":
        return FactSupport(threshold=threshold)
    if checker == "similarity":
        return ScorerSupport(embedder, threshold=threshold)
    from ragline.errors import ConfigError

    raise ConfigError(
        f"unknown support.checker {checker!r}", hint="use facts (the default) or similarity"
    )


_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")


def numbers(text: str) -> set[str]:
    """The numbers written in digits in ``text``, thousands separators dropped
    (``14,300`` → ``14300``; ``4.5`` stays ``4.5``)."""
    out = set()
    for m in _NUMBER.findall(text):
        parts = re.split(r"[.,]", m)
        if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]) and "," in m:
            out.add("".join(parts))
        else:
            out.add(m.replace(",", "."))
    return out


__all__ = [
    "FactSupport",
    "ScorerSupport",
    "SupportChecker",
    "SupportItem",
    "SupportVerdict",
    "support_checker",
]
