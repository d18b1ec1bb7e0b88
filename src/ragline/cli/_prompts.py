"""``ragline prompts``: the project's prompts, their kept versions, and labels per tenant.

- ``prompts list`` prints every prompt (shipped and ``prompts/*.md``): its current
  version, where it comes from, and the labels pointing at its versions;
- ``prompts show NAME[@VERSION]`` prints a prompt's text (the file as it is now, or a
  kept version) and, for a name, the versions kept and the moves of its labels;
- ``prompts diff A B`` prints a unified diff of two of them (``NAME`` or ``NAME@VERSION``);
- ``prompts label NAME@VERSION LABEL`` points a label at a version, and ``prompts
  rollback NAME`` moves it back to where it pointed before its last move.

Labels are per tenant (``--tenant``, default ``default_tenant``; a label of the
default tenant applies to every tenant without its own). Every command keeps the
current files' versions in the store first, so any version that was ever listed or
served can be shown and diffed later. Only typer is imported at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ragline.cli._common import JsonOpt, TenantOpt, new_console, open_project, print_json

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.prompts import PromptRegistry

prompts_app = typer.Typer(
    help="List, show and diff prompt versions; move and roll back their labels.",
    no_args_is_help=True,
)

LabelOpt = Annotated[str, typer.Option("--label", "-l", help="The label (default production).")]


def _tenant(project: Project, tenant: str | None) -> str:
    """``tenant`` if the project has it (``ConfigError`` naming it otherwise)."""
    from ragline.errors import ConfigError

    name = project.tenant_or_default(tenant)
    known = set(project.settings.tenants) | {project.settings.default_tenant}
    if name not in known:
        raise ConfigError(
            f"unknown tenant {name!r}",
            hint="the tenants are " + ", ".join(sorted(known)) + " (tenants: in ragline.yaml)",
        )
    return name


def _registry(project: Project) -> PromptRegistry:
    registry = project.parts.prompts
    registry.sync()
    return registry


@prompts_app.command("list")
def prompts_list(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List the prompts: current version, source, and the tenant's labels."""
    with open_project() as project:
        name = _tenant(project, tenant)
        registry = _registry(project)
        labels = registry.store.labels(name)
        if name != project.settings.default_tenant:
            own = {(x.name, x.label) for x in labels}
            inherited = registry.store.labels(project.settings.default_tenant)
            labels += [x for x in inherited if (x.name, x.label) not in own]
        rows: list[dict[str, Any]] = []
        for prompt in registry.files().values():
            mine = {x.label: x.version for x in labels if x.name == prompt.name}
            rows.append(
                {
                    "name": prompt.name,
                    "version": prompt.version,
                    "source": prompt.source,
                    "description": prompt.description,
                    "model": prompt.model,
                    "labels": dict(sorted(mine.items())),
                }
            )
    if as_json:
        print_json({"tenant": name, "prompts": rows})
        return
    console = new_console()
    for row in rows:
        marks = ", ".join(
            f"{label}={version}" + ("" if version == row["version"] else " (not the file)")
            for label, version in row["labels"].items()
        )
        line = f"{row['name']:<20} {row['version']}  {row['source']:<22}"
        line += f"  {marks or '-'}"
        if row["description"]:
            line += f"  {row['description']}"
        console.print(line, markup=False, soft_wrap=True)


@prompts_app.command("show")
def prompts_show(
    spec: Annotated[str, typer.Argument(help="NAME (the file now) or NAME@VERSION (kept).")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a prompt's text; for a NAME also its kept versions and label history."""
    from datetime import UTC, datetime

    with open_project() as project:
        owner = _tenant(project, tenant)
        registry = _registry(project)
        prompt = registry.lookup(spec)
        versions = registry.store.versions(prompt.name) if "@" not in spec else []
        history = registry.store.history(owner, prompt.name) if "@" not in spec else []
    if as_json:
        print_json(
            {
                **prompt.record().to_dict(),
                "description": prompt.description,
                "model": prompt.model,
                "versions": [
                    {"version": v.version, "created_at": v.created_at, "source": v.source}
                    for v in versions
                ],
                "label_history": [e.to_dict() for e in history],
            }
        )
        return

    def when(at: float) -> str:
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M")

    console = new_console()
    head = f"{prompt.name}@{prompt.version}  ({prompt.source})"
    console.print(head, markup=False, soft_wrap=True)
    if prompt.description:
        console.print(prompt.description, markup=False, soft_wrap=True)
    console.print("")
    console.print(prompt.text.rstrip("\n"), markup=False, soft_wrap=True, highlight=False)
    if versions:
        console.print("")
        console.print(f"versions kept ({len(versions)}, oldest first):", markup=False)
        for v in versions:
            console.print(f"  {v.version}  {when(v.created_at)}  {v.source}", markup=False)
    if history:
        console.print(f"label moves (tenant {owner}):", markup=False)
        for e in history:
            by = f"  by {e.actor}" if e.actor else ""
            line = f"  {when(e.at)}  {e.label:<12} {e.action:<8} -> {e.version}{by}"
            console.print(line, markup=False)


@prompts_app.command("diff")
def prompts_diff(
    a: Annotated[str, typer.Argument(help="NAME or NAME@VERSION.")],
    b: Annotated[str, typer.Argument(help="NAME or NAME@VERSION.")],
) -> None:
    """Print a unified diff of two prompts or versions (nothing when they are equal)."""
    import difflib

    with open_project() as project:
        registry = _registry(project)
        left, right = registry.lookup(a), registry.lookup(b)
    lines = difflib.unified_diff(
        left.text.splitlines(keepends=True),
        right.text.splitlines(keepends=True),
        fromfile=f"{left.name}@{left.version}",
        tofile=f"{right.name}@{right.version}",
    )
    typer.echo("".join(lines), nl=False)


@prompts_app.command("label")
def prompts_label(
    spec: Annotated[str, typer.Argument(help="NAME@VERSION (a prefix of the version will do).")],
    label: Annotated[str, typer.Argument(help="The label: production, beta, any name.")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Point a label at a kept version of a prompt (for one tenant)."""
    from ragline.errors import InputError

    name, _, version = spec.partition("@")
    if not version:
        raise InputError(
            f"{spec!r} names no version",
            hint=f"write NAME@VERSION; `ragline prompts show {name}` lists the versions",
        )
    with open_project() as project:
        owner = _tenant(project, tenant)
        registry = _registry(project)
        before = registry.store.label(owner, name, label)
        event = registry.set_label(name, version, label, tenant=owner, actor="cli")
    if as_json:
        print_json({**event.to_dict(), "previous": before})
        return
    was = f" (was {before})" if before and before != event.version else ""
    new_console().print(f"{name}: {label} -> {event.version} for tenant {owner}{was}", markup=False)


@prompts_app.command("rollback")
def prompts_rollback(
    name: Annotated[str, typer.Argument(help="The prompt's name.")],
    label: LabelOpt = "production",
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a label back to the version it pointed at before its last move."""
    with open_project() as project:
        owner = _tenant(project, tenant)
        registry = _registry(project)
        before = registry.store.label(owner, name, label)
        event = registry.rollback(name, label, tenant=owner, actor="cli")
    if as_json:
        print_json({**event.to_dict(), "previous": before})
        return
    new_console().print(
        f"{name}: {label} -> {event.version} for tenant {owner} (rolled back from {before})",
        markup=False,
    )
