"""Editing one case of a JSONL dataset: add/remove/clear/replace, only its line
rewritten, atomically, and every bad input refused with the file unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragline.errors import InputError
from ragline.evals._case_edit import CaseEdit, apply_edit, edit_case, list_cases
from ragline.evals._dataset import load_cases
from ragline.evals._types import Case

# other lines are written by hand: odd spacing, a CRLF ending, a blank line, unicode
FIRST = (
    '{"id": "fact-1",   "question": "How long is the warranty?", "must_contain": ["2 years"]}\r\n'
)
TARGET = (
    '{"id":"trace-abc123","question":"What was the net income?","tenant":"default",'
    '"bad_answer":"Orders over EUR 100 ship free.",'
    '"bad_claims":["Orders over EUR 100 ship free."],"tags":["regression","hallucination"],'
    '"source_trace_id":"abc123","notes":"from trace abc123"}\n'
)
LAST = '{"id": "fact-2", "question": "¿Cuánto dura la garantía?", "tenant": "acme"}'  # no newline


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "regression.jsonl"
    path.write_bytes((FIRST + "\n" + TARGET + LAST).encode("utf-8"))
    return path


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_an_edit_rewrites_only_that_line(dataset: Path) -> None:
    before = lines(dataset)
    case = edit_case(
        dataset,
        "trace-abc123",
        CaseEdit(
            add={"must_contain": ["EUR 3.2M"], "gold_doc_ids": ["kb/report.pdf"]},
            category="factual_accuracy",
        ),
    )
    after = lines(dataset)
    assert len(after) == len(before)
    assert [a for a, b in zip(after, before, strict=True) if a != b] == [after[2]]
    assert after[0] == FIRST.encode() and after[1] == b"\n" and after[3] == LAST.encode()
    assert after[2].endswith(b"\n") and not after[2].endswith(b"\r\n")
    edited = json.loads(after[2])
    assert edited["must_contain"] == ["EUR 3.2M"]
    assert edited["gold_doc_ids"] == ["kb/report.pdf"]
    assert edited["bad_answer"] == "Orders over EUR 100 ship free."  # the rest is kept
    assert [c.id for c in load_cases(dataset)] == ["fact-1", "trace-abc123", "fact-2"]
    assert load_cases(dataset)[1] == case


def test_the_last_line_keeps_its_missing_newline_and_crlf_stays(dataset: Path) -> None:
    edit_case(dataset, "fact-2", CaseEdit(add={"tags": ["es"]}))
    edit_case(dataset, "fact-1", CaseEdit(add={"tags": ["warranty"]}))
    after = lines(dataset)
    assert not after[-1].endswith(b"\n") and json.loads(after[-1])["tags"] == ["es"]
    assert after[0].endswith(b"\r\n") and json.loads(after[0])["tags"] == ["warranty"]
    assert after[2] == TARGET.encode()


def test_add_remove_clear_and_replace() -> None:
    case = Case(
        id="c",
        question="q",
        must_contain=["a", "b"],
        tags=["regression"],
        bad_answer="bad",
        bad_claims=["bad"],
        notes="n",
    )
    out = apply_edit(
        case,
        CaseEdit(
            add={"must_contain": ["c", "a"], "must_not_cite": ["kb/faq.md"]},
            remove={"must_contain": ["b"]},
            clear=["bad_answer", "notes"],
            category="citation_quality",
        ),
    )
    assert out.must_contain == ["a", "c"]  # "a" is not added twice
    assert out.must_not_cite == ["kb/faq.md"]
    assert (out.bad_answer, out.bad_claims, out.notes) == (None, [], None)
    assert out.category == "citation_quality"
    replaced = apply_edit(case, CaseEdit(clear=["must_contain"], add={"must_contain": ["z"]}))
    assert replaced.must_contain == ["z"]
    assert apply_edit(case, CaseEdit(notes="")).notes is None
    assert apply_edit(case, CaseEdit(notes="checked")).notes == "checked"
    assert case.must_contain == ["a", "b"]  # the original is untouched


def test_a_case_is_found_by_prefix_or_trace_id(dataset: Path) -> None:
    assert edit_case(dataset, "trace-abc", CaseEdit(add={"tags": ["x"]})).id == "trace-abc123"
    assert edit_case(dataset, "abc123", CaseEdit(add={"tags": ["y"]})).tags[-2:] == ["x", "y"]
    before = dataset.read_bytes()
    with pytest.raises(InputError, match="ambiguous") as e:
        edit_case(dataset, "fact-", CaseEdit(add={"tags": ["z"]}))
    assert "fact-1, fact-2" in str(e.value)
    assert dataset.read_bytes() == before


@pytest.mark.parametrize(
    ("case_id", "edit", "message"),
    [
        ("nope", CaseEdit(add={"tags": ["x"]}), "no case 'nope' in"),
        ("fact-1", CaseEdit(remove={"must_contain": ["3 years"]}), "no must_contain '3 years'"),
        ("fact-1", CaseEdit(add={"question": ["x"]}), "cannot edit field 'question'"),
        ("fact-1", CaseEdit(clear=["id"]), "cannot edit field 'id'"),
        ("fact-1", CaseEdit(category="not a category!"), "field 'category'"),
        ("fact-1", CaseEdit(), "nothing to change"),
        ("fact-1", CaseEdit(add={"gold_doc_ids": ["typo.md"]}), "no document 'typo.md'"),
    ],
)
def test_bad_edits_change_nothing(
    dataset: Path, case_id: str, edit: CaseEdit, message: str
) -> None:
    before = dataset.read_bytes()
    with pytest.raises(InputError) as e:
        edit_case(dataset, case_id, edit, known_document=lambda t, d: d == "kb/report.pdf")
    assert message in str(e.value)
    assert dataset.read_bytes() == before
    assert [p.name for p in dataset.parent.iterdir()] == [dataset.name]  # no temp file left


def test_a_malformed_line_is_named_and_the_file_is_unchanged(dataset: Path) -> None:
    broken = dataset.read_bytes() + b"\n{not json\n"
    dataset.write_bytes(broken)
    with pytest.raises(InputError, match=r"regression\.jsonl:5: not valid JSON"):
        edit_case(dataset, "fact-1", CaseEdit(add={"tags": ["x"]}))
    assert dataset.read_bytes() == broken
    with pytest.raises(InputError, match=r"regression\.jsonl:5"):
        list_cases(dataset)


def test_a_duplicate_id_in_the_file_is_refused(dataset: Path) -> None:
    doubled = dataset.read_bytes() + b"\n" + FIRST.encode()
    dataset.write_bytes(doubled)
    with pytest.raises(InputError, match="duplicate case id 'fact-1'"):
        edit_case(dataset, "trace-abc123", CaseEdit(add={"tags": ["x"]}))
    assert dataset.read_bytes() == doubled


def test_a_failed_write_leaves_the_old_file(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = dataset.read_bytes()

    def no_replace(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(InputError, match="cannot write dataset"):
        edit_case(dataset, "fact-1", CaseEdit(add={"tags": ["x"]}))
    assert dataset.read_bytes() == before
    assert [p.name for p in dataset.parent.iterdir()] == [dataset.name]


def test_a_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        edit_case(tmp_path / "none.jsonl", "x", CaseEdit(add={"tags": ["x"]}))
    assert not (tmp_path / "none.jsonl").exists()
