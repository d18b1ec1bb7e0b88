"""Regression cases from traces: what was asked, found and answered → an eval ``Case``.

>>> case = case_from_trace(store.get_trace(tid), expected=["two years"])  # doctest: +SKIP
>>> add_cases_from_feedback(store, "evals/regression.jsonl", "hallucination")  # doctest: +SKIP
CasesAdded(added=3, duplicates=0, missing=0, case_ids=[...])

How a trace becomes a case (the JSONL format ``ragline eval run`` reads):

- ``id`` is ``trace-`` + the trace id (also in ``source_trace_id``); ``question``
  and ``tenant`` come from the root ``ragline.ask`` span.
- ``expected``, ``must_contain`` and ``gold_doc_ids`` are what the user gives, plus
  the facts a feedback note states (``"net income is EUR 3.2M"`` → ``must_contain``
  ``EUR 3.2M``; see :func:`ragline.evals._case_facts.facts_from_note`): what the
  system retrieved or answered at the time is *not* assumed correct (the trace was
  reported because something was wrong). It is kept in ``notes`` instead — the
  answer then, the retrieved document ids and the feedback notes — so whoever
  reviews the case sees what failed.
- A ``hallucination`` report makes the answer then a negative expectation: it is
  ``bad_answer`` (the new answer must differ from it) and its sentences with support
  below ``answer.min_support`` are ``bad_claims`` (none may reappear); the metric
  ``differs_from_bad`` checks both, so the case fails while the pipeline still gives
  that answer. ``must_not_contain`` and ``must_not_cite`` are what the user gives
  (and facts a note negates: ``"2 years, not 5 years"``).
- ``tags``: ``regression`` plus every feedback kind given on the trace (and any
  ``tags`` passed). ``category`` follows the feedback (``hallucination`` →
  ``factual_accuracy``, ``wrong_citation`` → ``citation_quality``, ``irrelevant`` →
  ``response_relevance``) unless given.
- A trace already in the dataset (same ``source_trace_id``) is never added twice:
  :func:`add_case_from_trace` refuses it, :func:`add_cases_from_feedback` skips it and
  counts it as a duplicate, so repeated runs add only new reports.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragline.errors import InputError
from ragline.evals._case_facts import abstained, facts_from_note, unsupported_sentences
from ragline.evals._types import Case
from ragline.store._traces import FEEDBACK_KINDS, Feedback, SpanRecord, TraceStore
from ragline.trace._feedback import check_kind, find_trace, root_span

_CATEGORY_FOR_KIND = {
    "hallucination": "factual_accuracy",
    "wrong_citation": "citation_quality",
    "irrelevant": "response_relevance",
}
_NOTE_ANSWER_CHARS = 500
#: feedback kinds that make the answer then a negative expectation (``bad_answer``)
BAD_ANSWER_KINDS = ("hallucination",)
#: ``answer.min_support``'s default: sentences below it are unsupported claims
DEFAULT_MIN_SUPPORT = 0.45


@dataclass(frozen=True, slots=True)
class TraceFacts:
    """What a traced ask did, read back from its spans."""

    trace_id: str
    tenant: str
    question: str | None
    answer: str | None
    chunk_ids: tuple[str, ...]  # retrieved, in rank order
    document_ids: tuple[str, ...]  # of those chunks, first occurrence order
    name: str
    start: float


def _hit_list(value: Any) -> list[dict[str, Any]] | None:
    if (
        isinstance(value, list)
        and value
        and all(isinstance(h, dict) and "chunk_id" in h for h in value)
    ):
        return value
    return None


def final_hits(spans: Sequence[SpanRecord]) -> list[dict[str, Any]]:
    """The hits the answer was built from: the retrieval span's ``ragline.hits`` (else
    the last span carrying a list of hits)."""
    for s in spans:
        if s.kind == "retrieval" and (hits := _hit_list(s.attributes.get("ragline.hits"))):
            return hits
    found: list[dict[str, Any]] = []
    for s in sorted(spans, key=lambda s: s.end):
        for value in s.attributes.values():
            if hits := _hit_list(value):
                found = hits
    return found


def _answer(spans: Sequence[SpanRecord], root: SpanRecord) -> str | None:
    value = root.attributes.get("ragline.answer")
    if isinstance(value, str):
        return value
    for s in spans:
        value = s.attributes.get("ragline.answer")
        if isinstance(value, str):
            return value
    return None


def trace_facts(spans: Sequence[SpanRecord]) -> TraceFacts:
    """Question, answer and retrieved ids of a trace (``spans`` must not be empty)."""
    root = root_span(list(spans))
    question = root.attributes.get("ragline.question")
    if not isinstance(question, str):
        question = next(
            (q for s in spans if isinstance(q := s.attributes.get("ragline.question"), str) and q),
            None,
        )
    hits = final_hits(spans)
    chunk_ids = tuple(str(h["chunk_id"]) for h in hits)
    doc_ids = tuple(dict.fromkeys(str(h["document_id"]) for h in hits if "document_id" in h))
    return TraceFacts(
        trace_id=root.trace_id,
        tenant=root.tenant,
        question=question or None,
        answer=_answer(spans, root),
        chunk_ids=chunk_ids,
        document_ids=doc_ids,
        name=root.name,
        start=root.start,
    )


def case_id_for(trace_id: str) -> str:
    return f"trace-{trace_id}"


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in items if i and i.strip()))


def _dedupe_folded(items: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in _dedupe(items):
        seen.setdefault(item.casefold(), item)
    return list(seen.values())


def _notes(facts: TraceFacts, feedback: Sequence[Feedback]) -> str:
    parts = [f"from trace {facts.trace_id}"]
    if facts.answer is not None:
        answer = " ".join(facts.answer.split())
        if len(answer) > _NOTE_ANSWER_CHARS:
            answer = answer[:_NOTE_ANSWER_CHARS] + "…"
        parts.append(f"answer then: {answer}")
    if facts.document_ids:
        parts.append(f"retrieved documents then: {', '.join(facts.document_ids)}")
    for fb in feedback:
        parts.append(f"feedback {fb.kind}" + (f": {fb.note}" if fb.note else ""))
    return "\n".join(parts)


def case_from_trace(
    spans: Sequence[SpanRecord],
    *,
    feedback: Sequence[Feedback] = (),
    expected: Sequence[str] = (),
    must_contain: Sequence[str] = (),
    must_not_contain: Sequence[str] = (),
    must_not_cite: Sequence[str] = (),
    gold_doc_ids: Sequence[str] = (),
    category: str | None = None,
    tags: Sequence[str] = (),
    min_support: float = DEFAULT_MIN_SUPPORT,
) -> Case:
    """An evaluation case for the traced ask (see the module docstring for the rules).

    ``min_support`` is ``answer.min_support``: a sentence of a reported answer below
    it is an unsupported claim. Raises :class:`InputError` for a trace without a
    question (e.g. an ingest trace).
    """
    if not spans:
        raise InputError("the trace has no spans", hint="find trace ids with `ragline traces list`")
    facts = trace_facts(spans)
    if not facts.question:
        raise InputError(
            f"trace {facts.trace_id} has no question (it is a {facts.name!r} trace)",
            hint="make cases from `ragline ask` traces: `ragline traces list --search WORDS`",
        )
    kinds = [k for k in FEEDBACK_KINDS if any(f.kind == k for f in feedback)]
    if category is None:
        category = next((_CATEGORY_FOR_KIND[k] for k in kinds if k in _CATEGORY_FOR_KIND), None)
    noted = [facts_from_note(f.note) for f in feedback if f.kind != "good"]
    bad = facts.answer is not None and not abstained(spans)
    bad = bad and any(f.kind in BAD_ANSWER_KINDS for f in feedback)
    return Case(
        id=case_id_for(facts.trace_id),
        question=facts.question,
        tenant=facts.tenant,
        expected=_dedupe(expected),
        must_contain=_dedupe_folded([*must_contain, *(x for n in noted for x in n.must_contain)]),
        must_not_contain=_dedupe_folded(
            [*must_not_contain, *(x for n in noted for x in n.must_not_contain)]
        ),
        must_not_cite=_dedupe(must_not_cite),
        bad_answer=facts.answer if bad else None,
        bad_claims=unsupported_sentences(spans, min_support) if bad else [],
        gold_doc_ids=_dedupe(gold_doc_ids),
        category=category.strip() if category and category.strip() else "factual_accuracy",
        tags=_dedupe(["regression", *kinds, *tags]),
        source_trace_id=facts.trace_id,
        notes=_notes(facts, feedback),
    )


# ----------------------------------------------------------------- datasets


def _existing(path: Path) -> list[Case]:
    from ragline.evals._dataset import load_cases

    if not path.exists() and not path.is_symlink():
        return []
    return load_cases(path)


def write_error_reason(path: Path, error: OSError) -> str:
    """Why ``path`` could not be written, in words (a file where a folder should be…)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{str(parent)!r} is a file, not a folder"
            break
    return error.strerror or str(error)


def _append(path: Path, cases: Sequence[Case]) -> None:
    from ragline.evals._dataset import append_cases

    try:
        append_cases(path, cases)
    except OSError as e:
        reason = write_error_reason(path, e)
        raise InputError(
            f"cannot write dataset {str(path)!r}: {reason}",
            hint="check the folder exists and is writable, or pass --dataset PATH",
        ) from None


def check_documents(
    known_document: Callable[[str, str], bool] | None, tenant: str, doc_ids: Iterable[str]
) -> None:
    """Raise :class:`InputError` for the first id ``known_document`` does not know."""
    if known_document is None:
        return
    for doc_id in _dedupe(doc_ids):
        if not known_document(tenant, doc_id):
            raise InputError(
                f"no document {doc_id!r} in tenant {tenant!r}",
                hint="give the id of an ingested document (`ragline search` shows them)",
            )


def add_case_from_trace(
    store: TraceStore,
    dataset: str | os.PathLike[str],
    trace_id: str,
    *,
    tenant: str | None = None,
    expected: Sequence[str] = (),
    must_contain: Sequence[str] = (),
    must_not_contain: Sequence[str] = (),
    must_not_cite: Sequence[str] = (),
    gold_doc_ids: Sequence[str] = (),
    category: str | None = None,
    tags: Sequence[str] = (),
    known_document: Callable[[str, str], bool] | None = None,
    min_support: float = DEFAULT_MIN_SUPPORT,
) -> Case:
    """Append the case for one trace (full id or unique prefix) to ``dataset``.

    ``known_document(tenant, document_id)``, when given, checks each gold document id
    (a typo would make the case unwinnable). Raises :class:`InputError` — and writes
    nothing — for an unknown trace or document, a trace already in the dataset, a
    dataset that does not load or cannot be written.
    """
    path = Path(dataset)
    spans = find_trace(store, trace_id, tenant=tenant)
    root = root_span(spans)
    check_documents(known_document, root.tenant, gold_doc_ids)
    feedback = store.list_feedback(trace_id=root.trace_id, tenant=root.tenant)
    case = case_from_trace(
        spans,
        feedback=feedback,
        expected=expected,
        must_contain=must_contain,
        must_not_contain=must_not_contain,
        must_not_cite=must_not_cite,
        gold_doc_ids=gold_doc_ids,
        category=category,
        tags=tags,
        min_support=min_support,
    )
    for old in _existing(path):
        if old.source_trace_id == case.source_trace_id or old.id == case.id:
            raise InputError(
                f"trace {root.trace_id} is already in {path} (case {old.id!r})",
                hint="edit that case in the file, or choose another --dataset",
            )
    _append(path, [case])
    return case


@dataclass(slots=True)
class CasesAdded:
    """What :func:`add_cases_from_feedback` did."""

    added: int = 0
    duplicates: int = 0  # traces already in the dataset
    missing: int = 0  # feedback whose trace is gone (or has no question)
    case_ids: list[str] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)  # the cases added


def parse_from_feedback(spec: str) -> str:
    """``kind=hallucination`` → ``"hallucination"``; anything else is an InputError."""
    key, sep, value = spec.partition("=")
    if not sep or key.strip() != "kind" or not value.strip():
        raise InputError(
            f"bad --from-feedback value {spec!r}",
            hint=f"write kind=KIND, with KIND one of: {', '.join(FEEDBACK_KINDS)}",
        )
    return check_kind(value)


def add_cases_from_feedback(
    store: TraceStore,
    dataset: str | os.PathLike[str],
    kind: str,
    *,
    tenant: str | None = None,
    category: str | None = None,
    tags: Sequence[str] = (),
    gold_doc_ids: Sequence[str] = (),
    known_document: Callable[[str, str], bool] | None = None,
    min_support: float = DEFAULT_MIN_SUPPORT,
) -> CasesAdded:
    """Append one case for every trace with feedback of ``kind``, skipping traces
    already in the dataset; all new cases are written at once (or none).

    ``gold_doc_ids`` go on every new case (the documents that answer this class of
    question), each checked with ``known_document`` in the case's tenant."""
    kind = check_kind(kind)
    path = Path(dataset)
    existing = _existing(path)
    sources = {c.source_trace_id for c in existing if c.source_trace_id}
    ids = {c.id for c in existing}
    result = CasesAdded()
    new: list[Case] = []
    trace_ids = dict.fromkeys(f.trace_id for f in store.list_feedback(kind=kind, tenant=tenant))
    for trace_id in trace_ids:
        if trace_id in sources or case_id_for(trace_id) in ids:
            result.duplicates += 1
            continue
        spans = store.get_trace(trace_id, tenant=tenant)
        if not spans:
            result.missing += 1
            continue
        root = root_span(spans)
        try:
            case = case_from_trace(
                spans,
                feedback=store.list_feedback(trace_id=trace_id, tenant=root.tenant),
                gold_doc_ids=gold_doc_ids,
                category=category,
                tags=tags,
                min_support=min_support,
            )
        except InputError:  # no question: not an ask trace
            result.missing += 1
            continue
        check_documents(known_document, root.tenant, gold_doc_ids)
        new.append(case)
        ids.add(case.id)
        sources.add(trace_id)
    if new:
        _append(path, new)
    result.added = len(new)
    result.case_ids = [c.id for c in new]
    result.cases = new
    return result
