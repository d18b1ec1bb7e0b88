"""The ``monitor:`` section of ``ragline.yaml``: rollups, retention and online scoring
(see the README's Monitoring section). Re-exported by :mod:`ragline.config`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ragline._config_alerts import Duration
from ragline._config_base import _Strict
from ragline._config_notify import NOTIFIER_TYPES, NotifierSettings


def _duration(value: str | float | None, what: str) -> str | float | None:
    if value is None:
        return None
    from ragline._duration import parse_duration
    from ragline.errors import InputError

    try:
        parse_duration(value, what=what)
    except InputError as e:
        raise ValueError(f"{e} ({e.hint})") from None
    return value


class RetentionSettings(_Strict):
    """How long ``ragline traces prune`` keeps data (unset: kept until pruned by hand)."""

    traces: str | float | None = Field(
        None, description="keep raw traces (spans, feedback) this long, e.g. 30d"
    )
    rollups: str | float | None = Field(
        None, description="keep per-minute rollups this long, e.g. 90d"
    )

    @field_validator("traces", "rollups")
    @classmethod
    def _check(cls, value: str | float | None, info: object) -> str | float | None:
        return _duration(value, f"monitor.retention.{getattr(info, 'field_name', '')}")


QualityMetric = Literal["citation_support", "faithfulness", "answer_relevance", "judge"]


def _default_quality_metrics() -> list[QualityMetric]:
    return ["citation_support", "faithfulness", "answer_relevance"]


class QualitySettings(_Strict):
    """Online quality scoring (``ragline.monitor._quality``): a share of live asks scored
    in the background with the evaluation metrics that need no gold answer."""

    sample_rate: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="share of answered asks to score (0: off; by trace id, so a replica "
        "or worker samples the same asks)",
    )
    metrics: list[QualityMetric] = Field(
        default_factory=_default_quality_metrics,
        min_length=1,
        description="citation_support, faithfulness (the support checker of `support:`), "
        "answer_relevance (the embedder), judge (an LLM, within its budget)",
    )
    judge_model: str | None = Field(
        None, description="model spec of the judge metric, e.g. openai:gpt-4o-mini"
    )
    judge_budget_usd: float = Field(
        1.0, ge=0.0, description="what the judge may spend per UTC day; then it is skipped"
    )
    judge_max_per_hour: int = Field(
        60, ge=0, description="judged asks per hour at most (a cap for models with no price)"
    )
    queue: int = Field(
        1000, ge=1, description="asks waiting to be scored at most; more are dropped, counted"
    )

    @model_validator(mode="after")
    def _judge_needs_a_model(self) -> QualitySettings:
        if "judge" in self.metrics and not self.judge_model:
            raise ValueError(
                "the judge metric needs a model: set monitor.quality.judge_model "
                "(e.g. openai:gpt-4o-mini or local), or drop judge from metrics"
            )
        if len(set(self.metrics)) != len(self.metrics):
            raise ValueError("a metric is listed twice in monitor.quality.metrics")
        return self


class MonitorSettings(_Strict):
    """Monitoring (``ragline.monitor``): per-minute rollups written alongside traces,
    where alert rules run, and where their notifications go."""

    rollups: bool = Field(
        True, description="write per-minute rollups of every traced ask (needs tracing)"
    )
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    interval: Duration = Field(
        60.0, description="how often alert rules are evaluated (in `ragline serve`)"
    )
    evaluate_in_server: bool = Field(
        True,
        description="evaluate rules inside `ragline serve` (one evaluator across workers "
        "and replicas); false: only `ragline monitor run --once` (cron)",
    )

    notifiers: dict[str, NotifierSettings] = Field(
        default_factory=dict,
        description="where alert notifications go: {NAME: {type: webhook|slack|pagerduty|"
        "email|file, ...}}",
    )

    @field_validator("notifiers", mode="before")
    @classmethod
    def _typed(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for name, block in v.items():
                if isinstance(block, dict) and "type" not in block:
                    raise ValueError(
                        f"notifier {name!r} has no type: set type to one of "
                        + ", ".join(NOTIFIER_TYPES)
                    )
        return v

    @field_validator("interval")
    @classmethod
    def _sane_interval(cls, v: float) -> float:
        if v < 1:
            raise ValueError(f"{v:g}s is too short: use at least 1s (e.g. 60s)")
        return v
