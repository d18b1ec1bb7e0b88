"""Enrichment: chunk language (lingua), document type rules, document language.

Language detection uses lingua in high-accuracy mode restricted to
``settings.languages``, built once per language set, lazily (models load on first
use). Measured on the 2-core development machine (under load from other jobs) with
the seven default languages on SciFact abstracts chunked at 800 characters:
~1,000 chunks/s through :meth:`LanguageDetector.detect_documents` (batched,
multi-threaded) plus a one-time model load of ~2 s. Low-accuracy mode was no faster
on chunks this long (~1,000-3,000/s either way) and only saves the one-time load
(~0.2 s), while being markedly worse on short text, so high accuracy it is: detection
costs ~3% of an ingest with the bundled MiniLM embedder (~30-60 chunks/s here).

Text with fewer than ``MIN_LETTERS`` letters is too short to tell: its language
is ``None``.

Language profiles (:meth:`LanguageDetector.profile_documents`) judge each chunk's
lines and sentences on their own as well: a segment counts when it has at least
``SEGMENT_MIN_LETTERS`` letters, looks like prose (letters are most of its
characters, so commands, paths and tables of numbers do not count) and lingua is
sure of it (``SEGMENT_MIN_CONFIDENCE``). A chunk is *mixed* when a language other
than its own has at least ``MIXED_MIN_SHARE`` of the judged letters and at least
``MIXED_MIN_LETTERS`` of them (about two sentences): a product name, a quoted
command or a one-line English error message in a Spanish paragraph does not make
it mixed. A document's language is the one most of its judged letters are in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ragline.config import DocTypeRule
from ragline.errors import ConfigError
from ragline.types import Chunk

MIN_LETTERS = 20
#: chunk metadata: the language of the chunk's document, and (only for a mixed chunk)
#: the languages it has substantial text in
DOC_LANGUAGE_KEY = "ragline.doc_language"
MIXED_LANGUAGES_KEY = "ragline.mixed_languages"
FULL_WEIGHT_CHARS = 600  # a chunk this long is judged on its own text alone
DOC_SAMPLE_CHARS = 4000  # how much of a document sets the prior for its chunks
_PARALLEL_FROM = 16  # batches this large use lingua's multi-threaded call
SEGMENT_MIN_LETTERS = 40  # shorter lines/sentences are not judged on their own
SEGMENT_MIN_CONFIDENCE = 0.7  # lingua's share for the segment's best language
SEGMENT_PROSE_SHARE = 0.75  # letters / non-space characters of a prose segment
MIXED_MIN_SHARE = 0.2  # a second language's share of the judged letters
MIXED_MIN_LETTERS = 120  # ... and at least this many letters of it


def _lingua_language(code: str) -> Any:
    from lingua import IsoCode639_1, Language

    iso = getattr(IsoCode639_1, code.upper(), None) if len(code) == 2 else None
    if iso is None:
        raise ConfigError(
            f"ingest.languages: unknown ISO 639-1 language code {code!r}",
            hint="use two-letter codes such as en, es, fr, de",
        )
    return Language.from_iso_code_639_1(iso)


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...], fast: bool = False) -> Any:
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_languages(*(_lingua_language(c) for c in codes))
    return (builder.with_low_accuracy_mode() if fast else builder).build()


_LETTER = re.compile(r"[^\W\d_]")


def _letters(text: str) -> int:
    return len(_LETTER.findall(text))


class LanguageDetector:
    """Detects ISO 639-1 codes among a fixed set of languages.

    :meth:`detect_documents` blends each chunk's evidence with its document's: a
    chunk's own confidence values weigh ``min(1, len(text) / FULL_WEIGHT_CHARS)`` and
    the document's (from its first ``DOC_SAMPLE_CHARS`` characters) the rest. A short
    English chunk full of Dutch street names thus stays English, while a full
    Spanish section in an English document is still Spanish.
    """

    def __init__(self, languages: Sequence[str], *, fast: bool = False) -> None:
        """``fast``: lingua's low-accuracy mode (trigrams only; ~10× faster on a short
        question; monitoring uses it off the ask path)."""
        codes = tuple(sorted({c.strip().lower() for c in languages if c.strip()}))
        for code in codes:
            _lingua_language(code)  # fail now, not after parsing a thousand files
        self.codes = codes
        self._single = codes[0] if len(codes) == 1 else None
        self._built = False
        self._lingua: Any = None
        self._fast = fast

    def _get(self) -> Any:
        if not self._built:
            self._lingua = _detector(self.codes, self._fast) if len(self.codes) > 1 else None
            self._built = True
        return self._lingua

    def confidences(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per text, confidence per language code (``{}`` when too short to tell)."""
        out: list[dict[str, float]] = [{} for _ in texts]
        todo = [i for i, t in enumerate(texts) if _letters(t) >= MIN_LETTERS]
        if not todo or not self.codes:
            return out
        if self._single is not None:
            for i in todo:
                out[i] = {self._single: 1.0}
            return out
        lingua = self._get()
        batch = [texts[i] for i in todo]
        if len(batch) >= _PARALLEL_FROM:
            found = lingua.compute_language_confidence_values_in_parallel(batch)
        else:
            found = [lingua.compute_language_confidence_values(t) for t in batch]
        for i, values in zip(todo, found, strict=True):
            out[i] = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
        return out

    def detect(self, text: str) -> str | None:
        """The language of one text on its own, or ``None``."""
        return _best(self.confidences([text])[0])

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        """Each text on its own (no document context)."""
        return [_best(c) for c in self.confidences(texts)]

    def detect_documents(self, documents: Sequence[Sequence[str]]) -> list[list[str | None]]:
        """Chunk languages for several documents (lists of chunk texts) in one call."""
        texts: list[str] = []
        for chunks in documents:
            if len(chunks) > 1:
                texts.append("\n".join(chunks)[:DOC_SAMPLE_CHARS])
            texts.extend(chunks)
        confs = self.confidences(texts)
        out: list[list[str | None]] = []
        at = 0
        for chunks in documents:
            if len(chunks) > 1:
                prior, at = confs[at], at + 1
            else:
                prior = {}
            langs: list[str | None] = []
            for text in chunks:
                own = confs[at]
                at += 1
                w = min(1.0, len(text) / FULL_WEIGHT_CHARS) if own else 0.0
                mixed = {k: w * own.get(k, 0.0) + (1 - w) * prior.get(k, 0.0) for k in own | prior}
                langs.append(_best(mixed))
            out.append(langs)
        return out

    def profile_documents(self, documents: Sequence[Sequence[str]]) -> list[DocumentLanguages]:
        """Chunk languages (as :meth:`detect_documents`), each chunk's mixed marker and
        each document's language, for several documents (lists of chunk texts)."""
        chunk_langs = self.detect_documents(documents)
        seg_texts: list[str] = []
        owners: list[tuple[int, int]] = []  # (document, chunk) of each segment
        for d, chunks in enumerate(documents):
            for c, text in enumerate(chunks):
                for seg in prose_segments(text):
                    seg_texts.append(seg)
                    owners.append((d, c))
        letters: list[list[Counter[str]]] = [[Counter() for _ in chunks] for chunks in documents]
        if len(self.codes) > 1:
            for (d, c), seg, conf in zip(
                owners, seg_texts, self.confidences(seg_texts), strict=True
            ):
                best = _best(conf)
                if best is not None and conf[best] >= SEGMENT_MIN_CONFIDENCE:
                    letters[d][c][best] += _letters(seg)
        out: list[DocumentLanguages] = []
        for d, chunks in enumerate(documents):
            mixed = [mixed_languages(lang, letters[d][c]) for c, lang in enumerate(chunk_langs[d])]
            total: Counter[str] = Counter()
            for counts in letters[d]:
                total.update(counts)
            if not total:  # nothing long enough: fall back on the chunks' languages
                for text, lang in zip(chunks, chunk_langs[d], strict=True):
                    if lang:
                        total[lang] += _letters(text)
            doc_lang = total.most_common(1)[0][0] if total else None
            out.append(DocumentLanguages(doc_lang, chunk_langs[d], mixed))
        return out


@dataclass(slots=True)
class DocumentLanguages:
    """A document's language, each chunk's, and each chunk's mixed languages (``[]``
    when it is in one language)."""

    language: str | None
    chunks: list[str | None]
    mixed: list[list[str]]


# paragraphs, sentences, and lines that start a list item, a table row or a heading;
# other line breaks are soft wraps inside a sentence
_SEGMENT_SPLIT = re.compile(r"\n\s*\n|(?<=[.!?;:])\s+(?=\S)|\n(?=\s*(?:[-*+|#>]|\d+[.)]\s))")
_FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1[^\n]*$", re.MULTILINE | re.DOTALL)


_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_PUNCT = ".,;:!?()[]«»\"'“”‘’¿¡"


def prose_segments(text: str) -> list[str]:
    """The lines and sentences of ``text`` long and wordy enough to judge on their own,
    as their plain words: fenced code, commands, paths, options and number tables are
    left out (a token counts as a word when it is letters only, punctuation aside)."""
    text = _FENCE.sub("\n", text)
    out: list[str] = []
    for seg in _SEGMENT_SPLIT.split(text):
        tokens = seg.split()
        words = [w for t in tokens if _WORD.fullmatch(w := t.strip(_PUNCT))]
        n = sum(len(w) for w in words)
        if n < SEGMENT_MIN_LETTERS:
            continue
        if n < SEGMENT_PROSE_SHARE * sum(len(t) for t in tokens):
            continue
        out.append(" ".join(words))
    return out


def mixed_languages(language: str | None, letters: Counter[str]) -> list[str]:
    """The languages of a chunk with substantial text in more than one (sorted, its
    own language included), or ``[]``."""
    if language is None:
        return []
    total = sum(letters.values())
    others = [
        code
        for code, n in letters.items()
        if code != language and n >= MIXED_MIN_LETTERS and n >= MIXED_MIN_SHARE * total
    ]
    return sorted({language, *others}) if others else []


def _best(values: dict[str, float]) -> str | None:
    if not values:
        return None
    code, score = max(values.items(), key=lambda kv: kv[1])
    return code if score > 0 else None


def document_language(chunks: Sequence[Chunk]) -> str | None:
    """The language of most of a document's text (by characters), or ``None``."""
    weight: Counter[str] = Counter()
    for c in chunks:
        if c.language:
            weight[c.language] += len(c.text)
    return weight.most_common(1)[0][0] if weight else None


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a path glob: ``*`` (within a folder), ``**`` (any depth), ``?``, ``[...]``.

    A pattern without ``/`` matches a file name at any depth (like .gitignore).
    """
    pat = pattern.strip().lstrip("/")
    if pat.startswith("./"):
        pat = pat[2:]
    out: list[str] = []
    i = 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        elif pat[i] == "[" and "]" in pat[i + 1 :]:
            j = pat.index("]", i + 1)
            body = pat[i + 1 : j]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            i = j + 1
        else:
            out.append(re.escape(pat[i]))
            i += 1
    prefix = "" if "/" in pat else "(?:.*/)?"
    return re.compile(prefix + "".join(out) + r"\Z")


def match_doc_type(rules: Sequence[DocTypeRule], rel_path: str) -> str | None:
    """``doc_type`` of the first rule whose glob matches the posix path, else ``None``."""
    for rule in rules:
        if glob_regex(rule.match).match(rel_path):
            return rule.doc_type
    return None
