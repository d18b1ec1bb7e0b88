"""``ragline ingest --executor ray``: the local pipeline with its embedding on Ray actors.

The driver walks, hashes, claims, loads and chunks exactly as a local ingest does and
writes each document in its own transaction through the store (SQLite or PostgreSQL);
the embedding (the bulk of the time with the bundled model) runs on ``workers`` actors
with one model each. A flush holds four model batches per actor, so every actor has
work while the driver waits. Because the writes are the local path's, the result is
the local result: the same documents, chunks and content hashes, idempotent on a
re-run, and a batch lost with its worker is retried on a restarted one (see
:mod:`ragline.batch._embed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ragline.batch._embed import RayEmbedder
from ragline.batch._ray import ExecutorSpec, cluster_cpus, ray_session
from ragline.embed._base import Embedder


@contextmanager
def ray_embedder(
    spec: ExecutorSpec,
    factory: Callable[[], Embedder],
    *,
    batch_size: int,
    workers: int | None = None,
) -> Iterator[RayEmbedder]:
    """A :class:`RayEmbedder` with ``workers`` actors (default: one per cluster CPU),
    connected for the duration; its actors are stopped after."""
    with ray_session(spec) as ray:
        embedder = RayEmbedder(
            ray, factory, workers=workers or cluster_cpus(ray), batch_size=batch_size
        )
        try:
            yield embedder
        finally:
            embedder.close()


def flush_chunks(embedder: RayEmbedder) -> int:
    """Chunks per ingest flush: four model batches per actor."""
    return embedder.batch_size * 4 * embedder.workers
