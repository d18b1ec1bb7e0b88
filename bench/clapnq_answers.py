"""ClapNQ (dev): the ``extractive`` answerer vs ``local`` (GroundedAnswerer over the
bundled Gemma 3 270M), on the same retrieval.

The knowledge base is every gold passage of ClapNQ dev (answerable and unanswerable
questions; one Document and one Chunk per distinct passage) in a MemoryStore with
bundled-MiniLM vectors (cached under bench/_work/). Questions: the first ``--n``
answerable and the first ``--n`` unanswerable ones (file order, deterministic);
``local`` (seconds per answer) answers only the first ``--local-n`` of each kind, and
extractive is also scored on exactly that subset for a like-for-like row. Each
question is retrieved once (default settings) and both answerers get the same hits.
Metrics:

- citation precision — share of cited (sentence, chunk) pairs whose support by the
  deterministic ``SupportScorer`` (lexical + MiniLM cosine, no model) is ≥ 0.45
- token F1 — SQuAD-style (lower-case, no punctuation/articles) F1 of the answer text
  (markers removed) vs the gold long answer, answerable questions, abstentions = 0
- abstained (unanswerable) — share of unanswerable questions answered with an
  abstention; false abstain (answerable) — share of answerable ones abstained on
- latency — mean wall time per answer (answering only, retrieval excluded)

    python bench/clapnq_answers.py [--n 60] [--local-n 40] [--answerers extractive,local]

Needs ../shared/datasets/clapnq; exits 0 with a message when it is absent.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import re
import string
import time
from dataclasses import dataclass, field
from typing import Any

from _results import DATASETS, WORK, table, write_section
from xquad_answers import CachedEmbedder, build_store

CLAPNQ = DATASETS / "clapnq" / "annotated_data" / "dev"
TENANT = "default"
MIN_SUPPORT = 0.45


@dataclass(slots=True)
class Q:
    text: str
    gold: str  # the long answer; "" for unanswerable questions
    answerable: bool


@dataclass(slots=True)
class Tally:
    pairs: int = 0
    supported: int = 0
    f1: list[float] = field(default_factory=list)
    abstain_unans: list[bool] = field(default_factory=list)
    abstain_ans: list[bool] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)


def load(n: int) -> tuple[list[tuple[str, str, str]], list[Q]]:
    passages: dict[str, tuple[str, str, str]] = {}
    questions: list[Q] = []
    for name, answerable in (
        ("clapnq_dev_answerable.jsonl", True),
        ("clapnq_dev_unanswerable.jsonl", False),
    ):
        taken = 0
        for line in (CLAPNQ / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for p in record["passages"]:
                pid = "clapnq-" + hashlib.sha256(p["text"].encode()).hexdigest()[:16]
                passages.setdefault(pid, (pid, p["title"], p["text"]))
            if taken < n:
                gold = (record.get("output") or [{}])[0].get("answer") or ""
                questions.append(Q(record["input"], gold, answerable))
                taken += 1
    return list(passages.values()), questions


def normalize(text: str) -> list[str]:
    text = re.sub(r"\[[^\]]*\]", " ", text.lower())
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def token_f1(pred: str, gold: str) -> float:
    p, g = normalize(pred), normalize(gold)
    if not p or not g:
        return float(p == g)
    common = sum((collections.Counter(p) & collections.Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=60, help="questions of each kind")
    parser.add_argument(
        "--local-n",
        type=int,
        default=40,
        help="of those, how many of each kind `local` answers (~3.5 s each on an idle 2-core box)",
    )
    parser.add_argument("--answerers", default="extractive,local")
    args = parser.parse_args()
    if not CLAPNQ.exists():
        print(f"dataset not found: {CLAPNQ} — nothing to do")
        return 0

    from ragline.answer import ExtractiveAnswerer, GroundedAnswerer
    from ragline.answer._citations import SupportScorer
    from ragline.config import Settings
    from ragline.embed import MiniLMEmbedder
    from ragline.models._local import LocalModel
    from ragline.retrieve import Retriever

    passages, questions = load(args.n)
    text_of = {pid: text for pid, _, text in passages}
    inner = MiniLMEmbedder()
    embedder = CachedEmbedder(inner, WORK / f"clapnq_cache.{inner.name}.npz")
    store = build_store(passages, embedder)
    embedder.save()
    settings = Settings.model_validate({})
    retriever = Retriever(store, embedder, settings)  # type: ignore[arg-type]
    scorer = SupportScorer(embedder)  # type: ignore[arg-type]

    names = [a.strip() for a in args.answerers.split(",") if a.strip()]
    answerers: dict[str, object] = {}
    local: LocalModel | None = None
    for name in names:
        if name == "extractive":
            answerers[name] = ExtractiveAnswerer(embedder, settings.answer)  # type: ignore[arg-type]
        elif name == "local":
            local = LocalModel()
            local.load()
            answerers[name] = GroundedAnswerer(
                local,
                embedder,  # type: ignore[arg-type]
                template="grounded_base_v1",
                token_budget=1200,
                max_tokens=96,
                count_tokens=local.count_tokens,
                scorer=scorer,
            )
        else:
            raise SystemExit(f"unknown answerer {name!r}")
    print(
        f"# KB: {len(passages)} gold passages; {sum(q.answerable for q in questions)} answerable"
        f" + {sum(not q.answerable for q in questions)} unanswerable questions"
    )

    def record(tally: Tally, q: Q, answer: Any, elapsed: float) -> None:
        tally.latency_ms.append(elapsed)
        if q.answerable:
            tally.abstain_ans.append(answer.abstained)
            tally.f1.append(0.0 if answer.abstained else token_f1(answer.text, q.gold))
        else:
            tally.abstain_unans.append(answer.abstained)
        if answer.abstained:
            return
        chunk_of = {r.number: r.chunk_id for r in answer.references}
        for sentence in answer.sentences:
            plain = re.sub(r"\s*\[[^\]]*\]", "", sentence.text).strip()
            for number in sentence.citations:
                cid = chunk_of.get(number)
                if cid is None or cid not in text_of:
                    continue
                tally.pairs += 1
                tally.supported += scorer.score(plain, text_of[cid]) >= MIN_SUPPORT

    both = "local" in answerers and "extractive" in answerers
    subset = "extractive (local's subset)"
    tallies = {name: Tally() for name in answerers}
    if both:
        tallies[subset] = Tally()
    seen = {True: 0, False: 0}
    t_start = time.perf_counter()
    for i, q in enumerate(questions):
        result = retriever.search(q.text, tenant=TENANT)
        seen[q.answerable] += 1
        in_subset = seen[q.answerable] <= args.local_n
        for name, answerer in answerers.items():  # same hits for both, alternating
            if name == "local" and not in_subset:
                continue
            t0 = time.perf_counter()
            out = answerer.answer(  # type: ignore[attr-defined]
                q.text, result.hits, query_vector=result.query_vector
            )
            elapsed = (time.perf_counter() - t0) * 1000.0
            answer = getattr(out, "answer", out)
            record(tallies[name], q, answer, elapsed)
            if name == "extractive" and in_subset and both:
                record(tallies[subset], q, answer, elapsed)
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{len(questions)} questions, {time.perf_counter() - t_start:.0f}s")
    embedder.save()

    def mean(xs: list[float] | list[bool]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    headers = [
        "answerer",
        "cited pairs",
        "citation precision",
        "token F1",
        "abstained (unanswerable)",
        "false abstain (answerable)",
        "mean latency ms",
    ]
    rows: list[list[object]] = []
    for name, t in tallies.items():
        rows.append(
            [
                name,
                t.pairs,
                t.supported / t.pairs if t.pairs else float("nan"),
                mean(t.f1),
                mean(t.abstain_unans),
                mean(t.abstain_ans),
                round(mean(t.latency_ms), 1),
            ]
        )
    text = table(headers, rows)
    print(text)
    verdict = ""
    if "extractive" in tallies and "local" in tallies:
        e, m = tallies[subset], tallies["local"]
        better = [
            label
            for label, a, b in (
                (
                    "citation precision",
                    e.supported / max(1, e.pairs),
                    m.supported / max(1, m.pairs),
                ),
                ("token F1", mean(e.f1), mean(m.f1)),
                ("abstention on unanswerable", mean(e.abstain_unans), mean(m.abstain_unans)),
                ("false abstention (lower)", -mean(e.abstain_ans), -mean(m.abstain_ans)),
            )
            if a > b
        ]
        verdict = (
            "\nOn the questions both answered, `extractive` is ahead on"
            f" {len(better)} of 4 quality metrics"
            f" ({', '.join(better) or 'none'}); token F1 extractive {mean(e.f1):.3f} vs local"
            f" {mean(m.f1):.3f}, citation precision {e.supported / max(1, e.pairs):.3f} vs"
            f" {m.supported / max(1, m.pairs):.3f}.\n"
        )
        print(verdict)
    body = (
        f"ClapNQ dev gold passages as the knowledge base ({len(passages)} passages, one chunk"
        f" each, MiniLM vectors), the first {args.n} answerable and first {args.n} unanswerable"
        f" questions for `extractive`; `local` answers only the first {args.local_n} of each"
        " (a few seconds an answer), and the row *extractive (local's subset)*"
        " scores extractive on exactly those questions. Default retrieval; both answerers get"
        " the same hits. `local` is"
        " GroundedAnswerer(LocalModel bundled Gemma 3 270M Q4_K_M, template"
        " `grounded_base_v1`, token_budget 1200, max_tokens 96, temperature 0, 2 threads)."
        f" *citation precision*: share of cited (sentence, chunk) pairs with support ≥"
        f" {MIN_SUPPORT} by the deterministic `SupportScorer` (lexical + MiniLM cosine; not a"
        " model judge). *token F1*: SQuAD-normalised token F1 of the answer text vs the gold"
        " long answer over answerable questions (an abstention scores 0). *latency*: answering"
        " only (retrieval excluded), mean per question, on a shared 2-core machine;"
        " extractive's MiniLM sentence vectors come from the bench's embedding cache"
        " (bench/_work/), so its latency leaves out encoding.\n\n" + text + "\n" + verdict
    )
    write_section("clapnq-answers", "Answer models — ClapNQ (extractive vs local)", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
