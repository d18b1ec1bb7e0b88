"""Fit the built-in support checker shipped as ``src/ragline/answer/data/support-v1.json``.

    python tools/fit_support.py                      # writes the package file
    python tools/fit_support.py --out /tmp/w.json    # elsewhere (a determinism check)

Data: HaluEval (RUCAIBox/HaluEval, MIT licence) ``generation/qa/qa_one-turn_data.json``
and ``qa_multi-turn_data.json`` from ``../shared/datasets/halueval``: 1,000 items, each
a knowledge passage with a right and a hallucinated answer (label 1 / 0, the answer
judged against its passage). Content-free answers ("yes", "no") are left out, as the
checker skips them. Split BY ITEM (both answers of an item on the same side), seeded:
60% train, 20% validation, 20% held-back test.

Model: L2 logistic regression over :data:`ragline.answer._support_model.FEATURES`,
fitted by Newton's method (deterministic: same seed and data, same file). Thresholds
on the validation split, after the fact rules: ``answer_threshold`` catches the most
hallucinated answers while passing at least 95% of the right ones (the cite stage
should rarely mark a good sentence); ``eval_threshold`` maximises balanced accuracy;
ties go to the lowest threshold. The held-back test numbers go into
the file's metadata.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from ragline.answer._facts import fact_problem, is_content_free
from ragline.answer._support_model import FEATURES, features

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("RAGLINE_DATASETS", ROOT.parent / "shared" / "datasets"))
QA = DATASETS / "halueval" / "generation" / "qa"
OUT = ROOT / "src" / "ragline" / "answer" / "data" / "support-v1.json"


def load(*, keep_content_free: bool = False) -> list[tuple[int, str, str, int]]:
    """``(item, sentence, passage, label)`` rows (content-free answers left out unless
    ``keep_content_free``)."""
    rows = []
    item = 0
    for name in ("qa_one-turn_data.json", "qa_multi-turn_data.json"):
        for line in (QA / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            for label, key in ((1, "right_answer"), (0, "hallucinated_answer")):
                if keep_content_free or not is_content_free(r[key]):
                    rows.append((item, r[key], r["knowledge"], label))
            item += 1
    return rows


def split(items: list[int], *, seed: int) -> np.ndarray:
    """``train`` / ``val`` / ``test`` for each row's item (60/20/20 of the items, seeded)."""
    ids = sorted(set(items))
    rng = np.random.default_rng(seed)
    draw = dict(zip(ids, rng.random(len(ids)), strict=True))
    return np.array(
        ["train" if draw[i] < 0.6 else "val" if draw[i] < 0.8 else "test" for i in items]
    )


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, float]:
    """Newton's method on the L2-penalised log loss (bias not penalised)."""
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    penalty = np.eye(a.shape[1]) * l2
    penalty[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (p - y) + penalty @ w
        hess = (a * (p * (1 - p))[:, None]).T @ a + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w[:-1], float(w[-1])


def auc(scores: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC (ties count half)."""
    pos, neg = scores[y == 1], scores[y == 0]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = load()
    side = split([r[0] for r in rows], seed=args.seed)
    x = np.array([features(s, p) for _, s, p, _ in rows])
    y = np.array([r[3] for r in rows], dtype=float)
    flagged = np.array([fact_problem(s, p) is not None for _, s, p, _ in rows])
    w, b = fit(x[side == "train"], y[side == "train"])
    prob = 1.0 / (1.0 + np.exp(-(x @ w + b)))
    final = np.where(flagged, 0.0, prob)  # a flagged sentence fails at any threshold

    def rates(t: float, part: str) -> tuple[float, float]:
        m = side == part
        passed = float((final[m & (y == 1)] >= t).mean())
        caught = float((final[m & (y == 0)] < t).mean())
        return passed, caught

    grid = np.round(np.linspace(0.02, 0.98, 97), 4)
    # ties go to the lowest (most lenient) threshold
    answer_t = max(
        (t for t in grid if rates(float(t), "val")[0] >= 0.95),
        key=lambda t: (rates(float(t), "val")[1], -t),
    )
    eval_t = max(grid, key=lambda t: (round(sum(rates(float(t), "val")) / 2, 4), -t))
    test = side == "test"
    held: dict[str, float] = {
        "auc_model_only": round(auc(prob[test], y[test]), 4),
        "auc": round(auc(np.where(flagged, prob * 0.44, prob)[test], y[test]), 4),
    }
    for label, t in (("answer", float(answer_t)), ("eval", float(eval_t))):
        passed, caught = rates(t, "test")
        held[f"{label}_faithful_passed"] = round(passed, 4)
        held[f"{label}_hallucinated_caught"] = round(caught, 4)
    out = {
        "name": "facts-v1",
        "features": list(FEATURES),
        "weights": [round(float(v), 6) for v in w],
        "bias": round(b, 6),
        "answer_threshold": float(answer_t),
        "eval_threshold": float(eval_t),
        "metadata": {
            "fitted_by": "python tools/fit_support.py --seed " + str(args.seed),
            "data": "HaluEval generation/qa (one-turn + multi-turn), RUCAIBox/HaluEval "
            "b7253db3cdaa0ab2c382f92b26b390109174f77e",
            "licence": "MIT",
            "split": "by item, seeded: 60% train / 20% validation / 20% held-back test",
            "rows": {part: int((side == part).sum()) for part in ("train", "val", "test")},
            "held_back": held,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
