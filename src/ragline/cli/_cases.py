"""``ragline cases list`` and ``ragline cases edit``: see and change regression cases.

``edit`` adds with ``--must-contain`` and the like (repeatable), removes with
``--remove-…``, empties a field with ``--clear FIELD`` (so ``--clear must_contain
--must-contain NEW`` replaces), and replaces ``--category`` and ``--notes``. It
rewrites only the case's line, atomically (:mod:`ragline.evals._case_edit`). ``add``
lives in :mod:`ragline.cli._feedback`, next to feedback. Only typer is imported at
module level (``ragline --help`` must stay fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragline.cli._common import JsonOpt, new_console, open_project, print_json

DEFAULT_DATASET = Path("evals") / "regression.jsonl"

DatasetOpt = Annotated[
    Path | None,
    typer.Option("--dataset", help="JSONL dataset (default: evals/regression.jsonl)."),
]


def cases_list(
    dataset: DatasetOpt = None,
    category: Annotated[
        str | None, typer.Option("--category", help="Only cases of this category.")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only cases with this tag.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the cases of a dataset: id, category, question and what each checks."""
    from rich.markup import escape
    from rich.table import Table

    from ragline.evals._case_edit import list_cases

    with open_project() as project:
        path = dataset if dataset is not None else project.path / DEFAULT_DATASET
    cases = [
        c
        for c in list_cases(path)
        if (category is None or c.category == category) and (tag is None or tag in c.tags)
    ]
    if as_json:
        print_json([c.model_dump(mode="json") for c in cases])
        return
    console = new_console()
    if not cases:
        console.print(f"no cases in {path}")
        return
    from ragline.cli._feedback import describe_case

    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True, max_width=24, overflow="ellipsis")
    table.add_column("category", no_wrap=True)
    table.add_column("question", ratio=2, min_width=16)
    table.add_column("checks", ratio=3, min_width=16)
    for c in cases:
        table.add_row(escape(c.id), c.category, escape(c.question), escape(describe_case(c)))
    console.print(table)
    console.print(f"{len(cases)} of {path}")


def cases_edit(
    case_id: Annotated[
        str, typer.Argument(metavar="ID", help="Case id (a unique prefix, or its trace id).")
    ],
    expected: Annotated[
        list[str] | None, typer.Option("--expected", help="Add an acceptable answer.")
    ] = None,
    must_contain: Annotated[
        list[str] | None, typer.Option("--must-contain", help="Add a fact the answer must contain.")
    ] = None,
    must_not_contain: Annotated[
        list[str] | None,
        typer.Option("--must-not-contain", help="Add text the answer must not contain."),
    ] = None,
    must_not_cite: Annotated[
        list[str] | None,
        typer.Option("--must-not-cite", help="Add a document id the answer must not cite."),
    ] = None,
    gold_docs: Annotated[
        list[str] | None,
        typer.Option("--gold-doc", help="Add a document that answers it (checked)."),
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", "--tags", help="Add a tag.")] = None,
    remove_expected: Annotated[
        list[str] | None, typer.Option("--remove-expected", help="Remove an expected answer.")
    ] = None,
    remove_must_contain: Annotated[
        list[str] | None, typer.Option("--remove-must-contain", help="Remove a must-contain fact.")
    ] = None,
    remove_must_not_contain: Annotated[
        list[str] | None,
        typer.Option("--remove-must-not-contain", help="Remove a must-not-contain text."),
    ] = None,
    remove_must_not_cite: Annotated[
        list[str] | None,
        typer.Option("--remove-must-not-cite", help="Remove a must-not-cite document."),
    ] = None,
    remove_gold_docs: Annotated[
        list[str] | None, typer.Option("--remove-gold-doc", help="Remove a gold document.")
    ] = None,
    remove_tags: Annotated[
        list[str] | None, typer.Option("--remove-tag", help="Remove a tag.")
    ] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(
            "--clear",
            help="Empty a field first: expected, must_contain, must_not_contain, "
            "must_not_cite, gold_doc_ids, tags, notes, bad_answer (with bad_claims).",
        ),
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="Replace the category.")
    ] = None,
    notes: Annotated[
        str | None, typer.Option("--notes", help="Replace the notes ('' clears them).")
    ] = None,
    dataset: DatasetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change one case: add (repeatable flags), remove (--remove-…), clear, replace.

    Only that case's line is rewritten (atomically); every other line stays as it was.
    """
    from rich.markup import escape

    from ragline.evals._case_edit import CaseEdit, edit_case

    edit = CaseEdit(
        add={
            "expected": expected or [],
            "must_contain": must_contain or [],
            "must_not_contain": must_not_contain or [],
            "must_not_cite": must_not_cite or [],
            "gold_doc_ids": gold_docs or [],
            "tags": tags or [],
        },
        remove={
            "expected": remove_expected or [],
            "must_contain": remove_must_contain or [],
            "must_not_contain": remove_must_not_contain or [],
            "must_not_cite": remove_must_not_cite or [],
            "gold_doc_ids": remove_gold_docs or [],
            "tags": remove_tags or [],
        },
        clear=clear or [],
        category=category,
        notes=notes,
    )
    with open_project() as project:
        path = dataset if dataset is not None else project.path / DEFAULT_DATASET
        docs = project.store

        def known(doc_tenant: str, doc_id: str) -> bool:
            return docs.get_document(doc_tenant, doc_id) is not None

        case = edit_case(
            path,
            case_id,
            edit,
            known_document=known,
            default_tenant=project.settings.default_tenant,
        )
    if as_json:
        print_json(case.model_dump(mode="json"))
        return
    from ragline.cli._feedback import describe_case

    new_console().print(f"updated case {case.id} in {path}: {escape(describe_case(case))}")
