"""Running the configured guards on one text, and combining what they say.

:func:`build_guards` turns the ``guards:`` settings into a :class:`GuardSet` (built once
per tenant view). :meth:`GuardSet.run` checks a text with every enabled guard of the
stage, in order: a ``redact`` verdict rewrites the text the next guard sees; the
combined action is the most severe one (:data:`SEVERITY`: block > redact > flag >
allow). A guard that raises never fails the request: its ``on_error`` policy turns
the failure into a ``block`` (the default: fail closed) or an ``allow``, with the
reason ``guard.error``, and :attr:`GuardResult.errors` counts it. Each guard runs within
its ``timeout_ms`` (:mod:`ragline.guards._budget`): one past it is abandoned and handled
the same way, with the reason ``guard.timeout``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Literal

from ragline.errors import GuardError
from ragline.guards._base import SEVERITY, Action, Guard, GuardContext, GuardStage, Verdict
from ragline.guards._budget import Budget
from ragline.types import GuardTrigger

if TYPE_CHECKING:
    from pathlib import Path

    from ragline.config import (
        CustomGuardPolicy,
        GuardSettings,
        HttpGuardPolicy,
        InjectionPolicy,
        _GuardPolicy,
    )
    from ragline.embed import Embedder
    from ragline.guards._classifier import InjectionClassifier
    from ragline.guards._judge import SpanFactory
    from ragline.guards._language import DetectorFactory
    from ragline.models import Model
    from ragline.types import Chunk

log = logging.getLogger("ragline.guards")

#: the text a blocked ask answers with
REFUSAL_TEXT = "I can't help with that request: it was stopped by this assistant's safety policy."
OnError = Literal["block", "allow"]
#: a retrieved chunk the injection guard flags is dropped, kept as quoted untrusted data
#: (the answerer is told, see ``Hit.quoted``), or kept and recorded only
DocumentPolicy = Literal["drop", "quote", "flag"]
#: the guard action each document policy stands for at the retrieval stage
DOCUMENT_ACTIONS: dict[DocumentPolicy, Action] = {"drop": "block", "quote": "flag", "flag": "flag"}


@dataclass(frozen=True, slots=True)
class ConfiguredGuard:
    """A guard with its failure policy and time budget (``timeout_ms``; None: called
    inline, unbounded — :func:`build_guards` always gives one)."""

    guard: Guard
    on_error: OnError = "block"
    timeout_ms: float | None = None
    budget: Budget | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, guard: Guard, policy: _GuardPolicy) -> ConfiguredGuard:
        """``guard`` with the failure policy and budget of its ``guards:`` block."""
        return cls(guard, policy.on_error, policy.timeout_ms)

    def __post_init__(self) -> None:
        if self.timeout_ms is not None and self.budget is None:
            object.__setattr__(self, "budget", Budget(self.guard.name, self.timeout_ms))

    def call(self, fn: Callable[[], Verdict]) -> Verdict:
        """``fn`` (this guard's check) within the budget (see :mod:`._budget`)."""
        return fn() if self.budget is None else self.budget.call(fn)


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

    def __init__(
        self, guards: Sequence[ConfiguredGuard] = (), *, documents: DocumentPolicy = "drop"
    ) -> None:
        self.guards = list(guards)
        #: what the retrieval stage does with a chunk the injection guard flags (see
        #: :data:`DocumentPolicy`)
        self.documents: DocumentPolicy = documents

    def at(self, stage: GuardStage) -> list[ConfiguredGuard]:
        return [g for g in self.guards if stage in g.guard.stages]

    def __bool__(self) -> bool:
        return bool(self.guards)

    def warm(self) -> None:
        """Load what the guards load lazily (a ``warm()`` method, e.g. the language
        check's detector models), outside any guard's time budget: a first check must
        not spend its budget loading. Called before serving and before a first ask."""
        for configured in self.guards:
            warm = getattr(configured.guard, "warm", None)
            if callable(warm):
                warm()

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
                    verdict = configured.call(partial(check_chunk, chunk, context))
                else:
                    verdict = configured.call(partial(guard.check, result.text, context))
            except Exception as exc:  # a guard that fails is handled by its policy
                result.errors.append(f"{guard.name}: {type(exc).__name__}: {exc}")
                action: Action = "block" if configured.on_error == "block" else "allow"
                # guard.timeout for a call past its budget, guard.error for the rest
                reason = exc.reason if isinstance(exc, GuardError) else "guard.error"
                verdict = Verdict(guard=guard.name, action=action, reasons=(reason,))
            result.verdicts.append(verdict)
            if verdict.action == "redact" and verdict.redacted is not None:
                result.text = verdict.redacted
            if SEVERITY[verdict.action] > SEVERITY[result.action]:
                result.action = verdict.action
        return result


def instruction_threshold(settings: GuardSettings) -> float | None:
    """The score at which the extractive answerer refuses to quote a sentence as an
    instruction: the injection guard's threshold while it checks retrieved chunks, else
    None (the engineer turned document checks off)."""
    injection = settings.injection
    if injection.enabled and "retrieval" in injection.stages:
        return injection.threshold
    return None


def classifier_on(policy: InjectionPolicy, embedder_spec: str, *, embedder: bool = True) -> bool:
    """Whether the injection guard scores questions with the bundled classifier:
    ``classifier: true``, or ``auto`` (the default) in a project that embeds with MiniLM
    (``embedder`` False: guards built with no embedder to score with leave it off)."""
    if policy.classifier == "auto":
        return embedder and embedder_spec.strip().lower() == "minilm"
    return policy.classifier


def _when_it_fits(
    scorer: Callable[[Sequence[str]], list[float]],
    embedder: Callable[[], Embedder],
    dimension: int,
) -> Callable[[Sequence[str]], list[float]]:
    """``classifier: auto``: the classifier scores only if the project's embedder gives
    the vectors it was trained on; a project handed another embedder (``Project(...,
    embedder=...)``) runs without it rather than failing every question."""
    fits: list[bool] = []

    def score(texts: Sequence[str]) -> list[float]:
        if not fits:
            fits.append(embedder().dimension == dimension)
            if not fits[0]:
                log.warning("injection classifier off: the embedder is not MiniLM (auto)")
        return scorer(texts) if fits[0] else [0.0] * len(texts)

    return score


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


def check_similarity(embedder_spec: str) -> None:
    """A :class:`ConfigError` now, at start-up, when ``guards.banned.similarity`` is set
    but the project does not embed with MiniLM."""
    from ragline.errors import ConfigError

    if embedder_spec.strip().lower() != "minilm":
        raise ConfigError(
            "guards.banned.similarity compares questions with the bundled MiniLM "
            f"embeddings; this project embeds with {embedder_spec!r}",
            hint="set embedder: minilm, or remove guards.banned.similarity",
        )


def build_guards(
    settings: GuardSettings,
    *,
    embedder: Callable[[], Embedder] | None = None,
    embedder_spec: str = "minilm",
    models: Callable[[str, float], Model] | None = None,
    span: SpanFactory | None = None,
    canary: str | None = None,
    system_prompt: str = "",
    candidates: Sequence[str] = (),
    language_detector: DetectorFactory | None = None,
    tenant_languages: Sequence[Sequence[str]] = (),
    base_dir: Path | None = None,
) -> GuardSet:
    """The guards ``settings`` enable, each with its action, threshold and stages.

    ``embedder`` gives the embedder the injection classifier scores with (called at the
    first score); with ``guards.injection.classifier`` on, the weights load now, so a
    missing or corrupt file fails at start-up, not at the first question. ``models``
    builds the judge's model from its spec and budget (default
    :func:`~ragline.guards._judge.judge_model` with default settings); ``span`` traces
    the judge's model calls (``ragline.trace``'s ``span``; none when not given).

    The output checks: ``canary`` and ``system_prompt`` are what the leak guard looks
    for (the answerer's); ``candidates`` the languages the language guard's detector
    chooses between (``ingest.languages``) and ``language_detector`` makes that detector
    (ingest's; without it the language guard is not built); ``tenant_languages``
    are the tenants' ``languages`` lists (what :meth:`GuardSet.warm` loads it for); a relative
    ``guards.schema`` file is found in ``base_dir`` (the project folder).
    """
    from ragline.guards._injection import InjectionGuard
    from ragline.guards._pii import PiiGuard

    guards: list[ConfiguredGuard] = []
    injection = settings.injection
    if injection.enabled:
        scorer = None
        if classifier_on(injection, embedder_spec, embedder=embedder is not None):
            from ragline.errors import ConfigError

            if embedder is None:
                raise ConfigError(
                    "guards.injection.classifier needs the project's embedder",
                    hint="build the guards through a Project",
                )
            classifier = check_classifier(embedder_spec)
            scorer = classifier.guard_scorer(embedder, fpr=injection.classifier_fpr)
            if injection.classifier == "auto":
                scorer = _when_it_fits(scorer, embedder, classifier.dimension)
        guards.append(
            ConfiguredGuard.of(
                InjectionGuard(
                    action=injection.action,
                    threshold=injection.threshold,
                    stages=frozenset(injection.stages),
                    scorer=scorer,
                    document_action=DOCUMENT_ACTIONS[injection.document_action],
                ),
                injection,
            )
        )
    pii = settings.pii
    if pii.enabled:
        guards.append(
            ConfiguredGuard.of(
                PiiGuard(
                    action=pii.action,
                    stages=frozenset(pii.stages),
                    labels=pii.labels,
                    allow_published=pii.allow_published,
                    allow=pii.allow,
                ),
                pii,
            )
        )
    unsafe = settings.unsafe
    if unsafe.enabled:
        from ragline.guards._unsafe import UnsafeRequestGuard

        guards.append(
            ConfiguredGuard.of(
                UnsafeRequestGuard(action=unsafe.action, categories=unsafe.categories),
                unsafe,
            )
        )
    banned = settings.banned
    if banned.enabled and (banned.terms or banned.patterns or banned.topics):
        from ragline.guards._topics import Topic, TopicGuard, example_similarity

        topics = [
            Topic(t.name, tuple(t.terms), tuple(t.patterns), tuple(t.examples))
            for t in banned.topics
        ]
        if banned.terms or banned.patterns:
            topics.insert(0, Topic("banned_terms", tuple(banned.terms), tuple(banned.patterns)))
        similarity = None
        if banned.similarity is not None:
            from ragline.errors import ConfigError

            check_similarity(embedder_spec)
            if embedder is None:
                raise ConfigError(
                    "guards.banned.similarity needs the project's embedder",
                    hint="build the guards through a Project",
                )
            similarity = example_similarity(topics, embedder)
        guards.append(
            ConfiguredGuard.of(
                TopicGuard(
                    topics,
                    action=banned.action,
                    stages=frozenset(banned.stages),
                    similarity=similarity,
                    min_similarity=banned.similarity or 0.6,
                ),
                banned,
            )
        )
    for policy in settings.http:
        if policy.enabled:
            guards.append(http_guard(policy))
    judge = settings.judge
    if judge is not None and judge.enabled:
        from ragline.guards._judge import JudgeGuard, judge_model

        model = (models or judge_model)(judge.model, judge.timeout_ms)
        guard = JudgeGuard(
            model,
            action=judge.action,
            stages=frozenset(judge.stages),
            prompt=judge.prompt,
            max_chars=judge.max_chars,
            span=span,
        )
        guards.append(ConfiguredGuard.of(guard, judge))
    for custom in settings.custom:
        if custom.enabled:
            guards.append(custom_guard(custom, taken=[g.guard.name for g in guards]))
    guards.extend(
        output_checks(
            settings,
            canary=canary,
            system_prompt=system_prompt,
            candidates=candidates,
            language_detector=language_detector,
            tenant_languages=tenant_languages,
            base_dir=base_dir,
        )
    )
    documents = injection.document_action if injection.enabled else "drop"
    return GuardSet(guards, documents=documents)


def custom_guard(policy: CustomGuardPolicy, *, taken: Sequence[str] = ()) -> ConfiguredGuard:
    """A user's guard: ``policy.guard`` (``package.module:Name``) imported and called with
    ``policy.options``, and checked against the :class:`Guard` protocol — or a
    :class:`ConfigError` saying what is wrong with it."""
    import importlib

    from ragline.errors import ConfigError
    from ragline.guards._base import GUARD_STAGES

    where = f"guards.custom {policy.guard!r}"
    module_name, _, attr = policy.guard.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:
        raise ConfigError(
            f"{where}: cannot import {module_name}: {type(e).__name__}: {e}",
            hint="install the package or add its folder to PYTHONPATH",
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"{where}: {module_name} has no class or function {attr}")
    try:
        guard = factory(**policy.options)
    except Exception as e:
        raise ConfigError(
            f"{where}: building it with options {policy.options} failed: {type(e).__name__}: {e}",
            hint="check guards.custom[].options",
        ) from None
    stages = getattr(guard, "stages", None)
    name = getattr(guard, "name", None)
    if not isinstance(guard, Guard) or not callable(getattr(guard, "check", None)):
        raise ConfigError(
            f"{where} is not a Guard",
            hint="give it a name, stages and check(text, context) -> Verdict "
            "(ragline.guards.Guard; test it with ragline.testing.GuardConformance)",
        )
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: its name must be a non-empty string, not {name!r}")
    if not isinstance(stages, frozenset | set) or not stages or not stages <= set(GUARD_STAGES):
        raise ConfigError(
            f"{where}: its stages must be a non-empty set of {', '.join(GUARD_STAGES)}, "
            f"not {stages!r}"
        )
    if name in taken:
        raise ConfigError(
            f"{where}: another guard is already named {name!r}",
            hint="give each guard its own name (it is how verdicts and metrics tell them apart)",
        )
    return ConfiguredGuard.of(guard, policy)


def http_guard(policy: HttpGuardPolicy) -> ConfiguredGuard:
    """The HTTP classifier ``policy`` configures, its headers read from the environment
    now (a variable that is not set is a :class:`ConfigError` naming it)."""
    import os

    from ragline.errors import ConfigError
    from ragline.guards._http import HttpGuard

    headers: dict[str, str] = {}
    for header, var in policy.headers_env.items():
        value = os.environ.get(var)
        if not value:
            raise ConfigError(
                f"guards.http {policy.name!r}: header {header} reads the environment "
                f"variable {var}, which is not set",
                hint=f"export {var}=… before starting ragline, or drop the header",
            )
        headers[header] = value
    guard = HttpGuard(
        policy.name,
        policy.url,
        action=policy.action,
        threshold=policy.threshold,
        stages=frozenset(policy.stages),
        timeout_ms=policy.timeout_ms,
        headers=headers,
        max_chars=policy.max_chars,
    )
    return ConfiguredGuard.of(guard, policy)


def check_guards(settings: GuardSettings) -> None:
    """Fail now, at start-up, on what would fail the first ask: an HTTP guard's header
    variable that is not set, a judge model spec this build cannot make."""
    for policy in settings.http:
        if policy.enabled:
            http_guard(policy)
    if settings.judge is not None and settings.judge.enabled:
        from ragline.models._factory import check_spec

        check_spec(settings.judge.model)


def output_checks(
    settings: GuardSettings,
    *,
    canary: str | None = None,
    system_prompt: str = "",
    candidates: Sequence[str] = (),
    language_detector: DetectorFactory | None = None,
    tenant_languages: Sequence[Sequence[str]] = (),
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
            ConfiguredGuard.of(
                LeakGuard(
                    canary=leak.canary or canary,
                    system_prompt=system_prompt,
                    min_words=leak.min_words,
                    action=leak.action,
                    stages=frozenset(leak.stages),
                ),
                leak,
            )
        )
    length = settings.length
    if length.enabled:
        out.append(
            ConfiguredGuard.of(
                LengthGuard(max_chars=length.max_chars, action=length.action),
                length,
            )
        )
    language = settings.language
    if language.enabled and language_detector is not None:
        guard = LanguageGuard(
            language_detector,
            action=language.action,
            warm_for=tenant_languages,
            candidates=candidates or ("en", "es", "fr", "de", "it", "pt", "nl"),
            min_letters=language.min_letters,
        )
        out.append(ConfiguredGuard.of(guard, language))
    citation = settings.citation
    if citation.enabled:
        out.append(ConfiguredGuard.of(CitationGuard(action=citation.action), citation))
    schema = settings.schema_
    if schema.enabled and schema.path:
        from ragline.guards._schema import SchemaGuard, load_schema

        validator = load_schema(schema.path, base_dir=base_dir)
        out.append(ConfiguredGuard.of(SchemaGuard(validator, action=schema.action), schema))
    return out


__all__ = [
    "DOCUMENT_ACTIONS",
    "REFUSAL_TEXT",
    "ConfiguredGuard",
    "DocumentPolicy",
    "GuardResult",
    "GuardSet",
    "build_guards",
    "check_guards",
    "custom_guard",
    "http_guard",
    "instruction_threshold",
    "output_checks",
]
