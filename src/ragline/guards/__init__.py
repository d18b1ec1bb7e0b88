"""Guards: checks of the question, the retrieved chunks and the answer.

:class:`Guard` is the protocol (``check(text, context) -> Verdict``); a
:class:`Verdict` says allow, flag, redact or block, with a score, reason codes and the
offending spans. ``ragline.testing.GuardConformance`` is the suite every guard passes.

:class:`PiiGuard` finds personal data (:func:`find_pii`, the detector trace redaction
shares through :func:`redact_pii`); :class:`InjectionGuard` scores prompt injection
with lexical and structural heuristics (:func:`injection_scan`), combined with an
optional classifier (a :data:`Scorer`); :class:`UnsafeRequestGuard` refuses questions
asking for a private person's data or for clear harm (:func:`unsafe_scan`);
:class:`TopicGuard` blocks or redacts banned :class:`Topic` terms and patterns.
"""

from __future__ import annotations

from ragline.guards._base import (
    ACTIONS,
    GUARD_STAGES,
    SEVERITY,
    Action,
    Finding,
    Guard,
    GuardContext,
    GuardStage,
    Verdict,
    allow,
)
from ragline.guards._injection import InjectionGuard, Scorer, injection_scan
from ragline.guards._pii import PII_LABELS, PiiGuard, find_pii, redact_pii
from ragline.guards._topics import Topic, TopicGuard
from ragline.guards._unsafe import UNSAFE_CATEGORIES, UnsafeRequestGuard, unsafe_scan

__all__ = [
    "ACTIONS",
    "GUARD_STAGES",
    "PII_LABELS",
    "SEVERITY",
    "UNSAFE_CATEGORIES",
    "Action",
    "Finding",
    "Guard",
    "GuardContext",
    "GuardStage",
    "InjectionGuard",
    "PiiGuard",
    "Scorer",
    "Topic",
    "TopicGuard",
    "UnsafeRequestGuard",
    "Verdict",
    "allow",
    "find_pii",
    "injection_scan",
    "redact_pii",
    "unsafe_scan",
]
