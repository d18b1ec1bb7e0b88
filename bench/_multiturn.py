"""A multi-turn retrieval set built from ClapNQ and XQuAD questions (nothing committed).

Every conversation is 2–4 user turns; each turn after the first is scored on its own
(gold: the passage that answers it) and has one of three categories:

- ``pronoun`` — a true follow-up on the same XQuAD paragraph. Two questions of one
  paragraph that share a noun phrase (the longest run of words, at least one of them
  capitalised or a content word of 4+ letters, that both contain) give turn 1 (as
  written) and the follow-up: the second question with that phrase replaced by a
  pronoun (``it``/``they``, ``its``/``their`` for a possessive, the article dropped:
  "How many times has Polonia won the cup?" after "Who won the Ekstraklasa
  Championship…Polonia…" → "How many times has it won the cup?"). A conversation
  may have a second follow-up on the same paragraph (resolved through the first).
- ``switch`` — a new topic asked the way follow-ups look: short or led by "And" /
  "What about", but self-contained: an XQuAD question of at most 6 words as written;
  "And " + a question (first letter lower-cased); "What about <title>?" or "What is
  <title>?" for a ClapNQ passage's Wikipedia title (gold: every passage with that
  title); and an XQuAD topic question of under 8 words that follows a turn on
  another article. The topic is another article than the turn before.
- ``long`` — a self-contained question of 8+ words on another topic, as written
  (ClapNQ and XQuAD; some mention "they"/"it" about their own subject).

Deterministic: ``random.Random(15)`` over the files in their order. The knowledge base
is every XQuAD English paragraph and every ClapNQ dev gold passage (answerable and
unanswerable files), one chunk each.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

SEED = 15

#: words that never start or end the shared phrase, nor count as its content
_FUNCTION_WORDS = """a an the of in on at to for from by with about as into over after before
during between under and or but not no is are was were be been being do does did has have
had can could will would should may might must shall what which who whom whose when where
why how that this these those there here it its they their them he his she her i you we
our your my me us than then so if also such other many much more most some any each all
both one two first second new old same own very just only called name named type kind
year years time times people"""
FUNCTION = frozenset(_FUNCTION_WORDS.split())
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]", re.UNICODE)


@dataclass(slots=True)
class Turn:
    text: str
    gold: frozenset[str]  #: chunk ids that answer it
    category: str  #: "first" (turn 1), "pronoun", "switch", "long"


@dataclass(slots=True)
class Conversation:
    id: str
    turns: list[Turn] = field(default_factory=list)


@dataclass(slots=True)
class Passage:
    id: str
    title: str
    text: str


@dataclass(slots=True)
class Asked:
    text: str
    passage: str  #: chunk id
    article: str  #: what counts as the same topic (article title)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _content(token: str) -> bool:
    return token[:1].isalnum() and token.lower() not in FUNCTION


_DETERMINERS = frozenset({"the", "a", "an"})
_PREPOSITION_WORDS = "of on in at to for from by with about against over under into between during"
_PREPOSITIONS = frozenset(_PREPOSITION_WORDS.split())


def noun_phrases(tokens: list[str]) -> list[tuple[int, int]]:
    """Token spans of ``tokens`` that are noun phrases: a maximal run of capitalised
    words (not a question word), or an article and the content words after
    it ("the average age")."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t[:1].isupper() and t.lower() not in FUNCTION:
            j = i + 1
            while j < len(tokens) and (
                tokens[j][:1].isupper()
                or tokens[j][:1].isdigit()
                or (j + 1 < len(tokens) and tokens[j] == "of" and tokens[j + 1][:1].isupper())
            ):
                j += 1
            start = i - 1 if i > 0 and tokens[i - 1].lower() in _DETERMINERS else i
            modifier = j < len(tokens) and _content(tokens[j]) and tokens[j][:1].islower()
            modified = i > 0 and _content(tokens[i - 1]) and tokens[i - 1][:1].islower()
            if not modifier and not modified:
                spans.append((start, j))
            i = j
        elif t.lower() in _DETERMINERS:
            j = i + 1
            while j < len(tokens) and _content(tokens[j]):
                j += 1
            if j > i + 1 and any(len(w) >= 4 for w in tokens[i + 1 : j]):
                spans.append((i, j))
            i += 1
        else:
            i += 1
    return spans


def shared_phrase(first: str, second: str) -> tuple[int, int] | None:
    """The longest noun phrase of ``second`` (token span) that ``first`` also has."""
    a = [t.lower() for t in _tokens(first)]
    tokens = _tokens(second)
    best: tuple[int, int] | None = None
    for i, j in noun_phrases(tokens):
        words = [t.lower() for t in tokens[i:j] if t.lower() not in _DETERMINERS]
        if words and _contains(a, words) and (best is None or j - i > best[1] - best[0]):
            best = (i, j)
    return best


def _contains(seq: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return any(seq[k : k + n] == sub for k in range(len(seq) - n + 1))


def pronoun_follow_up(first: str, second: str) -> str | None:
    """``second`` with the noun phrase it shares with ``first`` replaced by a pronoun."""
    tokens = _tokens(second)
    span = shared_phrase(first, second)
    if span is None:
        return None
    i, j = span
    head = tokens[j - 1]
    possessive = (j < len(tokens) and tokens[j] in {"'", "’"}) or head.lower().endswith(
        ("'s", "’s")
    )
    if head.lower().endswith(("'s", "’s")):
        head = head[:-2]
    plural = head.lower().endswith("s") and not head[:1].isupper()
    after_preposition = i > 0 and tokens[i - 1].lower() in _PREPOSITIONS
    if possessive:
        pronoun = "their" if plural else "its"
    elif plural:
        pronoun = "them" if after_preposition else "they"
    else:
        pronoun = "it"
    out = [*tokens[:i], pronoun, *tokens[j:]]
    out[0] = out[0][:1].upper() + out[0][1:]
    return detokenize(out)


def detokenize(tokens: list[str]) -> str:
    text = " ".join(tokens)
    text = re.sub(r"\s+([?.,!;:%)\]])", r"\1", text)
    text = re.sub(r"([(\[])\s+", r"\1", text)
    text = re.sub(r"\s+(['’]s)\b", r"\1", text)
    text = re.sub(r"(\w) - (\w)", r"\1-\2", text)
    text = re.sub(r'"\s+([^"]*?)\s+"', r'"\1"', text)
    return text


def _pid(text: str) -> str:
    return "clapnq-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def load(
    datasets: Path,
) -> tuple[list[Passage], list[list[Asked]], list[Asked], dict[str, set[str]]]:
    """Passages; XQuAD questions grouped by paragraph; ClapNQ questions; titles → ids."""
    passages: dict[str, Passage] = {}
    xquad = json.loads((datasets / "xquad_en_es" / "xquad.en.json").read_text("utf-8"))["data"]
    groups: list[list[Asked]] = []
    for a, article in enumerate(xquad):
        title = article["title"].replace("_", " ")
        for p, para in enumerate(article["paragraphs"]):
            cid = f"xquad-{a:02d}-{p}"
            passages[cid] = Passage(cid, title, para["context"])
            groups.append([Asked(qa["question"].strip(), cid, title) for qa in para["qas"]])
    clapnq: list[Asked] = []
    titles: dict[str, set[str]] = {}
    dev = datasets / "clapnq" / "annotated_data" / "dev"
    for name in ("clapnq_dev_answerable.jsonl", "clapnq_dev_unanswerable.jsonl"):
        for line in (dev / name).read_text("utf-8").splitlines():
            record = json.loads(line)
            ids = []
            for p in record["passages"]:
                pid = _pid(p["text"])
                passages.setdefault(pid, Passage(pid, p["title"], p["text"]))
                titles.setdefault(p["title"], set()).add(pid)
                ids.append(pid)
            if name.endswith("_answerable.jsonl") and ids:
                title = record["passages"][0]["title"]
                q = record["input"].strip()
                q = q[:1].upper() + q[1:]
                clapnq.append(Asked(q if q.endswith("?") else q + "?", ids[0], title))
    return list(passages.values()), groups, clapnq, titles


def build(datasets: Path, *, conversations: int = 400) -> tuple[list[Passage], list[Conversation]]:
    """The knowledge base and the conversations (see the module docstring)."""
    rng = random.Random(SEED)
    passages, groups, clapnq, titles = load(datasets)
    pairs: list[tuple[Asked, list[tuple[Asked, str]]]] = []
    for group in groups:
        for i, first in enumerate(group):
            follows = []
            for second in group[i + 1 :]:
                rewritten = pronoun_follow_up(first.text, second.text)
                if rewritten and rewritten != second.text:
                    follows.append((second, rewritten))
            if follows:
                pairs.append((first, follows))
                break  # one topic question per paragraph
    xquad_all = [q for g in groups for q in g]
    short = [q for q in xquad_all if len(q.text.split()) <= 6]
    long = [q for q in [*xquad_all, *clapnq] if len(q.text.split()) >= 8]
    clap_titles = sorted(t for t in titles if len(t.split()) <= 5)
    rng.shuffle(pairs)

    def switch(avoid: str) -> Turn:
        kind = rng.randrange(4)
        if kind == 0:
            q = rng.choice([s for s in short if s.article != avoid])
            return Turn(q.text, frozenset({q.passage}), "switch")
        if kind == 1:
            q = rng.choice([s for s in [*xquad_all, *clapnq] if s.article != avoid])
            return Turn("And " + q.text[:1].lower() + q.text[1:], frozenset({q.passage}), "switch")
        title = rng.choice([t for t in clap_titles if t != avoid])
        text = f"What about {title}?" if kind == 2 else f"What is {title}?"
        return Turn(text, frozenset(titles[title]), "switch")

    def long_turn(avoid: str) -> Turn:
        q = rng.choice([s for s in long if s.article != avoid])
        return Turn(q.text, frozenset({q.passage}), "long")

    out: list[Conversation] = []
    for n in range(conversations):
        first, follows = pairs[n % len(pairs)]
        conv = Conversation(f"conv-{n:03d}")
        shape = n % 4
        if shape == 3:  # starts on another topic, then the paragraph's topic, then follow-ups
            conv.turns.append(long_turn(first.article))
            conv.turns[-1].category = "first"
            category = "long" if len(first.text.split()) >= 8 else "switch"
            conv.turns.append(Turn(first.text, frozenset({first.passage}), category))
        else:
            conv.turns.append(Turn(first.text, frozenset({first.passage}), "first"))
        for second, rewritten in follows[: 1 + (shape == 1)]:
            conv.turns.append(Turn(rewritten, frozenset({second.passage}), "pronoun"))
        if shape in (0, 2) and len(conv.turns) < 4:
            conv.turns.append(switch(first.article) if shape == 0 else long_turn(first.article))
        out.append(conv)
    return passages, out


__all__ = ["Conversation", "Passage", "Turn", "build", "pronoun_follow_up", "shared_phrase"]
