"""Follow-up rewriting by a model (``chat.rewrite: llm``) against a real
OpenAI-compatible server on loopback (tests/models/chat_server.py), through
``Project.chat``: the model's standalone question is asked; a server error falls back
to the offline rule, and the trace says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ragline
from ragline.errors import ConfigError
from ragline.testing import HashEmbedder, block_real_requests

from .chat_server import ChatServer

DOCS = {
    "battery.md": "# Battery warranty\n\nThe battery warranty lasts two years from delivery.\n",
    "frame.md": "# Frame warranty\n\nThe frame warranty lasts ten years from delivery.\n",
}


@pytest.fixture(scope="module")
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _loopback_allowed(_block_real_model_requests: None) -> Iterator[None]:
    with block_real_requests(False):  # a loopback server of the test's own
        yield


def make_project(root: Path, chat: str, models: str = "") -> ragline.Project:
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (root / "ragline.yaml").write_text(
        f"embedder: hash\nchat: {chat}\n" + (f"models:\n{models}" if models else ""),
        encoding="utf-8",
    )
    p = ragline.Project(root, embedder=HashEmbedder())
    p.ingest([docs])
    return p


def analysis(project: ragline.Project, trace_id: str | None) -> dict[str, object]:
    assert trace_id
    span = next(s for s in project.get_trace(trace_id) if s.name == "ragline.query_analysis")
    return dict(span.attributes)


def test_the_models_standalone_question_is_asked(tmp_path: Path, server: ChatServer) -> None:
    models = f"  openai:rewriter:\n    base_url: {server.url('rewrite')}\n"
    with make_project(tmp_path, "{rewrite: llm, rewrite_model: openai:rewriter}", models) as p:
        first = p.chat(None, "How long is the battery warranty?")
        assert first.answer.question == "How long is the battery warranty?"  # no history
        before = len(server.requests)
        follow = p.chat(first.conversation_id, "And the frame?")
        assert follow.answer.question == "How long is the frame warranty?"  # label, quotes gone
        assert "ten years" in follow.answer.text
        fault, body = server.requests[before]
        assert fault == "rewrite" and len(server.requests) == before + 1  # one short call
        prompt = str(body["messages"][-1]["content"])
        assert "How long is the battery warranty?" in prompt and "And the frame?" in prompt
        attributes = analysis(p, follow.answer.trace_id)
        assert attributes["ragline.rewrite.method"] == "llm"
        assert "ragline.rewrite.fallback" not in attributes


def test_a_failing_rewriter_falls_back_to_the_rule_and_says_why(
    tmp_path: Path, server: ChatServer
) -> None:
    models = f"  openai:rewriter:\n    base_url: {server.url('error500')}\n    max_retries: 0\n"
    with make_project(tmp_path, "{rewrite: llm, rewrite_model: openai:rewriter}", models) as p:
        first = p.chat(None, "What is the warranty for the frame?")
        follow = p.chat(first.conversation_id, "And the battery?")
        # the rule's rewrite, not a failed ask
        assert follow.answer.question == "What is the warranty for the battery?"
        assert "two years" in follow.answer.text
        attributes = analysis(p, follow.answer.trace_id)
        assert attributes["ragline.rewrite.method"] == "rule"
        assert "injected error500" in str(attributes["ragline.rewrite.fallback"])
        assert len(p.conversations.turns("default", first.conversation_id)) == 4  # all kept


def test_llm_rewrites_without_a_language_model_are_a_config_error(tmp_path: Path) -> None:
    with make_project(tmp_path, "{rewrite: llm}") as p:  # the answer model: extractive
        with pytest.raises(ConfigError, match=r"chat\.rewrite: llm needs a language model") as e:
            p.chat(None, "How long is the battery warranty?")
        assert "chat.rewrite_model" in str(e.value.hint)
        assert p.conversations.list_conversations("default") == []  # nothing half-stored
