"""Guards of a user's own, loaded through ``guards.custom`` (the tests copy this file
into a folder on ``sys.path`` / ``PYTHONPATH`` under a name of their own)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ragline.guards import GuardContext, GuardStage, Verdict, allow


class Forbidden:
    """Blocks texts with ``word`` in them."""

    def __init__(
        self, word: str = "bananas", name: str = "forbidden", stages: Iterable[str] = ("input",)
    ) -> None:
        self.word = word
        self.name = name
        self.stages: frozenset[GuardStage] = frozenset(stages)  # type: ignore[arg-type]

    def check(self, text: str, context: GuardContext) -> Verdict:
        if self.word in text.lower():
            return Verdict(guard=self.name, action="block", score=1.0, reasons=("forbidden.word",))
        return allow(self.name)


class Raising:
    """Crashes on every text."""

    name = "faulty"
    stages: frozenset[GuardStage] = frozenset({"input"})

    def check(self, text: str, context: GuardContext) -> Verdict:
        raise RuntimeError("the guard crashed on purpose")


class Hanging:
    """Never returns (until the process ends)."""

    name = "hanging"
    stages: frozenset[GuardStage] = frozenset({"input"})

    def check(self, text: str, context: GuardContext) -> Verdict:
        threading.Event().wait(3600)
        return allow(self.name)


class NotAGuard:
    name = "nope"


def everywhere() -> Forbidden:
    return Forbidden(stages=("everywhere",))
