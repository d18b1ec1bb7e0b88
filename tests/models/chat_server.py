"""A tiny OpenAI-compatible chat server on 127.0.0.1 for tests, with injectable faults.

The first path segment picks the behaviour: ``http://127.0.0.1:PORT/<fault>/v1``.
ok, stall (one chunk, then silence), drop (one chunk, then the socket closes),
drop-chunked (the same inside a chunked body), ratelimit (429 + Retry-After),
error500, malformed (truncated JSON), html (an HTML 502 page), empty (an empty stream).
llamaguard answers like a Llama Guard model: ``unsafe`` and ``S15`` when the prompt
holds "ignore all previous instructions", ``safe`` otherwise; judge-garbled answers
neither; rewrite answers like a follow-up rewriter (a labelled, quoted question).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = ["Paris", " is the capital", " [1]."]


def chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-local",
        "object": "chat.completion.chunk",
        "model": "local-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


USAGE = (
    b'data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}\n\n'
)


class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stop = threading.Event()
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def url(self, fault: str = "ok") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{fault}/v1"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, kind: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _sse_head(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def do_POST(self) -> None:
        fault = self.path.strip("/").split("/")[0]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append((fault, body))
        stream = bool(body.get("stream"))
        error = {"error": {"message": f"injected {fault}", "type": "server_error"}}
        if fault == "ratelimit":
            self._send(429, json.dumps(error).encode(), "application/json", Retry_After="3")
        elif fault == "error500":
            self._send(500, json.dumps(error).encode(), "application/json")
        elif fault == "malformed":
            self._send(200, b'{"id": "x", "choices": [{"mess', "application/json")
        elif fault == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            self._send(502, page, "text/html")
        elif fault == "empty":
            self._sse_head()
        elif not stream:
            content = "".join(ANSWER)
            if fault in ("llamaguard", "judge-garbled"):
                prompt = str(body["messages"][-1]["content"]).lower()
                attack = "ignore all previous instructions" in prompt
                content = "unsafe\nS15" if attack else "safe"
                if fault == "judge-garbled":
                    content = "I am not able to assess this conversation."
            if fault == "rewrite":  # a follow-up rewriter: the standalone question
                content = 'Standalone question: "How long is the frame warranty?"'
            reply = {
                "id": "chatcmpl-local",
                "object": "chat.completion",
                "model": "local-model",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
            }
            self._send(200, json.dumps(reply).encode(), "application/json")
        elif fault == "drop-chunked":
            self.protocol_version = "HTTP/1.1"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            data = chunk(ANSWER[0])
            self._write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.close_connection = True  # no terminating 0-length chunk
        else:
            self._sse_head()
            self._write(chunk(ANSWER[0]))
            if fault == "stall":
                self.server.stop.wait(5)
                return
            if fault == "drop":
                return  # the connection closes without finish_reason or [DONE]
            for piece in ANSWER[1:]:
                self._write(chunk(piece))
            self._write(chunk(finish="stop") + USAGE + b"data: [DONE]\n\n")
