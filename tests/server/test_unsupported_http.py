"""LLM sentences below answer.min_support over the real server and the CLI.

An OpenAI-compatible model on loopback (``fixed_model.py``) answers with one supported
sentence and one that no passage supports; every interface says which is which.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse
from openai import OpenAI
from typer.testing import CliRunner

from ragline.cli import app
from ragline.testing import ServerProcess

from ._kb import ACME_KEY, KEYS_ENV, acme, make_project
from .fixed_model import FixedModelServer

QUESTION = "How long is the battery warranty?"
# [1] is the service manual's battery-diagnostics chunk (the hash embedder's top hit):
# the sentence restates it; the support checker also reads names and figures
GOOD = "A battery under 2 years old qualifies for replacement under the battery warranty [1]."
BAD = "Penguins juggle violet accordions underwater [1]."
ENV = {**KEYS_ENV, "OPENAI_API_KEY": "sk-test"}


def config(url: str, policy: str = "mark") -> str:
    return (
        "embedder: hash\n"
        "model: openai:fixed\n"
        "models:\n"
        "  openai:fixed:\n"
        f"    base_url: {url}\n"
        "    max_retries: 0\n"
        f"answer:\n  unsupported: {policy}\n"
        "tenants:\n"
        "  acme: {api_keys_env: ACME_KEYS}\n"
        "  globex: {api_keys_env: GLOBEX_KEYS}\n"
    )


@pytest.fixture(scope="module")
def model() -> Iterator[FixedModelServer]:
    with FixedModelServer(f"{GOOD} {BAD}") as s:
        yield s


@pytest.fixture(scope="module")
def root(model: FixedModelServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("unsupported-http"), config(model.url))


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[ServerProcess]:
    with ServerProcess(root, env=ENV) as proc:
        yield proc


def test_ask_json_marks_the_unsupported_sentence(server: ServerProcess) -> None:
    r = httpx.post(server.url + "/v1/ask", json={"question": QUESTION}, headers=acme(), timeout=60)
    assert r.status_code == 200, r.text
    good, bad = r.json()["sentences"]
    assert good["supported"] is True and good["support"] >= 0.45
    assert bad["supported"] is False and bad["support"] < 0.45
    assert bad["text"].startswith("Penguins")


def test_sse_citation_and_done_events_carry_it(server: ServerProcess) -> None:
    body = {"question": QUESTION, "stream": True}
    with (
        httpx.Client(base_url=server.url, headers=acme(), timeout=60) as client,
        connect_sse(client, "POST", "/v1/ask", json=body) as source,
    ):
        events = [(e.event, json.loads(e.data)) for e in source.iter_sse()]
    citations = [d for kind, d in events if kind == "citation"]
    assert [c["supported"] for c in citations] == [True, False]
    [done] = [d for kind, d in events if kind == "done"]
    assert [s["supported"] for s in done["answer"]["sentences"]] == [True, False]


def test_chat_completions_carry_it_under_the_ragline_extension(server: ServerProcess) -> None:
    client = OpenAI(base_url=server.url + "/v1", api_key=ACME_KEY, max_retries=0, timeout=60)
    resp = client.chat.completions.create(
        model="ragline", messages=[{"role": "user", "content": QUESTION}]
    )
    info = resp.model_extra["ragline"]  # type: ignore[index]
    [bad] = info["unsupported_sentences"]
    assert bad["index"] == 1 and bad["text"].startswith("Penguins") and bad["support"] < 0.45


def test_cli_marks_the_sentence_and_says_why(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    result = CliRunner().invoke(app, ["-C", str(root), "ask", QUESTION, "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "underwater [1]. (⚠ unsupported)" in out
    assert "⚠ unsupported sentence 2" in out and "below answer.min_support" in out
    assert "warranty [1]. (⚠" not in out  # the supported sentence has no mark
    as_json = CliRunner().invoke(
        app, ["-C", str(root), "ask", QUESTION, "--tenant", "acme", "--json"]
    )
    assert [s["supported"] for s in json.loads(as_json.stdout)["sentences"]] == [True, False]


def test_cli_with_drop_leaves_the_sentence_out(
    model: FixedModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    root = tmp_path / "drop"
    root.mkdir()
    (root / "ragline.yaml").write_text(config(model.url, "drop"), encoding="utf-8")
    (root / "docs").mkdir()
    (root / "docs" / "warranty.md").write_text(
        "# Battery warranty\n\nThe battery warranty lasts 2 years from the date of delivery. "
        "A battery under 2 years old qualifies for replacement under the battery warranty.\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(app, ["-C", str(root), "ingest", str(root / "docs")]).exit_code == 0
    result = runner.invoke(app, ["-C", str(root), "ask", QUESTION, "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert "Penguins" not in answer["text"] and "2 years" in answer["text"]
    assert [s["supported"] for s in answer["sentences"]] == [True]
