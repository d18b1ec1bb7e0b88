"""``ServerProcess``: ``ragline serve`` as a real process on a free loopback port.

>>> with ServerProcess(project_dir, env={"ACME_KEYS": "k1"}) as server:   # doctest: +SKIP
...     httpx.post(server.url + "/v1/ask", json={...}, headers=server.auth("k1"))

It starts ``python -m ragline.cli -C DIR serve``, waits for ``/readyz``, and on exit
sends SIGTERM (a graceful shutdown) and waits for the process; the server's output is
kept in ``server.output()`` for failing tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    def __init__(
        self,
        project_dir: str | os.PathLike[str],
        *,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        port: int | None = None,
        host: str = "127.0.0.1",
        start_timeout_s: float = 60.0,
        command: Sequence[str] = ("serve",),
        ready_path: str = "/readyz",
        ready_status: int | None = 200,
    ) -> None:
        self.project_dir = Path(project_dir)
        self.env = dict(env or {})
        self.args = list(args)
        self.port = port or free_port()
        self.host = host  # where it listens; ``url`` is its loopback address either way
        self.start_timeout_s = start_timeout_s
        # another ragline server command (``("mcp", "--http")``) and what says it is up:
        # ``ready_path`` answering ``ready_status`` (``None``: any HTTP answer)
        self.command = list(command)
        self.ready_path = ready_path
        self.ready_status = ready_status
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def start(self) -> ServerProcess:
        import httpx

        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        cmd = [sys.executable, "-m", "ragline.cli", "-C", str(self.project_dir), *self.command]
        cmd += ["--port", str(self.port), "--host", self.host, *self.args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"ragline {self.command[0]} exited with {self.proc.returncode}:\n"
                    f"{self.output()}"
                )
            try:
                status = httpx.get(self.url + self.ready_path, timeout=1.0).status_code
                if self.ready_status in (None, status):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(
            f"ragline serve was not ready in {self.start_timeout_s} s:\n{self.output()}"
        )

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (graceful: in-flight requests finish, traces are flushed); the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        try:
            self.terminate()
        finally:
            self.kill()
