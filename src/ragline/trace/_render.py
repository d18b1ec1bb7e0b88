"""Show a trace in the terminal, and turn trace records into JSON.

:func:`render_trace` prints, in order:

1. a header (trace id, root name, tenant, local start time, duration, status);
2. the **waterfall**: the span tree, indented by depth, each span with a bar placed
   at its offset from the start of the trace and as long as its duration, its
   duration in ms and its status;
3. **steps**: each span's short attributes (languages and routing rules of the query
   analysis, fusion method, model, tokens, cost, finish reason…) and errors;
4. **retrieved chunks**: each retriever's top hits with ranks and scores, then the
   final hits with fused and per-retriever scores and the start of their text;
5. the **exact prompt** (verbatim, or each message of a chat model call), the
   model **output**, the final **answer** and its **citations** with their support;
6. the feedback given on the trace.

Rich is imported inside the functions (the CLI imports this module lazily anyway).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ragline.store._traces import Feedback, SpanRecord, TraceSummary

if TYPE_CHECKING:
    from rich.console import Console

BAR_WIDTH = 40
#: hits shown per retriever/fusion span (the final hits are always all shown)
MAX_HITS_SHOWN = 10
#: characters of a trace id shown in ``traces list`` (any unique 8+ prefix is accepted)
SHORT_ID = 12
_SCALAR_MAX = 120
#: attributes shown in their own section rather than among a span's short attributes
_LONG_KEYS = frozenset(
    {
        "ragline.prompt",
        "ragline.messages",
        "gen_ai.completion",
        "ragline.answer",
        "ragline.question",
        "ragline.sentences",
        "ragline.hits",
        "ragline.retriever.top",
        "ragline.fusion.top",
        "ragline.mmr.selected",
    }
)
_STATUS_STYLE = {"ok": "green", "error": "red"}


# ---------------------------------------------------------------------- JSON


def span_to_dict(span: SpanRecord) -> dict[str, Any]:
    """A span as JSON-ready data (``start``/``end`` epoch seconds, ``duration_ms``)."""
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "name": span.name,
        "kind": span.kind,
        "tenant": span.tenant,
        "start": span.start,
        "end": span.end,
        "duration_ms": round(span.duration_ms, 3),
        "status": span.status,
        "attributes": span.attributes,
        "events": [asdict(e) for e in span.events],
    }


def feedback_to_dict(fb: Feedback) -> dict[str, Any]:
    return asdict(fb)


def trace_to_dict(
    trace_id: str, spans: Sequence[SpanRecord], feedback: Sequence[Feedback]
) -> dict[str, Any]:
    """One trace as JSON (``traces show --json``, ``GET /v1/traces/{id}``)."""
    return {
        "trace_id": trace_id,
        "spans": [span_to_dict(s) for s in spans],
        "feedback": [feedback_to_dict(f) for f in feedback],
    }


def summary_to_dict(t: TraceSummary) -> dict[str, Any]:
    return {
        "trace_id": t.trace_id,
        "tenant": t.tenant,
        "name": t.name,
        "start": t.start,
        "time": local_time(t.start),
        "duration_ms": round(t.duration_ms, 3),
        "status": t.status,
        "spans": t.spans,
        "question": t.question,
    }


def local_time(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def fmt_ms(ms: float) -> str:
    return f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


# ---------------------------------------------------------------------- tree


def span_tree(spans: Sequence[SpanRecord]) -> list[tuple[int, SpanRecord]]:
    """``(depth, span)`` in depth-first order, children by start time. A span whose
    parent is not in the trace (not written, or dropped) is shown as a root."""
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for s in spans:
        parent = s.parent_id if s.parent_id in ids and s.parent_id != s.span_id else None
        children.setdefault(parent, []).append(s)
    for items in children.values():
        items.sort(key=lambda s: (s.start, -s.end))
    out: list[tuple[int, SpanRecord]] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for s in children.get(parent, []):
            if s.span_id in seen:  # a cycle in corrupt data
                continue
            seen.add(s.span_id)
            out.append((depth, s))
            walk(s.span_id, depth + 1)

    walk(None, 0)
    return out


def bar(start: float, end: float, t0: float, total_s: float, width: int = BAR_WIDTH) -> str:
    """A ``width``-character cell: spaces up to the span's offset, then ``█`` for its
    duration (at least one character)."""
    if total_s <= 0:
        return "█" + " " * (width - 1)
    offset = int((start - t0) / total_s * width)
    offset = min(max(offset, 0), width - 1)
    stop = round((end - t0) / total_s * width)
    length = min(max(stop - offset, 1), width - offset)
    return " " * offset + "█" * length + " " * (width - offset - length)


# ---------------------------------------------------------------------- render


def _short(value: Any, limit: int = _SCALAR_MAX) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_hit_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(h, dict) and "chunk_id" in h for h in value)
    )


def _score(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "—"


def render_trace(
    spans: Sequence[SpanRecord],
    *,
    feedback: Sequence[Feedback] = (),
    console: Console | None = None,
) -> None:
    """Print the trace (see the module docstring). ``spans`` must not be empty."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    console = console or Console(highlight=False)
    tree = span_tree(spans)
    root = tree[0][1]
    t0 = min(s.start for s in spans)
    t1 = max(s.end for s in spans)
    total_s = t1 - t0
    colour = _STATUS_STYLE[root.status]

    console.print(
        f"[bold]trace {root.trace_id}[/bold] · {escape(root.name)} · tenant "
        f"{escape(root.tenant)} · {local_time(root.start)} · {fmt_ms(total_s * 1000)} ms · "
        f"[{colour}]{root.status}[/{colour}] · {len(spans)} spans"
    )
    question = root.attributes.get("ragline.question")
    if isinstance(question, str):
        console.print(Text("Q: " + question))

    # -- waterfall
    labels = []
    for depth, sp in tree:
        label = Text("  " * depth + sp.name)
        label.append(f" ({sp.kind})", style="dim")
        labels.append(label)
    label_width = min(max(len(lb.plain) for lb in labels), 48)
    width = max(10, min(BAR_WIDTH, console.width - label_width - 20))
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("span", no_wrap=True, overflow="ellipsis", max_width=label_width)
    table.add_column(f"timeline ({fmt_ms(total_s * 1000)} ms)", no_wrap=True, min_width=width)
    table.add_column("ms", justify="right", no_wrap=True, min_width=5)
    table.add_column("status", no_wrap=True, min_width=6)
    for (_, sp), label in zip(tree, labels, strict=True):
        style = _STATUS_STYLE[sp.status]
        table.add_row(
            label,
            Text(bar(sp.start, sp.end, t0, total_s, width), style=style),
            fmt_ms(sp.duration_ms),
            Text(sp.status, style=style),
        )
    console.print()
    console.print(table)

    # -- steps: short attributes and errors
    console.print()
    console.rule("steps", align="left")
    for depth, s in tree:
        short = {
            k: v
            for k, v in s.attributes.items()
            if k not in _LONG_KEYS and not _is_hit_list(v) and v is not None and v != []
        }
        errors = [e for e in s.events if e.name == "exception"]
        if not short and not errors:
            continue
        console.print(Text("  " * depth + s.name, style="bold"))
        for k, v in short.items():
            room = max(20, min(_SCALAR_MAX, console.width - 2 * depth - len(k) - 4))
            console.print(Text(f"{'  ' * depth}  {k}: {_short(v, room)}"))
        for e in errors:
            message = e.attributes.get("exception.message", "")
            kind = e.attributes.get("exception.type", "error")
            console.print(Text(f"{'  ' * depth}  ✗ {kind}: {_short(message)}", style="red"))

    # -- retrieved chunks
    hit_spans = [(sp, k, v) for _, sp in tree for k, v in sp.attributes.items() if _is_hit_list(v)]
    hit_spans.sort(key=lambda item: item[1] == "ragline.hits")  # each retriever, then final
    if hit_spans:
        console.print()
        console.rule("retrieved chunks", align="left")
    for sp, key, hits in hit_spans:
        leg = sp.attributes.get("ragline.retriever")
        final = key == "ragline.hits"
        title = "final hits" if final else key.rsplit(".", 1)[-1]
        console.print(
            Text(f"{sp.name}" + (f" ({leg})" if isinstance(leg, str) else "") + f" · {title}"),
            style="bold",
        )
        shown = hits if final else hits[:MAX_HITS_SHOWN]
        for i, h in enumerate(shown, 1):
            chunk = str(h.get("chunk_id", ""))
            doc = str(h.get("document_id", ""))
            line = Text(f"  {h.get('rank', i)!s:>3}  {_score(h.get('score'))}  {chunk}")
            if doc and not chunk.startswith(doc):
                line.append(f"  (document {doc})", style="dim")
            scores = h.get("scores") or {}
            ranks = h.get("ranks") or {}
            if isinstance(scores, dict) and scores:
                legs = " · ".join(
                    f"{name} {_score(v)}" + (f" #{ranks[name]}" if name in ranks else "")
                    for name, v in scores.items()
                )
                line.append(f"  {legs}", style="dim")
            console.print(line)
            text = h.get("text")
            if isinstance(text, str) and text:
                console.print(Text("        " + _short(text, max(20, console.width - 10))))
        if len(hits) > len(shown):
            console.print(
                Text(f"  … {len(hits) - len(shown)} more (`--json` shows all)", style="dim")
            )

    # -- the exact prompt, the output, the answer, citations
    for _, s in tree:
        prompt = s.attributes.get("ragline.prompt")
        messages = s.attributes.get("ragline.messages")
        if isinstance(prompt, str):
            version = s.attributes.get("ragline.prompt.version")
            console.print()
            console.rule(
                f"prompt ({s.name}" + (f", version {version}" if version else "") + ")",
                align="left",
            )
            console.print(Text(prompt), soft_wrap=True)
        if isinstance(messages, list) and messages:
            console.print()
            console.rule(f"messages sent ({s.name})", align="left")
            for m in messages:
                if isinstance(m, dict):
                    console.print(Text(f"[{m.get('role', '?')}]", style="bold"))
                    console.print(Text(str(m.get("content", ""))), soft_wrap=True)
        completion = s.attributes.get("gen_ai.completion")
        if isinstance(completion, str):
            console.print()
            console.rule(f"model output ({s.name})", align="left")
            console.print(Text(completion), soft_wrap=True)

    answer = root.attributes.get("ragline.answer")
    if isinstance(answer, str):
        console.print()
        console.rule("answer", align="left")
        console.print(Text(answer), soft_wrap=True)

    for _, s in tree:
        sentences = s.attributes.get("ragline.sentences")
        if not isinstance(sentences, list) or not sentences:
            continue
        console.print()
        support = s.attributes.get("ragline.support")
        console.rule(
            "citations" + (f" (support {_score(support)})" if support is not None else ""),
            align="left",
        )
        for sent in sentences:
            if not isinstance(sent, dict):
                continue
            cites = sent.get("citations") or []
            marks = "".join(f"[{c}]" for c in cites) or "uncited"
            sup = sent.get("support")
            line = Text(f"  {marks:<10} support {_score(sup)}  ", style="" if cites else "red")
            line.append(_short(sent.get("text", ""), 200))
            console.print(line)
        refs = s.attributes.get("ragline.references")
        if isinstance(refs, list) and refs:
            console.print(
                Text("  references: " + ", ".join(f"[{i}] {r}" for i, r in enumerate(refs, 1)))
            )

    if feedback:
        console.print()
        console.rule("feedback", align="left")
        for fb in feedback:
            line = Text(f"  {local_time(fb.created_at)}  {fb.kind}")
            if fb.note:
                line.append(f" — {fb.note}")
            console.print(line)


def render_summaries(summaries: Sequence[TraceSummary], *, console: Console) -> None:
    """The ``ragline traces list`` table."""
    from rich.table import Table
    from rich.text import Text

    if not summaries:
        console.print("no traces match")
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("trace", no_wrap=True, min_width=SHORT_ID)
    table.add_column("time", no_wrap=True, min_width=19)
    table.add_column("tenant", no_wrap=True, min_width=7, max_width=16, overflow="ellipsis")
    table.add_column("ms", justify="right", no_wrap=True, min_width=6)
    table.add_column("status", no_wrap=True, min_width=6)
    table.add_column("spans", justify="right", no_wrap=True, min_width=5)
    table.add_column("question", ratio=1, min_width=10)
    for t in summaries:
        style = _STATUS_STYLE[t.status]
        table.add_row(
            t.trace_id[:SHORT_ID],
            local_time(t.start),
            Text(t.tenant),
            fmt_ms(t.duration_ms),
            Text(t.status, style=style),
            str(t.spans),
            Text(_short(t.question or f"({t.name})", 200)),
        )
    console.print(table)
