"""`ragline ask --model openai:…` end to end against a real OpenAI-compatible server
on loopback (tests/models/chat_server.py), through the CLI and the Python API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ragline
from ragline.answer import DeltaEvent, DoneEvent, ErrorEvent, RetrievalEvent
from ragline.store import MemoryStore
from ragline.testing import HashEmbedder, block_real_requests

from .chat_server import ChatServer


@pytest.fixture(scope="module")
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


def make_project(tmp_path: Path, base_url: str) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "capitals.md").write_text(
        "# Capitals\n\nParis is the capital of France. Madrid is the capital of Spain.\n"
    )
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nstore: sqlite:///ragline.db\n"
        f"models:\n  openai:local-model:\n    base_url: {base_url}\n    max_retries: 0\n"
        "    price_input_per_mtok: 1.0\n    price_output_per_mtok: 2.0\n"
    )
    return tmp_path


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGLINE_")}
    return subprocess.run(
        [sys.executable, "-m", "ragline.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_ask_with_an_openai_compatible_server(server: ChatServer, tmp_path: Path) -> None:
    root = make_project(tmp_path, server.url("ok"))
    assert cli("ingest", "docs", cwd=root).returncode == 0
    r = cli(
        "ask", "What is the capital of France?", "--model", "openai:local-model", "--json", cwd=root
    )
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["model"] == "openai:local-model"
    assert answer["text"].startswith("Paris is the capital")
    assert answer["references"][0]["document_id"] == "docs/capitals.md"
    assert answer["sentences"][0]["citations"] == [1]
    assert answer["usage"] == {"prompt_tokens": 12, "completion_tokens": 5, "estimated": False}
    assert answer["cost_usd"] == pytest.approx((12 * 1.0 + 5 * 2.0) / 1e6)
    assert answer["prompt_version"]
    # the exact prompt the server received numbers the retrieved chunk
    sent = [body for fault, body in server.requests if fault == "ok"][-1]
    prompt = "\n".join(m["content"] for m in sent["messages"])
    assert "[1]" in prompt and "Paris is the capital of France." in prompt
    assert "What is the capital of France?" in prompt


def test_cli_stream_that_breaks_says_the_text_is_partial(
    server: ChatServer, tmp_path: Path
) -> None:
    root = make_project(tmp_path, server.url("drop"))
    assert cli("ingest", "docs", cwd=root).returncode == 0
    r = cli(
        "ask", "What is the capital of France?", "-m", "openai:local-model", "--stream", cwd=root
    )
    assert r.returncode == 1
    assert "A: Paris" in r.stdout  # what arrived was shown
    assert r.stderr.startswith("error: ") and "partial" in r.stderr
    assert "Traceback" not in r.stderr


def test_python_api_stream_events(server: ChatServer, tmp_path: Path) -> None:
    root = make_project(tmp_path, server.url("ok"))
    with (
        block_real_requests(False),  # a loopback server of the test's own
        ragline.Project(
            root,
            store=MemoryStore(),
            embedder=HashEmbedder(),
            overrides={"model": "openai:local-model"},
        ) as p,
    ):
        p.ingest([root / "docs"])
        events = list(p.ask_stream("What is the capital of France?"))
    assert isinstance(events[0], RetrievalEvent) and events[0].hits
    text = "".join(e.text for e in events if isinstance(e, DeltaEvent))
    assert text == "Paris is the capital [1]."
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.answer.references[0].document_id == "docs/capitals.md"
    assert "keyword" in done.answer.timings_ms  # retrieval timings travel with the answer
    assert not any(isinstance(e, ErrorEvent) for e in events)


def test_extractive_as_the_last_link_of_a_fallback_chain(
    server: ChatServer, tmp_path: Path
) -> None:
    """The provider fails (HTTP 500): the chain answers with verified extractive citations."""
    root = make_project(tmp_path, server.url("error500"))
    with (
        block_real_requests(False),
        ragline.Project(
            root,
            store=MemoryStore(),
            embedder=HashEmbedder(),
            overrides={"model": ["openai:local-model", "extractive"]},
        ) as p,
    ):
        p.ingest([root / "docs"])
        answer = p.ask("What is the capital of France?")
        events = list(p.ask_stream("What is the capital of France?"))
    assert answer.model == "extractive"
    assert "Paris is the capital of France." in answer.text
    assert not answer.abstained
    assert answer.references[0].document_id == "docs/capitals.md"
    assert answer.sentences[0].citations == [1]
    done = events[-1]
    assert isinstance(done, DoneEvent), events
    assert done.answer.model == "extractive"
    assert "Paris is the capital of France. [1]" in "".join(
        e.text for e in events if isinstance(e, DeltaEvent)
    )


def test_unknown_model_spec_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nText.\n")
    r = cli("--embedder", "hash", "ask", "q?", "--model", "gpt-4o", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("error: ") and "openai:gpt-4o" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
