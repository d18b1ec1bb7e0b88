"""The ``alerts:`` and ``monitor:`` sections of ``ragline.yaml``: alert rules over the
windowed metrics of :data:`ragline.monitor.METRICS`, and where they run. Re-exported by
:mod:`ragline.config`.

A rule is checked against the metric catalogue when the file is loaded: an unknown
metric, aggregation or filter, a window that is not whole minutes (rollups are per
minute), a condition that does not parse or a resolve threshold on the wrong side is
one :class:`~ragline.errors.ConfigError` naming the rule and its key, e.g.
``alerts.rules[0]: rule 'ask-p95': agg: 'p42' is not an aggregation of metric latency``.

Durations are ``30s``, ``5m``, ``2h``, ``1d`` or a number of seconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ragline._config_base import _Strict

_MAX_WINDOW_S = 31 * 86400.0


def parse_duration_s(value: Any) -> float:
    """``30s``/``5m``/``2h``/``1d``/``1w`` or a number of seconds → seconds (ValueError);
    the same parser as ``--window`` and ``monitor.retention`` (:mod:`ragline._duration`)."""
    from ragline._duration import parse_duration
    from ragline.errors import InputError

    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not a duration (use 30s, 5m, 2h or 1d)")
    try:
        return parse_duration(value, zero=True)
    except InputError:
        raise ValueError(f"{value!r} is not a duration (use 30s, 5m, 2h or 1d)") from None


Duration = Annotated[float, BeforeValidator(parse_duration_s)]

Severity = Literal["critical", "error", "warning", "info"]
NoData = Literal["ok", "keep", "alert"]
Op = Literal[">", ">=", "<", "<="]

_CONDITION = re.compile(r"(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)", re.I)
_CHANGE = re.compile(r"(increase|decrease)\s+(\d+(?:\.\d+)?)\s*%", re.I)


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed ``condition:``: ``> 2000`` (the value), or ``increase 50%`` /
    ``decrease 20%`` (the value against the same aggregation over the baseline window,
    in percent of the baseline)."""

    kind: Literal["value", "increase", "decrease"]
    op: Op
    threshold: float

    def crosses(self, observed: float, threshold: float | None = None) -> bool:
        """Whether ``observed`` is on the alerting side of ``threshold`` (default: the
        condition's own; the resolve threshold when hysteresis applies)."""
        t = self.threshold if threshold is None else threshold
        if self.op == ">":
            return observed > t
        if self.op == ">=":
            return observed >= t
        if self.op == "<":
            return observed < t
        return observed <= t

    @property
    def upward(self) -> bool:
        return self.op in (">", ">=")

    def __str__(self) -> str:
        if self.kind == "value":
            return f"{self.op} {self.threshold:g}"
        return f"{self.kind} {self.threshold:g}%"


def parse_condition(text: str) -> Condition:
    """``> 2000``, ``<= 0.9``, ``increase 50%``, ``decrease 20%`` (ValueError otherwise)."""
    s = text.strip()
    m = _CONDITION.fullmatch(s)
    if m:
        op: Op = m.group(1)  # type: ignore[assignment]
        return Condition("value", op, float(m.group(2)))
    m = _CHANGE.fullmatch(s)
    if m:
        kind: Literal["increase", "decrease"] = m.group(1).lower()  # type: ignore[assignment]
        return Condition(kind, ">=", float(m.group(2)))
    raise ValueError(
        f"{text!r} is not a condition (use '> 2000', '< 0.9', 'increase 50%' or 'decrease 20%')"
    )


class AlertRule(_Strict):
    """One alert rule (an item of ``alerts.rules``)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=120)
    metric: str = Field(description="a metric of `ragline monitor metrics` (e.g. latency)")
    agg: str = Field(description="aggregation: count, rate, mean, p50, p95, p99, max, psi, ks")
    filter: dict[str, str] = Field(
        default_factory=dict,
        description="slice: tenant, route, stage, model, doc_type, kind (as the metric allows)",
    )
    window: Duration = Field(300.0, description="the window the value is computed over")
    condition: str = Field(description="'> 2000', '< 0.9', 'increase 50%', 'decrease 20%'")
    baseline: Duration | None = Field(
        None,
        description="change and drift rules (increase/decrease, psi, ks): the window before "
        "the evaluated one that it is compared with, e.g. 24h",
    )
    for_: Duration = Field(
        0.0, alias="for", description="how long the condition must hold before it fires"
    )
    resolve: float | None = Field(
        None,
        description="hysteresis: a firing alert resolves only once the value is back past "
        "this threshold (default: the condition's threshold)",
    )
    no_data: NoData = Field(
        "ok",
        description="an empty window (no requests: not zero): ok (counts as healthy), keep "
        "(the state stays as it is) or alert (counts as crossing)",
    )
    min_samples: int = Field(
        1, ge=1, description="a window with fewer asks/items than this counts as no data"
    )
    severity: Severity = "warning"
    summary: str | None = Field(
        None, description="the notification's text (default: metric, value and threshold)"
    )
    labels: dict[str, str] = Field(default_factory=dict, description="added to notifications")
    channels: list[str] | None = Field(
        None, description="notifier names (default: every configured channel)"
    )
    group_by: list[str] | None = Field(None, description="default: alerts.group_by")
    group_wait: Duration | None = Field(None, description="default: alerts.group_wait")
    repeat_interval: Duration | None = Field(None, description="default: alerts.repeat_interval")

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_rule(cls, data: Any, handler: ModelWrapValidatorHandler[AlertRule]) -> AlertRule:
        """Every problem in a rule is one error naming the rule and the key."""
        name = data.get("name") if isinstance(data, dict) else None
        who = f"rule {name!r}" if isinstance(name, str) and name else "a rule without a name"
        try:
            rule = handler(data)
        except ValidationError as e:
            err = e.errors()[0]
            key = ".".join(str(x) for x in err["loc"]) or "(rule)"
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                known = ", ".join(sorted(f.alias or n for n, f in cls.model_fields.items()))
                msg = f"unknown key (known keys: {known})"
            elif err["type"] == "missing":
                msg = "is required"
            raise PydanticCustomError(
                "alert_rule", "{who}: {key}: {msg}", {"who": who, "key": key, "msg": msg}
            ) from None
        try:
            rule._fits_the_catalogue()
        except ValueError as e:  # the message starts with the key
            raise PydanticCustomError(
                "alert_rule", "{who}: {msg}", {"who": who, "msg": str(e)}
            ) from None
        return rule

    @field_validator("condition")
    @classmethod
    def _condition_parses(cls, v: str) -> str:
        parse_condition(v)
        return v

    @field_validator("window")
    @classmethod
    def _whole_minutes(cls, v: float) -> float:
        if v < 60 or v % 60 or v > _MAX_WINDOW_S:
            raise ValueError(
                f"{v:g}s is not a window: use whole minutes from 1m to 31d "
                "(metrics are kept per minute)"
            )
        return v

    @field_validator("baseline")
    @classmethod
    def _baseline_minutes(cls, v: float | None) -> float | None:
        if v is not None and (v < 60 or v % 60 or v > _MAX_WINDOW_S):
            raise ValueError(f"{v:g}s is not a baseline window: use whole minutes from 1m to 31d")
        return v

    def _fits_the_catalogue(self) -> None:
        """The rule against the metric catalogue; a ValueError starting with the key."""
        from ragline._metric_catalogue import METRICS

        info = METRICS.get(self.metric)
        if info is None:
            raise ValueError(
                f"metric: {self.metric!r} is not a metric (known: {', '.join(sorted(METRICS))})"
            )
        if self.agg not in info.aggregations:
            raise ValueError(
                f"agg: {self.agg!r} is not an aggregation of metric {self.metric} "
                f"(use {', '.join(info.aggregations)})"
            )
        for key in self.filter:
            if key not in info.filters:
                raise ValueError(
                    f"filter.{key}: metric {self.metric} cannot be filtered by {key!r} "
                    f"(use {', '.join(info.filters)})"
                )
        cond = self.parsed_condition
        drift = self.agg in ("psi", "ks")
        if (cond.kind != "value" or drift) and self.baseline is None:
            what = f"agg {self.agg}" if drift else f"condition {self.condition!r}"
            raise ValueError(f"baseline: {what} compares with a baseline window: set e.g. 24h")
        if drift and cond.kind != "value":
            raise ValueError(
                f"condition: agg {self.agg} is already a drift score: use e.g. '> 0.2'"
            )
        if self.resolve is not None:
            if not math.isfinite(self.resolve):
                raise ValueError("resolve: must be a finite number")
            wrong = self.resolve > cond.threshold if cond.upward else self.resolve < cond.threshold
            if wrong:
                side = "at or below" if cond.upward else "at or above"
                raise ValueError(
                    f"resolve: {self.resolve:g} must be {side} the threshold {cond.threshold:g} "
                    "(a firing alert resolves once the value is back past it)"
                )

    @property
    def parsed_condition(self) -> Condition:
        return parse_condition(self.condition)


class AlertSettings(_Strict):
    """``alerts:``: the rules and how their notifications are grouped."""

    rules: list[AlertRule] = Field(default_factory=list)
    group_by: list[str] = Field(
        default_factory=lambda: ["rule"],
        description="alerts with the same values of these labels (rule, severity, any "
        "rule label) are one notification",
    )
    group_wait: Duration = Field(
        0.0, description="a new group's first notification waits this long for others to join"
    )
    repeat_interval: Duration = Field(
        4 * 3600.0, description="a firing alert is notified again only after this long"
    )

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[AlertRule]) -> list[AlertRule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule {rule.name!r}: name: two rules share this name")
            seen.add(rule.name)
        return rules


def check_alert_channels(alerts: AlertSettings, known: set[str]) -> None:
    """A rule naming a channel that is not a configured notifier is an error."""
    for i, rule in enumerate(alerts.rules):
        for channel in rule.channels or ():
            if channel not in known:
                names = ", ".join(sorted(known)) or "none"
                msg = (
                    f"alerts.rules[{i}]: rule {rule.name!r}: channels: {channel!r} is not a "
                    f"configured notifier (configured: {names}; add it under "
                    "monitor.notifiers)"
                )
                raise PydanticCustomError("alert_channel", "{msg}", {"msg": msg})


def configured_channels(settings: Any) -> set[str]:
    """The notifier names configured under ``monitor.notifiers``."""
    return {str(k) for k in settings.monitor.notifiers}
