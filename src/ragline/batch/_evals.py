"""``ragline eval run --executor ray``: the cases run on Ray actors, scored and stored here.

:class:`RayTarget` wraps the local :class:`~ragline.evals._runner.ProjectTarget`: the
name, the fingerprint and the dataset check are the local target's (so a run's cache
keys, its resume and its comparison with a local run are unchanged), and only
``run_case`` goes to an actor. Each actor opens the project once (its own store
connection and models) and runs cases one at a time; the runner's threads hand each
case to an idle actor and score the output on the driver, which writes every result to
the eval store as before. The metrics are the local ones on the same outputs, so a Ray
run and a local run give the same metric values (latency and cost aside).

A worker killed mid-case is restarted and the case run again (an ask has no effect on
the documents; the lost attempt's trace may be missing or written twice).
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ragline.batch._embed import RETRIES, gather
from ragline.batch._ray import ExecutorSpec, cluster_cpus, ray_session
from ragline.evals._runner import ProjectTarget
from ragline.evals._types import Case, CaseOutput

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.evals._preflight import DatasetCheck


class _CaseActor:
    """Holds one opened project in a Ray worker and runs cases through it."""

    def __init__(self, open_project: Callable[[], Project], retrieval_only: bool) -> None:
        project = open_project()
        project.parts.load_models()
        self.target = ProjectTarget(project, retrieval_only=retrieval_only)

    def pid(self) -> int:
        return os.getpid()

    def run_case(self, case: Case) -> CaseOutput:
        return self.target.run_case(case)


class RayTarget:
    """A project target whose cases run on ``workers`` Ray actors."""

    def __init__(
        self,
        ray: ModuleType,
        local: ProjectTarget,
        open_project: Callable[[], Project],
        *,
        workers: int,
    ) -> None:
        self._ray = ray
        self.local = local
        self.name = local.name
        remote = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)
        self.actors = [
            remote(_CaseActor).remote(open_project, local.retrieval_only) for _ in range(workers)
        ]
        gather(ray, [a.pid.remote() for a in self.actors], "opening the project")
        self._idle: queue.Queue[Any] = queue.Queue()
        for actor in self.actors:
            self._idle.put(actor)

    @property
    def workers(self) -> int:
        return len(self.actors)

    def fingerprint(self, cases: Sequence[Case]) -> dict[str, Any]:
        return self.local.fingerprint(cases)

    def check_dataset(self, cases: Sequence[Case]) -> DatasetCheck:
        return self.local.check_dataset(cases)

    def run_case(self, case: Case) -> CaseOutput:
        actor = self._idle.get()
        try:
            out: CaseOutput = gather(self._ray, actor.run_case.remote(case), f"case {case.id}")
            return out
        finally:
            self._idle.put(actor)

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []


@contextmanager
def ray_target(
    spec: ExecutorSpec, local: ProjectTarget, *, workers: int | None = None
) -> Iterator[RayTarget]:
    """A :class:`RayTarget` for ``local``'s project with ``workers`` actors (default: one
    per cluster CPU), connected for the duration; its actors are stopped after."""
    with ray_session(spec) as ray:
        target = RayTarget(
            ray, local, local.project.reopener(), workers=workers or cluster_cpus(ray)
        )
        try:
            yield target
        finally:
            target.close()
