"""The built-in support checker: a small fitted model over word overlap, plus fact rules.

:class:`FactScorer` judges whether a passage backs a sentence, offline and without a
neural model:

1. a sentence with no content words ("Yes!", "Sure.") is **skipped**
   (:func:`~ragline.answer._facts.is_content_free`): it is neither supported nor failed;
2. the passage (its first :data:`MAX_FACT_CHARS` characters, so a very long passage
   costs a bounded amount) is cut into half-overlapping windows of
   :data:`WINDOW_WORDS` words (at least twice the sentence's length) and the best
   window is kept: words scattered over a long passage do not add up to support;
3. a logistic model over the window's features — the share of the sentence's content
   words in it, how many content words it lacks (log), and a negation the passage does
   not have — gives a probability that the passage supports the sentence;
   (a redaction marker such as ``[email]`` is not part of the claim and is ignored);
4. the hard rules of :mod:`ragline.answer._facts` (missing name, wrong figure, a role
   given to someone else) make the sentence unsupported whatever that probability.

Weights and thresholds live in ``answer/data/support-v1.json`` (fitted by
``tools/fit_support.py`` from a seed on HaluEval's QA samples, MIT licence, with a
held-back split; the file records the data, its licence and the held-back numbers).
The score is the probability mapped so that the calibrated *answer* threshold is
``0.45`` (``answer.min_support``'s default, so the cite stage, the monitor and
regression cases keep their meaning); the *eval* threshold is in the same scale. A
rule-flagged sentence scores at most ``0.44``.

Language: words are compared as written (diacritics folded), so a passage and a
sentence in the same language are judged on their words in any language that puts
spaces between words; the weights were fitted on English. A sentence in another
language than its passage shares few words with it and is judged ``low_support``,
never passed silently. The same inputs always give the same verdicts.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragline._text import STOPWORDS, stem, words
from ragline.answer._facts import FILLER, LEADING, fact_problem, is_content_free
from ragline.errors import ConfigError

WINDOW_WORDS = 120
MAX_FACT_CHARS = 100_000  #: the checker reads at most this much of a passage
MAX_WINDOWS = 400  #: 100,000 characters are about 15,000 words: 250 windows
FEATURES = ("lexical", "missing_words", "negation")
#: a redaction marker (``[email]``, ``[phone]``): the guard's, not the model's claim
_PLACEHOLDER = re.compile(r"\[[a-z_]{2,24}\]")
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|without|cannot)\b|n't\b", re.I)


@dataclass(frozen=True, slots=True)
class Judgement:
    """One sentence against one or more passages."""

    score: float  #: in [0, 1]; the answer threshold is 0.45
    supported: bool  #: at the threshold asked for, and no fact problem
    code: str = ""  #: "" | "skipped" | "low_support" | "missing_entity" | "number_mismatch" | …
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SupportWeights:
    weights: tuple[float, ...]
    bias: float
    answer_threshold: float  #: a probability
    eval_threshold: float  #: a probability
    name: str
    metadata: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path | None = None) -> SupportWeights:
        """The shipped weights, or ``path``'s; a missing or malformed file is a ConfigError."""
        where = str(path) if path else "ragline/answer/data/support-v1.json"
        try:
            if path is None:
                text = resources.files("ragline.answer").joinpath("data/support-v1.json")
                raw = json.loads(text.read_text(encoding="utf-8"))
            else:
                raw = json.loads(Path(path).read_text(encoding="utf-8"))
            if tuple(raw["features"]) != FEATURES:
                raise ValueError(f"features {raw['features']} are not {list(FEATURES)}")
            out = cls(
                weights=tuple(float(w) for w in raw["weights"]),
                bias=float(raw["bias"]),
                answer_threshold=float(raw["answer_threshold"]),
                eval_threshold=float(raw["eval_threshold"]),
                name=str(raw["name"]),
                metadata=dict(raw.get("metadata", {})),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"cannot read the support checker's weights {where}: {exc}",
                hint="reinstall ragline, or refit them with python tools/fit_support.py",
            ) from exc
        if len(out.weights) != len(FEATURES) or not 0 < out.answer_threshold < 1:
            raise ConfigError(
                f"the support checker's weights {where} are malformed",
                hint="refit them with python tools/fit_support.py",
            )
        return out

    def scaled(self, p: float) -> float:
        """``p`` mapped (monotone, piecewise linear) so the answer threshold is 0.45."""
        t = self.answer_threshold
        value = 0.45 * p / t if p < t else 0.45 + 0.55 * (p - t) / (1.0 - t)
        return round(min(max(value, 0.0), 1.0), 4)


@functools.lru_cache(maxsize=1)
def shipped_weights() -> SupportWeights:
    return SupportWeights.load()


_IGNORED = STOPWORDS | FILLER | LEADING  # "also", "however", "yes": no claim of their own


def _content(ws: Sequence[str]) -> list[str]:
    return [stem(w) for w in ws if w not in _IGNORED]


@functools.lru_cache(maxsize=2048)
def windows(passage: str, size: int = 0) -> tuple[tuple[frozenset[str], bool], ...]:
    """``(content terms, has a negation)`` of each window of ``passage`` (module doc);
    windows of ``size`` words (default :data:`WINDOW_WORDS`), half overlapping."""
    tokens = words(passage[:MAX_FACT_CHARS])
    size = size or WINDOW_WORDS
    step = size // 2
    out = []
    for start in range(0, max(len(tokens) - step, 1), step):
        piece = tokens[start : start + size]
        negated = any(
            w in ("not", "no", "never", "neither", "nor", "none", "without", "t") for w in piece
        )
        out.append((frozenset(_content(piece)), negated))
        if len(out) >= MAX_WINDOWS:
            break
    return tuple(out)


def features(sentence: str, passage: str) -> list[float]:
    """The model's features for the best window of ``passage`` (see :data:`FEATURES`)."""
    tokens = words(sentence)
    terms = set(_content(tokens))
    negated = bool(_NEGATION.search(sentence))
    best: list[float] = [0.0, math.log1p(len(terms)), float(negated)]
    best_share = -1.0
    # a window is at least twice the sentence (a table row quoted whole fits in one)
    size = WINDOW_WORDS * max(1, math.ceil(2 * len(tokens) / WINDOW_WORDS))
    for window, window_negated in windows(passage, size):
        found = len(terms & window)
        share = found / len(terms) if terms else 0.0
        if share > best_share:
            best_share = share
            best = [share, math.log1p(len(terms) - found), float(negated and not window_negated)]
    return best


class FactScorer:
    """Support of sentences by passages (module doc); ``score_matrix`` as SupportScorer's."""

    def __init__(self, weights: SupportWeights | None = None) -> None:
        self.weights = weights or shipped_weights()
        self.name = self.weights.name

    def probability(self, sentence: str, passage: str) -> float:
        z = self.weights.bias + sum(
            w * x for w, x in zip(self.weights.weights, features(sentence, passage), strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z))

    def judge(self, sentence: str, passages: Sequence[str], *, threshold: float) -> Judgement:
        """``sentence`` against its best passage; ``threshold`` in the 0.45-scale."""
        sentence = _PLACEHOLDER.sub(" ", sentence)
        if is_content_free(sentence):
            return Judgement(1.0, True, "skipped", "no content words")
        best: Judgement | None = None
        for passage in passages:
            j = self._pair(sentence, passage, threshold)
            if best is None or (j.supported, j.score) > (best.supported, best.score):
                best = j
        return best or Judgement(0.0, False, "low_support", "no passage")

    def _pair(self, sentence: str, passage: str, threshold: float) -> Judgement:
        score = self.weights.scaled(self.probability(sentence, passage))
        problem = fact_problem(sentence, passage[:MAX_FACT_CHARS])
        if problem is not None:
            return Judgement(min(round(score * 0.44, 4), 0.44), False, *problem)
        if score < threshold:
            return Judgement(score, False, "low_support", f"support {score:g} < {threshold:g}")
        return Judgement(score, True)

    def score_matrix(
        self, sentences: Sequence[str], chunk_texts: Sequence[str]
    ) -> npt.NDArray[np.float64]:
        """Scores of every sentence (rows) against every chunk (columns); a content-free
        sentence scores 1 against every chunk (it is skipped, never failed)."""
        out = np.zeros((len(sentences), len(chunk_texts)), dtype=np.float64)
        for i, sentence in enumerate(sentences):
            for j, chunk in enumerate(chunk_texts):
                out[i, j] = self.judge(sentence, [chunk], threshold=0.45).score
        return out

    def eval_threshold(self) -> float:
        """The calibrated eval threshold in the 0.45-scale."""
        return self.weights.scaled(self.weights.eval_threshold)


def make_scorer(checker: str, embedder: Any) -> Any:
    """The cite stage's scorer for ``support.checker`` ("facts" or "similarity")."""
    if checker == "facts":
        return FactScorer()
    if checker == "similarity":
        from ragline.answer._citations import SupportScorer

        return SupportScorer(embedder)
    raise ConfigError(
        f"unknown support.checker {checker!r}", hint="use facts (the default) or similarity"
    )


__all__ = ["FEATURES", "FactScorer", "Judgement", "SupportWeights", "features", "make_scorer"]
