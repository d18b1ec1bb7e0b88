"""MiniLM-like synthetic vectors for ANN benchmarks: unit 384-d points in clusters.

Real sentence embeddings are not uniform on the sphere: they sit in topical clusters
of very different sizes, and a query's nearest neighbours have cosine ~0.5-0.8 with
it. Uniform random vectors make every ANN index look bad (no structure to exploit)
and every exact scan look the same, so the benches use this instead: ``clusters``
centres, Zipf-like cluster sizes, each point its centre plus Gaussian noise (mostly in a
48-d subspace, about the centre's norm), normalised. Queries are fresh points drawn the same way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DIM = 384
#: rank of the subspace that holds most of the within-cluster spread
RANK = 48

F32 = npt.NDArray[np.float32]


def clustered(
    n: int, *, dim: int = DIM, clusters: int = 1000, noise: float = 1.0, seed: int = 0
) -> tuple[F32, F32]:
    """``n`` unit vectors and the cluster centres they were drawn around."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return points(n, centres, noise=noise, seed=seed + 1), centres


def points(n: int, centres: F32, *, noise: float = 1.0, seed: int = 1) -> F32:
    """``n`` unit vectors around ``centres`` (cluster sizes Zipf-like), in chunks."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(centres) + 1) ** 0.7
    weights /= weights.sum()
    dim = centres.shape[1]
    basis = np.random.default_rng(12345).standard_normal((RANK, dim)).astype(np.float32)
    basis /= np.sqrt(RANK * dim) / 1.0
    out = np.empty((n, dim), dtype=np.float32)
    step = 50_000
    for start in range(0, n, step):
        m = min(step, n - start)
        which = rng.choice(len(centres), size=m, p=weights)
        # most of the spread in a low-rank subspace (real embeddings have an intrinsic
        # dimension of a few dozen), a little in every direction
        block = rng.standard_normal((m, RANK)).astype(np.float32) @ basis * noise
        block += rng.standard_normal((m, dim)).astype(np.float32) * (0.35 * noise / np.sqrt(dim))
        block += centres[which]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + m] = block
    return out


def exact_top(matrix: F32, queries: F32, k: int) -> npt.NDArray[np.int64]:
    """The exact top-``k`` row indices by inner product for each query."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for i in range(0, len(queries), 64):
        scores = queries[i : i + 64] @ matrix.T
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
        out[i : i + 64] = np.take_along_axis(part, order, axis=1)
    return out


def recall(found: list[npt.NDArray[np.int64]], truth: npt.NDArray[np.int64]) -> float:
    """Mean recall@k of ``found`` (one id array per query) against ``truth``."""
    k = truth.shape[1]
    hits = sum(
        len(set(map(int, f[:k])) & set(map(int, t))) for f, t in zip(found, truth, strict=True)
    )
    return hits / (k * len(truth))
