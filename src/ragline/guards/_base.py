"""The ``Guard`` protocol: one check of one text, and the verdict it returns.

A guard looks at a text at one point of the answer pipeline — the question
(``input``, with the conversation so far), a retrieved chunk (``retrieval``) or the
answer (``output``) — and says what to do with it: ``allow`` it, ``flag`` it (let it
through, recorded), ``redact`` it (let a rewritten text through) or ``block`` it. Which
action a detection leads to is the guard's policy (threshold, action), given when the
guard is built; the pipeline applies the verdicts, records each as a span attribute and
counts it. A guard never raises for a bad text: it returns a verdict. A guard that
fails anyway is handled by its ``on_error`` policy in the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Action = Literal["allow", "flag", "redact", "block"]
GuardStage = Literal["input", "retrieval", "output"]

ACTIONS: tuple[Action, ...] = ("allow", "flag", "redact", "block")
GUARD_STAGES: tuple[GuardStage, ...] = ("input", "retrieval", "output")
#: how much each action overrides the others when several guards judge one text
SEVERITY: Mapping[Action, int] = {"allow": 0, "flag": 1, "redact": 2, "block": 3}


@dataclass(frozen=True, slots=True)
class Finding:
    """One offending span of the checked text: ``text[start:end]`` is a ``label``
    (``email``, ``role_marker``, ``base64_payload`` …)."""

    start: int
    end: int
    label: str


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What a guard may know besides the text it checks."""

    stage: GuardStage
    tenant: str = "default"
    #: earlier user messages of the conversation, oldest first (input stage)
    history: tuple[str, ...] = ()
    #: the question being answered (retrieval and output stages)
    question: str | None = None
    #: the tenant's answer languages (ISO 639-1), empty when any
    languages: tuple[str, ...] = ()
    #: the retrieved passages the answer is grounded on (output stage): those the
    #: answer cites, or — while a stream is checked, before its citations are known —
    #: every passage it was given
    passages: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A guard's judgement of one text.

    ``score`` is the guard's confidence that the text is what it looks for (0–1);
    ``reasons`` are short machine-readable codes (``injection.role_marker``,
    ``pii.email``) that a refusal and the metrics carry; ``redacted`` is the text to
    use instead when ``action == "redact"``.
    """

    guard: str
    action: Action = "allow"
    score: float = 0.0
    reasons: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    redacted: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown guard action {self.action!r}: one of {ACTIONS}")
        if (self.action == "redact") != (self.redacted is not None):
            raise ValueError("a redact verdict carries the redacted text, and only it does")

    @property
    def triggered(self) -> bool:
        """Anything but ``allow``."""
        return self.action != "allow"

    @property
    def blocked(self) -> bool:
        return self.action == "block"


@runtime_checkable
class Guard(Protocol):
    """Checks one text at the stages it names (see the module docstring)."""

    name: str
    stages: frozenset[GuardStage]

    def check(self, text: str, context: GuardContext) -> Verdict: ...


def allow(guard: str) -> Verdict:
    """The verdict of a guard that found nothing."""
    return Verdict(guard=guard)
