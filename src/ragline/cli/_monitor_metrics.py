"""``ragline monitor metrics``: a table of every metric over a window (``--json``).

Read from the per-minute rollups (never from raw traces): see
:mod:`ragline.monitor._rollup_source` for the windows and aggregations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import JsonOpt, OnlyTenantOpt, new_console, open_project, print_json

if TYPE_CHECKING:
    from ragline.monitor._table import MetricLine

WindowOpt = Annotated[str, typer.Option("--window", "-w", help="How far back: 5m, 1h, 24h, 7d.")]
RouteOpt = Annotated[
    str | None, typer.Option("--route", "-r", help="Only asks this routing rule fired on.")
]


def _fmt(value: float | None, unit: str, agg: str) -> str:
    if value is None:
        return "—"
    if agg == "rate" and unit == "ratio":
        return f"{value * 100:.1f}%"
    if agg == "rate":
        return f"{value:.3g}/s"
    if unit == "usd":
        return f"${value:.4f}"
    if unit == "ms":
        return f"{value:.1f} ms"
    if agg == "count" or unit == "tokens":
        return f"{value:,.0f}"
    return f"{value:.3f}"


def monitor_metrics(
    window: WindowOpt = "1h",
    tenant: OnlyTenantOpt = None,
    route: RouteOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every windowed metric over the last WINDOW: value, samples and percentiles.

    "—" is no data (no asks, or nothing to judge), not zero. Gaps are minutes whose
    rollups could not be written.
    """
    import time

    from ragline._duration import format_duration, parse_duration
    from ragline.monitor._setup import rollup_source
    from ragline.monitor._table import metric_lines

    window_s = parse_duration(window, what="--window")
    now = time.time()
    with open_project() as project:
        project.flush_traces(project.settings.tracing.flush_timeout_s)
        source = rollup_source(project.parts.backend, project.trace_store)
        lines = metric_lines(source, window_s=window_s, now=now, tenant=tenant, route=route)
    gaps = max((line.gaps for line in lines), default=0)
    if as_json:
        print_json(
            {
                "window_s": window_s,
                "now": now,
                "tenant": tenant,
                "route": route,
                "gaps": gaps,
                "metrics": [line.to_dict() for line in lines],
            }
        )
        return
    _render(lines, f"last {format_duration(window_s)}", gaps)


def _render(lines: list[MetricLine], title: str, gaps: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = new_console()
    table = Table(title=f"metrics, {title}", title_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    for header in ("n", "p50", "p95", "p99", "max"):
        table.add_column(header, justify="right")
    for line in lines:
        pct = [
            _fmt(line.percentiles[p], line.unit, p) if p in line.percentiles else ""
            for p in ("p50", "p95", "p99", "max")
        ]
        where = ",".join(f"{k}={v}" for k, v in line.filters.items())
        name = f"{line.metric}[{where}]" if where else line.metric
        value = _fmt(line.value, line.unit, line.agg)
        table.add_row(escape(name), f"{value} {line.agg}", str(line.samples), *pct)
    console.print(table)
    if gaps:
        console.print(
            f"[yellow]{gaps} minute(s) in the window have missing rollups (a write failed): "
            "the numbers above undercount them[/yellow]"
        )
