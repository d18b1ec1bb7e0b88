"""``MemoryAlertStore``: the reference :class:`~ragline.store._alerts.AlertStore`, in memory.

It defines the behaviour the SQLite and PostgreSQL stores match (all three pass
``ragline.testing.AlertStoreConformance``). Nothing survives the process; the
evaluator lock is shared by the handles of one store (one process).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import replace

from ragline.errors import StoreError
from ragline.store._alerts import AlertEvent, AlertState, EvaluatorLock, Silence, duplicate_silence


class _MemoryLock:
    """One handle on the store's lock: holds it, or not, without waiting."""

    def __init__(self, store: MemoryAlertStore) -> None:
        self._store = store
        self._held = False

    def acquire(self) -> bool:
        with self._store._lock:
            if self._held:
                return True
            if self._store._holder is None:
                self._store._holder = self
                self._held = True
            return self._held

    def release(self) -> None:
        with self._store._lock:
            if self._held and self._store._holder is self:
                self._store._holder = None
            self._held = False


class MemoryAlertStore:
    """Alert states, history and silences in memory. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, AlertState] = {}
        self._events: list[AlertEvent] = []
        self._silences: dict[str, Silence] = {}
        self._holder: _MemoryLock | None = None
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the in-memory alert store is closed", hint="open a new store")

    def states(self) -> dict[str, AlertState]:
        with self._lock:
            self._check_open()
            return {name: copy.deepcopy(s) for name, s in self._states.items()}

    def save(self, states: Sequence[AlertState], events: Sequence[AlertEvent] = ()) -> None:
        with self._lock:
            self._check_open()
            for s in states:
                self._states[s.rule] = copy.deepcopy(s)
            for e in events:
                self._events.append(replace(copy.deepcopy(e), id=len(self._events) + 1))

    def forget(self, rules: Sequence[str]) -> None:
        with self._lock:
            self._check_open()
            for rule in rules:
                self._states.pop(rule, None)

    def history(
        self, *, rule: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[AlertEvent]:
        with self._lock:
            self._check_open()
            found = [
                e
                for e in self._events
                if (rule is None or e.rule == rule) and (since is None or e.at >= since)
            ]
        found.sort(key=lambda e: (e.at, e.id), reverse=True)
        return [copy.deepcopy(e) for e in found[: max(0, int(limit))]]

    def add_silence(self, silence: Silence) -> Silence:
        with self._lock:
            self._check_open()
            if silence.id in self._silences:
                raise duplicate_silence(silence.id)
            self._silences[silence.id] = copy.deepcopy(silence)
            return copy.deepcopy(silence)

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        with self._lock:
            self._check_open()
            found = [
                copy.deepcopy(s)
                for s in self._silences.values()
                if active_at is None or s.active(active_at)
            ]
        found.sort(key=lambda s: (s.created_at, s.id), reverse=True)
        return found

    def end_silence(self, silence_id: str, *, now: float, by: str) -> Silence | None:
        with self._lock:
            self._check_open()
            found = self._silences.get(silence_id)
            if found is None or found.ends_at <= now:
                return None
            ended = replace(found, ends_at=max(now, found.starts_at), ended_by=by)
            self._silences[silence_id] = ended
            return copy.deepcopy(ended)

    def evaluator_lock(self) -> EvaluatorLock:
        return _MemoryLock(self)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._holder = None
