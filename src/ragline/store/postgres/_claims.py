"""Ingest claims in PostgreSQL: which run may write which document (see ``store._claims``).

One transaction takes every asked document a holder may have, in one lock order (the
ids sorted) so two runs never deadlock, and reads what is stored after the lock: a run
that wrote a document and released it first committed its write before we see it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ragline.store._claims import (
    CLAIM_COLUMNS,
    ClaimHolder,
    ClaimOutcome,
    claim_from_row,
    decide_claims,
)
from ragline.store._rows import DOCUMENT
from ragline.store.postgres._rows import _DOC_COLS

if TYPE_CHECKING:
    import psycopg


def claim_rows(
    conn: psycopg.Connection[Any],
    tenant: str,
    documents: Mapping[str, str],
    ids: Sequence[str],
    *,
    holder: ClaimHolder,
    timeout_s: float,
) -> ClaimOutcome:
    """Claim ``ids`` (sorted) of ``documents`` (id → content hash) in one transaction."""
    outcome = ClaimOutcome()
    now = time.time()
    # Rows nobody holds become ours; then every row asked is locked while we
    # decide. A holder releasing meanwhile makes the INSERT wait for its commit.
    conn.execute(
        "INSERT INTO document_claims (tenant, document_id, content_hash, holder, "
        "host, pid, claimed_at) SELECT %s, d, h, %s, %s, %s, %s "
        "FROM unnest(%s::text[], %s::text[]) AS u(d, h) "
        "ON CONFLICT (tenant, document_id) DO NOTHING",
        (
            tenant,
            holder.id,
            holder.host,
            holder.pid,
            now,
            ids,
            [documents[d] for d in ids],
        ),
    )
    rows = conn.execute(
        f"SELECT {CLAIM_COLUMNS} FROM document_claims WHERE tenant = %s "
        "AND document_id = ANY(%s) ORDER BY document_id FOR UPDATE",
        (tenant, ids),
    ).fetchall()
    held = {claim.document_id: claim for claim in map(claim_from_row, rows)}
    free, outcome.busy = decide_claims(documents, held, holder, timeout_s=timeout_s, now=now)
    conn.execute(
        "UPDATE document_claims c SET content_hash = u.h, holder = %s, host = %s, "
        "pid = %s, claimed_at = %s FROM unnest(%s::text[], %s::text[]) AS u(d, h) "
        "WHERE c.tenant = %s AND c.document_id = u.d",
        (
            holder.id,
            holder.host,
            holder.pid,
            now,
            free,
            [documents[d] for d in free],
            tenant,
        ),
    )
    # Read after the claim: a run that wrote a document and released it before
    # we got the lock committed its write first, so this statement sees it.
    rows = conn.execute(
        f"SELECT {_DOC_COLS} FROM documents WHERE tenant = %s AND id = ANY(%s)",
        (tenant, ids),
    ).fetchall()
    stored = {
        doc.id: doc for doc in map(DOCUMENT.decode, rows) if doc.content_hash == documents[doc.id]
    }
    mine = [d for d in free if d in stored]
    if mine:
        conn.execute(
            "DELETE FROM document_claims WHERE tenant = %s AND document_id = ANY(%s)",
            (tenant, mine),
        )
    outcome.claimed = [d for d in free if d not in stored]
    outcome.busy = {d: c for d, c in outcome.busy.items() if d not in stored}
    outcome.stored = {d: stored[d] for d in documents if d in stored}
    return outcome


def release_rows(
    conn: psycopg.Connection[Any], tenant: str, ids: Sequence[str], *, holder: ClaimHolder
) -> None:
    conn.execute(
        "DELETE FROM document_claims WHERE tenant = %s AND holder = %s AND document_id = ANY(%s)",
        (tenant, holder.id, list(ids)),
    )
