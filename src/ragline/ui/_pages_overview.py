"""The overview: firing alerts, and the last 24 hours of ask latency (P95), model cost
and feedback, per hour, from the monitor's minute rollups (a tenant sees its own; an
admin every tenant's). Reading 24 hours is at most 1,440 minutes per series, however
many asks there were."""

from __future__ import annotations

import time
from collections import defaultdict

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ragline.ui._charts import series_chart
from ragline.ui._render import page_errors, render
from ragline.ui._viewer import ViewerDep

router = APIRouter(include_in_schema=False)

HOURS = 24


@router.get("/")
@page_errors
def overview_page(request: Request, viewer: ViewerDep) -> Response:
    from ragline.monitor._rollup_source import quantile

    backend = viewer.project.parts.backend
    now = time.time()
    end = (int(now) // 3600 + 1) * 3600
    start = end - HOURS * 3600
    hours = [start + i * 3600 for i in range(HOURS)]
    scope = viewer.scope
    latency: dict[int, dict[int, int]] = defaultdict(dict)
    cost: dict[int, float] = defaultdict(float)
    feedback: dict[int, float] = defaultdict(float)
    asks = 0
    for row in backend.rollups.rows(
        since=start, until=end, metrics=["latency", "cost", "feedback"], tenant=scope
    ):
        hour = row.minute // 3600 * 3600
        if row.metric == "latency" and row.label == "":
            asks += row.count
            hist = latency[hour]
            for b, n in row.buckets.items():
                hist[b] = hist.get(b, 0) + n
        elif row.metric == "cost":
            cost[hour] += row.total
        elif row.metric == "feedback" and row.label != "good":
            feedback[hour] += row.count
    p95 = [(float(h), quantile(latency[h], 0.95) if latency.get(h) else None) for h in hours]
    states = backend.alerts.states().values()
    firing = sorted((s for s in states if s.state in ("firing", "pending")), key=lambda s: s.rule)
    return render(
        request,
        viewer,
        "overview.html",
        firing=firing,
        history=backend.alerts.history(since=now - 86400, limit=10),
        asks=asks,
        p95_chart=series_chart(p95, title="ask latency P95 per hour", unit="ms"),
        cost_chart=series_chart(
            [(float(h), cost.get(h, 0.0)) for h in hours], title="model cost per hour", unit="USD"
        ),
        feedback_chart=series_chart(
            [(float(h), feedback.get(h, 0.0)) for h in hours],
            title="problem reports per hour",
            unit="reports",
        ),
    )


__all__ = ["router"]
