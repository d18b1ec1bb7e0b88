"""XQuAD (English): hybrid retrieval + the extractive answerer, end to end.

The knowledge base is the 240 XQuAD paragraphs (one Document and one Chunk per
paragraph, title = article title) in a MemoryStore with bundled-MiniLM vectors; the
1,190 questions are asked against it with the default settings. Printed:

- cited gold  — share of answers whose references include the gold paragraph
- span found  — share of answers whose text contains a gold answer (case-insensitive)
- abstained   — share of answers that abstained (all of these questions are answerable)

``--fusion both`` compares RRF with weighted fusion. ``--calibrate`` asks every
question again with its whole article filtered out of the knowledge base (the KB
cannot answer it) plus a set of off-topic questions, and prints, per
``min_relevance`` threshold, the false-abstain rate on answerable questions against
the abstain rate on unanswerable ones.

    python bench/xquad_answers.py [--fusion rrf|weighted|both] [--calibrate]
                                  [--store memory|sqlite] [--min-relevance X] [--limit N]

Embeddings (paragraphs, questions, sentences) are cached under bench/_work/.
Needs ../shared/datasets/xquad_en_es; exits 0 with a message when it is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared" / "datasets" / "xquad_en_es" / "xquad.en.json"
WORK = ROOT / "bench" / "_work"
CLAPNQ = ROOT.parent / "shared" / "datasets" / "clapnq" / "annotated_data" / "dev"
TENANT = "default"

OFF_TOPIC = [
    "How do I reset my router's admin password?",
    "What is the best temperature to bake sourdough bread?",
    "How many calories are in a banana?",
    "Which JavaScript framework should I use for a small web app?",
    "How do I file a tax extension in Canada?",
    "What is the warranty period for the X200 vacuum cleaner?",
    "How can I cancel my gym membership online?",
    "What are the symptoms of a vitamin D deficiency?",
    "How do I convert a PDF to a Word document?",
    "What time does the pharmacy on Main Street close on Sundays?",
    "How long should I boil an egg for a runny yolk?",
    "What is the refund policy for airline tickets bought with miles?",
    "How do I change a flat bicycle tyre?",
    "Which programming language is best for machine learning beginners?",
    "What is the monthly fee for the premium streaming plan?",
    "How do I train my puppy to stop biting?",
    "What is the difference between a Roth IRA and a traditional IRA?",
    "How do I set up two-factor authentication on my email account?",
    "What is the recommended tyre pressure for a Honda Civic?",
    "How often should I water a cactus?",
    "Who won the 2022 FIFA World Cup final?",
    "What is the shipping cost to Australia for orders under 50 dollars?",
    "How do I remove a red wine stain from a carpet?",
    "What is the recipe for a classic margarita?",
    "How do I upgrade the RAM in my laptop?",
    "What are the opening hours of the Louvre on Tuesdays?",
    "How much does it cost to renew a passport?",
    "What is the best way to learn to play the guitar?",
    "How do I export my contacts from an Android phone?",
    "What is the dosage of ibuprofen for a child of 20 kilograms?",
]


@dataclass(slots=True)
class Question:
    id: str
    text: str
    answers: list[str]
    chunk_id: str
    title: str


class CachedEmbedder:
    """Wraps an embedder; remembers every text's vector, persisted to bench/_work/."""

    def __init__(self, inner: object, path: Path) -> None:
        self.inner = inner
        self.name: str = inner.name  # type: ignore[attr-defined]
        self.dimension: int = inner.dimension  # type: ignore[attr-defined]
        self.path = path
        self.cache: dict[str, npt.NDArray[np.float32]] = {}
        self.dirty = False
        if path.exists():
            data = np.load(path, allow_pickle=False)
            texts = json.loads(str(data["texts"]))
            self.cache = dict(zip(texts, data["vectors"], strict=True))

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            vecs = self.inner.embed_documents(missing)  # type: ignore[attr-defined]
            self.cache.update(zip(missing, vecs, strict=True))
            self.dirty = True
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        return self.embed_documents([text])[0]

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self.cache)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, texts=json.dumps(texts), vectors=np.stack([self.cache[t] for t in texts]))
        os.replace(tmp, self.path)
        self.dirty = False


def load_kb(path: Path) -> tuple[list[tuple[str, str, str]], list[Question]]:
    """(chunk_id, title, text) per paragraph, and the questions with their gold chunk."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs: list[tuple[str, str, str]] = []
    questions: list[Question] = []
    for a, article in enumerate(data):
        title = article["title"].replace("_", " ")
        for p, para in enumerate(article["paragraphs"]):
            cid = f"xquad-{a:02d}-{p}"
            paragraphs.append((cid, title, para["context"]))
            for qa in para["qas"]:
                answers = [x["text"] for x in qa["answers"]]
                questions.append(Question(qa["id"], qa["question"], answers, cid, title))
    return paragraphs, questions


def build_store(
    paragraphs: list[tuple[str, str, str]], embedder: CachedEmbedder, kind: str = "memory"
) -> object:
    from ragline.store import open_store
    from ragline.types import Chunk, Document, indexed_text

    store = open_store("sqlite://:memory:" if kind == "sqlite" else "memory://")
    vectors = embedder.embed_documents([indexed_text(t, [], text) for _, t, text in paragraphs])
    for (cid, title, text), vec in zip(paragraphs, vectors, strict=True):
        digest = hashlib.sha256(text.encode()).hexdigest()
        source = f"xquad.en.json#{cid}"
        doc = Document(
            id=cid, source=source, title=title, content_hash=digest, language="en", chunk_count=1
        )
        chunk = Chunk(
            id=cid,
            document_id=cid,
            ordinal=0,
            text=text,
            title=title,
            language="en",
            source=source,
            content_hash=digest,
        )
        store.upsert_document(doc, [chunk], vec[None, :])
    return store


def run(args: argparse.Namespace) -> int:
    from ragline.answer import ExtractiveAnswerer
    from ragline.config import Settings
    from ragline.embed import MiniLMEmbedder
    from ragline.retrieve import Retriever
    from ragline.store import Condition

    if not DATASET.exists():
        print(f"dataset not found: {DATASET} — nothing to do")
        return 0
    paragraphs, questions = load_kb(DATASET)
    if args.limit:
        questions = questions[:: max(1, len(questions) // args.limit)][: args.limit]
    inner = MiniLMEmbedder()
    embedder = CachedEmbedder(inner, WORK / f"xquad_en_cache.{inner.name}.npz")
    t0 = time.perf_counter()
    store = build_store(paragraphs, embedder, args.store)
    embedder.save()
    print(
        f"# KB ({args.store} store): {len(paragraphs)} paragraphs, {len(questions)} questions "
        f"({time.perf_counter() - t0:.1f}s to build)"
    )

    overrides: dict[str, object] = {}
    if args.min_relevance is not None:
        overrides["min_relevance"] = args.min_relevance
    fusions = ["rrf", "weighted"] if args.fusion == "both" else [args.fusion]
    print(
        f"{'fusion':<9} {'hit@1':>6} {'hit@5':>6} {'cited gold':>11} {'span found':>11} "
        f"{'abstained':>10} {'sentences':>10}"
    )
    relevances: list[float] = []
    top1: dict[str, list[bool]] = {}
    for fusion in fusions:
        settings = Settings.model_validate({"retrieval": {"fusion": fusion}, "answer": overrides})
        retriever = Retriever(store, embedder, settings)  # type: ignore[arg-type]
        answerer = ExtractiveAnswerer(embedder, settings.answer)  # type: ignore[arg-type]
        n = hit5 = cited = found = abstained = n_sent = 0
        top1[fusion] = []
        for q in questions:
            result = retriever.search(q.text, tenant=TENANT)
            ids = [h.chunk.id for h in result.hits]
            answer = answerer.answer(q.text, result.hits, query_vector=result.query_vector)
            n += 1
            top1[fusion].append(ids[:1] == [q.chunk_id])
            hit5 += q.chunk_id in ids
            cited += any(r.chunk_id == q.chunk_id for r in answer.references)
            low = answer.text.lower()
            found += (not answer.abstained) and any(a.lower() in low for a in q.answers)
            abstained += answer.abstained
            n_sent += len(answer.sentences)
            if fusion == fusions[0] and args.calibrate:
                relevances.append(
                    answerer.question_relevance(
                        q.text, result.hits, query_vector=result.query_vector
                    )
                )
        embedder.save()
        hit1 = sum(top1[fusion])
        print(
            f"{fusion:<9} {hit1 / n:>6.3f} {hit5 / n:>6.3f} {cited / n:>11.3f} "
            f"{found / n:>11.3f} {abstained / n:>10.3f} {n_sent / max(1, n - abstained):>10.2f}"
        )
    if len(fusions) == 2:
        a, b = (np.asarray(top1[f]) for f in fusions)
        wins, losses = int((b & ~a).sum()), int((a & ~b).sum())
        print(
            f"# weighted vs rrf, top hit: right only with weighted {wins}, only with rrf "
            f"{losses} (two-sided sign test p = {sign_test(wins, losses):.3f})"
        )

    if args.calibrate:
        settings = Settings.model_validate({"retrieval": {"fusion": fusions[0]}})
        retriever = Retriever(store, embedder, settings)  # type: ignore[arg-type]
        answerer = ExtractiveAnswerer(embedder, settings.answer)  # type: ignore[arg-type]
        removed: list[float] = []
        for q in questions:
            result = retriever.search(
                q.text, tenant=TENANT, filters=[Condition("title", "ne", q.title)]
            )
            removed.append(
                answerer.question_relevance(q.text, result.hits, query_vector=result.query_vector)
            )
        off: list[float] = []
        for text in OFF_TOPIC:
            result = retriever.search(text, tenant=TENANT)
            off.append(
                answerer.question_relevance(text, result.hits, query_vector=result.query_vector)
            )
        embedder.save()
        natural = clapnq_relevances(settings)
        calibrate(relevances, removed, off, natural)
    print(f"# command: python bench/xquad_answers.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"# total {time.perf_counter() - t0:.1f}s")
    return 0


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial test of wins vs losses (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def clapnq_relevances(settings: object) -> list[float] | None:
    """Relevance of ClapNQ's 300 answerable questions (real search queries) in a KB of
    ClapNQ's gold passages: how often natural questions would be refused."""
    from ragline.answer import ExtractiveAnswerer
    from ragline.embed import MiniLMEmbedder
    from ragline.retrieve import Retriever

    if not CLAPNQ.exists():
        return None
    passages: dict[str, tuple[str, str, str]] = {}
    asked: list[str] = []
    for name in ("clapnq_dev_answerable.jsonl", "clapnq_dev_unanswerable.jsonl"):
        for line in (CLAPNQ / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for p in record["passages"]:
                pid = "clapnq-" + hashlib.sha256(p["text"].encode()).hexdigest()[:16]
                passages.setdefault(pid, (pid, p["title"], p["text"]))
            if name.startswith("clapnq_dev_answerable"):
                asked.append(record["input"])
    inner = MiniLMEmbedder()
    embedder = CachedEmbedder(inner, WORK / f"clapnq_cache.{inner.name}.npz")
    store = build_store(list(passages.values()), embedder)
    retriever = Retriever(store, embedder, settings)  # type: ignore[arg-type]
    answerer = ExtractiveAnswerer(embedder, settings.answer)  # type: ignore[arg-type,attr-defined]
    out: list[float] = []
    for text in asked:
        result = retriever.search(text, tenant=TENANT)
        out.append(answerer.question_relevance(text, result.hits, query_vector=result.query_vector))
    embedder.save()
    return out


def calibrate(
    answerable: list[float],
    removed: list[float],
    off_topic: list[float],
    natural: list[float] | None,
) -> None:
    """Print abstain rates per threshold and the pick: the best Youden J (false-abstain
    vs abstain on unanswerable questions) among thresholds whose XQuAD false-abstain
    rate is at most 2%. XQuAD questions were written while reading the paragraph, so
    they share more words with it than real queries do; the ClapNQ column shows
    false abstains on real search queries (about 2.5× the XQuAD rate)."""
    a, r, o = (np.asarray(x) for x in (answerable, removed, off_topic))
    nat = np.asarray(natural) if natural else None
    print("\n# min_relevance calibration (abstain when relevance < threshold)")
    print(
        f"{'threshold':>9} {'false-abstain':>14} {'abstain: article removed':>25} "
        f"{'abstain: off-topic':>19} {'false-abstain ClapNQ':>21}"
    )
    best_t, best_j = 0.0, -1.0
    for t in np.round(np.arange(0.20, 0.605, 0.01), 2):
        fa, tr, to = float((a < t).mean()), float((r < t).mean()), float((o < t).mean())
        j = (1 - fa) + (tr + to) / 2 - 1
        if fa <= 0.02 and j > best_j:
            best_t, best_j = float(t), j
        if round(t * 100) % 2 == 0 or abs(t - 0.35) < 1e-9 or abs(t - 0.37) < 1e-9:
            nat_s = f"{float((nat < t).mean()):>21.3f}" if nat is not None else f"{'-':>21}"
            print(f"{t:>9.2f} {fa:>14.3f} {tr:>25.3f} {to:>19.3f} {nat_s}")
    fa, tr, to = (float((x < best_t).mean()) for x in (a, r, o))
    nat_s = f", ClapNQ false-abstain {float((nat < best_t).mean()):.3f}" if nat is not None else ""
    print(
        f"# pick (false-abstain <= 2% on XQuAD, max Youden J): {best_t:.2f} — false-abstain "
        f"{fa:.3f}, abstain with article removed {tr:.3f}, off-topic {to:.3f}{nat_s}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fusion", choices=["rrf", "weighted", "both"], default="rrf")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--min-relevance", type=float, default=None)
    parser.add_argument("--limit", type=int, default=0, help="ask only about N questions")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = parser.parse_args()
    if args.limit:
        return run(args)
    sys.path.insert(0, str(Path(__file__).parent))
    from _results import captured, write_section

    with captured() as out:
        code = run(args)
    if code == 0 and "cited gold" in out.getvalue():
        body = (
            "240 XQuAD paragraphs as the knowledge base (one chunk each, MiniLM vectors), "
            "1,190 English questions, default settings. *cited gold*: the answer's "
            "references include the gold paragraph (target ≥ 0.85); *span found*: the "
            "answer text contains a gold answer (target ≥ 0.6).\n\n```text\n"
            + out.getvalue().strip()
            + "\n```\n"
        )
        write_section("xquad-answers", "Extractive answers — XQuAD (English)", body)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
