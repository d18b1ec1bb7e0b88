"""Embedding on a pool of Ray actors: one embedder per actor, batches sized to the model.

:class:`RayEmbedder` is an :class:`~ragline.embed.Embedder`, so the ingest pipeline
runs unchanged: it hands over a flush worth of texts, and ``embed_documents`` cuts them
into batches of ``batch_size`` (the model's ``ingest.batch_size``), deals them out to
the actors and puts the vectors back in order. Embedding is a pure function of the
text, so Ray may retry a batch on a restarted actor (a killed worker process) without
changing the result; every write stays with the driver's per-document transactions.
Each actor builds its own embedder from a factory (the model loads once per actor,
never on the driver).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from ragline.embed._base import Embedder
from ragline.errors import ExecutorError, RaglineError

#: a worker process killed mid-batch is restarted and the batch retried this many times
RETRIES = 3


class _EmbedActor:
    """Holds one embedder (loaded once) in a Ray worker process."""

    def __init__(self, factory: Callable[[], Embedder]) -> None:
        self.embedder = factory()
        load = getattr(self.embedder, "load", None)
        if callable(load):
            load()

    def describe(self) -> tuple[str, int, bool]:
        e = self.embedder
        return e.name, e.dimension, bool(getattr(e, "symmetric", False))

    def pid(self) -> int:
        return os.getpid()

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return np.asarray(self.embedder.embed_documents(texts), dtype=np.float32)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        return np.asarray(self.embedder.embed_query(text), dtype=np.float32)


def gather(ray: ModuleType, refs: Any, what: str) -> Any:
    """``ray.get(refs)``; a ragline error raised in a task is re-raised as it was, and
    anything else Ray reports (a worker dead past its retries) is an ExecutorError."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, RaglineError):
            raise cause from None
        raise ExecutorError(f"{what} failed on a Ray worker: {cause or e}") from e
    except ray.exceptions.RayError as e:
        lines = str(e).strip().splitlines()
        detail = f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
        raise ExecutorError(
            f"{what}: a Ray worker was lost past {RETRIES} restarts ({detail})",
            hint="what was written stays; run the command again to resume",
        ) from e


class RayEmbedder:
    """An embedder whose ``embed_documents`` runs on ``workers`` Ray actors."""

    def __init__(
        self,
        ray: ModuleType,
        factory: Callable[[], Embedder],
        *,
        workers: int,
        batch_size: int,
    ) -> None:
        if workers < 1:
            raise ExecutorError(f"--workers must be at least 1, got {workers}")
        self._ray = ray
        self.batch_size = max(1, batch_size)
        remote = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)
        self.actors = [remote(_EmbedActor).remote(factory) for _ in range(workers)]
        described = gather(ray, [a.describe.remote() for a in self.actors], "loading the embedder")
        self.name, self.dimension, self.symmetric = described[0]

    @property
    def workers(self) -> int:
        return len(self.actors)

    def pids(self) -> list[int]:
        """The actors' worker process ids (what a failure test kills)."""
        return list(gather(self._ray, [a.pid.remote() for a in self.actors], "pid"))

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        items = list(texts)
        step = self.batch_size
        refs = [
            self.actors[n % len(self.actors)].embed.remote(items[i : i + step])
            for n, i in enumerate(range(0, len(items), step))
        ]
        parts = gather(self._ray, refs, f"embedding {len(items)} texts")
        return np.concatenate(parts).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        out: npt.NDArray[np.float32] = gather(
            self._ray, self.actors[0].embed_query.remote(text), "embedding a query"
        )
        return out

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []
