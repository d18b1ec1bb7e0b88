"""What the agent remembers from an exchange: a deterministic extractor, and a model summary.

:func:`salient_facts` reads one question and its answer and keeps the sentences a
support agent must not forget, each labelled with its kind:

- ``commitment`` — a promise of either side: "we'll ship a replacement battery",
  "I will send the receipt" (``I/we will|'ll|are going to|promise`` + a verb, or
  "a replacement/refund/technician is on its way/will be …");
- ``order`` — a sentence naming an order, ticket, case, invoice, RMA or account
  number ("my order 1042 arrived cracked"); the number is kept in ``metadata``;
- ``preference`` — the user's likes and wishes: "I prefer email", "please don't call",
  "I'd rather …", "call me Sam";
- ``profile`` — the user stating a fact about themselves: "my address is …",
  "I live in Lyon", "I'm on the Pro plan", "I use the Mark II".

An assistant sentence with a citation marker (``[1]``) is knowledge-base text, not a
promise to this user, so it is not remembered. Questions are not facts: a user
sentence ending in ``?`` is kept only when it names an order-like number. Greetings,
thanks and the knowledge-base answer itself (which the knowledge base already holds)
are not remembered. Every kept sentence is stored as
``"<who> said: <sentence>"`` so a recalled memory says who said it. The rules are
regular expressions on English text; they are deliberately narrow (a missed fact is
cheaper than a memory that misleads) and tested sentence by sentence.

:func:`summarize_exchange` asks a model for the same kinds of facts as short
standalone lines (``NONE`` when there is nothing); the agent's memory uses it, in
addition to the rules, when a model is configured (``memory.summarize``). A model that
fails or answers nonsense adds nothing; it never raises.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ragline.models._base import Model

log = logging.getLogger("ragline.agent.memory")

Kind = Literal["commitment", "order", "preference", "profile", "summary"]
Speaker = Literal["user", "assistant"]

MAX_FACT_CHARS = 400
MAX_SUMMARY_FACTS = 5


@dataclass(frozen=True, slots=True)
class Fact:
    text: str  # as stored: "user said: …" / "assistant said: …" / a summary line
    kind: Kind
    metadata: dict[str, Any] = field(default_factory=dict)


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|\n+")
_ORDER = re.compile(
    r"\b(order|ticket|case|invoice|rma|account|reference|booking|tracking)"
    r"(?:\s+(?:number|no\.?|num|id))?\s*[:#]?\s*#?\s*([A-Z]{0,4}-?\d[\w-]{2,})",
    re.I,
)
_COMMITMENT = re.compile(
    r"\b(?:i|we|i'll|we'll|i will|we will)\b.{0,12}?"
    r"(?:\bwill\b|'ll\b|\bare going to\b|\bam going to\b|\bpromise\b|\bshall\b)"
    r"|\b(?:i'll|we'll)\b"
    r"|\b(?:replacement|refund|technician|courier|credit|voucher)\b.{0,40}?"
    r"\b(?:is on (?:its|the) way|will (?:be|arrive)|has been (?:issued|sent|shipped|booked))",
    re.I,
)
_PREFERENCE = re.compile(
    r"\b(?:i (?:prefer|would prefer|'d prefer|would rather|'d rather|like|love|hate|"
    r"don't like|do not like|want|don't want|do not want|need)|i'd (?:prefer|rather|like)|"
    r"please (?:always|never|don't|do not|only)|call me|contact me|reach me|"
    r"(?:email|text|phone|call) (?:is|works) (?:best|better))\b",
    re.I,
)
_PROFILE = re.compile(
    r"\b(?:my (?:name|email|e-mail|address|phone|number|company|plan|account|device|model|"
    r"bike|car|subscription|size|language|time ?zone)\b.{0,20}?\b(?:is|are|was)\b|"
    r"i (?:live|work|am based) (?:in|at|for)|i(?:'m| am) (?:on|a|an|the|from|based)\b|"
    r"i (?:use|own|have|bought|ordered|purchased) (?:a|an|the|two|three|\d))",
    re.I,
)
_CITATION = re.compile(r"\[\d+\]")
_SMALL_TALK = re.compile(r"^\W*(?:hi|hello|hey|thanks?|thank you|ok|okay|bye|cheers)\b\W*$", re.I)


def sentences(text: str) -> list[str]:
    """``text`` split into sentences (on ``. ! ?`` before a capital or a digit, and lines)."""
    out = []
    for piece in _SENTENCE.split(text or ""):
        piece = " ".join(piece.split())
        if piece:
            out.append(piece)
    return out


def classify(sentence: str, speaker: Speaker) -> tuple[Kind, dict[str, Any]] | None:
    """The kind of a salient sentence (and its metadata), or ``None`` if it is not one."""
    if _SMALL_TALK.match(sentence):
        return None
    if speaker == "assistant" and _CITATION.search(sentence):
        return None  # cited: knowledge-base text (a policy), not a promise to this user
    order = _ORDER.search(sentence)
    metadata: dict[str, Any] = {}
    if order is not None:
        metadata = {"number": order.group(2), "what": order.group(1).lower()}
    if _COMMITMENT.search(sentence) and not sentence.endswith("?"):
        return "commitment", metadata
    if order is not None:
        return "order", metadata
    if speaker != "user" or sentence.endswith("?"):
        return None  # the answer's other sentences are knowledge-base text
    if _PREFERENCE.search(sentence):
        return "preference", metadata
    if _PROFILE.search(sentence):
        return "profile", metadata
    return None


def salient_facts(question: str, answer: str) -> list[Fact]:
    """The facts of one exchange worth remembering (see the module docstring), in order."""
    facts: list[Fact] = []
    seen: set[str] = set()
    for speaker, text in (("user", question), ("assistant", answer)):
        for sentence in sentences(text):
            found = classify(sentence, speaker)  # type: ignore[arg-type]
            if found is None:
                continue
            stored = f"{speaker} said: {sentence[:MAX_FACT_CHARS]}"
            if stored.lower() not in seen:
                seen.add(stored.lower())
                facts.append(Fact(stored, found[0], found[1]))
    return facts


SUMMARY_PROMPT = (
    "You keep a customer-support assistant's long-term memory of one user. From the "
    "exchange below, write the durable facts worth remembering next time: promises made "
    "by either side, order/ticket numbers and their problems, the user's preferences and "
    "personal details they gave. One fact per line, each a short standalone sentence in "
    'the third person ("The user ...", "The assistant promised ..."). Do not repeat '
    "general product information. If there is nothing worth remembering, reply NONE."
)


def summarize_exchange(model: Model, question: str, answer: str) -> list[Fact]:
    """Up to :data:`MAX_SUMMARY_FACTS` facts a model draws from the exchange; ``[]`` when it
    fails or finds none (never raises)."""
    from ragline.models._base import Message

    messages = [
        Message("system", SUMMARY_PROMPT),
        Message("user", f"User: {question}\n\nAssistant: {answer}"),
    ]
    try:
        text = model.complete(messages, max_tokens=200, temperature=0).text
    except Exception as e:  # a memory summary must never break the answer
        log.warning(
            "memory summary failed (%s: %s); kept the rule-based facts only", type(e).__name__, e
        )
        return []
    facts = []
    for line in (text or "").splitlines():
        line = line.strip().lstrip("-*•0123456789.) ").strip()
        if not line or line.upper().rstrip(".") == "NONE" or len(line) < 8:
            continue
        facts.append(Fact(line[:MAX_FACT_CHARS], "summary"))
        if len(facts) == MAX_SUMMARY_FACTS:
            break
    return facts
