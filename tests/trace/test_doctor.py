"""``ragline doctor`` says whether traces are being dropped, across processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ragline.store.sqlite import SQLiteTraceStore

from .helpers import make_project


def test_doctor_shows_traces_and_dropped_spans(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    project.ask("How long is the warranty?")
    project.close()
    SQLiteTraceStore(tmp_path / "ragline.db").record_drops(7)  # as another process would
    out = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "doctor"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    line = next(ln for ln in out.stdout.splitlines() if "tracing" in ln)
    assert "2 traces stored" in line  # the ingest and the ask
    assert "7 spans dropped" in line and "tracing.queue_size" in line


def test_doctor_says_when_tracing_is_off(tmp_path: Path) -> None:
    from ragline.trace._setup import doctor_line

    project = make_project(tmp_path, "tracing: {enabled: false}\n", ingest=False)
    assert doctor_line(project) == (True, "off (tracing.enabled: false)")
    project.close()
