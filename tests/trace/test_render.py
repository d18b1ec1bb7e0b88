"""``ragline traces show``'s terminal rendering: waterfall, hits, prompt, output, citations."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from ragline.store._traces import SpanEvent, SpanRecord
from ragline.testing._trace_conformance import T0, feedback, sid, tid
from ragline.trace._render import bar, render_trace, span_tree

PROMPT = "Answer from the sources.\n[1] The battery [bold]warranty[/bold] lasts 2 years.\n\nQ: x?"


def sp(
    n: int,
    parent: int | None,
    name: str,
    kind: str,
    start_ms: float,
    end_ms: float,
    **attributes: object,
) -> SpanRecord:
    return SpanRecord(
        trace_id=tid(1),
        span_id=sid(n),
        parent_id=sid(parent) if parent is not None else None,
        name=name,
        kind=kind,
        tenant="acme",
        start=T0 + start_ms / 1000,
        end=T0 + end_ms / 1000,
        attributes=dict(attributes),
    )


def trace() -> list[SpanRecord]:
    hits = [
        {
            "rank": 1,
            "chunk_id": "warranty#0",
            "document_id": "warranty",
            "score": 0.0318,
            "scores": {"keyword": 4.29, "dense": 0.437},
            "ranks": {"keyword": 5, "dense": 1},
            "text": "The battery warranty lasts 2 years.",
        }
    ]
    error = SpanEvent(
        "exception", T0 + 0.091, {"exception.type": "GuardError", "exception.message": "boom!"}
    )
    failed = replace(sp(9, 1, "ragline.guard", "guard", 90, 95), status="error", events=(error,))
    return [
        sp(1, None, "ragline.ask", "ask", 0, 100, **{
            "ragline.question": "How long is the warranty?",
            "ragline.answer": "Two years [1].",
        }),
        sp(2, 1, "ragline.retrieve", "retrieval", 0, 20, **{"ragline.hits": hits}),
        sp(3, 2, "ragline.retriever.keyword", "retriever", 2, 8, **{
            "ragline.retriever": "keyword",
            "ragline.retriever.top": [
                {"rank": 1, "chunk_id": "faq#3", "document_id": "faq", "score": 5.2892}
            ],
        }),
        sp(4, 1, "ragline.prompt", "prompt", 20, 21, **{
            "ragline.prompt": PROMPT, "ragline.prompt.version": "grounded-v2",
        }),
        sp(5, 1, "ragline.generate", "model", 21, 80, **{
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 812,
            "gen_ai.completion": "Two years [1].",
        }),
        sp(6, 1, "ragline.citations", "citations", 80, 90, **{
            "ragline.sentences": [
                {"text": "Two years [1].", "citations": [1], "support": 0.81},
                {"text": "Unsupported claim.", "citations": [], "support": 0.02},
            ],
            "ragline.references": ["warranty#0"],
        }),
        failed,
        sp(7, 42, "orphan.step", "misc", 50, 60),  # its parent was never written
    ]  # fmt: skip


def rendered(spans: list[SpanRecord], **kw: object) -> str:
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None, highlight=False)
    render_trace(spans, console=console, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def test_tree_is_depth_first_by_start_and_orphans_become_roots() -> None:
    tree = [(depth, s.name) for depth, s in span_tree(list(reversed(trace())))]
    assert tree == [
        (0, "ragline.ask"),
        (1, "ragline.retrieve"),
        (2, "ragline.retriever.keyword"),
        (1, "ragline.prompt"),
        (1, "ragline.generate"),
        (1, "ragline.citations"),
        (1, "ragline.guard"),
        (0, "orphan.step"),
    ]


def test_bars_are_placed_by_offset_and_sized_by_duration() -> None:
    assert bar(T0, T0 + 1, T0, 1.0, width=10) == "█" * 10
    assert bar(T0 + 0.5, T0 + 0.75, T0, 1.0, width=10) == "     ███  "
    assert bar(T0 + 0.2, T0 + 0.2001, T0, 1.0, width=10) == "  █       "  # at least one
    assert bar(T0, T0, T0, 0.0, width=4) == "█   "
    assert all(len(bar(T0 + i / 10, T0 + 1, T0, 1.0, width=10)) == 10 for i in range(11))


def test_waterfall_shows_every_span_indented_with_duration_and_status() -> None:
    text = rendered(trace())
    lines = text.splitlines()
    assert lines[0].startswith(f"trace {tid(1)} · ragline.ask · tenant acme")
    assert lines[0].endswith(" ms · ok · 8 spans")

    def row(name: str) -> str:
        return next(line for line in lines if line.lstrip().startswith(name + " ("))

    assert row("ragline.ask").startswith("ragline.ask (ask)")
    assert row("ragline.retrieve").startswith("  ragline.retrieve (retrieval)")
    assert row("ragline.retriever.keyword").startswith("    ragline.retriever.keyword")
    assert row("ragline.generate").rstrip().endswith("59.0  ok")
    assert row("ragline.guard").rstrip().endswith("5.0  error")
    # the model call's bar starts about a fifth of the way in and is the longest child
    gen = row("ragline.generate")
    ask = row("ragline.ask")
    assert gen.index("█") > ask.index("█")
    assert gen.count("█") > row("ragline.prompt").count("█")


def test_details_hits_prompt_output_citations_errors_feedback() -> None:
    fb = [feedback("f1", tid(1), kind="hallucination", note="it is five years", tenant="acme")]
    text = rendered(trace(), feedback=fb)
    assert PROMPT in text  # verbatim: markup-looking text is not interpreted
    assert "version grounded-v2" in text
    assert "warranty#0" in text and "0.0318" in text
    assert "keyword 4.2900 #5 · dense 0.4370 #1" in text
    assert "The battery warranty lasts 2 years." in text
    assert "faq#3" in text and "5.2892" in text
    assert "model output (ragline.generate)" in text
    assert "gen_ai.usage.input_tokens: 812" in text
    assert "[1]        support 0.8100  Two years [1]." in text
    assert "uncited    support 0.0200  Unsupported claim." in text
    assert "references: [1] warranty#0" in text
    assert "GuardError: boom!" in text
    assert "hallucination — it is five years" in text


def test_a_trace_without_details_renders_just_the_waterfall() -> None:
    text = rendered([sp(1, None, "ragline.ingest", "ingest", 0, 5)])
    assert "ragline.ingest (ingest)" in text
    assert "retrieved chunks" not in text and "prompt" not in text
