"""Fake models for tests: scripted replies, a function, and the "no real requests" switch.

>>> from ragline.models import Message
>>> model = FakeModel(["Paris is the capital [1]."])
>>> model.complete([Message("user", "Capital of France?")]).text
'Paris is the capital [1].'
>>> model.calls[0].messages[0].content
'Capital of France?'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ragline.models._base import Completion, Delta, Message, Messages, Tools, ToolSpec
from ragline.models._guard import block_real_requests, real_requests_blocked
from ragline.models._pricing import estimate_usage
from ragline.models._stream import completion_to_deltas, deltas_to_completion

Reply = str | Completion | list[Delta] | BaseException
Method = Literal["complete", "stream"]
ModelFunction = Callable[[list[Message], list[ToolSpec] | None, dict[str, Any]], Completion | str]


@dataclass(slots=True)
class ModelCall:
    """One recorded call: which method, and exactly what the model was given."""

    method: Method
    messages: list[Message]
    tools: list[ToolSpec] | None
    options: dict[str, Any] = field(default_factory=dict)


def _as_completion(reply: str | Completion, messages: Messages, name: str) -> Completion:
    if isinstance(reply, Completion):
        return replace(reply, tool_calls=list(reply.tool_calls))
    return Completion(
        text=reply, model=name, usage=estimate_usage(messages, reply), cost_usd=0.0, latency_ms=0.0
    )


class _Recorder:
    name: str

    def __init__(self) -> None:
        self.calls: list[ModelCall] = []

    def _record(
        self, method: Method, messages: Messages, tools: Tools, options: dict[str, Any]
    ) -> None:
        self.calls.append(
            ModelCall(method, list(messages), list(tools) if tools is not None else None, options)
        )

    @property
    def last_call(self) -> ModelCall:
        if not self.calls:
            raise AssertionError(f"{self.name} was never called")
        return self.calls[-1]


class FakeModel(_Recorder):
    """Replays scripted turns, one per ``complete``/``stream`` call, in order.

    Each reply is the text of a turn, a whole :class:`Completion` (tool calls
    included), a list of :class:`Delta` (stream chunks, verbatim), or an exception
    to raise. Either method accepts any reply: text and completions are streamed as
    word-sized deltas; a list of deltas is assembled for ``complete``. An exception
    placed inside a list of deltas (as its last item) is raised mid-stream.
    Every call is recorded in ``calls``. Running out of replies is a test bug and
    raises ``AssertionError``.
    """

    def __init__(
        self, replies: Sequence[Reply | list[Delta | BaseException]], *, name: str = "fake"
    ) -> None:
        super().__init__()
        self.name = name
        self.replies = list(replies)
        self._next = 0

    @property
    def remaining(self) -> int:
        return len(self.replies) - self._next

    def _take(self) -> Any:
        if self._next >= len(self.replies):
            raise AssertionError(
                f"FakeModel {self.name!r} has no scripted reply left for call "
                f"{self._next + 1} ({len(self.replies)} scripted)"
            )
        reply = self.replies[self._next]
        self._next += 1
        return reply

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        self._record("complete", messages, tools, options)
        reply = self._take()
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, list):
            for item in reply:
                if isinstance(item, BaseException):
                    raise item
            return deltas_to_completion(reply, model=self.name)
        return _as_completion(reply, messages, self.name)

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        self._record("stream", messages, tools, options)
        reply = self._take()
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, list):
            return _replay(reply)
        return completion_to_deltas(_as_completion(reply, messages, self.name))


def _replay(items: list[Delta | BaseException]) -> Iterator[Delta]:
    for item in items:
        if isinstance(item, BaseException):
            raise item
        yield item


class FunctionModel(_Recorder):
    """A model whose reply is computed: ``fn(messages, tools, options)`` returns a
    :class:`Completion` or its text. ``stream`` streams that reply in word pieces."""

    def __init__(self, fn: ModelFunction, *, name: str = "function") -> None:
        super().__init__()
        self.fn = fn
        self.name = name

    def _reply(
        self, method: Method, messages: Messages, tools: Tools, options: dict[str, Any]
    ) -> Completion:
        self._record(method, messages, tools, options)
        reply = self.fn(list(messages), list(tools) if tools is not None else None, options)
        return _as_completion(reply, messages, self.name)

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        return self._reply("complete", messages, tools, options)

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        return completion_to_deltas(self._reply("stream", messages, tools, options))


__all__ = [
    "FakeModel",
    "FunctionModel",
    "ModelCall",
    "block_real_requests",
    "real_requests_blocked",
]
