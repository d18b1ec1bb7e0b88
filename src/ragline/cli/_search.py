"""``ragline search``: the chunks retrieval finds, with each retriever's score and rank.

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import FilterOpt, TenantOpt, new_console, open_project, print_json

if TYPE_CHECKING:
    from ragline.types import Hit


def search(
    query: Annotated[str, typer.Argument(help="What to search for.")],
    k: Annotated[int | None, typer.Option("-k", help="Number of hits.", min=1)] = None,
    filters: FilterOpt = None,
    tenant: TenantOpt = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="hybrid (default), keyword or dense."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Show the chunks retrieval finds, with each retriever's score and rank."""
    with open_project(**{"retrieval.mode": mode}) as project:
        result = project.retrieve(query, tenant=tenant, k=k, filters=filters or [])
    if as_json:
        print_json(
            {
                "query": query,
                "hits": [h.to_dict() for h in result.hits],
                "rules_fired": list(result.rules_fired),
                "timings_ms": result.timings_ms,
            }
        )
        return
    _print_hits(result.hits)
    if result.rules_fired:
        new_console().print(f"routing rules fired: {', '.join(result.rules_fired)}")


def _fmt_leg(hit: Hit, leg: str) -> str:
    if leg not in hit.scores:
        return "—"
    rank = hit.ranks.get(leg)
    return f"{hit.scores[leg]:.3f} (#{rank})" if rank is not None else f"{hit.scores[leg]:.3f}"


def _languages(hit: Hit) -> str:
    """``language en · document es · mixed en+es``: what a tenant's ``languages`` checks."""
    meta = hit.chunk.metadata
    parts = [f"language {hit.chunk.language or '?'}"]
    if meta.get("ragline.doc_language"):
        parts.append(f"document {meta['ragline.doc_language']}")
    mixed = meta.get("ragline.mixed_languages")
    if isinstance(mixed, list) and mixed:
        parts.append("mixed " + "+".join(str(m) for m in mixed))
    return " · ".join(parts)


def _print_hits(hits: list[Hit]) -> None:
    from rich.markup import escape

    console = new_console()
    if not hits:
        console.print("no hits")
        return
    for i, h in enumerate(hits, 1):
        c = h.chunk
        where = c.title + (f" › {c.section}" if c.section else "")
        page = f", page {c.page}" if c.page is not None else ""
        legs = " · ".join(f"{leg} {_fmt_leg(h, leg)}" for leg in ("keyword", "dense"))
        text = " ".join(c.text.split())
        console.print(f"[bold]{i}. {escape(where)}[/bold]  [dim]score {h.score:.4f}[/dim]")
        console.print(f"   document {escape(c.document_id)}{page} · chunk {escape(c.id)}")
        if c.language or c.metadata.get("ragline.doc_language"):
            console.print(f"   {escape(_languages(h))}", style="dim")
        console.print(f"   {legs}", style="dim")
        console.print(f"   {escape(text[:300])}{'…' if len(text) > 300 else ''}\n")
