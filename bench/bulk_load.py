"""Bulk load of precomputed vectors: `ingest --vector-field` into a fresh SQLite project.

    python bench/bulk_load.py [--n 20000]

SciFact abstracts (cycled when ``--n`` exceeds the corpus) with random unit 384-d
vectors (the bundled MiniLM's dimension) as one JSONL file; chunks/s of
``Project.ingest(path, vector_field="embedding")`` end to end (check pass, claims,
injection scan, SQLite writes), then the same file again (all unchanged). The rows
below split where the time goes: the check pass alone and the injection scan alone.
Target: ≥ 5,000 chunks/s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, WORK, table, write_section

from ragline import Project
from ragline.guards._injection import chunk_scan
from ragline.ingest._bulk import read_vector_records
from ragline.ingest._json import JsonFields


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args()
    src = DATASETS / "beir_scifact" / "corpus.jsonl.gz"
    if not src.exists():
        sys.exit(f"{src} is absent; nothing to measure")
    with gzip.open(src, "rt", encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    work = WORK / "bulk-load"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rng = np.random.default_rng(0)
    data = work / "vectors.jsonl"
    with data.open("w", encoding="utf-8") as out:
        for i in range(args.n):
            doc = corpus[i % len(corpus)]
            v = rng.standard_normal(384).astype(np.float32)
            v /= np.linalg.norm(v)
            row = {"id": f"d{i}", "title": doc["title"], "text": doc["text"]}
            out.write(json.dumps({**row, "embedding": [round(float(x), 6) for x in v]}) + "\n")
    size_mb = data.stat().st_size / 2**20
    (work / "kb").mkdir()
    project = Project(work / "kb")
    started = time.perf_counter()
    first = project.ingest(data, vector_field="embedding")
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    again = project.ingest(data, vector_field="embedding")
    again_s = time.perf_counter() - started
    assert first.totals()["added"] == args.n and again.totals()["unchanged"] == args.n
    started = time.perf_counter()
    texts = [r.text for r in read_vector_records(data, JsonFields(), "embedding", 384, "minilm")]
    check_s = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts:
        chunk_scan(text)
    scan_s = time.perf_counter() - started
    n = args.n
    rows = [
        ["first load (end to end)", f"{load_s:.2f}", f"{n / load_s:,.0f}"],
        ["same file again (all unchanged)", f"{again_s:.2f}", f"{n / again_s:,.0f}"],
        ["of which: one check pass (parse + validate)", f"{check_s:.2f}", f"{n / check_s:,.0f}"],
        ["of which: injection scan of every chunk", f"{scan_s:.2f}", f"{n / scan_s:,.0f}"],
    ]
    print(table(["step", "s", "chunks/s"], rows))
    body = (
        f"{n:,} records (SciFact title + abstract, mean {sum(map(len, texts)) // n} chars, "
        f"384-d float vectors; {size_mb:.0f} MiB of JSONL), one file, fresh SQLite project, "
        f"default settings. Load average (1 min) of the shared machine at the end: "
        f"{os.getloadavg()[0]:.1f}.\n\n"
        + table(["step", "s", "chunks/s"], rows)
        + "\n\nThe file is read twice (every record is checked before anything is written); "
        "the injection scan is the one the regular ingest stores with each chunk (the "
        "retrieval guard reads it), kept so bulk-loaded chunks are guarded the same way.\n"
    )
    write_section("bulk-load", "Bulk load of precomputed vectors", body)
    project.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
