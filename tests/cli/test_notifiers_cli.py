"""``ragline notifiers test|list``: a test notification through each configured
notifier, what happened per notifier, exit 1 when one failed; secrets never shown."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def _cli(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(root), "notifiers", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("notifiers-cli")
    (folder / "ragline.yaml").write_text(
        "embedder: hash\n"
        "monitor:\n"
        "  notifiers:\n"
        "    log: {type: file, path: alerts.jsonl}\n"
        f"    dead: {{type: webhook, url: '{_refused_url()}', retries: 1, backoff_initial_s: 0}}\n"
        "    chat: {type: slack, url_env: CHAT_URL, enabled: false}\n",
        encoding="utf-8",
    )
    return folder


def test_test_sends_to_each_and_fails_when_one_failed(root: Path) -> None:
    result = _cli(root, "test")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "log: sent"
    assert lines[1].startswith("dead: FAILED after 1 retry: notifier 'dead' (webhook, 127.0.0.1:")
    assert "could not connect" in lines[1] and len(lines) == 2  # chat is disabled
    (line,) = (root / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    sent = json.loads(line)
    assert sent["rule"] == "ragline-test" and sent["severity"] == "info"


def test_test_one_by_name_exits_0_when_it_worked(root: Path) -> None:
    result = _cli(root, "test", "log")
    assert (result.returncode, result.stdout) == (0, "log: sent\n")


def test_an_unknown_name_is_one_clear_line(root: Path) -> None:
    result = _cli(root, "test", "nope")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: no enabled notifier named nope (configured: log, dead) — see "
        "`ragline notifiers list`"
    )


def test_list_shows_where_each_sends_never_the_secret(root: Path) -> None:
    result = _cli(root, "list", "--json", env={"CHAT_URL": "https://hooks.example/T/B/SECRET"})
    rows = json.loads(result.stdout)
    assert [(r["name"], r["type"], r["enabled"]) for r in rows] == [
        ("log", "file", True),
        ("dead", "webhook", True),
        ("chat", "slack", False),
    ]
    assert rows[2]["target"] == "the URL in $CHAT_URL" and "SECRET" not in result.stdout


def test_a_missing_secret_names_the_notifier_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        "monitor:\n  notifiers:\n    pager: {type: pagerduty, routing_key_env: NO_PD_KEY_HERE}\n",
        encoding="utf-8",
    )
    result = _cli(tmp_path, "test")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "monitor.notifiers.pager.routing_key_env" in result.stderr
    assert "NO_PD_KEY_HERE is not set" in result.stderr
