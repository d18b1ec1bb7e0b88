"""tools/fit_support.py reproduces the shipped support-checker weights from its seed
(needs ../shared/datasets/halueval; skipped when it is absent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(os.environ.get("RAGLINE_DATASETS", ROOT.parent / "shared" / "datasets"))
SHIPPED = ROOT / "src" / "ragline" / "answer" / "data" / "support-v1.json"


@pytest.mark.skipif(
    not (DATASETS / "halueval" / "generation" / "qa").is_dir(), reason="no HaluEval data"
)
def test_the_fit_script_reproduces_the_shipped_weights(tmp_path: Path) -> None:
    out = tmp_path / "w.json"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "fit_support.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    fitted = json.loads(out.read_text(encoding="utf-8"))
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert fitted == shipped
    held = shipped["metadata"]["held_back"]
    assert held["auc"] >= 0.85 and held["answer_hallucinated_caught"] >= 0.7
    assert held["answer_faithful_passed"] >= 0.9 and shipped["metadata"]["licence"] == "MIT"
