"""``ragline feedback`` and ``ragline cases``: judge answers, keep them as test cases.

- ``feedback add``/``list`` record and list a verdict on the answer of a trace
  (``hallucination``, ``wrong_citation``, ``irrelevant`` or ``good``).
- ``cases add --trace ID`` or ``--from-feedback kind=K`` appends regression cases to
  ``evals/regression.jsonl`` in the project folder, the format ``ragline eval run`` reads.
- ``cases list`` and ``cases edit ID`` (in :mod:`ragline.cli._cases`) show and change them.

Only typer is imported at module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._cases import DEFAULT_DATASET, DatasetOpt, cases_edit, cases_list
from ragline.cli._common import (
    JsonOpt,
    OnlyTenantOpt,
    TraceIdArg,
    new_console,
    open_project,
    plural,
    print_json,
)

if TYPE_CHECKING:
    from rich.console import Console

    from ragline.evals._types import Case

feedback_app = typer.Typer(help="Record and list user feedback on answers.", no_args_is_help=True)
cases_app = typer.Typer(
    help="Turn traces into regression cases; list and edit them.", no_args_is_help=True
)
cases_app.command("list")(cases_list)
cases_app.command("edit")(cases_edit)


# ---------------------------------------------------------------------------- feedback


@feedback_app.command("add")
def feedback_add(
    trace_id: TraceIdArg,
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="hallucination, wrong_citation, irrelevant or good.")
    ],
    note: Annotated[str | None, typer.Option("--note", help="What was wrong (or right).")] = None,
    tenant: OnlyTenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record feedback on the answer of a trace."""
    from ragline.trace._feedback import add_feedback, check_kind
    from ragline.trace._render import feedback_to_dict

    check_kind(kind)  # before opening the project: a typo fails fast
    with open_project() as project:
        fb = add_feedback(project.trace_store, trace_id, kind, note, tenant=tenant)
    if as_json:
        print_json(feedback_to_dict(fb))
        return
    new_console().print(f"recorded {fb.kind} feedback {fb.id[:12]} on trace {fb.trace_id}")


@feedback_app.command("list")
def feedback_list(
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Only this kind.")] = None,
    trace_id: Annotated[
        str | None, typer.Option("--trace", help="Only feedback on this trace (id or prefix).")
    ] = None,
    tenant: OnlyTenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List feedback, oldest first."""
    from rich.table import Table
    from rich.text import Text

    from ragline.trace._feedback import check_kind, resolve_trace_id
    from ragline.trace._render import SHORT_ID, feedback_to_dict, local_time

    wanted = check_kind(kind) if kind is not None else None
    with open_project() as project:
        store = project.trace_store
        full = resolve_trace_id(store, trace_id, tenant=tenant) if trace_id else None
        items = store.list_feedback(tenant=tenant, kind=wanted, trace_id=full)
    if as_json:
        print_json([feedback_to_dict(f) for f in items])
        return
    console = new_console()
    if not items:
        console.print("no feedback")
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("time", no_wrap=True, min_width=19)
    table.add_column("kind", no_wrap=True)
    table.add_column("trace", no_wrap=True, min_width=SHORT_ID)
    table.add_column("tenant", no_wrap=True, min_width=7, max_width=16, overflow="ellipsis")
    table.add_column("note", ratio=1, min_width=10)
    for f in items:
        row = (local_time(f.created_at), f.kind, f.trace_id[:SHORT_ID])
        table.add_row(*row, Text(f.tenant), Text(f.note or ""))
    console.print(table)


# ---------------------------------------------------------------------------- cases

ExpectedOpt = Annotated[
    list[str] | None, typer.Option("--expected", help="An acceptable answer (repeatable).")
]
MustContainOpt = Annotated[
    list[str] | None,
    typer.Option("--must-contain", help="A fact the answer must contain (repeatable)."),
]
MustNotContainOpt = Annotated[
    list[str] | None,
    typer.Option("--must-not-contain", help="Text the answer must not contain (repeatable)."),
]
MustNotCiteOpt = Annotated[
    list[str] | None,
    typer.Option("--must-not-cite", help="Id of a document the answer must not cite (repeatable)."),
]
GoldDocOpt = Annotated[
    list[str] | None,
    typer.Option("--gold-doc", help="Id of a document that answers it (repeatable, checked)."),
]


def describe_case(case: Case) -> str:
    """What a new case checks, in one line: ``must_contain 'EUR 3.2M'; bad answer …``."""
    parts = []
    for name in ("expected", "must_contain", "must_not_contain", "must_not_cite", "gold_doc_ids"):
        values: list[str] = getattr(case, name)
        if values:
            parts.append(f"{name} " + ", ".join(repr(v) for v in values))
    if case.bad_answer is not None:
        claims = plural(len(case.bad_claims), "unsupported sentence")
        parts.append(f"bad answer recorded ({claims})")
    return "; ".join(parts) or "no expectations"


def _print_added(console: Console, cases: list[Case]) -> None:
    from rich.markup import escape

    for case in cases:
        console.print(f"  {case.id}: {escape(describe_case(case))}", soft_wrap=True)
        if not (case.expected or case.must_contain):
            console.print(
                f"  note: {case.id} has no expected facts (no figures or quotes in a feedback "
                f"note); add them: ragline cases edit {case.id} --must-contain TEXT",
                soft_wrap=True,
            )


@cases_app.command("add")
def cases_add(
    trace_id: Annotated[
        str | None, typer.Option("--trace", help="Make a case of this trace (id or prefix).")
    ] = None,
    from_feedback: Annotated[
        str | None,
        typer.Option(
            "--from-feedback",
            help="kind=KIND: a case for every trace with that feedback (no duplicates).",
        ),
    ] = None,
    expected: ExpectedOpt = None,
    must_contain: MustContainOpt = None,
    must_not_contain: MustNotContainOpt = None,
    must_not_cite: MustNotCiteOpt = None,
    gold_docs: GoldDocOpt = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category",
            help="factual_accuracy, citation_quality, response_relevance, safety, or your own "
            "(default: from the feedback).",
        ),
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    dataset: DatasetOpt = None,
    tenant: OnlyTenantOpt = None,
) -> None:
    """Append regression cases (JSONL, the format `ragline eval run` reads).

    A hallucination report records the answer then as a bad answer (the case fails
    while the pipeline still gives it) and takes expected figures and quoted phrases
    from the feedback note. --gold-doc also works with --from-feedback (every new case).
    """
    from ragline.errors import InputError
    from ragline.evals._cases import (
        add_case_from_trace,
        add_cases_from_feedback,
        parse_from_feedback,
    )

    if (trace_id is None) == (from_feedback is None):
        raise InputError(
            "give either --trace ID or --from-feedback kind=KIND",
            hint="e.g. `ragline cases add --from-feedback kind=hallucination`",
        )
    kind = parse_from_feedback(from_feedback) if from_feedback is not None else None
    if kind is not None and (expected or must_contain or must_not_contain or must_not_cite):
        raise InputError(
            "--expected, --must-contain, --must-not-contain and --must-not-cite describe one trace",
            hint="use them with --trace ID, or later: `ragline cases edit ID --must-contain …`",
        )
    console = new_console()
    with open_project() as project:
        path = dataset if dataset is not None else project.path / DEFAULT_DATASET
        store = project.trace_store
        docs = project.store
        min_support = project.settings.answer.min_support

        def known(doc_tenant: str, doc_id: str) -> bool:
            return docs.get_document(doc_tenant, doc_id) is not None

        if kind is not None:
            result = add_cases_from_feedback(
                store,
                path,
                kind,
                tenant=tenant,
                category=category,
                tags=tags or [],
                gold_doc_ids=gold_docs or [],
                known_document=known,
                min_support=min_support,
            )
            extra = f", {result.missing} without a trace" if result.missing else ""
            console.print(
                f"added {plural(result.added, 'case')} to {path} "
                f"({result.duplicates} skipped as duplicates{extra})"
            )
            _print_added(console, result.cases)
            return
        assert trace_id is not None
        case = add_case_from_trace(
            store,
            path,
            trace_id,
            tenant=tenant,
            expected=expected or [],
            must_contain=must_contain or [],
            must_not_contain=must_not_contain or [],
            must_not_cite=must_not_cite or [],
            gold_doc_ids=gold_docs or [],
            category=category,
            tags=tags or [],
            known_document=known,
            min_support=min_support,
        )
    console.print(f"added case {case.id} to {path}")
    _print_added(console, [case])
