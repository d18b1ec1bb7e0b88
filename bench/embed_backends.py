"""Embedding backends side by side: torch fp32 vs ONNX Runtime fp32 vs ONNX Runtime int8.

Measures throughput (texts/s after a warm-up) on the same documents in the same run,
and the cosine of each backend's vectors against torch fp32 (the reference), on the
documents and on short queries. The issue's rule: use ONNX Runtime int8 if it is faster
at equal quality (cosine >= 0.99 vs fp32, here: the minimum over every text).

    python bench/embed_backends.py            # 1,000 SciFact abstracts, 300 queries
    python bench/embed_backends.py --n 300 --threads 2

Backends are timed interleaved, in rounds of --round texts in rotating order, so load
from other processes on the machine hits all of them alike. Texts: SciFact abstracts
(title + ' ' + text) and claims from ../shared/datasets/beir_scifact; the run is skipped
(exit 0) when that folder is absent, unless --synthetic is given.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from ragline.embed import MiniLMEmbedder
from ragline.embed._minilm import MAX_SEQ_LENGTH, model_dir
from ragline.embed._onnx import OnnxEncoder

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "datasets" / "beir_scifact"
Vectors = npt.NDArray[np.float32]


def load_texts(n: int, n_queries: int, synthetic: bool) -> tuple[list[str], list[str], str] | None:
    corpus, queries_file = SCIFACT / "corpus.jsonl.gz", SCIFACT / "queries.jsonl"
    if corpus.is_file() and queries_file.is_file():
        docs: list[str] = []
        with gzip.open(corpus, "rt", encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                docs.append(f"{doc.get('title', '')} {doc.get('text', '')}".strip())
                if len(docs) >= n:
                    break
        with queries_file.open(encoding="utf-8") as f:
            queries = [json.loads(line)["text"] for line in f][:n_queries]
        return docs, queries, f"SciFact abstracts + claims ({SCIFACT})"
    if not synthetic:
        return None
    rng = random.Random(0)
    words = "protein cell gene expression tumor patient risk study effect dose trial".split()  # noqa: SIM905

    def text(lo: int, hi: int) -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(lo, hi)))

    return [text(20, 250) for _ in range(n)], [text(3, 15) for _ in range(n_queries)], "synthetic"


def time_interleaved(
    backends: dict[str, MiniLMEmbedder], texts: list[str], round_size: int
) -> tuple[dict[str, float], dict[str, Vectors]]:
    """texts/s per backend, timing each round of texts on every backend in rotating order."""
    seconds = dict.fromkeys(backends, 0.0)
    parts: dict[str, list[Vectors]] = {name: [] for name in backends}
    names = list(backends)
    for r, start in enumerate(range(0, len(texts), round_size)):
        chunk = texts[start : start + round_size]
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t0 = time.perf_counter()
            parts[name].append(backends[name].embed_documents(chunk))
            seconds[name] += time.perf_counter() - t0
    rates = {name: len(texts) / s for name, s in seconds.items()}
    return rates, {name: np.concatenate(p) for name, p in parts.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="documents (default 1000)")
    parser.add_argument("--queries", type=int, default=300, help="queries (default 300)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--round", type=int, default=100, help="texts per timing round")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per backend")
    parser.add_argument("--warmup", type=int, default=32, help="texts embedded before timing")
    parser.add_argument("--synthetic", action="store_true", help="generated text if no SciFact")
    args = parser.parse_args()

    loaded = load_texts(args.n, args.queries, args.synthetic)
    if loaded is None:
        print(f"skipped: {SCIFACT} not found (pass --synthetic to use generated text)")
        return 0
    docs, queries, source = loaded

    def minilm(backend: str) -> MiniLMEmbedder:
        return MiniLMEmbedder(backend=backend, batch_size=args.batch_size, threads=args.threads)

    backends = {"torch fp32": minilm("torch"), "onnx fp32": minilm("onnx")}
    backends["onnx int8"] = minilm("onnx")
    t0 = time.perf_counter()
    backends["onnx int8"].embed_query("load")  # exports + quantizes on first use, then cached
    backends["onnx fp32"]._encoder = OnnxEncoder(
        model_dir(), quantized=False, threads=args.threads, max_seq_length=MAX_SEQ_LENGTH
    )
    prepare_s = time.perf_counter() - t0
    for emb in backends.values():
        emb.embed_documents(docs[: args.warmup])

    rates, doc_vectors = time_interleaved(backends, docs, args.round)
    query_vectors = {name: emb.embed_documents(queries) for name, emb in backends.items()}
    ref_docs, ref_queries = doc_vectors["torch fp32"], query_vectors["torch fp32"]

    import onnxruntime
    import torch

    print(f"{len(docs)} documents + {len(queries)} queries: {source}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs; threads={args.threads or 'default'}"
        f"; batch size {args.batch_size}; max_seq_length 256; torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}; ONNX export/load {prepare_s:.1f}s"
    )
    print()
    print(
        "| backend | docs/s | vs torch | cosine docs min | docs mean "
        "| cosine queries min | queries mean |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    verdict = []
    for name in backends:
        cd = np.sum(doc_vectors[name] * ref_docs, axis=1)
        cq = np.sum(query_vectors[name] * ref_queries, axis=1)
        speed = rates[name] / rates["torch fp32"]
        print(
            f"| {name} | {rates[name]:.1f} | {speed:.2f}x | {cd.min():.4f} | {cd.mean():.4f} "
            f"| {cq.min():.4f} | {cq.mean():.4f} |"
        )
        if min(cd.min(), cq.min()) >= 0.99:
            verdict.append((rates[name], name))
    print()
    print(f"fastest with min cosine >= 0.99: {max(verdict)[1]}")
    print("command: python " + " ".join(shlex.quote(a) for a in sys.argv))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from _results import captured, write_section

    with captured() as out:
        code = main()
    if code == 0 and "| backend |" in out.getvalue():
        report = out.getvalue().split("command:")[0].strip()
        write_section("embed-backends", "Embedding backends — torch vs ONNX Runtime", report)
    sys.exit(code)
