"""Request limits: body size, per-tenant rate limits, and a concurrency cap that sheds load.

* :class:`BodyLimit` (ASGI middleware) answers 413 before reading a body that is too
  large, including chunked uploads that grow past the limit.
* :class:`RateLimiter` is a token bucket per tenant: ``n`` requests per minute, bursts
  up to ``n``; beyond, 429 with ``Retry-After``. The buckets are the backend's
  (:class:`~ragline.store.RateLimits`): shared by every replica on PostgreSQL.
* :class:`Admission` lets ``max_concurrency`` requests work at once and ``max_queue``
  wait; the next one gets 503 at once instead of joining an unbounded queue. Work runs
  in a worker thread; a request past ``request_timeout_s`` gets 504, and its slot is
  held until the thread really finishes, so timeouts cannot pile up hidden work.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragline.server._errors import ApiError, error_body
from ragline.store._limits import MemoryRateLimits, RateLimits

T = TypeVar("T")


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            error_body(
                "payload_too_large",
                f"the request body is larger than {self.max_bytes} bytes",
                hint="send a smaller body or raise server.max_body_bytes",
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
                break
        if length is not None:
            if length > self.max_bytes:
                await self._reject(send)
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        # no Content-Length (chunked): read up to the limit, then replay
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        replay: list[Message] = [
            {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        ]

        async def replay_receive() -> Message:
            if replay:
                return replay.pop()
            return await receive()

        await self.app(scope, replay_receive, send)


class RateLimiter:
    """A tenant's requests per minute, counted in the backend's buckets (one per
    tenant): this process's own on SQLite, every replica's together on PostgreSQL."""

    def __init__(
        self, buckets: RateLimits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.buckets = buckets if buckets is not None else MemoryRateLimits(clock)

    def check(self, tenant: str, per_minute: int | None) -> None:
        """Take one token or raise 429 with ``Retry-After`` seconds."""
        if per_minute is None:
            return
        wait = self.buckets.take(tenant, "requests", per_minute)
        if wait <= 0:
            return
        retry = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"rate limit of {per_minute} requests per minute reached",
            hint=f"retry after {retry} s",
            headers={"Retry-After": str(retry)},
        )


class Admission:
    """At most ``max_running`` requests work; ``max_queue`` wait; the rest get 503."""

    def __init__(self, max_running: int, max_queue: int) -> None:
        self.max_running = max_running
        self.max_queue = max_queue
        self.running = 0
        self.waiting = 0
        self.shed = 0
        self._sem: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.max_running)
        return self._sem

    async def enter(self) -> None:
        sem = self._semaphore()
        if self.running >= self.max_running and self.waiting >= self.max_queue:
            self.shed += 1
            raise ApiError(
                503,
                "overloaded",
                "the server is at capacity",
                hint="retry shortly",
                headers={"Retry-After": "1"},
            )
        self.waiting += 1
        try:
            await sem.acquire()
        finally:
            self.waiting -= 1
        self.running += 1

    def leave(self) -> None:
        self.running -= 1
        self._semaphore().release()

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        """Run ``fn(*args)`` in a worker thread inside a slot; 504 after ``timeout``."""
        await self.enter()
        try:
            fut = asyncio.ensure_future(anyio.to_thread.run_sync(functools.partial(fn, *args)))
        except BaseException:
            self.leave()
            raise
        fut.add_done_callback(lambda _f: self.leave())
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            fut.add_done_callback(_consume)
            raise ApiError(
                504,
                "timeout",
                f"the request took longer than {timeout:g} s",
                hint="ask a narrower question or raise server.request_timeout_s",
            ) from None
        except asyncio.CancelledError:
            fut.add_done_callback(_consume)  # client gone: the thread finishes, slot freed then
            raise


def _consume(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()  # retrieve it so asyncio does not log "never retrieved"
