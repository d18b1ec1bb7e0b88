"""``--executor``: the values accepted, and the clear one-line errors when Ray is not
installed or the head node's address answers nothing (no cluster is started here)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragline.batch import ExecutorSpec, parse_executor
from ragline.cli import app
from ragline.errors import ConfigError, RaglineError

from .helpers import open_project, write_corpus


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        (None, ExecutorSpec("local")),
        ("local", ExecutorSpec("local")),
        ("ray", ExecutorSpec("ray")),
        ("RAY", ExecutorSpec("ray")),
        ("ray://10.0.0.5:6379", ExecutorSpec("ray", "10.0.0.5:6379")),
        ("ray://head.internal:6380/", ExecutorSpec("ray", "head.internal:6380")),
    ],
)
def test_executor_values(text: str | None, spec: ExecutorSpec) -> None:
    assert parse_executor(text) == spec


@pytest.mark.parametrize("text", ["dask", "ray://", "ray://host", "ray://host:port", "ray:6379"])
def test_a_bad_executor_is_refused_naming_the_choices(text: str) -> None:
    with pytest.raises(ConfigError, match=r"unknown executor .*use local, ray, or ray://HOST:PORT"):
        parse_executor(text)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ingest(project: Path, corpus: Path, *extra: str) -> tuple[int, str]:
    """Exit code and output (a ragline error: its message, as ``main`` prints it)."""
    result = CliRunner().invoke(
        app, ["-C", str(project), "--embedder", "hash", "ingest", str(corpus), *extra]
    )
    error = result.exception
    if isinstance(error, RaglineError):
        return 1, f"error: {error}"
    return result.exit_code, result.output


def test_unreachable_head_is_one_line_naming_the_address_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    pytest.importorskip("ray", reason="needs pip install 'ragline[ray]'")
    corpus = write_corpus(tmp_path, n=3)
    port = _free_port()  # nothing listens here
    command = ["-C", str(tmp_path), "--embedder", "hash", "ingest", str(corpus)]
    proc = subprocess.run(
        [sys.executable, "-m", "ragline.cli", *command, "--executor", f"ray://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"error: cannot reach the Ray head node at 127.0.0.1:{port} (Connection refused)"
        f" — start it there with `ray start --head --port {port}`, or check the address"
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    with open_project(tmp_path) as project:
        assert project.store.list_documents("default") == []


def test_without_ray_installed_the_error_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path, n=2)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    with open_project(tmp_path) as project:
        project.ingest([corpus], root=tmp_path)  # the local executor needs no Ray
        before = sorted((d.id, d.content_hash) for d in project.store.list_documents("default"))
    (corpus / "doc00.md").write_text("# changed\n\nNew text here.\n", encoding="utf-8")
    code, output = _ingest(tmp_path, corpus, "--executor", "ray")
    assert code == 1
    assert "--executor ray needs Ray, which is not installed" in output
    assert "pip install 'ragline[ray]'" in output
    code, output = _ingest(tmp_path, corpus, "--executor", "local")
    assert code == 0, output
    with open_project(tmp_path) as project:  # the local run did the change, nothing lost
        after = sorted((d.id, d.content_hash) for d in project.store.list_documents("default"))
    assert [d for d, _ in after] == [d for d, _ in before]
    assert after != before


def test_help_and_local_ingest_never_import_ray(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from ragline.cli import app\n"
        "try:\n    app(['ingest', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('RAY', 'ray' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "RAY False" in out.stdout
    assert "--executor" in out.stdout and "--workers" in out.stdout
