"""Significance for run comparisons: paired bootstrap CIs and McNemar's test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BOOTSTRAP_SEED = 20240601
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True, slots=True)
class Interval:
    delta: float  # mean(b - a)
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = 0.95,
    seed: int = BOOTSTRAP_SEED,
) -> Interval:
    """Mean of ``b - a`` over paired cases, and its percentile bootstrap interval.

    Cases are resampled with replacement (the same indices for both runs), with a
    fixed seed so the same two runs always give the same interval.
    """
    import numpy as np

    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    if not a:
        raise ValueError("no paired cases")
    diffs = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    delta = float(diffs.mean())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diffs), size=(resamples, len(diffs)))
    means = diffs[idx].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    # the interval always contains the observed delta (constant differences: a point)
    return Interval(delta, min(float(low), delta), max(float(high), delta), len(diffs))


def mcnemar(b: int, c: int, *, exact_below: int = 25) -> float:
    """Two-sided p-value of McNemar's test.

    ``b``: cases that passed in A and failed in B; ``c``: failed in A, passed in B.
    Exact binomial test when ``b + c < exact_below``, else the chi-square statistic
    with continuity correction, ``(|b - c| - 1)² / (b + c)``, on 1 degree of freedom.
    """
    if b < 0 or c < 0:
        raise ValueError("counts must be non-negative")
    n = b + c
    if n == 0:
        return 1.0
    if n < exact_below:
        k = min(b, c)
        tail: float = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
        return min(1.0, 2 * tail)
    stat = (abs(b - c) - 1) ** 2 / n
    return float(math.erfc(math.sqrt(stat / 2)))  # survival function of chi-square, 1 d.f.
