"""Rollup cost on asks: traced vs traced + rollups, same project, same run.

    python bench/monitor_rollups.py [--rounds 3] [--queries 200] [--block 25] [--embedder hash]

A SQLite knowledge base of the XQuAD paragraphs in English and Spanish (480 passages;
synthetic text when ``../shared/datasets`` is absent) and the extractive answerer.
With ``--embedder hash`` (default) this is the cheapest ask there is, so the
*relative* overhead is the strictest; ``--embedder minilm`` is the default install.
One project, two tracers on the same database: one writing traces only
(``monitor.rollups: false``), one writing traces through the monitored trace store
(question language detection + per-minute rollups). Asks run in alternating blocks
(order swapped each time); each block's time includes flushing its writer, so every
span and rollup write is charged to the block that made it. Reported: asks/s and
median latency per mode, the process CPU time per ask (``time.process_time``: every
thread, the writers included — on a shared box this is steadier than wall time), and
the writer's counters.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, WORK, table, write_section

import ragline
from ragline.monitor._setup import monitored_trace_store
from ragline.trace._setup import build_tracer

ROOT = WORK / "monitor_rollups"
EMBEDDER = "hash"


def corpus_and_queries(n: int) -> tuple[list[dict[str, str]], list[str], str]:
    folder = DATASETS / "xquad_en_es"
    docs: list[dict[str, str]] = []
    questions: list[str] = []
    if (folder / "xquad.en.json").exists():
        for lang in ("en", "es"):
            data = json.loads((folder / f"xquad.{lang}.json").read_text(encoding="utf-8"))
            for a, article in enumerate(data["data"]):
                for p, para in enumerate(article["paragraphs"]):
                    docs.append(
                        {
                            "id": f"{lang}-{a}-{p}",
                            "title": article["title"],
                            "text": para["context"],
                        }
                    )
                    questions.extend(qa["question"] for qa in para["qas"][:1])
        random.Random(3).shuffle(questions)
        return docs, questions[:n], "XQuAD en+es (480 paragraphs; questions in both)"
    rng = random.Random(7)
    words = [f"w{i}" for i in range(3000)]
    docs = [
        {"id": str(i), "title": f"d{i}", "text": " ".join(rng.choices(words, k=120))}
        for i in range(480)
    ]
    return docs, [" ".join(rng.choices(words, k=6)) for _ in range(n)], "synthetic (480 docs)"


def build(docs: list[dict[str, str]]) -> None:
    ROOT.mkdir(parents=True, exist_ok=True)
    yaml = f"embedder: {EMBEDDER}\nmodel: extractive\n"
    (ROOT / "ragline.yaml").write_text(yaml, encoding="utf-8")
    if (ROOT / "ragline.db").exists():
        return
    corpus = ROOT / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    with ragline.Project(ROOT) as p:
        p.ingest([corpus], id_field="id", text_field="text", title_field="title")
    corpus.unlink()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--block", type=int, default=25)
    ap.add_argument("--embedder", default="hash", choices=["hash", "minilm"])
    args = ap.parse_args()
    global ROOT, EMBEDDER
    EMBEDDER = args.embedder
    ROOT = WORK / f"monitor_rollups_{EMBEDDER}"
    docs, queries, what = corpus_and_queries(args.queries)
    build(docs)
    project = ragline.Project(ROOT)
    settings, backend = project.settings, project.parts.backend
    plain = build_tracer(backend.traces, settings)
    monitored_store = monitored_trace_store(backend, settings)
    monitored = build_tracer(monitored_store, settings)
    tracers = {"traced": plain, "traced + rollups": monitored}
    for tracer in tracers.values():  # warm up both (caches, lingua's models)
        project.parts.tracer = tracer
        for q in queries[:20]:
            project.ask(q)
        assert tracer.flush(60)
    lat: dict[str, list[float]] = {m: [] for m in tracers}
    total = dict.fromkeys(tracers, 0.0)
    cpu = dict.fromkeys(tracers, 0.0)
    asks = dict.fromkeys(tracers, 0)
    blocks = [queries[i : i + args.block] for i in range(0, len(queries), args.block)]
    for r in range(args.rounds):
        for b, qs in enumerate(blocks):
            modes = list(tracers) if (b + r) % 2 == 0 else list(reversed(tracers))
            for mode in modes:
                tracer = tracers[mode]
                project.parts.tracer = tracer
                t_block = time.perf_counter()
                c_block = time.process_time()
                for q in qs:
                    t0 = time.perf_counter()
                    project.ask(q)
                    lat[mode].append((time.perf_counter() - t0) * 1000)
                assert tracer.flush(60)
                total[mode] += time.perf_counter() - t_block
                cpu[mode] += time.process_time() - c_block
                asks[mode] += len(qs)
    rows = []
    for mode in tracers:
        rate = asks[mode] / total[mode]
        per_ask_cpu = cpu[mode] / asks[mode] * 1000
        rows.append([mode, asks[mode], rate, statistics.median(lat[mode]), per_ask_cpu])
    base, with_rollups = rows[0][2], rows[1][2]
    cpu_ratio = rows[1][4] / rows[0][4]
    recorder = getattr(monitored_store, "recorder", None)
    stats = recorder.stats if recorder is not None else None
    spans = [t.stats for t in tracers.values()]
    body = (
        f"Knowledge base: {what}; embedder {EMBEDDER}, extractive answers; "
        f"{len(queries)} questions × {args.rounds} rounds per mode.\n\n"
    )
    headers = ["mode", "asks", "asks/s (incl. writing)", "median latency ms", "CPU ms per ask"]
    body += table(headers, rows)
    body += (
        f"\n\nThroughput with rollups / without: **{with_rollups / base:.3f}** "
        f"({(with_rollups / base - 1) * 100:+.1f}%; target ≥ −1%). Median latency "
        f"{rows[1][3] / rows[0][3]:.3f}×. CPU per ask (all threads of the process, "
        f"writer included; less sensitive to other load on the box): **{cpu_ratio:.3f}×** "
        f"({(cpu_ratio - 1) * 100:+.1f}%). Rollup writer: "
        f"{stats.to_dict() if stats else 'off'}; trace writers: "
        f"{[s.written for s in spans]} spans written, {[s.dropped for s in spans]} dropped."
    )
    print(body)
    project.parts.tracer = plain
    monitored.close(10)
    project.close()
    write_section(
        f"monitor_rollups_{EMBEDDER}", f"Monitoring: rollup overhead on asks ({EMBEDDER})", body
    )


if __name__ == "__main__":
    main()
