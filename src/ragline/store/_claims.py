"""Per-document ingest claims: one run at a time parses, embeds and writes a document.

An ingest run claims the documents it is about to work on
(:meth:`Store.claim_documents`) and releases them once they are written or given up
(:meth:`Store.release_documents`). A second run asking for a document that a live run
holds is told so (``busy``) and skips it, so two ingests of one folder at once embed
every chunk once, not twice. Claiming is a compare-and-set on (tenant, document id,
content hash) in one transaction: a document already stored with the content hash
asked is reported back (``stored``), not claimed, so a run that arrives just after
another finished a document reports it unchanged instead of redoing it.

A claim is *stale*, and the next run that asks takes it over, when it is at least
``timeout_s`` old, or when its holder ran on this host and its process is gone: a
crashed ingest blocks its documents for at most the timeout (on the same host, not
at all). Claims are not renewed while held, so a document that takes longer than the
timeout to embed may be taken over and done twice; the stored result is still right
(each write replaces the whole document in one transaction).
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragline.types import Document


@dataclass(frozen=True, slots=True)
class ClaimHolder:
    """Who claims: one ingest run (``id``), in process ``pid`` on ``host``."""

    id: str
    host: str
    pid: int

    @classmethod
    def new(cls) -> ClaimHolder:
        """A holder for a new run of this process."""
        return cls(uuid.uuid4().hex, socket.gethostname(), os.getpid())


@dataclass(frozen=True, slots=True)
class DocumentClaim:
    """A claim in force on one document: who holds it, since when, for which content."""

    document_id: str
    content_hash: str
    holder: str
    host: str
    pid: int
    claimed_at: float

    def stale(self, *, timeout_s: float, now: float | None = None) -> bool:
        """Whether the claim may be taken over (see the module docstring)."""
        now = time.time() if now is None else now
        if now - self.claimed_at >= timeout_s:
            return True
        return self.host == socket.gethostname() and not pid_alive(self.pid)

    def describe(self, *, now: float | None = None) -> str:
        """``pid 4242 on host-a, for 12s``: for messages."""
        age = max(0.0, (time.time() if now is None else now) - self.claimed_at)
        return f"pid {self.pid} on {self.host}, for {age:.0f}s"


@dataclass(slots=True)
class ClaimOutcome:
    """What :meth:`Store.claim_documents` did with each document asked.

    Every id asked is in exactly one of: ``claimed`` (now held by the caller, in the
    order asked), ``busy`` (held by another live run: its claim) or ``stored`` (already
    stored with the content hash asked, so there is nothing to do: the document).
    """

    claimed: list[str] = field(default_factory=list)
    busy: dict[str, DocumentClaim] = field(default_factory=dict)
    stored: dict[str, Document] = field(default_factory=dict)


#: the columns of a claim row, in the order :func:`claim_from_row` reads them
CLAIM_COLUMNS = "document_id, content_hash, holder, host, pid, claimed_at"


def claim_from_row(row: Sequence[Any]) -> DocumentClaim:
    """A claim from a row of :data:`CLAIM_COLUMNS` (SQLite and PostgreSQL)."""
    return DocumentClaim(
        str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]), float(row[5])
    )


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (assumed so where it cannot be told)."""
    if pid <= 0 or sys.platform == "win32":  # on Windows, signal 0 is CTRL_C_EVENT
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def decide_claims(
    asked: Mapping[str, str],
    held: Mapping[str, DocumentClaim],
    holder: ClaimHolder,
    *,
    timeout_s: float,
    now: float,
) -> tuple[list[str], dict[str, DocumentClaim]]:
    """``(ids the holder may claim, in the order asked; ids busy with their claims)``.

    ``held`` are the claims in force on the ids asked. An id is free when nobody holds
    it, the caller already does (a re-claim refreshes it), or its claim is stale.
    """
    free: list[str] = []
    busy: dict[str, DocumentClaim] = {}
    for doc_id in asked:
        claim = held.get(doc_id)
        if claim is None or claim.holder == holder.id or claim.stale(timeout_s=timeout_s, now=now):
            free.append(doc_id)
        else:
            busy[doc_id] = claim
    return free, busy
