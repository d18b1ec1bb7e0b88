"""Fusion default by evidence: RRF vs weighted fusion on every retrieval set we have.

Each set is a knowledge base of one chunk per passage/document in a MemoryStore with
bundled-MiniLM vectors (cached under bench/_work/), searched with the default
settings (hybrid, reranker off: no offline reranker ships) and ``retrieval.fusion``
``rrf`` or ``weighted`` (0.5/0.5, min-max per leg):

- SciFact (BEIR test queries; the ``subset_test`` corpus unless ``--scifact-full``),
  FinanceRAG FinanceBench and FinQABench: nDCG@10 against the qrels
- ClapNQ dev (answerable; KB: every gold passage), XQuAD EN and XQuAD ES (KB: the 240
  paragraphs of that language): gold passage in the top 5
- Debian Reference EN/ES (KB: every section of both languages; 200 English sections
  with 200+ characters drawn with ``random.Random(15)``, the question is the section
  title without its number, as in bench/language_filter.py): that section in the top 5
- the sample suite (examples/sample-kb ingested as files through ``ragline.Project``,
  the answerable cases of examples/sample-kb-eval): a gold document in the top 5

The rule (issue 15): the default is the fusion that wins on most sets and loses on
none by more than 0.01.

    python bench/fusion_default.py [--scifact-full] [--sets scifact,clapnq,...]

Sets whose dataset folder is absent are skipped, and say so.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import DATASETS, WORK, captured, table, write_section
from xquad_answers import CachedEmbedder, build_store

REPO = Path(__file__).resolve().parents[1]
FUSIONS = ("rrf", "weighted")
Passages = list[tuple[str, str, str]]
Queries = list[tuple[str, dict[str, int]]]  # question, relevant id → grade


def ndcg10(ranked: list[str], relevant: dict[str, int]) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def hit5(ranked: list[str], relevant: dict[str, int]) -> float:
    return float(any(d in relevant for d in ranked[:5]))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        qid, did, score = line.split()[:3]
        if int(score) > 0:
            out[qid][did] = int(score)
    return dict(out)


def beir(root: Path, *, corpus_gz: bool = False) -> tuple[Passages, Queries]:
    if corpus_gz:
        with gzip.open(root / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
            docs = [json.loads(x) for x in f if x.strip()]
    else:
        docs = _jsonl(root / "corpus.jsonl")
    passages = [(d["_id"], d.get("title") or "", d["text"]) for d in docs if d.get("text")]
    ids = {p[0] for p in passages}
    qrels = _qrels(root / "qrels" / "test.tsv")
    queries = [
        (q["text"], {d: g for d, g in qrels[q["_id"]].items() if d in ids})
        for q in _jsonl(root / "queries.jsonl")
        if q["_id"] in qrels
    ]
    return passages, [(q, rel) for q, rel in queries if rel]


def scifact(full: bool) -> tuple[Passages, Queries]:
    root = DATASETS / "beir_scifact"
    return beir(root, corpus_gz=True) if full else beir(root / "subset_test")


def clapnq() -> tuple[Passages, Queries]:
    dev = DATASETS / "clapnq" / "annotated_data" / "dev"
    passages: dict[str, tuple[str, str, str]] = {}
    queries: Queries = []
    for name in ("clapnq_dev_answerable.jsonl", "clapnq_dev_unanswerable.jsonl"):
        for record in _jsonl(dev / name):
            ids = []
            for p in record["passages"]:
                pid = "clapnq-" + hashlib.sha256(p["text"].encode()).hexdigest()[:16]
                passages.setdefault(pid, (pid, p["title"], p["text"]))
                ids.append(pid)
            if "_answerable" in name and ids:
                queries.append((record["input"], {ids[0]: 1}))
    return list(passages.values()), queries


def xquad(lang: str) -> tuple[Passages, Queries]:
    data = json.loads((DATASETS / "xquad_en_es" / f"xquad.{lang}.json").read_text("utf-8"))
    passages: Passages = []
    queries: Queries = []
    for a, article in enumerate(data["data"]):
        for p, para in enumerate(article["paragraphs"]):
            cid = f"xquad-{lang}-{a:02d}-{p}"
            passages.append((cid, article["title"].replace("_", " "), para["context"]))
            queries += [(qa["question"], {cid: 1}) for qa in para["qas"]]
    return passages, queries


def debian() -> tuple[Passages, Queries]:
    records = _jsonl(DATASETS / "debian_reference_en_es" / "sections.jsonl")
    number = re.compile(r"^\s*(?:[A-Z]|\d+)(?:\.\d+)*\.\s*")
    passages = [(r["_id"], r["title"], r["text"]) for r in records if r["text"].strip()]
    pool = sorted(
        (r for r in records if r["lang"] == "en" and len(r["text"]) >= 200),
        key=lambda r: r["_id"],
    )
    picked = random.Random(15).sample(pool, 200)
    return passages, [
        (number.sub("", r["title"]).strip() or r["title"], {r["_id"]: 1}) for r in picked
    ]


def sample_suite(fusion: str) -> float:
    """Gold document in the top 5 on the sample suite's answerable cases."""
    import shutil

    import ragline
    from ragline.evals import load_cases

    cases = [
        c
        for c in load_cases(REPO / "examples" / "sample-kb-eval" / "cases.jsonl")
        if c.answerable and c.gold_doc_ids
    ]
    root = WORK / "fusion_default_sample"
    if not (root / "ragline.db").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        with ragline.Project(root) as p:
            p.ingest([REPO / "examples" / "sample-kb"])
    found = []
    with ragline.Project(root, overrides={"retrieval.fusion": fusion}) as p:
        for c in cases:
            gold = {Path(g).name for g in c.gold_doc_ids}
            hits = p.search(c.question, k=5)
            found.append(any(Path(h.chunk.source).name in gold for h in hits))
    return sum(found) / len(found)


SETS: dict[str, tuple[str, Callable[[argparse.Namespace], tuple[Passages, Queries]], str]] = {
    "scifact": ("beir_scifact", lambda a: scifact(a.scifact_full), "nDCG@10"),
    "financerag-financebench": (
        "financerag_financebench",
        lambda a: beir(DATASETS / "financerag_financebench"),
        "nDCG@10",
    ),
    "financerag-finqabench": (
        "financerag_finqabench",
        lambda a: beir(DATASETS / "financerag_finqabench"),
        "nDCG@10",
    ),
    "clapnq": ("clapnq", lambda a: clapnq(), "gold@5"),
    "xquad-en": ("xquad_en_es", lambda a: xquad("en"), "gold@5"),
    "xquad-es": ("xquad_en_es", lambda a: xquad("es"), "gold@5"),
    "debian-en-es": ("debian_reference_en_es", lambda a: debian(), "gold@5"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scifact-full", action="store_true", help="the 5,183-document corpus")
    ap.add_argument("--sets", default=",".join([*SETS, "sample-suite"]))
    args = ap.parse_args()

    from ragline.config import Settings
    from ragline.embed import MiniLMEmbedder
    from ragline.retrieve import Retriever

    inner = MiniLMEmbedder()
    rows: list[list[object]] = []
    verdicts: list[float] = []  # weighted − rrf per set
    with captured() as out:
        for name in args.sets.split(","):
            t0 = time.perf_counter()
            if name == "sample-suite":
                scores = {f: sample_suite(f) for f in FUSIONS}
                metric, n = "gold doc@5", "answerable cases"
            else:
                folder, loader, metric = SETS[name]
                if not (DATASETS / folder).exists():
                    print(f"# {name}: {DATASETS / folder} absent, skipped")
                    continue
                passages, queries = loader(args)
                key = name + ("-full" if name == "scifact" and args.scifact_full else "")
                embedder = CachedEmbedder(inner, WORK / f"fusion_{key}.{inner.name}.npz")
                seed = WORK / f"{ {'clapnq': 'clapnq', 'xquad-en': 'xquad_en'}.get(name) }_cache"
                seeded = seed.with_name(f"{seed.name}.{inner.name}.npz")
                if seeded.exists():  # vectors the answer benchmarks already computed
                    embedder.cache = {**CachedEmbedder(inner, seeded).cache, **embedder.cache}
                store = build_store(passages, embedder)
                score = ndcg10 if metric == "nDCG@10" else hit5
                scores = {}
                for fusion in FUSIONS:
                    settings = Settings.model_validate({"retrieval": {"fusion": fusion, "k": 10}})
                    retriever = Retriever(store, embedder, settings)  # type: ignore[arg-type]
                    got = []
                    for question, relevant in queries:
                        hits = retriever.search(question, tenant="default").hits
                        got.append(score([h.chunk.id for h in hits], relevant))
                    scores[fusion] = sum(got) / len(got)
                embedder.save()
                n = f"{len(queries)} queries, {len(passages)} passages"
            delta = scores["weighted"] - scores["rrf"]
            verdicts.append(delta)
            rows.append([name, metric, n, scores["rrf"], scores["weighted"], f"{delta:+.3f}"])
            print(
                f"{name:26s} {metric:10s} rrf {scores['rrf']:.3f}  weighted "
                f"{scores['weighted']:.3f}  ({time.perf_counter() - t0:.0f}s)"
            )
        print()
        print(table(["set", "metric", "size", "rrf", "weighted", "weighted − rrf"], rows))
        wins = {"rrf": sum(d < 0 for d in verdicts), "weighted": sum(d > 0 for d in verdicts)}
        worst = {  # + 0.0: no "-0.000"
            "rrf": max([*verdicts, 0.0]) + 0.0,
            "weighted": max(-d for d in [*verdicts, 0.0]) + 0.0,
        }
        print()
        for fusion in FUSIONS:
            ok = wins[fusion] > len(verdicts) / 2 and worst[fusion] <= 0.01
            print(
                f"- {fusion}: better on {wins[fusion]} of {len(verdicts)} sets; its worst loss "
                f"{worst[fusion]:.3f} — {'meets' if ok else 'does not meet'} the rule "
                "(wins on most, loses on none by more than 0.01)"
            )
    write_section(
        "fusion-default",
        "Fusion default by evidence: RRF vs weighted, reranker off",
        (__doc__ or "").split("\n\n")[1] + "\n\n" + out.getvalue(),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
