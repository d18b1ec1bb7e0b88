"""``ragline chat --agent``: the support agent in the terminal.

Each message is one agent run (``Project.agent``) in the same stored conversation:
tool calls are printed as they happen (``→ search_knowledge_base {"query": …}``, then
``← ok`` or ``← error: …``), the answer streams, then its references, the stop reason
and the trace id. ``--user`` turns on that user's long-term memory. Only the standard
library is imported at module level.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragline._project import Project

REPLY = "agent> "
ARGS_CHARS = 120


def agent_chat(
    project: Project,
    messages: Iterable[str],
    *,
    conversation: str | None,
    tenant: str | None,
    user: str | None,
    as_json: bool,
    echo: bool,
) -> bool:
    """Answer each message with an agent run; False if any run failed or stopped on an error."""
    from ragline.errors import RaglineError

    agent = project.agent(tenant=tenant)
    cid = conversation
    ok = True
    for message in messages:
        if message.strip() in ("/quit", "/exit"):
            break
        if message.strip() == "/new":
            cid = None
            continue
        if echo:
            sys.stdout.write(f"you> {message}\n")
        try:
            if as_json:
                run = agent.run(message, user=user, conversation_id=cid)
                cid = run.conversation_id
                sys.stdout.write(json.dumps(run.to_dict(), ensure_ascii=False) + "\n")
                ok = ok and run.stop_reason != "error"
                continue
            cid, fine = _stream(agent, message, user, cid)
            ok = ok and fine
        except RaglineError as e:
            sys.stderr.write(f"error: {e}\n")
            ok = False
        except KeyboardInterrupt:
            sys.stdout.write("\n(stopped)\n")
            ok = False
    return ok


def _stream(
    agent: object, message: str, user: str | None, cid: str | None
) -> tuple[str | None, bool]:
    from ragline.agent import Agent, AgentDoneEvent, ToolCallEvent, ToolResultEvent
    from ragline.answer import DeltaEvent, ErrorEvent

    assert isinstance(agent, Agent)
    writing = False
    for event in agent.stream(message, user=user, conversation_id=cid):
        if isinstance(event, ToolCallEvent):
            if writing:
                sys.stdout.write("\n")
                writing = False
            args = json.dumps(event.arguments, ensure_ascii=False)
            if len(args) > ARGS_CHARS:
                args = args[: ARGS_CHARS - 1] + "…"
            sys.stdout.write(f"  → {event.name} {args}\n")
        elif isinstance(event, ToolResultEvent):
            r = event.result
            said = "ok" if r.ok else f"error: {(r.error or {}).get('message', '')}"
            sys.stdout.write(f"  ← {r.call.name}: {said}\n")
        elif isinstance(event, DeltaEvent):
            if not writing:
                sys.stdout.write(REPLY)
                writing = True
            sys.stdout.write(event.text)
        elif isinstance(event, ErrorEvent):
            sys.stdout.write("\n" if writing else "")
            writing = False
            sys.stderr.write(f"error: {event.message}\n")
        elif isinstance(event, AgentDoneEvent):
            run = event.run
            if not writing or run.stop_reason != "completed":
                sys.stdout.write(("\n" if writing else "") + f"{REPLY}{run.text}")
            sys.stdout.write("\n")
            for ref in run.references:
                where = f" > {ref.section}" if ref.section else ""
                sys.stdout.write(f"  [{ref.number}] {ref.title}{where} ({ref.document_id})\n")
            detail = f": {run.detail}" if run.detail else ""
            sys.stderr.write(
                f"stop: {run.stop_reason}{detail} · {run.steps} step(s), "
                f"{len(run.tool_calls)} tool call(s) · trace {run.trace_id}\n"
            )
            if cid is None and run.conversation_id:
                sys.stderr.write(
                    f"conversation {run.conversation_id} "
                    f"(carry on later with ragline chat --agent -c {run.conversation_id})\n"
                )
            sys.stdout.flush()
            return run.conversation_id, run.stop_reason != "error"
        sys.stdout.flush()
    return cid, False
