"""CI gate: the sample knowledge base's evaluation suite passes its own thresholds.

The same commands CI runs (see the README): ingest examples/sample-kb, then
``ragline eval run examples/sample-kb-eval/cases.jsonl --gates …/gates.yaml``.
Run with both embedder backends: ONNX int8 rounds differently from one CPU to the next
(AVX-512 VNNI here, AMX on CI's machines), and torch's fp32 stands in for the CPUs
whose results are closest to fp32 — the gates must hold on every machine, not on one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragline.cli import app

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "examples" / "sample-kb-eval"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_sample_kb_suite_passes_its_gates(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGLINE_EMBEDDING__BACKEND", backend)
    store = ["-C", str(REPO), "--store", f"sqlite:///{tmp_path / 'ci.db'}"]
    runner = CliRunner()
    result = runner.invoke(app, [*store, "ingest", str(REPO / "examples" / "sample-kb")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            *store,
            "eval",
            "run",
            str(SUITE / "cases.jsonl"),
            "--gates",
            str(SUITE / "gates.yaml"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["cases"] >= 200
    assert all(g["passed"] for g in data["gates"])
    assert len(data["gates"]) >= 4
    # the gate command agrees, on the stored run
    gate = runner.invoke(
        app, [*store, "eval", "gate", data["run"], "--gates", str(SUITE / "gates.yaml")]
    )
    assert gate.exit_code == 0, gate.output
