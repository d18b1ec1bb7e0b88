"""A small project on a SQLite file, with the hash embedder, for tracing tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ragline
from ragline.answer import GroundedAnswerer
from ragline.testing import FakeModel, HashEmbedder

DOCS = {
    "warranty.md": "# Warranty\n\nEvery X200 comes with a two-year warranty. "
    "The warranty covers the motor and the battery.\n",
    "shipping.md": "# Shipping\n\nOrders ship within three days. Express shipping costs EUR 9.\n",
    "finance/report.md": "# Annual report\n\nRevenue in 2025 was EUR 48.6 million.\n",
}


def make_project(
    tmp_path: Path, yaml: str = "", *, ingest: bool = True, **overrides: Any
) -> ragline.Project:
    docs = tmp_path / "docs"
    for name, text in DOCS.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text)
    (tmp_path / "ragline.yaml").write_text(
        "store: sqlite:///ragline.db\nembedder: hash\n" + yaml, encoding="utf-8"
    )
    project = ragline.Project(tmp_path, embedder=HashEmbedder(), overrides=overrides or None)
    if ingest:
        project.ingest([docs])
    return project


def use_model(project: ragline.Project, replies: list[Any], name: str = "openai:test") -> FakeModel:
    """Answer with a scripted fake LLM instead of the extractive answerer."""
    model = FakeModel(replies, name=name)
    project.parts.view().answerer = GroundedAnswerer(model, project.embedder)
    return model


def by_name(spans: list[Any]) -> dict[str, Any]:
    return {s.name: s for s in spans}
