"""The server's notifiers: built from ``monitor.notifiers`` at start-up (a missing secret
stops ``ragline serve`` with one clear line), their outcomes on ``/metrics`` as
``ragline_notifications_total{notifier,outcome}``; and the latency histograms."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ragline.server import create_app
from ragline.server._metrics import Metrics
from ragline.testing import ServerProcess, sample_notification
from ragline.types import Answer

from ._kb import CONFIG, KEYS_ENV, make_project


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _refused_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = CONFIG + (
        "monitor:\n"
        "  notifiers:\n"
        "    log: {type: file, path: alerts.jsonl}\n"
        f"    dead: {{type: webhook, url: '{_refused_url()}', retries: 1,"
        " backoff_initial_s: 0}\n"
    )
    return make_project(tmp_path_factory.mktemp("notify"), config)


def test_outcomes_are_counted_on_metrics(project: Path) -> None:
    app = create_app(project, environ=KEYS_ENV)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:  # loopback: /metrics
        state = client.app.state.ragline  # type: ignore[attr-defined]
        zero = _samples(client.get("/metrics").text)
        for name in ("log", "dead"):
            for outcome in ("sent", "failed", "retried", "dropped"):
                labels = (("notifier", name), ("outcome", outcome))
                assert zero[("ragline_notifications_total", labels)] == 0
        assert state.notify.submit(sample_notification()) is True
        assert state.notify.flush(10)
        after = _samples(client.get("/metrics").text)
    counted = {
        (dict(labels)["notifier"], dict(labels)["outcome"]): value
        for (name, labels), value in after.items()
        if name == "ragline_notifications_total" and value
    }
    assert counted == {("log", "sent"): 1, ("dead", "retried"): 1, ("dead", "failed"): 1}
    assert (project / "alerts.jsonl").read_text(encoding="utf-8").count("\n") == 1


def test_a_real_server_exports_the_series(project: Path) -> None:
    with ServerProcess(project, env=KEYS_ENV) as server:
        text = httpx.get(server.url + "/metrics", timeout=30).text
    samples = _samples(text)
    labels = (("notifier", "dead"), ("outcome", "failed"))
    assert samples[("ragline_notifications_total", labels)] == 0


def test_a_missing_secret_stops_serve_with_one_clear_line(tmp_path: Path) -> None:
    config = CONFIG + (
        "monitor:\n  notifiers:\n    pager: {type: pagerduty, routing_key_env: NO_SUCH_PD_KEY}\n"
    )
    root = tmp_path / "p"
    root.mkdir()
    (root / "ragline.yaml").write_text(config, encoding="utf-8")
    with pytest.raises(RuntimeError) as info:
        ServerProcess(root, env=KEYS_ENV, start_timeout_s=60).start()
    out = str(info.value)
    assert "monitor.notifiers.pager.routing_key_env" in out and "NO_SUCH_PD_KEY is not set" in out
    assert "Traceback" not in out
    assert (root / "ragline.yaml").read_text(encoding="utf-8") == config


# ------------------------------------------------------ histograms, without a server


def _metrics(tenant_labels: bool = True) -> Metrics:
    state: Any = SimpleNamespace(
        settings=SimpleNamespace(server=SimpleNamespace(metrics_tenant_labels=tenant_labels)),
        admission=SimpleNamespace(running=0, waiting=0, shed=0),
        project=SimpleNamespace(trace_stats=lambda: None),
    )
    return Metrics(state)


def _answer(**timings_ms: float) -> Answer:
    return Answer(question="q", text="a", tenant="acme", timings_ms=timings_ms)


@pytest.mark.parametrize("tenant_labels", [True, False])
def test_every_timed_step_lands_in_its_stage_bucket(tenant_labels: bool) -> None:
    m = _metrics(tenant_labels)
    m.observe_answer(
        "acme", _answer(keyword=0.4, dense=3.0, fusion=0.2, generate=700.0, total=720.0)
    )
    m.observe_answer("acme", _answer(keyword=0.6, generate=2600.0, total=2700.0, load_model=9e3))
    samples = _samples(generate_latest(m.registry).decode())
    tenant = (("tenant", "acme"),) if tenant_labels else ()

    def bucket(metric: str, le: str, *labels: tuple[str, str]) -> float:
        return samples[(f"{metric}_bucket", tuple(sorted((*labels, *tenant, ("le", le)))))]

    stage = "ragline_stage_duration_seconds"
    assert bucket(stage, "0.0005", ("stage", "keyword")) == 1  # 0.4 ms
    assert bucket(stage, "0.001", ("stage", "keyword")) == 2  # and 0.6 ms
    assert bucket(stage, "1.0", ("stage", "generate")) == 1
    assert bucket(stage, "5.0", ("stage", "generate")) == 2
    assert bucket(stage, "+Inf", ("stage", "dense")) == 1
    stages = {dict(k[1])["stage"] for k in samples if k[0] == f"{stage}_count"}
    assert stages == {"keyword", "dense", "fusion", "generate"}  # not total, not load_model
    ask = "ragline_ask_duration_seconds"
    assert bucket(ask, "1.0", ("outcome", "answered")) == 1
    assert bucket(ask, "+Inf", ("outcome", "answered")) == 2
    assert samples[(f"{ask}_sum", tuple(sorted((("outcome", "answered"), *tenant))))] == (
        pytest.approx(3.42)
    )


def test_the_openapi_schema_needs_no_notifier_secret(tmp_path: Path) -> None:
    from ragline.server import openapi_schema

    root = tmp_path / "p"
    root.mkdir()
    (root / "ragline.yaml").write_text(
        CONFIG + "monitor:\n  notifiers:\n    pager: {type: pagerduty, routing_key_env: NO_KEY}\n",
        encoding="utf-8",
    )
    assert "/metrics" in openapi_schema(root)["paths"]
