"""Alerts: each rule's state, the history of what happened to it, silences — and the
lock that keeps one evaluator at a time. Records and contract.

The evaluator (:mod:`ragline.monitor`) owns the meaning; the store keeps it, so that a
cron run, every server worker and every replica share one view:

- :class:`AlertState`: one row per rule — ``inactive``, ``pending`` (the condition
  holds, waiting for ``for``), ``firing`` or ``resolved`` — with the value that crossed,
  the threshold, when it entered the state, and what the channels were last told
  (``notified``: ``firing`` or ``resolved``), so one incident is one notification.
- :class:`AlertEvent`: the history, append-only: who (the evaluator's host and pid, or
  a silence's author), what (``pending``, ``firing``, ``resolved``, ``notified``,
  ``silence``…), when, the value and the threshold.
- :class:`Silence`: matchers (``rule`` and label values), a start and an expiry, an
  author and a comment. Ending one early keeps its record (``ended_by``).
- :meth:`AlertStore.evaluator_lock`: a non-blocking lock held by the one evaluator
  (memory: per store; SQLite: ``flock`` on a file beside the database; PostgreSQL: a
  session advisory lock). A process that dies lets it go.

Alerts are project-wide (a rule's filter may name a tenant), so no call takes one.
Every backend passes ``ragline.testing.AlertStoreConformance``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

AlertStateName = Literal["inactive", "pending", "firing", "resolved"]
STATES: tuple[AlertStateName, ...] = ("inactive", "pending", "firing", "resolved")


@dataclass(frozen=True, slots=True)
class AlertState:
    """Where one rule stands (times: Unix epoch seconds)."""

    rule: str
    state: AlertStateName
    since: float  # entered this state
    evaluated_at: float
    value: float | None = None  # the last observed value (None: no data)
    threshold: float | None = None
    pending_since: float | None = None  # the condition has held since (pending, firing)
    fired_at: float | None = None  # this incident started firing
    resolved_at: float | None = None
    notified: Literal["firing", "resolved"] | None = None  # what channels were last told
    notified_at: float | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One line of an alert's history. ``id`` is set by the store (0 before)."""

    at: float
    rule: str
    event: str  # pending, firing, resolved, cleared, notified, silenced, failed, silence…
    state: AlertStateName | None = None  # the state after the event
    value: float | None = None
    threshold: float | None = None
    actor: str = ""  # who: evaluator host:pid, or a silence's author
    detail: dict[str, Any] = field(default_factory=dict)
    id: int = 0


@dataclass(frozen=True, slots=True)
class Silence:
    """Notifications of the alerts it matches are held from ``starts_at`` to ``ends_at``.

    ``matchers``: ``{"rule": "ask-p95"}`` and/or label values (``{"team": "search"}``);
    every matcher must equal the alert's rule name or label for the silence to apply.
    """

    id: str
    matchers: dict[str, str]
    starts_at: float
    ends_at: float
    author: str
    comment: str = ""
    created_at: float = 0.0
    ended_by: str | None = None  # set when unsilenced before expiry

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, rule: str, labels: Mapping[str, str]) -> bool:
        for key, want in self.matchers.items():
            got = rule if key == "rule" else labels.get(key)
            if got != want:
                return False
        return True


@runtime_checkable
class EvaluatorLock(Protocol):
    """Held by at most one evaluator of a store at a time (across threads, processes
    and hosts sharing the store)."""

    def acquire(self) -> bool:
        """Take the lock without waiting; True if this lock holds it (now or already)."""
        ...

    def release(self) -> None:
        """Let it go (safe when not held)."""
        ...


@runtime_checkable
class AlertStore(Protocol):
    def states(self) -> dict[str, AlertState]:
        """Every rule's stored state, by rule name."""
        ...

    def save(self, states: Sequence[AlertState], events: Sequence[AlertEvent] = ()) -> None:
        """Store these states (replacing each rule's) and append these events, together
        in one transaction: a crash keeps both or neither."""
        ...

    def forget(self, rules: Sequence[str]) -> None:
        """Drop the states of rules no longer configured (their history stays)."""
        ...

    def history(
        self, *, rule: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[AlertEvent]:
        """Events, newest first (optionally of one rule, at or after ``since``)."""
        ...

    def add_silence(self, silence: Silence) -> Silence:
        """Store a new silence (``id`` unique); returns it as stored."""
        ...

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        """Every silence, newest first, or only those active at ``active_at``."""
        ...

    def end_silence(self, silence_id: str, *, now: float, by: str) -> Silence | None:
        """End a silence now (its ``ends_at`` becomes ``now``); ``None`` if unknown or
        already over. The record stays, with ``ended_by``."""
        ...

    def evaluator_lock(self) -> EvaluatorLock:
        """A new handle on the store's one evaluator lock (each handle is one contender)."""
        ...

    def close(self) -> None: ...


def duplicate_silence(silence_id: str) -> Exception:
    from ragline.errors import StoreError

    return StoreError(
        f"a silence with id {silence_id!r} already exists", hint="silence ids are unique"
    )
