"""The tracer: nested spans kept in a context variable, handed to a sink when they end.

>>> tracer = Tracer(sink=collected.append)                # doctest: +SKIP
>>> with tracer.span("ragline.ask", "ask", tenant="acme") as root:   # doctest: +SKIP
...     with span("ragline.retrieve", "retrieval") as sp:   # a child of ``root``
...         sp.set("ragline.hits.count", 5)

- The current span lives in a :class:`contextvars.ContextVar`, so nesting follows the
  code (threads started with ``contextvars.copy_context().run`` keep their parent).
- :func:`span` (module level) opens a child of the current span and does nothing at
  all when no trace is active: library code is instrumented once and costs almost
  nothing when tracing is off.
- A span that ends is handed to the tracer's sink (normally the background
  :class:`~ragline.trace._writer.TraceWriter`), which never blocks and never raises.
  Content policy and truncation happen in the writer thread, off the request path.
- An exception leaving a span sets its status to ``error`` and adds an ``exception``
  event (OpenTelemetry names: ``exception.type``, ``exception.message``…).
- Generators: never keep a span *current* across a ``yield`` (an abandoned generator
  would leave it current in its caller). Use :meth:`Tracer.start_span` with an
  explicit parent and :func:`activate` around each step, or :func:`iterate_in`.
"""

from __future__ import annotations

import contextvars
import logging
import random
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ragline.store._traces import SpanEvent, SpanRecord, SpanStatus

if TYPE_CHECKING:
    from ragline.trace._writer import TraceStats

logger = logging.getLogger("ragline.trace")

T = TypeVar("T")
Sink = Callable[["Span"], None]

_CURRENT: contextvars.ContextVar[Span | None] = contextvars.ContextVar(
    "ragline_current_span", default=None
)
_rand = random.Random()


def new_trace_id() -> str:
    """32 lowercase hex characters, never all zeros."""
    return f"{_rand.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    """16 lowercase hex characters, never all zeros."""
    return f"{_rand.getrandbits(64) or 1:016x}"


class Span:
    """A span being recorded. ``set``/``event`` add to it; ``end`` finishes it once."""

    __slots__ = (
        "_p0",
        "_token",
        "_tracer",
        "attributes",
        "end_time",
        "events",
        "kind",
        "name",
        "parent_id",
        "span_id",
        "start",
        "status",
        "tenant",
        "trace_id",
    )

    is_recording = True

    def __init__(
        self,
        tracer: Tracer,
        name: str,
        kind: str,
        *,
        trace_id: str,
        parent_id: str | None,
        tenant: str,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self._tracer = tracer
        self.name = name
        self.kind = kind
        self.trace_id = trace_id
        self.span_id = new_span_id()
        self.parent_id = parent_id
        self.tenant = tenant
        self.attributes: dict[str, Any] = attributes if attributes is not None else {}
        self.events: list[SpanEvent] = []
        self.status: SpanStatus = "ok"
        self.start = time.time()
        self._p0 = time.perf_counter()
        self.end_time: float | None = None

    # -- recording -------------------------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        """Set one attribute (JSON values: str, int, float, bool, None, lists, dicts)."""
        self.attributes[key] = value

    def update(self, attributes: Mapping[str, Any]) -> None:
        self.attributes.update(attributes)

    def event(self, name: str, **attributes: Any) -> None:
        self.events.append(SpanEvent(name, time.time(), attributes))

    def set_status(self, status: SpanStatus, message: str | None = None) -> None:
        self.status = status
        if message:
            self.attributes["ragline.status_message"] = message

    def record_exception(self, exc: BaseException) -> None:
        """Status ``error`` plus an ``exception`` event with type, message and stack."""
        self.status = "error"
        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.events.append(
            SpanEvent(
                "exception",
                time.time(),
                {
                    "exception.type": type(exc).__qualname__,
                    "exception.message": str(exc),
                    "exception.stacktrace": stack[-4000:],
                },
            )
        )
        self.attributes.setdefault("error.type", type(exc).__qualname__)

    @property
    def ended(self) -> bool:
        return self.end_time is not None

    def end(self) -> None:
        """Finish the span and hand it to the sink. A second call does nothing."""
        if self.end_time is not None:
            return
        self.end_time = self.start + (time.perf_counter() - self._p0)
        self._tracer._emit(self)

    def to_record(self) -> SpanRecord:
        end = self.end_time if self.end_time is not None else self.start
        return SpanRecord(
            trace_id=self.trace_id,
            span_id=self.span_id,
            parent_id=self.parent_id,
            name=self.name,
            kind=self.kind,
            tenant=self.tenant,
            start=self.start,
            end=end,
            status=self.status,
            attributes=dict(self.attributes),
            events=tuple(self.events),
        )

    # -- context manager: current while inside ----------------------------------------

    def __enter__(self) -> Span:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _CURRENT.reset(self._token)
        if exc is not None:
            self.record_exception(exc)
        self.end()


class NoopSpan:
    """What :func:`span` gives when nothing is traced: every method does nothing."""

    __slots__ = ()

    is_recording = False
    trace_id = ""
    span_id = ""
    parent_id: str | None = None
    tenant = ""
    name = ""

    def set(self, key: str, value: Any) -> None:
        pass

    def update(self, attributes: Mapping[str, Any]) -> None:
        pass

    def event(self, name: str, **attributes: Any) -> None:
        pass

    def set_status(self, status: SpanStatus, message: str | None = None) -> None:
        pass

    def record_exception(self, exc: BaseException) -> None:
        pass

    def end(self) -> None:
        pass

    def __enter__(self) -> NoopSpan:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


NOOP_SPAN = NoopSpan()
AnySpan = Span | NoopSpan


class Tracer:
    """Makes spans and hands finished ones to ``sink`` (which must not block or raise).

    ``Tracer(sink=None)`` records spans but drops them when they end (useful to get
    trace ids without storage). See :class:`~ragline.trace.TraceWriter` for the
    usual sink, and ``ragline._parts.Parts.tracer``.
    """

    enabled = True

    def __init__(self, sink: Sink | None = None, *, default_tenant: str = "default") -> None:
        self._sink = sink
        self.default_tenant = default_tenant
        self.sink_errors = 0

    def _emit(self, span: Span) -> None:
        if self._sink is None:
            return
        try:
            self._sink(span)
        except Exception:  # tracing never raises into the request path
            self.sink_errors += 1
            if self.sink_errors == 1:
                logger.exception("trace sink failed; further failures are only counted")

    def start_span(
        self,
        name: str,
        kind: str = "internal",
        *,
        tenant: str | None = None,
        parent: Span | NoopSpan | None = None,
        root: bool = False,
        attributes: Mapping[str, Any] | None = None,
    ) -> Span:
        """A started span that is *not* made current; call ``end()`` when done.

        The parent is ``parent`` or else the current span (unless ``root``); a span
        with no parent starts a new trace.
        """
        if parent is None and not root:
            parent = _CURRENT.get()
        attrs = dict(attributes) if attributes else {}
        if isinstance(parent, Span):
            return Span(
                self,
                name,
                kind,
                trace_id=parent.trace_id,
                parent_id=parent.span_id,
                tenant=tenant or parent.tenant,
                attributes=attrs,
            )
        return Span(
            self,
            name,
            kind,
            trace_id=new_trace_id(),
            parent_id=None,
            tenant=tenant or self.default_tenant,
            attributes=attrs,
        )

    def span(
        self,
        name: str,
        kind: str = "internal",
        attributes: Mapping[str, Any] | None = None,
        *,
        tenant: str | None = None,
        root: bool = False,
        **attrs: Any,
    ) -> Span:
        """A span to use in ``with``: current inside the block, ended when it exits."""
        if attrs:
            attributes = {**(attributes or {}), **attrs}
        return self.start_span(name, kind, tenant=tenant, root=root, attributes=attributes)

    # -- lifecycle (the writer's, when there is one) ------------------------------------

    @property
    def stats(self) -> TraceStats | None:
        """The writer's counters (queued, written, dropped…), when the sink has them."""
        stats = getattr(self._sink, "stats", None)
        return stats  # type: ignore[no-any-return]

    def flush(self, timeout: float | None = 5.0) -> bool:
        flush = getattr(self._sink, "flush", None)
        return bool(flush(timeout)) if callable(flush) else True

    def close(self, timeout: float | None = 5.0) -> bool:
        close = getattr(self._sink, "close", None)
        return bool(close(timeout)) if callable(close) else True


class NoopTracer(Tracer):
    """``tracing.enabled: false``: every span is :data:`NOOP_SPAN`."""

    enabled = False

    def __init__(self) -> None:
        super().__init__(None)

    # a no-op takes whatever the real methods take
    def start_span(self, *args: Any, **kwargs: Any) -> NoopSpan:  # type: ignore[override]
        return NOOP_SPAN

    def span(self, *args: Any, **kwargs: Any) -> NoopSpan:  # type: ignore[override]
        return NOOP_SPAN


NOOP_TRACER = NoopTracer()


# --------------------------------------------------------------------------- helpers


def current_span() -> Span | NoopSpan:
    """The span current in this context, or :data:`NOOP_SPAN`."""
    return _CURRENT.get() or NOOP_SPAN


def span(
    name: str,
    kind: str = "internal",
    attributes: Mapping[str, Any] | None = None,
    **attrs: Any,
) -> Span | NoopSpan:
    """A child of the current span (for ``with``), or :data:`NOOP_SPAN` if none."""
    parent = _CURRENT.get()
    if parent is None:
        return NOOP_SPAN
    if attrs:
        attributes = {**(attributes or {}), **attrs}
    return parent._tracer.start_span(name, kind, parent=parent, attributes=attributes)


class activate:
    """``with activate(span):`` makes ``span`` current without ending it afterwards."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: Span | NoopSpan) -> None:
        self._span = span

    def __enter__(self) -> Span | NoopSpan:
        self._token = _CURRENT.set(self._span if isinstance(self._span, Span) else None)
        return self._span

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


def iterate_in(span: Span | NoopSpan, iterator: Iterator[T]) -> Iterator[T]:
    """Run each step of ``iterator`` with ``span`` current, in a private context.

    Whatever the iterator makes current between its ``yield``\\ s stays in that private
    context, so an abandoned generator can never leave a stale span behind.
    """
    ctx = contextvars.copy_context()
    ctx.run(_CURRENT.set, span if isinstance(span, Span) else None)
    try:
        while True:
            try:
                item = ctx.run(next, iterator)
            except StopIteration:
                return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if callable(close):
            ctx.run(close)
