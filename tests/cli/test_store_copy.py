"""``ragline store copy`` between SQLite stores (PostgreSQL: tests/cli/test_postgres_cli.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ragline.cli import app
from ragline.errors import InputError
from ragline.store import open_backend
from ragline.store._traces import Feedback, SpanRecord
from ragline.testing._store_conformance import make_document

runner = CliRunner()
T1, T2 = "a" * 32, "b" * 32
S1, S2 = "1" * 16, "2" * 16
ATTRS = {"ragline.question": "what?", "gen_ai.usage.input_tokens": 3}


def _fill(url: str, base: Path) -> None:
    backend = open_backend(url, base_dir=base)
    try:
        store = backend.documents
        store.upsert_document(*make_document("a", ["alpha one", "alpha two"], metadata={"k": 1}))
        store.upsert_document(*make_document("b", ["beta"], tenant="acme", language="en"))
        store.upsert_document(*make_document("empty", []))
        backend.traces.write_spans(
            [
                SpanRecord(T1, S1, None, "ask", "ask", "default", 1.0, 2.0, attributes=ATTRS),
                SpanRecord(T1, S2, S1, "retrieve", "retrieval", "default", 1.1, 1.5),
                SpanRecord(T2, S1, None, "ask", "ask", "acme", 3.0, 4.0, status="error"),
            ]
        )
        backend.traces.add_feedback(Feedback("f1", T1, "default", "hallucination", "bad", 5.0))
    finally:
        backend.close()


def test_copy_sqlite_to_sqlite_keeps_everything(tmp_path: Path) -> None:
    _fill("sqlite:///src.db", tmp_path)
    result = runner.invoke(
        app, ["-C", str(tmp_path), "store", "copy", "sqlite:///src.db", "sqlite:///dst.db"]
    )
    assert result.exit_code == 0, result.output
    assert "acme: 1 document, 1 chunk" in result.output
    assert "default: 2 documents, 2 chunks" in result.output
    assert "copied 3 documents, 3 chunks in 2 tenants; 2 traces (3 spans), 1 feedback item" in (
        result.output.replace("\n", " ")
    )
    src = open_backend("sqlite:///src.db", base_dir=tmp_path)
    dst = open_backend("sqlite:///dst.db", base_dir=tmp_path)
    try:
        for tenant in ("default", "acme"):
            assert dst.documents.list_documents(tenant) == src.documents.list_documents(tenant)
            for doc in src.documents.list_documents(tenant):
                chunks = src.documents.document_chunks(tenant, doc.id)
                assert dst.documents.document_chunks(tenant, doc.id) == chunks
                ids = [c.id for c in chunks]
                assert np.allclose(
                    dst.documents.get_embeddings(tenant, ids),
                    src.documents.get_embeddings(tenant, ids),
                    atol=1e-6,
                )
        assert dst.traces.get_trace(T1) == src.traces.get_trace(T1)
        assert [f.id for f in dst.traces.list_feedback()] == ["f1"]
    finally:
        src.close()
        dst.close()


def test_copy_refuses_a_non_empty_destination_unless_forced(tmp_path: Path) -> None:
    _fill("sqlite:///src.db", tmp_path)
    args = ["-C", str(tmp_path), "store", "copy", "sqlite:///src.db", "sqlite:///dst.db"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert isinstance(again.exception, InputError)
    assert "not empty" in str(again.exception) and "--force" in str(again.exception)
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    dst = open_backend("sqlite:///dst.db", base_dir=tmp_path)
    try:
        assert dst.documents.stats("default").chunks == 2  # replaced, not doubled
    finally:
        dst.close()


@pytest.mark.parametrize(
    "destination", ["sqlite:///src.db", "sqlite:///./src.db", "sqlite:///sub/../src.db"]
)
def test_copy_refuses_a_store_onto_itself(tmp_path: Path, destination: str) -> None:
    _fill("sqlite:///src.db", tmp_path)
    (tmp_path / "sub").mkdir()
    result = runner.invoke(
        app, ["-C", str(tmp_path), "store", "copy", "sqlite:///src.db", destination]
    )
    assert result.exit_code == 1
    assert "same store" in str(result.exception)


def test_copy_without_traces(tmp_path: Path) -> None:
    _fill("sqlite:///src.db", tmp_path)
    result = runner.invoke(
        app,
        ["-C", str(tmp_path), "store", "copy", "sqlite:///src.db", "sqlite:///d.db", "--no-traces"],
    )
    assert result.exit_code == 0, result.output
    assert "span" not in result.output.splitlines()[-1]
    dst = open_backend("sqlite:///d.db", base_dir=tmp_path)
    try:
        assert dst.traces.list_traces() == [] and dst.documents.tenants() == ["acme", "default"]
    finally:
        dst.close()


def test_copy_bad_url_is_one_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["-C", str(tmp_path), "store", "copy", "mysql://x", "memory://"])
    assert result.exit_code == 1
    assert "unsupported store URL" in str(result.exception)
