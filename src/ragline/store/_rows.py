"""Row layouts: a stored record's columns declared once, read back by one decoder.

A :class:`Layout` names the fields of a record in the order its ``SELECT`` lists their
columns, and how a column's value becomes the field's value. The SQL backends build
their column lists with :meth:`Layout.select` and turn rows into records with
:meth:`Layout.decode`, so a column list and the code that reads it cannot drift
apart, and there is one decoder, not one hand-indexed constructor per record and
backend.

JSON columns come back as text from SQLite and already parsed from a PostgreSQL
``jsonb`` column; the readers here (:func:`json_dict`, :func:`json_list`) accept
either and always return a fresh object, which the caller may edit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from ragline.types import Chunk, Document

R = TypeVar("R")
Read = Callable[[Any], Any]


class Layout(Generic[R]):
    """The stored columns of one record type.

    ``fields`` are the record's field names in column order (space-separated);
    ``columns`` renames a field's column where they differ; ``read`` converts a
    column's value (the others are used as they come).

    >>> point = Layout(dict, "x y", read={"y": float})
    >>> point.select("p."), point.decode((1, "2.5"))
    ('p.x, p.y', {'x': 1, 'y': 2.5})
    """

    def __init__(
        self,
        record: Callable[..., R],
        fields: str,
        *,
        columns: Mapping[str, str] | None = None,
        read: Mapping[str, Read] | None = None,
    ) -> None:
        self.record = record
        self.fields = tuple(fields.split())
        renamed = columns or {}
        readers = read or {}
        unknown = (set(renamed) | set(readers)) - set(self.fields)
        if unknown:
            raise ValueError(f"not fields of this layout: {sorted(unknown)}")
        self.columns = tuple(renamed.get(f, f) for f in self.fields)
        self._read = tuple(readers.get(f) for f in self.fields)

    def select(self, prefix: str = "") -> str:
        """The column list, e.g. ``select("c.")`` → ``"c.id, c.document_id, …"``."""
        return ", ".join(prefix + column for column in self.columns)

    def decode(self, row: Sequence[Any]) -> R:
        """The record of a row whose first columns are :meth:`select`'s (more may follow)."""
        values = {
            name: value if read is None else read(value)
            for name, read, value in zip(self.fields, self._read, row, strict=False)
        }
        return self.record(**values)


def json_dict(value: Any) -> dict[str, Any]:
    """A JSON object column (text or parsed) as a fresh dict."""
    parsed = json.loads(value) if isinstance(value, str) else value
    return dict(parsed)


def json_list(value: Any) -> list[Any]:
    """A JSON array column (text or parsed) as a fresh list."""
    parsed = json.loads(value) if isinstance(value, str) else value
    return list(parsed)


#: ``documents`` rows, in the order of :class:`~ragline.types.Document`'s fields
DOCUMENT: Layout[Document] = Layout(
    Document,
    "id source title content_hash tenant doc_type language metadata embedder chunk_count "
    "updated_at",
    read={"metadata": json_dict},
)

#: ``chunks`` rows, in the order of :class:`~ragline.types.Chunk`'s fields
CHUNK: Layout[Chunk] = Layout(
    Chunk,
    "id document_id ordinal text title tenant section_path page language doc_type source "
    "content_hash metadata",
    read={"section_path": json_list, "metadata": json_dict},
)
