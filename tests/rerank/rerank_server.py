"""A tiny rerank server on 127.0.0.1 for tests, in the shapes real ones answer.

The first path segment picks the behaviour: ``http://127.0.0.1:PORT/<mode>/rerank``
(or ``/<mode>/v1/rerank``). It scores a document by how many of the query's words it
contains (so the tests can tell a reordering from none). Modes: cohere
(``{"results": [{"index", "relevance_score"}]}``, best first, as Cohere, Jina, vLLM
and llama.cpp answer), tei (a bare ``[{"index", "score"}]``, as TEI answers; it reads
``texts``), short (one score fewer than documents), stall (answers after 2 s),
error500, badjson, wrongindex. Every request body is kept in ``requests``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def word_score(query: str, document: str) -> float:
    words = {w.strip("?.,").lower() for w in query.split()}
    return float(sum(1 for w in document.split() if w.strip("?.,").lower() in words))


class RerankServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.stop_stalling = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> RerankServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stop_stalling.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: RerankServer

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # the client may have given up (a timeout)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_POST(self) -> None:
        mode = self.path.strip("/").split("/")[0]
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        self.server.requests.append((self.path, body))
        docs = body["texts"] if mode == "tei" else body["documents"]
        scored = sorted(
            ((i, word_score(body["query"], d)) for i, d in enumerate(docs)), key=lambda p: -p[1]
        )[: body.get("top_n") or len(docs)]
        if mode == "stall":
            self.server.stop_stalling.wait(2.0)
        if mode == "error500":
            return self._send(500, b'{"error": "model not loaded"}')
        if mode == "badjson":
            return self._send(200, b'{"results": [{"index": 0, "relevance')
        if mode == "short":
            scored = scored[:-1]
        if mode == "wrongindex":
            scored = [(i + 100, s) for i, s in scored]
        if mode == "tei":
            out: Any = [{"index": i, "score": s} for i, s in scored]
        else:
            out = {"results": [{"index": i, "relevance_score": s} for i, s in scored]}
        time.sleep(0)
        return self._send(200, json.dumps(out).encode())
