"""A real PostgreSQL + pgvector server for the PostgreSQL store tests.

The server comes from the ``pgserver`` wheel's binaries (see
:mod:`ragline.testing._postgres`); it runs as an unprivileged user when the tests run
as root. Tests are skipped, with the reason, only when psycopg or pgserver cannot be
imported.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

MISSING = [
    m for m in ("psycopg", "psycopg_pool", "pgserver") if importlib.util.find_spec(m) is None
]
SKIP_REASON = (
    f"PostgreSQL tests need {', '.join(MISSING)} (pip install -e '.[dev]')" if MISSING else ""
)

_names = itertools.count()


def start_server() -> Iterator[Any]:
    if MISSING:
        pytest.skip(SKIP_REASON)
    from ragline.testing._postgres import TempPostgres

    server = TempPostgres().start()
    try:
        yield server
    finally:
        server.stop()


def fresh_database(server: Any) -> Iterator[str]:
    """A new empty database (pgvector installed, owned by the app role); its URL."""
    name = f"t{next(_names)}"
    url = str(server.create_database(name))
    try:
        yield url
    finally:
        server.drop_database(name)


# -- worker processes (run as ``python pg_helpers.py MODE URL ...``) -------------------


def doc_version(doc_id: str, version: str, *, tenant: str = "default") -> tuple[Any, Any, Any]:
    """A deterministic document: 1-8 chunks whose texts name the id and version."""
    import zlib

    from ragline.testing._store_conformance import make_document

    n = 1 + zlib.crc32(doc_id.encode()) % 8
    texts = [
        f"{doc_id} version {version} part {j} "
        + " ".join(f"w{(j * 7 + k) % 97}" for k in range(40))
        for j in range(n)
    ]
    return make_document(
        doc_id,
        texts,
        tenant=tenant,
        content_hash=f"{doc_id}:{version}:{n}",
        metadata={"v": version},
    )


def _ingest(url: str, tenant: str, prefix: str, count: int, version: str) -> None:
    from ragline.store.postgres._documents import PostgresStore

    store = PostgresStore(url, max_connections=2)
    print("ready", flush=True)
    for i in range(count):
        doc_id = f"{prefix}{i}"
        store.upsert_document(*doc_version(doc_id, version, tenant=tenant))
        print(doc_id, flush=True)  # acknowledged: the upsert committed
    store.close()


def _mixed(url: str, count: int) -> None:
    """A third writer: response-cache rows plus upserts in another tenant."""
    from ragline.models._base import Completion
    from ragline.store.postgres._cache import PostgresResponseCache
    from ragline.store.postgres._documents import PostgresStore

    store = PostgresStore(url, max_connections=2)
    cache = PostgresResponseCache(store)
    for i in range(count):
        cache.put(f"key-{i}", Completion(text=f"answer {i}", model="fake"), ttl_s=3600)
        store.upsert_document(*doc_version(f"c{i}", "1", tenant="other"))
    print("done", flush=True)
    store.close()


def main(argv: list[str]) -> None:
    mode, url, *rest = argv
    if mode == "ingest":
        tenant, prefix, count, version = rest
        _ingest(url, tenant, prefix, int(count), version)
    elif mode == "mixed":
        _mixed(url, int(rest[0]))
    else:  # pragma: no cover
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
