"""Batch work beyond one process: ingest, evaluation and re-embedding on Ray.

Ray is the optional extra ``ragline[ray]``; nothing here imports it until a command
runs with ``--executor ray`` (``ray``, or ``ray://HOST:PORT`` for a cluster's head).
PostgreSQL (or SQLite on one machine) holds all state; Ray only runs the work, and
every write goes through the store's own transactions from the driver.
"""

from __future__ import annotations

from ragline.batch._embed import RayEmbedder
from ragline.batch._ingest import flush_chunks, ray_embedder
from ragline.batch._ray import ExecutorSpec, import_ray, parse_executor, ray_session

__all__ = [
    "ExecutorSpec",
    "RayEmbedder",
    "flush_chunks",
    "import_ray",
    "parse_executor",
    "ray_embedder",
    "ray_session",
]
