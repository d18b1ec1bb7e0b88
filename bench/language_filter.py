"""Language at document level: Spanish hits for an English-only tenant, and gold recall.

Knowledge base: the Debian Reference in English and in its Spanish translation
(``debian_reference_en_es``), one Markdown file per HTML page and language (30
documents), each section under its heading. The Spanish translation is incomplete:
many of its sections are still in English, and many mix English and Spanish.

Questions (derived, none ship with the dataset): 200 English sections with at least
200 characters of text, drawn with ``random.Random(15)`` from those sorted by id; the
question is the section title without its number ("2.1.3. Debian archive basics" →
"Debian archive basics"). Gold: a hit from the English page of that section whose
section path holds the title.

Three tenants over the same store: no ``languages``; ``languages: [en]`` with
``language_scope: chunk`` (the chunk's own language only, as before); and
``languages: [en]`` at document scope (chunk and document in English, no mixed
text). Top 5 per question, counted: hits from a Spanish file; hits with Spanish
text (any prose sentence that lingua, choosing between en and es, calls Spanish);
and English gold in the top 5.

    python bench/language_filter.py            # bundled MiniLM embedder
    python bench/language_filter.py --embedder hash   # quick, keyword-dominated
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import DATASETS, WORK, captured, table, write_section

DATA = DATASETS / "debian_reference_en_es" / "sections.jsonl"
K = 5
N_QUESTIONS = 200
_NUMBER = re.compile(r"^\s*(?:[A-Z]|\d+)(?:\.\d+)*\.\s*")


def load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


def write_kb(records: list[dict[str, Any]], root: Path) -> Path:
    if root.exists():
        shutil.rmtree(root)
    pages: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        pages[(r["lang"], r["page"])].append(r)
    for (lang, page), recs in pages.items():
        out = [f"# {recs[0]['title']}\n"]
        for r in recs[1:] if recs[0]["level"] <= 1 else recs:
            out.append(f"{'#' * min(r['level'] + 1, 6)} {r['title']}\n\n{r['text']}\n")
        if recs[0]["level"] <= 1 and recs[0]["text"]:
            out.insert(1, recs[0]["text"] + "\n")
        path = root / lang / f"{page}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(out), encoding="utf-8")
    return root


def questions(records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(question, page, title) for 200 English sections, reproducibly."""
    pool = sorted(
        (r for r in records if r["lang"] == "en" and len(r["text"]) >= 200),
        key=lambda r: r["_id"],
    )
    picked = random.Random(15).sample(pool, N_QUESTIONS)
    return [
        (_NUMBER.sub("", r["title"]).strip() or r["title"], r["page"], r["title"]) for r in picked
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--embedder", choices=["minilm", "hash"], default="minilm")
    args = ap.parse_args()

    from ragline.config import IngestSettings, Settings
    from ragline.embed import HashEmbedder, MiniLMEmbedder
    from ragline.ingest import Ingestor, LanguageDetector
    from ragline.ingest._enrich import MIXED_LANGUAGES_KEY, prose_segments
    from ragline.retrieve import Retriever
    from ragline.store import SQLiteStore

    records = load()
    work = WORK / "language_filter"
    kb = write_kb(records, work / "kb")
    embedder: Any = MiniLMEmbedder() if args.embedder == "minilm" else HashEmbedder(256)
    db = work / f"kb.{args.embedder}.db"
    db.unlink(missing_ok=True)
    store = SQLiteStore(db)
    ingest = IngestSettings.model_validate({})
    start = time.perf_counter()
    Ingestor(store, embedder, ingest, project_dir=work).ingest([kb])
    ingest_s = time.perf_counter() - start

    docs = store.list_documents("default")
    chunks = [c for d in docs for c in store.document_chunks("default", d.id)]
    es_docs = [d for d in docs if d.source.startswith("kb/es/")]
    es_docs_en = sum(d.language == "en" for d in es_docs)
    es_chunks = [c for c in chunks if c.source.startswith("kb/es/")]
    es_chunks_en = sum(c.language == "en" for c in es_chunks)
    mixed = sum(MIXED_LANGUAGES_KEY in c.metadata for c in chunks)
    en_mixed = sum(
        MIXED_LANGUAGES_KEY in c.metadata for c in chunks if c.source.startswith("kb/en/")
    )

    judge = LanguageDetector(["en", "es"])
    spanish_text: dict[str, bool] = {}

    def has_spanish(chunk: Any) -> bool:
        if chunk.id not in spanish_text:
            spanish_text[chunk.id] = "es" in judge.detect_many(prose_segments(chunk.text))
        return spanish_text[chunk.id]

    qs = questions(records)
    tenants = {
        "no filter": {},
        "languages [en], chunk scope (before)": {"languages": ["en"], "language_scope": "chunk"},
        "languages [en], document scope (after)": {"languages": ["en"]},
    }
    rows = []
    with captured() as out:
        print(
            f"{len(docs)} documents, {len(chunks)} chunks ({args.embedder} embedder, "
            f"ingest {ingest_s:.0f} s); Spanish files: {len(es_docs)} documents of which "
            f"{es_docs_en} detected English, {len(es_chunks)} chunks of which {es_chunks_en} "
            f"detected English; {mixed} chunks marked mixed ({en_mixed} in English files)."
        )
        for name, tenant in tenants.items():
            settings = Settings.model_validate({"tenants": {"default": tenant} if tenant else {}})
            retriever = Retriever(store, embedder, settings)
            es_file = es_text = hits_n = gold = 0
            for q, page, title in qs:
                hits = retriever.search(q, tenant="default", k=K).hits
                hits_n += len(hits)
                es_file += sum(h.chunk.source.startswith("kb/es/") for h in hits)
                es_text += sum(has_spanish(h.chunk) for h in hits)
                gold += any(
                    h.chunk.source == f"kb/en/{page}.md" and title in h.chunk.section_path
                    for h in hits
                )
            rows.append(
                [
                    name,
                    hits_n,
                    es_file,
                    f"{es_file / max(hits_n, 1):.1%}",
                    es_text,
                    f"{es_text / max(hits_n, 1):.1%}",
                    f"{gold / len(qs):.3f}",
                ]
            )
        print()
        print(
            table(
                [
                    "tenant",
                    f"hits (top {K})",
                    "from Spanish files",
                    "share",
                    "with Spanish text",
                    "share",
                    f"English gold@{K}",
                ],
                rows,
            )
        )
    body = out.getvalue()
    body += (
        "\nQuestions: 200 English section titles (numbering removed), drawn with "
        "`random.Random(15)` from the English sections with ≥ 200 characters of text. "
        '"Spanish text": a hit with any prose sentence lingua (en vs es) calls Spanish. '
        "Gold: a hit from the same section of the English page.\n"
    )
    write_section(
        f"language_filter_{args.embedder}",
        f"Language filter at document level: Debian Reference EN/ES ({args.embedder})",
        body,
    )


if __name__ == "__main__":
    main()
