"""``--executor ray://HOST:PORT`` against a Ray head node the test starts itself
(``ray start --head --block`` on a loopback port, 2 CPUs), as a user runs a cluster:
the CLI's ingest report is the local executor's. (Evaluation on Ray, and the results
in the store, are tested on an in-process Ray in ``test_ray.py``.)

The head is stopped by ending the ``ray start --block`` process this test started
(never ``ray stop``, which would stop every Ray on the machine).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import write_corpus

pytest.importorskip("ray", reason="the Ray executor tests need pip install 'ragline[ray]'")
pytestmark = pytest.mark.slow


# a loopback-only cluster of this test's own: no token (the machine's ~/.ray/auth_token
# is shared with every other Ray started here, and may be rewritten meanwhile)
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def head() -> Iterator[str]:
    port = _free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    options = [
        f"--port={port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]
    proc = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", "--node-ip-address=127.0.0.1", *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, "ray start --head exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()  # the --block process stops the cluster it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # the head wrote this machine's "current cluster" for `ray.init()` to find; it is
        # gone now, so a later `--executor ray` must not try to join it
        current = Path(tempfile.gettempdir(), "ray", "ray_current_cluster")
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def _cli(project: Path, *args: str) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(project), "--embedder", "hash", *args],
        cwd=project,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_cli_ingest_on_a_head_node_matches_local(head: str, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path, n=8)
    reports = {}
    for name, executor in (("local", "local"), ("ray", f"ray://{head}")):
        project = tmp_path / name
        project.mkdir()
        (project / "corpus").symlink_to(corpus)  # the same document ids in both
        report = _cli(project, "ingest", "corpus", "--executor", executor, "--json")
        for timing in ("elapsed_s", "chunks_per_s"):
            report.pop(timing)
        reports[name] = report
    assert reports["ray"] == reports["local"]
    statuses = {f["status"] for f in reports["ray"]["files"]}
    assert statuses == {"added", "failed"}  # empty.md fails, as it does locally
