"""A slow OpenAI-compatible chat server on loopback that notices disconnects.

``http://127.0.0.1:PORT/slow-<chunks>-<ms>/v1`` streams ``<chunks>`` content chunks
``<ms>`` milliseconds apart (non-streaming requests sleep as long, then answer).
Each request is recorded: how many chunks were written and whether the client went
away before the end (a failed write).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Record:
    stream: bool
    chunks_planned: int
    chunks_written: int = 0
    disconnected: bool = False
    finished: bool = False


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-slow",
        "object": "chat.completion.chunk",
        "model": "slow",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class SlowModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.records: list[Record] = []
        self.lock = threading.Lock()

    def url(self, chunks: int, ms: int) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/slow-{chunks}-{ms}/v1"

    def __enter__(self) -> SlowModelServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: SlowModelServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        _, n, ms = self.path.strip("/").split("/")[0].split("-")
        chunks, delay = int(n), int(ms) / 1000.0
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        rec = Record(stream=bool(body.get("stream")), chunks_planned=chunks)
        with self.server.lock:
            self.server.records.append(rec)
        words = [f" word{i}" for i in range(chunks)]
        if not rec.stream:
            time.sleep(chunks * delay)
            reply = {
                "id": "chatcmpl-slow",
                "object": "chat.completion",
                "model": "slow",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(words) + " [1]."},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": chunks, "total_tokens": 10},
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            rec.chunks_written = chunks
            rec.finished = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for word in words:
                self.wfile.write(_chunk(word))
                self.wfile.flush()
                rec.chunks_written += 1
                time.sleep(delay)
            self.wfile.write(_chunk(" [1].") + _chunk(finish="stop") + b"data: [DONE]\n\n")
            self.wfile.flush()
            rec.finished = True
        except (BrokenPipeError, ConnectionResetError):
            rec.disconnected = True
