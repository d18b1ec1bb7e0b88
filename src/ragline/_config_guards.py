"""The ``guards:`` section of ``ragline.yaml``: one policy block per guard (see the
README's Guardrails section), globally and per tenant. Re-exported by
:mod:`ragline.config`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from ragline._config_base import _Strict

GuardActionName = Literal["flag", "redact", "block"]
GuardStageName = Literal["input", "retrieval", "output"]


class _GuardPolicy(_Strict):
    enabled: bool = Field(True, description="false turns this guard off")
    on_error: Literal["block", "allow"] = Field(
        "block", description="a guard that raises: block the text (default) or let it through"
    )
    timeout_ms: int = Field(
        2000,
        ge=1,
        le=600_000,
        description="time budget per check; past it the call is abandoned and on_error "
        "decides (reason guard.timeout)",
    )


class InjectionPolicy(_GuardPolicy):
    action: GuardActionName = Field("block", description="what a detection does")
    threshold: float = Field(0.5, gt=0, le=1, description="score (0-1) at which it triggers")
    classifier: bool | Literal["auto"] = Field(
        "auto",
        description="also score questions with the bundled classifier (MiniLM embeddings, "
        "the question's own vector shared with retrieval); auto: on when the project "
        "embeds with minilm; true needs the minilm embedder",
    )
    classifier_fpr: float = Field(
        0.01,
        ge=0.01,
        le=0.05,
        description="the classifier's calibrated false-positive rate that `threshold` "
        "0.5 stands for (0.01 or 0.05)",
    )
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["input", "retrieval"]),
        description="where it checks: input (the question) and retrieval (each retrieved "
        "chunk, scored at ingest; a block drops the chunk)",
    )
    documents: Literal["drop", "quote", "flag"] | None = Field(
        None,
        description="what the retrieval stage does with a retrieved chunk scored at or "
        "above threshold: drop it (the default; with action: flag, flag), quote it (kept, "
        "shown to the answerer as untrusted quoted data, its instructions never quoted) "
        "or flag it (kept, recorded only)",
    )

    @property
    def document_action(self) -> Literal["drop", "quote", "flag"]:
        """``documents``, or what ``action`` implies when it is not set."""
        if self.documents is not None:
            return self.documents
        return "flag" if self.action == "flag" else "drop"


def check_pii_allow(entries: Iterable[object]) -> None:
    """A ValueError naming a bad ``guards.pii.allow`` entry: not text, empty, or written
    ``/…/`` but not a valid regular expression, or one that matches the empty text
    (it would allow everything). (Here: config imports no part; the guard calls it.)"""
    for i, entry in enumerate(entries):
        if not isinstance(entry, str) or not entry.strip():
            raise ValueError(
                f"allow[{i}] is empty ({entry!r}): give a value (help@example.com) or a "
                "regular expression between slashes (/.*@example\\.com/)"
            )
        if len(entry) >= 2 and entry.startswith("/") and entry.endswith("/"):
            try:
                pattern = re.compile(entry[1:-1], re.IGNORECASE)
            except re.error as e:
                raise ValueError(
                    f"allow[{i}] {entry!r} is not a valid regular expression ({e})"
                ) from None
            if pattern.fullmatch(""):
                raise ValueError(
                    f"allow[{i}] {entry!r} matches the empty text: it would allow every "
                    "value; write what an allowed value looks like"
                )


class PiiPolicy(_GuardPolicy):
    action: GuardActionName = Field("redact", description="what a detection does")
    threshold: float = Field(0.5, gt=0, le=1, description="unused: a checksum passes or not")
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["output"]),
        description="where it checks (output, input)",
    )
    labels: list[str] | None = Field(
        None, description="only these kinds (email, phone, card, iban, ip, ssn, nino, dni, nie)"
    )
    allow_published: bool = Field(
        True,
        description="an email or phone number that appears in the passages the answer "
        "cites (the company's published contact details) is not redacted in answers",
    )
    allow: list[str] = Field(
        default_factory=list,
        description="values never redacted: literal values (help@example.com, "
        "+31 20 555 0100) or regular expressions between slashes (/.*@example\\.com/)",
    )

    @field_validator("allow")
    @classmethod
    def _allow(cls, v: list[str]) -> list[str]:
        check_pii_allow(v)
        return v


UnsafeCategoryName = Literal[
    "privacy",
    "weapons",
    "poison",
    "theft",
    "cyber",
    "self_harm",
    "harm",
    "drugs",
    "crime",
    "tampering",
    "harassment",
    "misinformation",
]


class UnsafePolicy(_GuardPolicy):
    """Unsafe requests: a private person's data, or clear harm (on the question only)."""

    action: Literal["flag", "block"] = Field("block", description="what a detection does")
    categories: list[UnsafeCategoryName] | None = Field(
        None,
        description="only these (privacy, weapons, poison, theft, cyber, self_harm, harm, "
        "drugs, crime, tampering, harassment, misinformation); default: all",
    )


def check_topic(
    name: str,
    terms: Sequence[str] = (),
    patterns: Sequence[str] = (),
    examples: Sequence[str] = (),
) -> None:
    """A ValueError naming what is wrong with a banned topic: no name, nothing to match,
    an empty term, pattern or example, an invalid regular expression or one that
    matches the empty text. (Here, not in ``ragline.guards``: config imports no part.)"""
    if not name.strip():
        raise ValueError("a banned topic needs a name")
    if not terms and not patterns and not examples:
        raise ValueError(f"banned topic {name!r} has no terms or patterns")
    if any(not t.strip() for t in terms):
        raise ValueError(f"banned topic {name!r}: a banned term is empty")
    if any(not e.strip() for e in examples):
        raise ValueError(f"banned topic {name!r} has an empty example")
    for p in patterns:
        if not p.strip():
            raise ValueError(f"banned topic {name!r} has an empty pattern")
        try:
            compiled = re.compile(p)
        except re.error as e:
            raise ValueError(
                f"banned topic {name!r}: pattern {p!r} is not a valid regular expression ({e})"
            ) from None
        if compiled.fullmatch(""):
            raise ValueError(f"banned topic {name!r}: pattern {p!r} matches the empty text")


class BannedTopic(_Strict):
    """One banned topic: a name (reason code ``topic.<name>``) and what marks it."""

    name: str = Field(
        ..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="reason code topic.<name>"
    )
    terms: list[str] = Field(
        default_factory=list,
        description="words or phrases (whole words; any case, any accents)",
    )
    patterns: list[str] = Field(
        default_factory=list,
        description="regular expressions (case-insensitive, on accent-folded text)",
    )
    examples: list[str] = Field(
        default_factory=list,
        description="phrases matched by MiniLM similarity (needs guards.banned.similarity)",
    )

    @model_validator(mode="after")
    def _matches_something(self) -> BannedTopic:
        check_topic(self.name, self.terms, self.patterns, self.examples)
        return self


class BannedPolicy(_GuardPolicy):
    """Banned topics and terms: questions refused, answers refused or cut."""

    action: GuardActionName = Field(
        "block", description="block | flag | redact (the matched words become [removed])"
    )
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["input", "output"]),
        description="where it checks: input (the question), output (the answer), "
        "retrieval (each chunk; a block drops it)",
    )
    terms: list[str] = Field(
        default_factory=list, description="banned words or phrases (reason topic.banned_terms)"
    )
    patterns: list[str] = Field(
        default_factory=list, description="banned regular expressions (topic.banned_terms)"
    )
    topics: list[BannedTopic] = Field(default_factory=list, description="named banned topics")
    similarity: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="also refuse questions this similar (cosine, 0-1) to a topic's "
        "examples; needs the minilm embedder; ~5 ms per question (default: off, lexical)",
    )
    inherit: bool = Field(
        False,
        description="in a tenant: keep the global terms, patterns and topics and add "
        "these (default: this tenant's lists replace the global ones)",
    )

    @model_validator(mode="after")
    def _valid(self) -> BannedPolicy:
        if self.terms or self.patterns:
            check_topic("banned_terms", self.terms, self.patterns)
        names = [t.name for t in self.topics]
        dupes = sorted({n for n in names if names.count(n) > 1 or n == "banned_terms"})
        if dupes:
            raise ValueError(f"topic names must be unique (and not banned_terms): {dupes}")
        with_examples = [t.name for t in self.topics if t.examples]
        if with_examples and self.similarity is None:
            raise ValueError(
                f"topics {with_examples} have examples, which are matched by similarity: "
                "set guards.banned.similarity (e.g. 0.6) or remove the examples"
            )
        return self

    def over(self, base: BannedPolicy) -> BannedPolicy:
        """This (a tenant's) policy with ``base``'s lists first, when it inherits."""
        if not self.inherit:
            return self
        mine = {t.name for t in self.topics}
        return self.model_copy(
            update={
                "terms": [*base.terms, *self.terms],
                "patterns": [*base.patterns, *self.patterns],
                "topics": [*(t for t in base.topics if t.name not in mine), *self.topics],
                "similarity": base.similarity if self.similarity is None else self.similarity,
            }
        )


_GUARD_NAME = r"^[a-z][a-z0-9_-]{0,39}$"
_BUILTIN_GUARDS = frozenset(
    {
        "injection",
        "pii",
        "unsafe",
        "banned",
        "judge",
        "leak",
        "length",
        "language",
        "citation",
        "schema",
    }
)


class HttpGuardPolicy(_GuardPolicy):
    """An external classifier: POST ``{"text", "stage", "tenant"}`` to ``url``, read
    ``{"score": 0-1, "label"?, "reasons"?}``; a score at ``threshold`` or above triggers."""

    name: str = Field(
        ..., pattern=_GUARD_NAME, description="the guard's name in verdicts and metrics"
    )
    url: str = Field(..., pattern=r"^https?://", description="where to POST each text")
    action: Literal["flag", "block"] = Field("block", description="what a detection does")
    threshold: float = Field(0.5, gt=0, le=1, description="score (0-1) at which it triggers")
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["input"]),
        description="where it checks: input, retrieval (each retrieved chunk), output",
    )
    timeout_ms: int = Field(
        3000, ge=1, le=600_000, description="time budget per call (also the HTTP timeout)"
    )
    headers_env: dict[str, str] = Field(
        default_factory=dict,
        description="request headers, each read from the env var named here "
        "(e.g. {Authorization: CLASSIFIER_AUTH}); never the value itself",
    )
    max_chars: int = Field(
        20_000,
        ge=100,
        description="a longer text is sent as its first and last max_chars/2 characters",
    )

    @field_validator("headers_env")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for header, var in v.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
                raise ValueError(
                    f"header {header!r}: {var!r} is not an environment variable name "
                    "(put the secret in an env var and name the variable here)"
                )
        return v


def _unique_guard_names(policies: list[HttpGuardPolicy] | None) -> None:
    names = [p.name for p in policies or []]
    for name in names:
        if name in _BUILTIN_GUARDS:
            raise ValueError(f"guard name {name!r} is taken by a built-in guard")
        if names.count(name) > 1:
            raise ValueError(f"two guards are named {name!r}: give each its own name")


class JudgePolicy(_GuardPolicy):
    """A language model judges each text with a Llama-Guard-style prompt."""

    model: str = Field(
        ...,
        min_length=1,
        description="the judge's model spec (e.g. openai:llama-guard-3-8b with "
        "models.<spec>.base_url); models.<spec>.cache_ttl_s caches its verdicts",
    )
    action: Literal["flag", "block"] = Field("block", description="what 'unsafe' does")
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["input"]),
        description="where it judges: input, retrieval (each chunk: a call each), output",
    )
    timeout_ms: int = Field(
        5000, ge=1, le=600_000, description="time budget per call (caps the model's timeouts)"
    )
    prompt: str | None = Field(
        None,
        description="replaces the Llama Guard prompt: {conversation} (required), {role}, "
        "{categories}",
    )
    max_chars: int = Field(
        8000, ge=100, description="a longer text is judged on its first and last halves"
    )

    @field_validator("model")
    @classmethod
    def _a_model(cls, v: str) -> str:
        if v.strip() == "extractive":
            raise ValueError("the extractive answerer cannot judge: name a language model")
        return v

    @field_validator("prompt")
    @classmethod
    def _has_slot(cls, v: str | None) -> str | None:
        if v is not None and "{conversation}" not in v:
            raise ValueError("the prompt needs {conversation}, where the judged text goes")
        return v


class CustomGuardPolicy(_GuardPolicy):
    """A guard of your own: a class (or factory) implementing ``ragline.guards.Guard``."""

    guard: str = Field(
        ...,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="package.module:ClassName, importable (installed or on PYTHONPATH)",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments it is built with"
    )


class LeakPolicy(_GuardPolicy):
    action: GuardActionName = Field("block", description="what a detection does")
    canary: str | None = Field(
        None,
        min_length=12,
        description="the canary in the system prompt (default: made once per project "
        "in .ragline/canary)",
    )
    min_words: int = Field(
        10, ge=4, le=100, description="consecutive words of the system prompt that are a leak"
    )
    stages: list[GuardStageName] = Field(
        default_factory=lambda: list[GuardStageName](["output"]),
        description="where it checks (output)",
    )


class LengthPolicy(_GuardPolicy):
    enabled: bool = Field(False, description="true turns the length limit on")
    action: GuardActionName = Field(
        "redact", description="redact: cut at the last sentence that fits; block; flag"
    )
    max_chars: int = Field(4000, ge=50, description="longest answer, in characters")


class LanguagePolicy(_GuardPolicy):
    action: Literal["flag", "block"] = Field(
        "flag", description="an answer not in the tenant's languages: flag or block"
    )
    on_error: Literal["block", "allow"] = Field(
        "allow",
        description="a check that raises or times out: allow (default: a quality check, "
        "not a safety one) or block",
    )
    min_letters: int = Field(
        60, ge=20, description="shorter answers are not judged (too short to tell)"
    )


class CitationPolicy(_GuardPolicy):
    enabled: bool = Field(False, description="true requires every answer sentence be cited")
    action: GuardActionName = Field(
        "flag", description="redact: drop uncited sentences; block; flag"
    )


class SchemaPolicy(_GuardPolicy):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    action: Literal["flag", "block"] = Field(
        "block", description="an answer that is not JSON valid under the schema"
    )
    path: str | None = Field(
        None,
        alias="schema",
        description="JSON schema file every answer must be valid under (relative to the "
        "project folder); unset: answers are not JSON-checked",
    )


class GuardSettings(_Strict):
    """The guard policy; absent, the safe default: injection and unsafe requests
    blocked, PII redacted, system-prompt leaks blocked."""

    # populate_by_name: ``schema`` is the field ``schema_`` (a dump by name loads back)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    injection: InjectionPolicy = Field(default_factory=InjectionPolicy)
    pii: PiiPolicy = Field(default_factory=PiiPolicy)
    unsafe: UnsafePolicy = Field(default_factory=UnsafePolicy)
    banned: BannedPolicy = Field(default_factory=BannedPolicy)
    http: list[HttpGuardPolicy] = Field(
        default_factory=list, description="external classifiers, each POSTed every text"
    )
    judge: JudgePolicy | None = Field(
        None, description="a language model that judges texts (Llama-Guard style)"
    )
    custom: list[CustomGuardPolicy] = Field(
        default_factory=list, description="your own Guard classes, checked at start-up"
    )

    @model_validator(mode="after")
    def _names(self) -> GuardSettings:
        _unique_guard_names(self.http)
        return self

    leak: LeakPolicy = Field(default_factory=LeakPolicy)
    length: LengthPolicy = Field(default_factory=LengthPolicy)
    language: LanguagePolicy = Field(default_factory=LanguagePolicy)
    citation: CitationPolicy = Field(default_factory=CitationPolicy)
    schema_: SchemaPolicy = Field(default_factory=SchemaPolicy, alias="schema")


class TenantGuardSettings(_Strict):
    """A tenant's guards: each one given replaces the global policy of that guard."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    injection: InjectionPolicy | None = None
    pii: PiiPolicy | None = None
    unsafe: UnsafePolicy | None = None
    banned: BannedPolicy | None = None
    http: list[HttpGuardPolicy] | None = None
    judge: JudgePolicy | None = None
    custom: list[CustomGuardPolicy] | None = None

    @model_validator(mode="after")
    def _names(self) -> TenantGuardSettings:
        _unique_guard_names(self.http)
        return self

    leak: LeakPolicy | None = None
    length: LengthPolicy | None = None
    language: LanguagePolicy | None = None
    citation: CitationPolicy | None = None
    schema_: SchemaPolicy | None = Field(None, alias="schema")
