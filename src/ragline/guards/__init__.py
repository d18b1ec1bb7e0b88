"""Guards: checks of the question, the retrieved chunks and the answer.

:class:`Guard` is the protocol (``check(text, context) -> Verdict``); a
:class:`Verdict` says allow, flag, redact or block, with a score, reason codes and the
offending spans. ``ragline.testing.GuardConformance`` is the suite every guard passes.
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

__all__ = [
    "ACTIONS",
    "GUARD_STAGES",
    "SEVERITY",
    "Action",
    "Finding",
    "Guard",
    "GuardContext",
    "GuardStage",
    "Verdict",
    "allow",
]
