"""Shadow mode over HTTP: the response is the control's, and ``/metrics`` counts each
variant's served answers and each shadow run's outcome."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import yaml
from fastapi.testclient import TestClient

from ragline._project import Project
from ragline.server import create_app

ASKS = 5


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("shadow-http")
    config = {
        "embedder": "hash",
        "experiments": [
            {
                "name": "narrow",
                "mode": "shadow",
                "variants": [{"name": "control"}, {"name": "k1", "retrieval": {"k": 1}}],
            }
        ],
    }
    (root / "ragline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    docs = root / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"d{i}.md").write_text(
            f"# Warranty {i}\n\nThe X{i}00 has a {i + 1}-year warranty.\n"
        )
    project = Project(root)
    project.ingest([docs])
    app = create_app(project, environ={})
    with TestClient(app, client=("127.0.0.1", 50000)) as test_client:  # /metrics: loopback
        yield test_client


def _count(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_responses_are_the_controls_and_metrics_count_both_sides(client: TestClient) -> None:
    for i in range(ASKS):
        r = client.post("/v1/ask", json={"question": "How long is the warranty?", "user": f"u{i}"})
        assert r.status_code == 200
        body = r.json()
        assert (body["experiment"], body["variant"]) == ("narrow", "control")
        assert len(body["hits"]) == 3  # the control's k, never the shadow's
    deadline = time.monotonic() + 60
    while True:
        text = client.get("/metrics").text
        ran = _count(text, "ragline_shadow_runs_total", variant="k1", outcome="ran")
        if ran >= ASKS or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    served = _count(text, "ragline_experiment_asks_total", experiment="narrow", variant="control")
    assert served == ASKS
    assert _count(text, "ragline_shadow_runs_total", variant="k1", outcome="queued") == ASKS
    assert ran == ASKS
    assert _count(text, "ragline_shadow_runs_total", outcome="failed") == 0
    assert not re.search(r'ragline_experiment_asks_total\{[^}]*variant="k1"', text)
