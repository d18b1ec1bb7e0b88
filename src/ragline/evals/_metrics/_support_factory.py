"""The support checker ``ragline.yaml`` asks for (``support:``), built in one place.

:func:`check_support` is what the project checks when it starts (a bad NLI folder or
judge spec: a :class:`~ragline.errors.ConfigError` naming it, before any work);
:func:`build_support_checker` builds the checker (an NLI model is opened here, so a
corrupt ``model.onnx`` fails here, named).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ragline.errors import ConfigError

if TYPE_CHECKING:
    from ragline.config import Settings
    from ragline.embed._base import Embedder
    from ragline.evals._metrics._support import SupportChecker


def _model_dir(settings: Settings, base_dir: Path) -> Path:
    folder = Path(settings.support.model_dir or "").expanduser()
    return folder if folder.is_absolute() else base_dir / folder


def _judge_spec(settings: Settings) -> str:
    spec = settings.support.model or settings.evals.judge
    if not spec:
        raise ConfigError(
            "support.checker judge needs a model",
            hint="set support.model (or evals.judge) to a model spec, e.g. local or "
            "openai:gpt-4o-mini",
        )
    if spec.strip() == "extractive":
        raise ConfigError(
            "the extractive answerer cannot judge support: name a language model",
            hint="set support.model to local, openai:<model> or anthropic:<model>",
        )
    return spec


def check_support(settings: Settings, *, base_dir: Path) -> None:
    """Raise :class:`ConfigError` now if the configured checker cannot be built."""
    if settings.support.checker == "nli":
        from ragline.evals._metrics._support_nli import check_nli_folder

        check_nli_folder(_model_dir(settings, base_dir))
    elif settings.support.checker == "judge":
        from ragline.models._factory import check_spec

        check_spec(_judge_spec(settings))


def build_support_checker(
    settings: Settings, *, embedder: Embedder | None = None, base_dir: Path
) -> SupportChecker:
    """The checker ``support.checker`` names, with its settings."""
    s = settings.support
    if s.checker == "nli":
        from ragline.evals._metrics._support_nli import NLISupport

        return NLISupport(
            _model_dir(settings, base_dir),
            threshold=0.5 if s.threshold is None else s.threshold,
            max_length=s.max_length,
            max_windows=s.max_windows,
        )
    if s.checker == "judge":
        from ragline.evals._metrics._support_judge import JudgeSupport
        from ragline.models import build_model

        return JudgeSupport(
            build_model(_judge_spec(settings), settings),
            batch_size=s.batch_size,
            timeout_s=s.timeout_s,
        )
    from ragline.evals._metrics._support import support_checker

    return support_checker(s.checker, embedder, threshold=s.eval_threshold)


__all__ = ["build_support_checker", "check_support"]
