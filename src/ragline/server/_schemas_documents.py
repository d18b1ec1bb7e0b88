"""Request and response bodies of ``/v1/documents`` (they make its OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from ragline.server._schemas import _In
from ragline.server._uploads import RESERVED_FIELDS

MetaValue = str | int | float | bool | None | list[str | int | float | bool]
MAX_DOCUMENTS = 1000


def _clean(value: str, what: str) -> str:
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValueError(f"{what} contains a lone surrogate (not valid Unicode)")
    return value


class DocumentIn(_In):
    id: str = Field(min_length=1, max_length=1024, description="your id for the document")
    text: str = Field(min_length=1, description="the document's text")
    title: str = Field("", max_length=1000)
    metadata: dict[str, MetaValue] = Field(
        default_factory=dict, description="filterable fields, e.g. {'owner': 'hr'}"
    )
    language: str | None = Field(
        None, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$", description="e.g. en, de"
    )
    doc_type: str | None = Field(None, min_length=1, max_length=100)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if v != v.strip():
            raise ValueError("id has leading or trailing whitespace")
        return _clean(v, "id")

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is blank")
        return _clean(v, "text")

    @field_validator("title", "doc_type")
    @classmethod
    def _plain(cls, v: str | None) -> str | None:
        return None if v is None else _clean(v, "the value")

    @field_validator("metadata")
    @classmethod
    def _meta(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, value in v.items():
            _clean(key, "a metadata key")
            if key in RESERVED_FIELDS:
                raise ValueError(f"metadata key {key!r} is reserved; use the field of that name")
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    _clean(item, f"metadata {key!r}")
        return v


class DocumentsIn(_In):
    documents: list[DocumentIn] = Field(min_length=1, max_length=MAX_DOCUMENTS)

    @model_validator(mode="after")
    def _unique(self) -> DocumentsIn:
        seen: set[str] = set()
        for d in self.documents:
            if d.id in seen:
                raise ValueError(f"duplicate document id {d.id!r}")
            seen.add(d.id)
        return self


class ItemOut(BaseModel):
    name: str = Field(description="the upload name, or the document id for JSON")
    status: str = Field(
        description="added, updated, unchanged, busy (being ingested by another request or "
        "run at the same time: nothing done here, retry after it finishes) or failed"
    )
    documents: int
    chunks: int
    error: str | None = None


class IngestOut(BaseModel):
    tenant: str
    results: list[ItemOut]
    totals: dict[str, int]
    chunks_embedded: int
    elapsed_s: float


class DocumentOut(BaseModel):
    id: str
    source: str
    title: str
    tenant: str
    doc_type: str | None = None
    language: str | None = None
    metadata: dict[str, Any] = {}
    chunk_count: int
    content_hash: str
    embedder: str | None = None
    updated_at: float


class ChunkOut(BaseModel):
    id: str
    ordinal: int
    text: str
    section: list[str]
    page: int | None = None
    language: str | None = None


class DocumentDetailOut(DocumentOut):
    chunks: list[ChunkOut] | None = None


class DocumentListOut(BaseModel):
    documents: list[DocumentOut]
    total: int
    offset: int
    limit: int
    next_offset: int | None


class DeletedOut(BaseModel):
    id: str
    deleted: bool
    chunks: int


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` inlined (OpenAPI has no room for them here)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.rsplit("/", 1)[1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "files to ingest (.md, .txt, .html, .pdf, .docx, "
                        ".json, .jsonl); the name is the document id",
                    }
                },
                "required": ["files"],
            }
        },
        "application/json": {"schema": _inline(DocumentsIn.model_json_schema())},
    },
}
