"""``Project.replay``: re-run a project's traced asks under candidate settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.evals._replay import ReplayQuery, ReplayReport
    from ragline.evals._types import Case


def replay_project(
    project: Project,
    query: ReplayQuery | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    retrieval_only: bool = False,
    cases: Sequence[Case] = (),
    metrics: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """See :meth:`ragline.Project.replay`. Writes nothing."""
    from ragline.evals._replay import Replayer, ReplayQuery, candidate_settings

    settings = candidate_settings(
        project.path,
        project.settings,
        overrides=overrides,
        config_file=config_file,
        base_overrides=project._overrides,
        base_config_file=project._config_file,
    )
    project.flush_traces(project.settings.tracing.flush_timeout_s)
    candidate = project.parts.candidate(settings)
    replayer = Replayer(candidate, base_settings=project.settings, traces=project.trace_store)
    replayer.metrics = metrics
    config = {
        "overrides": dict(overrides or {}),
        "config_file": str(config_file) if config_file is not None else None,
    }
    return replayer.run(
        query or ReplayQuery(),
        retrieval_only=retrieval_only,
        cases=cases,
        config=config,
        on_progress=on_progress,
    )


__all__ = ["replay_project"]
