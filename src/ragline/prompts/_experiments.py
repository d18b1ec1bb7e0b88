"""Experiments: which variant answers a request (``experiments:`` in ``ragline.yaml``).

Assignment is a stable hash: the sha256 of ``experiment name`` and the request's key
(its user id, conversation id or request id, per ``key:``) is read as a number in
[0, 1) and falls into one variant's share of the weights. The same key always lands
in the same variant (across processes and restarts: nothing is stored), a new key
lands in a variant with probability weight / sum of weights, and renaming the
experiment reshuffles everyone. A request without the key (no user id) is answered
by the first variant, the control, and says so (``key: none``).

In ``mode: shadow`` the first variant (the control) answers every request; each other
variant with a weight above 0 also answers the request in the background when the
request's key (its request id when it has none) falls in the experiment's ``sample``
share — a second stable hash, so a sampled user stays sampled. The assignment lists
those variants (``shadows``); :mod:`ragline.prompts._shadow` runs them.

One experiment at most applies to a request: the first active one whose tenants
include the request's (the configuration refuses overlapping ones). A trusted caller
may force a variant by name (HTTP ``X-Ragline-Variant``); a name the experiment does
not have is an :class:`~ragline.errors.InputError` listing the ones it has.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragline.errors import ConfigError, InputError, RaglineError

if TYPE_CHECKING:
    from ragline._config_experiments import ExperimentSettings, VariantSettings
    from ragline.answer._request import AskRequest
    from ragline.config import Settings


@dataclass(frozen=True, slots=True)
class Assignment:
    """The experiment and variant that answer one request, and why."""

    experiment: str
    variant: str
    key: str  #: "user", "conversation", "request", "forced" or "none" (no key: control)
    #: mode: shadow: the variants that also answer this request, in the background
    shadows: tuple[str, ...] = ()


def bucket(experiment: str, key: str) -> float:
    """The key's stable place in [0, 1) for ``experiment``."""
    digest = hashlib.sha256(f"{experiment}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(variants: Iterable[VariantSettings], point: float) -> VariantSettings:
    """The variant whose share of the weights holds ``point`` (in [0, 1))."""
    arms = list(variants)
    total = sum(v.weight for v in arms)
    edge = 0.0
    for variant in arms:
        edge += variant.weight / total
        if point < edge and variant.weight > 0:
            return variant
    return next(v for v in reversed(arms) if v.weight > 0)  # rounding at the very top


class Experiments:
    """Chooses the variant of each request (see the module docstring)."""

    def __init__(
        self, experiments: Iterable[ExperimentSettings], *, clock: Callable[[], float] | None = None
    ) -> None:
        self.experiments = list(experiments)
        self._clock = clock or time.time

    def running(self, tenant: str) -> ExperimentSettings | None:
        """The experiment that applies to ``tenant``'s requests now, if any."""
        now = self._clock()
        return next((e for e in self.experiments if e.covers(tenant) and e.active(now)), None)

    def assign(
        self,
        tenant: str,
        *,
        user: str | None = None,
        conversation: str | None = None,
        request: str | None = None,
        forced: str | None = None,
    ) -> Assignment | None:
        """The assignment of one request; None when no experiment applies to it."""
        experiment = self.running(tenant)
        if experiment is None:
            if forced:
                raise InputError(
                    f"variant {forced!r} was asked for, but no experiment runs for tenant "
                    f"{tenant!r} now",
                    hint="drop the X-Ragline-Variant header, or check experiments: in ragline.yaml",
                )
            return None
        if forced:
            names = [v.name for v in experiment.variants]
            if forced not in names:
                raise InputError(
                    f"experiment {experiment.name!r} has no variant {forced!r}",
                    hint="its variants are " + ", ".join(names),
                )
            return Assignment(experiment.name, forced, "forced")
        key = {"user": user, "conversation": conversation, "request": request}[experiment.key]
        if experiment.mode == "shadow":
            control = experiment.variants[0].name
            sampled = bucket(f"{experiment.name}\x00shadow", key or request or "") < (
                experiment.shadow.sample
            )
            shadows = tuple(v.name for v in experiment.variants[1:] if v.weight > 0)
            used = experiment.key if key else "none"
            return Assignment(experiment.name, control, used, shadows if sampled else ())
        if not key:
            return Assignment(experiment.name, experiment.variants[0].name, "none")
        chosen = pick(experiment.variants, bucket(experiment.name, key))
        return Assignment(experiment.name, chosen.name, experiment.key)

    def assign_request(
        self, request: AskRequest, *, conversation: str | None = None, forced: str | None = None
    ) -> AskRequest:
        """``request`` with the variant that answers it (unchanged when none applies)."""
        import uuid
        from dataclasses import replace

        assignment = self.assign(
            request.tenant,
            user=request.user,
            conversation=conversation,
            request=uuid.uuid4().hex,
            forced=forced,
        )
        return replace(request, assignment=assignment) if assignment else request


def check_experiments(
    settings: Settings,
    *,
    lookup: Callable[[str], object],
    build: Callable[[str | None, Assignment], None],
) -> None:
    """Every experiment's tenants exist and every variant works: its prompt is found
    (``lookup``: ``NAME`` or ``NAME@VERSION``) and its view builds (``build``). The first
    problem is a :class:`ConfigError` naming the experiment, the variant and the key."""
    known = set(settings.tenants) | {settings.default_tenant}
    for e in settings.experiments:
        unknown = sorted(set(e.tenants) - known)
        if unknown:
            raise ConfigError(
                f"experiments: {e.name}: tenants: unknown tenant {unknown[0]!r}",
                hint="the tenants are " + ", ".join(sorted(known)),
            )
        for v in e.variants:
            try:
                if v.prompt:
                    lookup(v.prompt)
                build(e.tenants[0] if e.tenants else None, Assignment(e.name, v.name, "check"))
            except RaglineError as err:
                key = "prompt" if v.prompt else "settings"
                raise ConfigError(
                    f"experiments: {e.name}: variant {v.name}: {key}: {err.message}",
                    hint=err.hint,
                ) from None


__all__ = ["Assignment", "Experiments", "bucket", "check_experiments", "pick"]
