"""Running the configured guards on one text, and combining what they say.

:func:`build_guards` turns the ``guards:`` settings into a :class:`GuardSet` (built once
per tenant view). :meth:`GuardSet.run` checks a text with every enabled guard of the
stage, in order: a ``redact`` verdict rewrites the text the next guard sees; the
combined action is the most severe one (:data:`SEVERITY`: block > redact > flag >
allow). A guard that raises never fails the request: its ``on_error`` policy turns
the failure into a ``block`` (the default: fail closed) or an ``allow``, with the
reason ``guard.error``, and :attr:`GuardResult.errors` counts it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ragline.guards._base import SEVERITY, Action, Guard, GuardContext, GuardStage, Verdict
from ragline.types import GuardTrigger

if TYPE_CHECKING:
    from pathlib import Path

    from ragline.config import GuardSettings
    from ragline.embed import Embedder
    from ragline.guards._classifier import InjectionClassifier
    from ragline.guards._language import DetectorFactory
    from ragline.types import Chunk

#: the text a blocked ask answers with
REFUSAL_TEXT = "I can't help with that request: it was stopped by this assistant's safety policy."
OnError = Literal["block", "allow"]


@dataclass(frozen=True, slots=True)
class ConfiguredGuard:
    guard: Guard
    on_error: OnError = "block"


@dataclass(slots=True)
class GuardResult:
    """Every verdict of one stage on one text, and what they add up to."""

    stage: GuardStage
    text: str  #: the text to go on with (redacted where a guard redacted)
    verdicts: list[Verdict] = field(default_factory=list)
    action: Action = "allow"
    errors: list[str] = field(default_factory=list)  #: "guard: ExcType: message"

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    def triggers(self) -> list[GuardTrigger]:
        """The verdicts that did more than allow, as an answer carries them.

        A guard that raised carries only the exception's type as ``error``: an answer
        goes to clients, and a message may quote the text (the span keeps it whole)."""
        errors = {e.split(":", 1)[0]: e.split(": ", 2)[1] for e in self.errors}
        return [
            GuardTrigger(
                v.guard, self.stage, v.action, v.score, list(v.reasons), errors.get(v.guard)
            )
            for v in self.verdicts
            if v.triggered or v.guard in errors
        ]


class GuardSet:
    """The guards of one policy, in order; see the module docstring."""

    def __init__(self, guards: Sequence[ConfiguredGuard] = ()) -> None:
        self.guards = list(guards)

    def at(self, stage: GuardStage) -> list[ConfiguredGuard]:
        return [g for g in self.guards if stage in g.guard.stages]

    def __bool__(self) -> bool:
        return bool(self.guards)

    def run(self, text: str, context: GuardContext, *, chunk: Chunk | None = None) -> GuardResult:
        """Every guard of ``context.stage`` on ``text``. With ``chunk`` (the retrieval
        stage), a guard that scores chunks at ingest (``check_chunk``) reads that score
        while the text is still the chunk's own."""
        result = GuardResult(context.stage, text)
        for configured in self.at(context.stage):
            guard = configured.guard
            try:
                check_chunk = getattr(guard, "check_chunk", None)
                if chunk is not None and callable(check_chunk) and result.text == chunk.text:
                    verdict = check_chunk(chunk, context)
                else:
                    verdict = guard.check(result.text, context)
            except Exception as exc:  # a guard that fails is handled by its policy
                result.errors.append(f"{guard.name}: {type(exc).__name__}: {exc}")
                action: Action = "block" if configured.on_error == "block" else "allow"
                verdict = Verdict(guard=guard.name, action=action, reasons=("guard.error",))
            result.verdicts.append(verdict)
            if verdict.action == "redact" and verdict.redacted is not None:
                result.text = verdict.redacted
            if SEVERITY[verdict.action] > SEVERITY[result.action]:
                result.action = verdict.action
        return result


def check_classifier(embedder_spec: str) -> InjectionClassifier:
    """The injection classifier, loaded — or a :class:`ConfigError` now, at start-up: a
    missing or corrupt weights file (named), or an embedder it was not trained on."""
    from ragline.errors import ConfigError
    from ragline.guards._classifier import InjectionClassifier

    if embedder_spec.strip().lower() != "minilm":
        raise ConfigError(
            "guards.injection.classifier scores with the bundled MiniLM embeddings; "
            f"this project embeds with {embedder_spec!r}",
            hint="set embedder: minilm, or guards.injection.classifier: false",
        )
    return InjectionClassifier.load()


def build_guards(
    settings: GuardSettings,
    *,
    embedder: Callable[[], Embedder] | None = None,
    embedder_spec: str = "minilm",
    canary: str | None = None,
    system_prompt: str = "",
    candidates: Sequence[str] = (),
    language_detector: DetectorFactory | None = None,
    base_dir: Path | None = None,
) -> GuardSet:
    """The guards ``settings`` enable, each with its action, threshold and stages.

    ``embedder`` gives the embedder the injection classifier scores with (called at the
    first score); with ``guards.injection.classifier`` on, the weights load now, so a
    missing or corrupt file fails at start-up, not at the first question.

    The output checks: ``canary`` and ``system_prompt`` are what the leak guard looks
    for (the answerer's); ``candidates`` the languages the language guard's detector
    chooses between (``ingest.languages``) and ``language_detector`` makes that detector
    (ingest's; without it the language guard is not built); a relative
    ``guards.schema`` file is found in ``base_dir`` (the project folder).
    """
    from ragline.guards._injection import InjectionGuard
    from ragline.guards._pii import PiiGuard

    guards: list[ConfiguredGuard] = []
    injection = settings.injection
    if injection.enabled:
        scorer = None
        if injection.classifier:
            from ragline.errors import ConfigError

            if embedder is None:
                raise ConfigError(
                    "guards.injection.classifier needs the project's embedder",
                    hint="build the guards through a Project",
                )
            classifier = check_classifier(embedder_spec)
            scorer = classifier.guard_scorer(embedder, fpr=injection.classifier_fpr)
        guards.append(
            ConfiguredGuard(
                InjectionGuard(
                    action=injection.action,
                    threshold=injection.threshold,
                    stages=frozenset(injection.stages),
                    scorer=scorer,
                ),
                injection.on_error,
            )
        )
    pii = settings.pii
    if pii.enabled:
        guards.append(
            ConfiguredGuard(
                PiiGuard(action=pii.action, stages=frozenset(pii.stages), labels=pii.labels),
                pii.on_error,
            )
        )
    guards.extend(
        output_checks(
            settings,
            canary=canary,
            system_prompt=system_prompt,
            candidates=candidates,
            language_detector=language_detector,
            base_dir=base_dir,
        )
    )
    return GuardSet(guards)


def output_checks(
    settings: GuardSettings,
    *,
    canary: str | None = None,
    system_prompt: str = "",
    candidates: Sequence[str] = (),
    language_detector: DetectorFactory | None = None,
    base_dir: Path | None = None,
) -> list[ConfiguredGuard]:
    """The enabled answer checks: system-prompt leak, length, language, citations."""
    from ragline.guards._citation import CitationGuard
    from ragline.guards._language import LanguageGuard
    from ragline.guards._leak import LeakGuard
    from ragline.guards._length import LengthGuard

    out: list[ConfiguredGuard] = []
    leak = settings.leak
    if leak.enabled and (leak.canary or canary or system_prompt):
        out.append(
            ConfiguredGuard(
                LeakGuard(
                    canary=leak.canary or canary,
                    system_prompt=system_prompt,
                    min_words=leak.min_words,
                    action=leak.action,
                    stages=frozenset(leak.stages),
                ),
                leak.on_error,
            )
        )
    length = settings.length
    if length.enabled:
        out.append(
            ConfiguredGuard(
                LengthGuard(max_chars=length.max_chars, action=length.action), length.on_error
            )
        )
    language = settings.language
    if language.enabled and language_detector is not None:
        guard = LanguageGuard(
            language_detector,
            action=language.action,
            candidates=candidates or ("en", "es", "fr", "de", "it", "pt", "nl"),
            min_letters=language.min_letters,
        )
        out.append(ConfiguredGuard(guard, language.on_error))
    citation = settings.citation
    if citation.enabled:
        out.append(ConfiguredGuard(CitationGuard(action=citation.action), citation.on_error))
    schema = settings.schema_
    if schema.enabled and schema.path:
        from ragline.guards._schema import SchemaGuard, load_schema

        validator = load_schema(schema.path, base_dir=base_dir)
        out.append(ConfiguredGuard(SchemaGuard(validator, action=schema.action), schema.on_error))
    return out


__all__ = ["REFUSAL_TEXT", "ConfiguredGuard", "GuardResult", "GuardSet", "build_guards"]
