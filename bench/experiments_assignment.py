"""Experiment assignment: uniformity and stickiness of the stable hash over many users.

    python bench/experiments_assignment.py [--users 100000]

For weights 1:1, 1:3 and 1:1:1:1, every synthetic user id ``user-<i>`` is assigned
twice, by two separate ``Experiments`` objects (as two processes or a restart would):
the table gives each variant's share against its weight, the chi-square statistic of
the counts against the weights with its p-value (scipy, a goodness-of-fit test: a
small p-value would mean the hash is not uniform), and the users whose variant
differed between the two calls (stickiness: it must be 0). Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import table, write_section

from ragline._config_experiments import ExperimentSettings
from ragline.prompts._experiments import Experiments

SPLITS = {"1:1": [1, 1], "1:3": [1, 3], "1:1:1:1": [1, 1, 1, 1]}


def run(users: int) -> list[list[str]]:
    from scipy.stats import chisquare

    rows = []
    for label, weights in SPLITS.items():
        variants = [{"name": f"v{i}", "weight": w} for i, w in enumerate(weights)]
        settings = ExperimentSettings.model_validate(
            {"name": "bench-" + label.replace(":", "-"), "variants": variants}
        )
        first, second = Experiments([settings]), Experiments([settings])
        start = time.perf_counter()
        picks = [first.assign("default", user=f"user-{i}") for i in range(users)]
        per_call_us = (time.perf_counter() - start) / users * 1e6
        again = [second.assign("default", user=f"user-{i}") for i in range(users)]
        switched = sum(a != b for a, b in zip(picks, again, strict=True))
        counts = Counter(p.variant for p in picks if p is not None)
        observed = [counts[f"v{i}"] for i in range(len(weights))]
        expected = [users * w / sum(weights) for w in weights]
        stat, p_value = chisquare(observed, expected)
        shares = " / ".join(f"{o / users:.4f}" for o in observed)
        target = " / ".join(f"{w / sum(weights):.4f}" for w in weights)
        rows.append(
            [
                label,
                shares,
                target,
                f"{stat:.2f}",
                f"{p_value:.3f}",
                str(switched),
                f"{per_call_us:.1f}",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    rows = run(args.users)
    body = (
        f"{args.users:,} synthetic users (`user-0` … `user-{args.users - 1}`), each assigned "
        "twice by separate `Experiments` objects. Chi-square goodness of fit of the counts "
        "against the weights (scipy.stats.chisquare; degrees of freedom = variants − 1).\n\n"
        + table(
            [
                "weights",
                "observed shares",
                "target shares",
                "chi-square",
                "p-value",
                "users switching",
                "µs per assignment",
            ],
            rows,
        )
    )
    print(body)
    write_section(
        "experiments-assignment", "Experiments — assignment uniformity and stickiness", body
    )


if __name__ == "__main__":
    main()
