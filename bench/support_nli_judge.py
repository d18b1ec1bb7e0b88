"""Support checkers on HaluEval QA: the built-in scorer, the LLM judge (bundled local
model) and the NLI checker (a local model folder, when given), side by side.

    python bench/support_nli_judge.py                         # 60 questions, 120 items
    python bench/support_nli_judge.py --n 200 --nli-model-dir models/nli-deberta

Data: ``../shared/datasets/halueval/generation/qa/qa_one-turn_data.json`` (MIT; 500
HotpotQA-seeded questions, each with its Wikipedia knowledge, the right answer and a
hallucinated one). Each question gives two items, premise = the knowledge, claim =
``The answer to "<question>" is <answer>.``: the right answer should be supported, the
hallucinated one not. The first ``--n`` questions are used (the file's order; no
shuffling, so runs compare).

Reported per checker: ROC AUC of its score (the judge has no score: its verdict, 1 or 0,
so its AUC is its balanced accuracy), balanced accuracy at its default threshold, the
share of hallucinated answers caught and of right answers passed, typed failures
(a judge that times out or answers garbage: counted, never NaN) and the cost per item,
P50/P95, on this machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, table, write_section

from ragline.evals._metrics._support import SupportChecker, SupportItem

QA = DATASETS / "halueval" / "generation" / "qa" / "qa_one-turn_data.json"


def load(n: int) -> tuple[list[SupportItem], list[int]]:
    items: list[SupportItem] = []
    labels: list[int] = []  # 1: supported (the right answer)
    with QA.open(encoding="utf-8") as f:
        for line in f:
            if len(labels) >= 2 * n:
                break
            row = json.loads(line)
            q = row["question"].strip()
            for answer, label in ((row["right_answer"], 1), (row["hallucinated_answer"], 0)):
                items.append(
                    (f'The answer to "{q}" is {answer.strip().rstrip(".")}.', [row["knowledge"]])
                )
                labels.append(label)
    return items, labels


def roc_auc(scores: list[float], labels: list[int]) -> float:
    """P(a supported item outscores an unsupported one), ties counted half."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    name: str, checker: SupportChecker, items: list[SupportItem], labels: list[int]
) -> list[object]:
    verdicts, costs = [], []
    for item in items:  # one at a time: the cost per item is the point
        t0 = time.perf_counter()
        (v,) = checker.check([item])
        costs.append((time.perf_counter() - t0) * 1000)
        verdicts.append(v)
    scores = [v.score if v.score is not None else float(v.supported) for v in verdicts]
    caught = statistics.mean(
        not v.supported for v, y in zip(verdicts, labels, strict=True) if not y
    )
    passed = statistics.mean(v.supported for v, y in zip(verdicts, labels, strict=True) if y)
    failures = getattr(checker, "failures", {})
    failed = sum(failures.values()) if failures else 0
    row: list[object] = [
        name,
        roc_auc(scores, labels),
        (caught + passed) / 2,
        f"{caught:.0%}",
        f"{passed:.0%}",
        failed,
        f"{percentile(costs, 0.5):.1f}",
        f"{percentile(costs, 0.95):.1f}",
    ]
    print(" | ".join(str(c) for c in row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60, help="questions (2 items each)")
    ap.add_argument("--nli-model-dir", type=Path, help="an NLI model folder (see NLISupport)")
    ap.add_argument("--no-judge", action="store_true", help="skip the local-model judge")
    ap.add_argument("--timeout-s", type=float, default=30.0, help="per judge call")
    args = ap.parse_args()
    if not QA.exists():
        sys.exit(f"{QA} is missing: this benchmark needs ../shared/datasets/halueval")
    items, labels = load(args.n)
    print(
        f"HaluEval QA, {len(labels)} items "
        f"({sum(labels)} right, {len(labels) - sum(labels)} hallucinated)"
    )

    from ragline.evals import JudgeSupport, NLISupport, ScorerSupport

    rows = [measure("scorer (built-in, lexical)", ScorerSupport(), items, labels)]
    notes = []
    try:
        from ragline.embed import make_embedder

        embedder = make_embedder("minilm")
        rows.append(measure("scorer (lexical + MiniLM)", ScorerSupport(embedder), items, labels))
    except Exception as e:
        notes.append(f"scorer + MiniLM not run: {e}")
    if args.nli_model_dir is not None:
        rows.append(
            measure(
                f"nli ({args.nli_model_dir.name})", NLISupport(args.nli_model_dir), items, labels
            )
        )
    else:
        notes.append(
            "nli not run: no NLI model is installed offline here (none ships on PyPI in "
            "this environment); pass --nli-model-dir <folder> with model.onnx, "
            "tokenizer.json and config.json to add the row"
        )
    if not args.no_judge:
        try:
            from ragline.config import ModelSettings
            from ragline.models._local import LocalModel

            model = LocalModel(settings=ModelSettings(threads=2, context_window=2048))
            judge = JudgeSupport(model, timeout_s=args.timeout_s, on_failure="unsupported")
            rows.append(measure("judge (local Gemma 3 270M base, schema)", judge, items, labels))
            if judge.failures:
                notes.append(f"judge failures by reason: {dict(judge.failures)}")
        except Exception as e:
            notes.append(f"judge not run: {e}")
    headers = [
        "checker",
        "ROC AUC",
        "bal. acc.",
        "halluc. caught",
        "right passed",
        "failures",
        "P50 ms/item",
        "P95 ms/item",
    ]
    body = (
        f"HaluEval QA (`generation/qa/qa_one-turn_data.json`, MIT), the first {args.n} "
        f"questions: {len(labels)} items, half right answers, half hallucinated. Claim = "
        '`The answer to "<question>" is <answer>.`, passage = the question\'s knowledge. '
        "Default thresholds; the judge's AUC is computed on its verdict (0/1). Cost is "
        "one item per call, on this machine (2 shared cores).\n\n"
        + table(headers, rows)
        + ("\n\n" + "\n".join(f"- {n}" for n in notes) if notes else "")
    )
    print(body)
    write_section("support_nli_judge", "Support checkers: NLI and LLM judge on HaluEval QA", body)


if __name__ == "__main__":
    main()
