"""An in-memory BM25 index over per-chunk term-count blobs, scored with numpy.

Why not FTS5's ``bm25()``: FTS5 ranks by computing ``bm25()`` for *every* row the
query matches (~2 µs each) before it can sort, so at 100k chunks a query with one
common word takes 30–150 ms. Here each chunk stores its term counts as a small blob
(written in the upsert transaction); a tenant's blobs are turned once into
term-major postings (a CSC layout), and a query touches only its terms' postings
with vectorised numpy: a few ms at 100k chunks whatever the words.

Scoring is Okapi BM25 (k1=1.2, b=0.75, idf = ln(1 + (N - n + 0.5) / (n + 0.5)))
with per-tenant statistics, the same formula as ``MemoryStore``.

**Top-k with MaxScore-style pruning** (:meth:`BM25Index.top`). A term's contribution
to any chunk is below ``idf * (k1 + 1)``, so chunks that hold none of a query's rare
terms score at most the sum of that bound over its common terms. The chunks of the rare
terms' postings are scored exactly (the common terms' contributions looked up by binary
search in their postings, never scanned); when the ``k``-th of those scores beats the
bound, that is the answer, and the common terms' long postings were never read. Else
(only common words, or a close call) every posting is scored. Either way the result is
the exhaustive scorer's to the bit: the same float32 contributions added in the same
term order, ties broken by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

K1 = 1.2
B = 0.75

TERM_DTYPE = np.dtype([("term", "<u4"), ("tf", "<u2")])

FloatArray = npt.NDArray[np.float32]

#: below this many postings in all of a query's terms, score them all
PRUNE_MIN_POSTINGS = 20_000
#: the rare terms (fewest postings first) hold at most this share of a query's postings
RARE_SHARE = 0.125
#: float32 rounding slack on the bound (a few ulps per term are ~1e-6)
BOUND_SLACK = 1e-4


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
        self.rare_share = RARE_SHARE

    def nbytes(self) -> int:
        """Memory held by the postings, norms and offsets (bytes)."""
        return sum(a.nbytes for a in (self._rows, self._tf, self._norm, self._offsets))

    def _postings(self, term_id: int) -> tuple[npt.NDArray[np.int32], FloatArray] | None:
        if term_id < 0 or term_id + 1 >= self._offsets.shape[0]:
            return None
        s, e = int(self._offsets[term_id]), int(self._offsets[term_id + 1])
        if s == e:
            return None
        return self._rows[s:e], self._tf[s:e].astype(np.float32)

    def _contributions(self, rows: npt.NDArray[np.int32], tf: FloatArray, df: int) -> FloatArray:
        """BM25 contribution to ``rows`` of a term with ``df`` postings (element-wise, so
        a subset of the postings gives the very same float32 values)."""
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
            out[rows] += self._contributions(rows, tf, rows.shape[0])
        return out

    def top(
        self, term_ids: Iterable[int], k: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """The ``k`` best rows with a positive score (``mask``: allowed rows only), best
        first, ties by row, and their scores; pruned as the module doc says."""
        found = {t: p for t in sorted(set(term_ids)) if (p := self._postings(t)) is not None}
        if k <= 0 or not found:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        pruned = self._top_pruned(found, k, mask)
        if pruned is not None:
            return pruned
        scores = self.scores(found)
        if mask is not None:
            scores[~mask] = 0.0
        return _best(np.flatnonzero(scores > 0), scores, k)

    def _top_pruned(
        self,
        found: dict[int, tuple[npt.NDArray[np.int32], FloatArray]],
        k: int,
        mask: npt.NDArray[np.bool_] | None,
    ) -> tuple[npt.NDArray[np.intp], FloatArray] | None:
        """The top ``k`` from the rare terms' rows alone, or None when that is not
        provably the answer (then every posting is scored)."""
        df = {t: rows.shape[0] for t, (rows, _tf) in found.items()}
        total = sum(df.values())
        if total < self.prune_min_postings or len(found) < 2:
            return None
        rare: list[int] = []
        budget = total * self.rare_share
        for t in sorted(found, key=df.__getitem__):
            if df[t] > budget or len(rare) == len(found) - 1:
                break
            rare.append(t)
            budget -= df[t]
        if not rare:
            return None
        common = [t for t in found if t not in rare]
        bound = sum(
            float(np.log1p((self.size - df[t] + 0.5) / (df[t] + 0.5))) * (K1 + 1.0) for t in common
        ) * (1.0 + BOUND_SLACK)
        cand = np.unique(np.concatenate([found[t][0] for t in rare]))
        if mask is not None:
            cand = cand[mask[cand]]
        exact = np.zeros(cand.shape[0], dtype=np.float32)
        for t, (rows, tf) in found.items():  # term order, as scores() adds them
            pos = np.minimum(np.searchsorted(rows, cand), df[t] - 1)
            hit = rows[pos] == cand
            exact[hit] += self._contributions(cand[hit], tf[pos[hit]], df[t])
        best, values = _best(np.flatnonzero(exact > 0), exact, k)
        if best.shape[0] < k or float(values[-1]) <= bound:
            return None
        return cand[best].astype(np.intp), values


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
