"""Intervals and tests for comparing experiment variants on live traffic.

Rates (thumbs-up, abstention, errors) are proportions of independent requests:

- one variant's rate: the **Wilson score interval** (good coverage at small n and near
  0 or 1, where the normal interval fails);
- the difference of two variants' rates: **Newcombe's hybrid score interval** (method
  10 of Newcombe 1998, built from the two Wilson intervals), and the p-value of the
  **two-proportion z-test** with the pooled rate (two-sided).

Means (latency, citation support) use the bootstrap: unpaired (each variant's
requests resampled on their own) for served A/B traffic, paired
(:func:`ragline.evals._stats.paired_bootstrap`) where the same requests were answered by
both variants (shadow mode). Resampling uses a fixed seed, so a report is repeatable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # the two-sided 95 % normal quantile


@dataclass(frozen=True, slots=True)
class Rate:
    """``hits`` of ``n`` and the Wilson 95 % interval of the rate."""

    hits: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.hits / self.n if self.n else 0.0


@dataclass(frozen=True, slots=True)
class Difference:
    """``b - a`` with its 95 % interval, and the p-value of the test that it is 0."""

    delta: float
    low: float
    high: float
    p_value: float | None
    method: str

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def wilson(hits: int, n: int, z: float = Z95) -> Rate:
    """The Wilson score interval of ``hits / n`` (``[0, 1]`` when ``n`` is 0)."""
    if n <= 0:
        return Rate(hits, n, 0.0, 1.0)
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Rate(hits, n, max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_p(a: Rate, b: Rate) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of ``a`` and ``b``."""
    if a.n == 0 or b.n == 0:
        return 1.0
    pooled = (a.hits + b.hits) / (a.n + b.n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n))
    if se == 0:
        return 1.0
    z = (b.value - a.value) / se
    return math.erfc(abs(z) / math.sqrt(2))


def rate_difference(a: Rate, b: Rate) -> Difference:
    """``b - a`` with Newcombe's hybrid score interval and the z-test's p-value."""
    delta = b.value - a.value
    low = delta - math.sqrt((b.value - b.low) ** 2 + (a.high - a.value) ** 2)
    high = delta + math.sqrt((b.high - b.value) ** 2 + (a.value - a.low) ** 2)
    return Difference(
        delta, low, high, two_proportion_p(a, b), "Newcombe score interval, two-proportion z-test"
    )


def bootstrap_difference(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = 2000,
    seed: int = 20240601,
) -> Difference:
    """``mean(b) - mean(a)`` with the percentile bootstrap 95 % interval (each sample
    resampled on its own: unpaired)."""
    import numpy as np

    if not a or not b:
        raise ValueError("both samples need at least one value")
    rng = np.random.default_rng(seed)
    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    ma = xa[rng.integers(0, len(xa), size=(resamples, len(xa)))].mean(axis=1)
    mb = xb[rng.integers(0, len(xb), size=(resamples, len(xb)))].mean(axis=1)
    delta = float(xb.mean() - xa.mean())
    low, high = np.percentile(mb - ma, [2.5, 97.5])
    return Difference(
        delta, min(float(low), delta), max(float(high), delta), None, "bootstrap (unpaired)"
    )


def paired_difference(a: Sequence[float], b: Sequence[float]) -> Difference:
    """``mean(b - a)`` over pairs, with the paired percentile bootstrap 95 % interval."""
    from ragline.evals._stats import paired_bootstrap

    found = paired_bootstrap(a, b)
    return Difference(found.delta, found.low, found.high, None, "bootstrap (paired)")


__all__ = [
    "Difference",
    "Rate",
    "bootstrap_difference",
    "paired_difference",
    "rate_difference",
    "two_proportion_p",
    "wilson",
]
