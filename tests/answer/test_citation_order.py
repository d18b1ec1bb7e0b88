"""Citations come from the highest-ranked hits unless a lower one clearly answers better."""

from __future__ import annotations

import numpy as np
import pytest

from ragline.answer import ExtractiveAnswerer
from ragline.answer._extractive import ExtractiveTuning, _Candidate
from ragline.config import AnswerSettings
from ragline.testing import HashEmbedder


def _answerer(margin: float) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(
        HashEmbedder(),
        AnswerSettings.model_validate({"max_sentences": 1}),
        tuning=ExtractiveTuning(rank_margin=margin),
    )


def _cands(top: float, lower: float) -> list[_Candidate]:
    """One sentence of the top-ranked hit (0) and one of the hit ranked third (2)."""
    a = _Candidate(0, 0, "The warranty lasts two years.", frozenset(), frozenset(), "default")
    b = _Candidate(2, 0, "Warranty: two years from delivery.", frozenset(), frozenset(), "default")
    a.score, b.score = top, lower
    return [a, b]


VECTORS = np.eye(2, dtype=np.float32)  # not duplicates of each other


@pytest.mark.parametrize("lower", [0.70, 0.74])
def test_a_lower_ranked_hit_within_the_margin_does_not_lead(lower: float) -> None:
    chosen = _answerer(0.05)._select(_cands(0.70, lower), VECTORS)
    assert [c.hit for c in chosen] == [0]


def test_a_lower_ranked_hit_that_clearly_answers_better_leads() -> None:
    chosen = _answerer(0.05)._select(_cands(0.70, 0.76), VECTORS)
    assert [c.hit for c in chosen] == [2]


def test_without_a_margin_the_best_score_leads() -> None:
    chosen = _answerer(0.0)._select(_cands(0.70, 0.72), VECTORS)
    assert [c.hit for c in chosen] == [2]
