"""Alerts: every rule's state, the recent history, the silences, and forms to silence a
rule for a while or end a silence — what ``ragline alerts list|silence|unsilence``
do. Alerts are not kept per tenant, so changing them needs an admin key (or a server
with no keys); a tenant's key reads them only.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ragline.errors import InputError
from ragline.ui._render import HEADERS, page_errors, render
from ragline.ui._viewer import FormViewerDep, Viewer, ViewerDep

router = APIRouter(include_in_schema=False)


def _may_change(viewer: Viewer) -> None:
    if not viewer.state.open:
        viewer.require_admin("alert silences")


def _who(viewer: Viewer) -> str:
    return f"ui:{viewer.name or viewer.tenant}"


@router.get("/alerts")
@page_errors
def alerts_page(request: Request, viewer: ViewerDep, done: str = "") -> Response:
    store = viewer.project.parts.backend.alerts
    now = time.time()
    states = sorted(store.states().values(), key=lambda s: (s.state != "firing", s.rule))
    rules = [r.name for r in viewer.state.settings.alerts.rules]
    return render(
        request,
        viewer,
        "alerts.html",
        states=states,
        rules=rules,
        silences=store.silences(active_at=now),
        history=store.history(limit=50),
        may_change=viewer.state.open or viewer.admin,
        done=done,
    )


@router.post("/alerts/silence")
@page_errors
def silence(
    viewer: FormViewerDep,
    rule: Annotated[str, Form(max_length=200)] = "",
    duration: Annotated[str, Form(max_length=40)] = "2h",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    from ragline._time import parse_duration
    from ragline.store._alerts import AlertEvent, Silence

    _may_change(viewer)
    names = [r.name for r in viewer.state.settings.alerts.rules]
    if rule not in names:
        raise InputError(
            f"no alert rule named {rule!r}",
            hint=f"rules: {', '.join(names) or 'none (add them under alerts.rules)'}",
        )
    seconds = parse_duration(duration, option="duration")
    if seconds <= 0:
        raise InputError(f"bad duration {duration!r}", hint="use a duration like 30m or 2h")
    now = time.time()
    who = _who(viewer)
    item = Silence(
        id=uuid.uuid4().hex[:12],
        matchers={"rule": rule},
        starts_at=now,
        ends_at=now + seconds,
        author=who,
        comment=comment,
        created_at=now,
    )
    store = viewer.project.parts.backend.alerts
    store.add_silence(item)
    detail = {"id": item.id, "matchers": item.matchers, "ends_at": item.ends_at}
    store.save(
        [], [AlertEvent(now, rule, "silence", actor=who, detail={**detail, "comment": comment})]
    )
    return RedirectResponse(f"/alerts?done=silenced+{rule}", status_code=303, headers=HEADERS)


@router.post("/alerts/unsilence")
@page_errors
def unsilence(
    viewer: FormViewerDep, silence_id: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    from ragline.store._alerts import AlertEvent

    _may_change(viewer)
    now = time.time()
    store = viewer.project.parts.backend.alerts
    ended = store.end_silence(silence_id, now=now, by=_who(viewer))
    if ended is None:
        raise InputError(f"no active silence with id {silence_id!r}", hint="reload the alerts page")
    rule = ended.matchers.get("rule", "*")
    store.save(
        [], [AlertEvent(now, rule, "unsilence", actor=_who(viewer), detail={"id": ended.id})]
    )
    return RedirectResponse("/alerts?done=silence+ended", status_code=303, headers=HEADERS)


__all__ = ["router"]
