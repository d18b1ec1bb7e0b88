"""Change one case of a JSONL dataset without hand-editing the file.

>>> edit = CaseEdit(add={"must_contain": ["EUR 3.2M"]}, remove={"tags": ["draft"]})
>>> edit_case("evals/regression.jsonl", "trace-3f2a", edit)  # doctest: +SKIP

What an edit does (:class:`CaseEdit`), in this order:

1. ``clear``: empty these fields (a list field, ``notes``, or ``bad_answer``, which
   clears ``bad_claims`` too);
2. ``remove``: take these values out of list fields (a value the case does not have
   is an error: a typo must not pass silently);
3. ``add``: append these values to list fields, skipping ones already there;
4. ``category`` and ``notes`` replace the old value when given.

So "replace ``must_contain``" is ``clear=["must_contain"]`` plus ``add``. The case is
found by its id, a unique prefix of it, or the trace id it was made from.

The file is rewritten atomically (a temporary file renamed into place) and every
other line stays byte-identical, blank lines and line endings included; the edited
line is written as ``ragline cases add`` writes one. Every line must load first: a
malformed line is an :class:`InputError` naming it, and nothing is written. So is an
unknown case id, an unknown field, or a result that is not a valid case.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ragline.errors import InputError
from ragline.evals._cases import check_documents, write_error_reason
from ragline.evals._dataset import _atomic_write, _field_errors, dump_case, parse_case
from ragline.evals._types import Case

#: the list fields an edit can add to, remove from and clear
LIST_FIELDS = (
    "expected",
    "must_contain",
    "must_not_contain",
    "must_not_cite",
    "gold_doc_ids",
    "tags",
)
#: the fields ``clear`` accepts
CLEARABLE = (*LIST_FIELDS, "notes", "bad_answer")


@dataclass(frozen=True, slots=True)
class CaseEdit:
    """What to change in a case (the order is in the module docstring)."""

    add: Mapping[str, Sequence[str]] = field(default_factory=dict)
    remove: Mapping[str, Sequence[str]] = field(default_factory=dict)
    clear: Sequence[str] = ()
    category: str | None = None
    notes: str | None = None

    def is_empty(self) -> bool:
        return not (
            any(self.add.values())
            or any(self.remove.values())
            or self.clear
            or self.category is not None
            or self.notes is not None
        )


def _check_field(name: str, allowed: Sequence[str]) -> None:
    if name not in allowed:
        raise InputError(
            f"cannot edit field {name!r} of a case", hint=f"edit one of: {', '.join(allowed)}"
        )


def apply_edit(case: Case, edit: CaseEdit) -> Case:
    """The case with ``edit`` applied; raises :class:`InputError` and changes nothing
    when the edit does not fit the case."""
    data: dict[str, Any] = case.model_dump()
    for name in edit.clear:
        _check_field(name, CLEARABLE)
        if name == "bad_answer":
            data["bad_answer"], data["bad_claims"] = None, []
        elif name == "notes":
            data["notes"] = None
        else:
            data[name] = []
    for name, values in edit.remove.items():
        _check_field(name, LIST_FIELDS)
        for value in values:
            if value not in data[name]:
                raise InputError(
                    f"case {case.id!r} has no {name} {value!r}",
                    hint=f"its {name}: {data[name]!r}" if data[name] else f"its {name} is empty",
                )
            data[name] = [v for v in data[name] if v != value]
    for name, values in edit.add.items():
        _check_field(name, LIST_FIELDS)
        for value in values:
            value = value.strip()
            if value and value not in data[name]:
                data[name].append(value)
    if edit.category is not None:
        data["category"] = edit.category.strip()
    if edit.notes is not None:
        data["notes"] = edit.notes or None
    try:
        return Case.model_validate(data)
    except ValidationError as e:
        raise InputError(
            f"the edit would make case {case.id!r} invalid: {_field_errors(e)}",
            hint="categories are letters, digits, _ and -",
        ) from None


def _find(cases: Sequence[tuple[int, Case]], wanted: str, path: Path) -> tuple[int, Case]:
    for item in cases:
        if item[1].id == wanted:
            return item
    matches = [
        item for item in cases if item[1].id.startswith(wanted) or item[1].source_trace_id == wanted
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(c.id for _, c in matches[:5])
        raise InputError(
            f"case id {wanted!r} is ambiguous in {path}: {ids}", hint="give more of the id"
        )
    raise InputError(
        f"no case {wanted!r} in {path}", hint=f"list its ids: ragline cases list --dataset {path}"
    )


def read_lines(path: Path) -> tuple[list[str], list[tuple[int, Case]]]:
    """The file's lines (with their endings) and its cases by line number; every line
    must load, and ids must be unique."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(
            f"dataset {path} does not exist",
            hint="add cases first: ragline cases add --from-feedback kind=hallucination",
        ) from None
    except UnicodeDecodeError as e:
        raise InputError(
            f"dataset {path} is not valid UTF-8 (byte {e.start})", hint="save it as UTF-8"
        ) from None
    except OSError as e:
        raise InputError(
            f"cannot read dataset {path}: {e.strerror or e}", hint="check the file's permissions"
        ) from None
    lines = text.splitlines(keepends=True)  # the numbering load_cases reports
    cases: list[tuple[int, Case]] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        case = parse_case(line, where=f"{path}:{n}")
        if case.id in seen:
            raise InputError(
                f"{path}:{n}: duplicate case id {case.id!r} (first on line {seen[case.id]})",
                hint="give every case a unique id",
            )
        seen[case.id] = n
        cases.append((n, case))
    return lines, cases


def edit_case(
    dataset: str | os.PathLike[str],
    case_id: str,
    edit: CaseEdit,
    *,
    known_document: Callable[[str, str], bool] | None = None,
    default_tenant: str = "default",
) -> Case:
    """Apply ``edit`` to one case of ``dataset`` and rewrite that line; return the case.

    ``known_document(tenant, document_id)``, when given, checks each gold document id
    added (in the case's tenant, else ``default_tenant``)."""
    path = Path(dataset)
    if edit.is_empty():
        raise InputError(
            "nothing to change",
            hint="give e.g. --must-contain TEXT, --remove-must-contain TEXT or --category NAME",
        )
    lines, cases = read_lines(path)
    number, old = _find(cases, case_id, path)
    new = apply_edit(old, edit)
    check_documents(known_document, old.tenant or default_tenant, edit.add.get("gold_doc_ids", ()))
    if new == old:
        return new
    line = lines[number - 1]
    ending = line[len(line.rstrip("\r\n")) :]
    lines[number - 1] = dump_case(new) + ending
    try:
        _atomic_write(path, lambda f: f.write("".join(lines)))
    except OSError as e:
        raise InputError(
            f"cannot write dataset {str(path)!r}: {write_error_reason(path, e)}",
            hint="check the folder is writable",
        ) from None
    return new


def list_cases(dataset: str | os.PathLike[str]) -> list[Case]:
    """The cases of a dataset, in file order (an InputError names a bad line)."""
    return [case for _, case in read_lines(Path(dataset))[1]]


__all__ = ["CLEARABLE", "LIST_FIELDS", "CaseEdit", "apply_edit", "edit_case", "list_cases"]
