"""BM25 top-k on the SQLite store's in-memory index: exhaustive vs MaxScore-style pruning.

    python bench/bm25_pruning.py [--chunks 100000] [--queries 200] [--k 10]

Chunks of 6 random SciFact sentences (~800 characters, ragline's own tokenizer: stemmed,
no stopwords), turned into the store's term-count blobs and one ``BM25Index``. Two query
sets: SciFact claims, and *common-term* queries (2-4 terms drawn from the 60 terms with
the most postings: the long tail of the exhaustive scorer). Each query runs both ways,
interleaved, and the results are checked identical (rows, scores, order).
*exhaustive* is the scorer before pruning (score every posting, then top-k); *pruned* is
``BM25Index.top`` (the share of queries it answered without reading the common terms'
postings is shown). Memory is the index's arrays per chunk (pruning adds none).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, table, write_section

from ragline._text import tokenize
from ragline.store._common import top_k
from ragline.store.sqlite._bm25 import BM25Index, encode_terms


def exhaustive(index: BM25Index, terms: list[int], k: int) -> tuple[list[int], list[float]]:
    scores = index.scores(terms)  # what SQLiteStore.keyword_search did before pruning
    candidates = np.flatnonzero(scores > 0)
    best = candidates[top_k(scores[candidates], k)]
    return best.tolist(), scores[best].tolist()


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    src = DATASETS / "beir_scifact"
    if not (src / "corpus.jsonl.gz").exists():
        sys.exit(f"{src} is absent; nothing to measure")
    with gzip.open(src / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    sents = [s for t in texts for s in re.split(r"(?<=[.!?])\s+", t) if len(s) > 30]
    vocab: dict[str, int] = {}
    sent_terms = [[vocab.setdefault(w, len(vocab)) for w in tokenize(s)] for s in sents]
    rng = random.Random(0)
    started = time.perf_counter()
    blobs = []
    for _ in range(args.chunks):
        counts: Counter[int] = Counter()
        for i in rng.sample(range(len(sent_terms)), 6):
            counts.update(sent_terms[i])
        blobs.append(encode_terms(counts.items()))
    index = BM25Index(blobs)
    build_s = time.perf_counter() - started
    base_bytes = index.nbytes()
    df = np.diff(index._offsets)
    common = [int(t) for t in np.argsort(-df)[:60]]
    with open(src / "queries.jsonl", encoding="utf-8") as f:
        claims = [json.loads(line)["text"] for line in f]
    qsets = {
        "SciFact claims": [
            [vocab[w] for w in set(tokenize(q)) if w in vocab]
            for q in rng.sample(claims, min(args.queries, len(claims)))
        ],
        "common terms (2-4 of the 60 most frequent)": [
            rng.sample(common, rng.randint(2, 4)) for _ in range(args.queries)
        ],
    }
    rows = []
    for label, queries in qsets.items():
        times: dict[str, list[float]] = {"exhaustive": [], "pruned": []}
        for terms in queries:
            t = time.perf_counter()
            want = exhaustive(index, terms, args.k)
            times["exhaustive"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            got_rows, got_scores = index.top(terms, args.k)
            times["pruned"].append((time.perf_counter() - t) * 1000)
            assert (got_rows.tolist(), got_scores.tolist()) == want, terms
        postings = np.mean([sum(int(df[t]) for t in q) for q in queries])
        found = [{t: index._postings(t) for t in sorted(set(q)) if df[t]} for q in queries]
        share = np.mean([index._top_pruned(f, args.k, None) is not None for f in found])  # type: ignore[arg-type]
        for name, values in times.items():
            rows.append(
                [label, name, f"{postings:,.0f}", f"{pct(values, 50):.2f}",
                 f"{pct(values, 95):.2f}", f"{share:.0%}" if name == "pruned" else ""]
            )  # fmt: skip
        print(rows[-2], rows[-1], sep="\n")
    n = args.chunks
    body = (
        f"{n:,} chunks ({index._rows.shape[0] / n:.0f} postings per chunk, "
        f"{len(vocab):,} terms; index built in {build_s:.1f} s), k = {args.k}, "
        f"{args.queries} queries per set; every pruned result checked identical to the "
        "exhaustive one.\n\n"
        + table(["queries", "scorer", "postings/query", "P50 ms", "P95 ms", "pruned queries"], rows)
        + f"\n\nMemory: {base_bytes / n:.0f} bytes per chunk for the postings "
        "(6 bytes each), norms and offsets; the pruning keeps nothing more.\n"
    )
    write_section(f"bm25-pruning-{n}", f"BM25 top-k pruning — {n:,} chunks", body)


if __name__ == "__main__":
    main()
