"""An OpenAI-compatible chat server on loopback that plays a support agent's policy.

Its one rule, deterministic so tests can assert on it: when the conversation has no
tool result yet it asks for ``search_knowledge_base`` with the user's last message
(and ``calculator`` too when the message holds "percent"); once it has results it
answers "<first hit's first sentence> [n]." with the first hit's citation number.
Streamed requests get the tool call as OpenAI-style fragments and the answer word by
word; ``requests`` records every request body.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def policy(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    messages = body.get("messages") or []
    results = [m for m in messages if m.get("role") == "tool"]
    if not results:
        user = next(m["content"] for m in reversed(messages) if m.get("role") == "user")
        calls = [{"name": "search_knowledge_base", "arguments": {"query": user}}]
        if "percent" in user:
            calls.append({"name": "calculator", "arguments": {"expression": "249 / 2490 * 100"}})
        return "", calls
    for m in results:
        hits = json.loads(m["content"]).get("hits") or []
        if hits:
            first = " ".join(hits[0]["text"].split()).split(". ")[0].strip().rstrip(".")
            return f"{first} [{hits[0]['n']}].", []
    return "I found nothing about that.", []


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


class ToolServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> ToolServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ToolServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append(body)
        text, calls = policy(body)
        wire_calls = [
            {
                "id": f"call_{len(self.server.requests)}_{i}",
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for i, c in enumerate(calls)
        ]
        finish = "tool_calls" if calls else "stop"
        usage = {"prompt_tokens": 40, "completion_tokens": 10, "total_tokens": 50}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if wire_calls:
                message["tool_calls"] = wire_calls
            data = json.dumps(
                {
                    "id": "chatcmpl-tools",
                    "object": "chat.completion",
                    "model": "tools",
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            return _sse(
                {
                    "id": "chatcmpl-tools",
                    "object": "chat.completion.chunk",
                    "model": "tools",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                }
            )

        for i, call in enumerate(wire_calls):  # name first, then the arguments in two pieces
            args = call["function"]["arguments"]
            head = {"index": i, "id": call["id"], "type": "function"}
            self.wfile.write(
                chunk(
                    {
                        "tool_calls": [
                            {
                                **head,
                                "function": {
                                    "name": call["function"]["name"],
                                    "arguments": args[:5],
                                },
                            }
                        ]
                    }
                )
            )
            self.wfile.write(
                chunk({"tool_calls": [{"index": i, "function": {"arguments": args[5:]}}]})
            )
        for word in text.split(" ") if text else []:
            self.wfile.write(chunk({"content": word + " "}))
        self.wfile.write(chunk({}, finish))
        self.wfile.write(_sse({"choices": [], "usage": usage}))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
