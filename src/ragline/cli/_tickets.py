"""``ragline tickets``: the hand-offs the agent filed for a human — list, show, close.

- ``tickets list`` prints the tenant's tickets, newest first (``--status open|closed``,
  ``--user U``, ``--limit``, ``--json``);
- ``tickets show ID`` prints one ticket whole: why, what the human needs to know, the
  user, the conversation and the agent run's trace (``ragline traces show TRACE``);
- ``tickets close ID --by NAME [--resolution TEXT]`` closes it; closing a closed ticket
  changes nothing and says who closed it.

Tickets are per tenant (``--tenant``, default ``default_tenant``). Only typer is
imported at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ragline.cli._common import JsonOpt, TenantOpt, new_console, open_project, print_json

if TYPE_CHECKING:
    from ragline.store._tickets import Ticket

tickets_app = typer.Typer(
    help="List, show and close the agent's hand-off tickets.", no_args_is_help=True
)

IdArg = Annotated[str, typer.Argument(help="The ticket id (tk_…).", show_default=False)]


def _when(t: float | None) -> str:
    from datetime import UTC, datetime

    return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def _unknown(ticket_id: str, tenant: str) -> Exception:
    from ragline.errors import NotFoundError

    return NotFoundError(
        f"no ticket {ticket_id!r} in tenant {tenant!r}",
        hint="ragline tickets list shows the ids (--tenant for another tenant)",
    )


def _show(ticket: Ticket) -> None:
    console = new_console()
    rows = [
        ("ticket", ticket.id),
        ("status", ticket.status),
        ("priority", ticket.priority),
        ("created", _when(ticket.created_at)),
        ("user", ticket.user or "-"),
        ("conversation", ticket.conversation_id or "-"),
        ("trace", ticket.trace_id or "-"),
        ("reason", ticket.reason),
        ("summary", ticket.summary),
    ]
    if ticket.status == "closed":
        rows += [
            ("closed", f"{_when(ticket.closed_at)} by {ticket.closed_by}"),
            ("resolution", ticket.resolution or "-"),
        ]
    for label, value in rows:
        console.print(f"{label + ':':<14}{value}", markup=False, soft_wrap=True)
    if ticket.trace_id:
        console.print(f"the agent's run: ragline traces show {ticket.trace_id}", markup=False)


@tickets_app.command("list")
def tickets_list(
    tenant: TenantOpt = None,
    status: Annotated[
        Literal["open", "closed"] | None,
        typer.Option("--status", "-s", help="Only open or only closed tickets."),
    ] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.", min=1)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List the tenant's tickets, newest first."""
    with open_project() as project:
        name = project.tenant_or_default(tenant)
        found = project.tickets.tickets(name, status=status, user=user, limit=min(limit, 1_000))
    if as_json:
        print_json({"tickets": [t.to_dict() for t in found]})
        return
    console = new_console()
    if not found:
        console.print(f"no {status + ' ' if status else ''}tickets in tenant {name!r}")
        return
    for t in found:
        first = " ".join(t.reason.split())[:80]
        line = f"{t.id}  {_when(t.created_at)}  {t.status:<6}  {t.priority:<6}  {first}"
        console.print(line, markup=False, soft_wrap=True)


@tickets_app.command("show")
def tickets_show(ticket_id: IdArg, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Show one ticket: reason, summary, user, conversation and the agent's trace."""
    with open_project() as project:
        name = project.tenant_or_default(tenant)
        ticket = project.tickets.get(name, ticket_id)
    if ticket is None:
        raise _unknown(ticket_id, name)
    if as_json:
        print_json(ticket.to_dict())
    else:
        _show(ticket)


@tickets_app.command("close")
def tickets_close(
    ticket_id: IdArg,
    tenant: TenantOpt = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who closes it (default: your login name).")
    ] = None,
    resolution: Annotated[
        str, typer.Option("--resolution", "-r", help="What was done for the user.")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Close a ticket (a closed one stays as it was)."""
    import getpass
    import time

    closer = by or getpass.getuser()
    with open_project() as project:
        name = project.tenant_or_default(tenant)
        store = project.tickets
        before = store.get(name, ticket_id)
        if before is None:
            raise _unknown(ticket_id, name)
        ticket = store.close_ticket(
            name, ticket_id, by=closer, resolution=resolution, now=time.time()
        )
    assert ticket is not None  # it existed, and tickets are never deleted
    if as_json:
        print_json(ticket.to_dict())
    elif before.status == "closed":
        new_console().print(
            f"ticket {ticket.id} was already closed by {ticket.closed_by} "
            f"on {_when(ticket.closed_at)}",
            markup=False,
        )
    else:
        new_console().print(f"closed ticket {ticket.id}", markup=False)
