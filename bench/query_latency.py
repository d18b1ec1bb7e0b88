"""Query latency breakdown at ~5k and 100k chunks (SQLite store, bundled MiniLM).

    python bench/query_latency.py

The 5k store holds SciFact abstracts ingested through ``Project.ingest``. The 100k store
grows it with perturbed copies (words dropped and sentences shuffled; vectors jittered
and re-normalised, so no re-embedding is needed). Each size runs in its own process so
peak memory (VmHWM) is per size. 300 SciFact test queries go through
``Project.ask``; we report P50/P95 per stage. Target: P95 of retrieval excluding query
embedding ≤ 15 ms at 100k chunks.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, WORK, table, write_section

import ragline
from ragline.store import open_store
from ragline.types import Chunk, Document

BASE_CHUNKS = 5000


def build_base(root: Path) -> Path:
    """Ingest SciFact records until the store holds ~5k chunks."""
    base = root / "base"
    if (base / "ragline.db").exists():
        return base
    base.mkdir(parents=True, exist_ok=True)
    corpus = base / "corpus.jsonl"
    with gzip.open(DATASETS / "beir_scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        lines = f.readlines()
    # ~1.6 chunks per abstract at the default chunk size; trim to ~5k chunks after a probe
    with open(corpus, "w", encoding="utf-8") as out:
        out.writelines(lines[:3200])
    with ragline.Project(base) as p:
        p.ingest([corpus], id_field="_id", text_field="text", title_field="title")
        n = p.stats()["chunks"]
        docs = sorted(p.store.list_documents("default"), key=lambda d: d.id)
        while n > BASE_CHUNKS and docs:
            d = docs.pop()
            p.store.delete_document("default", d.id)
            n -= d.chunk_count
    return base


def perturb(text: str, rng: random.Random) -> str:
    sentences = [s for s in text.replace("\n", " ").split(". ") if s]
    rng.shuffle(sentences)
    words = ". ".join(sentences).split()
    return " ".join(w for w in words if rng.random() > 0.1) or text


def build_large(root: Path, base: Path, target: int) -> Path:
    big = root / f"grown-{target}"
    if (big / "ragline.db").exists():
        return big
    big.mkdir(parents=True, exist_ok=True)
    shutil.copy(base / "ragline.db", big / "ragline.db")
    src = open_store("sqlite:///ragline.db", base_dir=str(base))
    dst = open_store("sqlite:///ragline.db", base_dir=str(big))
    docs = src.list_documents("default")
    parts = []
    for d in docs:
        ids = [f"{d.id}#{i}" for i in range(d.chunk_count)]
        parts.append((d, src.get_chunks("default", ids), src.get_embeddings("default", ids)))
    rng = random.Random(7)
    nrng = np.random.default_rng(7)
    n = sum(len(c) for _, c, _ in parts)
    copy = 0
    while n < target:
        copy += 1
        for d, chunks, vecs in parts:
            if n >= target:
                break
            doc_id = f"{d.id}~{copy}"
            new_chunks = [
                Chunk(
                    id=f"{doc_id}#{c.ordinal}",
                    document_id=doc_id,
                    ordinal=c.ordinal,
                    text=perturb(c.text, rng),
                    title=c.title,
                    section_path=c.section_path,
                    language=c.language,
                    doc_type=c.doc_type,
                    source=c.source,
                    content_hash=f"{c.content_hash}~{copy}",
                    metadata=c.metadata,
                )
                for c in chunks
            ]
            noisy = vecs + nrng.normal(0, 0.03, vecs.shape).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            doc = Document(
                id=doc_id,
                source=d.source,
                title=d.title,
                content_hash=f"{d.content_hash}~{copy}",
                language=d.language,
                embedder=d.embedder,
                chunk_count=len(new_chunks),
            )
            dst.upsert_document(doc, new_chunks, noisy)
            n += len(new_chunks)
    src.close()
    dst.close()
    return big


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would carry the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(project_dir: Path) -> dict[str, object]:
    root = DATASETS / "beir_scifact"
    qrels = (root / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
    qids = {line.split()[0] for line in qrels}
    lines = (root / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    all_q = {q["_id"]: q["text"] for q in map(json.loads, lines)}
    queries = [all_q[q] for q in sorted(qids)]
    stages = ["embed_query", "keyword", "dense", "fusion", "answer"]
    samples: dict[str, list[float]] = {s: [] for s in [*stages, "retrieval_excl_embed", "total"]}
    with ragline.Project(project_dir) as p:
        chunks = p.stats()["chunks"]
        for q in queries[:20]:  # warm-up: model, caches, matrix load
            p.ask(q)
        for q in queries:
            a = p.ask(q)
            t = a.timings_ms
            for s in stages:
                samples[s].append(t.get(s, 0.0))
            samples["retrieval_excl_embed"].append(t["retrieval"] - t.get("embed_query", 0.0))
            samples["total"].append(t["total"])
    peak_mb = peak_rss_mb()
    pct = {
        s: (float(np.percentile(v, 50)), float(np.percentile(v, 95))) for s, v in samples.items()
    }
    return {"chunks": chunks, "queries": len(queries), "pct": pct, "peak_mb": peak_mb}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--target", type=int, default=100_000)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if not (DATASETS / "beir_scifact").exists():
        sys.exit("../shared/datasets/beir_scifact is absent; nothing to measure")
    root = WORK / "latency"
    load = os.getloadavg()
    t = time.perf_counter()
    base = build_base(root)
    big = build_large(root, base, args.target)
    print(f"stores ready in {time.perf_counter() - t:.0f}s")
    results = []
    for d in (base, big):
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(d)], capture_output=True, text=True
        )
        if out.returncode:
            sys.exit(out.stderr)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = []
    for stage in [
        "embed_query",
        "keyword",
        "dense",
        "fusion",
        "retrieval_excl_embed",
        "answer",
        "total",
    ]:
        row: list[object] = [stage]
        for r in results:
            p50, p95 = r["pct"][stage]  # type: ignore[index]
            row += [f"{p50:.2f}", f"{p95:.2f}"]
        rows.append(row)
    headers = ["stage (ms)"]
    for r in results:
        headers += [f"P50 @{r['chunks']}", f"P95 @{r['chunks']}"]
    body = (
        f"{results[0]['queries']} SciFact test queries through `Project.ask` (hybrid RRF, "
        "extractive answer), SQLite store, bundled MiniLM; `retrieval_excl_embed` = keyword + "
        "dense + fusion + glue.\n\n"
        + table(headers, rows)
        + "\n\nPeak memory (VmHWM of the measuring process, incl. the model): "
        + ", ".join(f"{r['peak_mb']:.0f} MiB @{r['chunks']} chunks" for r in results)
        + "\n\nTarget: P95 retrieval excluding query embedding ≤ 15 ms at 100k chunks.\n"
        + f"\nLoad average (1 min) of the shared machine before / after: {load[0]:.1f} / "
        f"{os.getloadavg()[0]:.1f} (other jobs slow every stage when it is above ~1).\n"
    )
    print(body)
    write_section("query-latency", "Query latency breakdown", body)


if __name__ == "__main__":
    main()
