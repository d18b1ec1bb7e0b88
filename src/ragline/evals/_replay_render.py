"""Show a replay: a terminal table wrapped to the console's width, and an HTML report.

The terminal table has one row per ask that changed (every ask with ``show_all``):
its trace, the question, the rules that fire now and did not then (and the words they
matched), the documents gained and lost in the top k and those that moved, what
happened to the answer, and the verdict; a legend explains the marks. Rich wraps
every cell, so no line is wider than the console (80 columns stay readable) and no
header is cut. :func:`replay_html` is one self-contained file (inline CSS, no script,
no external resource) with then and now side by side for every ask.

Rich is imported inside the functions (the CLI imports this module lazily anyway).
"""

from __future__ import annotations

import datetime as _dt
import html
from typing import TYPE_CHECKING

from ragline.evals._replay import ReplayedAsk, ReplayReport, Side

if TYPE_CHECKING:
    from rich.console import Console

    from ragline.retrieve._explain import RoutingExplanation

SHORT_ID = 8

LEGEND = (
    "rules: +R fires now and did not then (matched words in brackets), -R fired then "
    "only. documents (top k): +D gained, -D lost, D a→b rank moved. answer: = same, "
    "≠ text changed, cites≠ other citations, abstains/answers now; s support, r answer "
    "relevance, then→now. "
    "verdict: from a case made from the trace, else its feedback."
)


def _summary(report: ReplayReport) -> str:
    c = report.counts()
    how = "retrieval only" if report.retrieval_only else "with answers"
    parts = [
        f"replayed {c['replayed']} asks ({how}): {c['changed']} changed, "
        f"{c['unchanged']} unchanged",
        f"rules fired differently on {c['rules_changed']}",
        f"improved {c['improved']}, worsened {c['worsened']}, unresolved {c['unresolved']}",
    ]
    if c["documents_changed"]:
        parts.append(f"{c['documents_changed']} with documents changed since the trace")
    if c["skipped"]:
        parts.append(f"{c['skipped']} skipped")
    return "; ".join(parts)


def rules_cell(ask: ReplayedAsk) -> str:
    matched = {m.rule: m.matched for m in ask.rule_matches}
    out = [f"+{r} [{matched.get(r)}]" for r in ask.now.rules if r not in ask.then.rules]
    out += [f"-{r}" for r in ask.then.rules if r not in ask.now.rules]
    return "\n".join(out) or "="


def documents_cell(ask: ReplayedAsk) -> str:
    out = [f"+{d}" for d in ask.gained] + [f"-{d}" for d in ask.lost]
    out += [f"{r.document_id} {r.before}→{r.after}" for r in ask.rank_changes]
    if not out and ask.retrieval_changed:
        out.append("chunks reordered")
    return "\n".join(out) or "="


def _support(side: Side) -> str:
    return _score(side.support)


def answer_cell(ask: ReplayedAsk) -> str:
    if ask.retrieval_only:
        return "n/a"
    out: list[str] = []
    if ask.abstention_changed:
        out.append("abstains now" if ask.now.abstained else "answers now")
    elif ask.answer_changed:
        out.append("≠")
    if ask.citations_changed:
        out.append("cites≠")
    if not out:
        out.append("=")
    if ask.then.support != ask.now.support:
        out.append(f"s {_support(ask.then)}→{_support(ask.now)}")
    if ask.then.relevance is not None or ask.now.relevance is not None:
        then, now = (_score(v) for v in (ask.then.relevance, ask.now.relevance))
        out.append(f"r {then}→{now}")
    return "\n".join(out)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_replay(report: ReplayReport, *, console: Console, show_all: bool = False) -> None:
    from rich.table import Table
    from rich.text import Text

    console.print(Text(_summary(report)))
    rows = report.asks if show_all else report.changed()
    if rows:
        table = Table(box=None, pad_edge=False, show_edge=False, expand=False)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("trace", no_wrap=True, min_width=SHORT_ID)
        table.add_column("question", ratio=2, min_width=12, overflow="fold")
        table.add_column("rules", ratio=1, min_width=5, overflow="fold")
        table.add_column("documents", ratio=3, min_width=9, overflow="fold")
        table.add_column("answer", ratio=1, min_width=6, overflow="fold")
        verdicts = any(a.verdict for a in rows)
        if verdicts:  # the column only where something gave a verdict
            table.add_column("verdict", no_wrap=True, min_width=10)
        for n, ask in enumerate(rows, 1):
            cells: list[str | Text] = [
                str(n),
                ask.trace_id[:SHORT_ID],
                Text(ask.question),
                Text(rules_cell(ask)),
                Text(documents_cell(ask)),
                Text(answer_cell(ask)),
            ]
            table.add_row(*cells, *([ask.verdict or ""] if verdicts else []))
        console.print(table)
        console.print(Text(LEGEND, style="dim"))
    elif report.asks:
        console.print(Text("no ask changed"))
    drifted = [a for a in report.asks if a.documents_changed]
    if drifted:
        console.print(Text("documents changed since the trace (re-ingested or deleted):"))
        for ask in drifted:
            what = ", ".join(f"{d.chunk_id} {d.change}" for d in ask.documents_changed)
            console.print(Text(f"  {ask.trace_id[:SHORT_ID]}: {what}"))
    if report.skipped:
        console.print(Text(f"not replayed ({len(report.skipped)}):"))
        for s in report.skipped:
            console.print(Text(f"  {s.trace_id[:SHORT_ID]}: {s.reason}"))


# -------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:2em;border-top:1px solid #ccc;padding-top:1em}
table{border-collapse:collapse;width:100%} td,th{vertical-align:top;padding:4px 8px;
text-align:left;border-bottom:1px solid #eee} th{width:12em}
.then{background:#fafafa} .gained{color:#116611;font-weight:bold}
.lost{color:#aa1111;text-decoration:line-through} .tag{display:inline-block;padding:1px 6px;
border-radius:4px;background:#eee;margin-right:4px} .changed{background:#fff3cd}
.improved{background:#d4edda} .worsened{background:#f8d7da} .warn{color:#aa1111}
ol{margin:0;padding-left:1.4em} pre{white-space:pre-wrap;margin:0;font-family:inherit}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _docs_html(side: Side, other: Side, mark: str) -> str:
    items = []
    for d in side.document_ids:
        cls = f' class="{mark}"' if d not in other.document_ids else ""
        items.append(f"<li{cls}>{_e(d)}</li>")
    return f"<ol>{''.join(items)}</ol>" if items else "<em>nothing</em>"


def _ask_html(n: int, ask: ReplayedAsk) -> str:
    then, now = ask.then, ask.now
    when = _dt.datetime.fromtimestamp(ask.started).isoformat(timespec="seconds")
    tags = []
    if ask.changed:
        tags.append('<span class="tag changed">changed</span>')
    if ask.verdict:
        tags.append(f'<span class="tag {ask.verdict}">{_e(ask.verdict)}</span>')
    for kind in ask.feedback:
        tags.append(f'<span class="tag">feedback: {_e(kind)}</span>')
    matched = ", ".join(f"{m.rule} [{m.matched}]" for m in ask.rule_matches)

    def row(label: str, a: str, b: str) -> str:
        return f'<tr><th>{_e(label)}</th><td class="then">{a}</td><td>{b}</td></tr>'

    def text(side: Side) -> str:
        if ask.retrieval_only and side is now:
            return "<em>not generated (retrieval only)</em>"
        return f"<pre>{_e(side.answer)}</pre>" if side.answer is not None else "<em>none</em>"

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    rows = [
        row("rules fired", _e(", ".join(then.rules) or "none"), _e(matched or "none")),
        row(
            "documents (top k)",
            _docs_html(then, now, "lost"),
            _docs_html(now, then, "gained"),
        ),
        row("answer", text(then), text(now)),
        row(
            "citations",
            _e(", ".join(then.citations) or "none"),
            _e(", ".join(now.citations) or "none"),
        ),
        row("abstained", _e(then.abstained), _e(now.abstained)),
        row("support", num(then.support), num(now.support)),
        row("answer relevance", num(then.relevance), num(now.relevance)),
    ]
    drift = ""
    if ask.documents_changed:
        what = ", ".join(f"{d.chunk_id} {d.change}" for d in ask.documents_changed)
        drift = f'<p class="warn">documents changed since the trace: {_e(what)}</p>'
    reason = f"<p>{_e(ask.verdict_reason)}</p>" if ask.verdict_reason else ""
    return (
        f"<h2>{n}. {_e(ask.question)}</h2>"
        f"<p>trace <code>{_e(ask.trace_id)}</code> · tenant {_e(ask.tenant)} · {_e(when)} "
        f"{''.join(tags)}</p>{reason}{drift}"
        f"<table><tr><th></th><th>then (trace)</th><th>now (replay)</th></tr>"
        f"{''.join(rows)}</table>"
    )


def replay_html(report: ReplayReport) -> str:
    """The whole report as one self-contained HTML page."""
    config = report.config
    described = []
    for key, value in (config.get("overrides") or {}).items():
        described.append(f"<li><code>--set {_e(key)}={_e(value)}</code></li>")
    if config.get("config_file"):
        described.append(f"<li><code>--config {_e(config['config_file'])}</code></li>")
    skipped = "".join(
        f"<li><code>{_e(s.trace_id)}</code>: {_e(s.reason)}</li>" for s in report.skipped
    )
    changed = [a for a in report.asks if a.changed]
    unchanged = [a for a in report.asks if not a.changed]
    body = "".join(_ask_html(n, a) for n, a in enumerate([*changed, *unchanged], 1))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>ragline replay</title>"
        f"<style>{_CSS}</style></head><body><h1>ragline replay</h1>"
        f"<p>{_e(_summary(report))}</p>"
        f"<p>configuration replayed:</p><ul>{''.join(described) or '<li>the current one</li>'}</ul>"
        + (f"<p>not replayed:</p><ul>{skipped}</ul>" if skipped else "")
        + f"{body}</body></html>\n"
    )


# ----------------------------------------------------------------------- routing test


def render_explanation(explanation: RoutingExplanation, *, console: Console) -> None:
    """``ragline routing test``: each rule (fired or not, on which words, what it does),
    then the top hits with their rank without and with routing."""
    from rich.table import Table
    from rich.text import Text

    console.print(Text(f"query: {explanation.query}  (tenant {explanation.tenant})"))
    if not explanation.matches:
        console.print(Text("no routing rules are configured for this tenant"))
    for m in explanation.matches:
        if m.fired:
            where = f"matched {m.matched!r} at {m.start}-{m.end}"
            console.print(Text(f"  fired    {m.rule}: {where} → {m.action}"))
        else:
            console.print(Text(f"  no match {m.rule}: /{m.pattern}/"))
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("before", justify="right", no_wrap=True)
    table.add_column("after", justify="right", no_wrap=True)
    table.add_column("document", ratio=3, min_width=10, overflow="fold")
    table.add_column("doc_type", ratio=1, min_width=8, overflow="fold")
    table.add_column("effect", ratio=2, min_width=6, overflow="fold")
    for h in explanation.hits:
        effect = []
        if h.rules:
            effect.append(f"x{h.boost:g} by {', '.join(h.rules)}")
        if h.filtered_by:
            effect.append(f"excluded by {', '.join(h.filtered_by)}")
        table.add_row(
            str(h.before) if h.before is not None else "-",
            str(h.after) if h.after is not None else "-",
            Text(h.chunk_id),
            Text(h.doc_type or ""),
            Text("; ".join(effect)),
        )
    console.print(table)
    console.print(
        Text(
            f"before: rank in the top {explanation.k} without routing; after: with the "
            "rules that fired; - not in that top k.",
            style="dim",
        )
    )
