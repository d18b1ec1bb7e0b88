"""Typed tools: a plain Python function becomes a tool the model can call.

:func:`tool` reads the function's signature and docstring: the parameters become a
pydantic model (so the JSON schema the model sees and the validation of what it sends
are the same thing), the docstring's first paragraph the description, and
``Args:``-style lines the parameters' descriptions::

    @tool
    def lookup_order(order_id: int) -> dict[str, Any]:
        \"\"\"Look up an order by its number.

        Args:
            order_id: the order number, e.g. 1042
        \"\"\"

:func:`call_tools` runs a turn's calls in parallel, each in its own daemon thread with
the tool's timeout, and never raises: an unknown tool, arguments that do not validate,
a tool that raises, hangs, or returns something that is not JSON become a
:class:`ToolResult` with ``ok=False`` and an ``error`` the model reads and can recover
from. A result longer than ``max_chars`` is cut (and says so).
"""

from __future__ import annotations

import inspect
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ragline.models._base import Message, ToolCall, ToolSpec
from ragline.trace._tracer import NOOP_SPAN, NoopSpan, Span, activate

AnySpan = Span | NoopSpan

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_ARG_LINE = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


@dataclass(frozen=True)
class Tool:
    """A tool: what the model sees (name, description, JSON schema) and the function.

    ``fn`` takes the validated arguments as keywords. ``ends_run``: a successful call
    ends the run (``handoff_to_human``). ``timeout_s`` None: the run's ``tool_timeout_s``.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any] = field(repr=False, compare=False)
    arguments_model: type[BaseModel] | None = field(default=None, repr=False, compare=False)
    timeout_s: float | None = None
    ends_run: bool = False

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments as ``fn`` takes them; raises :class:`ValidationError`."""
        if self.arguments_model is None:
            return dict(arguments)
        parsed = self.arguments_model.model_validate(arguments)
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}


def _doc_parts(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    doc = inspect.getdoc(fn) or ""
    description = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    params: dict[str, str] = {}
    in_args = False
    for line in doc.splitlines():
        if line.strip().lower() in ("args:", "arguments:", "parameters:"):
            in_args = True
            continue
        if in_args:
            m = _ARG_LINE.match(line)
            if m:
                params[m.group(1)] = m.group(2).strip()
            elif line.strip() and not line.startswith((" ", "\t")):
                in_args = False
    return description, params


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
    ends_run: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
    ends_run: bool = False,
) -> Any:
    """Make a :class:`Tool` from a typed function (usable as ``@tool`` or ``@tool(...)``).

    Every parameter needs a type hint; ``*args``/``**kwargs`` are not allowed, so the
    schema says exactly what the function takes.
    """

    def make(f: Callable[..., Any]) -> Tool:
        tool_name = name or f.__name__
        if not _NAME.match(tool_name):
            raise ValueError(f"tool name {tool_name!r} must be 1-64 of A-Z a-z 0-9 _ -")
        summary, arg_docs = _doc_parts(f)
        hints = get_type_hints(f)
        fields: dict[str, Any] = {}
        for param in inspect.signature(f).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ValueError(f"tool {tool_name!r}: *args and **kwargs cannot be described")
            if param.name not in hints:
                raise ValueError(f"tool {tool_name!r}: parameter {param.name!r} has no type hint")
            default = ... if param.default is param.empty else param.default
            from pydantic import Field

            fields[param.name] = (
                hints[param.name],
                Field(default, description=arg_docs.get(param.name)),
            )
        model = create_model(  # type: ignore[call-overload]
            f"{tool_name}_arguments",
            __config__=ConfigDict(extra="forbid"),
            **fields,
        )
        schema = model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return Tool(
            tool_name,
            description or summary or tool_name,
            schema,
            f,
            model,
            timeout_s=timeout_s,
            ends_run=ends_run,
        )

    return make(fn) if fn is not None else make


@dataclass(slots=True)
class ToolResult:
    """What one tool call gave back: ``content`` (JSON-ready) or an ``error``."""

    call: ToolCall
    ok: bool
    content: Any = None
    error: dict[str, str] | None = None  # {"type": ..., "message": ...}
    elapsed_ms: float = 0.0
    truncated: bool = False
    text: str = ""  # what the model reads (JSON)

    def message(self) -> Message:
        return Message("tool", self.text, tool_call_id=self.call.id)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.call.id,
            "name": self.call.name,
            "ok": self.ok,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }
        if self.ok:
            out["content"] = self.content
            out["truncated"] = self.truncated
        else:
            out["error"] = self.error
        return out


def _fail(call: ToolCall, kind: str, message: str, elapsed_ms: float = 0.0) -> ToolResult:
    error = {"type": kind, "message": message}
    text = json.dumps({"error": error}, ensure_ascii=False)
    return ToolResult(call, False, error=error, elapsed_ms=elapsed_ms, text=text)


def _validation_message(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        where = ".".join(str(x) for x in err["loc"]) or "arguments"
        parts.append(f"{where}: {err['msg']}")
    return "invalid arguments: " + "; ".join(parts)


def _finish(call: ToolCall, value: Any, elapsed_ms: float, max_chars: int) -> ToolResult:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        return _fail(
            call, "bad_result", f"the tool returned a value that is not JSON ({e})", elapsed_ms
        )
    if len(text) <= max_chars:
        return ToolResult(call, True, value, elapsed_ms=elapsed_ms, text=text)
    cut = text[:max_chars]
    note = f"[result cut to {max_chars} of {len(text)} characters]"
    return ToolResult(
        call, True, cut + " " + note, elapsed_ms=elapsed_ms, truncated=True, text=cut + " " + note
    )


class _Running:
    """One call in its own daemon thread (a hung tool never blocks the run or exit)."""

    def __init__(
        self, tool: Tool, call: ToolCall, arguments: dict[str, Any], span: AnySpan
    ) -> None:
        self.span = span
        self.value: Any = None
        self.error: BaseException | None = None
        self.started = time.perf_counter()
        self.thread = threading.Thread(
            target=self._run, args=(tool, arguments), daemon=True, name=f"tool-{call.name}"
        )
        self.thread.start()

    def _run(self, tool: Tool, arguments: dict[str, Any]) -> None:
        try:
            with activate(self.span):  # what the tool traces nests under its call's span
                self.value = tool.fn(**arguments)
        except BaseException as e:  # handed to the model, never raised into the run
            self.error = e


def call_tools(
    calls: Sequence[ToolCall],
    tools: dict[str, Tool],
    *,
    timeout_s: float,
    max_chars: int,
    deadline: float | None = None,
    spans: Sequence[AnySpan] | None = None,
) -> list[ToolResult]:
    """Run ``calls`` in parallel; one :class:`ToolResult` per call, in call order.

    ``deadline`` (a ``time.monotonic()`` value) caps every timeout: the run's wall time.
    ``spans`` (one per call) are current while each tool runs.
    """
    results: list[ToolResult | None] = [None] * len(calls)
    running: list[tuple[int, Tool, _Running]] = []
    for i, call in enumerate(calls):
        t = tools.get(call.name)
        if t is None:
            known = ", ".join(sorted(tools)) or "none"
            results[i] = _fail(
                call, "unknown_tool", f"no tool {call.name!r}; the tools are {known}"
            )
            continue
        try:
            arguments = t.validate(call.arguments)
        except ValidationError as e:
            results[i] = _fail(call, "invalid_arguments", _validation_message(e))
            continue
        span = spans[i] if spans is not None else NOOP_SPAN
        running.append((i, t, _Running(t, call, arguments, span)))
    for i, t, run in running:
        call = calls[i]
        limit = t.timeout_s if t.timeout_s is not None else timeout_s
        wait = limit - (time.perf_counter() - run.started)
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
        run.thread.join(max(0.0, wait))
        elapsed = (time.perf_counter() - run.started) * 1000
        if run.thread.is_alive():
            results[i] = _fail(
                call, "timeout", f"{call.name} did not answer within {limit:g} s", elapsed
            )
        elif run.error is not None:
            error = run.error
            kind = "tool_error" if isinstance(error, Exception) else "tool_crashed"
            message = str(error) or type(error).__name__
            results[i] = _fail(call, kind, f"{call.name} failed: {message}", elapsed)
        else:
            results[i] = _finish(call, run.value, elapsed, max_chars)
    return [r for r in results if r is not None]


__all__ = ["Tool", "ToolResult", "call_tools", "tool"]
