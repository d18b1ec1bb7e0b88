"""Promote an experiment's winning variant, per tenant, by moving a prompt label.

``promote`` points the label (default ``production``) of the variant's prompt at the
variant's version for one tenant (default: the default tenant, whose labels apply to
every tenant without its own). The move is one event in the label's history — who
(``experiments promote NAME VARIANT``), when, which version — written atomically by the
prompt store, and served within the registry's cache time (5 s) by every process.

A variant with no answers in the traces yet is refused (nothing shows it works) unless
``force``; a variant that changes settings only (retrieval, answer keys) has no prompt
to label and is refused with the keys to copy into ``ragline.yaml``. ``rollback`` moves
the label back to where it pointed before the experiment's last promotion, and refuses
when the label's last move was not one (``ragline prompts rollback`` undoes any move).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragline.errors import InputError
from ragline.prompts._registry import DEFAULT_LABEL

if TYPE_CHECKING:
    from ragline._config_experiments import ExperimentSettings
    from ragline.prompts._registry import PromptRegistry
    from ragline.store._prompts import LabelEvent

ACTOR = "experiments promote"


@dataclass(frozen=True, slots=True)
class Promotion:
    """What a promote or rollback did: the label's move, and where it pointed before."""

    experiment: str
    variant: str | None  #: None for a rollback
    event: LabelEvent
    previous: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "variant": self.variant,
            "previous": self.previous,
            **self.event.to_dict(),
        }


def promote(
    registry: PromptRegistry,
    experiment: ExperimentSettings,
    variant: str,
    *,
    tenant: str,
    answers: int,
    label: str = DEFAULT_LABEL,
    force: bool = False,
) -> Promotion:
    """Point ``label`` of the variant's prompt at its version for ``tenant``.

    ``answers``: how many of the variant's answers the traces hold (0 is refused
    without ``force``)."""
    names = [v.name for v in experiment.variants]
    if variant not in names:
        raise InputError(
            f"experiment {experiment.name!r} has no variant {variant!r}",
            hint="its variants are " + ", ".join(names),
        )
    chosen = experiment.variant(variant)
    if not chosen.prompt:
        keys = [k for k in ("retrieval", "answer") if getattr(chosen, k)]
        what = " and ".join(f"{k}: {getattr(chosen, k)}" for k in keys) or "nothing"
        raise InputError(
            f"variant {variant!r} of experiment {experiment.name!r} names no prompt, so there "
            f"is no label to move (it changes {what})",
            hint=f"copy those keys into ragline.yaml (tenants: {tenant}: …) to adopt it",
        )
    if answers == 0 and not force:
        raise InputError(
            f"variant {variant!r} of experiment {experiment.name!r} has no answers in the "
            "traces yet: nothing shows it works",
            hint="let the experiment run (ragline experiments report shows the data), "
            "or pass --force",
        )
    name, _, version = chosen.prompt.partition("@")
    target = registry.version(name, version) if version else registry.file(name)
    previous = registry.store.label(tenant, name, label)
    event = registry.set_label(
        name, target.version, label, tenant=tenant, actor=f"{ACTOR} {experiment.name} {variant}"
    )
    return Promotion(experiment.name, variant, event, previous)


def rollback(
    registry: PromptRegistry,
    experiment: ExperimentSettings,
    *,
    tenant: str,
    label: str = DEFAULT_LABEL,
) -> Promotion:
    """Undo the experiment's last promotion of ``label`` for ``tenant``."""
    prompts = sorted({v.prompt.partition("@")[0] for v in experiment.variants if v.prompt})
    if not prompts:
        raise InputError(
            f"experiment {experiment.name!r} has no prompt variants: nothing was promoted"
        )
    mine = f"{ACTOR} {experiment.name} "
    for name in prompts:
        history = registry.store.history(tenant, name, label)
        if history and history[-1].actor.startswith(mine):
            previous = history[-1].version
            event = registry.rollback(
                name, label, tenant=tenant, actor=f"experiments rollback {experiment.name}"
            )
            return Promotion(experiment.name, None, event, previous)
    raise InputError(
        f"the last move of label {label!r} (tenant {tenant!r}) of "
        + ", ".join(repr(p) for p in prompts)
        + f" was not a promotion by experiment {experiment.name!r}",
        hint="`ragline prompts show NAME` lists the moves; `ragline prompts rollback NAME` "
        "undoes any move",
    )


__all__ = ["Promotion", "promote", "rollback"]
