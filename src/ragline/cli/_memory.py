"""``ragline memory``: what the agent remembers about a user — list it, forget it.

- ``memory list --user U`` prints the user's memories, newest first (``--json`` for the
  records, ``--limit`` and ``--cursor`` to page);
- ``memory forget --user U`` deletes every memory of that user (the items, their
  vectors and index entries: one table row each), or only ``--id ID``.

Memories are per tenant (``--tenant``, default ``default_tenant``) and per user, like
``GET``/``DELETE /v1/memory``. Only typer is imported at module level.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ragline.cli._common import JsonOpt, TenantOpt, new_console, open_project, print_json

memory_app = typer.Typer(
    help="List and forget what the agent remembers about a user.", no_args_is_help=True
)

UserOpt = Annotated[str, typer.Option("--user", "-u", help="The end user's id.")]


@memory_app.command("list")
def memory_list(
    user: UserOpt,
    tenant: TenantOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.", min=1)] = 50,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="Continue after a page (its next_cursor).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a user's memories, newest first."""
    from datetime import UTC, datetime

    with open_project() as project:
        name = project.tenant_or_default(tenant)
        page = project.memory.store.list_items(name, user, limit=min(limit, 1_000), cursor=cursor)
    if as_json:
        print_json({"items": [i.to_dict() for i in page.items], "next_cursor": page.next_cursor})
        return
    console = new_console()
    if not page.items:
        console.print(f"no memories of user {user!r} (tenant {name!r})")
        return
    for item in page.items:
        when = datetime.fromtimestamp(item.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        line = f"{item.id}  {when}  {item.kind:<10}  {item.text}"
        console.print(line, markup=False, soft_wrap=True)
    if page.next_cursor:
        console.print(f"more: ragline memory list --user {user} --cursor {page.next_cursor}")


@memory_app.command("forget")
def memory_forget(
    user: UserOpt,
    tenant: TenantOpt = None,
    memory_id: Annotated[
        str | None, typer.Option("--id", help="Only this memory (default: all of the user's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a user's memories (all, or one with --id)."""
    from ragline.errors import NotFoundError

    with open_project() as project:
        name = project.tenant_or_default(tenant)
        store = project.memory.store
        if memory_id is not None:
            if not store.forget(name, user, memory_id):
                raise NotFoundError(
                    f"user {user!r} has no memory {memory_id!r} (tenant {name!r})",
                    hint=f"ragline memory list --user {user} shows the ids",
                )
            deleted = 1
        else:
            deleted = store.forget_user(name, user)
    if as_json:
        print_json({"user": user, "tenant": name, "deleted": deleted})
    else:
        word = "memory" if deleted == 1 else "memories"
        new_console().print(f"forgot {deleted} {word} of user {user!r}", markup=False)
