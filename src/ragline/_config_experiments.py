"""The ``experiments:`` section of ``ragline.yaml``: A/B tests of prompts and settings.

Re-exported by :mod:`ragline.config`::

    experiments:
      - name: cite-v3
        mode: ab                     # ab: variants are served; shadow: see below
        key: user                    # what assignment hashes: user, conversation, request
        tenants: [acme]              # the scope (empty: every tenant)
        start: 2026-12-01T00:00:00Z  # optional window, UTC unless an offset is given
        stop: 2026-12-15T00:00:00Z
        variants:
          - {name: control, weight: 50}
          - name: v3
            weight: 50
            prompt: cite@3f2a9c12    # a prompt (NAME, or NAME@VERSION: that version)
            retrieval: {k: 8, fusion: weighted, dense_weight: 0.7}
            answer: {min_support: 0.5}

Weights are relative (50/50, 1/3, 0.9/0.1), at least one above zero.

``mode: shadow`` serves the first variant (the control) to everyone; each other variant
with a weight above 0 answers a sampled share of the same requests in the background
(``shadow: {sample, queue, workers, max_wait_s}``, see :class:`ShadowSettings`): never
shown, never delaying the response, traced as a ``ragline.shadow`` trace linked to the
served one (:mod:`ragline.prompts._shadow`). A variant's
``retrieval`` and ``answer`` keys override those sections for its requests and are
checked like the sections themselves when the project opens. Two experiments that could run on the
same tenant at the same time are refused (one request answers in one variant). The
prompt a variant names is checked when the project opens (:mod:`ragline.prompts`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, RootModel, ValidationError, field_validator, model_validator

from ragline._config_base import _Strict
from ragline.errors import ConfigError

if TYPE_CHECKING:
    from ragline.config import Settings

_NAME = re.compile(r"[A-Za-z0-9][\w.-]{0,63}\Z")


class VariantSettings(_Strict):
    """One arm of an experiment."""

    name: str = Field(description="the variant's name (X-Ragline-Variant forces it)")
    weight: float = Field(1.0, ge=0, description="relative share of the keys assigned to it")
    prompt: str | None = Field(
        None, description="the answer prompt: NAME (its labels) or NAME@VERSION (that version)"
    )
    retrieval: dict[str, Any] = Field(
        default_factory=dict, description="retrieval: keys for this variant (k, fusion, weights…)"
    )
    answer: dict[str, Any] = Field(
        default_factory=dict, description="answer: keys for this variant (min_support…)"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"variant name {value!r} is not valid: use letters, digits, '.', '_' or '-'"
            )
        return value

    @model_validator(mode="after")
    def _prompt(self) -> VariantSettings:
        if self.prompt is not None:
            name, _, version = self.prompt.partition("@")
            if not _NAME.match(name) or (version and not re.fullmatch(r"[0-9a-f]{4,64}", version)):
                raise ValueError(
                    f"variant {self.name!r}: prompt {self.prompt!r} is not NAME or NAME@VERSION"
                )
        return self


class ShadowSettings(_Strict):
    """How a ``mode: shadow`` experiment runs its shadow variants: its own bounded queue
    and workers, so shadow work never holds up a served request."""

    sample: float = Field(
        1.0, gt=0, le=1, description="share of the control's requests the shadows also answer"
    )
    queue: int = Field(
        64, ge=1, le=100_000, description="shadow runs waiting at most; more are dropped, counted"
    )
    workers: int = Field(1, ge=1, le=16, description="shadow runs at once (its concurrency)")
    max_wait_s: float = Field(
        60.0, gt=0, description="a shadow run waiting longer is dropped as stale, counted"
    )


class ExperimentSettings(_Strict):
    """One experiment: who is in it, when, and its weighted variants."""

    name: str = Field(description="the experiment's name (traces and responses carry it)")
    mode: Literal["ab", "shadow"] = Field(
        "ab", description="ab: the variants are served; shadow: the control is, the rest shadow"
    )
    key: Literal["user", "conversation", "request"] = Field(
        "user", description="what assignment hashes, so the same key keeps its variant"
    )
    tenants: list[str] = Field(default_factory=list, description="the scope; empty: all")
    start: datetime | None = Field(None, description="not before (UTC unless an offset)")
    stop: datetime | None = Field(None, description="not from this time on")
    variants: list[VariantSettings] = Field(min_length=2)
    shadow: ShadowSettings = Field(
        default_factory=ShadowSettings,
        description="mode: shadow only: sampling, queue and workers of the shadows",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"experiment name {value!r} is not valid: use letters, digits, '.', '_' or '-'"
            )
        return value

    @field_validator("start", "stop")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _check(self) -> ExperimentSettings:
        where = f"experiment {self.name!r}"
        if self.mode == "ab" and "shadow" in self.model_fields_set:
            raise ValueError(f"{where}: shadow: is for mode: shadow; drop it or set mode: shadow")
        names = [v.name for v in self.variants]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"{where}: two variants are named {twice[0]!r}")
        if self.mode == "shadow" and all(v.weight <= 0 for v in self.variants[1:]):
            raise ValueError(
                f"{where}: mode: shadow runs the variants after the first (the control) with a "
                "weight above 0, and every one has weight 0"
            )
        if sum(v.weight for v in self.variants) <= 0:
            raise ValueError(f"{where}: every variant's weight is 0; give one a weight above 0")
        if self.start and self.stop and self.stop <= self.start:
            raise ValueError(f"{where}: stop ({self.stop}) is not after start ({self.start})")
        return self

    def active(self, now: float) -> bool:
        """Whether the experiment runs at ``now`` (Unix seconds)."""
        if self.start is not None and now < self.start.timestamp():
            return False
        return self.stop is None or now < self.stop.timestamp()

    def covers(self, tenant: str) -> bool:
        return not self.tenants or tenant in self.tenants

    def variant(self, name: str) -> VariantSettings:
        found = next((v for v in self.variants if v.name == name), None)
        if found is None:
            raise KeyError(name)
        return found

    def apply(self, settings: Settings, variant: str) -> Settings:
        """``settings`` with ``variant``'s overrides (its prompt, retrieval, answer keys);
        an override the section refuses is a ``ConfigError`` naming it."""
        v = self.variant(variant)
        update: dict[str, Any] = {}
        sections: dict[str, dict[str, Any]] = {"retrieval": v.retrieval, "answer": dict(v.answer)}
        if v.prompt:
            sections["answer"]["template"] = v.prompt
        for key, overrides in sections.items():
            if not overrides:
                continue
            current = getattr(settings, key)
            try:
                update[key] = type(current).model_validate({**current.model_dump(), **overrides})
            except ValidationError as e:
                error = e.errors()[0]
                where = ".".join(str(p) for p in error["loc"])
                raise ConfigError(
                    f"{key}: {where}: {error['msg']}",
                    hint=f"fix experiments: {self.name}: variants: {v.name}: {key}",
                ) from None
        return settings.model_copy(update=update) if update else settings


def _overlap(a: ExperimentSettings, b: ExperimentSettings) -> bool:
    """Whether ``a`` and ``b`` could both run on one tenant at one time."""
    if a.tenants and b.tenants and not set(a.tenants) & set(b.tenants):
        return False
    a0 = a.start.timestamp() if a.start else float("-inf")
    a1 = a.stop.timestamp() if a.stop else float("inf")
    b0 = b.start.timestamp() if b.start else float("-inf")
    b1 = b.stop.timestamp() if b.stop else float("inf")
    return a0 < b1 and b0 < a1


class ExperimentsSettings(RootModel[list[ExperimentSettings]]):
    """Every experiment; no two may run on one tenant at one time."""

    root: list[ExperimentSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_overlap(self) -> ExperimentsSettings:
        seen: list[ExperimentSettings] = []
        for experiment in self.root:
            for other in seen:
                if other.name == experiment.name:
                    raise ValueError(f"two experiments are named {experiment.name!r}")
                if _overlap(other, experiment):
                    scope = ", ".join(sorted(set(other.tenants) & set(experiment.tenants)))
                    raise ValueError(
                        f"experiment {experiment.name!r} overlaps experiment {other.name!r} "
                        f"(tenants: {scope or 'all'}, at the same time): give them disjoint "
                        "tenants or start/stop windows"
                    )
            seen.append(experiment)
        return self

    def __iter__(self) -> Any:
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def find(self, name: str) -> ExperimentSettings | None:
        return next((e for e in self.root if e.name == name), None)


__all__ = ["ExperimentSettings", "ExperimentsSettings", "ShadowSettings", "VariantSettings"]
