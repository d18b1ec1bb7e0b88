"""``SupportCheckerConformance``: the shared test suite every ``SupportChecker`` passes.

Subclass it in a checker's test module and provide a ``checker`` fixture::

    class TestMyChecker(SupportCheckerConformance):
        @pytest.fixture
        def checker(self) -> SupportChecker:
            return MyChecker(...)

``semantic = False`` for checkers that do not model meaning (a tiny test model),
which skips the test that a passage stating the sentence supports it and an unrelated
one does not.
"""

from __future__ import annotations

import math
from typing import ClassVar

import pytest

from ragline.evals._metrics._support import SupportChecker, SupportItem, SupportVerdict

PASSAGE = "Paris is the capital of France and its largest city."
OTHER = "Quarterly revenue grew by twelve percent compared with last year."
ITEMS: list[SupportItem] = [
    ("Paris is the capital of France.", [PASSAGE]),
    ("Paris is the capital of France.", [OTHER]),
    ("Revenue grew by twelve percent.", [PASSAGE, OTHER]),
    ("Cats sleep most of the day.", [OTHER]),
]


class SupportCheckerConformance:
    """Contract tests for :class:`ragline.evals.SupportChecker` implementations."""

    #: False for checkers that do not model meaning (skips the support test)
    semantic: ClassVar[bool] = True

    @pytest.fixture
    def checker(self) -> SupportChecker:
        raise NotImplementedError("subclasses provide a `checker` fixture")

    def test_satisfies_protocol(self, checker: SupportChecker) -> None:
        assert isinstance(checker, SupportChecker)
        assert isinstance(checker.name, str) and checker.name

    def test_no_items_no_verdicts(self, checker: SupportChecker) -> None:
        assert checker.check([]) == []

    def test_one_verdict_per_item_in_order(self, checker: SupportChecker) -> None:
        verdicts = checker.check(ITEMS)
        assert len(verdicts) == len(ITEMS)
        assert all(isinstance(v, SupportVerdict) for v in verdicts)
        assert all(isinstance(v.supported, bool) and isinstance(v.reason, str) for v in verdicts)
        # a repeated item gets its own verdict, the same as the first
        doubled = checker.check([ITEMS[0], ITEMS[1], ITEMS[0]])
        assert len(doubled) == 3 and doubled[0] == doubled[2]
        # an item's verdict does not depend on the items around it
        assert checker.check(ITEMS[1:2]) == [verdicts[1]]
        assert checker.check(list(reversed(ITEMS))) == list(reversed(verdicts))

    def test_deterministic_for_the_same_inputs(self, checker: SupportChecker) -> None:
        assert checker.check(ITEMS) == checker.check(ITEMS)

    def test_no_passages_is_unsupported(self, checker: SupportChecker) -> None:
        (verdict,) = checker.check([("Paris is the capital of France.", [])])
        assert verdict.supported is False and verdict.reason

    def test_scores_are_never_nan(self, checker: SupportChecker) -> None:
        items: list[SupportItem] = [*ITEMS, ("", [PASSAGE]), ("Yes!", [""]), ("x", [])]
        for v in checker.check(items):
            assert v.score is None or (math.isfinite(v.score) and 0.0 <= v.score <= 1.0)

    def test_unsupported_verdicts_say_why(self, checker: SupportChecker) -> None:
        for v in checker.check(ITEMS):
            assert v.supported or v.reason

    def test_a_passage_stating_the_sentence_supports_it(self, checker: SupportChecker) -> None:
        if not self.semantic:
            pytest.skip("this checker does not model meaning")
        verdicts = checker.check(ITEMS)
        assert verdicts[0].supported and verdicts[2].supported
        assert not verdicts[1].supported and not verdicts[3].supported
