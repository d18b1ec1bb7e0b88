"""``ragline chat``: an interactive conversation with the knowledge base, in the terminal.

Each message is answered through the same pipeline and conversation store as
``POST /v1/chat``: the answer streams as it is written, then its references and
trace id; a short follow-up ("and for the frame?") is asked with the topic of the
conversation. ``--conversation ID`` carries on an earlier conversation (also one
started over HTTP). Messages come from the arguments, else from standard input, one
per line (``/new`` starts a new conversation, ``/quit`` or end of input stops).
``--agent`` answers with the support agent instead (:mod:`ragline.cli._chat_agent`). A
failed answer prints one ``error:`` line and the chat goes on; the exit status is 1
if any message failed. Only typer is imported at module level.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ragline.cli._common import (
    ChunksOpt,
    FilterOpt,
    ModelOpt,
    TenantOpt,
    open_project,
    print_json,
)

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.answer import AskOptions

PROMPT = "you> "
REPLY = "ragline> "


def chat(
    messages: Annotated[
        list[str] | None,
        typer.Argument(help="Messages to send in order (default: read them from stdin)."),
    ] = None,
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", "-c", help="Carry on this conversation (its id)."),
    ] = None,
    k: ChunksOpt = None,
    filters: FilterOpt = None,
    tenant: TenantOpt = None,
    model: ModelOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each reply as a JSON line, not streamed.")
    ] = False,
    agent: Annotated[
        bool,
        typer.Option("--agent", help="Answer with the support agent (tools, shown as called)."),
    ] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", "-u", help="--agent: the user, for their long-term memory."),
    ] = None,
) -> None:
    """Chat with the knowledge base: streamed, cited answers; follow-ups keep their topic."""
    options: AskOptions = {"tenant": tenant, "k": k, "filters": filters or []}
    interactive = not messages and sys.stdin.isatty()
    failed = False
    if agent:
        from ragline.cli._chat_agent import agent_chat

        with open_project(model=model) as project:
            ok = agent_chat(
                project,
                _messages(messages, interactive),
                conversation=conversation,
                tenant=tenant,
                user=user,
                as_json=as_json,
                echo=not interactive and not as_json,
            )
        if not ok:
            raise typer.Exit(1)
        return
    with open_project(model=model) as project:
        cid = conversation
        for message in _messages(messages, interactive):
            if message.strip() in ("/quit", "/exit"):
                break
            if message.strip() == "/new":
                cid = None
                continue
            if not interactive:
                sys.stdout.write(f"{PROMPT}{message}\n")
            try:
                if as_json:
                    reply = project.chat(cid, message, **options)
                    cid = reply.conversation_id
                    print_json(
                        {
                            "conversation_id": cid,
                            "turn": reply.turn,
                            "answer": reply.answer.to_dict(),
                        }
                    )
                    continue
                cid, ok = _stream(project, cid, message, options)
            except KeyboardInterrupt:
                sys.stdout.write("\n(stopped)\n")
                ok = False
            failed = failed or not ok
    if failed:
        raise typer.Exit(1)


def _messages(given: list[str] | None, interactive: bool) -> list[str] | _Lines:
    if given:
        return given
    return _Lines(interactive)


class _Lines:
    """Messages from standard input: prompted on a terminal, one per line otherwise."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while True:
            try:
                line = input(PROMPT) if self.interactive else sys.stdin.readline()
            except EOFError:
                raise StopIteration from None
            if not self.interactive and not line:
                raise StopIteration
            if line.strip():
                return line.rstrip("\n")


def _stream(
    project: Project, cid: str | None, message: str, options: AskOptions
) -> tuple[str | None, bool]:
    """Send one message; print the answer as it streams. ``(conversation id, ok)``."""
    from ragline.answer import ConversationEvent, DeltaEvent, DoneEvent, ErrorEvent
    from ragline.cli._ask import print_references
    from ragline.errors import RaglineError

    started = False
    try:
        for event in project.chat_stream(cid, message, **options):
            if isinstance(event, ConversationEvent):
                if cid is None and not event.stored:
                    sys.stderr.write(
                        f"conversation {event.conversation_id} "
                        f"(carry on later with ragline chat -c {event.conversation_id})\n"
                    )
                cid = event.conversation_id
            elif isinstance(event, DeltaEvent):
                if not started:
                    sys.stdout.write(REPLY)
                    started = True
                sys.stdout.write(event.text)
                sys.stdout.flush()
            elif isinstance(event, ErrorEvent):
                sys.stdout.write("\n" if started else "")
                sys.stderr.write(f"error: {event.message}\n")
                return cid, False
            elif isinstance(event, DoneEvent):
                if not started:
                    sys.stdout.write(f"{REPLY}{event.answer.text}")
                sys.stdout.write("\n")
                print_references(event.answer, timing=False)
    except RaglineError as e:
        sys.stdout.write("\n" if started else "")
        sys.stderr.write(f"error: {e}\n")
        return cid, False
    return cid, True
