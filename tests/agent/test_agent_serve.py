"""The agent over its interfaces, against real processes: ``ragline serve`` answering
``POST /v1/agent`` (JSON and SSE) and ``ragline chat --agent``, both with the real
OpenAI-compatible provider talking to a loopback server that scripts the tool calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragline import Project
from ragline.testing import ServerProcess

from .tool_server import ToolServer

REPO = Path(__file__).resolve().parents[2]
KB = REPO / "examples" / "sample-kb"
KEY = "rl_acme_agent_key_0001"
OTHER_KEY = "rl_globex_agent_key_0002"
ENV = {"ACME_KEYS": KEY, "GLOBEX_KEYS": OTHER_KEY, "OPENAI_API_KEY": "sk-test"}


def config(url: str) -> str:
    return (
        "embedder: hash\n"
        "model: openai:tools\n"
        "models:\n"
        "  openai:tools:\n"
        f"    base_url: {url}\n"
        "    max_retries: 0\n"
        "tenants:\n"
        "  acme: {api_keys_env: ACME_KEYS}\n"
        "  globex: {api_keys_env: GLOBEX_KEYS}\n"
    )


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolServer]:
    with ToolServer() as s:
        yield s


@pytest.fixture(scope="module")
def root(tools: ToolServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("agent-serve")
    (root / "ragline.yaml").write_text(config(tools.url), encoding="utf-8")
    with Project(root) as p:
        p.ingest([KB / "warranty-policy.md", KB / "returns-and-refunds.md"], tenant="acme")
    return root


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[ServerProcess]:
    with ServerProcess(root, env=ENV) as proc:
        yield proc


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sse(response: httpx.Response) -> list[tuple[str, dict[str, object]]]:
    events, name = [], ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line[5:])))
    return events


def test_post_agent_json_runs_tools_and_cites(server: ServerProcess) -> None:
    body = {"message": "Is the frame covered against defects?", "user": "ann"}
    r = httpx.post(server.url + "/v1/agent", json=body, headers=auth(), timeout=60)
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["stop_reason"] == "completed"
    assert [c["name"] for c in run["tool_calls"]] == ["search_knowledge_base"]
    assert run["references"] and run["references"][0]["number"] == 1
    assert run["text"].endswith("[1].")
    assert run["conversation_id"] and run["trace_id"]
    trace = httpx.get(server.url + f"/v1/traces/{run['trace_id']}", headers=auth(), timeout=30)
    assert trace.status_code == 200
    names = {s["name"] for s in trace.json()["spans"]}
    assert {"agent", "agent.step", "agent.tool"} <= names


def test_post_agent_streams_tool_calls_deltas_citations_and_done(server: ServerProcess) -> None:
    body = {"message": "How many percent is the restocking fee? returns refund", "stream": True}
    with httpx.stream("POST", server.url + "/v1/agent", json=body, headers=auth(), timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse(r)
    kinds = [name for name, _ in events]
    assert kinds[:2] == ["tool_call", "tool_call"]  # both parallel calls, before results
    assert kinds[2:4] == ["tool_result", "tool_result"]
    assert "delta" in kinds and "citation" in kinds and kinds[-1] == "done"
    calls = {e["name"]: e for n, e in events if n == "tool_result"}
    assert calls["calculator"]["content"] == {"expression": "249 / 2490 * 100", "value": 10}
    done = events[-1][1]
    assert done["stop_reason"] == "completed" and done["references"]


def test_metrics_count_agent_runs_steps_and_tool_calls(server: ServerProcess) -> None:
    body = {"message": "Is the frame covered against defects?"}
    assert httpx.post(server.url + "/v1/agent", json=body, headers=auth(), timeout=60).is_success
    stream = {**body, "stream": True}
    with httpx.stream(
        "POST", server.url + "/v1/agent", json=stream, headers=auth(), timeout=60
    ) as r:
        sse(r)
    lines = httpx.get(server.url + "/metrics", timeout=30).text.splitlines()

    def value(prefix: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))

    assert value('ragline_agent_runs_total{stop_reason="completed",tenant="acme"}') >= 2
    assert value('ragline_agent_steps_count{tenant="acme"}') >= 2
    assert value('ragline_agent_steps_sum{tenant="acme"}') >= 4  # a search, then the answer
    calls = (
        'ragline_agent_tool_calls_total{outcome="ok",tenant="acme",tool="search_knowledge_base"}'
    )
    assert value(calls) >= 2


def test_post_agent_bad_input(server: ServerProcess) -> None:
    url = server.url + "/v1/agent"
    assert httpx.post(url, json={"message": "x"}, timeout=30).status_code == 401
    r = httpx.post(url, json={"message": "   "}, headers=auth(), timeout=30)
    assert r.status_code == 422 and "blank" in r.text
    r = httpx.post(
        url, json={"message": "x", "conversation_id": "nope"}, headers=auth(), timeout=30
    )
    assert r.status_code == 404
    r = httpx.post(url, json={"message": "x", "tools": []}, headers=auth(), timeout=30)
    assert r.status_code == 422


def test_another_tenants_conversation_is_a_404(server: ServerProcess) -> None:
    url = server.url + "/v1/agent"
    mine = httpx.post(url, json={"message": "frame warranty"}, headers=auth(), timeout=60).json()
    r = httpx.post(
        url,
        json={"message": "and?", "conversation_id": mine["conversation_id"]},
        headers=auth(OTHER_KEY),
        timeout=30,
    )
    assert r.status_code == 404


def test_chat_agent_prints_tool_calls_as_they_happen(root: Path) -> None:
    env = {**os.environ, **ENV, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(root), "chat", "--agent",
         "--tenant", "acme", "Is the frame covered against defects?"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "you> Is the frame covered against defects?"
    assert lines[1].startswith('  → search_knowledge_base {"query": "Is the frame')
    assert lines[2] == "  ← search_knowledge_base: ok"
    assert lines[3].startswith("agent> ") and lines[3].rstrip().endswith("[1].")
    assert lines[4].startswith("  [1] ")
    assert "stop: completed" in out.stderr and "1 tool call(s)" in out.stderr


def test_chat_agent_json_prints_each_run(root: Path) -> None:
    env = {**os.environ, **ENV, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(root), "chat", "--agent", "--json",
         "--tenant", "acme", "--user", "ann", "frame warranty", "returns refund"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    runs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["stop_reason"] for r in runs] == ["completed", "completed"]
    assert runs[0]["conversation_id"] == runs[1]["conversation_id"]  # one conversation


def test_chat_agent_with_the_extractive_model_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(tmp_path), "chat", "--agent", "hello"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode != 0
    assert "agent.model" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
