"""JSON and JSONL records: one document per record, keeping the record's own id.

A ``.json`` file holds a list of records, an object with exactly one list field of
records, or a single record. A ``.jsonl`` file holds one record per line (blank lines
are skipped). A BEIR ``corpus.jsonl`` ingests as is: ``_id``, ``title``, ``text``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragline.errors import CorruptDocumentError, EmptyDocumentError, InputError
from ragline.ingest._loaded import LoadedDocument, Section, jsonable, normalize_text


@dataclass(frozen=True, slots=True)
class JsonFields:
    """Which record fields hold the id, text, title and extra metadata.

    ``id_field=None`` tries ``_id`` then ``id``; a record with neither gets
    ``<file>#<n>`` (its 1-based position in the file). A meta field named ``doc_type`` sets
    the document type.
    """

    id_field: str | None = None
    text_field: str = "text"
    title_field: str = "title"
    meta_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "meta_fields", tuple(self.meta_fields))

    def fingerprint(self) -> str:
        return json.dumps(
            [self.id_field, self.text_field, self.title_field, list(self.meta_fields)]
        )


@dataclass(slots=True)
class RecordError:
    """A record that could not be used; the rest of its file still is."""

    locator: str
    record_id: str | None
    error: InputError


def _parse_jsonl(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {n}", json.loads(line)
        except json.JSONDecodeError as e:
            raise CorruptDocumentError(
                f"{path.name} line {n} is not valid JSON ({e.msg} at column {e.colno})",
                hint="fix or delete that line; each line must be one JSON object",
            ) from None


def _parse_json(path: Path, text: str, fields: JsonFields) -> Iterator[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CorruptDocumentError(
            f"{path.name} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})",
            hint="fix the syntax; for one record per line, name the file .jsonl",
        ) from None
    if isinstance(data, dict):
        if fields.text_field in data:
            data = [data]
        else:
            lists = [k for k, v in data.items() if isinstance(v, list)]
            if len(lists) != 1:
                found = ", ".join(lists) if lists else "none"
                raise InputError(
                    f"{path.name}: expected a list of records or an object with exactly "
                    f"one list field (list fields found: {found})",
                    hint="put the records in a top-level list, or use a .jsonl file",
                )
            data = data[lists[0]]
    if not isinstance(data, list):
        raise InputError(
            f"{path.name}: expected a list of records, found {type(data).__name__}",
            hint="put the records in a top-level list, or use a .jsonl file",
        )
    for n, record in enumerate(data, start=1):
        yield f"record {n}", record


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n\n".join(value)
    return json.dumps(value, ensure_ascii=False)


def load_json_records(
    path: Path, text: str, fields: JsonFields, *, jsonl: bool, id_prefix: str | None = None
) -> Iterator[LoadedDocument | RecordError]:
    """Yield a document (or a :class:`RecordError`) per record.

    A record without an id gets ``<id_prefix>#<n>`` (``id_prefix`` defaults to the
    file name).

    A file that is not valid JSON raises :class:`CorruptDocumentError` before any
    record is yielded, so nothing of a corrupt file is ingested.
    """
    parsed = list(_parse_jsonl(path, text) if jsonl else _parse_json(path, text, fields))
    if not parsed:
        raise EmptyDocumentError(f"{path.name} has no records", hint="add records or leave it out")
    seen: set[str] = set()
    for n, (locator, record) in enumerate(parsed, start=1):
        where = f"{path.name} {locator}"
        if not isinstance(record, dict):
            yield RecordError(
                locator,
                None,
                InputError(
                    f"{where}: a record must be a JSON object, found {type(record).__name__}",
                    hint='write records like {"id": "a1", "text": "..."}',
                ),
            )
            continue
        rid = _record_id(record, fields)
        doc_id = rid if rid is not None else f"{id_prefix or path.name}#{n}"
        if doc_id in seen:
            yield RecordError(
                locator,
                doc_id,
                InputError(
                    f"{where}: duplicate id {doc_id!r}",
                    hint="give every record a unique id; the first one was kept",
                ),
            )
            continue
        seen.add(doc_id)
        if fields.text_field not in record:
            have = ", ".join(sorted(record)[:8]) or "none"
            yield RecordError(
                locator,
                doc_id,
                InputError(
                    f"{where} (id {doc_id!r}) has no {fields.text_field!r} field (fields: {have})",
                    hint="add the field, or choose the text field with --text-field",
                ),
            )
            continue
        body = normalize_text(_text_of(record[fields.text_field]))
        if not body:
            yield RecordError(
                locator,
                doc_id,
                EmptyDocumentError(
                    f"{where} (id {doc_id!r}): field {fields.text_field!r} is empty",
                    hint="fill in the text or remove the record",
                ),
            )
            continue
        title = record.get(fields.title_field)
        meta = {k: jsonable(record[k]) for k in fields.meta_fields if k in record}
        doc_type = meta.pop("doc_type", None)
        yield LoadedDocument(
            id=doc_id,
            title=str(title).strip() if isinstance(title, (str, int, float)) else "",
            sections=[Section([], body)],
            metadata=meta,
            doc_type=str(doc_type) if doc_type else None,
            fingerprint=json.dumps(record, sort_keys=True, ensure_ascii=False, default=str),
            locator=locator,
        )


def _record_id(record: dict[str, Any], fields: JsonFields) -> str | None:
    names = [fields.id_field] if fields.id_field else ["_id", "id"]
    for name in names:
        value = record.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None
