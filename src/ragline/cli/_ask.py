"""``ragline ask``: answer one question, citing a source for every sentence.

The answer is printed whole, or as it is generated (``--stream``); either way it ends
with the references, the timings, the model's usage and cost, and the trace id. An
answer a guard blocked prints the refusal, then ``blocked by <guard> at <stage>:
<reason code>``.
Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import (
    ChunksOpt,
    FilterOpt,
    ModelOpt,
    TenantOpt,
    display_path,
    new_console,
    open_project,
    print_json,
)

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.types import Answer


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    k: ChunksOpt = None,
    filters: FilterOpt = None,
    tenant: TenantOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the Answer object as JSON.")
    ] = False,
    model: ModelOpt = None,
    stream: Annotated[
        bool, typer.Option("--stream", help="Print the answer as it is generated.")
    ] = False,
) -> None:
    """Answer a question from the knowledge base, citing a source for every sentence."""
    with open_project(model=model) as project:
        if stream and not as_json:
            _stream_answer(project, question, tenant=tenant, k=k, filters=filters or [])
            return
        answer = project.ask(question, tenant=tenant, k=k, filters=filters or [])
    if as_json:
        print_json(answer.to_dict())
        return
    _print_answer(answer)


def _stream_answer(
    project: Project, question: str, *, tenant: str | None, k: int | None, filters: list[str]
) -> None:
    from ragline.answer import DeltaEvent, DoneEvent, ErrorEvent

    sys.stdout.write(f"Q: {question}\nA: ")
    sys.stdout.flush()
    wrote = False
    for event in project.ask_stream(question, tenant=tenant, k=k, filters=filters):
        if isinstance(event, DeltaEvent):
            wrote = wrote or bool(event.text)
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, ErrorEvent):
            sys.stdout.write("\n")
            sys.stderr.write(f"error: {event.message}\n")
            raise typer.Exit(1)
        elif isinstance(event, DoneEvent):
            answer = event.answer
            if answer.blocked:  # stopped before (or part-way through) the text: the refusal
                sys.stdout.write(("\n" if wrote else "") + answer.text)
            sys.stdout.write("\n")
            if answer.blocked:
                print_blocked(answer)
            print_unsupported(answer)
            print_references(answer)


def _print_answer(answer: Answer) -> None:
    from rich.markup import escape

    console = new_console()
    console.print(f"[bold]Q:[/bold] {escape(answer.question)}")
    console.print(f"[bold]A:[/bold] {escape(marked_text(answer))}")
    if answer.blocked:
        print_blocked(answer)
    print_unsupported(answer)
    print_references(answer)


#: what follows a sentence no cited source supports, in the printed answer
UNSUPPORTED_MARK = "(⚠ unsupported)"


def marked_text(answer: Answer) -> str:
    """The answer's text with :data:`UNSUPPORTED_MARK` after each sentence whose
    ``supported`` is false (the text as it is when its sentences cannot be located)."""
    if all(s.supported for s in answer.sentences):
        return answer.text
    from ragline.answer._sentence_spans import sentence_spans

    spans = sentence_spans(answer.text)
    if len(spans) != len(answer.sentences):
        return answer.text
    out, cursor = [], 0
    for (_, end, _), sentence in zip(spans, answer.sentences, strict=True):
        if not sentence.supported:
            out.append(answer.text[cursor:end] + " " + UNSUPPORTED_MARK)
            cursor = end
    out.append(answer.text[cursor:])
    return "".join(out)


def print_unsupported(answer: Answer) -> None:
    """One line per sentence below ``answer.min_support``: its support and its text."""
    from rich.markup import escape

    console = new_console()
    for i, s in enumerate(answer.sentences):
        if not s.supported:
            console.print(
                f"[yellow]⚠ unsupported[/yellow] sentence {i + 1} (support {s.support:.2f}, "
                f"below answer.min_support): {escape(s.text)}"
            )


def print_blocked(answer: Answer) -> None:
    """Which guard blocked ``answer`` and why (its text is the refusal)."""
    from rich.markup import escape

    console = new_console()
    blocking = [g for g in answer.guards if g.action == "block"]
    who = ", ".join(f"{g.guard} at {g.stage}" for g in blocking) or "a guard"
    console.print(
        f"[bold red]blocked[/bold red] by {escape(who)}: {escape(answer.refusal_reason or '')}"
    )


def print_references(answer: Answer, *, timing: bool = True) -> None:
    """The references of ``answer``; then (``timing``) its timings, usage and cost; its trace."""
    from rich.markup import escape

    console = new_console()
    if answer.references:
        console.print("\n[bold]References[/bold]")
        for ref in answer.references:
            where = display_path(ref.source) + (
                f", page {ref.page}" if ref.page is not None else ""
            )
            section = f" › {ref.section}" if ref.section else ""
            console.print(
                f"  [{ref.number}] {escape(ref.title)}{escape(section)} — {escape(where)}"
            )
    if timing:
        _print_timing(answer)
    if answer.trace_id:
        console.print(
            f"[dim]trace {answer.trace_id} (ragline traces show {answer.trace_id[:12]})[/dim]"
        )


def _print_timing(answer: Answer) -> None:
    console = new_console()
    order = ["embed_query", "keyword", "dense", "fusion", "mmr", "retrieval", "answer", "total"]
    t = answer.timings_ms
    parts = [f"{name} {t[name]:.0f} ms" for name in order if name in t]
    if parts:
        console.print(f"\n[dim]timing: {' · '.join(parts)}[/dim]")
    if "load_model" in t:
        console.print(f"[dim](model load {t['load_model']:.0f} ms, once per process)[/dim]")
    if answer.usage is not None:
        cost = (
            f"unknown cost (set models.{answer.model}.price_input_per_mtok and "
            "price_output_per_mtok in ragline.yaml)"
            if answer.cost_usd is None
            else f"${answer.cost_usd:.6f}"
        )
        console.print(
            f"[dim]{answer.model}: {answer.usage['prompt_tokens']} prompt + "
            f"{answer.usage['completion_tokens']} completion tokens"
            f"{' (estimated)' if answer.usage.get('estimated') else ''}, {cost}[/dim]"
        )
