"""Ingestion throughput vs the raw embedder on the same texts, and re-ingest speed.

    python bench/ingest_throughput.py [--docs N]

1. Ingest SciFact (JSONL) into a fresh SQLite project: chunks/s end to end.
2. Embed the very same chunk texts with the same embedder instance: chunks/s.
3. Re-ingest the unchanged corpus: time vs the first ingest.
Target: ingest ≥ 0.85× the raw embedder; re-ingest ≥ 50× faster than the first.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, WORK, table, write_section

import ragline


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=0, help="only the first N documents (0 = all)")
    ap.add_argument("--embedder", default="minilm")
    args = ap.parse_args()
    src = DATASETS / "beir_scifact" / "corpus.jsonl.gz"
    if not src.exists():
        sys.exit(f"{src} is absent; nothing to measure")
    work = WORK / "ingest-throughput"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    corpus = work / "corpus.jsonl"
    with gzip.open(src, "rt", encoding="utf-8") as f, open(corpus, "w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if args.docs and i >= args.docs:
                break
            out.write(line)

    project = ragline.Project(work, overrides={"embedder": args.embedder})
    embedder = project.embedder
    embedder.embed_documents(["warm up the model"] * 8)

    t = time.perf_counter()
    first = project.ingest([corpus], id_field="_id", text_field="text", title_field="title")
    t_first = time.perf_counter() - t
    n_chunks = first.chunks_embedded

    texts: list[str] = []
    for doc in project.store.list_documents("default"):
        ids = [f"{doc.id}#{i}" for i in range(doc.chunk_count)]
        texts += [c.indexed_text for c in project.store.get_chunks("default", ids)]
    assert len(texts) == n_chunks, (len(texts), n_chunks)
    batch = project.settings.ingest.batch_size
    t = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed_documents(texts[i : i + batch])
    t_raw = time.perf_counter() - t

    t = time.perf_counter()
    again = project.ingest([corpus], id_field="_id", text_field="text", title_field="title")
    t_again = time.perf_counter() - t
    project.close()
    assert again.chunks_embedded == 0, "re-ingest of an unchanged corpus embedded chunks"

    ingest_rate, raw_rate = n_chunks / t_first, n_chunks / t_raw
    rows = [
        [
            "first ingest (load, chunk, detect language, embed, store)",
            f"{t_first:.1f}",
            f"{ingest_rate:.0f}",
        ],
        ["raw embedder, same texts, same batch size", f"{t_raw:.1f}", f"{raw_rate:.0f}"],
        ["re-ingest, unchanged corpus", f"{t_again:.2f}", "—"],
    ]
    body = (
        f"SciFact corpus, {first.totals()['added']} records → {n_chunks} chunks, "
        f"embedder `{embedder.name}`.\n\n"
        + table(["step", "seconds", "chunks/s"], rows)
        + f"\n\n- ingest / raw embedder: **{ingest_rate / raw_rate:.2f}×** (target ≥ 0.85×)"
        + f"\n- re-ingest speed-up: **{t_first / t_again:.0f}×** faster than the first ingest"
        " (target ≥ 50×)\n"
    )
    print(body)
    write_section("ingest-throughput", "Ingestion throughput", body)


if __name__ == "__main__":
    main()
