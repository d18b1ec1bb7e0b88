"""The public surface of ``ragline.ingest`` is pinned."""

from __future__ import annotations

import inspect

import ragline.ingest as ingest


def test_public_names() -> None:
    assert sorted(ingest.__all__) == [
        "FileResult",
        "IngestReport",
        "Ingestor",
        "JsonFields",
        "LanguageDetector",
        "LoadedDocument",
        "STATUSES",
        "SUPPORTED_EXTENSIONS",
        "Section",
        "Status",
        "chunk_document",
        "content_hash",
        "load_file",
        "match_doc_type",
        "max_chunk_chars",
        "split_spans",
        "split_text",
        "walk",
    ]
    for name in ingest.__all__:
        assert getattr(ingest, name) is not None


def test_ingest_signature_is_keyword_only_for_options() -> None:
    sig = inspect.signature(ingest.Ingestor.ingest)
    kinds = {n: p.kind for n, p in sig.parameters.items()}
    assert kinds["paths"] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    for option in ("tenant", "sync", "json_fields", "on_progress"):
        assert kinds[option] is inspect.Parameter.KEYWORD_ONLY
    assert ingest.SUPPORTED_EXTENSIONS == (
        ".docx",
        ".htm",
        ".html",
        ".json",
        ".jsonl",
        ".markdown",
        ".md",
        ".pdf",
        ".txt",
    )
