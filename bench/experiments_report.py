"""Experiment report correctness: do its 95 % intervals cover a known true difference?

    python bench/experiments_report.py [--sims 1000]

Synthetic data with a known effect, through the report's own functions
(:mod:`ragline.prompts._significance`):

- rates: control thumbs-up 0.30, variant 0.35 (true difference +0.05), n = 400 each,
  Newcombe's hybrid score interval; and at no effect (0.30 vs 0.30), how often the
  two-proportion z-test calls p < 0.05 (its false-positive rate, 5 % nominal);
- small n: 0.10 vs 0.20 with n = 40 each (where the Wald interval undercovers);
- latency in shadow mode: the same requests answered twice, served latency lognormal
  (median 200 ms), the shadow 10 ms slower plus noise, n = 100 pairs, the paired
  percentile bootstrap (2,000 resamples).

Coverage is the share of simulations whose interval holds the true difference.
Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import table, write_section

from ragline.prompts._significance import paired_difference, rate_difference, wilson


def rates(rng: object, sims: int, p_a: float, p_b: float, n: int) -> tuple[float, float]:
    """(coverage of the true difference, share of p < 0.05)."""
    import numpy as np

    assert isinstance(rng, np.random.Generator)
    covered = rejected = 0
    for _ in range(sims):
        a = int(rng.binomial(n, p_a))
        b = int(rng.binomial(n, p_b))
        d = rate_difference(wilson(a, n), wilson(b, n))
        covered += d.low <= p_b - p_a <= d.high
        rejected += d.p_value is not None and d.p_value < 0.05
    return covered / sims, rejected / sims


def paired_latency(rng: object, sims: int, n: int) -> float:
    import numpy as np

    assert isinstance(rng, np.random.Generator)
    covered = 0
    for i in range(sims):
        served = rng.lognormal(np.log(200), 0.5, n)
        shadow = served + 10.0 + rng.normal(0, 20, n)
        d = paired_difference(list(served), list(shadow))
        covered += d.low <= 10.0 <= d.high
        del i
    return covered / sims


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(20261204)
    rows = []
    cov, power = rates(rng, args.sims, 0.30, 0.35, 400)
    rows.append(
        ["thumbs-up 0.30 → 0.35, n = 400 each", "Newcombe score", f"{cov:.3f}", f"{power:.3f}"]
    )
    cov, alpha = rates(rng, args.sims, 0.30, 0.30, 400)
    rows.append(
        ["no effect 0.30 → 0.30, n = 400 each", "Newcombe score", f"{cov:.3f}", f"{alpha:.3f}"]
    )
    cov, power = rates(rng, args.sims, 0.10, 0.20, 40)
    rows.append(
        ["abstention 0.10 → 0.20, n = 40 each", "Newcombe score", f"{cov:.3f}", f"{power:.3f}"]
    )
    cov = paired_latency(rng, args.sims, 100)
    rows.append(["shadow latency +10 ms, 100 pairs", "paired bootstrap", f"{cov:.3f}", "—"])
    body = (
        f"{args.sims:,} simulations per row (numpy seed 20261204); 95 % intervals.\n\n"
        + table(["synthetic data", "interval", "coverage", "p < 0.05 (z-test)"], rows)
        + "\n\nThe last column is the test's power where there is an effect and its "
        "false-positive rate where there is none (nominal 0.05)."
    )
    write_section("experiments_report", "Experiment report: interval coverage", body)


if __name__ == "__main__":
    main()
