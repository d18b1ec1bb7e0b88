"""``ragline guards``: try the project's guard policy on a text, or measure it.

``guards eval DATASET`` runs the policy over labeled texts (attacks and benign ones)
and reports recall, the false-positive rate and examples of each mistake — what to
look at before turning a policy on.

``guards rescan`` rescores every stored chunk's injection score in place with the
current detector (:mod:`ragline.guards._rescan`): no re-embedding, no re-ingest.

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

from ragline.cli._common import (
    JsonOpt,
    TenantOpt,
    file_progress,
    new_console,
    open_project,
    print_json,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ragline._project import Project
    from ragline.guards._policy import GuardResult, GuardSet

guards_app = typer.Typer(
    help="Try the guard policy on a text, or measure it on a labeled dataset.",
    no_args_is_help=True,
)

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


def _tenant_guards(project: Project, tenant: str | None) -> tuple[str, GuardSet]:
    """The tenant's name and its guard policy, built as the pipeline builds it."""
    name = project.tenant_or_default(tenant)
    return name, project.parts.view(name).guards


def check_report(
    guards: GuardSet,
    text: str,
    stage: str,
    tenant: str,
    *,
    history: Sequence[str] = (),
    passages: Sequence[str] = (),
) -> dict[str, Any]:
    """What ``guards check`` prints: each guard's verdict on ``text`` at ``stage``, with
    the conversation's earlier user turns (``history``, input) and the passages an answer
    is grounded on (``passages``, output)."""
    from ragline.guards import GuardContext

    context = GuardContext(
        stage=stage,  # type: ignore[arg-type]
        tenant=tenant,
        history=tuple(history),
        passages=tuple(passages),
    )
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
    turn: Annotated[
        list[str] | None,
        typer.Option(
            "--turn",
            help="An earlier user message of the conversation, oldest first (repeat it): "
            "the input guards read the conversation too.",
        ),
    ] = None,
    passage: Annotated[
        list[str] | None,
        typer.Option(
            "--passage",
            help="A passage the answer cites (repeat it; --stage output): contact details "
            "it publishes are not redacted (guards.pii.allow_published).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every configured guard's verdict on TEXT (the tenant's policy with --tenant)."""
    where = _stage(stage)
    with open_project() as project:  # open while checking: a classifier embeds lazily
        name, guards = _tenant_guards(project, tenant)
        report = check_report(guards, text, where, name, history=turn or (), passages=passage or ())
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


def load_labeled(path: str) -> list[tuple[str, bool]]:
    """``(text, is_attack)`` pairs from a JSONL file (``{"text": …, "label": …}`` per
    line) or a CSV with ``text`` and ``label`` columns. A label is an attack when it is
    true, 1, ``attack``, ``injection``, ``unsafe`` or ``positive``; benign when false,
    0, ``benign``, ``safe`` or ``negative``. Anything else is an error naming the line."""
    import csv
    import json
    from pathlib import Path

    from ragline.errors import InputError

    attack = {"1", "true", "attack", "injection", "jailbreak", "unsafe", "positive", "yes"}
    benign = {"0", "false", "benign", "safe", "negative", "no"}
    p = Path(path)
    if not p.is_file():
        raise InputError(f"dataset {path} not found", hint="give a .jsonl or .csv file")
    rows: list[tuple[int, Any]] = []
    if p.suffix.lower() == ".csv":
        with p.open(newline="", encoding="utf-8") as f:
            rows = [(i + 2, r) for i, r in enumerate(csv.DictReader(f))]
    else:
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((i, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise InputError(f"{path}:{i}: not valid JSON ({e.msg})") from None
    out: list[tuple[str, bool]] = []
    for lineno, row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise InputError(f"{path}:{lineno}: needs a string field 'text'")
        label = str(row.get("label", "")).strip().lower()
        if label not in attack | benign:
            raise InputError(
                f"{path}:{lineno}: label {row.get('label')!r} is neither attack nor benign",
                hint="use 1/0, attack/benign, unsafe/safe or true/false",
            )
        out.append((row["text"], label in attack))
    if not out:
        raise InputError(f"dataset {path} has no rows")
    return out


def eval_report(
    guards: GuardSet, rows: list[tuple[str, bool]], stage: str, tenant: str, *, show: int = 10
) -> dict[str, Any]:
    """Detection metrics of the policy at ``stage``: a text counts as caught when the
    combined action is anything but allow (block, redact or flag)."""
    from collections import Counter

    from ragline.guards import GuardContext

    context = GuardContext(stage=stage, tenant=tenant)  # type: ignore[arg-type]
    tp = fp = fn = tn = 0
    reasons: Counter[str] = Counter()
    false_pos: list[str] = []
    missed: list[str] = []
    for text, is_attack in rows:
        result = guards.run(text, context)
        caught = result.action != "allow"
        for v in result.verdicts:
            if v.triggered:
                reasons.update(v.reasons)
        if is_attack and caught:
            tp += 1
        elif is_attack:
            fn += 1
            missed.append(text)
        elif caught:
            fp += 1
            false_pos.append(text)
        else:
            tn += 1
    attacks, benign = tp + fn, fp + tn
    return {
        "stage": stage,
        "tenant": tenant,
        "attacks": attacks,
        "benign": benign,
        "recall": tp / attacks if attacks else None,
        "false_positive_rate": fp / benign if benign else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "reasons": dict(reasons.most_common()),
        "false_positives": false_pos[:show],
        "missed": missed[:show],
    }


@guards_app.command("eval")
def eval_cmd(
    dataset: Annotated[str, typer.Argument(help="JSONL or CSV with text and label.")],
    stage: StageOpt = "input",
    tenant: TenantOpt = None,
    show: Annotated[int, typer.Option("--show", min=0, help="Examples listed of each.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Recall and false-positive rate of the guard policy on a labeled DATASET."""
    where = _stage(stage)
    rows = load_labeled(dataset)
    with open_project() as project:
        name, guards = _tenant_guards(project, tenant)
        report = eval_report(guards, rows, where, name, show=show)
    if as_json:
        print_json(report)
        return
    from rich.markup import escape

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1%}"

    console = new_console()
    console.print(
        f"stage {where} · tenant {name} · {report['attacks']} attacks, {report['benign']} benign"
    )
    console.print(
        f"recall {pct(report['recall'])} · false positives {pct(report['false_positive_rate'])}"
        f" · precision {pct(report['precision'])}"
    )
    if report["reasons"]:
        console.print(
            "reasons: " + escape(", ".join(f"{k} {v}" for k, v in report["reasons"].items()))
        )
    for title, key in (("false positives", "false_positives"), ("missed", "missed")):
        if report[key]:
            console.print(f"[bold]{title}[/bold] (first {len(report[key])}):")
            for text in report[key]:
                console.print(f"  {escape(text[:120])}", soft_wrap=False)


@guards_app.command("rescan")
def rescan(
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="Only this tenant (default: every one).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would change; write nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rescore every stored chunk for injection with the current detector.

    Writes each chunk's new score into its metadata (no re-embedding, no re-ingest), so
    the retrieval guard acts on it; chunks scored by an older detector version, or
    ingested before scores were stored, are found and rescored. Refuses while an ingest
    holds the tenant's documents.
    """

    with open_project() as project:
        progress = file_progress("rescanning", quiet=as_json)
        with progress:
            task = progress.add_task("", total=None)

            def on_progress(done: int, total: int, name: str) -> None:
                progress.update(task, completed=done, total=total, description=name)

            report = project.rescan_guards(tenant=tenant, dry_run=dry_run, on_progress=on_progress)
    if as_json:
        print_json(report.to_dict())
        return
    console = new_console()
    tenants = ", ".join(report.tenants) or "none"
    console.print(
        f"{'dry run: nothing written · ' if dry_run else ''}tenants {tenants} · "
        f"{report.documents} documents"
    )
    console.print(
        f"chunks scanned {report.scanned} · newly flagged {report.flagged} · "
        f"cleared {report.cleared} · unchanged {report.unchanged}"
    )
    verb = "would change" if dry_run else "updated"
    console.print(
        f"stored scores {verb}: {report.updated} (from an older detector: {report.stale}) · "
        f"{report.elapsed_ms / 1000:.2f} s"
    )
