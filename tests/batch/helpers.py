"""A corpus, projects and snapshots shared by the Ray executor tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ragline import Project

# small model batches, so a few dozen documents make several flushes and many batches
OVERRIDES: dict[str, Any] = {"embedder": "hash", "ingest.batch_size": 4}


def write_corpus(root: Path, n: int = 24) -> Path:
    """Markdown files of 1-3 chunks, an HTML page, JSONL records and one empty file."""
    docs = root / "corpus"
    docs.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        paragraphs = [
            f"Paragraph {p} of document {i}: "
            + " ".join(f"term{i}x{p}x{j}" for j in range(40 + 60 * p))
            for p in range(1 + i % 3)
        ]
        (docs / f"doc{i:02d}.md").write_text(
            f"# Document {i}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
        )
    (docs / "page.html").write_text(
        "<html><head><title>Page</title></head><body><h1>Shipping</h1>"
        "<p>Orders ship within two days to every country we serve.</p></body></html>",
        encoding="utf-8",
    )
    with (docs / "faq.jsonl").open("w", encoding="utf-8") as f:
        for i in range(6):
            record = {"id": f"faq-{i}", "text": f"Question {i} about returns and refunds {i}."}
            f.write(json.dumps(record) + "\n")
    (docs / "empty.md").write_text("", encoding="utf-8")
    return docs


def open_project(path: Path, **overrides: Any) -> Project:
    path.mkdir(parents=True, exist_ok=True)
    return Project(path, overrides={**OVERRIDES, **overrides})


def snapshot(project: Project, tenant: str = "default") -> dict[str, Any]:
    """What a user would compare: every document's id, content hash and chunk count,
    every chunk's id, hash and text, and the chunks' vectors."""
    store = project.store
    docs = sorted(store.list_documents(tenant), key=lambda d: d.id)
    chunks = {d.id: store.document_chunks(tenant, d.id) for d in docs}
    ids = [c.id for d in docs for c in chunks[d.id]]
    return {
        "documents": [(d.id, d.content_hash, d.chunk_count) for d in docs],
        "chunks": {k: [(c.id, c.content_hash, c.text) for c in v] for k, v in chunks.items()},
        "vectors": np.asarray(store.get_embeddings(tenant, ids)),
        "stats": store.stats(tenant),
    }


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["documents"] == b["documents"]
    assert a["chunks"] == b["chunks"]
    assert a["stats"] == b["stats"]
    np.testing.assert_allclose(a["vectors"], b["vectors"], rtol=0, atol=1e-6)


def report_rows(report: Any) -> list[tuple[str, str, int, int]]:
    """The report's per-file rows (what the summary table prints), in order."""
    return [(r.path, r.status, r.documents, r.chunks) for r in report.files]
