"""An in-memory BM25 index over per-chunk term-count blobs, scored with numpy.

Why not FTS5's ``bm25()``: FTS5 ranks by computing ``bm25()`` for *every* row the
query matches (~2 µs each) before it can sort, so at 100k chunks a query with one
common word takes 30–150 ms. Here each chunk stores its term counts as a small blob
(written in the upsert transaction); a tenant's blobs are turned once into
term-major postings (a CSC layout), and a query touches only its terms' postings
with vectorised numpy: a few ms at 100k chunks whatever the words.

Scoring is Okapi BM25 (k1=1.2, b=0.75, idf = ln(1 + (N - n + 0.5) / (n + 0.5)))
with per-tenant statistics, the same formula as ``MemoryStore``.

**Top-k with dynamic pruning** (:meth:`BM25Index.top`). A query whose terms have few
postings is scored exhaustively. One with common terms (tens of thousands of postings)
reads each common term's postings in impact order (its highest contributions first,
sorted once per term and cached): the rows in the first ``m`` impacts of any term are
scored exactly (their other terms' contributions looked up by binary search), and a
row outside all of them can score at most the sum of each term's ``m``-th impact. Once
that bound is below the ``k``-th exact score, no other row can enter the top ``k``;
otherwise ``m`` grows and it goes again (a threshold-algorithm / MaxScore-style exact
top-k). The result is the exhaustive scorer's, to the bit: the same float32
contributions added in the same term order, ties broken by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

K1 = 1.2
B = 0.75

TERM_DTYPE = np.dtype([("term", "<u4"), ("tf", "<u2")])

FloatArray = npt.NDArray[np.float32]
RowArray = npt.NDArray[np.int32]

#: below this many postings in all of a query's terms, score exhaustively
PRUNE_MIN_POSTINGS = 20_000
#: a term with fewer postings is read whole (never impact-sorted or cached)
IMPACT_MIN_DF = 2_048
#: impact-sorted postings kept, at most this many per indexed chunk (~12 bytes each)
IMPACT_CACHE_PER_ROW = 4


class _Impacts(NamedTuple):
    """One term's postings: row order (for lookups) and impact order (for pruning)."""

    rows: RowArray  # ascending
    contrib: FloatArray  # BM25 contribution of each row above
    by_impact: RowArray  # rows, highest contribution first
    impact: FloatArray  # their contributions, descending


def encode_terms(counts: Iterable[tuple[int, int]]) -> bytes:
    """Pack ``(term_id, count)`` pairs into a blob (counts capped at 65535)."""
    pairs = sorted(counts)
    arr = np.empty(len(pairs), dtype=TERM_DTYPE)
    if pairs:
        arr["term"] = [t for t, _ in pairs]
        arr["tf"] = np.minimum([c for _, c in pairs], 65535)
    return arr.tobytes()


def _group_by_term(terms: npt.NDArray[np.uint32]) -> npt.NDArray[np.intp]:
    """A permutation sorting ``terms``: LSD radix on 16-bit halves (numpy's stable
    sort is a radix sort for 16-bit keys), ~3x faster than a comparison sort."""
    order = np.argsort((terms & 0xFFFF).astype(np.uint16), kind="stable")
    if len(terms) and int(terms.max()) > 0xFFFF:
        high = (terms[order] >> 16).astype(np.uint16)
        order = order[np.argsort(high, kind="stable")]
    return order


class BM25Index:
    """Postings for one tenant; row ``i`` is the ``i``-th blob given."""

    def __init__(self, blobs: Sequence[bytes | None]) -> None:
        n = len(blobs)
        self.size = n
        lengths = np.fromiter(
            (len(b) // TERM_DTYPE.itemsize if b else 0 for b in blobs), dtype=np.int64, count=n
        )
        entries = np.frombuffer(b"".join(b for b in blobs if b), dtype=TERM_DTYPE)
        terms = np.ascontiguousarray(entries["term"])
        tf = np.ascontiguousarray(entries["tf"])
        # Document length = sum of its term counts (rows are contiguous in ``entries``).
        doc_len = np.zeros(n, dtype=np.float32)
        nonempty = lengths > 0
        if entries.shape[0]:
            row_starts = (np.cumsum(lengths) - lengths)[nonempty]
            doc_len[nonempty] = np.add.reduceat(tf.astype(np.float32), row_starts)
        avgdl = float(doc_len.mean()) if n and doc_len.sum() > 0 else 1.0
        # Per-row length normalisation, precomputed: k1 * (1 - b + b * dl / avgdl).
        self._norm: FloatArray = (K1 * (1.0 - B + B * doc_len / avgdl)).astype(np.float32)
        order = _group_by_term(terms)
        self._rows = np.repeat(np.arange(n, dtype=np.int32), lengths)[order]
        self._tf = tf[order]
        # Postings of term t are [offsets[t], offsets[t + 1]) of the term-sorted arrays.
        counts = np.bincount(terms) if terms.shape[0] else np.zeros(0, dtype=np.int64)
        self._offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.prune_min_postings = PRUNE_MIN_POSTINGS
        self.impact_min_df = IMPACT_MIN_DF
        self._impact_cache: dict[int, _Impacts] = {}
        self._impact_cached = 0  # postings held by the cache

    def _postings(self, term_id: int) -> tuple[npt.NDArray[np.int32], FloatArray] | None:
        if term_id < 0 or term_id + 1 >= self._offsets.shape[0]:
            return None
        s, e = int(self._offsets[term_id]), int(self._offsets[term_id + 1])
        if s == e:
            return None
        return self._rows[s:e], self._tf[s:e].astype(np.float32)

    def _contributions(self, rows: RowArray, tf: FloatArray) -> FloatArray:
        df = rows.shape[0]
        idf = np.float32(np.log1p((self.size - df + 0.5) / (df + 0.5)))
        out: FloatArray = idf * tf * np.float32(K1 + 1.0) / (tf + self._norm[rows])
        return out

    def scores(self, term_ids: Iterable[int]) -> FloatArray:
        """BM25 score of every row for a query made of these (distinct) terms."""
        out = np.zeros(self.size, dtype=np.float32)
        for term_id in sorted(set(term_ids)):  # a fixed order: float sums are reproducible
            postings = self._postings(term_id)
            if postings is None:
                continue
            rows, tf = postings
            out[rows] += self._contributions(rows, tf)
        return out

    def top(
        self, term_ids: Iterable[int], k: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """The ``k`` best rows with a positive score (``mask``: allowed rows only), best
        first, ties by row, and their scores: exact, pruned as the module doc says."""
        terms = [t for t in sorted(set(term_ids)) if self._postings(t) is not None]
        if k <= 0 or not terms:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        dfs = [int(self._offsets[t + 1] - self._offsets[t]) for t in terms]
        if sum(dfs) < self.prune_min_postings or max(dfs) < self.impact_min_df:
            scores = self.scores(terms)
            if mask is not None:
                scores[~mask] = 0.0
            return _best(np.flatnonzero(scores > 0), scores, k)
        impacts = [self._impacts(t) for t in terms]
        depth = max(4 * k, 256)
        while True:
            # rows in the first `depth` impacts of a common term, all rows of a rare one
            heads = [
                i.by_impact[:depth] if df >= self.impact_min_df else i.rows
                for i, df in zip(impacts, dfs, strict=True)
            ]
            cand = np.unique(np.concatenate(heads))
            if mask is not None:
                cand = cand[mask[cand]]
            exact = np.zeros(cand.shape[0], dtype=np.float32)
            bound = np.float32(0.0)
            for i, df in zip(impacts, dfs, strict=True):
                pos = np.minimum(np.searchsorted(i.rows, cand), df - 1)
                hit = i.rows[pos] == cand
                exact[hit] += i.contrib[pos[hit]]
                if df >= self.impact_min_df and depth < df:
                    bound = np.float32(bound + i.impact[depth])
            rows, scores = _best(np.flatnonzero(exact > 0), exact, k)
            done = all(depth >= df for df in dfs if df >= self.impact_min_df)
            if done or (rows.shape[0] == k and bound < scores[-1]):
                return cand[rows].astype(np.intp), scores
            depth *= 4

    def _impacts(self, term_id: int) -> _Impacts:
        cached = self._impact_cache.get(term_id)
        if cached is not None:
            return cached
        postings = self._postings(term_id)
        assert postings is not None
        rows, tf = postings
        contrib = self._contributions(rows, tf)
        if rows.shape[0] < self.impact_min_df:  # read whole: no impact order needed
            return _Impacts(rows, contrib, rows, contrib)
        order = np.argsort(-contrib, kind="stable")
        found = _Impacts(rows, contrib, rows[order], contrib[order])
        limit = max(self.size * IMPACT_CACHE_PER_ROW, 1 << 20)
        self._impact_cached += rows.shape[0]
        while self._impact_cache and self._impact_cached > limit:  # oldest out first
            oldest = next(iter(self._impact_cache))
            self._impact_cached -= self._impact_cache.pop(oldest).rows.shape[0]
        self._impact_cache[term_id] = found
        return found

    def nbytes(self) -> int:
        """Memory held by the postings, norms and the impact cache (bytes)."""
        arrays = [self._rows, self._tf, self._norm, self._offsets]
        cached = sum(
            i.contrib.nbytes + i.by_impact.nbytes + i.impact.nbytes
            for i in self._impact_cache.values()
        )
        return sum(a.nbytes for a in arrays) + cached


def _best(
    rows: npt.NDArray[np.intp], scores: FloatArray, k: int
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """The ``k`` of ``rows`` (ascending) with the highest ``scores[rows]``, best first,
    ties broken by row; and those scores."""
    values = scores[rows]
    if rows.shape[0] > k:
        kth = np.partition(values, rows.shape[0] - k)[rows.shape[0] - k]
        keep = values >= kth  # every tie of the k-th score, so the row order decides
        rows, values = rows[keep], values[keep]
    order = np.lexsort((rows, -values))[:k]
    return rows[order], values[order]
