"""The ``monitor:`` section of ``ragline.yaml``: rollups, retention and online scoring
(see the README's Monitoring section). Re-exported by :mod:`ragline.config`.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ragline._config_base import _Strict


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
    """Monitoring (``ragline.monitor``): per-minute rollups written alongside traces."""

    rollups: bool = Field(
        True, description="write per-minute rollups of every traced ask (needs tracing)"
    )
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
