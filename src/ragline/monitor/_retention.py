"""Retention: ``ragline traces prune`` deletes raw traces and rollups past their age.

Raw traces (spans and their feedback) and per-minute rollups have their own ages
(``monitor.retention.traces`` / ``.rollups``, or the command's flags), so a team can
keep a year of cheap rollups and a month of bulky traces. Pruning traces never
touches the rollups already built from them. A trace is old when its root span
started before the cutoff (a trace whose root was never written: its first span).
"""

from __future__ import annotations

from dataclasses import dataclass

from ragline.errors import InputError
from ragline.store._rollups import RollupStore
from ragline.store._traces import TraceStore


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What a prune deleted (or, with ``dry_run``, would delete)."""

    traces_before: float | None
    rollups_before: float | None
    traces: int = 0
    spans: int = 0
    feedback: int = 0
    rollup_rows: int = 0
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


def prune(
    traces: TraceStore,
    rollups: RollupStore | None,
    *,
    traces_before: float | None,
    rollups_before: float | None,
    dry_run: bool = False,
) -> PruneReport:
    """Delete traces started before ``traces_before`` and rollup minutes before
    ``rollups_before`` (``None``: keep that kind). Raises ``InputError`` when the
    trace store cannot prune."""
    n_traces = n_spans = n_feedback = n_rows = 0
    if traces_before is not None:
        inner = getattr(traces, "inner", traces)  # the monitored store's wrapped one
        prune_traces = getattr(inner, "prune_traces", None)
        if not callable(prune_traces):
            raise InputError(
                f"this trace store ({type(inner).__name__}) cannot prune traces",
                hint="prune is available on the memory, SQLite and PostgreSQL stores",
            )
        n_traces, n_spans, n_feedback = prune_traces(traces_before, dry_run=dry_run)
    if rollups_before is not None and rollups is not None:
        n_rows = rollups.prune(rollups_before, dry_run=dry_run)
    return PruneReport(
        traces_before, rollups_before, n_traces, n_spans, n_feedback, n_rows, dry_run
    )
