"""The README's curl lines, run as written with the real curl against a real server.

The block under "### HTTP server" is read from README.md; each `curl` command (with its
continuation lines) runs in bash with ``$KEY`` set to a key made by ``ragline keys
create`` and ``localhost:8000`` pointed at the test server. And what curl does when the
Content-Type line is left out: one 415 that names the header to send.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ragline.testing import ServerProcess

from ._kb import KEYS_ENV, REPO, make_project

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def readme_curl_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### HTTP server") :]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "no bash block under ### HTTP server"
    commands, current = [], ""
    for line in block.group(1).splitlines():
        code = re.sub(r"\s+#[^'\"]*$", "", line).strip()  # a trailing comment
        current = f"{current} {code}".strip()
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        if current.startswith("curl "):
            commands.append(current)
        current = ""
    return commands


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    root = make_project(tmp_path_factory.mktemp("readme-curl"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGLINE_")}
    create = ["keys", "create", "--tenant", "acme", "--name", "web"]
    made = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(root), *create],
        capture_output=True,
        text=True,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    with ServerProcess(root, env=KEYS_ENV) as proc:
        yield proc, made.stdout.strip()


def _curl(served: tuple[ServerProcess, str], command: str) -> str:
    proc, key = served
    command = command.replace("localhost:8000", f"127.0.0.1:{proc.port}")
    out = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        env={**os.environ, "KEY": key},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_readme_has_a_plain_and_a_streaming_ask() -> None:
    commands = readme_curl_commands()
    assert len(commands) == 2, commands
    assert all("/v1/ask" in c and "Content-Type: application/json" in c for c in commands)


def test_the_readme_ask_line_answers_with_citations(served: tuple[ServerProcess, str]) -> None:
    plain = next(c for c in readme_curl_commands() if '"stream"' not in c)
    answer = json.loads(_curl(served, plain))
    assert "battery warranty" in answer["text"].lower() and "[1]" in answer["text"]
    assert answer["references"] and answer["trace_id"]


def test_the_readme_stream_line_streams_events(served: tuple[ServerProcess, str]) -> None:
    stream = next(c for c in readme_curl_commands() if '"stream"' in c)
    events = re.findall(r"^event: (\w+)", _curl(served, stream), re.M)
    assert events[0] == "retrieval" and "delta" in events and events[-1] == "done", events


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("", "not application/x-www-form-urlencoded"),  # what curl -d sends by default
        ("-H 'Content-Type:'", "no Content-Type header"),  # curl drops the header
        ("-H 'Content-Type: text/plain'", "not text/plain"),
    ],
)
def test_a_json_body_without_its_content_type_is_one_clear_415(
    served: tuple[ServerProcess, str], header: str, says: str
) -> None:
    plain = next(c for c in readme_curl_commands() if '"stream"' not in c)
    command = plain.replace('-H "Content-Type: application/json"', header)
    command = command.replace("curl -s ", "curl -s -w '\\n%{http_code}' ")
    body, status = _curl(served, command).rsplit("\n", 1)
    assert status == "415", body
    error = json.loads(body)["error"]
    assert error["type"] == "unsupported_media_type" and says in error["message"]
    assert "Content-Type: application/json" in error["hint"]
