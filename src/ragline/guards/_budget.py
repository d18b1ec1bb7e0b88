"""A time budget per guard call: the request goes on when a guard does not return.

Every configured guard's ``check`` runs on a worker thread of one shared, bounded pool
(:data:`MAX_WORKERS` daemon threads, made on demand, reused by every request) and the
request waits at most the guard's ``timeout_ms``. Past it, the call is abandoned and
:class:`~ragline.errors.GuardTimeout` raised, which the guard set turns into the guard's
``on_error`` verdict with the reason ``guard.timeout``.

Why a worker thread and not only the backends' own client timeouts: the budget must hold
for every guard, a user's own guard included, and a CPU-bound check cannot be
interrupted from outside. The network backends (HTTP classifier, LLM judge) *also* set
their client timeouts to the budget, so the thread of a call abandoned on a dead server
is free again soon after. A thread cannot be killed, so an abandoned call keeps its
worker until it returns; to keep one hung guard from taking the whole pool, a guard with
:data:`MAX_ABANDONED` calls still running past their budget fails at once (the same
``guard.timeout``) until one of them returns. No request makes a thread of its own: the
pool never holds more than :data:`MAX_WORKERS`, and the workers are daemons, so a hung
guard never holds up the process's exit.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from ragline.errors import GuardTimeout

T = TypeVar("T")

#: worker threads at most, shared by every guard of every tenant
MAX_WORKERS = 64
#: calls of one guard still running past their budget before it fails without a try
MAX_ABANDONED = 4


class _Job(Generic[T]):
    __slots__ = ("_lock", "done", "error", "fn", "on_finish", "state", "value")

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None
        self.state = "pending"  # → running → finished, or pending → cancelled
        self.on_finish: Callable[[], None] | None = None  # set when abandoned while running
        self._lock = threading.Lock()

    def claim(self) -> bool:
        with self._lock:
            if self.state != "pending":
                return False
            self.state = "running"
            return True

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:  # handed to the waiting request
            self.error = exc
        with self._lock:
            self.state = "finished"
            finish = self.on_finish
        self.done.set()
        if finish is not None:
            finish()

    def abandon(self, on_finish: Callable[[], None]) -> bool:
        """Give up on this job: True when it was still running (``on_finish`` then runs
        when it returns), False when it had not started (it never will)."""
        with self._lock:
            if self.state == "pending":
                self.state = "cancelled"
                return False
            if self.state == "running":
                self.on_finish = on_finish
                return True
            return False  # it finished just now


class WorkerPool:
    """Daemon threads running guard calls; see the module docstring."""

    def __init__(self, max_workers: int = MAX_WORKERS) -> None:
        self.max_workers = max_workers
        self._jobs: queue.SimpleQueue[_Job[object]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    @property
    def threads(self) -> int:
        """Worker threads made so far (they live as long as the process)."""
        return self._threads

    def submit(self, fn: Callable[[], T]) -> _Job[T]:
        job = _Job(fn)
        with self._lock:
            if self._idle == 0 and self._threads < self.max_workers:
                self._threads += 1
                threading.Thread(
                    target=self._work, name=f"ragline-guard-{self._threads}", daemon=True
                ).start()
            else:
                self._idle -= 1 if self._idle else 0  # that idle worker takes this job
        self._jobs.put(job)  # type: ignore[arg-type]
        return job

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job.claim():
                job.run()
            with self._lock:
                self._idle += 1


class Budget:
    """One guard's budget: :meth:`call` runs ``fn`` within ``timeout_ms`` or raises
    :class:`GuardTimeout`, counting the calls it abandoned that are still running."""

    def __init__(self, name: str, timeout_ms: float, pool: WorkerPool | None = None) -> None:
        self.name = name
        self.timeout_ms = timeout_ms
        self._pool = pool
        self._lock = threading.Lock()
        self.abandoned = 0  #: calls past their budget that have not returned yet

    def call(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self.abandoned >= MAX_ABANDONED:
                raise GuardTimeout(
                    f"guard {self.name!r} has {self.abandoned} calls still running past its "
                    f"{self.timeout_ms:g} ms budget; not called again until one returns",
                    hint="check the guard's backend, or raise its timeout_ms",
                )
        # the request's context travels with the call: a guard's spans (the judge's
        # model call) nest under the guard stage, as they would inline
        context = contextvars.copy_context()
        job = (self._pool or shared_pool()).submit(lambda: context.run(fn))
        if not job.done.wait(self.timeout_ms / 1000.0):
            if job.abandon(self._returned):
                with self._lock:
                    self.abandoned += 1
            if not job.done.is_set():
                raise GuardTimeout(
                    f"guard {self.name!r} took longer than its {self.timeout_ms:g} ms budget; "
                    "the call was abandoned",
                    hint="check the guard's backend, or raise its timeout_ms",
                )
        if job.error is not None:
            raise job.error
        return job.value  # type: ignore[return-value]

    def _returned(self) -> None:
        with self._lock:
            self.abandoned -= 1


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> WorkerPool:
    """The process's one pool of guard workers (made on first use)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = WorkerPool()
    return _shared


__all__ = ["MAX_ABANDONED", "MAX_WORKERS", "Budget", "WorkerPool", "shared_pool"]
