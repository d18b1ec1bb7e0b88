"""Hand-made ask traces, shaped like the pipeline's (see ``ragline traces show``)."""

from __future__ import annotations

from typing import Any

from ragline.store._traces import SpanRecord

T0 = 1_764_000_000.0  # a fixed minute start, so tests never read the clock


def ask_trace(
    n: int,
    *,
    start: float = T0,
    tenant: str = "acme",
    ms: float = 100.0,
    status: str = "ok",
    rules: list[str] | None = None,
    abstained: bool = False,
    hits: list[tuple[float, str | None]] | None = None,
    question_language: str | None = None,
    sentences: list[tuple[list[int], float]] | None = None,
    guard_action: str = "allow",
    model: tuple[str, int, int, float] | None = None,
    cached: bool | None = None,
    stages: dict[str, float] | None = None,
    root_attrs: dict[str, Any] | None = None,
) -> list[SpanRecord]:
    """Spans of one ask: children first (as the writer gets them), root last."""
    trace_id = f"{n:032x}"
    root_id = f"{n * 1000:016x}"
    spans: list[SpanRecord] = []

    def child(i: int, name: str, kind: str, dur: float, attrs: dict[str, Any]) -> None:
        spans.append(
            SpanRecord(
                trace_id,
                f"{n * 1000 + i:016x}",
                root_id,
                name,
                kind,
                tenant,
                start,
                start + dur / 1000,
                "ok",
                attrs,
            )
        )

    child(
        1,
        "ragline.query_analysis",
        "analysis",
        1.0,
        {"ragline.routing.rules_fired": list(rules or [])},
    )
    child(
        2,
        "ragline.retrieve",
        "retrieval",
        (stages or {}).get("retrieve", 10.0),
        {
            "ragline.hits": [
                {"chunk_id": f"c{i}", "score": s, "language": lang}
                for i, (s, lang) in enumerate(hits or [])
            ],
        },
    )
    child(3, "ragline.guard_in", "guard", 2.0, {"ragline.guard.action": guard_action})
    if sentences is not None:
        child(
            4,
            "ragline.answer",
            "answer",
            5.0,
            {
                "ragline.sentences": [
                    {"text": "x", "citations": c, "support": s} for c, s in sentences
                ]
            },
        )
    if model is not None:
        name, tin, tout, cost = model
        child(
            5,
            "ragline.generate",
            "model",
            50.0,
            {
                "gen_ai.request.model": name,
                "gen_ai.usage.input_tokens": tin,
                "gen_ai.usage.output_tokens": tout,
                "ragline.cost_usd": cost,
                "ragline.cached": bool(cached),
            },
        )
    attrs: dict[str, Any] = {"ragline.question": "q", "ragline.abstained": abstained}
    if question_language is not None:
        attrs["ragline.question.language"] = question_language
    attrs.update(root_attrs or {})
    spans.append(
        SpanRecord(
            trace_id,
            root_id,
            None,
            "ragline.ask",
            "ask",
            tenant,
            start,
            start + ms / 1000,
            status,
            attrs,
        )  # type: ignore[arg-type]
    )
    return spans
