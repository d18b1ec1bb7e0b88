"""`import ragline` and `from ragline import Project` stay light: heavy libraries, other
store backends and the server load only when something uses them (checked in a fresh
interpreter, so other tests' imports do not count)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "torch",
    "onnxruntime",
    "sentence_transformers",
    "transformers",
    "psycopg",
    "fastapi",
    "uvicorn",
    "httpx",
    "jinja2",
    "lingua",
    "pypdf",
    "docx",
    "ragline.store.postgres",
    "ragline.server",
    "ragline.ui",
)

OPEN_AND_COUNT = """
import sys
from ragline import Project
project = Project(sys.argv[1])
assert project.stats() == {"documents": 0, "chunks": 0}, project.stats()
project.close()
"""


def loaded_after(code: str, *args: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_project_loads_no_backend_config_or_numpy() -> None:
    loaded = set(loaded_after("import ragline\nfrom ragline import Project"))
    assert [m for m in (*HEAVY, "numpy", "pydantic", "yaml") if m in loaded] == []
    assert "ragline._project" in loaded


def test_opening_a_sqlite_project_loads_no_postgres_server_or_model(tmp_path: Path) -> None:
    loaded = set(loaded_after(OPEN_AND_COUNT, str(tmp_path)))
    assert [m for m in HEAVY if m in loaded] == []
    assert "ragline.store.sqlite" in loaded
    assert (tmp_path / "ragline.db").exists()
