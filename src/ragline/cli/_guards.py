"""``ragline guards``: try the project's guard policy on a text.

``guards check TEXT`` runs every guard the policy (the tenant's, with ``--tenant``)
enables at one stage — ``input`` (a question, the default), ``retrieval`` (a chunk) or
``output`` (an answer) — in the order the pipeline runs them, and prints each one's
verdict: action, score, reason codes and the spans it found (label and character
offsets), then the combined action and, when a guard redacted, the text as it would
go on. Guards the policy has but not at that stage are listed as skipped. It always
exits 0: a verdict is an answer, not a failure.

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ragline.cli._common import JsonOpt, TenantOpt, new_console, open_project, print_json

if TYPE_CHECKING:
    from ragline.guards._policy import GuardResult, GuardSet

guards_app = typer.Typer(help="Try the guard policy on a text.", no_args_is_help=True)

StageOpt = Annotated[
    str,
    typer.Option(
        "--stage",
        "-s",
        help="Where the text is checked: input (a question), retrieval (a chunk) or "
        "output (an answer).",
    ),
]


def _stage(value: str) -> str:
    from ragline.errors import InputError
    from ragline.guards import GUARD_STAGES

    v = value.strip().lower()
    if v not in GUARD_STAGES:
        raise InputError(f"bad --stage value {value!r}", hint="use input, retrieval or output")
    return v


def check_report(guards: GuardSet, text: str, stage: str, tenant: str) -> dict[str, Any]:
    """What ``guards check`` prints: each guard's verdict on ``text`` at ``stage``."""
    from ragline.guards import GuardContext

    context = GuardContext(stage=stage, tenant=tenant)  # type: ignore[arg-type]
    result = guards.run(text, context)
    return {
        "stage": stage,
        "tenant": tenant,
        "action": result.action,
        "blocked": result.blocked,
        "verdicts": _verdicts(result),
        "skipped": [g.guard.name for g in guards.guards if stage not in g.guard.stages],
        "text": result.text if result.text != text else None,
    }


def _verdicts(result: GuardResult) -> list[dict[str, Any]]:
    errors = {e.split(":", 1)[0]: e.split(": ", 1)[1] for e in result.errors}
    return [
        {
            "guard": v.guard,
            "action": v.action,
            "score": round(v.score, 6),
            "reasons": list(v.reasons),
            "findings": [{"label": f.label, "start": f.start, "end": f.end} for f in v.findings],
            "error": errors.get(v.guard),
        }
        for v in result.verdicts
    ]


@guards_app.command("check")
def check(
    text: Annotated[str, typer.Argument(help="The text to check.")],
    stage: StageOpt = "input",
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every configured guard's verdict on TEXT (the tenant's policy with --tenant)."""
    from ragline.guards._policy import build_guards

    where = _stage(stage)
    with open_project() as project:
        name = project.tenant_or_default(tenant)
        guards = build_guards(
            project.settings.for_tenant(name).guards,
            embedder=lambda: project.embedder,
            embedder_spec=project.settings.embedder,
        )
    report = check_report(guards, text, where, name)
    if as_json:
        print_json(report)
        return
    _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    from rich.markup import escape

    console = new_console()
    console.print(f"[bold]stage[/bold] {report['stage']} · [bold]tenant[/bold] {report['tenant']}")
    if not report["verdicts"]:
        console.print("no guard checks this stage")
    for v in report["verdicts"]:
        style = {"block": "red", "redact": "yellow", "flag": "yellow"}.get(v["action"], "green")
        reasons = ", ".join(v["reasons"]) or "-"
        console.print(
            f"  {escape(v['guard']):<10} [{style}]{v['action']:<6}[/{style}] "
            f"score {v['score']:.3f}  {escape(reasons)}"
        )
        for f in v["findings"]:
            console.print(f"      {escape(f['label'])} at {f['start']}–{f['end']}")
        if v["error"]:
            console.print(f"      [red]error:[/red] {escape(v['error'])}")
    for name in report["skipped"]:
        where = report["stage"]
        console.print(f"  [dim]{escape(name):<10} skipped (not at the {where} stage)[/dim]")
    console.print(f"[bold]action[/bold] {report['action']}")
    if report["text"] is not None:
        console.print(f"[bold]redacted[/bold] {escape(report['text'])}")
