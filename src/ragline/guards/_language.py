"""Answer language: an answer must be in one of the tenant's ``languages``.

A tenant that lists ``languages: [es]`` has its retrieval filtered to Spanish chunks;
this guard checks the answer too, with the detector ingest uses
(:class:`~ragline.ingest._enrich.LanguageDetector`, lingua, choosing between
``ingest.languages`` and the tenant's). An answer detected in another language is
flagged (the default: detection can err on mixed text) or blocked, with the reason
``language.mismatch``.

Not judged: a tenant without ``languages``, an abstention (its text is the
configured abstain text, whatever the tenant's language), and an answer with fewer
than ``min_letters`` letters (default 60, about ten words: below that, lingua's
guesses between close languages such as es/pt are unreliable). ``[n]`` markers are
removed first and at most the first :data:`MAX_CHARS` characters are judged, so the
cost is bounded: about a millisecond per answer, after lingua's one-time load (~2 s:
:meth:`LanguageGuard.warm`, before serving and before a tenant's first ask, outside the
guard's time budget).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from ragline.guards._base import Action, GuardContext, GuardStage, Verdict, allow

#: how much of an answer is judged
MAX_CHARS = 2000
_MARKER = re.compile(r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")
_LETTER = re.compile(r"[^\W\d_]")


class Detector(Protocol):
    """What the guard needs of a language detector (ingest's ``LanguageDetector``)."""

    def confidences(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


#: makes the detector for a set of ISO 639-1 codes (raises on an unknown code)
DetectorFactory = Callable[[Sequence[str]], Detector]


class LanguageGuard:
    """Flags or blocks an answer not in the tenant's languages (module docstring).

    ``detector`` makes the language detector for a set of codes (the pipeline passes
    ingest's ``LanguageDetector``); ``languages`` are the allowed ones when the context
    names none (the pipeline passes the tenant's); ``candidates`` are the languages the
    detector chooses between (``ingest.languages``; the allowed ones are added);
    ``warm_for`` the tenants' language lists :meth:`warm` loads the detector for."""

    name = "language"

    def __init__(
        self,
        detector: DetectorFactory,
        *,
        action: Action = "flag",
        languages: Sequence[str] = (),
        candidates: Sequence[str] = ("en", "es", "fr", "de", "it", "pt", "nl"),
        min_letters: int = 60,
        stages: Collection[GuardStage] = frozenset({"output"}),
        warm_for: Sequence[Sequence[str]] = (),
    ) -> None:
        if action not in ("flag", "block"):
            raise ValueError(f"a language guard flags or blocks, not {action!r}")
        self.action: Action = action
        self.languages = tuple(c.strip().lower() for c in languages if c.strip())
        self.candidates = tuple(c.strip().lower() for c in candidates if c.strip())
        self.min_letters = min_letters
        self.stages: frozenset[GuardStage] = frozenset(stages)
        self._make = detector
        self._detectors: dict[tuple[str, ...], Detector] = {}
        self._detector(self.languages)  # an unknown code fails now, with the code named
        self._warm_for = [self.languages, *(tuple(c.lower() for c in w) for w in warm_for)]

    def _detector(self, allowed: tuple[str, ...]) -> Detector:
        codes = tuple(sorted({*self.candidates, *allowed}))
        found = self._detectors.get(codes)
        if found is None:  # built once per set of codes (lingua itself loads lazily)
            found = self._detectors[codes] = self._make(codes)
        return found

    def warm(self) -> None:
        """Load lingua's models for the tenants' languages now (~0.5-2 s, once), so the
        first answer's check is not spent loading them (it runs within a time budget)."""
        for allowed in dict.fromkeys(self._warm_for):
            if allowed:
                self._detector(allowed).confidences(["This sentence warms the detector."])

    def check(self, text: str, context: GuardContext) -> Verdict:
        meta = context.metadata
        if meta.get("window") or meta.get("sentence") is not None or meta.get("abstained"):
            return allow(self.name)  # judged once, on the whole answer
        allowed = tuple(c.lower() for c in context.languages) or self.languages
        if not allowed:
            return allow(self.name)
        sample = _MARKER.sub(" ", text[:MAX_CHARS])
        if len(_LETTER.findall(sample)) < self.min_letters:
            return allow(self.name)
        confidences = self._detector(allowed).confidences([sample])[0]
        if not confidences:
            return allow(self.name)
        code, confidence = max(confidences.items(), key=lambda kv: kv[1])
        if code in allowed:
            return allow(self.name)
        return Verdict(
            guard=self.name,
            action=self.action,
            score=round(min(max(float(confidence), 0.0), 1.0), 6),
            reasons=("language.mismatch",),
        )


__all__ = ["MAX_CHARS", "Detector", "DetectorFactory", "LanguageGuard"]
