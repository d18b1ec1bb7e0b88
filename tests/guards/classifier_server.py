"""A tiny HTTP classifier on 127.0.0.1 for tests (the ``guards.http`` contract), with
injectable faults.

The path picks the behaviour: ``/score`` scores a text 0.97 when it tells the model to
ignore its instructions (label ``jailbreak``, reasons ``[override]``) and 0.02
otherwise; ``/label`` the same with a label only; ``/error500``, ``/badjson`` (a 200
that is not JSON), ``/noscore`` (JSON without a score), ``/badscore`` (a score of 7),
``/slow`` (answers after ``slow_s``, unless the server stops first).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ATTACK_MARK = "ignore all previous instructions"


class ClassifierServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, slow_s: float = 5.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.slow_s = slow_s
        self.stop = threading.Event()
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    def url(self, behaviour: str = "score") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{behaviour}"

    def __enter__(self) -> ClassifierServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ClassifierServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        behaviour = self.path.strip("/").split("/")[0]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append((behaviour, dict(self.headers), body))
        attack = ATTACK_MARK in str(body.get("text", "")).lower()
        if behaviour == "error500":
            self._send(500, b'{"error": "model not loaded"}')
        elif behaviour == "badjson":
            self._send(200, b"<html>not json", "text/html")
        elif behaviour == "noscore":
            self._send(200, json.dumps({"label": "jailbreak"}).encode())
        elif behaviour == "badscore":
            self._send(200, json.dumps({"score": 7}).encode())
        elif behaviour == "slow":
            if not self.server.stop.wait(self.server.slow_s):
                self._send(200, json.dumps({"score": 0.0}).encode())
        elif behaviour == "label":
            reply = {"score": 0.97, "label": "Jail Break"} if attack else {"score": 0.02}
            self._send(200, json.dumps(reply).encode())
        else:
            reply: dict[str, Any] = {"score": 0.02, "label": "benign"}
            if attack:
                reply = {"score": 0.97, "label": "jailbreak", "reasons": ["override"]}
            self._send(200, json.dumps(reply).encode())
