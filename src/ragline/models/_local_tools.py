"""Tool calls for the local model: JSON-schema-constrained decoding with llama.cpp.

The bundled model is a base model with no native tool calling, so when tools are
offered the prompt lists them and the reply is *constrained* by a llama.cpp grammar
built from one JSON schema — either ``{"tool": <a tool's name>, "arguments": <that
tool's parameters>}`` or ``{"answer": "<text>"}`` — so what comes back always parses
as a call to a tool that exists with arguments of the right shape, or as an answer.
One call per turn (the agent loop gives the result back and asks again); until a tool
has answered since the user's last message the reply *must* be a call
(:func:`must_call`), so the offline agent always consults a tool before it answers. Earlier calls
in the conversation are written back in the same JSON form, tool results as
``Tool result:`` lines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ragline.models._base import Message, Messages, ToolCall, ToolSpec


def reply_schema(tools: Sequence[ToolSpec], *, answer: bool = True) -> dict[str, Any]:
    """The JSON schema every reply must match: one tool call, or (``answer``) an answer."""
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {
                "tool": {"const": t.name},
                "arguments": _plain(t.parameters),
            },
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    if answer:
        options.append(
            {
                "type": "object",
                "properties": {"answer": {"type": "string"}},
                "required": ["answer"],
                "additionalProperties": False,
            }
        )
    return {"anyOf": options}


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """The parameters without what only documents them (descriptions, titles, defaults)."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("description", "title", "default", "examples"):
            continue
        if isinstance(value, dict):
            out[key] = {k: _plain(v) if isinstance(v, dict) else v for k, v in value.items()}
            if key != "properties":
                out[key] = _plain(value)
        elif isinstance(value, list):
            out[key] = [_plain(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def tool_instructions(tools: Sequence[ToolSpec]) -> str:
    """The system text that tells the model which tools exist and how to reply."""
    lines = [
        "You can call tools. Reply with exactly one JSON object: "
        '{"tool": NAME, "arguments": {...}} to call a tool, or {"answer": TEXT} '
        "when you can answer. Tools:"
    ]
    for t in tools:
        params = ", ".join(
            f"{name}: {prop.get('type', 'any')}"
            for name, prop in (t.parameters.get("properties") or {}).items()
        )
        lines.append(f"- {t.name}({params}): {t.description}")
    return "\n".join(lines)


def tool_messages(messages: Messages, tools: Sequence[ToolSpec]) -> list[Message]:
    """``messages`` as a transcript the base model can continue: the tool list first,
    earlier calls written as the JSON it is asked to produce."""
    out = [Message("system", tool_instructions(tools))]
    for m in messages:
        if m.role == "assistant" and m.tool_calls:
            c = m.tool_calls[0]
            out.append(Message("assistant", json.dumps({"tool": c.name, "arguments": c.arguments})))
        else:
            out.append(m)
    return out


def _loads(text: str) -> Any:
    """The reply's JSON; a reply cut short by ``max_tokens`` is closed first (the grammar
    guarantees everything before the cut is valid), so a long argument still arrives."""
    for suffix in ("", '"}}', "}}", '"}', "}", '"]}}'):
        try:
            return json.loads(text + suffix)
        except ValueError:
            continue
    return None


def parse_reply(text: str, turn: int) -> tuple[str, list[ToolCall]]:
    """``(answer, calls)`` from a constrained reply (see :func:`_loads` for a cut one)."""
    data = _loads(text.strip())
    if isinstance(data, dict) and isinstance(data.get("tool"), str):
        args = data.get("arguments")
        return "", [ToolCall(f"local_{turn}", data["tool"], args if isinstance(args, dict) else {})]
    if isinstance(data, dict) and "answer" in data:
        return str(data["answer"]), []
    start = text.find('"answer"')
    return (text[start + 8 :].strip(' :"}') if start >= 0 else text.strip()), []


def must_call(messages: Messages) -> bool:
    """Whether the reply must be a tool call: no tool has answered since the user spoke.

    A small base model cannot tell when it knows enough, so the offline agent always
    consults a tool (the knowledge base, usually) before it may answer."""
    for m in reversed(messages):
        if m.role == "tool":
            return False
        if m.role == "user":
            return True
    return True


def grammar(tools: Sequence[ToolSpec], *, answer: bool = True) -> Any:
    """The llama.cpp grammar of :func:`reply_schema`."""
    import importlib

    llama_cpp = importlib.import_module("llama_cpp")
    schema = json.dumps(reply_schema(tools, answer=answer))
    return llama_cpp.LlamaGrammar.from_json_schema(schema, verbose=False)


__all__ = [
    "grammar",
    "must_call",
    "parse_reply",
    "reply_schema",
    "tool_instructions",
    "tool_messages",
]
