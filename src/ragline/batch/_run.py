"""One ingest of a project on its executor, as ``Project.ingest`` and ``ragline ingest``
run it: files through the :class:`~ragline.ingest.Ingestor` (embedding here or on Ray
actors), or JSONL records with precomputed vectors (:mod:`ragline.ingest._bulk`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ragline.errors import InputError

if TYPE_CHECKING:
    import os

    from ragline._parts import Parts
    from ragline.ingest import Ingestor, IngestReport, JsonFields


def run_ingest(
    parts: Parts,
    targets: Sequence[Path],
    *,
    tenant: str,
    fields: JsonFields,
    sync: bool = False,
    vector_field: str | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    root: str | os.PathLike[str] | None = None,
    executor: str | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Ingest ``targets`` into ``tenant`` (see ``Project.ingest``)."""
    from ragline.batch import parse_executor

    spec = parse_executor(executor)
    if vector_field is not None:
        if not spec.is_local:
            raise InputError(
                "--vector-field loads precomputed vectors: there is nothing to embed on Ray",
                hint="drop --executor (bulk loads run on this machine)",
            )
        from ragline.ingest._bulk import load_vector_files

        return load_vector_files(
            parts.ingestor(tenant, root=root),
            list(targets),
            tenant=tenant,
            fields=fields,
            vector_field=vector_field,
            sync=sync,
            on_progress=on_progress,
        )

    def run(ingestor: Ingestor) -> IngestReport:
        return ingestor.ingest(
            targets, tenant=tenant, sync=sync, json_fields=fields, on_progress=on_progress
        )

    if spec.is_local:
        return run(parts.ingestor(tenant, root=root))
    from ragline.batch import flush_chunks, ray_embedder

    batch = parts.settings.ingest.batch_size
    with ray_embedder(spec, parts.embedder_factory(), batch_size=batch, workers=workers) as emb:
        return run(parts.ingestor(tenant, root=root, embedder=emb, flush_chunks=flush_chunks(emb)))


__all__ = ["run_ingest"]
