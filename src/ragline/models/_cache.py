"""The response cache: ``CachedModel`` and its backends.

- The key is the sha256 of canonical JSON (sorted keys, no spaces) of the model
  name, the messages, the tools and the call options — so a different temperature,
  ``max_tokens`` or tool set is a different entry. Options that JSON cannot express
  are keyed by their ``repr``.
- Only finished answers are cached: ``finish_reason`` ``"stop"`` or ``"length"``.
  Errors, tool-call turns, filtered answers and streams the consumer abandoned are not.
- A hit returns the stored :class:`Completion` with ``cached=True``,
  ``latency_ms`` = the time the lookup took, and ``cost_usd=0.0`` (nothing was paid);
  ``usage`` keeps the original token counts.
- ``complete`` and ``stream`` share entries. A stream served from the cache is one
  text delta (the whole answer), then any tool calls, then the final delta with
  ``finish_reason`` and ``usage``.
- The cache is an optimisation: a backend error (a locked or closed store, an answer
  a table cannot encode) is logged and the call goes to (or returns) the model's answer.

Backends: :class:`MemoryResponseCache` (per process, LRU-bounded) here, and the
``response_cache`` table of the SQLite and PostgreSQL store backends (shared by every
process; expired rows are ignored on read and purged lazily on write), which a
project's ``Backend.response_cache`` gives. Each passes
``ragline.testing.ResponseCacheConformance``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any, Protocol, cast, runtime_checkable

from ragline._time import elapsed_ms
from ragline.errors import RaglineError
from ragline.models._base import (
    Completion,
    Delta,
    FinishReason,
    Messages,
    Model,
    ToolCall,
    Tools,
    Usage,
)
from ragline.models._stream import deltas_to_completion
from ragline.models._wrap import ModelWrapper

log = logging.getLogger("ragline.models")

CACHEABLE: frozenset[str] = frozenset({"stop", "length"})
CACHE_FORMAT = 1  # part of every key: bump it when the stored form changes
#: what a cache backend raises that must never fail the call (UnicodeError: an answer
#: with a lone surrogate, which SQLite and PostgreSQL cannot encode)
CACHE_ERRORS = (RaglineError, sqlite3.Error, UnicodeError)


def _canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr
    )


def cache_key(
    model: str,
    messages: Messages,
    tools: Tools = None,
    options: dict[str, Any] | None = None,
) -> str:
    """sha256 hex of the canonical JSON of (model, messages, tools, options)."""
    payload = {
        "v": CACHE_FORMAT,
        "model": model,
        "messages": [asdict(m) for m in messages],
        "tools": [asdict(t) for t in tools or ()],
        "options": options or {},
    }
    return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()


def completion_to_json(c: Completion) -> str:
    return _canonical(
        {
            "text": c.text,
            "model": c.model,
            "finish_reason": c.finish_reason,
            "tool_calls": [asdict(t) for t in c.tool_calls],
            "usage": asdict(c.usage),
            "cost_usd": c.cost_usd,
            "latency_ms": c.latency_ms,
        }
    )


def completion_from_json(text: str) -> Completion:
    d = json.loads(text)
    return Completion(
        text=d["text"],
        model=d["model"],
        finish_reason=cast(FinishReason, d["finish_reason"]),
        tool_calls=[ToolCall(**t) for t in d["tool_calls"]],
        usage=Usage(**d["usage"]),
        cost_usd=d["cost_usd"],
        latency_ms=d["latency_ms"],
    )


@runtime_checkable
class ResponseCache(Protocol):
    """Where :class:`CachedModel` keeps answers."""

    def get(self, key: str) -> Completion | None: ...

    def put(self, key: str, completion: Completion, *, ttl_s: float) -> None: ...


class MemoryResponseCache:
    """An in-process cache: at most ``max_entries`` (least recently used go first)."""

    def __init__(
        self, *, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max(1, max_entries)
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def get(self, key: str) -> Completion | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return completion_from_json(entry[1])

    def put(self, key: str, completion: Completion, *, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl_s, completion_to_json(completion))
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class CachedModel(ModelWrapper):
    """Serve repeated calls from ``cache`` for ``ttl_s`` seconds (0 = no caching)."""

    def __init__(self, inner: Model, cache: ResponseCache, *, ttl_s: float) -> None:
        super().__init__(inner)
        self.cache = cache
        self.ttl_s = ttl_s

    def key(self, messages: Messages, tools: Tools, options: dict[str, Any]) -> str:
        return cache_key(self.name, messages, tools, options)

    def _lookup(self, key: str) -> Completion | None:
        if self.ttl_s <= 0:
            return None
        try:
            return self.cache.get(key)
        except CACHE_ERRORS as e:
            log.warning("response cache lookup failed for %s: %s", self.name, e)
            return None

    def _store(self, key: str, completion: Completion) -> None:
        if self.ttl_s <= 0 or completion.finish_reason not in CACHEABLE:
            return
        try:
            self.cache.put(key, completion, ttl_s=self.ttl_s)
        except CACHE_ERRORS as e:
            log.warning("response cache write failed for %s: %s", self.name, e)

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        key = self.key(messages, tools, options)
        started = time.perf_counter()
        hit = self._lookup(key)
        if hit is not None:
            hit.cached = True
            hit.cost_usd = 0.0
            hit.latency_ms = elapsed_ms(started)
            return hit
        result = self.inner.complete(messages, tools=tools, **options)
        self._store(key, result)
        return result

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        key = self.key(messages, tools, options)
        hit = self._lookup(key)
        if hit is not None:
            if hit.text:
                yield Delta(text=hit.text)
            for call in hit.tool_calls:
                yield Delta(tool_call=call)
            yield Delta(finish_reason=hit.finish_reason, usage=hit.usage)
            return
        started = time.perf_counter()
        seen: list[Delta] = []
        for delta in self.inner.stream(messages, tools=tools, **options):
            seen.append(delta)
            yield delta
        if any(d.finish_reason is not None for d in seen):  # else abandoned or cut off
            completion = deltas_to_completion(seen, model=self.name)
            completion.latency_ms = elapsed_ms(started)
            self._store(key, completion)
