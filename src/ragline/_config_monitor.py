"""The ``monitor:`` section of ``ragline.yaml``: rollups, retention and online scoring
(see the README's Monitoring section). Re-exported by :mod:`ragline.config`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

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


class MonitorSettings(_Strict):
    """Monitoring (``ragline.monitor``): per-minute rollups written alongside traces,
    where alert rules run, and where their notifications go."""

    rollups: bool = Field(
        True, description="write per-minute rollups of every traced ask (needs tracing)"
    )
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
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
