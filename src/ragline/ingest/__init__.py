"""Ingestion: load files (txt, md, html, pdf, docx, json/jsonl), chunk them with their
title and section path, detect language and doc type, embed and store — incrementally.

Public names::

    Ingestor(store, embedder, settings, *, project_dir).ingest(paths, *, tenant, sync,
             json_fields, on_progress) -> IngestReport
    load_file(path, settings=None, *, json_fields=None) -> list[LoadedDocument]
    chunk_document(doc, document_id, *, chunk_size, chunk_overlap, tenant, source)
    split_text(text, chunk_size, chunk_overlap) -> list[str]
"""

from ragline.ingest._chunker import (
    chunk_document,
    content_hash,
    max_chunk_chars,
    split_spans,
    split_text,
)
from ragline.ingest._enrich import LanguageDetector, match_doc_type
from ragline.ingest._json import JsonFields
from ragline.ingest._loaded import LoadedDocument, Section
from ragline.ingest._loaders import FORMATS, load_file
from ragline.ingest._pipeline import Ingestor, walk
from ragline.ingest._report import STATUSES, FileResult, IngestReport, Status

SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(FORMATS))

__all__ = [
    "STATUSES",
    "SUPPORTED_EXTENSIONS",
    "FileResult",
    "IngestReport",
    "Ingestor",
    "JsonFields",
    "LanguageDetector",
    "LoadedDocument",
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
