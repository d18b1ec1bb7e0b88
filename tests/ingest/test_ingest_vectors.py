"""`ingest --vector-field`: JSONL records with precomputed vectors, loaded without
embedding into a real SQLite project; every bad record is refused before anything of
the file is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragline import Project
from ragline.errors import InputError

DIM = 16


def unit(seed: int) -> list[float]:
    v = np.random.default_rng(seed).standard_normal(DIM)
    return [float(x) for x in v / np.linalg.norm(v)]


def records(n: int, start: int = 0) -> list[dict[str, object]]:
    topics = ["warranty terms", "shipping times", "refund policy", "battery care"]
    return [
        {
            "id": f"r{i}",
            "title": f"Record {i}",
            "text": f"Record {i} explains {topics[i % 4]} in detail.",
            "doc_type": "faq",
            "embedding": unit(i),
        }
        for i in range(start, start + n)
    ]


def write(path: Path, rows: list[dict[str, object]] | list[str]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[Project]:
    with Project(tmp_path, overrides={"embedder": f"hash:{DIM}"}) as p:
        yield p


def test_vectors_are_stored_as_given_and_searchable(project: Project, tmp_path: Path) -> None:
    data = write(tmp_path / "data.jsonl", records(40))
    report = project.ingest(data, vector_field="embedding", meta_fields=["doc_type"])
    assert report.ok and report.totals()["added"] == 40 and report.chunks_embedded == 0
    assert project.stats() == {"documents": 40, "chunks": 1 * 40}
    stored = project.store.get_embeddings("default", ["r7#0"])
    assert np.allclose(stored[0], unit(7), atol=1e-6)
    # dense search with record 7's own vector finds record 7 first
    best = project.store.vector_search("default", np.asarray(unit(7), np.float32), k=1)
    assert best[0].chunk.document_id == "r7" and best[0].chunk.doc_type == "faq"
    # the text is keyword-indexed as is
    hits = project.search("refund policy", mode="keyword", k=40)
    assert {h.chunk.document_id for h in hits} == {f"r{i}" for i in range(2, 40, 4)}


def test_rerun_skips_unchanged_and_sync_removes_dropped(project: Project, tmp_path: Path) -> None:
    data = write(tmp_path / "data.jsonl", records(10))
    project.ingest(data, vector_field="embedding")
    changed = records(10)
    changed[3]["embedding"] = unit(99)
    write(data, changed[:8])
    report = project.ingest(data, vector_field="embedding", sync=True)
    assert report.totals() | {"failed": 0} == {
        "added": 0, "updated": 1, "unchanged": 7, "busy": 0, "removed": 2, "failed": 0,
    }  # fmt: skip
    assert project.stats()["documents"] == 8
    assert np.allclose(project.store.get_embeddings("default", ["r3#0"])[0], unit(99), atol=1e-6)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ({"id": "x", "text": "t", "embedding": [0.1] * (DIM + 1)}, "has 17 numbers but the"),
        ({"id": "x", "text": "t"}, "no vector in field 'embedding'"),
        ({"id": "x", "text": "t", "embedding": "0.1,0.2"}, "must be a list of numbers"),
        ({"id": "x", "text": "t", "embedding": ["0.1"] * DIM}, "must be a list of numbers"),
        ({"id": "x", "text": "t", "embedding": [None] * DIM}, "must be a list of numbers"),
        ({"id": "x", "text": "t", "embedding": [[0.1]] * DIM}, "must be a list of numbers"),
        ({"id": "x", "text": "t", "embedding": [0.0] * DIM}, "is all zeros"),
        ({"id": "x", "text": "t", "embedding": [1e39] * DIM}, "too large for float32"),
        ({"id": "x", "text": "", "embedding": [0.1] * DIM}, "field 'text' is missing or empty"),
        ({"id": "r0", "text": "again", "embedding": [0.1] * DIM}, "duplicate id 'r0'"),
        ("{not json", "line 4 is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_a_bad_record_refuses_the_whole_file_and_writes_nothing(
    project: Project, tmp_path: Path, bad_line: object, message: str
) -> None:
    kept = write(tmp_path / "kept.jsonl", records(5, start=100))
    project.ingest(kept, vector_field="embedding")
    rows: list[object] = [*records(3), bad_line, *records(3, start=3)]
    data = write(tmp_path / "data.jsonl", rows)  # type: ignore[arg-type]
    with pytest.raises(InputError) as info:
        project.ingest(data, vector_field="embedding")
    assert message in str(info.value)
    assert "data.jsonl line 4" in str(info.value)
    assert "nothing of the file was written" in (info.value.hint or "")
    assert project.stats() == {"documents": 5, "chunks": 5}  # the earlier load is intact


def test_a_dimension_mismatch_names_the_field_line_and_fix(
    project: Project, tmp_path: Path
) -> None:
    data = write(tmp_path / "data.jsonl", [{"id": "a", "text": "t", "vec": [0.5] * 384}])
    with pytest.raises(InputError) as info:
        project.ingest(data, vector_field="vec")
    text = str(info.value)
    assert "data.jsonl line 1: field 'vec' has 384 numbers" in text
    assert "embedder 'hash-16' makes 16-dimensional vectors" in text
    assert "embedder:" in (info.value.hint or "")


def test_only_jsonl_files_are_read(project: Project, tmp_path: Path) -> None:
    other = tmp_path / "data.json"
    other.write_text(json.dumps(records(2)))
    with pytest.raises(InputError, match="--vector-field reads JSONL files"):
        project.ingest(other, vector_field="embedding")
    with pytest.raises(InputError, match="no such file"):
        project.ingest(tmp_path / "missing.jsonl", vector_field="embedding")
    assert project.stats()["documents"] == 0


def test_cli_loads_vectors_and_prints_one_line_for_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(f"embedder: hash:{DIM}\n")
    write(tmp_path / "good.jsonl", records(6))
    write(tmp_path / "bad.jsonl", [*records(2, start=50), {"id": "z", "text": "t", "e": [1]}])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cli = [sys.executable, "-m", "ragline.cli", "ingest"]
    ok = subprocess.run(
        [*cli, "good.jsonl", "--vector-field", "embedding", "--json"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["files"][0] | {"path": ""} == {
        "path": "", "status": "added", "documents": 6, "chunks": 6, "error": None, "ids": [],
    }  # fmt: skip
    bad = subprocess.run(
        [*cli, "bad.jsonl", "--vector-field", "embedding"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert bad.returncode != 0
    assert "bad.jsonl line 1" not in bad.stderr  # line 1 is fine; line 3 has no vector
    assert "bad.jsonl line 3: no vector in field 'embedding'" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr
    with Project(tmp_path) as project:
        assert project.stats()["documents"] == 6
