"""Reading past asks back from their traces, for replay: which to replay, which cannot
be re-run and why, what each recorded (rules fired, hits, answer), and which of its
chunks have changed in the store since.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ragline.evals._cases import final_hits, trace_facts
from ragline.evals._replay_report import DocumentChange, ReplayQuery, Side
from ragline.store._traces import SpanRecord, TraceStore, search_text
from ragline.trace._feedback import resolve_trace_id, root_span

if TYPE_CHECKING:
    from ragline.store import Condition, Store

_MARKER = re.compile(r"\[(email|phone|card|iban|ip|ssn|nino|dni|nie)\]")
_OFF = "[redacted: content tracing off"
_FILTER = re.compile(r"^(\S+) (eq|ne|in|gt|gte|lt|lte) (.+)$", re.S)


def select_traces(
    store: TraceStore, query: ReplayQuery, rules_now: Callable[[str, str], list[str]]
) -> list[list[SpanRecord]]:
    """The traces ``query`` names, oldest first (``rules_now(question, tenant)`` says
    which rules fire under the candidate, for ``query.rule``)."""
    if query.trace_ids:
        ids = list(
            dict.fromkeys(resolve_trace_id(store, t, tenant=query.tenant) for t in query.trace_ids)
        )
    else:
        found = store.list_traces(
            tenant=query.tenant,
            since=query.since,
            until=query.until,
            text=query.text or None,
            limit=1_000_000_000,
        )
        ids = [t.trace_id for t in found if t.name == "ragline.ask"]
    wanted = None
    if query.feedback is not None:
        from ragline.trace._feedback import check_kind

        kind = check_kind(query.feedback)
        wanted = {f.trace_id for f in store.list_feedback(tenant=query.tenant, kind=kind)}
    traces: list[list[SpanRecord]] = []
    for trace_id in ids:
        if wanted is not None and trace_id not in wanted:
            continue
        spans = store.get_trace(trace_id, tenant=query.tenant)
        if not spans:
            continue
        if query.trace_ids:  # explicit ids: the time and text filters still narrow
            root = root_span(spans)
            if query.since is not None and root.start < query.since:
                continue
            if query.until is not None and root.start > query.until:
                continue
            if query.text and query.text.lower() not in (search_text(root) or ""):
                continue
        if query.rule is not None:
            facts = trace_facts(spans)
            then = rules_then(spans)
            now = rules_now(facts.question, facts.tenant) if facts.question else []
            if query.rule not in then and query.rule not in now:
                continue
        traces.append(spans)
    traces.sort(key=lambda spans: root_span(spans).start)
    if query.sample is not None and query.sample < len(traces):
        picked = sorted(random.Random(query.seed).sample(range(len(traces)), query.sample))
        traces = [traces[i] for i in picked]
    return traces[: query.limit]


def rules_then(spans: Sequence[SpanRecord]) -> list[str]:
    for s in spans:
        value = s.attributes.get("ragline.routing.rules_fired")
        if isinstance(value, list):
            return [str(v) for v in value]
    return []


def _attribute(spans: Sequence[SpanRecord], key: str) -> Any:
    root = root_span(list(spans))
    if key in root.attributes:
        return root.attributes[key]
    for s in spans:
        if key in s.attributes:
            return s.attributes[key]
    return None


def why_not_replayable(spans: Sequence[SpanRecord]) -> str | None:
    """Why a trace cannot be re-run (None when it can)."""
    root = root_span(list(spans))
    if root.name != "ragline.ask":
        return f"it is a {root.name!r} trace, not an ask"
    question = root.attributes.get("ragline.question")
    mode = root.attributes.get("ragline.content")
    if mode == "off" or (isinstance(question, str) and question.startswith(_OFF)):
        return "recorded with content tracing off: the question was not kept"
    if not isinstance(question, str) or not question.strip():
        return "the trace has no question"
    if mode == "redact" and _MARKER.search(question):
        return "recorded with content tracing redact: part of the question was masked"
    if root.attributes.get("ragline.message") is not None:
        return "a chat turn: it depends on the conversation before it"
    return None


def parse_filters(values: Any) -> list[Condition]:
    """The request's filters as the trace wrote them (``doc_type eq 'finance'``)."""
    from ragline.store import Condition

    out: list[Condition] = []
    for text in values or []:
        m = _FILTER.match(str(text))
        if m is None:
            raise ValueError(text)
        out.append(Condition(m.group(1), m.group(2), ast.literal_eval(m.group(3))))  # type: ignore[arg-type]
    return out


def then_side(spans: Sequence[SpanRecord], *, retrieval_only: bool = False) -> Side:
    """What the trace recorded. The hits compared are those the replay produces too: the
    retrieval stage's (``retrieval_only``, as a search returns them), else those the
    answer was written from (after the retrieval guard, recorded on the root span)."""
    facts = trace_facts(spans)
    root = root_span(list(spans))
    support = _attribute(spans, "ragline.support")
    abstained = _attribute(spans, "ragline.abstained")
    references = _attribute(spans, "ragline.references")
    answered = root.attributes.get("ragline.retrieved.chunk_ids")
    if not retrieval_only and isinstance(answered, list):
        chunk_ids = [str(c) for c in answered]
        docs = list(
            dict.fromkeys(str(d) for d in root.attributes.get("ragline.retrieved.document_ids", []))
        )
    else:
        chunk_ids = list(facts.chunk_ids)
        docs = list(facts.document_ids)
    return Side(
        rules=rules_then(spans),
        chunk_ids=chunk_ids,
        document_ids=docs,
        answer=facts.answer,
        citations=[str(r) for r in references or []],
        abstained=bool(abstained) if abstained is not None else None,
        support=float(support) if isinstance(support, (int, float)) else None,
    )


def documents_changed(
    store: Store, tenant: str, spans: Sequence[SpanRecord]
) -> list[DocumentChange]:
    """Chunks the trace retrieved that are gone or different in the store now."""
    hits = final_hits(spans)
    if not hits:
        return []
    now = {c.id: c for c in store.get_chunks(tenant, [str(h["chunk_id"]) for h in hits])}
    out: list[DocumentChange] = []
    for h in hits:
        chunk_id = str(h["chunk_id"])
        doc = str(h.get("document_id", chunk_id.split("#")[0]))
        chunk = now.get(chunk_id)
        if chunk is None:
            out.append(DocumentChange(chunk_id, doc, "deleted"))
            continue
        recorded_hash = h.get("content_hash")
        text = h.get("text")
        if isinstance(recorded_hash, str) and recorded_hash and chunk.content_hash:
            if recorded_hash != chunk.content_hash:
                out.append(DocumentChange(chunk_id, doc, "changed"))
        elif (
            isinstance(text, str)
            and not text.startswith("[redacted")  # content off: no text to compare
            and "[truncated:" not in text
            and text != chunk.text
        ):
            out.append(DocumentChange(chunk_id, doc, "changed"))
    return out


__all__ = [
    "documents_changed",
    "parse_filters",
    "rules_then",
    "select_traces",
    "then_side",
    "why_not_replayable",
]
