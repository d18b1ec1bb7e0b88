"""Traces: the list (filters in the query string, cursor paging on the server), one
trace as a waterfall with what each stage saw, and feedback on it.

The cursor is the start time of the last trace shown: the next page lists traces that
started before it, so a page costs one indexed query however many traces there are.
With a feedback kind filter the list is of traces with such feedback, newest feedback
first (the cursor is then the feedback's time). Reads are scoped to the viewer's
tenant; another tenant's trace is "not found", exactly like one that does not exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ragline.errors import InputError
from ragline.store._traces import FEEDBACK_KINDS, SpanRecord, TraceSummary
from ragline.ui._charts import Bar, waterfall
from ragline.ui._render import HEADERS, page_errors, render
from ragline.ui._viewer import FormViewerDep, PageError, Viewer, ViewerDep

router = APIRouter(include_in_schema=False)


@dataclass(slots=True)
class TraceFilters:
    since: str = ""
    until: str = ""
    tenant: str = ""
    status: str = ""
    min_latency_ms: str = ""
    feedback: str = ""
    text: str = ""
    cursor: str = ""

    def query(self, **changes: str) -> str:
        from urllib.parse import urlencode

        values = {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v})


def _parse(f: TraceFilters) -> dict[str, Any]:
    """The store query of the filters; InputError naming the bad one."""
    from ragline._time import parse_when

    out: dict[str, Any] = {}
    if f.since:
        out["since"] = parse_when(f.since, option="since")
    if f.until:
        out["until"] = parse_when(f.until, option="until")
    if f.status:
        if f.status not in ("ok", "error"):
            raise InputError(f"status: unknown value {f.status!r}", hint="use ok or error")
        out["status"] = f.status
    if f.min_latency_ms:
        try:
            value = float(f.min_latency_ms)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise InputError(
                f"latency: {f.min_latency_ms!r} is not a number of milliseconds",
                hint="give the least latency in ms, e.g. 500",
            )
        out["min_latency_ms"] = value
    if f.feedback and f.feedback not in FEEDBACK_KINDS:
        raise InputError(
            f"feedback: unknown kind {f.feedback!r}", hint=f"use one of {', '.join(FEEDBACK_KINDS)}"
        )
    if f.text:
        if "\x00" in f.text:
            raise InputError("text: contains a NUL character")
        out["text"] = f.text
    if f.cursor:
        try:
            out["cursor"] = float(f.cursor)
        except ValueError:
            raise InputError(
                f"cursor: {f.cursor!r} is not a page position", hint="start from the first page"
            ) from None
    return out


def _summary(spans: list[SpanRecord]) -> TraceSummary:
    from ragline.trace._feedback import root_span

    root = root_span(spans)
    q = root.attributes.get("ragline.question")
    return TraceSummary(
        root.trace_id,
        root.tenant,
        root.name,
        root.start,
        root.duration_ms,
        root.status,
        len(spans),
        q if isinstance(q, str) else None,
    )


def find_traces(
    viewer: Viewer, f: TraceFilters, page_size: int
) -> tuple[list[TraceSummary], str | None]:
    """One page of traces and the cursor of the next page (None: the last page)."""
    q = _parse(f)
    project = viewer.project
    project.flush_traces(project.settings.tracing.flush_timeout_s)
    store = project.trace_store
    tenant = viewer.tenant_for(f.tenant)
    cursor = q.pop("cursor", None)
    if f.feedback:
        fb = store.list_feedback(tenant=tenant, kind=f.feedback)
        fb.sort(key=lambda x: x.created_at, reverse=True)
        rows: list[TraceSummary] = []
        seen: set[str] = set()
        last = None
        for item in fb:
            if (cursor is not None and item.created_at >= cursor) or item.trace_id in seen:
                continue
            seen.add(item.trace_id)
            spans = store.get_trace(item.trace_id, tenant=tenant)
            if not spans:
                continue
            s = _summary(spans)
            if not _matches(s, spans, q):
                continue
            rows.append(s)
            last = item.created_at
            if len(rows) > page_size:
                break
        more = len(rows) > page_size
        return rows[:page_size], (repr(last) if more and last is not None else None)
    if cursor is not None:
        until = q.get("until")
        q["until"] = min(cursor - 1e-6, until) if until is not None else cursor - 1e-6
    found = store.list_traces(tenant=tenant, limit=page_size + 1, **q)
    more = len(found) > page_size
    found = found[:page_size]
    return found, (repr(found[-1].start) if more and found else None)


def _matches(s: TraceSummary, spans: list[SpanRecord], q: dict[str, Any]) -> bool:
    from ragline.store._traces import search_text
    from ragline.trace._feedback import root_span

    if "since" in q and s.start < q["since"]:
        return False
    if "until" in q and s.start > q["until"]:
        return False
    if "status" in q and s.status != q["status"]:
        return False
    if "min_latency_ms" in q and s.duration_ms < q["min_latency_ms"]:
        return False
    if "text" in q:
        hay = search_text(root_span(spans)) or ""
        return str(q["text"]).lower() in hay
    return True


@router.get("/traces")
@page_errors
def traces_page(
    request: Request,
    viewer: ViewerDep,
    since: str = "",
    until: str = "",
    tenant: str = "",
    status: str = "",
    latency: str = "",
    feedback: str = "",
    text: str = "",
    cursor: str = "",
) -> Response:
    f = TraceFilters(since, until, tenant, status, latency, feedback, text, cursor)
    error = ""
    rows: list[TraceSummary] = []
    next_cursor = None
    try:
        rows, next_cursor = find_traces(viewer, f, viewer.state.settings.ui.page_size)
    except InputError as e:
        error = str(e)
    tenants = sorted(viewer.project.store.tenants()) if viewer.admin else []
    return render(
        request,
        viewer,
        "traces.html",
        status=400 if error else 200,
        f=f,
        rows=rows,
        error=error,
        next_query=f.query(cursor=next_cursor) if next_cursor else None,
        first_query=f.query(cursor="") if f.cursor else None,
        kinds=FEEDBACK_KINDS,
        tenants=tenants,
    )


def _hits(value: Any) -> list[dict[str, Any]]:
    return [h for h in value if isinstance(h, dict)] if isinstance(value, list) else []


def load_trace(viewer: Viewer, trace_id: str) -> tuple[list[SpanRecord], SpanRecord]:
    from ragline.trace._feedback import get_trace, root_span

    project = viewer.project
    project.flush_traces(project.settings.tracing.flush_timeout_s)
    if len(trace_id) > 128:
        raise PageError(404, "not found", "no such trace")
    spans = get_trace(project.trace_store, trace_id, tenant=viewer.scope)
    return spans, root_span(spans)


def _depths(spans: list[SpanRecord]) -> dict[str, int]:
    by_id = {s.span_id: s for s in spans}
    depth: dict[str, int] = {}
    for s in spans:
        d, p, hops = 0, s.parent_id, 0
        while p is not None and p in by_id and hops < 50:
            d, p, hops = d + 1, by_id[p].parent_id, hops + 1
        depth[s.span_id] = d
    return depth


#: attributes shown in their own section of a span, not in its raw attribute list
_SHOWN = {"ragline.hits", "ragline.retriever.top", "ragline.fusion.top", "ragline.sentences"}


@router.get("/traces/{trace_id}")
@page_errors
def trace_page(request: Request, viewer: ViewerDep, trace_id: str) -> Response:
    spans, root = load_trace(viewer, trace_id)
    depth = _depths(spans)
    t0 = min(s.start for s in spans)
    total = max((s.end for s in spans), default=root.end) - t0
    bars = [
        Bar(
            s.name.removeprefix("ragline."),
            (s.start - t0) * 1000,
            s.duration_ms,
            depth[s.span_id],
            s.status == "error",
            f"span-{s.span_id}",
        )
        for s in spans
    ]
    sections = []
    rules: list[str] = []
    for s in spans:
        a = s.attributes
        fired = a.get("ragline.routing.rules_fired")
        if isinstance(fired, list):
            rules.extend(str(r) for r in fired if str(r) not in rules)
        sections.append(
            {
                "span": s,
                "hits": _hits(a.get("ragline.hits")),
                "top": _hits(a.get("ragline.retriever.top") or a.get("ragline.fusion.top")),
                "sentences": _hits(a.get("ragline.sentences")),
                "prompt": a.get("ragline.prompt") or a.get("gen_ai.prompt"),
                "attrs": {k: v for k, v in a.items() if k not in _SHOWN},
            }
        )
    feedback = viewer.project.trace_store.list_feedback(trace_id=root.trace_id, tenant=root.tenant)
    references = root.attributes.get("ragline.references")
    return render(
        request,
        viewer,
        "trace.html",
        root=root,
        chart=waterfall(bars, total * 1000),
        sections=sections,
        rules=rules,
        answer=root.attributes.get("ragline.answer"),
        support=root.attributes.get("ragline.support"),
        references=references if isinstance(references, list) else [],
        feedback=feedback,
        kinds=FEEDBACK_KINDS,
        added=request.query_params.get("added", ""),
    )


@router.post("/traces/{trace_id}/feedback")
@page_errors
def trace_feedback(
    viewer: FormViewerDep,
    trace_id: str,
    kind: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    from ragline.trace._feedback import add_feedback

    _, root = load_trace(viewer, trace_id)
    add_feedback(viewer.project.trace_store, root.trace_id, kind, note or None, tenant=root.tenant)
    return RedirectResponse(
        f"/traces/{root.trace_id}?added=feedback", status_code=303, headers=HEADERS
    )


__all__ = ["TraceFilters", "find_traces", "load_trace", "router"]
