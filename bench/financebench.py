"""FinanceBench (open-source sample): document metadata in retrieval, end to end.

Knowledge base: every evidence page of the 150 questions (168 pages of 84 filings of
32 companies), one ``.txt`` file per page with the page's extracted text
(``evidence_text_full_page``). File names are opaque (``017-p59.txt``), like the SEC
accession-number names of real filings, so a page that does not name its company
does not get it from its file name. Each page has a sidecar with the metadata the
dataset gives for its filing: ``company``, ``doc_type`` and ``period`` (``FY2018``;
``2023-Q2`` for a quarterly filing whose name says the quarter).

Arms, one run, the bundled MiniLM embedder and the default extractive answerer
through :meth:`Project.ask` (the real pipeline):

- ``before``: ``ingest.metadata.enabled: false`` and ``retrieval.metadata_match: off``
  — the sidecar keys are stored but not indexed or matched (what ragline did before);
- ``after (boost)``: the defaults — the sidecar's company/period/doc type become
  ``ragline.org``/``ragline.period``/``ragline.doc_type``, are on a line of each
  chunk's indexed text, and query analysis boosts what the question names;
- ``after (filter)``: the same KB with ``retrieval.metadata_match: filter``;
- ``extraction only`` (``--extraction``): no sidecars at all, the defaults — what
  ingest finds in the page text by itself (pages deep inside a filing rarely name
  the company in a way the conservative extractor accepts; the share is printed), and
  the same KB with ``retrieval.metadata_match: off`` (the indexed line alone).

Measured per arm: gold evidence page in the top 5 hits; the answer contains the gold
figure (the 50 "metrics-generated" questions whose gold answer is a number: a number
in the answer within 0.5% of it; many of these need a calculation the extractive
answerer cannot do); the answer cites only pages of the right company and fiscal
year (share of answered questions; abstentions counted apart); the answer cites a
gold page.

    python bench/financebench.py [--extraction] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import DATASETS, WORK, captured, table, write_section

DATA = DATASETS / "financebench" / "data"
K = 5
_DOC_TYPES = {"10k": "10-K", "10q": "10-Q", "8k": "8-K", "earnings": "earnings release"}
_QUARTER = re.compile(r"_(\d{4})Q([1-4])_")
_NUMBER = re.compile(r"[-(]?\$?\s?\d[\d,]*(?:\.\d+)?%?\)?")


@dataclass(slots=True)
class Question:
    id: str
    text: str
    kind: str
    answer: str
    doc_name: str
    gold: set[tuple[str, int]]  # (doc_name, page)


def load() -> tuple[list[Question], dict[str, dict[str, Any]], dict[tuple[str, int], str]]:
    docs = {}
    for line in (DATA / "financebench_document_information.jsonl").read_text().splitlines():
        d = json.loads(line)
        docs[d["doc_name"]] = d
    questions: list[Question] = []
    pages: dict[tuple[str, int], str] = {}
    for line in (DATA / "financebench_open_source.jsonl").read_text().splitlines():
        r = json.loads(line)
        gold: set[tuple[str, int]] = set()
        for e in r["evidence"]:
            key = (e["doc_name"], int(e["evidence_page_num"]))
            gold.add(key)
            text = e["evidence_text_full_page"] or e["evidence_text"]
            if len(text) > len(pages.get(key, "")):
                pages[key] = text
        questions.append(
            Question(
                r["financebench_id"],
                r["question"],
                r["question_type"],
                r["answer"],
                r["doc_name"],
                gold,
            )
        )
    return questions, docs, pages


def period_of(doc: dict[str, Any]) -> str:
    m = _QUARTER.search(doc["doc_name"] + "_")
    return f"{m.group(1)}-Q{m.group(2)}" if m else f"FY{doc['doc_period']}"


def write_kb(
    root: Path,
    docs: dict[str, dict[str, Any]],
    pages: dict[tuple[str, int], str],
    *,
    sidecars: bool,
) -> dict[str, tuple[str, int]]:
    """One file per page; returns document id → (doc_name, page)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    numbers = {name: i for i, name in enumerate(sorted({n for n, _ in pages}))}
    ids: dict[str, tuple[str, int]] = {}
    for (name, page), text in sorted(pages.items()):
        path = root / f"{numbers[name]:03d}-p{page}.txt"
        path.write_text(text, encoding="utf-8")
        ids[f"{root.name}/{path.name}"] = (name, page)
        if sidecars:
            doc = docs[name]
            meta = {
                "company": doc["company"],
                "doc_type": _DOC_TYPES.get(doc["doc_type"].lower(), doc["doc_type"]),
                "period": period_of(doc),
            }
            (root / f"{path.name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return ids


def numbers_in(text: str) -> list[float]:
    out: list[float] = []
    for m in _NUMBER.finditer(text):
        raw = m.group(0)
        negative = raw.startswith(("-", "(")) and (raw.endswith(")") or raw.startswith("-"))
        digits = re.sub(r"[^\d.]", "", raw)
        if not digits or digits == ".":
            continue
        try:
            value = float(digits)
        except ValueError:
            continue
        out.append(-value if negative else value)
    return out


def has_figure(answer: str, gold: str) -> bool | None:
    """Whether ``answer`` states the gold number (None: the gold answer is no number)."""
    wanted = numbers_in(gold)
    if len(wanted) != 1 or not re.fullmatch(r"[\s$()\-\d,.%a-zA-Z]*", gold.strip()):
        return None
    target = wanted[0]
    for got in numbers_in(answer):
        if abs(abs(got) - abs(target)) <= 0.005 * max(abs(target), 1e-9):
            return True
    return False


def run_arm(
    name: str,
    project_dir: Path,
    questions: Sequence[Question],
    ids: dict[str, tuple[str, int]],
    docs: dict[str, dict[str, Any]],
    overrides: dict[str, Any],
) -> list[object]:
    from ragline import Project

    gold5 = figure_n = figure_ok = answered = right_all = cited_gold = abstained = 0
    with Project(project_dir, overrides=overrides) as project:
        for q in questions:
            answer = project.ask(q.text)
            hits = [ids.get(h.chunk.document_id) for h in answer.hits[:K]]
            gold5 += any(h in q.gold for h in hits)
            want = docs[q.doc_name]
            figure = has_figure(answer.text, q.answer) if q.kind == "metrics-generated" else None
            if figure is not None:
                figure_n += 1
                figure_ok += figure and not answer.abstained
            if answer.abstained:
                abstained += 1
                continue
            answered += 1
            cited = [ids.get(r.document_id) for r in answer.references]
            cited_docs = [docs[c[0]] for c in cited if c is not None]
            right_all += bool(cited_docs) and all(
                d["company"] == want["company"] and d["doc_period"] == want["doc_period"]
                for d in cited_docs
            )
            cited_gold += any(c in q.gold for c in cited)
    n = len(questions)
    return [
        name,
        gold5 / n,
        f"{figure_ok}/{figure_n} = {figure_ok / max(figure_n, 1):.3f}",
        right_all / max(answered, 1),
        cited_gold / n,
        abstained / n,
    ]


def ingest(project_dir: Path, kb: Path, overrides: dict[str, Any]) -> tuple[int, float]:
    from ragline import Project

    start = time.perf_counter()
    with Project(project_dir, overrides=overrides) as project:
        report = project.ingest([kb])
        if not report.ok:
            raise SystemExit(f"ingest failed: {report.failed}")
        chunks = report.chunks
    return chunks, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--extraction", action="store_true", help="add the no-sidecar arm")
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"dataset not found: {DATA} — nothing to do")
        return
    questions, docs, pages = load()
    if args.limit:
        questions = questions[: args.limit]
    work = WORK / "financebench"
    base = {"tracing.enabled": False}
    off = {"ingest.metadata.enabled": False, "retrieval.metadata_match": "off"}
    arms: list[tuple[str, str, dict[str, Any], bool]] = [
        ("before", "before", off, True),
        ("after (boost)", "after", {}, True),
        ("after (filter)", "after", {"retrieval.metadata_match": "filter"}, True),
    ]
    if args.extraction:
        arms.append(("extraction only (no sidecars)", "extraction", {}, False))
        off_match = {"retrieval.metadata_match": "off"}
        arms.append(("extraction only, metadata_match off", "extraction", off_match, False))
    rows: list[list[object]] = []
    with captured() as out:
        built: dict[str, dict[str, tuple[str, int]]] = {}
        for name, folder, overrides, sidecars in arms:
            project_dir = work / folder
            settings = {**base, **overrides}
            if folder not in built:
                if project_dir.exists():
                    shutil.rmtree(project_dir)
                project_dir.mkdir(parents=True)
                built[folder] = write_kb(project_dir / "kb", docs, pages, sidecars=sidecars)
                chunks, seconds = ingest(project_dir, project_dir / "kb", settings)
                print(f"{folder}: {len(built[folder])} pages, {chunks} chunks ({seconds:.0f} s)")
                if not sidecars:
                    print(extraction_report(project_dir, built[folder], docs, settings))
            rows.append(run_arm(name, project_dir, questions, built[folder], docs, settings))
            print(rows[-1])
        print()
        print(
            table(
                [
                    "arm",
                    f"gold page in top {K}",
                    "answer has the gold figure (metrics)",
                    "cites only right company+year (answered)",
                    "cites a gold page",
                    "abstained",
                ],
                rows,
            )
        )
    body = out.getvalue()
    body += (
        f"\n{len(questions)} questions, {len(pages)} evidence pages as the knowledge base "
        "(one opaque-named .txt per page; sidecars with the dataset's company, doc type "
        "and period except in the extraction-only arm). Default settings otherwise "
        "(bundled MiniLM, hybrid RRF, extractive answerer, k = 5). The gold figure: a "
        "number in the answer within 0.5% of the gold number, counted only for the "
        "metrics-generated questions whose gold answer is one number.\n"
    )
    write_section("financebench", "FinanceBench: document metadata in retrieval", body)


def extraction_report(
    project_dir: Path,
    ids: dict[str, tuple[str, int]],
    docs: dict[str, dict[str, Any]],
    overrides: dict[str, Any],
) -> str:
    """How many pages got an organisation / period by extraction, and how many right."""
    from ragline import Project
    from ragline.retrieve._metadata_match import org_aliases

    with Project(project_dir, overrides=overrides) as project:
        stored = project.store.list_documents("default")
    orgs = right = periods = 0
    for d in stored:
        name, _page = ids[d.id]
        org = d.metadata.get("ragline.org")
        if isinstance(org, str):
            orgs += 1
            want = org_aliases(docs[name]["company"])
            right += bool(want & org_aliases(org)) or any(
                w in a for w in want for a in org_aliases(org)
            )
        periods += "ragline.period" in d.metadata
    return (
        f"extraction: {orgs}/{len(stored)} pages got ragline.org ({right} of them the "
        f"dataset's company), {periods} got ragline.period"
    )


if __name__ == "__main__":
    main()
