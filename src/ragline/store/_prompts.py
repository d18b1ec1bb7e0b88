"""Prompt versions and labels — records and contract.

A prompt *version* is the exact text of one prompt file (a project's
``prompts/NAME.md`` or a shipped template), identified by its content hash
(:func:`content_version`: the first 12 hex digits of its sha256). Versions are
project-wide and kept forever, so the prompt of any trace can still be shown and
diffed after the file has changed.

A *label* (``production``, ``beta``, any name) points one prompt name at one of its
versions, per tenant. Every move of a label is an event in its history (who, when,
which version); a label's current version is the one its latest event set.
:meth:`PromptStore.rollback` undoes the last move that is still in effect: the
history is replayed as a stack (``set`` pushes a version, ``rollback`` pops one), so
rolling back twice after three moves lands on the first version, and a label with a
single move has nothing to roll back to.

A move is atomic (:meth:`BasePromptStore._move`): the label's history is read and the
new event appended in one transaction that holds the label's lock (SQLite's
``BEGIN IMMEDIATE``, a PostgreSQL transaction advisory lock on tenant, name and label),
so two rollbacks at once undo two moves, and a rollback racing a ``set`` never appends
a version computed from a history that no longer holds — no update is lost.

Every backend (memory, SQLite, PostgreSQL) passes
``ragline.testing.PromptStoreConformance``. The checks are written once, in
:class:`BasePromptStore`; a backend supplies the few primitives under it.
"""

from __future__ import annotations

import hashlib
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from ragline.errors import InputError, NotFoundError
from ragline.store._conversation_rows import check_tenant, check_text

Clock = Callable[[], float]
PromptFormat = Literal["jinja", "text"]

_NAME = re.compile(r"[A-Za-z0-9][\w.-]{0,127}\Z")
_VERSION = re.compile(r"[0-9a-f]{4,64}\Z")
MAX_TEXT_CHARS = 200_000


def content_version(raw: bytes) -> str:
    """A prompt file's version: the first 12 hex digits of the sha256 of its bytes."""
    return hashlib.sha256(raw).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class PromptVersion:
    """One stored version of a prompt: its whole text, kept forever."""

    name: str
    version: str  # content_version of the text's UTF-8 bytes
    text: str
    format: PromptFormat = "jinja"  # "jinja" (prompts/NAME.md) or "text" (a shipped .txt)
    source: str = ""  # where it was read: "prompts/NAME.md", "shipped", a path
    created_at: float = 0.0  # when this store first saw it (Unix epoch seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "format": self.format,
            "source": self.source,
            "created_at": self.created_at,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class LabelEvent:
    """One move of a label: after it, ``label`` of ``name`` points at ``version``."""

    tenant: str
    name: str
    label: str
    version: str
    action: Literal["set", "rollback"]
    actor: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "name": self.name,
            "label": self.label,
            "version": self.version,
            "action": self.action,
            "actor": self.actor,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class PromptLabel:
    """Where a label points now."""

    tenant: str
    name: str
    label: str
    version: str
    updated_at: float


def check_name(name: Any, what: str = "prompt name") -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"{what} {name!r} is not valid",
            hint="use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def check_version(version: Any) -> str:
    if not isinstance(version, str) or not _VERSION.match(version):
        raise InputError(
            f"prompt version {version!r} is not valid",
            hint="a version is hex digits of the content hash; `ragline prompts list` shows them",
        )
    return version


@runtime_checkable
class PromptStore(Protocol):
    def add_version(self, version: PromptVersion) -> PromptVersion:
        """Keep ``version`` (its text must hash to its version); the stored record.

        Idempotent: a version already kept is returned as first stored (its
        ``created_at`` unchanged). ``InputError`` for a bad name, a hash that does not
        match the text, or text that cannot be stored.
        """
        ...

    def get_version(self, name: str, version: str) -> PromptVersion | None:
        """The version of ``name`` whose hash is ``version`` or starts with it (at least
        4 hex digits); None when there is none. ``InputError`` when a prefix is ambiguous."""
        ...

    def versions(self, name: str | None = None) -> list[PromptVersion]:
        """Every kept version (of ``name``), oldest first."""
        ...

    def set_label(
        self, tenant: str, name: str, label: str, version: str, *, actor: str = ""
    ) -> LabelEvent:
        """Point ``label`` of ``name`` at a kept ``version`` for ``tenant`` (a prefix
        is resolved); the event. ``NotFoundError`` when the version is not kept."""
        ...

    def rollback(self, tenant: str, name: str, label: str, *, actor: str = "") -> LabelEvent:
        """Undo the label's last move still in effect (see the module docstring).

        ``NotFoundError`` when the label was never set; ``InputError`` when there is
        nothing earlier to go back to.
        """
        ...

    def label(self, tenant: str, name: str, label: str) -> str | None:
        """The version ``label`` of ``name`` points at for ``tenant``; None when unset."""
        ...

    def labels(self, tenant: str, name: str | None = None) -> list[PromptLabel]:
        """Every label of ``tenant`` (of ``name``), sorted by name then label."""
        ...

    def history(self, tenant: str, name: str, label: str | None = None) -> list[LabelEvent]:
        """The moves of ``name``'s labels (of ``label``) for ``tenant``, oldest first."""
        ...

    def close(self) -> None: ...


class BasePromptStore(ABC):
    """The checked calls of :class:`PromptStore`, on a backend's primitives."""

    _clock: Clock = time.time

    # -- primitives ------------------------------------------------------------------

    @abstractmethod
    def _insert_version(self, version: PromptVersion) -> None:
        """Store ``version`` unless ``(name, version)`` is kept already."""

    @abstractmethod
    def _versions(self, name: str | None, prefix: str = "") -> list[PromptVersion]:
        """Kept versions (of ``name``, whose hash starts with ``prefix``), oldest first."""

    @abstractmethod
    def _events(self, tenant: str, name: str | None, label: str | None) -> list[LabelEvent]:
        """Label events of ``tenant`` (of ``name``, of ``label``), oldest first."""

    @abstractmethod
    def _move(
        self, tenant: str, name: str, label: str, decide: Callable[[list[LabelEvent]], LabelEvent]
    ) -> LabelEvent:
        """Atomically: the label's events (oldest first) to ``decide``, then record the
        event it returns (nothing when it raises); the recorded event."""

    @abstractmethod
    def close(self) -> None: ...

    # -- the protocol ------------------------------------------------------------------

    def add_version(self, version: PromptVersion) -> PromptVersion:
        check_name(version.name)
        check_text(version.text, "prompt text")
        if len(version.text) > MAX_TEXT_CHARS:
            raise InputError(
                f"prompt {version.name!r} is longer than {MAX_TEXT_CHARS} characters",
                hint="a prompt template should be a few thousand characters at most",
            )
        if version.format not in ("jinja", "text"):
            raise InputError(f"prompt format must be 'jinja' or 'text', not {version.format!r}")
        check_text(version.source, "prompt source")
        expected = content_version(version.text.encode("utf-8"))
        if version.version != expected:
            raise InputError(
                f"prompt {version.name!r}: version {version.version!r} is not the hash of "
                f"its text ({expected!r})",
                hint="build versions with content_version(text.encode('utf-8'))",
            )
        found = self._versions(version.name, expected)
        exact = [v for v in found if v.version == expected]
        if exact:
            return exact[0]
        stored = PromptVersion(
            version.name,
            expected,
            version.text,
            version.format,
            version.source,
            self._clock(),
        )
        self._insert_version(stored)
        again = [v for v in self._versions(version.name, expected) if v.version == expected]
        return again[0] if again else stored

    def get_version(self, name: str, version: str) -> PromptVersion | None:
        check_name(name)
        check_version(version)
        found = self._versions(name, version)
        exact = [v for v in found if v.version == version]
        if exact:
            return exact[0]
        if len(found) > 1:
            raise InputError(
                f"prompt version {name}@{version} is ambiguous: "
                + ", ".join(v.version for v in found),
                hint="give more hex digits of the version",
            )
        return found[0] if found else None

    def versions(self, name: str | None = None) -> list[PromptVersion]:
        if name is not None:
            check_name(name)
        return self._versions(name)

    def _check_label(self, tenant: str, name: str, label: str) -> None:
        check_tenant(tenant)
        check_name(name)
        check_name(label, "label")

    def set_label(
        self, tenant: str, name: str, label: str, version: str, *, actor: str = ""
    ) -> LabelEvent:
        self._check_label(tenant, name, label)
        check_text(actor, "actor")
        found = self.get_version(name, version)
        if found is None:
            raise NotFoundError(
                f"prompt {name!r} has no version {version!r}",
                hint=f"`ragline prompts show {name}` lists its versions",
            )
        version = found.version
        return self._move(
            tenant,
            name,
            label,
            lambda _: LabelEvent(tenant, name, label, version, "set", actor, self._clock()),
        )

    def rollback(self, tenant: str, name: str, label: str, *, actor: str = "") -> LabelEvent:
        self._check_label(tenant, name, label)
        check_text(actor, "actor")

        def back(events: list[LabelEvent]) -> LabelEvent:
            stack = _replay(events)
            if not stack:
                raise NotFoundError(
                    f"label {label!r} of prompt {name!r} was never set for tenant {tenant!r}",
                    hint=f"ragline prompts label {name}@VERSION {label} --tenant {tenant}",
                )
            if len(stack) < 2:
                raise InputError(
                    f"label {label!r} of prompt {name!r} (tenant {tenant!r}) has no earlier "
                    f"version to roll back to (it was set once, to {stack[0]})",
                    hint=f"point it at another version: ragline prompts label {name}@VERSION "
                    f"{label}",
                )
            return LabelEvent(tenant, name, label, stack[-2], "rollback", actor, self._clock())

        return self._move(tenant, name, label, back)

    def label(self, tenant: str, name: str, label: str) -> str | None:
        self._check_label(tenant, name, label)
        events = self._events(tenant, name, label)
        return events[-1].version if events else None

    def labels(self, tenant: str, name: str | None = None) -> list[PromptLabel]:
        check_tenant(tenant)
        if name is not None:
            check_name(name)
        latest: dict[tuple[str, str], LabelEvent] = {}
        for event in self._events(tenant, name, None):
            latest[(event.name, event.label)] = event
        return [
            PromptLabel(e.tenant, e.name, e.label, e.version, e.at)
            for _, e in sorted(latest.items())
        ]

    def history(self, tenant: str, name: str, label: str | None = None) -> list[LabelEvent]:
        check_tenant(tenant)
        check_name(name)
        if label is not None:
            check_name(label, "label")
        return self._events(tenant, name, label)


def _replay(events: list[LabelEvent]) -> list[str]:
    """The label's versions as a stack: ``set`` pushes, ``rollback`` pops."""
    stack: list[str] = []
    for event in events:
        if event.action == "rollback" and len(stack) > 1:
            stack.pop()
        elif event.action == "set":
            stack.append(event.version)
    return stack


__all__ = [
    "BasePromptStore",
    "LabelEvent",
    "PromptFormat",
    "PromptLabel",
    "PromptStore",
    "PromptVersion",
    "check_name",
    "check_version",
    "content_version",
]
