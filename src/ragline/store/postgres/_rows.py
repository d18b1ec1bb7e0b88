"""Helpers of the PostgreSQL store: column lists, values, text-search configs, URLs, errors."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, TypeVar

import numpy as np

from ragline._text import words
from ragline.errors import StoreError
from ragline.store._base import Vector
from ragline.store._rows import CHUNK, DOCUMENT

log = logging.getLogger("ragline.store")
T = TypeVar("T")


HNSW_MAX_DIMENSION = 2000
BM25_K1 = 1.2  # the same parameters as the SQLite and memory stores
BM25_B = 0.75
_LEXEME = re.compile(r"\w+")  # pgvector's limit for an HNSW index on ``vector``

# ISO 639-1 codes (and names) to PostgreSQL text-search configurations.
LANGUAGE_CONFIGS = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
DEFAULT_CONFIG = "english"

_DOC_COLS = DOCUMENT.select()
_CHUNK_COLS = CHUNK.select("c.")
_TEXT_FIELDS = {"doc_type", "language", "document_id", "source", "title"}


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("\\u0000", "\\ufffd")  # jsonb cannot hold NUL


def clean_text(value: T) -> T:
    """PostgreSQL text cannot hold NUL: it is stored as U+FFFD (other values pass)."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")  # type: ignore[return-value]
    return value


def _vec_literal(row: Any) -> str:
    return "[" + ",".join(repr(float(x)) for x in row) + "]"


def _vec_from_binary(data: bytes) -> Vector:
    """pgvector's binary form (``vector_send``): int16 dim, int16 unused, big-endian f4s."""
    return np.frombuffer(data, dtype=">f4", offset=4).astype(np.float32)


def fts_text(text: str) -> str:
    """What goes into ``to_tsvector``: lowercase, accent-free words, in order."""
    return " ".join(words(text))


def describe_url(url: str) -> tuple[str, str]:
    """``(host:port, safe_url)`` for messages: the URL without its password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception:
        return "?", "postgresql://(unparseable URL)"
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    user = str(params.get("user") or "")
    db = str(params.get("dbname") or "")
    where = f"{host}:{port}"
    return where, f"postgresql://{user + '@' if user else ''}{where}/{db}"


def scrub_password(url: str, text: str) -> str:
    """``text`` with the URL's password (if any) replaced by ``***``."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        password = conninfo_to_dict(url).get("password")
    except Exception:
        return text
    return text.replace(str(password), "***") if password else text


def _connect_error(url: str, e: Exception) -> StoreError:
    """A clear error naming host:port (never the password) for a failed connection."""
    if isinstance(e, StoreError):
        return e
    where, _ = describe_url(url)
    message = " ".join(line.strip() for line in str(e).strip().splitlines())
    reason = scrub_password(url, message or repr(e))
    low = reason.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        hint = "check the user name and password in the store URL"
    elif "does not exist" in low:
        hint = "create the database/role, or fix the store URL"
    elif "permission denied" in low or "must be owner" in low or "superuser" in low:
        hint = "grant the role rights on the database, or have an admin run `ragline migrate`"
    else:
        hint = (
            "check that PostgreSQL is running and reachable at that host and port "
            "(or use the default store sqlite:///ragline.db)"
        )
    return StoreError(f"cannot connect to PostgreSQL at {where}: {reason}", hint=hint)


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql+psycopg://`` spellings too."""
    scheme, sep, rest = url.partition("://")
    if sep and (scheme.lower() in ("postgres", "postgresql") or scheme.startswith("postgresql+")):
        return "postgresql://" + rest
    return url


def _field_sql(name: str) -> tuple[str, list[Any]]:
    if name in _TEXT_FIELDS:
        return name, []
    if name == "page":
        return "page::text", []
    return "(metadata -> %s)::text", [name]


def _field_value(name: str, text: str | None) -> Any:
    if text is None:
        return None
    if name in _TEXT_FIELDS:
        return text
    if name == "page":
        return int(text)
    return json.loads(text)
