"""Reranking on BEIR SciFact: nDCG@10 with an offline reranker off and on, and its cost.

    python bench/rerank_scifact.py              # full corpus (ingests it first: slow)
    python bench/rerank_scifact.py --partial    # only the documents already ingested in
                                                # bench/_work/scifact-full-minilm, and the
                                                # queries whose relevant documents all are

The offline reranker measured is the candidate built-in ``best-sentence``
(``bench/_best_sentence.py``: each candidate's best stored sentence vector, fused by
reciprocal rank with its retrieval rank), plugged into the tenant's pipeline here; it
is not a ``retrieval.reranker`` option because it did not help. Same project and
retrieval as ``bench/beir_scifact.py`` (hybrid RRF, 300 candidates
per retriever, MiniLM, document score = its best chunk). Each reranker reorders the
top ``--candidates`` fused hits; the rest follow in fused order. Cost is the rerank
stage's own time per query (``timings_ms["rerank"]``), P50/P95, on this machine.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _best_sentence import SentenceReranker
from _results import WORK, table, write_section
from beir_scifact import load, ndcg_at, recall_at

import ragline

RERANKERS = ["none", "best-sentence"]


def ingested(proj_dir: Path) -> set[str]:
    db = proj_dir / "ragline.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as c:
        return {r[0] for r in c.execute("SELECT id FROM documents")}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partial", action="store_true")
    ap.add_argument("--candidates", type=int, default=20)
    ap.add_argument("--limit", type=int, default=0, help="at most this many queries")
    args = ap.parse_args()
    corpus, queries, qrels = load(False)
    proj_dir = WORK / "scifact-full-minilm"
    proj_dir.mkdir(parents=True, exist_ok=True)
    depth = 100
    base = {"embedder": "minilm", "retrieval.candidates": 300, "retrieval.k": depth}
    if args.partial:
        docs = ingested(proj_dir)
        queries = {q: t for q, t in queries.items() if set(qrels[q]) <= docs}
        scope = (
            f"**Partial corpus**: the {len(docs)} documents ingested so far (of 5,183) and "
            f"the {len(queries)} test queries whose relevant documents are all among them — "
            "fewer distractors than the full corpus, so not comparable with the full-corpus "
            "0.717."
        )
    else:
        with ragline.Project(proj_dir, overrides=base) as p:
            p.ingest([corpus], id_field="_id", text_field="text", title_field="title")
        scope = f"Full corpus: 5,183 documents, {len(queries)} test queries."
    if args.limit:
        queries = dict(list(queries.items())[: args.limit])
    rows = []
    ndcg_by: dict[str, list[float]] = {}
    for spec in RERANKERS:
        settings = {
            **base,
            # any reranker spec makes the pipeline rerank; the bench then plugs its own in
            "retrieval.reranker": "none" if spec == "none" else "http:http://127.0.0.1:9/x",
            "retrieval.rerank_candidates": args.candidates,
            "tracing.enabled": False,
        }
        nd, rc, cost = [], [], []
        with ragline.Project(proj_dir, overrides=settings) as p:
            if spec == "best-sentence":
                view = p.parts.view()
                view._reranker = SentenceReranker(p.embedder, p.parts.backend.sentences)
                view._pipeline = None
            t = time.perf_counter()
            for qid, text in queries.items():
                result = p.retrieve(text, k=depth)
                ranked: list[str] = []
                for h in result.hits:
                    if h.chunk.document_id not in ranked:
                        ranked.append(h.chunk.document_id)
                nd.append(ndcg_at(ranked, qrels[qid], 10))
                rc.append(recall_at(ranked, qrels[qid], 100))
                if "rerank" in result.timings_ms:
                    cost.append(result.timings_ms["rerank"])
            ms = (time.perf_counter() - t) * 1000 / len(queries)
        ndcg_by[spec] = nd
        p50 = f"{percentile(cost, 0.5):.1f}" if cost else "—"
        p95 = f"{percentile(cost, 0.95):.1f}" if cost else "—"
        print(
            f"{spec:14s} nDCG@10 {statistics.mean(nd):.3f}  recall@100 {statistics.mean(rc):.3f}"
            f"  rerank P50 {p50} ms P95 {p95} ms  ({ms:.0f} ms/query)"
        )
        rows.append([spec, statistics.mean(nd), statistics.mean(rc), p50, p95])
    wins = sum(b > a for a, b in zip(ndcg_by["none"], ndcg_by["best-sentence"], strict=True))
    losses = sum(b < a for a, b in zip(ndcg_by["none"], ndcg_by["best-sentence"], strict=True))
    body = (
        f"{scope} Hybrid RRF, MiniLM, document score = its best chunk; the reranker reorders "
        f"the top {args.candidates} fused hits. *rerank P50/P95*: the rerank stage's time per "
        "query (ms) on a shared 2-core CPU. best-sentence vs off, per query: "
        f"{wins} better, {losses} worse, {len(queries) - wins - losses} unchanged.\n\n"
        + table(["reranker", "nDCG@10", "recall@100", "rerank P50 ms", "rerank P95 ms"], rows)
    )
    write_section(
        "rerank-scifact" + ("-partial" if args.partial else ""),
        "Reranking — BEIR SciFact" + (" (partial corpus)" if args.partial else ""),
        body,
    )


if __name__ == "__main__":
    main()
