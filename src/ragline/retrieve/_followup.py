"""Follow-up questions: give a short or pronoun-led message the context of the turn before.

"And how long is it for the frame?" means little alone; after "How long is the
battery warranty?" it means "how long is the warranty for the frame". The rule is
deliberately simple and predictable: a message that is a follow-up is asked as
``"<topic question> <message>"``, where the topic question is the latest earlier user
message that was not a follow-up itself (looking back at most :data:`LOOK_BACK` user
messages; if all of those were follow-ups, the previous one). So in "How long is the
battery warranty?" → "And for the frame?" → "Does it cover tyres?" both follow-ups
are asked with the battery-warranty question in front. The combined question is
what retrieval and the answerer see, and what the answer's ``question`` field and the
trace show, so a user can always see what was asked.

A message is a follow-up when it has at most :data:`SHORT_WORDS` words, starts with a
connective or pronoun ("and", "but", "what about", "it", "that", …) or refers back
with "it"/"they"/"them"/"its"/"their" anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SHORT_WORDS = 4
LOOK_BACK = 3

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_LEADS = frozenset(
    {
        "and",
        "but",
        "or",
        "also",
        "so",
        "then",
        "it",
        "its",
        "it's",
        "they",
        "them",
        "their",
        "that",
        "this",
        "those",
        "these",
        "same",
        "y",  # Spanish "and"
    }
)
_LEAD_PAIRS = frozenset({("what", "about"), ("how", "about"), ("and", "what")})
_REFERRING = frozenset({"it", "its", "it's", "they", "them", "their"})


def words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def is_follow_up(message: str) -> bool:
    """Whether ``message`` needs the previous question to make sense."""
    ws = words(message)
    if not ws:
        return False
    if len(ws) <= SHORT_WORDS or ws[0] in _LEADS:
        return True
    if tuple(ws[:2]) in _LEAD_PAIRS:
        return True
    return any(w in _REFERRING for w in ws)


def contextual_question(
    message: str, previous: Sequence[str], *, max_chars: int | None = None
) -> str:
    """The question to ask for ``message`` given the earlier user messages (oldest first).

    Returns ``message`` unchanged when it is not a follow-up, there is no history, or
    the combined question would be longer than ``max_chars`` (the message is never cut).
    """
    message = message.strip()
    earlier = [e.strip() for e in previous if e.strip()][-LOOK_BACK:]
    if not earlier or not is_follow_up(message):
        return message
    topic = next((e for e in reversed(earlier) if not is_follow_up(e)), earlier[-1])
    combined = f"{topic} {message}"
    if max_chars is not None and len(combined) > max_chars:
        return message
    return combined


__all__ = ["contextual_question", "is_follow_up"]
