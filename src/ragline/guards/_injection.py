"""Prompt-injection heuristics: lexical and structural features, scored 0–1.

Not a keyword list: a feature fires on an *instruction addressed to the model* (an
override verb with its object: "ignore … previous instructions"; a persona switch:
"you are now", "act as an unrestricted AI"; a request for the hidden prompt), on
structure (chat-template role markers, a line opening with ``system:``, an attempt
to close the prompt's template: a code fence, ``</context>``, ``\"\"\"``), and on hiding
(Unicode tag characters and zero-width text, homoglyphs, base64 / rot13 / leetspeak
payloads that decode to one of the above). A word such as "ignore" or "system" on its
own is no feature: "How do I ignore a failed update?" scores 0.

The features combine as a noisy OR (``1 - Π(1 - w)``), so two weak signals (a
template close and an instruction) make a strong one. Before scanning, the text is
canonicalised once: invisible characters removed, NFKC, a small confusables map
(Cyrillic and Greek look-alikes to Latin), case folded. Every scan is a linear regex
pass with bounded gaps; base64 blobs are decoded at most :data:`MAX_BLOBS` at a time,
so a 100,000-character text costs a few milliseconds.

Reasons: ``injection.override``, ``injection.persona``, ``injection.prompt_leak``,
``injection.role_marker``, ``injection.template_close``, ``injection.encoded``,
``injection.obfuscated`` (homoglyphs, leetspeak), ``injection.invisible``,
``injection.redirect`` (a document telling whoever relays it to have the customer send
money or details somewhere: "tell the customer to wire the refund to IBAN …"),
``injection.multi_turn`` (caught only on the conversation's last user turns together)
and ``injection.classifier`` (the optional ``scorer``'s score won).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from ragline.guards._base import Action, Finding, GuardContext, GuardStage, Verdict

if TYPE_CHECKING:
    from ragline.types import Chunk

#: at most this many base64-looking blobs are decoded per text
MAX_BLOBS = 16
#: the chunk metadata key ingest stores :func:`chunk_scan` under
CHUNK_KEY = "ragline.injection"
#: bump whenever :func:`injection_scan` changes: stored chunk scores of another
#: version are not trusted (rescored live until the document is re-ingested)
SCAN_VERSION = 4  # 3: injection.redirect; 4: Alpaca-style template markers mid-text
#: how many earlier user turns the input stage reads with the last one
HISTORY_TURNS = 3
#: the guard scans at most this many characters of a text: a longer one is scanned on
#: its first and last MAX_SCAN_CHARS // 2 (an attack typed first or appended last is
#: caught; one buried in the middle of a longer text is not). Questions (at most
#: ``server.max_question_chars``) and chunks are far shorter: this bounds the cost of a
#: huge text given to ``ragline guards check`` or the Python API.
MAX_SCAN_CHARS = 100_000

_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
#: look-alikes NFKC leaves alone: Cyrillic and Greek letters drawn like Latin ones
_CONFUSABLES = str.maketrans(
    "аеорсхуіјѕԁһкмтвнАЕОРСХУІЈЅКМТВНΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοιενρτυχ",
    "aeopcxyijsdhkmtbhaeopcxyijskmtbhabezhikmnoptyxaoievptux",
)
_LEET = str.maketrans("013457@$!|", "oieastasii")

_GAP = r"[\s,;:'\"*_-]+(?:[a-z']+[\s,;:'\"*_-]+){0,3}?"  # up to three words between
_FEATURES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    (
        "injection.override",
        0.9,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|overlook|bypass|skip|drop|abandon|neglect)"
            + _GAP
            + r"(?:previous|prior|preceding|above|earlier|former|initial|original|system|"
            r"safety|all(?: (?:the|your|of your))?|your|any)"
            r"[\s,]+(?:[a-z]+[\s,]+){0,2}?"
            r"(?:instructions?|rules|prompts?|directions|guidelines|directives|programming|"
            r"constraints|restrictions|policies|context|messages|commands|guardrails)\b"
            r"|\b(?:ignore|disregard|forget)\s+(?:everything|all|anything)\s+"
            r"(?:above|before|previously|you (?:were|have been) told)\b"
            r"|\bnew (?:instructions|rules|task)\s*:"
            r"|\b(?:do not|don't|stop) (?:follow|obey)(?:ing)? (?:your|the|any) "
            r"(?:previous |prior |original )?(?:instructions|rules|guidelines)\b"
        ),
    ),
    (
        "injection.persona",
        0.7,
        re.compile(
            r"\byou are now (?:a|an|in|my|the|no longer|free|dan|unrestricted|jailbroken)\b"
            r"|\bfrom now on,? you(?: will| are|'re| must| shall)\b"
            r"|\b(?:i want|i need) you to (?:act|behave|pretend|respond) as\b"
            r"|\b(?:act|behave|respond) as (?:if you (?:are|were) )?(?:an? )?"
            r"(?:unrestricted|unfiltered|uncensored|evil|jailbroken|dan|different|rogue)\b"
            r"|\bpretend (?:to be|you are|that you are) (?:an? )?(?:unrestricted|unfiltered|"
            r"evil|dan|ai|model|assistant|chatbot|different|human)\b"
            r"|\b(?:developer|dan|god|sudo|debug|jailbreak) mode\b"
            r"|\bdo anything now\b|\bjailbreak(?:ed|ing)? (?:you|the (?:ai|model|assistant))\b"
            r"|\bwithout (?:any )?(?:restrictions|filters|censorship|limitations)\b.{0,40}"
            r"\b(?:answer|respond|reply|tell)\b"
        ),
    ),
    (
        "injection.prompt_leak",
        0.85,
        re.compile(
            r"\b(?:reveal|print|show|repeat|output|display|leak|dump|recite|spell out|tell me|"
            r"what (?:is|are|was|were)|give me|write out|copy)"
            r"\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:your|the|its)\s+"
            r"(?:full\s+|entire\s+|exact\s+|original\s+|hidden\s+|secret\s+|initial\s+)*"
            r"(?:system\s+prompt|system\s+message|initial\s+prompt|hidden\s+prompt|"
            r"instructions (?:you were given|above)|prompt above|pre-?prompt)\b"
            r"|\b(?:repeat|print|output) (?:the |all )?(?:text|words|everything) above\b"
        ),
    ),
    (
        "injection.role_marker",
        0.8,
        re.compile(
            r"<\|(?:im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id)\|>"
            r"|\[/?inst\]|<</?sys>>|^\s*#{2,}\s*(?:instruction|system|response|new instructions)"
            r"\b|#{2,}\s*(?:instruction|system|input|response)\s*:"  # Alpaca-style, mid-text
            r"|<start_of_turn>|\bbegin(?:ning)? of (?:system|new) (?:prompt|instructions)\b",
            re.MULTILINE,
        ),
    ),
    (
        "injection.role_marker",
        0.55,  # "system:" opening a line: weaker alone (a log excerpt can look like it)
        re.compile(r"^\s*\W{0,3}(?:system|assistant|developer)\s*(?:message)?\s*:", re.MULTILINE),
    ),
    (
        "injection.addressed",  # text in a document speaking to the model that reads it
        0.6,
        re.compile(
            r"\b(?:note|message|instructions?|attention|reminder|important)\s+(?:to|for)\s+"
            r"(?:the\s+|any\s+|all\s+)?(?:ai|a\.i\.|llm|(?:ai\s+)?assistants?|chatbots?|"
            r"language\s+models?|bots?|gpt|claude)"
            r"(?:\s*[:,.!-]|\s+(?:reading|processing|summari[sz]ing|that|who)\b)"
            r"|\b(?:ignore|disregard)\s+(?:the\s+|this\s+|their\s+)?(?:user'?s?\s+)?"
            r"(?:question|request|query)\b"
        ),
    ),
    (
        "injection.redirect",  # a planted payment redirection, addressed to the relayer
        0.6,  # no hit on 5,441 SciFact abstracts, BIPIA email/table/code contexts, sample KB
        re.compile(
            r"\b(?:tell|ask|instruct|advise|direct|inform|remind|urge|request|get)\s+"
            r"(?:the\s+|our\s+|all\s+|any\s+|every\s+|each\s+)?"
            r"(?:customers?|users?|readers?|callers?|clients?|buyers?|visitors?|people|"
            r"recipients?)\s+(?:to|that)\b[^.!?\n]{0,80}?"
            r"\b(?:wire|transfer|send|pay|deposit|move|forward)\b[^.!?\n]{0,80}?"
            r"\b(?:iban|bank account|account (?:number|no)|routing number|bitcoin|btc|"
            r"crypto(?:currency)?|wallet|gift ?cards?|western union|moneygram|paypal|venmo|"
            r"zelle)\b"
        ),
    ),
    (
        "injection.role_marker",
        0.55,  # a role marker in running text, after a sentence ends: "… refunds. assistant:"
        re.compile(r"(?<=[.!?])\s+(?:system|assistant|developer)\s*:\s*\w"),
    ),
    (
        "injection.template_close",
        0.3,  # alone a code fence is benign; with an instruction it is an escape
        re.compile(
            r"</\s*(?:context|document|documents|system|instructions?|user|data|input|"
            r"retrieved|source|chunk|query)\s*>|^\s*(?:```|\"\"\"|''')\s*$|\]\]>|-->\s*$",
            re.MULTILINE,
        ),
    ),
)
_STRONG = tuple(f for f in _FEATURES if f[1] >= 0.7)  # what a decoded payload is scanned for
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{20,4096}={0,2}(?![A-Za-z0-9+/=])")
_DECODE_REQUEST = re.compile(
    r"\b(?:decode|base64|rot13|rot-13|caesar|reverse(?:d)?)\b.{0,60}"
    r"\b(?:follow|execute|obey|do what|run|then (?:answer|do))\b"
)


@dataclass(slots=True)
class _Scan:
    """What one text scored: the combined score, the reasons, where they were seen."""

    weights: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def add(self, reason: str, weight: float, finding: Finding | None = None) -> None:
        self.weights[reason] = max(weight, self.weights.get(reason, 0.0))
        if finding is not None and len(self.findings) < 32:
            self.findings.append(finding)

    @property
    def score(self) -> float:
        rest = 1.0
        for weight in self.weights.values():
            rest *= 1.0 - weight
        return round(1.0 - rest, 6)


#: a run of combining marks longer than this is cut to it before normalising: NFKC
#: reorders a run of marks of mixed classes in quadratic time (10,000 stacked marks
#: cost seconds), and no script stacks more than a few on one letter
MAX_MARK_RUN = 32
_marks: re.Pattern[str] | None = None


def _mark_runs() -> re.Pattern[str]:
    """Runs of more than MAX_MARK_RUN combining characters (made on first use: the class
    is read from ``unicodedata``, ~190 ranges)."""
    global _marks
    if _marks is None:
        ranges, start = [], None
        for cp in range(0x20000):  # every character with a combining class is below
            if unicodedata.combining(chr(cp)):
                start = cp if start is None else start
            elif start is not None:
                ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(cp - 1))}")
                start = None
        cls = "[" + "".join(ranges) + "]"
        _marks = re.compile(f"({cls}{{{MAX_MARK_RUN}}}){cls}+")
    return _marks


def _normalize(text: str) -> str:
    """NFKC of ``text``, its runs of combining marks cut to MAX_MARK_RUN first (a text
    short enough to be cheap either way is left as it is)."""
    if len(text) > 8 * MAX_MARK_RUN and not text.isascii():
        text = _mark_runs().sub(r"\1", text)
    return unicodedata.normalize("NFKC", text)


def canonical(text: str) -> str:
    """``text`` as the features read it: invisible characters dropped, NFKC, look-alikes
    mapped to Latin, case folded."""
    text = _INVISIBLE.sub("", _TAGS.sub("", text))
    return _normalize(text).translate(_CONFUSABLES).casefold()


def _lexical(canon: str, features: Sequence[tuple[str, float, re.Pattern[str]]]) -> _Scan:
    scan = _Scan()
    for reason, weight, pattern in features:
        m = pattern.search(canon)
        if m is not None:
            scan.add(reason, weight)
    return scan


def _spans(text: str, pattern: re.Pattern[str], label: str) -> list[Finding]:
    # the first 8 only: a flood of 100,000 matches must not build 100,000 findings
    return [Finding(m.start(), m.end(), label) for m in islice(pattern.finditer(text), 8)]


def injection_scan(text: str) -> tuple[float, tuple[str, ...], tuple[Finding, ...]]:
    """The heuristic score of ``text`` (0–1), its reasons and findings (see module doc)."""
    if not text or not text.strip():
        return 0.0, (), ()
    scan = _Scan()
    # hidden text: Unicode tag characters spell ASCII invisibly; zero-width characters
    hidden = "".join(chr(ord(c) - 0xE0000) for m in _TAGS.finditer(text) for c in m.group()[:2000])
    tagged = _spans(text, _TAGS, "tag_characters")
    if tagged:
        scan.add("injection.invisible", 0.6, tagged[0])
    invisible = _INVISIBLE.findall(text)
    if len(invisible) >= 3 and len(invisible) < len(text):  # hidden among visible text
        scan.add("injection.invisible", 0.35, _spans(text, _INVISIBLE, "invisible")[0])
    canon = canonical(text)
    plain = _lexical(canon, _FEATURES)
    for reason, weight in plain.weights.items():
        scan.add(reason, weight)
    if hidden:
        for reason, weight in _lexical(canonical(hidden), _FEATURES).weights.items():
            scan.add("injection.invisible", max(weight, 0.6))
            scan.add(reason, weight)
    if not plain.weights.keys() & {"injection.override", "injection.persona"}:
        # look-alikes: the same text without the confusables map must not have fired
        folded = _normalize(_INVISIBLE.sub("", text)).casefold()
        if folded != canon and not _lexical(folded, _STRONG).weights:
            for reason, weight in _lexical(canon, _STRONG).weights.items():
                scan.add(reason, weight)
                scan.add("injection.obfuscated", 0.5)
        leet = canon.translate(_LEET)
        if leet != canon:
            for reason, weight in _lexical(leet, _STRONG).weights.items():
                scan.add(reason, weight)
                scan.add("injection.obfuscated", 0.5)
        rot = codecs.encode(canon, "rot13")
        for _reason, weight in _lexical(rot, _STRONG).weights.items():
            scan.add("injection.encoded", weight)
    for i, m in enumerate(_BASE64.finditer(text)):
        if i >= MAX_BLOBS:
            break
        decoded = _decode_base64(m.group())
        if decoded is None:
            continue
        weights = _lexical(canonical(decoded), _FEATURES).weights
        if weights:
            scan.add(
                "injection.encoded", max(weights.values()), Finding(m.start(), m.end(), "base64")
            )
    if _DECODE_REQUEST.search(canon):
        scan.add("injection.encoded", 0.5)
    return scan.score, tuple(sorted(scan.weights)), tuple(scan.findings)


def capped_scan(text: str) -> tuple[float, tuple[str, ...], tuple[Finding, ...]]:
    """:func:`injection_scan` of at most :data:`MAX_SCAN_CHARS` of ``text`` (its head and
    tail beyond that), with the findings' offsets in ``text`` itself."""
    from ragline.guards._window import CUT_MARKER, head_and_tail

    if len(text) <= MAX_SCAN_CHARS:
        return injection_scan(text)
    score, reasons, findings = injection_scan(head_and_tail(text, MAX_SCAN_CHARS))
    half = MAX_SCAN_CHARS // 2
    tail_at = half + len(CUT_MARKER)  # where the tail starts in the scanned text
    shift = len(text) - half - tail_at
    kept = [f for f in findings if f.end <= half]
    tail = [f for f in findings if f.start >= tail_at]
    kept += [Finding(f.start + shift, f.end + shift, f.label) for f in tail]
    return score, reasons, tuple(kept)


def _decode_base64(blob: str) -> str | None:
    """The blob decoded, when it is mostly printable text (else it is an id or a hash)."""
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(c.isprintable() or c.isspace() for c in decoded)
    return decoded if decoded and printable / len(decoded) > 0.95 else None


Scorer = Callable[[Sequence[str]], Sequence[float]]


class InjectionGuard:
    """Scores a text for prompt injection and applies ``action`` at ``threshold``.

    The heuristic score (:func:`injection_scan`) is combined by ``max`` with the
    optional ``scorer`` — any batch classifier ``texts -> scores in 0..1`` (the trained
    one plugs in here). At the input stage the last :data:`HISTORY_TURNS` user turns
    (``context.history``) are scored together with the question too, so an attack
    split over turns is caught (``injection.multi_turn``).
    """

    name = "injection"

    def __init__(
        self,
        *,
        action: Action = "block",
        threshold: float = 0.5,
        stages: Collection[GuardStage] = frozenset({"input"}),
        scorer: Scorer | None = None,
        document_action: Action | None = None,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], not {threshold}")
        self.action: Action = action
        self.threshold = threshold
        self.stages: frozenset[GuardStage] = frozenset(stages)
        self.scorer = scorer
        #: the action on a retrieved chunk (``guards.injection.documents``: drop is block,
        #: quote and flag are flag); None: ``action``
        self.document_action: Action | None = document_action

    def check_chunk(self, chunk: Chunk, context: GuardContext) -> Verdict:
        """:meth:`check` of a retrieved chunk, from the score ingest stored with it
        (:func:`chunk_scan`) when it is current — a query then pays nothing — else live."""
        stored = chunk.metadata.get(CHUNK_KEY)
        if stored is None:
            return Verdict(guard=self.name)  # scored at ingest and found clean
        if (
            isinstance(stored, Mapping)
            and stored.get("v") == SCAN_VERSION
            and isinstance(stored.get("score"), (int, float))
        ):
            reasons = tuple(str(r) for r in stored.get("reasons") or ())
            return self._verdict(float(stored["score"]), reasons, (), context.stage)
        return self.check(chunk.text, context)

    def check(self, text: str, context: GuardContext) -> Verdict:
        score, reasons, findings = capped_scan(text)
        texts = [text]
        if context.stage == "input" and context.history:
            joined = "\n".join([*context.history[-HISTORY_TURNS:], text])
            texts.append(joined)
            joined_score, joined_reasons, _ = capped_scan(joined)
            # only what the turns say *together*: an earlier turn that was an attack on
            # its own was handled then, and must not block every later question
            alone = max(capped_scan(t)[0] for t in context.history[-HISTORY_TURNS:])
            if joined_score > max(score, alone):
                score = joined_score
                reasons = tuple(sorted({*joined_reasons, "injection.multi_turn"}))
        # the classifier judges what users type: on documents its false-positive rate is
        # far higher (bench/guards_injection.py), and a chunk would cost it ~250 ms
        if self.scorer is not None and context.stage == "input":
            learned = max((float(s) for s in self.scorer(texts)), default=0.0)
            learned = min(max(learned, 0.0), 1.0)
            if learned > score:
                score = learned
                reasons = tuple(sorted({*reasons, "injection.classifier"}))
        return self._verdict(score, reasons, findings, context.stage)

    def _verdict(
        self,
        score: float,
        reasons: tuple[str, ...],
        findings: tuple[Finding, ...],
        stage: GuardStage = "input",
    ) -> Verdict:
        if score < self.threshold:
            return Verdict(guard=self.name, score=score)
        action = self.action
        if stage == "retrieval" and self.document_action is not None:
            action = self.document_action
        if action == "redact":  # nothing to cut out safely: redact drops the text
            return Verdict(
                guard=self.name,
                action="redact",
                score=score,
                reasons=reasons,
                findings=findings,
                redacted="",
            )
        return Verdict(
            guard=self.name, action=action, score=score, reasons=reasons, findings=findings
        )


def chunk_scan(text: str) -> dict[str, Any] | None:
    """What ingest stores with a chunk under :data:`CHUNK_KEY`: the heuristic's score and
    reasons, and :data:`SCAN_VERSION` (a stale version is rescored live at query time);
    None for a clean chunk, which carries no key (its metadata stays the user's own)."""
    score, reasons, _ = injection_scan(text)
    if score <= 0.0:
        return None
    return {"v": SCAN_VERSION, "score": round(score, 4), "reasons": list(reasons)}


def is_injection(text: str, *, threshold: float = 0.5) -> bool:
    """Whether the heuristic alone scores ``text`` at or above ``threshold``."""
    return injection_scan(text)[0] >= threshold


__all__ = [
    "CHUNK_KEY",
    "HISTORY_TURNS",
    "MAX_MARK_RUN",
    "MAX_SCAN_CHARS",
    "SCAN_VERSION",
    "InjectionGuard",
    "Scorer",
    "canonical",
    "capped_scan",
    "chunk_scan",
    "injection_scan",
    "is_injection",
]
