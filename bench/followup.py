"""Follow-up questions: recall@5 of each way to ask a conversation's later turns.

The set is built by ``bench/_multiturn.py`` from ClapNQ and XQuAD (its docstring says
how): conversations of 2–4 user turns; every turn after the first is scored, by
category — ``pronoun`` (a true follow-up: the topic replaced by it/they/its),
``switch`` (a new, self-contained topic that is short or starts with "And" / "What
about"), ``long`` (a self-contained question of 8+ words on another topic).

Ways to ask the turn, each searched with the default retrieval settings (hybrid,
bundled MiniLM, top 5) over every XQuAD paragraph and ClapNQ gold passage:

- ``raw`` — the message alone
- ``rule v1`` — the rule before issue 15 (kept below, verbatim): a message of ≤ 4
  words, led by a connective/pronoun or with it/they anywhere, gets the topic
  question in front
- ``rule`` — ``ragline.retrieve._followup.contextual_question`` (today's code)
- ``concat`` — every user turn so far, joined

Printed per category: recall@5 (gold passage in the top 5), and how many turns each
way misses that ``raw`` finds ("worse") or finds that ``raw`` misses ("better").

    python bench/followup.py [--conversations 400]

Embeddings are cached under bench/_work/. Needs ../shared/datasets/{clapnq,xquad_en_es};
exits 0 with a message when they are absent.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _multiturn import build
from _results import DATASETS, WORK, captured, table, write_section
from xquad_answers import CachedEmbedder, build_store

TENANT = "default"
K = 5
CATEGORIES = ("pronoun", "switch", "long")

# ---------------------------------------------------------------- the rule before issue 15
_V1_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_V1_LEAD_WORDS = "and but or also so then it its it's they them their that this those these same y"
_V1_LEADS = frozenset(_V1_LEAD_WORDS.split())
_V1_PAIRS = frozenset({("what", "about"), ("how", "about"), ("and", "what")})
_V1_REFERRING = frozenset({"it", "its", "it's", "they", "them", "their"})


def _v1_is_follow_up(message: str) -> bool:
    ws = [w.lower().replace("’", "'") for w in _V1_WORD.findall(message)]
    if not ws:
        return False
    if len(ws) <= 4 or ws[0] in _V1_LEADS or tuple(ws[:2]) in _V1_PAIRS:
        return True
    return any(w in _V1_REFERRING for w in ws)


def rule_v1(message: str, previous: Sequence[str]) -> str:
    earlier = [e.strip() for e in previous if e.strip()][-3:]
    if not earlier or not _v1_is_follow_up(message):
        return message
    topic = next((e for e in reversed(earlier) if not _v1_is_follow_up(e)), earlier[-1])
    return f"{topic} {message}"


# ---------------------------------------------------------------- the run


def ways() -> dict[str, Callable[[str, Sequence[str]], str]]:
    from ragline.retrieve._followup import contextual_question

    return {
        "raw": lambda message, previous: message,
        "rule v1": rule_v1,
        "rule": lambda message, previous: contextual_question(message, previous),
        "concat": lambda message, previous: " ".join([*previous, message]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=400)
    args = parser.parse_args()
    if not (DATASETS / "clapnq").exists() or not (DATASETS / "xquad_en_es").exists():
        print(f"datasets not found under {DATASETS} — nothing to do")
        return 0

    from ragline.config import Settings
    from ragline.embed import MiniLMEmbedder
    from ragline.retrieve import Retriever

    passages, conversations = build(DATASETS, conversations=args.conversations)
    inner = MiniLMEmbedder()
    embedder = CachedEmbedder(inner, WORK / f"multiturn_cache.{inner.name}.npz")
    for seed in ("xquad_en", "clapnq"):  # vectors the answer benchmarks already computed
        other = WORK / f"{seed}_cache.{inner.name}.npz"
        if other.exists():
            embedder.cache = {**CachedEmbedder(inner, other).cache, **embedder.cache}
    t0 = time.perf_counter()
    store = build_store([(p.id, p.title, p.text) for p in passages], embedder)
    retriever = Retriever(store, embedder, Settings.model_validate({}))  # type: ignore[arg-type]
    asked = ways()
    found: dict[str, dict[str, list[bool]]] = {w: defaultdict(list) for w in asked}
    examples: dict[str, list[str]] = defaultdict(list)
    with captured() as out:
        turns = sum(len(c.turns) - 1 for c in conversations)
        print(
            f"# {len(conversations)} conversations, {turns} scored turns; KB {len(passages)} "
            f"passages (XQuAD paragraphs + ClapNQ gold passages)"
        )
        for conv in conversations:
            previous: list[str] = []
            for turn in conv.turns:
                if previous:
                    for way, ask in asked.items():
                        question = ask(turn.text, previous)
                        ids = {h.chunk.id for h in retriever.search(question, tenant=TENANT).hits}
                        found[way][turn.category].append(bool(ids & turn.gold))
                        if (
                            way == "rule"
                            and question != turn.text
                            and len(examples[turn.category]) < 3
                        ):
                            examples[turn.category].append(f"{turn.text!r} → {question!r}")
                previous.append(turn.text)
        embedder.save()
        print(f"# {time.perf_counter() - t0:.0f}s\n")
        rows: list[list[object]] = []
        raw = found["raw"]
        for category in (*CATEGORIES, "all"):
            cats = CATEGORIES if category == "all" else (category,)
            base = [x for c in cats for x in raw[c]]
            row: list[object] = [category, len(base)]
            for way in asked:
                got = [x for c in cats for x in found[way][c]]
                worse = sum(b and not g for b, g in zip(base, got, strict=True))
                better = sum(g and not b for b, g in zip(base, got, strict=True))
                row.append(
                    f"{sum(got) / len(got):.3f}"
                    + ("" if way == "raw" else f" (−{worse} / +{better})")
                )
            rows.append(row)
        print(
            table(
                ["category", "turns", *(f"{w} recall@{K}" for w in asked)],
                rows,
            )
        )
        print(
            "\n(−worse / +better): turns this way misses that `raw` finds / finds that it misses."
        )
        print("\nRewrites by `rule`, first of each category:\n")
        for category in CATEGORIES:
            for line in examples[category]:
                print(f"- {category}: {line}")
    write_section(
        "followup",
        "Follow-up questions: recall@5 on a multi-turn ClapNQ + XQuAD set",
        (__doc__ or "").split("\n\n")[1] + "\n\n" + out.getvalue(),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
