"""``ragline alerts``: the alerts the rules raised, their history, and silences.

- ``alerts list``: rules that are pending or firing (``--all``: every rule's state),
  and the active silences.
- ``alerts history``: what happened, newest first: transitions with the value that
  crossed and the threshold, notifications (which channels), silences (who, why).
- ``alerts silence RULE --for 2h --comment …``: hold that rule's notifications (its
  state still changes); ``--label k=v`` narrows or, with RULE ``*``, replaces the rule.
- ``alerts unsilence ID``: end a silence now (its record stays).

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ragline.cli._common import JsonOpt, new_console, open_project, print_json
from ragline.cli._monitor_rules import number, when

if TYPE_CHECKING:
    from ragline.store._alerts import AlertEvent, AlertState, Silence

alerts_app = typer.Typer(
    help="Alerts raised by the rules: list, history, silence, unsilence.", no_args_is_help=True
)


def _state_dict(s: AlertState) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(s)


def _silence_dict(s: Silence, now: float) -> dict[str, Any]:
    import dataclasses

    return {**dataclasses.asdict(s), "active": s.active(now)}


def _event_dict(e: AlertEvent) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(e)


@alerts_app.command("list")
def alerts_list(
    show_all: Annotated[
        bool, typer.Option("--all", "-a", help="Every rule, also inactive and resolved.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Alerts pending or firing now (with --all: every rule's state), and active silences."""
    import time

    from rich.table import Table

    now = time.time()
    with open_project() as project:
        store = project.parts.backend.alerts
        states = sorted(store.states().values(), key=lambda s: (s.state != "firing", s.rule))
        silences = store.silences(active_at=now)
    shown = [s for s in states if show_all or s.state in ("pending", "firing")]
    if as_json:
        print_json(
            {
                "alerts": [_state_dict(s) for s in shown],
                "silences": [_silence_dict(s, now) for s in silences],
            }
        )
        return
    console = new_console()
    if not shown:
        console.print("no alerts pending or firing" + ("" if show_all else " (--all: every rule)"))
    else:
        table = Table(title="alerts", title_justify="left")
        for column in ("rule", "state", "since", "value", "threshold", "notified"):
            table.add_column(column, overflow="fold")
        for s in shown:
            told = f"{s.notified} {when(s.notified_at)}" if s.notified else "-"
            table.add_row(
                s.rule, s.state, when(s.since), number(s.value), number(s.threshold), told
            )
        console.print(table)
    for silence in silences:
        console.print(
            f"silence {silence.id} ({_matchers(silence.matchers)}) until {when(silence.ends_at)} "
            f"by {silence.author}: {silence.comment or '-'}"
        )


def _matchers(matchers: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(matchers.items())) or "everything"


@alerts_app.command("history")
def alerts_history(
    rule: Annotated[str | None, typer.Option("--rule", "-r", help="Only this rule.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Since: 30m, 2h, 7d, or 2026-11-25T10:00.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.", min=1)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """What happened to the alerts, newest first: who, what, when, value, threshold."""
    from rich.table import Table

    from ragline._time import parse_when

    start = parse_when(since, option="--since") if since is not None else None
    with open_project() as project:
        events = project.parts.backend.alerts.history(rule=rule, since=start, limit=limit)
    if as_json:
        print_json([_event_dict(e) for e in events])
        return
    if not events:
        new_console().print("no alert history yet")
        return
    table = Table(title="alert history", title_justify="left")
    for column in ("when", "rule", "event", "value", "threshold", "who", "details"):
        table.add_column(column, overflow="fold")
    for e in events:
        table.add_row(
            when(e.at),
            e.rule,
            e.event,
            number(e.value),
            number(e.threshold),
            e.actor,
            _details(e),
        )
    new_console().print(table)


def _details(e: AlertEvent) -> str:
    d = e.detail
    if e.event == "notified":
        channels = ", ".join(d.get("channels") or []) or "no channels configured"
        return f"{d.get('kind', '')} to {channels}"
    if e.event == "failed":
        return "; ".join(d.get("errors") or [])
    if e.event in ("silence", "unsilence"):
        return f"{d.get('id', '')}: {d.get('comment') or '-'}"
    if e.event == "silenced":
        return f"held by silence {d.get('silence', '')}"
    return str(d.get("summary", ""))


def _labels(items: list[str] | None) -> dict[str, str]:
    from ragline.errors import InputError

    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"bad --label {item!r}", hint="use key=value, e.g. team=search")
        out[key.strip()] = value.strip()
    return out


@alerts_app.command("silence")
def alerts_silence(
    rule: Annotated[str, typer.Argument(help="The rule to silence ('*': any, see --label).")],
    duration: Annotated[
        str, typer.Option("--for", help="How long: 30m, 2h, 1d.", show_default=False)
    ] = "2h",
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why (kept in history).")] = "",
    label: Annotated[
        list[str] | None,
        typer.Option("--label", "-l", help="Only alerts with this label: key=value (repeatable)."),
    ] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="Who (default: your user name).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Hold notifications of RULE for a while; its state still changes, and whatever is
    owed (firing or resolved) is sent once the silence ends."""
    import getpass
    import time
    import uuid

    from ragline._time import parse_duration
    from ragline.errors import InputError
    from ragline.store._alerts import AlertEvent, Silence

    seconds = parse_duration(duration, option="--for")
    if seconds <= 0:
        raise InputError(f"bad --for value {duration!r}", hint="use a duration like 30m or 2h")
    matchers = _labels(label)
    now = time.time()
    with open_project() as project:
        names = [r.name for r in project.settings.alerts.rules]
        if rule == "*":
            if not matchers:
                raise InputError(
                    "silencing '*' needs at least one --label",
                    hint="name a rule, or narrow with --label team=search",
                )
        elif rule not in names:
            raise InputError(
                f"no alert rule named {rule!r}",
                hint=f"rules: {', '.join(names) or 'none (add them under alerts.rules)'}",
            )
        else:
            matchers = {"rule": rule, **matchers}
        who = author or getpass.getuser()
        silence = Silence(
            id=uuid.uuid4().hex[:12],
            matchers=matchers,
            starts_at=now,
            ends_at=now + seconds,
            author=who,
            comment=comment,
            created_at=now,
        )
        store = project.parts.backend.alerts
        store.add_silence(silence)
        detail = {"id": silence.id, "matchers": matchers, "ends_at": silence.ends_at}
        store.save(
            [], [AlertEvent(now, rule, "silence", actor=who, detail={**detail, "comment": comment})]
        )
    if as_json:
        print_json(_silence_dict(silence, now))
        return
    new_console().print(
        f"silence {silence.id}: {_matchers(matchers)} until {when(silence.ends_at)} "
        f"(ragline alerts unsilence {silence.id} to end it)"
    )


@alerts_app.command("unsilence")
def alerts_unsilence(
    silence_id: Annotated[str, typer.Argument(help="The silence id (alerts list shows it).")],
    author: Annotated[
        str | None, typer.Option("--author", help="Who (default: your user name).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """End a silence now: notifications of its alerts resume at the next evaluation."""
    import getpass
    import time

    from ragline.errors import InputError
    from ragline.store._alerts import AlertEvent

    now = time.time()
    who = author or getpass.getuser()
    with open_project() as project:
        store = project.parts.backend.alerts
        ended = store.end_silence(silence_id, now=now, by=who)
        if ended is None:
            active = [s.id for s in store.silences(active_at=now)]
            raise InputError(
                f"no active silence with id {silence_id!r}",
                hint=f"active silences: {', '.join(active) or 'none'}",
            )
        rule = ended.matchers.get("rule", "*")
        store.save([], [AlertEvent(now, rule, "unsilence", actor=who, detail={"id": ended.id})])
    if as_json:
        print_json(_silence_dict(ended, now))
        return
    new_console().print(f"silence {ended.id} ended")
