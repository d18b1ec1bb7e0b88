"""What the answer checks cost, and how often they are wrong on real text.

    python bench/guards_output.py

Answer-like texts: the first one to three sentences of every XQuAD paragraph, in
English and in Spanish (240 paragraphs each, ../shared/datasets/xquad_en_es).

1. Answer language (``guards.language``, the detector ingest uses, choosing between
   the seven default ``ingest.languages``): how often an answer in the tenant's own
   language is flagged (false positives), and how often one in the other language is
   (recall), for tenants ``[en]`` and ``[es]``; texts under ``min_letters`` (60)
   are not judged and counted apart.
2. System-prompt leak (``guards.leak``, the packaged ``grounded_v1`` prompt, 10
   words): false positives on every text; recall on the same texts with one rule of
   the prompt (13 words, verbatim) pasted in, and with the canary pasted in — a
   paraphrased leak is not what this check catches.
3. Time per check on those texts (P50/P95), the language check after its one-time
   load (reported apart).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import DATASETS, table, write_section

from ragline.answer._prompts import PromptTemplate
from ragline.guards import GuardContext
from ragline.guards._citation import CitationGuard
from ragline.guards._language import LanguageGuard
from ragline.guards._leak import LeakGuard, new_canary
from ragline.guards._length import LengthGuard
from ragline.ingest._enrich import LanguageDetector

XQUAD = DATASETS / "xquad_en_es"
CANDIDATES = ("en", "es", "fr", "de", "it", "pt", "nl")
_SENT = re.compile(r"(?<=[.!?])\s+")


def answers(lang: str) -> list[str]:
    data = json.loads((XQUAD / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    out = []
    for i, paragraph in enumerate(p for a in data["data"] for p in a["paragraphs"]):
        sentences = _SENT.split(paragraph["context"].strip())
        out.append(" ".join(sentences[: 1 + i % 3]) + " [1]")
    return out


def _ms(fn: object, texts: list[str], context: GuardContext) -> tuple[float, float]:
    times = []
    for text in texts:
        start = time.perf_counter()
        fn.check(text, context)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    if not XQUAD.exists():
        print(f"{XQUAD} is absent: nothing to measure")
        return
    texts = {"en": answers("en"), "es": answers("es")}
    n = len(texts["en"])

    start = time.perf_counter()
    language = LanguageGuard(LanguageDetector, candidates=CANDIDATES)
    language.check(texts["en"][0], GuardContext(stage="output", languages=("es",)))
    load_s = time.perf_counter() - start
    rows = []
    for tenant in ("en", "es"):
        ctx = GuardContext(stage="output", languages=(tenant,))
        for lang in ("en", "es"):
            verdicts = [language.check(t, ctx) for t in texts[lang]]
            short = sum(len(re.findall(r"[^\W\d_]", t)) < 60 for t in texts[lang])
            flagged = sum(v.triggered for v in verdicts)
            judged = len(verdicts) - short
            what = "false positives" if lang == tenant else "recall"
            rows.append(
                [f"[{tenant}]", lang, judged, short, flagged, f"{flagged / judged:.3f} ({what})"]
            )
    language_table = table(
        ["tenant", "answer language", "judged", "too short", "flagged", "rate"], rows
    )

    system = PromptTemplate.load("grounded_v1").sections["system"]
    canary = new_canary()
    leak = LeakGuard(canary=canary, system_prompt=system)
    out = GuardContext(stage="output")
    every = texts["en"] + texts["es"]
    false_pos = sum(leak.check(t, out).triggered for t in every)
    rule = "Use only the passage numbers shown in the context. Never invent a number."
    pasted = [f"{t} {rule}" for t in every]
    verbatim = sum(leak.check(t, out).blocked for t in pasted)
    with_canary = sum(leak.check(f"{t} {canary}", out).blocked for t in every)
    leak_table = table(
        ["texts", "blocked", "rate"],
        [
            ["answers as they are (false positives)", false_pos, f"{false_pos / len(every):.3f}"],
            ["with one prompt rule pasted in", verbatim, f"{verbatim / len(every):.3f}"],
            ["with the canary pasted in", with_canary, f"{with_canary / len(every):.3f}"],
        ],
    )

    es_ctx = GuardContext(stage="output", languages=("es",))
    timing = []
    for name, guard, ctx in [
        ("leak", leak, out),
        ("length (block, 4000)", LengthGuard(action="block"), out),
        ("language (tenant [es])", language, es_ctx),
        ("citation (text only)", CitationGuard(), out),
    ]:
        p50, p95 = _ms(guard, every, ctx)
        timing.append([name, f"{p50:.3f}", f"{p95:.3f}"])
    timing_table = table(["check", "P50 ms", "P95 ms"], timing)
    mean_len = statistics.mean(len(t) for t in every)

    body = f"""
{n} English and {n} Spanish answer-like texts (the first 1–3 sentences of each XQuAD
paragraph, a `[1]` marker after; mean {mean_len:.0f} characters).

**Answer language** (lingua via ingest's `LanguageDetector`, choosing between
{", ".join(CANDIDATES)}; one-time load {load_s:.2f} s):

{language_table}

**System-prompt leak** (`grounded_v1` system prompt, `min_words: 10`, the canary):

{leak_table}

**Time per check** (same texts, one call each, after the language model loaded):

{timing_table}
"""
    print(body)
    write_section("guards-output", "Guards — answer checks (language, leak, cost)", body)


if __name__ == "__main__":
    main()
