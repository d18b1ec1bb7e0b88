"""Retrieval quality on BEIR SciFact: BM25-only, dense-only and hybrid, vs published anchors.

    python bench/beir_scifact.py            # full corpus (5,183 docs), 300 test queries
    python bench/beir_scifact.py --subset   # the small consistent subset (not comparable)

The corpus is ingested through ``ragline.Project`` (JSONL with ``_id``), so this also
exercises the real ingest path; re-runs reuse the store (incremental ingest).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, WORK, table, write_section

import ragline

ANCHORS = {
    "BM25 (BEIR paper)": 0.665,
    "BM25 (bm25s)": 0.687,
    "all-MiniLM-L6-v2 dense": 0.645,
    "BM25 + cross-encoder": 0.688,
}


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    got = {d for d in ranked[:k] if relevant.get(d, 0) > 0}
    return len(got) / sum(1 for r in relevant.values() if r > 0)


def load(subset: bool) -> tuple[Path, dict[str, str], dict[str, dict[str, int]]]:
    root = DATASETS / "beir_scifact"
    if not root.exists():
        sys.exit(f"dataset folder {root} is absent; nothing to measure")
    base = root / "subset_test" if subset else root
    WORK.mkdir(parents=True, exist_ok=True)
    corpus = WORK / ("scifact-subset.jsonl" if subset else "scifact-corpus.jsonl")
    if not corpus.exists():
        if subset:
            shutil.copy(base / "corpus.jsonl", corpus)
        else:
            with gzip.open(base / "corpus.jsonl.gz", "rb") as src, open(corpus, "wb") as dst:
                shutil.copyfileobj(src, dst)
    lines = (base / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    queries = {q["_id"]: q["text"] for q in map(json.loads, lines)}
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (base / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, did, score = line.split()
        qrels[qid][did] = int(score)
    return corpus, {q: queries[q] for q in qrels}, dict(qrels)


def run(
    project: ragline.Project,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    mode: str,
    depth: int,
) -> tuple[float, float]:
    nd, rc = [], []
    for qid, text in queries.items():
        hits = project.search(text, k=depth, mode=mode)
        ranked: list[str] = []
        for h in hits:  # chunk hits -> document ranking (first = best chunk)
            if h.chunk.document_id not in ranked:
                ranked.append(h.chunk.document_id)
        nd.append(ndcg_at(ranked, qrels[qid], 10))
        rc.append(recall_at(ranked, qrels[qid], 100))
    return sum(nd) / len(nd), sum(rc) / len(rc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subset", action="store_true")
    ap.add_argument("--embedder", default="minilm")
    args = ap.parse_args()
    corpus, queries, qrels = load(args.subset)
    proj_dir = (
        WORK / f"scifact-{'subset' if args.subset else 'full'}-{args.embedder.replace(':', '_')}"
    )
    proj_dir.mkdir(parents=True, exist_ok=True)
    depth = 300
    base = {"embedder": args.embedder, "retrieval.candidates": depth, "retrieval.k": depth}
    with ragline.Project(proj_dir, overrides=base) as p:
        t = time.perf_counter()
        report = p.ingest([corpus], id_field="_id", text_field="text", title_field="title")
        print(f"ingest: {report.totals()} in {time.perf_counter() - t:.1f}s; {p.stats()}")
    configs = [
        ("BM25 only", "keyword", {}),
        ("dense only (bundled MiniLM)", "dense", {}),
        ("hybrid, RRF (default)", "hybrid", {"retrieval.fusion": "rrf"}),
        ("hybrid, weighted 0.5/0.5", "hybrid", {"retrieval.fusion": "weighted"}),
        (
            "hybrid, weighted 0.3/0.7",
            "hybrid",
            {
                "retrieval.fusion": "weighted",
                "retrieval.keyword_weight": 0.3,
                "retrieval.dense_weight": 0.7,
            },
        ),
    ]
    rows = []
    for label, mode, extra in configs:
        with ragline.Project(proj_dir, overrides={**base, **extra}) as p:
            t = time.perf_counter()
            nd, rc = run(p, queries, qrels, mode, depth)
            ms = (time.perf_counter() - t) * 1000 / len(queries)
        print(f"{label:32s} nDCG@10 {nd:.3f}  recall@100 {rc:.3f}  ({ms:.0f} ms/query)")
        rows.append([label, nd, rc])
    rows += [[f"*published: {k}*", v, "—"] for k, v in ANCHORS.items()]
    n_docs = len(corpus.read_text(encoding="utf-8").splitlines())
    body = (
        f"{'Subset' if args.subset else 'Full corpus'}: {n_docs} documents, {len(queries)} test "
        f"queries, document score = its best chunk. Embedder `{args.embedder}`.\n\n"
        + table(["retrieval", "nDCG@10", "recall@100"], rows)
    )
    name = "beir-scifact" + ("-subset" if args.subset else "")
    write_section(
        name, f"Retrieval quality — BEIR SciFact{' (subset)' if args.subset else ''}", body
    )


if __name__ == "__main__":
    main()
