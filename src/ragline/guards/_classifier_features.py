"""The injection classifier's lexical and structural features (one piece of text at a
time; linear time, bounded by :func:`cap`): obfuscation and template markers, and the
signs of an instruction addressed to the reader or the assistant — a sentence that
starts with a directive verb and talks to "you" / "your response" — which is what a
request planted in an otherwise descriptive document looks like. Also the hashed word
n-grams. Used by :mod:`ragline.guards._classifier` for training and scoring alike."""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: characters of a text that are looked at: its first HEAD_CHARS and last TAIL_CHARS
HEAD_CHARS = 2000
TAIL_CHARS = 500
#: a window the embedder sees (MiniLM reads 256 tokens, about 1,000 characters)
WINDOW_CHARS = 1000
#: hashed word unigrams and bigrams (crc32, stable across runs and machines)
HASH_BUCKETS = 4096
_HASH_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+")
_SECOND_PERSON = _words("you your yours yourself yourselves you're you'll you've you'd u ur")
_IMPERATIVE = _words(
    "ignore disregard forget pretend act respond answer reply write print repeat "
    "reveal say output tell show stop start begin continue imagine assume roleplay "
    "simulate generate provide list translate obey follow comply override bypass "
    "enable disable remember keep never always must include insert add replace type "
    "return"
)
_INJECTION_PHRASE = re.compile(
    r"ignore (?:all |any |the |your )?(?:previous|prior|above|earlier|preceding)"
    r"|disregard (?:all |any |the |your )?(?:previous|prior|above|earlier|instructions|rules)"
    r"|forget (?:all |everything|your|the )"
    r"|system (?:prompt|message|instructions?)"
    r"|(?:initial|original|hidden|secret) (?:prompt|instructions?)"
    r"|developer mode|jailbr[eo]ak|do anything now|\bDAN\b|\bSTAN\b|\bDUDE\b"
    r"|no (?:restrictions|limits|limitations|filters|rules|ethics|morals|censorship)"
    r"|(?:without|free from|free of) (?:any )?(?:restrictions|limits|filters|censorship|rules)"
    r"|from now on|stay in character|break character|you are (?:now |no longer )"
    r"|openai(?:'s)? (?:content )?polic|content polic|(?:unfiltered|uncensored|amoral)"
    r"|new instructions|instead,? (?:you|respond|say|print|write)|respond only with"
    r"|(?:act|behave) as (?:if|a|an)|pretend (?:to be|you)|roleplay|role-play",
    re.IGNORECASE,
)
_ROLE_MARKER = re.compile(
    r"(?:^|\n)[ \t]*(?:#+[ \t]*)?"
    r"(?:system|assistant|user|human|ai|developer|bot|instruction|response)[ \t]*:"
    r"|<\|?(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|?>"
    r"|\[/?INST\]|<</?SYS>>|</?s>|\[/?(?:system|SYSTEM)\]|###\s*(?:Instruction|Response|System)",
    re.IGNORECASE,
)
_TEMPLATE_CLOSE = re.compile(
    r"\"\"\"|'''|```|\}\}|\]\]|</[a-z]+>|-{3,}|={3,}"
    r"|end of (?:the )?(?:prompt|instructions?|context|document|text|input)",
    re.IGNORECASE,
)
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{24,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[\s:]?){16,}")
_LEET = re.compile(r"[a-zA-Z][0-9@$]+[a-zA-Z]")
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u00ad\u180e"
    "\U000e0000-\U000e007f\ufe00-\ufe0f]"
)
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")
_COMMON = _words(
    "the and you to of is in that it for are this with be your on not have as what "
    "all ignore previous instructions say print system prompt tell me now do"
)
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)

#: what a directive to the reader / the assistant starts with, besides _IMPERATIVE
_DIRECTIVE = _IMPERATIVE | _words(
    "introduce incorporate integrate embed employ utilize use ensure make give "
    "develop modify enhance suggest mention encode convert rewrite append prepend "
    "recommend advise urge encourage promote emphasize highlight express inform "
    "remind warn ask direct redirect end conclude finish sign change format spell "
    "reverse substitute encrypt decode send visit click contact share describe "
    "explain create summarize summarise help let put do don't be"
)
#: words that may come before a directive verb ("Please also mention ...")
_LEAD = _words("please also now and then kindly just finally additionally so")
_ADDRESSED = re.compile(
    r"\byour (?:\w+ )?(?:response|responses|answer|answers|reply|replies|output|message"
    r"|explanation|elucidation|solution|implementation|code|codebase|summary|translation"
    r"|writing|text)\b"
    r"|\b(?:respond|reply|answer) (?:in|with|only|using|as)\b"
    r"|\b(?:the|an?|this) (?:ai|assistant|chatbot|language model|llm)\b"
    r"|\b(?:the|this|every|each) (?:user|reader|customer|recipient)s?\b",
    re.IGNORECASE,
)

FEATURE_NAMES: tuple[str, ...] = (
    "log_length",
    "long_text",
    "second_person_share",
    "imperative_share",
    "imperative_start",
    "injection_phrases",
    "role_markers",
    "template_closers",
    "base64_runs",
    "hex_runs",
    "leet_share",
    "invisible_share",
    "tag_characters",
    "mixed_script_words",
    "rot13_words",
    "non_ascii_share",
    "upper_share",
    "bracket_share",
    "newlines",
    "ends_with_question",
    "addressed_to_model",
    "directive_sentences",
    "directive_to_reader",
)


def cap(text: str) -> str:
    """The part of ``text`` that is looked at (at most HEAD_CHARS + TAIL_CHARS + 1)."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    return text[:HEAD_CHARS] + "\n" + text[-TAIL_CHARS:]


def _directive(sentence: str) -> bool:
    """Whether ``sentence`` starts (after "please", "also", ...) with a directive verb."""
    for w in sentence.split(None, 3)[:3]:
        w = w.lower().strip("\"'*(-,:;")
        if w not in _LEAD:
            return w in _DIRECTIVE
    return False


def _mixed_script(word: str) -> bool:
    scripts = set()
    for ch in word:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            scripts.add(name.split(" ", 1)[0])
            if len(scripts) > 1:
                return True
    return False


def structural_features(text: str) -> list[float]:
    """``len(FEATURE_NAMES)`` cheap features of ``cap(text)``; linear time, bounded."""
    n_orig = len(text)
    t = cap(text)
    n = max(len(t), 1)
    words = _WORD.findall(t)
    lower = [w.lower() for w in words]
    nw = max(len(words), 1)
    sentences = [s.strip() for s in re.split(r"[.!?\n]+", t) if s.strip()]
    starts = [s.split(None, 1)[0].lower().strip("\"'*(-") for s in sentences]
    imp_starts = sum(1 for s in starts if s in _IMPERATIVE)
    alpha_words = [w for w in words if not w.isdigit()]
    rot13 = sum(
        1 for w in lower if len(w) > 2 and w not in _COMMON and w.translate(_ROT13) in _COMMON
    )
    letters = sum(1 for ch in t if ch.isalpha())
    stripped = t.rstrip()
    directive = [_directive(s) for s in sentences]
    to_reader = sum(
        1
        for s, d in zip(sentences, directive, strict=True)
        if d
        and (_ADDRESSED.search(s) or any(w.lower() in _SECOND_PERSON for w in _WORD.findall(s)))
    )

    def log_count(k: int) -> float:
        return math.log1p(k)

    return [
        math.log1p(n_orig) / 10.0,
        1.0 if n_orig > WINDOW_CHARS else 0.0,
        sum(1 for w in lower if w in _SECOND_PERSON) / nw,
        sum(1 for w in lower if w in _IMPERATIVE) / nw,
        imp_starts / max(len(sentences), 1),
        log_count(len(_INJECTION_PHRASE.findall(t))),
        log_count(len(_ROLE_MARKER.findall(t))),
        log_count(len(_TEMPLATE_CLOSE.findall(t))),
        log_count(len(_BASE64.findall(t))),
        log_count(len(_HEX.findall(t))),
        sum(1 for w in t.split() if len(w) <= 30 and _LEET.search(w)) / nw,
        min(len(_INVISIBLE.findall(t)) / n * 10.0, 1.0),
        1.0 if _TAG_CHARS.search(t) else 0.0,
        log_count(sum(1 for w in alpha_words if _mixed_script(w))),
        log_count(rot13),
        sum(1 for ch in t if ord(ch) > 127) / n,
        sum(1 for ch in t if ch.isupper()) / max(letters, 1),
        sum(1 for ch in t if ch in "{}[]<>|\\") / n,
        log_count(t.count("\n")),
        1.0 if stripped.endswith("?") else 0.0,
        log_count(len(_ADDRESSED.findall(t))),
        sum(directive) / max(len(sentences), 1),
        to_reader / max(len(sentences), 1),
    ]


def hashed_ngrams(piece: str, buckets: int = HASH_BUCKETS) -> npt.NDArray[np.float32]:
    """Word unigrams and bigrams of ``piece`` (lower-cased) hashed into ``buckets``,
    present/absent, scaled to unit length."""
    import numpy as np

    v = np.zeros(buckets, dtype=np.float32)
    words = _HASH_WORD.findall(piece.lower())
    for tok in [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]:
        v[zlib.crc32(tok.encode("utf-8")) % buckets] = 1.0
    n = float(np.linalg.norm(v))
    return v / n if n else v
