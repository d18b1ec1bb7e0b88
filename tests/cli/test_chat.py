"""`ragline chat`: a conversation in the terminal, offline, stored like /v1/chat's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ragline
from ragline.testing import HashEmbedder

DOCS = {
    "battery.md": "# Battery warranty\n\nThe battery warranty lasts two years from delivery.\n",
    "frame.md": "# Frame warranty\n\nThe frame warranty lasts ten years from delivery.\n",
    "returns.md": "# Returns\n\nYou can return a bike within 30 days of delivery.\n",
}


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chat")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (root / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    with ragline.Project(root, embedder=HashEmbedder()) as p:
        p.ingest([docs])
    return root


def chat(kb: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(kb), "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )


def conversation_id(stderr: str) -> str:
    line = next(x for x in stderr.splitlines() if x.startswith("conversation "))
    return line.split()[1]


def test_a_conversation_from_stdin_answers_a_follow_up_with_its_topic(kb: Path) -> None:
    r = chat(kb, stdin="How long is the battery warranty?\nAnd the frame?\n")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "you> How long is the battery warranty?" in lines
    assert "you> And the frame?" in lines
    replies = [x for x in lines if x.startswith("ragline> ")]
    assert len(replies) == 2
    assert "two years" in replies[0] and "[1]" in replies[0]
    assert "ten years" in replies[1]
    assert "References" in r.stdout and "ragline traces show" in r.stdout
    cid = conversation_id(r.stderr)
    with ragline.Project(kb, embedder=HashEmbedder()) as p:
        turns = p.conversations.turns("default", cid)
        assert [t.role for t in turns] == ["user", "assistant", "user", "assistant"]
        assert turns[2].content == "And the frame?" and turns[3].trace_id
        root = next(s for s in p.get_trace(turns[3].trace_id) if s.parent_id is None)
        # the follow-up was asked with the conversation's topic, its own topic kept
        assert root.attributes["ragline.question"] == "How long is the frame warranty?"


def test_carrying_on_a_conversation_and_starting_a_new_one(kb: Path) -> None:
    first = chat(kb, "How long is the battery warranty?")
    assert first.returncode == 0, first.stderr
    cid = conversation_id(first.stderr)
    again = chat(kb, "-c", cid, "And the frame?")
    assert again.returncode == 0, again.stderr
    assert "ten years" in again.stdout
    assert "conversation " not in again.stderr  # no new conversation was started
    r = chat(kb, "-c", cid, stdin="/new\nHow do I return a bike?\n/quit\nignored\n")
    assert r.returncode == 0, r.stderr
    assert "30 days" in r.stdout and "ignored" not in r.stdout
    assert conversation_id(r.stderr) != cid
    with ragline.Project(kb, embedder=HashEmbedder()) as p:
        assert len(p.conversations.turns("default", cid)) == 4


def test_json_replies(kb: Path) -> None:
    r = chat(kb, "--json", "How long is the battery warranty?")
    assert r.returncode == 0, r.stderr
    reply = json.loads(r.stdout[r.stdout.index("{") :])
    assert reply["turn"] == 1 and reply["conversation_id"]
    assert "two years" in reply["answer"]["text"] and reply["answer"]["references"]


def test_a_bad_message_is_one_error_line_and_the_chat_goes_on(kb: Path) -> None:
    long = "x" * 5000
    r = chat(kb, stdin=f"{long}\nHow do I return a bike?\n")
    assert r.returncode == 1
    errors = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert errors == [
        "error: message: longer than 4000 characters (5000) — shorten it or raise "
        "server.max_question_chars"
    ]
    assert "Traceback" not in r.stderr
    assert "30 days" in r.stdout  # the next message was answered
    cid = conversation_id(r.stderr)
    with ragline.Project(kb, embedder=HashEmbedder()) as p:
        contents = [t.content for t in p.conversations.turns("default", cid)]
        assert long not in contents  # the rejected message was not stored


def test_an_unknown_conversation_is_one_clear_line(kb: Path) -> None:
    r = chat(kb, "-c", "no-such-conversation", "hello")
    assert r.returncode == 1
    assert r.stderr.strip().startswith("error: no conversation 'no-such-conversation'")
    assert "Traceback" not in r.stderr


def test_ask_applies_the_same_question_checks(kb: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(kb), "ask", "x" * 5000],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 1
    assert r.stderr.startswith("error: question: longer than 4000 characters (5000)")
