"""Prompt-injection detection on the held-back test split: the packaged classifier
(``ragline.guards._classifier``) next to a trivial keyword baseline, same texts, same run.

    python bench/guards_injection.py              # writes its section of bench/RESULTS.md
    python bench/guards_injection.py --no-write   # print only
    python bench/guards_injection.py --no-write --show 20   # and the worst errors

Data and split: ``tools/train_injection.py`` (its docstring lists which sources are
held out whole for test and which are split at random). Questions and prompts are
scored as questions (windows only, the question thresholds); the BIPIA documents as
documents (``documents=True``: windows and sentences, the document thresholds) — the
guard knows which it is judging. Reported:

- test split: ROC AUC; recall at the shipped thresholds (calibrated on the validation
  split for FPR 1% and 5%) with the FPR those thresholds give on the test negatives;
  and recall at a test FPR of 1% / 5% (the ROC point, threshold picked on the test
  negatives — for comparison only, not how the guard runs);
- FPR at the shipped thresholds per benign source: NotInject_three, XSTest safe (test
  part), SciFact queries, ClapNQ questions, XQuAD questions (test part), BIPIA clean
  documents; recall per attack source;
- how often the harmful-request sets that are in neither class are flagged;
- latency per text (embedding + features + classifier, one text per call, ONNX MiniLM,
  2 threads): P50 / P95 over questions, long prompts, BIPIA documents and 1,000-character
  document chunks (scored as documents, the cost per chunk at ingest).

Skipped (exit 0) when ../shared/datasets is absent.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import DATASETS, captured, table, write_section

from ragline.embed import MiniLMEmbedder
from ragline.guards._classifier import InjectionClassifier
from ragline.guards._injection import injection_scan

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "_train_injection", ROOT / "tools" / "train_injection.py"
)
assert _spec and _spec.loader
train = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = train
_spec.loader.exec_module(train)

#: the trivial baseline: a text is flagged when it contains any of these
KEYWORDS = re.compile(
    r"ignore (?:all |the )?(?:previous|prior|above)|disregard|system prompt|jailbreak"
    r"|\bDAN\b|developer mode|do anything now|pretend|you are now|no restrictions"
    r"|without (?:any )?(?:restrictions|filters)|reveal your|your instructions",
    re.IGNORECASE,
)

BENIGN_REPORTED = [
    ("NotInject_three (whole file)", "notinject/three"),
    ("XSTest safe (test part)", "xstest/safe"),
    ("SciFact queries", "scifact/queries"),
    ("ClapNQ questions", "clapnq/questions"),
    ("XQuAD questions (test part)", "xquad/questions"),
    ("FinanceBench questions", "financebench/questions"),
    ("InjecGuard valid.json benign", "injecguard/valid_benign"),
    ("BIPIA clean documents", "bipia/clean_test"),
]
QUESTIONS = {"scifact/queries", "clapnq/questions", "xquad/questions"}


def show_errors(examples: list, scores: np.ndarray, t: np.ndarray, n: int) -> None:
    """The n benign texts furthest over their 1% threshold and the n attacks furthest
    under it."""
    margin = scores - t
    order = np.argsort(-margin, kind="mergesort")
    print(f"\n# the {n} worst false positives (margin over the 1% threshold)")
    for i in [i for i in order if examples[i].label == 0][:n]:
        print(f"{margin[i]:+.3f} {examples[i].source:28} {examples[i].text[:150]!r}")
    print(f"\n# the {n} worst misses (margin under the 1% threshold)")
    for i in [i for i in order[::-1] if examples[i].label == 1][:n]:
        e = examples[i]
        print(f"{margin[i]:+.3f} {e.source:28} {(e.attack or e.text)[:150]!r}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--latency-n", type=int, default=300)
    ap.add_argument("--show", type=int, default=0, help="print the N worst errors each way")
    args = ap.parse_args()
    if not DATASETS.is_dir():
        print(f"skipped: {DATASETS} not found")
        return 0
    clf = InjectionClassifier.load()
    emb = MiniLMEmbedder(backend="onnx", threads=2)
    cached = train.CachedEmbedder(emb, train.CACHE)
    examples = [e for e in train.load_examples(DATASETS) if e.split == "test"]
    texts = [e.text for e in examples]
    labels = np.array([e.label for e in examples])
    sources = np.array([e.source for e in examples])
    docs = np.array([train.is_document(e) for e in examples], dtype=bool)

    def score_all(items: list[str], as_doc: np.ndarray) -> np.ndarray:
        out = np.zeros(len(items))
        for flag in (False, True):
            idx = np.where(as_doc == flag)[0]
            if len(idx):
                out[idx] = clf.scores([items[i] for i in idx], cached, documents=flag)
        return out

    with captured() as out:
        t0 = time.perf_counter()
        scores = score_all(texts, docs)
        kw = np.array([len(KEYWORDS.findall(t)) for t in texts], dtype=np.float64)
        heur = np.array([injection_scan(t)[0] for t in texts])  # the default guard's score
        print(
            f"# test split: {len(texts)} texts, {int(labels.sum())} injections, "
            f"{int((labels == 0).sum())} benign ({time.perf_counter() - t0:.0f}s to score)"
        )
        t1 = np.where(docs, clf.threshold(0.01, documents=True), clf.threshold(0.01))
        t5 = np.where(docs, clf.threshold(0.05, documents=True), clf.threshold(0.05))
        print(
            f"# shipped thresholds (validation FPR 1% / 5%): questions "
            f"{clf.threshold(0.01):.4f} / {clf.threshold(0.05):.4f}, documents "
            f"{clf.threshold(0.01, documents=True):.4f} / "
            f"{clf.threshold(0.05, documents=True):.4f}\n"
        )

        def rate(mask: np.ndarray, s: np.ndarray, t: float | np.ndarray) -> float:
            flags = s >= t
            return float(np.mean(flags[mask])) if mask.any() else float("nan")

        pos, neg = labels == 1, labels == 0
        # the guard with classifier: true — questions by either, documents by the heuristic
        either = ((heur >= 0.5) | (~docs & (scores >= clf.threshold(0.01)))).astype(np.float64)
        qmask = np.isin(sources, list(QUESTIONS))
        rows = [
            [
                "classifier @ validation-FPR-1% threshold",
                train.roc_auc(scores, labels),
                rate(pos, scores, t1),
                rate(neg, scores, t1),
                rate(qmask, scores, t1),
            ],
            [
                "classifier @ validation-FPR-5% threshold",
                train.roc_auc(scores, labels),
                rate(pos, scores, t5),
                rate(neg, scores, t5),
                rate(qmask, scores, t5),
            ],
            [
                "heuristic guard alone (the default, threshold 0.5)",
                train.roc_auc(heur, labels),
                rate(pos, heur, 0.5),
                rate(neg, heur, 0.5),
                rate(qmask, heur, 0.5),
            ],
            [
                "guard, classifier: true (questions: heuristic or classifier @1%; docs: heuristic)",
                float("nan"),
                rate(pos, either, 1),
                rate(neg, either, 1),
                rate(qmask, either, 1),
            ],
            [
                "keyword baseline (any hit)",
                train.roc_auc(kw, labels),
                rate(pos, kw, 1),
                rate(neg, kw, 1),
                rate(qmask, kw, 1),
            ],
        ]
        direct_neg = neg & (sources != "bipia/clean_test")
        is_bipia = np.char.startswith(sources.astype(str), "bipia/")
        direct = (pos & ~is_bipia) | direct_neg
        srows = []
        for name, m in (
            (
                "typed (direct): jailbreaks, extraction, TAP, InjecGuard vs non-document benign",
                direct,
            ),
            ("planted (indirect): BIPIA poisoned vs clean documents", is_bipia),
        ):
            srows.append(
                [
                    name,
                    int((m & pos).sum()),
                    int((m & neg).sum()),
                    train.roc_auc(scores[m], labels[m]),
                    rate(m & pos, scores, t1),
                    rate(m & neg, scores, t1),
                    rate(m & pos, scores, t5),
                    rate(m & neg, scores, t5),
                ]
            )
        print(
            table(
                [
                    "subset",
                    "attacks",
                    "benign",
                    "ROC AUC",
                    "recall @1%",
                    "FPR @1%",
                    "recall @5%",
                    "FPR @5%",
                ],
                srows,
            )
        )
        print()
        print(
            table(
                [
                    "detector",
                    "ROC AUC",
                    "recall",
                    "FPR (all test benign)",
                    "FPR (SciFact+ClapNQ+XQuAD questions)",
                ],
                rows,
            )
        )
        print()
        print(
            table(
                [
                    "ROC point on the test split (threshold picked on test negatives)",
                    "recall @ FPR 1%",
                    "recall @ FPR 5%",
                ],
                [
                    [
                        "classifier",
                        train.recall_at_fpr(scores, labels, 0.01),
                        train.recall_at_fpr(scores, labels, 0.05),
                    ],
                    [
                        "keyword baseline",
                        train.recall_at_fpr(kw, labels, 0.01),
                        train.recall_at_fpr(kw, labels, 0.05),
                    ],
                ],
            )
        )
        print()
        brows = []
        for name, src in BENIGN_REPORTED:
            m = sources == src
            brows.append(
                [name, int(m.sum()), rate(m, scores, t1), rate(m, scores, t5), rate(m, kw, 1)]
            )
        print(
            table(
                ["benign source (FPR)", "n", "classifier @1%", "classifier @5%", "keywords"], brows
            )
        )
        print()
        prows = []
        for src in sorted(set(sources[pos])):
            m = sources == src
            prows.append(
                [src, int(m.sum()), rate(m, scores, t1), rate(m, scores, t5), rate(m, kw, 1)]
            )
        print(
            table(
                ["attack source (recall)", "n", "classifier @1%", "classifier @5%", "keywords"],
                prows,
            )
        )
        print()
        excl = train.load_excluded(DATASETS)
        erows = []
        for name, items in excl.items():
            s = clf.scores(items, cached)
            k = np.array([len(KEYWORDS.findall(t)) for t in items])
            erows.append(
                [
                    name,
                    len(items),
                    float(np.mean(s >= clf.threshold(0.01))),
                    float(np.mean(s >= clf.threshold(0.05))),
                    float(np.mean(k >= 1)),
                ]
            )
        print("Harmful requests that are not injections (in neither class; flag rate, info):\n")
        print(table(["set", "n", "classifier @1%", "classifier @5%", "keywords"], erows))
        print()

        # latency: one text per call, uncached embedder, as a guard would run it
        rng = np.random.default_rng(0)
        short = [t for t, s in zip(texts, sources, strict=True) if s in QUESTIONS]
        long = [t for t, d in zip(texts, docs, strict=True) if len(t) > 1000 and not d]
        doc_texts = [t for t, d in zip(texts, docs, strict=True) if d]
        chunks = [t[:1000] for t in doc_texts if len(t) >= 1000]
        lrows = []
        emb.embed_query("warm up")
        for name, pool, as_doc in (
            ("questions", short, False),
            ("long prompts (> 1,000 chars), as questions", long, False),
            ("BIPIA documents, as documents", doc_texts, True),
            ("1,000-char document chunks, as documents", chunks, True),
            ("the same chunks, embedded once (what ingest pays per chunk)", chunks, None),
        ):
            pick = [
                pool[i]
                for i in rng.choice(len(pool), min(args.latency_n, len(pool)), replace=False)
            ]
            ms = []
            for t in pick:
                t0 = time.perf_counter()
                if as_doc is None:
                    emb.embed_documents([t])
                else:
                    clf.scores([t], emb, documents=as_doc)
                ms.append((time.perf_counter() - t0) * 1000)
            lrows.append(
                [name, len(pick), float(np.percentile(ms, 50)), float(np.percentile(ms, 95))]
            )
        print(
            "Latency per text (ms; MiniLM ONNX int8, 2 threads, embedding + features + "
            "classifier):\n"
        )
        print(table(["texts", "n", "P50 ms", "P95 ms"], lrows))
        print()
        print(
            "Before (injection-v1: one logistic regression over windows and 200-character "
            "segments, no n-grams or document context; same test split, one threshold for "
            "every text; from the previous run of this script):\n"
        )
        print(
            table(
                ["subset (v1)", "ROC AUC", "recall @1%", "FPR @1%", "recall @5%", "FPR @5%"],
                [
                    ["typed (direct)", 0.918, 0.791, 0.010, 0.829, 0.026],
                    ["planted (indirect), BIPIA", 0.621, 0.292, 0.205, 0.568, 0.335],
                    ["all test texts", 0.911, 0.485, 0.025, 0.669, 0.050],
                ],
            )
        )
        print()
        print(
            "Public detectors: `llm-guard` is on PyPI, but its PromptInjection scanner "
            "downloads a Hugging Face model (protectai/deberta-v3-base-prompt-injection) at "
            "first use, so it does not run offline here; it was not installed or run. "
            "The keyword row stands in for a lexical-only layer."
        )
    if args.show:
        show_errors(examples, scores, t1, args.show)
    if not args.no_write:
        write_section(
            "guards-injection",
            "Prompt-injection classifier — held-back test split",
            "```text\n" + out.getvalue().strip() + "\n```",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
