"""The built-in ``ScorerSupport`` passes the shared support-checker suite."""

from __future__ import annotations

import pytest

from ragline.evals import ScorerSupport
from ragline.evals._metrics._support import SupportChecker
from ragline.testing import HashEmbedder, SupportCheckerConformance


class TestLexicalScorer(SupportCheckerConformance):
    @pytest.fixture
    def checker(self) -> SupportChecker:
        return ScorerSupport()


class TestLexicalAndEmbeddingScorer(SupportCheckerConformance):
    semantic = False  # hash vectors carry no meaning

    @pytest.fixture
    def checker(self) -> SupportChecker:
        return ScorerSupport(HashEmbedder())
