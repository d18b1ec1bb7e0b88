"""Datasets: ragline JSONL cases, BEIR folders and SQuAD JSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ragline.errors import InputError
from ragline.evals import (
    Case,
    EvalDocument,
    append_cases,
    load_beir,
    load_cases,
    load_squad,
    save_cases,
    write_documents,
)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_cases_reads_every_field_and_skips_blank_lines(tmp_path: Path) -> None:
    p = write(
        tmp_path / "cases.jsonl",
        json.dumps(
            {
                "id": "c1",
                "question": "How long is the warranty?",
                "tenant": "acme",
                "expected": ["two years"],
                "must_contain": ["2 years"],
                "gold_doc_ids": ["warranty.md"],
                "gold_chunk_ids": ["warranty.md#0"],
                "answerable": True,
                "category": "factual_accuracy",
                "tags": ["warranty"],
                "source_trace_id": "t-1",
            }
        ),
        "",
        "   ",
        json.dumps(
            {
                "id": "c2",
                "question": "Tell me a joke",
                "answerable": False,
                "must_refuse": True,
                "category": "safety",
            }
        ),
    )
    cases = load_cases(p)
    assert [c.id for c in cases] == ["c1", "c2"]
    assert cases[0].gold_doc_ids == ["warranty.md"] and cases[0].tenant == "acme"
    assert cases[1].must_refuse and not cases[1].answerable and cases[1].category == "safety"


def test_custom_category_is_allowed(tmp_path: Path) -> None:
    p = write(tmp_path / "c.jsonl", '{"id": "x", "question": "q?", "category": "billing"}')
    assert load_cases(p)[0].category == "billing"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "question": "q", "answerable": "maybe"}', ":2: field 'answerable'"),
        ('{"id": "a"}', "field 'question': Field required"),
        ('{"id": "a", "question": "q", "colour": "red"}', "field 'colour': unknown field"),
        ('{"id": "a", "question": "q"', ":2: not valid JSON"),
        ('["a", "q"]', "expected a JSON object, got list"),
        ('{"id": "", "question": "q"}', "field 'id'"),
        ('{"id": "a", "question": "q", "tags": "x"}', "field 'tags'"),
        ('{"id": "a", "question": "q", "category": "a.b"}', "field 'category'"),
        ('{"id": "a", "question": "q", "category": ""}', "field 'category'"),
    ],
)
def test_invalid_line_names_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    p = write(tmp_path / "bad.jsonl", '{"id": "ok", "question": "fine?"}', line)
    with pytest.raises(InputError) as e:
        load_cases(p)
    assert f"{p}:2" in str(e.value)
    assert message in str(e.value)


def test_duplicate_ids_are_an_error_naming_both_lines(tmp_path: Path) -> None:
    p = write(
        tmp_path / "dup.jsonl",
        '{"id": "a", "question": "q1"}',
        '{"id": "b", "question": "q2"}',
        '{"id": "a", "question": "q3"}',
    )
    with pytest.raises(InputError, match=r"dup.jsonl:3: duplicate case id 'a' \(first on line 1\)"):
        load_cases(p)


def test_missing_file_and_folder_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_cases(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="is a folder"):
        load_cases(tmp_path)


def test_append_creates_parents_and_round_trips(tmp_path: Path) -> None:
    p = tmp_path / "deep" / "er" / "cases.jsonl"
    a = Case(id="a", question="Q1?", expected=["x"], tags=["t"])
    b = Case(id="b", question="Q2?", answerable=False)
    assert append_cases(p, [a]) == 1
    assert append_cases(p, [b]) == 1
    assert load_cases(p) == [a, b]
    # defaults are left out of the file
    assert json.loads(p.read_text().splitlines()[0]) == {
        "id": "a",
        "question": "Q1?",
        "expected": ["x"],
        "tags": ["t"],
    }


def test_append_to_file_without_final_newline(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    p.write_text('{"id": "a", "question": "q"}', encoding="utf-8")
    append_cases(p, [Case(id="b", question="r")])
    assert [c.id for c in load_cases(p)] == ["a", "b"]


def test_append_duplicate_id_writes_nothing(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    append_cases(p, [Case(id="a", question="q")])
    before = p.read_bytes()
    with pytest.raises(InputError, match=r"case id 'a' is already in .*line 1"):
        append_cases(p, [Case(id="new", question="q"), Case(id="a", question="again")])
    with pytest.raises(InputError, match="given twice"):
        append_cases(p, [Case(id="z", question="q"), Case(id="z", question="q")])
    assert p.read_bytes() == before
    assert not [f for f in tmp_path.iterdir() if f.name != "c.jsonl"]  # no temp files left


def test_append_refuses_a_corrupt_existing_file_and_keeps_it(tmp_path: Path) -> None:
    p = write(tmp_path / "c.jsonl", '{"id": "a", "question": "q"}', "not json")
    before = p.read_bytes()
    with pytest.raises(InputError, match=r"c\.jsonl:2: not valid JSON"):
        append_cases(p, [Case(id="b", question="q")])
    assert p.read_bytes() == before


def test_save_cases_replaces_the_file(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    save_cases(p, [Case(id="a", question="q")])
    save_cases(p, [Case(id="b", question="q"), Case(id="c", question="q")])
    assert [c.id for c in load_cases(p)] == ["b", "c"]


# ----------------------------------------------------------------- BEIR


def make_beir(root: Path, *, gz: bool = False) -> Path:
    (root / "qrels").mkdir(parents=True)
    corpus = "\n".join(
        json.dumps(r)
        for r in [
            {"_id": "d1", "title": "Cats", "text": "Cats purr."},
            {"_id": "d2", "title": "", "text": "Dogs bark."},
            {"_id": 3, "text": "Birds sing."},
        ]
    )
    if gz:
        with gzip.open(root / "corpus.jsonl.gz", "wt", encoding="utf-8") as f:
            f.write(corpus + "\n")
    else:
        (root / "corpus.jsonl").write_text(corpus + "\n")
    (root / "queries.jsonl").write_text(
        "\n".join(
            json.dumps(q)
            for q in [
                {"_id": "q1", "text": "what purrs"},
                {"_id": "q2", "text": "what barks"},
                {"_id": "q3", "text": "no judgments"},
                {"_id": "q4", "text": "only a zero judgment"},
            ]
        )
        + "\n"
    )
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\t3\t2\nq2\td2\t1\nq4\td1\t0\n"
    )
    return root


@pytest.mark.parametrize("gz", [False, True])
def test_load_beir(tmp_path: Path, gz: bool) -> None:
    docs, cases = load_beir(make_beir(tmp_path / "b", gz=gz))
    assert docs == [
        EvalDocument("d1", "Cats purr.", "Cats"),
        EvalDocument("d2", "Dogs bark."),
        EvalDocument("3", "Birds sing."),
    ]
    assert [(c.id, c.question, c.gold_doc_ids) for c in cases] == [
        ("q1", "what purrs", ["d1", "3"]),
        ("q2", "what barks", ["d2"]),
    ]
    assert all(c.category == "retrieval" for c in cases)


def test_beir_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_beir(tmp_path / "absent")
    root = make_beir(tmp_path / "b")
    with pytest.raises(InputError, match=r"no qrels/dev\.tsv"):
        load_beir(root, split="dev")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1 d1\n")
    with pytest.raises(InputError, match=r"test.tsv:2: expected 3 columns"):
        load_beir(root)
    make_beir(tmp_path / "c")
    (tmp_path / "c" / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n{oops\n')
    with pytest.raises(InputError, match=r"queries.jsonl:2: not valid JSON"):
        load_beir(tmp_path / "c")
    (tmp_path / "c" / "corpus.jsonl").unlink()
    (tmp_path / "c" / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n')
    with pytest.raises(InputError, match=r"no corpus\.jsonl"):
        load_beir(tmp_path / "c")


def test_beir_documents_ingest_with_their_ids(tmp_path: Path) -> None:
    docs, _ = load_beir(make_beir(tmp_path / "b"))
    out = write_documents(tmp_path / "corpus" / "c.jsonl", docs)
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert records[0] == {"_id": "d1", "title": "Cats", "text": "Cats purr."}


SCIFACT = (
    Path(__file__).resolve().parents[3] / "shared" / "datasets" / "beir_scifact" / "subset_test"
)


@pytest.mark.skipif(not SCIFACT.exists(), reason="SciFact subset not present")
def test_load_real_scifact_subset() -> None:
    docs, cases = load_beir(SCIFACT)
    assert len(cases) == 300 and len(docs) > 1000
    ids = {d.id for d in docs}
    assert all(g in ids for c in cases for g in c.gold_doc_ids)


# ----------------------------------------------------------------- SQuAD


def test_load_squad_v2(tmp_path: Path) -> None:
    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "Normans",
                "paragraphs": [
                    {
                        "context": "The Normans gave their name to Normandy.",
                        "qas": [
                            {
                                "id": "q1",
                                "question": "Who gave their name to Normandy?",
                                "answers": [
                                    {"text": "The Normans", "answer_start": 0},
                                    {"text": "Normans", "answer_start": 4},
                                    {"text": "Normans", "answer_start": 4},
                                ],
                                "is_impossible": False,
                            },
                            {
                                "id": "q2",
                                "question": "Who gave their name to Paris?",
                                "answers": [],
                                "plausible_answers": [{"text": "Normans"}],
                                "is_impossible": True,
                            },
                        ],
                    },
                    {
                        "context": "Rollo was a Viking.",
                        "qas": [
                            {
                                "id": "q3",
                                "question": "Who was Rollo?",
                                "answers": [{"text": "a Viking"}],
                            }
                        ],
                    },
                ],
            }
        ],
    }
    p = tmp_path / "squad.json"
    p.write_text(json.dumps(data))
    docs, cases = load_squad(p)
    assert [d.title for d in docs] == ["Normans", "Normans"]
    assert docs[0].text == "The Normans gave their name to Normandy."
    q1, q2, q3 = cases
    assert q1.expected == ["The Normans", "Normans"] and q1.answerable
    assert q1.gold_doc_ids == [docs[0].id]
    assert not q2.answerable and q2.expected == [] and q2.gold_doc_ids == []
    assert q3.gold_doc_ids == [docs[1].id]
    # ids are stable: the same file gives the same ids
    assert load_squad(p)[0] == docs


def test_squad_errors(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_text('{"version": "1"}')
    with pytest.raises(InputError, match="no top-level 'data' list"):
        load_squad(p)
    p.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}))
    with pytest.raises(InputError, match=r"data\[0\].paragraphs\[0\]: field 'context'"):
        load_squad(p)
    p.write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        load_squad(p)
    with pytest.raises(InputError, match="does not exist"):
        load_squad(tmp_path / "none.json")


XQUAD = (
    Path(__file__).resolve().parents[3] / "shared" / "datasets" / "xquad_en_es" / "xquad.en.json"
)


@pytest.mark.skipif(not XQUAD.exists(), reason="XQuAD not present")
def test_load_real_xquad() -> None:
    docs, cases = load_squad(XQUAD)
    assert len(docs) == 240 and len(cases) == 1190
    assert all(c.expected and c.gold_doc_ids for c in cases)


def test_append_interrupted_before_rename_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    p = tmp_path / "c.jsonl"
    append_cases(p, [Case(id="a", question="q")])
    before = p.read_bytes()

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        append_cases(p, [Case(id="b", question="q")])
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["c.jsonl"]


def test_append_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    append_cases(real, [Case(id="a", question="q")])
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    append_cases(link, [Case(id="b", question="q")])
    assert link.is_symlink()
    assert [c.id for c in load_cases(real)] == ["a", "b"]


def test_append_into_a_path_under_a_file_is_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError):
        append_cases(tmp_path / "file" / "c.jsonl", [Case(id="a", question="q")])
    assert (tmp_path / "file").read_text() == "x"
