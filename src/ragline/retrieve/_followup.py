"""Follow-up questions: rewrite only what needs the turn before, and keep the new topic.

The offline rule (``chat.rewrite: rule``, and ``auto`` without a language model). It
must never make a message worse than asking it alone, so it leaves a message as it
is unless the message cannot stand alone:

- **A pronoun with nothing to refer to** — "When was it founded?", "Does it cover
  tyres?": a referring pronoun (it/its/they/them/their/he/she/his/her/him) with no
  noun phrase of the message before it (expletive uses such as "how long does it
  take" or "is it possible to" do not count). The pronoun is replaced by the previous
  topic's *key noun phrase* — not the whole previous question: "Who founded Apple
  Inc.?" → "When was it founded?" → "When was Apple Inc. founded?". When the message
  names its own topic too ("Does it cover tyres?" after "How long is the battery
  warranty?"), the pronoun gets only the head of a compound ("Does the warranty
  cover tyres?").
- **A fragment** — a message that is not a clause: at most :data:`FRAGMENT_WORDS`
  words after an optional "and"/"but"/"what about"/"how about" lead, without a
  question word or a verb of its own ("And the battery?", "What about the motor?",
  "In Spanish?"). A noun phrase in it is the new topic, so it *replaces* the old
  topic in the previous question and the predicate is kept: "What is the warranty
  for the frame?" → "And the battery?" → "What is the warranty for the battery?". A
  phrase led by a preposition is added to the previous question ("… in Spanish?").
  A fragment with no noun phrase ("And?", "Why?") is asked after the previous
  question, as the earlier rule did.

Everything else is a question of its own and is asked as written, however short or
however it starts: "What are ETFs?", "And who is the CFO?". The previous question is
itself resolved first (a follow-up of a follow-up refers to what the first one
meant), looking back at most :data:`LOOK_BACK` user messages.

:func:`rewrite_follow_up` returns the :class:`Rewrite` — the question, what kind of
rewrite it was and why — which the analysis stage records on its span; the rewritten
question is what retrieval and the answerer see and the answer's ``question`` field
shows. English rules (a Spanish "y"/"¿y" lead counts as a connective).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

LOOK_BACK = 3
FRAGMENT_WORDS = 6  #: a fragment is at most this many words after its lead


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]", re.UNICODE)
_FUNCTION_WORDS = """a an the of in on at to for from by with about as into over after
before during between under without against through than and or but not no nor so if
then also too is are was were be been being am do does did done has have had can could
will would should may might must shall what which who whom whose when where why how
that this these those there here it its it's they them their he him his she her i me my
mine you your we us our one ones some any all each every both either neither much many
more most other such same own very just only please tell show explain describe list
give find y"""
FUNCTION = _set(_FUNCTION_WORDS)
_QUESTION_WORDS = _set("what which who whom whose when where why how")
_ANSWER_TYPE = _set("what which whose many much")
#: a fragment of these words only names no topic ("Why?", "And?", "Really?")
_BARE = _set("why how when where what who which really ok okay sure yes no so")
_AUXILIARIES = _set(
    """is are was were am be been do does did has have had can could will would should may
    might must shall isn't aren't wasn't weren't don't doesn't didn't hasn't haven't can't
    couldn't won't wouldn't shouldn't tell show explain describe list give find compare"""
)
_PREPOSITIONS = _set(
    "of in on at to for from by with about as into over after before during between under "
    "without against through"
)
_DETERMINERS = _set("the a an my your our their its his her this that these those")
_PRONOUNS = {
    "it": "it",
    "its": "its",
    "they": "they",
    "them": "they",
    "their": "its",
    "he": "person",
    "him": "person",
    "his": "person",
    "she": "person",
    "her": "person",
}
_POSSESSIVE = frozenset({"its", "their", "his", "her"})
_LEADS = (
    ("and", "what", "about"),
    ("and", "how", "about"),
    ("what", "about"),
    ("how", "about"),
    ("and",),
    ("but",),
    ("or",),
    ("also",),
    ("so",),
    ("then",),
    ("y",),
)
#: words that start a new clause: a pronoun after one may mean a noun phrase before it
#: ("who were the dadaists and what did they do"); inside one clause it may not
_CLAUSE_BOUNDARY = _set(", ; and or but because since when while if that which who so after before")
#: "it" that refers to nothing: how long does it take, is it possible to, it rains
_EXPLETIVE = re.compile(
    r"\b(?:(?:does|do|did|will|would|can|could|should|might|may)\s+it\s+take"
    r"|it\s+takes?|it\s+took"
    r"|(?:is|was|isn't|wasn't)\s+it\s+\w+\s+(?:to|for|that|if|when)"
    r"|it\s+(?:is|was|'s)\s+\w+\s+(?:to|that|for|if|when)"
    r"|(?:does|did|will)\s+it\s+(?:rain|snow)|it\s+(?:rains|snows|rained|snowed)"
    r"|what\s+time\s+is\s+it"
    r"|(?:what|who|where|when|why|how)\s+(?:is|was)\s+it\s+that)\b"
)


@dataclass(frozen=True, slots=True)
class Rewrite:
    """How a message was asked: ``question`` (what retrieval and the answerer see),
    ``kind`` (``none``: no earlier turn; ``kept``: the message stands alone;
    ``pronoun``, ``topic``, ``added``, ``appended``: see the module docstring; ``llm``:
    a model rewrote it), ``reason`` (why, in words, without the user's text), ``method``
    (``rule``, ``llm``, ``off``) and, when a model was asked but failed, ``fallback``
    (the reason; the rule's rewrite was used)."""

    question: str
    kind: str
    reason: str
    method: str = "rule"
    fallback: str | None = None

    @property
    def rewritten(self) -> bool:
        return self.kind not in {"none", "kept"}


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def words(text: str) -> list[str]:
    return [t.lower().replace("’", "'") for t in tokens(text) if t[:1].isalnum()]


def _content(token: str) -> bool:
    return token[:1].isalnum() and token.lower().replace("’", "'") not in FUNCTION


def _capitalised(token: str) -> bool:
    return (token[:1].isupper() or token[:1].isdigit()) and _content(token)


def noun_phrases(toks: Sequence[str]) -> list[tuple[int, int]]:
    """Token spans that are noun phrases: a run of capitalised words (with "of"
    between two), or a determiner and the content words after it, or content words
    after a preposition; never the words right after a question word ("which NFL
    team" asks for the answer, it is not the topic)."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(toks)
    while i < n:
        low = toks[i].lower()
        if i > 0 and toks[i - 1].lower() in _ANSWER_TYPE and _content(toks[i]):
            while i < n and _content(toks[i]):
                i += 1  # the answer's type: "what paper", "which NFL team", "how many items"
            continue
        if _capitalised(toks[i]) and (i > 0 or _name_at_start(toks)):
            j = i + 1
            while j < n and (
                _capitalised(toks[j])
                or (toks[j] == "of" and j + 1 < n and _capitalised(toks[j + 1]))
                or (toks[j] in {"'s", "’s"})
            ):
                j += 1
            start = i - 1 if i > 0 and toks[i - 1].lower() in {"the", "a", "an"} else i
            spans.append((start, j))
            i = j
        elif low in _DETERMINERS or low in _PREPOSITIONS:
            j = i + 1
            if low in _PREPOSITIONS and j < n and toks[j].lower() in _DETERMINERS:
                j += 1
            k = j
            while k < n and _content(toks[k]):
                k += 1
            if k > j:
                spans.append((i if low in _DETERMINERS else j - (j > i + 1), k))
            i = max(k, i + 1)
        else:
            i += 1
    return spans


def _name_at_start(toks: Sequence[str]) -> bool:
    """Whether a message's capitalised first word is a name, not just its first word."""
    first = toks[0]
    return any(c.isupper() or c.isdigit() for c in first[1:]) or (
        len(toks) > 1 and _capitalised(toks[1])
    )


def _lead(ws: Sequence[str]) -> int:
    """How many words of ``ws`` are a connective lead ("and", "what about"…)."""
    for lead in _LEADS:
        if tuple(ws[: len(lead)]) == lead:
            return len(lead)
    return 0


def _strip_lead(toks: list[str]) -> tuple[list[str], list[str]]:
    """``(lead tokens, the rest)`` of a message's tokens; punctuation before the lead
    ("¿") goes with the lead."""
    start = 0
    while start < len(toks) and not toks[start][:1].isalnum():
        start += 1
    ws = [t.lower() for t in toks[start:]]
    n = _lead(ws)
    cut = start + n
    while n and cut < len(toks) and toks[cut] in {",", ":"}:
        cut += 1
    return toks[:cut], toks[cut:]


def _is_clause(rest: Sequence[str]) -> bool:
    """Whether the message (its lead removed) is a clause: it starts with a question
    word or an auxiliary/imperative, has a verb-like word, or is too long for a fragment."""
    ws = [t.lower().replace("’", "'") for t in rest if t[:1].isalnum()]
    if not ws or all(w in _BARE for w in ws):
        return False
    if ws[0] in _QUESTION_WORDS or ws[0] in _AUXILIARIES:
        return True
    if len(ws) > FRAGMENT_WORDS:
        return True
    return any(w in _AUXILIARIES for w in ws)


def _dangling_pronoun(toks: Sequence[str]) -> int | None:
    """The index of the first referring pronoun with no noun phrase of the message
    before it, or None."""
    low = [t.lower().replace("’", "'") for t in toks]
    text = " ".join(low)
    expletive = [(m.start(), m.end()) for m in _EXPLETIVE.finditer(text)]
    spans = noun_phrases(toks)
    at = 0
    for i, word in enumerate(low):
        offset, at = at, at + len(word) + 1
        if word not in _PRONOUNS:
            continue
        if word == "it" and any(start <= offset < end for start, end in expletive):
            continue
        boundaries = [b for b in range(i) if low[b] in _CLAUSE_BOUNDARY]
        if any(end <= b for _, end in spans for b in boundaries):
            return None  # a noun phrase in an earlier clause of the message: its own
        return i  # a pronoun cannot mean a noun phrase of its own clause: it refers back
    return None


def _join(toks: Sequence[str]) -> str:
    text = " ".join(toks)
    text = re.sub(r"\s+([?.,!;:%)\]])", r"\1", text)
    text = re.sub(r"([(\[¿¡])\s+", r"\1", text)
    text = re.sub(r"\s+(['’]s)\b", r"\1", text)
    text = re.sub(r"(\w) ([-–/]) (\w)", r"\1\2\3", text)
    return text.strip()


def _sentence(toks: list[str]) -> list[str]:
    if toks and toks[0][:1].islower():
        toks = [toks[0][:1].upper() + toks[0][1:], *toks[1:]]
    return toks


def _key_phrase(previous: Sequence[str], pronoun: str) -> tuple[int, int] | None:
    """The previous question's key noun phrase for ``pronoun``: a name (capitalised)
    before a common noun phrase, one that agrees in number with the pronoun before one
    that does not, then the first."""
    spans = noun_phrases(previous)
    if not spans:
        return None
    want = _PRONOUNS[pronoun]

    def score(span: tuple[int, int]) -> tuple[int, int, int]:
        head = previous[span[1] - 1]
        head = head[:-2] if head.lower().endswith(("'s", "’s")) else head
        named = _capitalised(previous[span[0]]) or _capitalised(head)
        plural = head.lower().endswith("s") and not named
        agrees = {"they": plural or named, "it": not plural, "its": not plural}.get(want, named)
        return (int(named), int(agrees), -spans.index(span))

    return max(spans, key=score)


def _phrase(previous: Sequence[str], span: tuple[int, int], *, head_only: bool) -> list[str]:
    toks = list(previous[span[0] : span[1]])
    if toks and toks[0].lower() in _PREPOSITIONS:
        toks = toks[1:]
    if toks and toks[-1] in {"'s", "’s"}:
        toks = toks[:-1]
    if head_only and not any(_capitalised(t) for t in toks):
        content = [t for t in toks if _content(t)]
        if len(content) > 1:
            det = [t for t in toks[:1] if t.lower() in _DETERMINERS] or ["the"]
            toks = [*det, content[-1]]
    return toks


def _resolve_pronoun(toks: list[str], at: int, previous: list[str]) -> Rewrite | None:
    span = _key_phrase(previous, toks[at].lower())
    if span is None:
        return None
    # "how long is it for the frame": a topic of its own ("the frame") takes the place
    # of the old compound's modifier ("battery"), so the pronoun means only the head
    own = any(
        start > at and toks[start].lower() in {"the", "a", "an"} for start, _ in noun_phrases(toks)
    )
    phrase = _phrase(previous, span, head_only=own)
    word = toks[at].lower()
    if word in _POSSESSIVE:
        phrase = [*phrase[:-1], phrase[-1] + "'s"]
    # a phrase starting a sentence after "the": keep the article lower-case inside
    if at > 0 and phrase and phrase[0] in {"The", "A", "An"}:
        phrase = [phrase[0].lower(), *phrase[1:]]
    out = _sentence([*toks[:at], *phrase, *toks[at + 1 :]])
    return Rewrite(
        _join(out),
        "pronoun",
        f"'{word}' refers to nothing in the message: replaced by the previous topic's "
        "key noun phrase" + (" (its head: the message names its own topic)" if own else ""),
    )


def _combine_fragment(rest: list[str], previous: list[str], *, led: bool) -> Rewrite:
    """A fragment after ``previous``: its noun phrase replaces the old topic, a
    prepositional phrase is added, anything else follows the previous question."""
    body = [t for t in rest if t not in {"?", "¿", "!", "."}]
    ask = [t for t in previous if t not in {"?"}]
    end = "?" if previous and previous[-1] == "?" else ""
    if body and body[0].lower() in _PREPOSITIONS:
        body = [body[0].lower(), *body[1:]]
        return Rewrite(
            _join(_sentence([*ask, *body, end])),
            "added",
            "a fragment led by a preposition: added to the previous question",
        )
    spans = noun_phrases(previous)
    if body and spans and any(_content(t) and t.lower() not in _BARE for t in body):
        named = _named(body, led=led)
        if not named:  # "Tyres?": capitalised only as the message's first word
            body = [body[0].lower(), *body[1:]]
        same_kind = [s for s in spans if _is_named(previous, s) == named]
        if named and (len(same_kind) != 1 or _predicate_words(previous, same_kind[0]) > 3):
            return Rewrite(
                "",
                "kept",
                "a fragment naming a name, and the previous question has no single name "
                "with a short predicate it could replace: asked as written",
            )
        start, stop = (same_kind or spans)[-1]
        if previous[start].lower() in _PREPOSITIONS:
            start += 1
        if named:  # only the name: "the X200 cost" + "the X300" → "the X300 cost"
            caps = [i for i in range(start, stop) if _capitalised(previous[i])]
            if caps and (caps[0] > start or caps[-1] < stop - 1):
                if previous[start].lower() in _DETERMINERS and body[0].lower() in _DETERMINERS:
                    body = body[1:]
                start = caps[0] if previous[start].lower() in _DETERMINERS else start
                stop = caps[-1] + 1
        old = previous[start:stop]
        content = [t for t in old if _content(t)]
        new = body
        if not named and len(content) > 1 and not _capitalised(content[-1]):
            # "the battery warranty" + "the frame" → "the frame warranty": the head and
            # any name kept ("the X200 warranty" → "the X200 frame warranty")
            names = [t for t in content[:-1] if _capitalised(t)]
            det = [t for t in old[:1] if t.lower() in _DETERMINERS]
            bare = [t for t in body if t.lower() not in _DETERMINERS]
            new = [*det, *names, *bare, content[-1]]
        if start == 0:
            new = _sentence(list(new))
        out = _sentence([*ask[:start], *new, *ask[stop:], end])
        return Rewrite(
            _join(out),
            "topic",
            "a fragment naming a new topic: it replaces the previous question's topic, "
            "the previous question's predicate is kept",
        )
    return Rewrite(
        "",  # filled in by the caller: the previous question, then the message
        "appended",
        "a fragment without a noun phrase: asked after the previous question",
    )


def _predicate_words(toks: Sequence[str], span: tuple[int, int]) -> int:
    """Content words of a question outside ``span``: how specific what it asks is."""
    return sum(_content(t) for i, t in enumerate(toks) if not span[0] <= i < span[1])


def _named(body: Sequence[str], *, led: bool) -> bool:
    """Whether a fragment's phrase is a name: after a lead ("What about Hoarders?") a
    capitalised word; alone, a determiner and a capitalised word, two capitalised words,
    or one with a capital after its first letter ("X300", "ETFs")."""
    words = [t for t in body if t[:1].isalnum()]
    if not words:
        return False
    if led:
        return any(_capitalised(w) for w in words)
    if words[0].lower() in _DETERMINERS:
        return len(words) > 1 and _capitalised(words[1])
    caps = [w for w in words if _capitalised(w)]
    return len(caps) > 1 or any(c.isupper() or c.isdigit() for w in caps for c in w[1:])


def _is_named(toks: Sequence[str], span: tuple[int, int]) -> bool:
    return any(_capitalised(t) for t in toks[span[0] : span[1]])


def _rewrite_one(message: str, previous: str | None) -> Rewrite:
    if previous is None:
        return Rewrite(message, "none", "no earlier user turn")
    toks = tokens(message)
    lead, rest = _strip_lead(toks)
    if not any(t[:1].isalnum() for t in rest) and not lead:
        return Rewrite(message, "kept", "nothing to rewrite")
    if _is_clause(rest):
        at = _dangling_pronoun(rest)
        if at is None:
            return Rewrite(message, "kept", "a question of its own: asked as written")
        resolved = _resolve_pronoun(rest, at, tokens(previous))
        if resolved is None:
            return Rewrite(
                f"{previous} {message}",
                "appended",
                f"'{rest[at].lower()}' refers to nothing in the message and the previous "
                "question names no noun phrase: asked after the previous question",
            )
        return resolved
    combined = _combine_fragment(rest, tokens(previous), led=bool(lead))
    if not combined.question:
        question = message if combined.kind == "kept" else f"{previous} {message}"
        return Rewrite(question, combined.kind, combined.reason)
    return combined


def rewrite_follow_up(
    message: str, previous: Sequence[str], *, max_chars: int | None = None
) -> Rewrite:
    """How to ask ``message`` after the earlier user messages ``previous`` (oldest
    first) — see the module docstring. A rewrite longer than ``max_chars`` is not used:
    the message is asked alone, uncut (``kind="kept"``, the reason says so)."""
    message = message.strip()
    earlier = [e.strip() for e in previous if e.strip()][-LOOK_BACK:]
    resolved: str | None = None
    for turn in earlier:  # each earlier turn as it was meant, oldest first
        resolved = _rewrite_one(turn, resolved).question
    out = _rewrite_one(message, resolved)
    if max_chars is not None and len(out.question) > max_chars:
        return Rewrite(message, "kept", f"the rewrite is longer than {max_chars} characters")
    return out


def contextual_question(
    message: str, previous: Sequence[str], *, max_chars: int | None = None
) -> str:
    """The question to ask for ``message`` (:func:`rewrite_follow_up`'s question)."""
    return rewrite_follow_up(message, previous, max_chars=max_chars).question


def is_follow_up(message: str) -> bool:
    """Whether the rule rewrites ``message`` after some earlier question: a dangling
    pronoun or a fragment (see the module docstring)."""
    toks = tokens(message)
    _, rest = _strip_lead(toks)
    if not any(t[:1].isalnum() for t in toks):
        return False
    if not _is_clause(rest):
        return True
    return _dangling_pronoun(rest) is not None


__all__ = [
    "FRAGMENT_WORDS",
    "LOOK_BACK",
    "Rewrite",
    "contextual_question",
    "is_follow_up",
    "noun_phrases",
    "rewrite_follow_up",
]
