"""The file sink: one JSON line per notification, appended (``-``: standard output)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ragline.errors import NotifyError
from ragline.monitor import FileNotifier, Notifier
from ragline.testing import NotifierConformance, sample_notification


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


class TestFileConformance(NotifierConformance):
    @pytest.fixture
    def notifier(self, tmp_path: Path) -> Notifier:
        return FileNotifier("log", tmp_path / "alerts.jsonl")

    @pytest.fixture
    def deliveries(self, tmp_path: Path) -> Callable[[], int]:
        return lambda: len(_lines(tmp_path / "alerts.jsonl"))

    @pytest.fixture
    def broken_notifier(self, tmp_path: Path) -> Notifier:
        return FileNotifier("log", tmp_path / "no-such-folder" / "alerts.jsonl")


def test_each_line_is_the_notification_and_earlier_lines_stay(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"kept": true}\n', encoding="utf-8")
    sink = FileNotifier("log", path)
    sink.send(sample_notification("firing"))
    sink.send(sample_notification("resolved", summary="résolu"))
    first, firing, resolved = (json.loads(line) for line in _lines(path))
    assert first == {"kept": True}
    assert firing == sample_notification("firing").to_dict()
    assert resolved["state"] == "resolved" and resolved["summary"] == "résolu"
    assert "résolu" in path.read_text(encoding="utf-8")  # UTF-8, not \\u escapes


def test_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    FileNotifier("out", None).send(sample_notification())
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["rule"] == "p95-latency"


def test_an_unwritable_path_names_it(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "a.jsonl"
    with pytest.raises(NotifyError, match=r"cannot append to .*missing/a\.jsonl"):
        FileNotifier("log", target).send(sample_notification())
    assert not target.parent.exists()
