"""Maximum answer length: an answer over ``max_chars`` characters is cut, blocked or
flagged (``length.exceeded``).

``redact`` cuts the answer after its last sentence that ends within ``max_chars``
(at a word boundary when even the first sentence is longer, with ``…``), so no
sentence is left half-said and the citation markers of the sentences kept stay as
they were. Off by default: a language model's answer is already bounded by
``max_tokens``; turn it on where a client or a channel has its own limit (an SMS, a
widget). Cost: a length comparison, and one sentence scan when it cuts.

While an answer streams the guard sees windows of it: with ``action: block`` the
window's offset (``context.metadata["offset"]``) tells it when the answer has grown
past the limit, and the stream is blocked before more is sent; ``flag`` and
``redact`` judge the complete answer (a streamed answer's deltas are already sent,
the final answer is cut).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ragline.guards._base import Action, GuardContext, GuardStage, Verdict, allow

_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?:\s*\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\])*(?=\s|$)")
ELLIPSIS = "…"


def truncate(text: str, max_chars: int) -> str:
    """``text`` cut after its last sentence ending within ``max_chars`` (markers that
    follow the sentence's full stop kept), else at the last word boundary, with ``…``."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends:
        return head[: ends[-1]].rstrip()
    cut = head[: max_chars - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > 0:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


class LengthGuard:
    """Answers longer than ``max_chars`` characters: cut (``redact``), block or flag."""

    name = "length"
    #: a redaction removes whole sentences: the answer's sentence list follows its text
    drops_sentences = True

    def __init__(
        self,
        *,
        max_chars: int = 4000,
        action: Action = "redact",
        stages: Collection[GuardStage] = frozenset({"output"}),
    ) -> None:
        if action == "allow":
            raise ValueError("a length guard that allows everything: disable it instead")
        if max_chars < 1:
            raise ValueError("guards.length.max_chars must be at least 1")
        self.action: Action = action
        self.max_chars = max_chars
        self.stages: frozenset[GuardStage] = frozenset(stages)

    def check(self, text: str, context: GuardContext) -> Verdict:
        meta = context.metadata
        if meta.get("sentence") is not None:  # one sentence of a judged answer
            return allow(self.name)
        if meta.get("window"):  # a streamed window: only a block can act in time
            offset = meta.get("offset")
            if self.action != "block" or not isinstance(offset, int):
                return allow(self.name)
            length = offset + len(text)
        else:
            length = len(text)
        if length <= self.max_chars:
            return allow(self.name)
        redacted = truncate(text, self.max_chars) if self.action == "redact" else None
        return Verdict(
            guard=self.name,
            action=self.action,
            score=1.0,
            reasons=("length.exceeded",),
            redacted=redacted,
        )


__all__ = ["ELLIPSIS", "LengthGuard", "truncate"]
