"""What the seed-incident tests run on loopback besides ``ragline serve``.

- :class:`HookReceiver`: a JSON webhook receiver (a threading HTTP server) that keeps
  every notification it is POSTed, with the time it arrived;
- :class:`MailSink`: a real SMTP server (aiosmtpd) that keeps every message;
- :class:`TunableModel`: an OpenAI-compatible chat server whose answer takes
  ``delay_s`` seconds; a test makes it slow and fast again while the server runs.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Hooked:
    at: float
    body: dict[str, Any]


class HookReceiver:
    def __init__(self) -> None:
        self.received: list[Hooked] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer._lock:
                    outer.received.append(Hooked(time.time(), json.loads(raw)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, rule: str, state: str | None = None) -> list[Hooked]:
        with self._lock:
            return [
                h
                for h in self.received
                if h.body.get("rule") == rule and state in (None, h.body.get("state"))
            ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Mailed:
    at: float
    message: EmailMessage


class MailSink:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.mails: list[Mailed] = []
        self._lock = threading.Lock()
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = message_from_bytes(envelope.original_content, policy=policy.default)
                with outer._lock:
                    outer.mails.append(Mailed(time.time(), msg))  # type: ignore[arg-type]
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def of(self, rule: str, state: str) -> list[Mailed]:
        """Messages whose subject is ``[STATE] rule (...``."""
        prefix = f"[{state.upper()}] {rule} ("
        with self._lock:
            return [m for m in self.mails if str(m.message["Subject"]).startswith(prefix)]

    def close(self) -> None:
        self._controller.stop()


class TunableModel(ThreadingHTTPServer):
    """``/v1/chat/completions`` answering "... [1]." after ``delay_s`` seconds."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ModelHandler)
        self.delay_s = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> TunableModel:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


REPLY = "See the cited document for the answer [1]."


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-tunable",
        "object": "chat.completion.chunk",
        "model": "tunable",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class _ModelHandler(BaseHTTPRequestHandler):
    server: TunableModel

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        time.sleep(self.server.delay_s)
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(_chunk(REPLY) + _chunk(finish="stop") + b"data: [DONE]\n\n")
            self.wfile.flush()
            return
        data = json.dumps(
            {
                "id": "chatcmpl-tunable",
                "object": "chat.completion",
                "model": "tunable",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": REPLY},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
