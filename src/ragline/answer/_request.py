"""What an ask is made of (:class:`AskRequest`) and the checks every entry point applies.

The CLI, the Python API, chat and the HTTP routes all build an :class:`AskRequest`
and run it through the pipeline, so a question is checked the same way wherever it
comes from (:func:`check_question`): not blank, no NUL character, at most
``server.max_question_chars`` characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from ragline.errors import InputError

if TYPE_CHECKING:
    from ragline.prompts._experiments import Assignment
from ragline.store._filters import Condition, FilterSpec, to_conditions


class AskOptions(TypedDict, total=False):
    """Options of an ask: the tenant (default ``default_tenant``), how many hits to
    answer from (default ``retrieval.k``), filters the hits must meet, and the earlier
    user messages of a conversation (``history``, oldest first) for a follow-up."""

    tenant: str | None
    k: int | None
    filters: Iterable[FilterSpec] | Mapping[str, Any] | None
    history: Sequence[str]
    #: the end user's id: experiments (``key: user``) keep a user in one variant
    user: str | None
    #: force this variant of the running experiment (trusted callers: debugging)
    variant: str | None


class SearchOptions(AskOptions, total=False):
    mode: str | None  #: hybrid (default), keyword or dense


def check_question(question: str, *, field: str = "question", max_chars: int) -> str:
    """``question`` unchanged, or :class:`InputError` saying what is wrong with it."""
    if not isinstance(question, str):
        raise InputError(f"{field}: must be text, not {type(question).__name__}")
    if len(question) > max_chars:
        raise InputError(
            f"{field}: longer than {max_chars} characters ({len(question)})",
            hint="shorten it or raise server.max_question_chars",
        )
    if "\x00" in question:
        raise InputError(f"{field}: contains a NUL character")
    if not question.strip():
        raise InputError(f"{field}: is blank", hint="ask a question with some words in it")
    return question


@dataclass(frozen=True, slots=True)
class AskRequest:
    """One question for the pipeline.

    ``history`` holds the earlier user messages of a conversation (oldest first): the
    analysis stage gives a short follow-up their context. ``stream`` says whether the
    consumer reads the answer as it is written (the model is then asked to stream).
    """

    question: str
    tenant: str
    k: int | None = None
    filters: Sequence[Condition] = ()
    mode: str | None = None
    history: Sequence[str] = field(default_factory=tuple)
    stream: bool = False
    user: str | None = None
    #: the experiment variant that answers (``experiments:``), set by the project
    assignment: Assignment | None = None
    #: a shadow run (``mode: shadow``): the trace id of the served request it shadows
    shadow_of: str | None = None

    @classmethod
    def build(
        cls, question: str, default_tenant: str, stream: bool, **options: Unpack[SearchOptions]
    ) -> AskRequest:
        """A request from the keyword options of ``Project.ask`` and friends (filters
        parsed: a bad one raises :class:`InputError` before anything runs)."""
        return cls(
            question,
            options.get("tenant") or default_tenant,
            k=options.get("k"),
            filters=tuple(to_conditions(options.get("filters"))),
            mode=options.get("mode"),
            history=tuple(options.get("history", ())),
            stream=stream,
            user=options.get("user"),
        )


__all__ = ["AskOptions", "AskRequest", "SearchOptions", "check_question"]
