"""Significance statistics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from ragline.evals._stats import mcnemar, paired_bootstrap


def test_mcnemar_exact_matches_the_binomial_by_hand() -> None:
    # b=5, c=0: two-sided exact p = 2 * (1/2)^5
    assert mcnemar(5, 0) == pytest.approx(2 / 32)
    # b=1, c=4: 2 * (C(5,0) + C(5,1)) / 2^5 = 12/32
    assert mcnemar(1, 4) == pytest.approx(12 / 32)
    assert mcnemar(4, 1) == mcnemar(1, 4)  # symmetric
    assert mcnemar(3, 3) == 1.0  # capped at 1
    assert mcnemar(0, 0) == 1.0  # nothing flipped: no evidence


def test_mcnemar_chi_square_with_continuity_for_many_flips() -> None:
    # b=20, c=10: (|20-10|-1)^2 / 30 = 2.7; P(chi2_1 > 2.7) = 0.100348...
    assert mcnemar(20, 10) == pytest.approx(0.1003482, abs=1e-6)
    # switches to chi-square at b + c >= 25 (statistic by hand)
    stat = (abs(15 - 10) - 1) ** 2 / 25
    assert mcnemar(15, 10) == pytest.approx(math.erfc(math.sqrt(stat / 2)))


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        mcnemar(-1, 2)


def test_bootstrap_constant_difference_is_a_point_interval() -> None:
    iv = paired_bootstrap([0.5, 0.2, 0.9], [0.4, 0.1, 0.8])
    assert iv.delta == pytest.approx(-0.1)
    assert iv.low == pytest.approx(-0.1) and iv.high == pytest.approx(-0.1)
    assert iv.significant and iv.n == 3


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible() -> None:
    a = [1.0] * 10
    b = [1.0] * 8 + [0.0] * 2  # two cases dropped: delta = -0.2
    iv = paired_bootstrap(a, b)
    assert iv.delta == pytest.approx(-0.2)
    # each resample's mean is -(dropped count)/10: the interval lies on that grid
    assert -0.6 <= iv.low <= -0.2 <= iv.high <= 0.0
    assert paired_bootstrap(a, b) == iv  # fixed seed: same runs, same interval
    assert paired_bootstrap(a, b, seed=1).delta == iv.delta


def test_bootstrap_no_difference_is_not_significant() -> None:
    a = [0.0, 1.0, 0.0, 1.0, 0.5, 0.5]
    b = [1.0, 0.0, 1.0, 0.0, 0.5, 0.5]
    iv = paired_bootstrap(a, b)
    assert iv.delta == 0.0
    assert iv.low < 0 < iv.high and not iv.significant


def test_bootstrap_bad_input() -> None:
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="no paired"):
        paired_bootstrap([], [])
