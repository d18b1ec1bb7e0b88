"""Precomputed sentence vectors vs embedding at answer time: same answers? (XQuAD)

    python bench/sentence_vectors.py [--n 300]

The extractive answerer over bench/xquad_answers.py's knowledge base (240 paragraphs,
chunk vectors from its MiniLM cache), with the *uncached* bundled MiniLM for sentences:

- ``at answer time``: the answerer embeds its ≤ 8 candidate sentences per question in
  one batch (no sentence store) — what a never-seen question did before;
- ``precomputed``: every paragraph's sentences embedded ahead, in ingest-sized batches
  (``precompute_sentences``), and looked up by the answerer, which embeds nothing.

Reported: identical answer text, cited gold paragraph, answer span found, abstentions.
Vectors differ only by how MiniLM's int8 kernels quantize a batch, so a few answers near
a tie can differ; the rates should not move.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import WORK, write_section


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300, help="XQuAD questions (0 = all)")
    args = ap.parse_args()
    import xquad_answers as xq

    from ragline.answer import ExtractiveAnswerer
    from ragline.answer._sentence_vectors import precompute_sentences
    from ragline.config import Settings
    from ragline.embed import MiniLMEmbedder
    from ragline.retrieve import Retriever
    from ragline.store.memory import MemorySentenceStore

    if not xq.DATASET.exists():
        sys.exit(f"{xq.DATASET} is absent; nothing to measure")
    settings = Settings.model_validate({})
    inner = MiniLMEmbedder()
    paragraphs, questions = xq.load_kb(xq.DATASET)
    if args.n:
        questions = questions[: args.n]
    cached = xq.CachedEmbedder(inner, WORK / f"xquad_en_cache.{inner.name}.npz")
    store = xq.build_store(paragraphs, cached)
    retriever = Retriever(store, cached, settings)  # type: ignore[arg-type]
    results = [retriever.search(q.text, tenant="default") for q in questions]
    cached.save()

    sentences = MemorySentenceStore()
    chunks = store.get_chunks("default", [cid for cid, _, _ in paragraphs])  # type: ignore[attr-defined]
    t = time.perf_counter()
    n_sentences = precompute_sentences(sentences, inner, "default", chunks)
    t_pre = time.perf_counter() - t
    rows = []
    texts: dict[str, list[str]] = {}
    for label, answerer in (
        ("at answer time", ExtractiveAnswerer(inner, settings.answer)),
        ("precomputed", ExtractiveAnswerer(inner, settings.answer, sentence_store=sentences)),
    ):
        cited = found = abstained = 0
        out = []
        t = time.perf_counter()
        for q, r in zip(questions, results, strict=True):
            a = answerer.answer(q.text, r.hits, query_vector=r.query_vector)
            out.append(a.text)
            cited += any(ref.chunk_id == q.chunk_id for ref in a.references)
            low = a.text.lower()
            found += (not a.abstained) and any(x.lower() in low for x in q.answers)
            abstained += a.abstained
        ms = (time.perf_counter() - t) * 1000 / len(questions)
        texts[label] = out
        n = len(questions)
        st = answerer.sentence_stats
        rows.append(
            f"{label:>15} {cited / n:>11.3f} {found / n:>11.3f} {abstained / n:>10.3f} "
            f"{st.embedded / n:>16.1f} {ms:>14.1f}"
        )
    same = sum(a == b for a, b in zip(texts["at answer time"], texts["precomputed"], strict=True))
    header = (
        f"{'sentences':>15} {'cited gold':>11} {'span found':>11} {'abstained':>10} "
        f"{'embedded/answer':>16} {'answer ms':>14}"
    )
    body = (
        f"XQuAD (en), {len(questions)} questions, extractive answers over 240 paragraphs; "
        f"{n_sentences} sentences precomputed in {t_pre:.1f} s with the bundled MiniLM. "
        "*answer ms*: the answer step only (retrieval done beforehand), one thread.\n\n"
        "```text\n" + header + "\n" + "\n".join(rows) + "\n```\n\n"
        f"Identical answer text: **{same}/{len(questions)}** ({same / len(questions):.1%}).\n"
    )
    print(body)
    write_section("sentence-vectors", "Precomputed sentence vectors — same answers", body)


if __name__ == "__main__":
    main()
