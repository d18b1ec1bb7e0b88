"""A real HTTP receiver on loopback for the notifier tests (a threading HTTP server).

Paths choose the behaviour: ``/ok/...`` answers 200 (``/ok/pd/...`` 202 like PagerDuty),
``/flaky/KEY`` answers 500 the first time per KEY and 200 after, ``/status/N/...``
answers N, ``/hang/...`` holds the request until :meth:`Receiver.release` (or 30 s).
Every request is recorded (path, headers, JSON body) before it is answered.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._flaky: set[str] = set()
        self.hanging = threading.Event()  # set when a /hang request arrived
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            json.loads(raw) if raw else None,
                        )
                    )
                status = receiver._status(self.path)
                if self.path.startswith("/hang"):
                    receiver.hanging.set()
                    receiver._release.wait(30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"ok" if status < 400 else b"receiver says no")
                except OSError:  # the client gave up (timed out) first
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _status(self, path: str) -> int:
        if path.startswith("/flaky/"):
            with self._lock:
                first = path not in self._flaky
                self._flaky.add(path)
            return 500 if first else 200
        if path.startswith("/status/"):
            return int(path.split("/")[2])
        if path.startswith("/ok/pd"):
            return 202
        return 200

    def to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def hold(self) -> None:
        """From now on ``/hang`` requests wait until :meth:`release`."""
        self._release.clear()
        self.hanging.clear()

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


def refused_url() -> str:
    """A loopback URL nothing listens on (the port was just free)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/refused"
