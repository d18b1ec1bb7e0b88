"""Keyword and vector search of the PostgreSQL store (see :class:`PostgresStore`).

**Keyword search: exact BM25 over a pruned candidate set.** BM25 is computed in SQL
from each candidate row's ``tsvector`` (term frequency = positions of the lexeme,
kept to the query's lexemes with ``ts_filter(setweight(tsv, 'A', lexemes), '{a}')``,
about twice as cheap as unnesting every lexeme). A long query ORs many words, and
scoring every matching row took ~1 s at 20k chunks, so the top ``k`` is found with
fewer rows by *MaxScore* pruning: a word ``t`` adds less than ``idf(t) * (k1 + 1)``
to a row's score (``tf / (tf + K) < 1``). With the query's words sorted rarest first,
a row matching only a tail of common words scores less than the sum of their bounds;
once ``k`` candidates score at least that much, no such row can enter the top ``k``:

1. score (with every query word) the rows matching the rarest words, until their
   document frequencies sum to a budget;
2. with ``θ`` the ``k``-th best score so far, the *essential* words are the shortest
   rarest-first prefix whose tail's bounds sum to at most ``θ``;
3. while they are not all covered, score the rows matching the next words (about
   doubling the rows scored so far) but none of the words covered, merge, and
   recompute ``θ`` (it only rises) and the essential words.

The ranking and the scores are those of scoring every matching row (ties by id);
filters and tenants apply to every pass. One bound remains: if the essential words
match more than ``keyword_max_rows`` chunks (only very common words, a large
tenant), just the rows of the rarest words up to that many are scored, which keeps
latency bounded at the cost of exactness for such queries.

This needs the GIN index on ``tsv``: under row-level security PostgreSQL uses it only
if ``@@`` is leakproof (see ``enable_index_search``). Without it every pass reads the
whole table, so the search makes a single pass over the rows of the rarest words up
to ``keyword_max_rows`` (exact below that), and counts document frequencies for all
new lexemes in one scan.

**Vector search: HNSW where it pays.** pgvector 0.6 has no iterative index scans:
an HNSW scan yields ``hnsw.ef_search`` candidates, and rows of other tenants or
failing the filters are dropped *after* it. The planner also under-estimates how many
rows match ``vector_dims(embedding) = d`` and then prefers an exact scan. So the
index is requested explicitly whenever the expected share of the index's rows that
belong to the tenant and pass the filters lets ``ef_search ≤ 1000`` candidates yield
``k`` hits; the scan over-fetches (``ef_search`` rows, ordered by distance only, as
the index requires) and the outer query ties by id. If it still returns fewer than
``k`` hits, or the share is too small, the search is an exact scan.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ragline.store._common import normalize_query
from ragline.store._rows import CHUNK
from ragline.store.postgres._rows import _CHUNK_COLS, _LEXEME, BM25_B, BM25_K1, _vec_literal

if TYPE_CHECKING:
    import psycopg

    from ragline.store._base import Vector
    from ragline.store._filters import Condition
    from ragline.store.postgres._documents import PostgresStore

log = logging.getLogger("ragline.store")

# Row-level security lets the planner use an index only for *leakproof* operators
# (ones that reveal nothing about a row that another tenant's row could hide), and
# PostgreSQL marks neither the full-text match ``@@`` nor jsonb ``@>`` so. Without
# them every keyword search and metadata filter reads all of the table's rows.
# Marking them needs a superuser, once per database (see ``enable_index_search``).
SEARCH_OPERATOR_FUNCTIONS = (
    "pg_catalog.ts_match_vq(tsvector, tsquery)",
    "pg_catalog.jsonb_contains(jsonb, jsonb)",
)
INDEX_SEARCH_PROBLEM = (
    "keyword search and metadata filters read every row: under row-level security "
    "PostgreSQL uses the GIN indexes only for leakproof operators, and @@ and @> are "
    "not marked so"
)
INDEX_SEARCH_HINT = "have a superuser run, in this database: " + " ".join(
    f"ALTER FUNCTION {f} LEAKPROOF;" for f in SEARCH_OPERATOR_FUNCTIONS
)

MAX_EF_SEARCH = 1000
FIRST_PASS_ROWS = 2000  # step 1 scores rows of the rarest words up to this many (df sum)


# -- index use under row-level security -------------------------------------------------


def index_search_enabled(conn: psycopg.Connection[Any]) -> bool:
    """Whether ``@@`` and ``@>`` are leakproof here, so RLS-bound queries use GIN indexes."""
    row = conn.execute(
        "SELECT bool_and(proleakproof), count(*) FROM pg_proc WHERE oid = ANY(%s::regprocedure[])",
        (list(SEARCH_OPERATOR_FUNCTIONS),),
    ).fetchone()
    return bool(row and row[0] and row[1] == len(SEARCH_OPERATOR_FUNCTIONS))


def enable_index_search(conn: psycopg.Connection[Any]) -> None:
    """Mark ``@@`` and ``@>`` leakproof in ``conn``'s database (needs a superuser).

    Both only compute a boolean from their arguments (no message that could echo a
    row's content), which is what ``LEAKPROOF`` promises; still, marking a built-in
    function is a database administrator's decision, so ragline never does it on
    its own: the store warns at open and names the two statements instead.
    """
    for function in SEARCH_OPERATOR_FUNCTIONS:
        conn.execute(f"ALTER FUNCTION {function} LEAKPROOF")


# -- keyword ---------------------------------------------------------------------------


def bm25_idf(n: int, df: int) -> float:
    """Okapi idf, ``ln(1 + (N - n + 0.5) / (n + 0.5))``; ``df`` clamped to ``N``."""
    if n <= 0:
        return 0.0
    df = min(max(df, 0), n)
    return math.log1p((n - df + 0.5) / (df + 0.5))


def essential_prefix(upper_bounds: Sequence[float], threshold: float) -> int:
    """How many leading words (rarest first) a row must match to score above ``threshold``.

    The shortest prefix whose tail's bounds sum to at most ``threshold``: a row
    matching none of the prefix scores strictly less than that sum. ``threshold``
    ≤ 0 (fewer than ``k`` candidates yet) needs every word.
    """
    tail = 0.0
    cut = len(upper_bounds)
    for i in range(len(upper_bounds) - 1, -1, -1):
        tail += upper_bounds[i]
        if tail > threshold:
            break
        cut = i
    return cut if threshold > 0 else len(upper_bounds)


def first_pass_prefix(dfs: Sequence[int], budget: int) -> int:
    """Leading words (rarest first) whose document frequencies sum to ≤ ``budget`` (≥ 1)."""
    total = 0
    for i, df in enumerate(dfs):
        total += df
        if total > budget:
            return max(1, i)
    return len(dfs)


def term_stats(
    store: PostgresStore,
    conn: psycopg.Connection[Any],
    tenant: str,
    gen: int,
    lexemes: Sequence[str],
) -> tuple[int, float, dict[str, int]]:
    """(chunks, mean length, document frequency per lexeme) of a tenant.

    Cached per tenant; the cache is reused for up to ``stats_ttl`` seconds after a
    write (BM25 needs only approximate statistics), then rebuilt lazily.
    """
    now = time.monotonic()
    with store._lock:
        stats = store._stats.get(tenant)
        if stats is None or (stats[0] != gen and now - stats[1] > store.stats_ttl):
            stats = None
    if stats is None:
        row = conn.execute(
            "SELECT count(*), coalesce(avg(tsv_len), 0) FROM chunks WHERE tenant = %s",
            (tenant,),
        ).fetchone()
        stats = (gen, now, int(row[0]) if row else 0, float(row[1]) if row else 0.0, {})
        with store._lock:
            store._stats[tenant] = stats
            while len(store._stats) > 64:
                del store._stats[next(iter(store._stats))]
    df: dict[str, int] = stats[4]
    missing = [lx for lx in lexemes if lx not in df]
    if missing:
        if store.index_search:  # a GIN lookup per lexeme
            rows = conn.execute(
                "SELECT l, (SELECT count(*) FROM chunks WHERE tenant = %s "
                "AND tsv @@ quote_literal(l)::tsquery) FROM unnest(%s::text[]) AS l",
                (tenant, missing),
            ).fetchall()
        else:  # one pass over the tenant's rows for all of them
            rows = conn.execute(
                "SELECT u.lexeme, count(*) FROM chunks c, "
                "unnest(ts_filter(setweight(c.tsv, 'A', %s::text[]), '{a}')) AS u "
                "WHERE c.tenant = %s GROUP BY 1",
                (missing, tenant),
            ).fetchall()
        counts = dict.fromkeys(missing, 0) | {str(r[0]): int(r[1]) for r in rows}
        with store._lock:
            df.update(counts)
    return stats[2], stats[3], {lx: df.get(lx, 0) for lx in lexemes}


def _tsquery(lexemes: Sequence[str]) -> str:
    return " | ".join(f"'{lx}'" for lx in lexemes)


def query_lexemes(
    store: PostgresStore, conn: psycopg.Connection[Any], tenant: str, gen: int, terms: str
) -> list[str]:
    """The query's lexemes in every text-search configuration the tenant's chunks use."""
    configs: list[str] = store._cached(
        conn,
        tenant,
        "configs",
        gen,
        lambda: sorted(
            str(r[0])
            for r in conn.execute(
                "SELECT DISTINCT ts_config::text FROM chunks WHERE tenant = %s", (tenant,)
            )
        ),
    )
    if not configs:
        return []
    return sorted(
        {
            str(r[0])
            for r in conn.execute(
                "SELECT DISTINCT (unnest(to_tsvector(c::regconfig, %s))).lexeme "
                "FROM unnest(%s::text[]) AS c",
                (terms, configs),
            )
            if _LEXEME.fullmatch(str(r[0]))
        }
    )


def keyword_rows(
    store: PostgresStore,
    conn: psycopg.Connection[Any],
    tenant: str,
    terms: str,
    k: int,
    filters: Sequence[Condition],
) -> list[Any]:
    """Rows of ``_CHUNK_COLS`` plus the score, best first (ties by id)."""
    gen = store._generation(conn, tenant)
    if gen == 0:
        return []
    lexemes = query_lexemes(store, conn, tenant, gen, terms)
    if not lexemes:
        return []
    where = store._filter_sql(conn, tenant, filters)
    if where is None:
        return []
    filter_sql, filter_params = where
    if store.keyword_scoring == "ts_rank_cd":
        tsquery = _tsquery(lexemes)
        return conn.execute(
            f"SELECT {_CHUNK_COLS}, ts_rank_cd(tsv, %s::tsquery, 1) AS score "
            f"FROM chunks c WHERE tenant = %s AND tsv @@ %s::tsquery{filter_sql} "
            "ORDER BY score DESC, id LIMIT %s",
            (tsquery, tenant, tsquery, *filter_params, k),
        ).fetchall()
    n, avgdl, df = term_stats(store, conn, tenant, gen, lexemes)
    lexemes.sort(key=lambda lx: (df[lx], lx))  # rarest first
    idf = [bm25_idf(n, df[lx]) for lx in lexemes]
    bounds = [w * (BM25_K1 + 1) for w in idf]
    tf = "array_length(u.positions, 1)"
    score = (
        f"(SELECT sum((%s::float8[])[array_position(%s::text[], u.lexeme)] * {tf} * %s"
        f" / ({tf} + %s * (1 - %s + %s * c.tsv_len / %s))) "
        "FROM unnest(ts_filter(setweight(c.tsv, 'A', %s::text[]), '{a}')) AS u)"
    )
    score_params = [
        idf,
        lexemes,
        BM25_K1 + 1,
        BM25_K1,
        BM25_B,
        BM25_B,
        max(avgdl, 1.0),
        lexemes,
    ]

    def top(match: str) -> list[tuple[str, float]]:
        rows = conn.execute(
            f"SELECT c.id, {score} AS score FROM chunks c "
            f"WHERE c.tenant = %s AND c.tsv @@ %s::tsquery{filter_sql} "
            "ORDER BY score DESC, c.id LIMIT %s",
            (*score_params, tenant, match, *filter_params, k),
        ).fetchall()
        return [(str(r[0]), float(r[1])) for r in rows]

    dfs = [df[lx] for lx in lexemes]
    budget = max(FIRST_PASS_ROWS, 20 * k)
    cap = first_pass_prefix(dfs, store.keyword_max_rows)
    if not store.index_search:  # every pass reads all rows: one pass, capped
        covered = max(1, cap)
        best = top(_tsquery(lexemes[:covered]))
        return _fetch(conn, tenant, best)
    covered = first_pass_prefix(dfs, budget)
    best = top(_tsquery(lexemes[:covered]))
    while True:
        threshold = best[-1][1] if len(best) >= k else 0.0
        needed = min(essential_prefix(bounds, threshold), max(cap, covered))
        if needed <= covered:
            break
        # Score the rows of the next words (no more than ~double the rows so far) that
        # match none of the words already covered; merge; the threshold can only rise.
        budget *= 2
        step = min(needed, max(covered + 1, first_pass_prefix(dfs, budget)))
        more = top(f"({_tsquery(lexemes[covered:step])}) & !({_tsquery(lexemes[:covered])})")
        best = sorted(best + more, key=lambda r: (-r[1], r[0]))[:k]
        covered = step
    if covered < len(lexemes) and essential_prefix(bounds, threshold) > covered:
        log.debug("keyword search scored rows of %d of %d words", covered, len(lexemes))
    return _fetch(conn, tenant, best)


def _fetch(conn: psycopg.Connection[Any], tenant: str, best: list[tuple[str, float]]) -> list[Any]:
    """The rows of the ranked ``(id, score)`` pairs, with the score appended."""
    if not best:
        return []
    rows = conn.execute(
        f"SELECT {_CHUNK_COLS} FROM chunks c WHERE c.tenant = %s AND c.id = ANY(%s)",
        (tenant, [i for i, _ in best]),
    ).fetchall()
    by_id = {r[0]: r for r in rows}
    return [(*by_id[i], s) for i, s in best if i in by_id]


# -- vectors ---------------------------------------------------------------------------


def vector_rows(
    store: PostgresStore,
    conn: psycopg.Connection[Any],
    tenant: str,
    vector: Vector,
    k: int,
    filters: Sequence[Condition],
) -> list[Any]:
    """Rows of ``_CHUNK_COLS`` plus the cosine score, best first (ties by id)."""
    dim = store._dimension(conn, tenant)
    if dim is None:
        return []
    q = normalize_query(vector, dim)
    if q is None:
        return []
    where = store._filter_sql(conn, tenant, filters)
    if where is None:
        return []
    filter_sql, filter_params = where
    literal = _vec_literal(q)
    distance = f"embedding::vector({dim}) <#> %s::vector({dim})"
    inner = (
        f"SELECT {_CHUNK_COLS}, {distance} AS distance FROM chunks c "
        f"WHERE tenant = %s AND vector_dims(embedding) = {dim}{filter_sql} "
    )
    outer_cols = CHUNK.select("s.")
    params = (literal, tenant, *filter_params)
    ef = _index_candidates(store, conn, tenant, k, filters)
    if ef is not None:
        conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef),))
        conn.execute("SET LOCAL enable_seqscan = off")
        conn.execute("SET LOCAL enable_bitmapscan = off")
        rows = conn.execute(
            f"SELECT {outer_cols}, -s.distance FROM ({inner}ORDER BY {distance} LIMIT %s) s "
            "ORDER BY s.distance, s.id LIMIT %s",
            (*params, literal, ef, k),
        ).fetchall()
        if len(rows) >= k:
            return rows
        conn.execute("SET LOCAL enable_seqscan = on")
        conn.execute("SET LOCAL enable_bitmapscan = on")
    # Exact: every row of the tenant that passes the filters.
    conn.execute("SET LOCAL enable_indexscan = off")
    return conn.execute(
        f"SELECT {_CHUNK_COLS}, -({distance}) FROM chunks c "
        f"WHERE tenant = %s AND vector_dims(embedding) = {dim}{filter_sql} "
        f"ORDER BY {distance}, id LIMIT %s",
        (*params, literal, k),
    ).fetchall()


def _index_candidates(
    store: PostgresStore,
    conn: psycopg.Connection[Any],
    tenant: str,
    k: int,
    filters: Sequence[Condition],
) -> int | None:
    """``ef_search`` for an HNSW scan likely to yield ``k`` hits, or ``None`` for exact."""
    if k > MAX_EF_SEARCH:
        return None
    row = conn.execute(
        "SELECT coalesce(sum(chunks), 0), coalesce(sum(chunks) FILTER (WHERE tenant = %s), 0) "
        "FROM tenant_state",
        (tenant,),
    ).fetchone()
    total, mine = (int(row[0]), int(row[1])) if row else (0, 0)
    if total <= 0 or mine <= 0:
        return None
    share = mine / total * store._filter_share(conn, tenant, filters)
    if share <= 0:
        return None
    needed = math.ceil(2 * k / share)  # twice the expected need: few exact re-runs
    if needed > MAX_EF_SEARCH or needed * 8 > share * total:
        return None  # the exact scan of the matching rows is as cheap
    return min(MAX_EF_SEARCH, max(store.ef_search, needed))  # pgvector's limit
