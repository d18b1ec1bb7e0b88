"""``MemoryPromptStore``: the reference :class:`PromptStore`, in lists.

It defines the behaviour the SQLite and PostgreSQL backends match (all three pass
``ragline.testing.PromptStoreConformance``); the checks are
:class:`~ragline.store._prompts.BasePromptStore`'s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ragline.errors import StoreError
from ragline.store._prompts import BasePromptStore, Clock, LabelEvent, PromptVersion


class MemoryPromptStore(BasePromptStore):
    """Prompt versions and labels in memory; nothing survives the process. Thread-safe."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or time.time
        self._kept: dict[tuple[str, str], PromptVersion] = {}
        self._log: list[LabelEvent] = []
        self._lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("prompt store is closed", hint="open a new store")

    def _insert_version(self, version: PromptVersion) -> None:
        with self._lock:
            self._check_open()
            self._kept.setdefault((version.name, version.version), version)

    def _versions(self, name: str | None, prefix: str = "") -> list[PromptVersion]:
        with self._lock:
            self._check_open()
            found = [
                v
                for v in self._kept.values()
                if name in (None, v.name) and v.version.startswith(prefix)
            ]
        return sorted(found, key=lambda v: (v.created_at, v.name, v.version))

    def _events(self, tenant: str, name: str | None, label: str | None) -> list[LabelEvent]:
        with self._lock:
            self._check_open()
            return [
                e
                for e in self._log
                if e.tenant == tenant and name in (None, e.name) and label in (None, e.label)
            ]

    def _move(
        self, tenant: str, name: str, label: str, decide: Callable[[list[LabelEvent]], LabelEvent]
    ) -> LabelEvent:
        with self._lock:
            self._check_open()
            mine = [e for e in self._log if (e.tenant, e.name, e.label) == (tenant, name, label)]
            event = decide(mine)
            self._log.append(event)
            return event

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._kept.clear()
            self._log.clear()
