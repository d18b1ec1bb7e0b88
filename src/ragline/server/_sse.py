"""Server-sent events: a streamed answer, event by event, that ends cleanly.

The answer stream (``Project.ask_stream``) is a blocking iterator; each ``next`` runs
in a worker thread. Frames are ``event: <type>`` + ``data: <json>``. A client that
disconnects cancels the response: the iterator is closed (which ends the model's HTTP
stream and marks the trace abandoned). Past ``request_timeout_s`` the stream ends
with an ``error`` event. The admission slot is held until the response is over.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ragline.errors import RaglineError

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


_DONE = object()


def _next(it: Iterator[Any]) -> Any:
    return next(it, _DONE)


def _error_frame(
    message: str, partial: str, retryable: bool, encode: Callable[[Any], bytes] | None
) -> bytes:
    """The ``error`` event (through ``encode`` when given, so every frame has its format)."""
    from ragline.answer import ErrorEvent

    event = ErrorEvent(message, partial, retryable)
    return encode(event) if encode is not None else frame(event.type, event.to_dict())


async def event_frames(
    events: Iterator[Any],
    *,
    timeout_s: float,
    on_event: Callable[[Any], None] | None = None,
    encode: Callable[[Any], bytes] | None = None,
) -> AsyncIterator[bytes]:
    """Frames for ``events`` (objects with ``type`` and ``to_dict()``), in order."""
    deadline = time.monotonic() + timeout_s
    partial: list[str] = []
    try:
        while True:
            if time.monotonic() > deadline:
                message = f"the answer took longer than {timeout_s:g} s"
                yield _error_frame(message, "".join(partial), True, encode)
                return
            try:
                event = await anyio.to_thread.run_sync(_next, events)
            except RaglineError as e:
                yield _error_frame(str(e), "".join(partial), False, encode)
                return
            if event is _DONE:
                return
            if on_event is not None:
                on_event(event)
            if getattr(event, "type", None) == "delta":
                partial.append(event.text)
            yield encode(event) if encode is not None else frame(event.type, event.to_dict())
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)


class ReleasingStream(StreamingResponse):
    """A streaming response that calls ``release`` when it is over, however it ends."""

    def __init__(self, content: AsyncIterator[bytes], release: Callable[[], None]) -> None:
        super().__init__(content, media_type="text/event-stream", headers=SSE_HEADERS)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
