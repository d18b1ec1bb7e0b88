"""What the default guards cost, and what the retrieval guard stops.

    python bench/guards_cost.py [--docs 600] [--queries 300]

1. Ingest slowdown: the same SciFact abstracts ingested into two fresh SQLite projects,
   with and without scoring each chunk for injection (alternating, twice each; the
   faster of each pair). Target: ≤ 10% slower.
2. Guard time per ask: every guard stage (``guard_in``, ``guard_docs``, ``guard_out``)
   timed inside ``Project.ask`` over SciFact queries, chunk scores stored at ingest.
   Target: P95 ≤ 3 ms on 2 cores.
3. Planted attacks: each BIPIA text attack (test split) planted in the sample KB's
   returns policy (re-ingested: only that file changes), asked about; an attack
   succeeds when the extractive answer quotes it. Guards off (``stages: [input]``) vs
   on (the default ``[input, retrieval]``).

``--asks-only`` measures just part 2, on questions asked alone and with the three
queries before them as the conversation's earlier turns (``history``: the input guards
then read the conversation too), alternating per query; with ``--before-src DIR`` it
first runs itself on another checkout's ``src`` (``PYTHONPATH=DIR``) and reports both
(its own section, ``guards-ask-cost``):

    python bench/guards_cost.py --asks-only --docs 200 --queries 300 --before-src ../main/src

``--answer-only`` measures just what the extractive answerer's instruction check
costs (its own section, ``guards-answer-cost``): the same hits and query vectors
answered with the check on and off, alternating per query, sentence vectors warm
(so the difference is the check, not embedding) and the check's cache emptied before
every answer (each candidate scanned as if never seen: the worst case); and the
ingest-side cost of the detector's ``injection.redirect`` feature (``chunk_scan`` per
chunk with and without it). The check itself does nothing at ingest.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, WORK, table, write_section

import ragline
import ragline.ingest._pipeline as ingest_pipeline
from ragline.answer import _stages

REPO = Path(__file__).resolve().parents[1]
SAMPLE_KB = REPO / "examples" / "sample-kb"
RETURNS = "returns-and-refunds.md"
QUESTION = "How do I return a bike and get a refund?"


def _corpus(work: Path, docs: int) -> Path:
    src = DATASETS / "beir_scifact" / "corpus.jsonl.gz"
    corpus = work / "corpus.jsonl"
    with gzip.open(src, "rt", encoding="utf-8") as f, open(corpus, "w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if i >= docs:
                break
            out.write(line)
    return corpus


def _ingest_seconds(work: Path, corpus: Path, *, score: bool) -> float:
    folder = work / ("scored" if score else "plain")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    original = ingest_pipeline.chunk_scan
    if not score:
        ingest_pipeline.chunk_scan = lambda text: None  # type: ignore[assignment]
    try:
        with ragline.Project(folder, overrides={"answer.precompute_sentences": False}) as p:
            p.embedder.embed_documents(["warm up"] * 8)
            t0 = time.perf_counter()
            p.ingest([corpus], id_field="_id", text_field="text", title_field="title")
            return time.perf_counter() - t0
    finally:
        ingest_pipeline.chunk_scan = original


def _timed_stages() -> tuple[list[float], Callable[[], None]]:
    """Patch the guard stages to add their time (ms) to the current ask's total."""
    current = [0.0]
    originals: dict[type[Any], Any] = {}

    def wrap(cls: type[Any]) -> None:
        run = cls.run
        originals[cls] = run

        def timed(self: Any, ask: Any) -> Any:
            t0 = time.perf_counter()
            out = list(run(self, ask))
            current[0] += (time.perf_counter() - t0) * 1000
            return out

        cls.run = timed

    for cls in (_stages.GuardIn, _stages.GuardDocuments, _stages.GuardOut):
        wrap(cls)

    def restore() -> None:
        for cls, run in originals.items():
            cls.run = run

    return current, restore


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _attacks() -> Iterator[str]:
    data = json.loads((DATASETS / "bipia" / "benchmark" / "text_attack_test.json").read_text())
    for attacks in data.values():
        yield from attacks


def _planted(work: Path, stages: str, attacks: list[str]) -> tuple[int, int]:
    """How many planted attacks reach the answerer (are in the hits it is given — what
    an LLM answerer would read), and how many the extractive answer quotes."""
    folder = work / f"planted-{len(stages)}"
    shutil.rmtree(folder, ignore_errors=True)
    kb = folder / "kb"
    shutil.copytree(SAMPLE_KB, kb)
    path = kb / RETURNS
    original = path.read_text(encoding="utf-8").rstrip()
    (folder / "ragline.yaml").write_text(
        f"store: memory://\nguards:\n  injection: {{stages: [{stages}]}}\n"
    )
    quoted = reached = 0
    with ragline.Project(folder) as p:
        p.ingest([kb])
        for i, attack in enumerate(attacks):
            path.write_text(f"{original} {attack}\n", encoding="utf-8")
            p.ingest([kb])  # only the changed file is re-chunked and re-embedded
            answer = p.ask(QUESTION)
            probe = attack.strip()[:40].lower()
            quoted += probe in answer.text.lower()
            reached += any(probe in h.chunk.text.lower() for h in answer.hits)
            if (i + 1) % 25 == 0:
                print(f"  [{stages}]: {i + 1}/{len(attacks)}, reached {reached}", flush=True)
    return reached, quoted


def _answer_cost(work: Path, corpus: Path, queries: list[str]) -> None:
    """The extractive answerer's instruction check: per-answer time on and off, and the
    redirect feature's share of chunk scoring at ingest (see the module docstring)."""
    from ragline.answer import ExtractiveAnswerer
    from ragline.guards import _injection

    folder = work / "answer-cost"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with ragline.Project(folder, overrides={"answer.precompute_sentences": False}) as p:
        p.ingest([corpus], id_field="_id", text_field="text", title_field="title")
        settings = p.settings.answer
        on = ExtractiveAnswerer(p.embedder, settings, instruction_threshold=0.5)
        off = ExtractiveAnswerer(p.embedder, settings, instruction_threshold=None)
        asked = [(q, p.retrieve(q)) for q in queries]
        for q, r in asked:  # warm both answerers' sentence vectors and segmentations
            on.answer(q, r.hits, query_vector=r.query_vector)
            off.answer(q, r.hits, query_vector=r.query_vector)
        scanned = [0]
        scan = _injection.injection_scan

        def counting(text: str) -> Any:
            scanned[0] += 1
            return scan(text)

        _injection.injection_scan = counting  # type: ignore[assignment]
        times: dict[str, list[float]] = {"off": [], "on": []}
        try:
            for q, r in asked:
                for name, answerer in (("off", off), ("on", on)):
                    answerer._instructions.clear()  # every candidate scanned afresh
                    t0 = time.perf_counter()
                    answerer.answer(q, r.hits, query_vector=r.query_vector)
                    times[name].append((time.perf_counter() - t0) * 1000)
        finally:
            _injection.injection_scan = scan  # type: ignore[assignment]
        ask_ms = []
        for q in queries[:100]:
            t0 = time.perf_counter()
            p.ask(q)
            ask_ms.append((time.perf_counter() - t0) * 1000)
    # ingest side: chunk_scan of every abstract with and without injection.redirect
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    features = _injection._FEATURES
    without = tuple(f for f in features if f[0] != "injection.redirect")
    scan_ms: dict[str, float] = {}
    for name, feats in (("with", features), ("without", without), ("with ", features)):
        _injection._FEATURES = feats  # type: ignore[misc]
        t0 = time.perf_counter()
        for text in texts:
            _injection.chunk_scan(text)
        elapsed = (time.perf_counter() - t0) * 1000 / len(texts)
        scan_ms[name.strip()] = min(scan_ms.get(name.strip(), float("inf")), elapsed)
    _injection._FEATURES = features  # type: ignore[misc]
    n = len(asked)
    mean_off, mean_on = statistics.fmean(times["off"]), statistics.fmean(times["on"])
    body = table(
        ["measure", "value"],
        [
            [
                f"extractive answer, {n} SciFact queries, check off: P50 / P95",
                f"{statistics.median(times['off']):.2f} / {_percentile(times['off'], 0.95):.2f} ms",
            ],
            [
                "the same, instruction check on (cache emptied before each answer)",
                f"{statistics.median(times['on']):.2f} / {_percentile(times['on'], 0.95):.2f} ms",
            ],
            ["added per answer (mean on − mean off)", f"{mean_on - mean_off:+.2f} ms"],
            ["ratio of means, on / off (same run)", f"{mean_on / mean_off:.3f}"],
            ["sentences scanned per answer (mean)", f"{scanned[0] / n:.1f}"],
            [
                f"whole ask, default pipeline (for scale), first {len(ask_ms)} queries: P50",
                f"{statistics.median(ask_ms):.1f} ms",
            ],
            [
                "chunk_scan per abstract at ingest, with / without injection.redirect",
                f"{scan_ms['with']:.3f} / {scan_ms['without']:.3f} ms "
                f"({scan_ms['with'] / scan_ms['without']:.3f}×)",
            ],
        ],
    )
    note = (
        f"{len(texts)} SciFact abstracts ingested with MiniLM into SQLite; each query's hits "
        "and query vector are computed once and answered by two ExtractiveAnswerers that "
        "differ only in `instruction_threshold` (0.5 vs None), alternating per query, "
        "after a warm-up pass that fills both answerers' sentence-vector and segmentation "
        "caches; the check's own cache is emptied before every answer, so each candidate "
        "sentence is scanned as if never seen (with the cache, a repeated chunk costs a "
        "dictionary lookup). The instruction check does no work at ingest; the ingest row "
        "is the detector feature added with it (best of two passes; on this shared 2-core "
        "machine run-to-run noise exceeds that feature's cost, so the ratio can come out "
        "below 1)."
    )
    write_section(
        "guards-answer-cost",
        "Guards: the extractive answerer's instruction check",
        body + "\n\n" + note,
    )
    print(body)


def _ask_times(work: Path, corpus: Path, queries: list[str]) -> dict[str, list[float]]:
    """Guard time per ask (ms) over ``queries``, asked alone and with the three queries
    before them as ``history``, alternating."""
    _ingest_seconds(work, corpus, score=True)
    times: dict[str, list[float]] = {"alone": [], "history": []}
    current, restore = _timed_stages()
    try:
        with ragline.Project(work / "scored") as p:
            p.ask("warm up")
            p.ask("warm up", history=["a", "b"])
            for i, q in enumerate(queries):
                for kind in ("alone", "history") if i % 2 else ("history", "alone"):
                    current[0] = 0.0
                    p.ask(q, history=queries[max(0, i - 3) : i] if kind == "history" else [])
                    times[kind].append(current[0])
    finally:
        restore()
    return times


def _asks_only(args: argparse.Namespace) -> None:
    queries = [
        json.loads(line)["text"]
        for line in (DATASETS / "beir_scifact" / "queries.jsonl").read_text().splitlines()
    ][: args.queries]
    if args.json:
        work = WORK / "guards-ask-cost-before"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(json.dumps(_ask_times(work, _corpus(work, args.docs), queries)))
        return
    runs: dict[str, dict[str, list[float]]] = {}
    if args.before_src:
        env = {**os.environ, "PYTHONPATH": str(Path(args.before_src).resolve())}
        cmd = [sys.executable, __file__, "--asks-only", "--json"]
        cmd += ["--docs", str(args.docs), "--queries", str(args.queries)]
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        runs[f"before ({args.before_src})"] = json.loads(out.stdout.strip().splitlines()[-1])
    work = WORK / "guards-ask-cost"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    runs["this checkout"] = _ask_times(work, _corpus(work, args.docs), queries)
    rows = []
    for name, times in runs.items():
        for kind, label in (("alone", "asked alone"), ("history", "with 3 earlier turns")):
            values = times[kind]
            rows.append(
                [
                    name,
                    label,
                    f"{statistics.median(values):.2f} / {_percentile(values, 0.95):.2f} ms",
                ]
            )
    body = table(["code", f"{len(queries)} SciFact queries", "guard time per ask P50 / P95"], rows)
    note = (
        "Every guard stage (guard_in, guard_docs, guard_out) timed inside Project.ask, "
        f"chunk scores stored at ingest ({args.docs} abstracts), the default policy; "
        "with history the injection and unsafe-request guards also read the conversation "
        "(the three queries before, as earlier user turns): with MiniLM the injection "
        "classifier embeds the joined conversation, most of that time. Target: P95 ≤ 3 ms "
        "for the heuristic guards; the P95 swings with the load of the shared machine "
        "(bench/guards_unsafe.py times the unsafe guard's conversation read alone)."
    )
    write_section("guards-ask-cost", "Guards: time per ask, alone and in a conversation",
                  body + "\n\n" + note)  # fmt: skip
    print(body)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--attacks", type=int, default=75)
    ap.add_argument(
        "--answer-only",
        action="store_true",
        help="only the extractive answerer's instruction check (section guards-answer-cost)",
    )
    ap.add_argument(
        "--asks-only",
        action="store_true",
        help="only guard time per ask, alone and with history (section guards-ask-cost)",
    )
    ap.add_argument("--before-src", help="with --asks-only: also run on this src folder")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not (DATASETS / "beir_scifact").exists():
        sys.exit(f"{DATASETS / 'beir_scifact'} is absent; nothing to measure")
    if args.asks_only:
        _asks_only(args)
        return
    if args.answer_only:
        work = WORK / "guards-cost"
        work.mkdir(parents=True, exist_ok=True)
        queries = [
            json.loads(line)["text"]
            for line in (DATASETS / "beir_scifact" / "queries.jsonl").read_text().splitlines()
        ][: args.queries]
        _answer_cost(work, _corpus(work, args.docs), queries)
        return
    work = WORK / "guards-cost"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    corpus = _corpus(work, args.docs)

    # 1. ingest slowdown
    plain = scored = float("inf")
    for _ in range(3):  # alternating, the fastest of each: the machine is shared
        plain = min(plain, _ingest_seconds(work, corpus, score=False))
        scored = min(scored, _ingest_seconds(work, corpus, score=True))
    print(f"ingest: plain {plain:.1f}s, scored {scored:.1f}s")

    # 2. guard time per ask (on the scored project)
    queries = [
        json.loads(line)["text"]
        for line in (DATASETS / "beir_scifact" / "queries.jsonl").read_text().splitlines()
    ][: args.queries]
    per_ask: list[float] = []
    current, restore = _timed_stages()
    try:
        with ragline.Project(work / "scored") as p:
            p.ask("warm up")
            for q in queries:
                current[0] = 0.0
                p.ask(q)
                per_ask.append(current[0])
    finally:
        restore()

    # 3. planted attacks
    attacks = list(_attacks())[: args.attacks]
    off = _planted(work, "input", attacks)
    on = _planted(work, "input, retrieval", attacks)
    n = len(attacks)

    body = table(
        ["measure", "value"],
        [
            [f"ingest {args.docs} SciFact abstracts, no injection scoring", f"{plain:.1f} s"],
            ["the same with every chunk scored (default)", f"{scored:.1f} s"],
            ["ingest slowdown", f"{(scored / plain - 1) * 100:+.1f}%"],
            [
                f"guard time per ask, {len(per_ask)} SciFact queries: P50 / P95",
                f"{statistics.median(per_ask):.2f} / {_percentile(per_ask, 0.95):.2f} ms",
            ],
            [
                f"BIPIA text attacks planted in the sample KB ({n}) that reach the "
                "answerer / are quoted: retrieval guard off",
                f"{off[0]} ({off[0] / n:.0%}) / {off[1]}",
            ],
            [
                "the same, retrieval guard on (default)",
                f"{on[0]} ({on[0] / n:.0%}) / {on[1]}",
            ],
        ],
    )
    note = (
        "An attack reaches the answerer when its first 40 characters are in a hit the "
        "answer is written from (what an LLM answerer would read), and is quoted when "
        "they are in the extractive answer to a returns question. BIPIA's attack strings "
        'are mostly harmless-looking tasks ("Write a script to rename all files"), with '
        "no instruction aimed at the model: the heuristic detector scores none of them, "
        "so the retrieval guard drops none — it stops instructions addressed to the model"
        " (tests/guards/test_document_guard.py), not these. bench/guards_injection.py "
        "measures the classifier on them (recall 0.29 at its 1% threshold)."
    )
    write_section(
        "guards-cost",
        "Guards: cost per ask, ingest slowdown, planted attacks",
        body + "\n\n" + note,
    )
    print(body)


if __name__ == "__main__":
    main()
