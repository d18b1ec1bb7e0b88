"""Evaluation runs: the list, one run case by case, and two runs compared (paired
deltas with bootstrap intervals, McNemar's p, the flips and the config diff).

Runs are not kept per tenant (a run's dataset may span tenants), so these pages need
an admin key, or a server with no keys.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ragline.errors import InputError, NotFoundError
from ragline.ui._render import page_errors, render
from ragline.ui._viewer import PageError, Viewer, ViewerDep

router = APIRouter(include_in_schema=False)


def _allowed(viewer: Viewer) -> None:
    if not viewer.state.open:
        viewer.require_admin("evaluation runs")


def _run(viewer: Viewer, run_id: str) -> Any:
    if len(run_id) > 128:
        raise PageError(404, "not found", "no such run")
    try:
        return viewer.project.evals.get_run(run_id)
    except (KeyError, InputError, NotFoundError):
        raise PageError(
            404, "not found", f"no evaluation run {run_id!r}", "the runs page lists them"
        ) from None


@router.get("/evals")
@page_errors
def runs_page(request: Request, viewer: ViewerDep) -> Response:
    _allowed(viewer)
    runs = viewer.project.evals.list_runs(limit=viewer.state.settings.ui.page_size)
    return render(request, viewer, "evals.html", runs=runs)


@router.get("/evals/compare")
@page_errors
def compare_page(request: Request, viewer: ViewerDep, a: str = "", b: str = "") -> Response:
    from ragline.evals._compare import compare_runs

    _allowed(viewer)
    if not a or not b:
        raise PageError(400, "bad input", "choose two runs to compare", "the runs page has a form")
    run_a, run_b = _run(viewer, a), _run(viewer, b)
    store = viewer.project.evals
    comparison = compare_runs(run_a, store.results(run_a.id), run_b, store.results(run_b.id))
    return render(request, viewer, "compare.html", c=comparison)


@router.get("/evals/{run_id}")
@page_errors
def run_page(request: Request, viewer: ViewerDep, run_id: str) -> Response:
    _allowed(viewer)
    run = _run(viewer, run_id)
    results = viewer.project.evals.results(run.id)
    names: list[str] = []
    for r in results:
        for m in r.metrics:
            if m.metric not in names:
                names.append(m.metric)
    return render(request, viewer, "run.html", run=run, results=results, names=names)


__all__ = ["router"]
