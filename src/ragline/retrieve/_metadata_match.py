"""Query analysis that uses document metadata: the organisations, periods and document
types a tenant's documents have (``ragline.org``, ``ragline.period``,
``ragline.doc_type``, see :mod:`ragline.ingest._metadata`), recognised in a question.

:class:`MetadataIndex` keeps, per tenant, the values present and the ways a question
may say them, built from :meth:`Store.list_documents` and rebuilt at most every
``ttl_s`` seconds (an ingest in the same process refreshes it at once through
:meth:`MetadataIndex.invalidate`). No model is involved:

- an organisation is found by its name or its name without the corporate suffix,
  case- and punctuation-insensitively ("Apple" ↔ "Apple Inc.", "3M" ↔ "3M COMPANY",
  "apple's"); a one-word name (``Target``) counts only where the question writes it
  with a capital or a digit, unless the whole question is in lower case;
- a period is found as "Q3 2022", "2022 Q3", "third quarter of 2022", "three months
  ended September 30, 2022", "FY2022", "FY22", "fiscal 2022", "fiscal year 2022",
  "year ended December 31, 2022" or a bare year: a quarter matches that quarter; a
  fiscal year ("FY2022") matches that fiscal year where one exists, else every period
  of that year; a bare year ("in 2022") matches every period of that year. Other
  period values ("H1 2024") match where the question contains them;
- a document type is found by its value ("10-K", "10k", "faq") and a few plain names
  ("annual report" for ``annual report``, "quarterly report" for ``10-Q``,
  "frequently asked questions" for ``faq``).

:func:`plan_metadata` turns the matches into what ``retrieval.metadata_match`` asks:
``boost`` (the default) multiplies the fused score of hits with a matched value by
``retrieval.metadata_boost`` (a period or document type only on the named
organisation's hits, when the question names one); ``filter`` keeps only hits with the matched
organisation and period (a document type is never a filter, only a boost: a
question that says "policy" in passing still gets every document); ``off`` does
nothing. Each match is traced with its key, values and the words it matched on.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ragline.ingest._metadata import DOC_TYPE_KEY, ORG_KEY, PERIOD_KEY, writes
from ragline.retrieve._routing import Boost
from ragline.store import Condition, Store

#: corporate suffixes left out of an organisation's short name
_SUFFIXES = frozenset(
    {
        "inc", "incorporated", "corp", "corporation", "company", "co", "ltd", "limited",
        "plc", "llc", "lp", "l", "p", "nv", "n", "v", "bv", "b", "sa", "s", "a", "ag", "se", "gmbh",
        "holdings", "holding", "group", "the",
    }
)  # fmt: skip
_DOC_TYPE_NAMES = {
    "10-K": ("10 k", "10k", "form 10 k"),
    "10-Q": ("10 q", "10q", "quarterly report", "form 10 q"),
    "8-K": ("8 k", "8k"),
    "20-F": ("20 f", "20f"),
    "annual report": ("annual report",),
    "faq": ("faq", "faqs", "frequently asked questions"),
    "policy": ("policy", "policies"),
    "manual": ("manual", "user guide", "handbook"),
}
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3}
_ORDINALS["4th"] = 4
_YEAR = r"((?:19|20)\d\d)"
_Q_PATTERNS = (
    re.compile(rf"\bq([1-4])\s*(?:of\s+)?(?:fy\s*|fiscal\s+(?:year\s+)?)?{_YEAR}\b"),
    re.compile(r"\bq([1-4])\s*(?:fy\s*)?'?(\d\d)\b"),
    re.compile(rf"\b{_YEAR}\s*q([1-4])\b"),
    re.compile(
        rf"\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:fiscal\s+)?quarter\s+"
        rf"(?:of\s+)?(?:fiscal\s+(?:year\s+)?|fy\s*)?{_YEAR}\b"
    ),
    re.compile(
        r"\b(?:three\s+months|quarter|quarterly\s+period)\s+ended\s+"
        rf"([a-z]{{3}})[a-z]*\.?\s+\d{{1,2}}\s*,?\s*{_YEAR}\b"
    ),
)
_FY_PATTERNS = (
    re.compile(rf"\bfy\s*{_YEAR}\b"),
    re.compile(r"\bfy\s*'?(\d\d)\b"),
    re.compile(rf"\bfiscal\s+(?:year\s+)?{_YEAR}\b"),
    re.compile(rf"\b(?:fiscal\s+)?year\s+ended\s+[a-z]+\.?\s+\d{{1,2}}\s*,?\s*{_YEAR}\b"),
)
_BARE_YEAR = re.compile(rf"(?<![\w-]){_YEAR}(?![\w-])")
_PERIOD_VALUE = re.compile(r"(?:(\d{4})-Q([1-4])|FY(\d{4}))")
_POSSESSIVE = re.compile(r"['’]s\b")
_NON_WORD = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: ``"Apple's 10-K"`` → ``"apple 10 k"``."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _POSSESSIVE.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).replace("_", " ").split())


def org_aliases(name: str) -> set[str]:
    """The normalised forms a question may use for an organisation's name."""
    full = normalize(name)
    words = full.split()
    while words and words[-1] in _SUFFIXES:
        words.pop()
    while words and words[0] == "the":
        words.pop(0)
    out = {full} if full else set()
    short = " ".join(words)
    if len(short) >= 2:
        out.add(short)
    return out


#: the share of a tenant's documents that must carry a key for questions to match it
MIN_COVERAGE = 0.5


@dataclass(frozen=True, slots=True)
class MetadataMatch:
    """A metadata value the question names: which key, which values, on which words."""

    key: str
    values: tuple[str, ...]
    words: str

    def describe(self) -> str:
        return f"{self.key} in ({', '.join(self.values)}) on {self.words!r}"


@dataclass(slots=True)
class MetadataValues:
    """One tenant's metadata values and their aliases (normalised text → values)."""

    orgs: dict[str, set[str]] = field(default_factory=dict)
    periods: set[str] = field(default_factory=set)
    doc_types: dict[str, set[str]] = field(default_factory=dict)
    documents: int = 0
    #: documents carrying each key (see :meth:`covers`)
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, metadata: Iterable[dict[str, object]]) -> MetadataValues:
        out = cls()
        for meta in metadata:
            out.documents += 1
            for key in (ORG_KEY, PERIOD_KEY, DOC_TYPE_KEY):
                value = meta.get(key)
                if isinstance(value, str) and value.strip():
                    out.counts[key] = out.counts.get(key, 0) + 1
            org, period, doc_type = meta.get(ORG_KEY), meta.get(PERIOD_KEY), meta.get(DOC_TYPE_KEY)
            if isinstance(org, str) and org.strip():
                for alias in org_aliases(org):
                    out.orgs.setdefault(alias, set()).add(org)
            if isinstance(period, str) and period.strip():
                out.periods.add(period)
            if isinstance(doc_type, str) and doc_type.strip():
                names = {normalize(doc_type), *_DOC_TYPE_NAMES.get(doc_type, ())}
                for alias in names:
                    if alias:
                        out.doc_types.setdefault(alias, set()).add(doc_type)
        return out

    def __bool__(self) -> bool:
        return bool(self.orgs or self.periods or self.doc_types)

    def covers(self, key: str) -> bool:
        """Whether at least :data:`MIN_COVERAGE` of the tenant's documents carry ``key``.

        Boosting (or filtering) on a key few documents have lifts those few above the
        untagged rest, the right answer included: on FinanceBench pages whose company
        was found on 36 of 168 covers, matching on it took gold-in-top-5 from 0.747 to
        0.547 (``bench/financebench.py --extraction``). Such a key is not matched."""
        return self.counts.get(key, 0) >= MIN_COVERAGE * max(self.documents, 1)


def _phrase(alias: str, text: str) -> re.Match[str] | None:
    return re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", text)


def _original_words(question: str, alias: str) -> list[str]:
    """The question's own words that normalise to ``alias`` (for the capital check)."""
    n = len(alias.split())
    words = question.split()
    return [
        " ".join(words[i : i + n])
        for i in range(len(words) - n + 1)
        if normalize(" ".join(words[i : i + n])) == alias
    ]


def _orgs(question: str, text: str, values: MetadataValues) -> list[MetadataMatch]:
    lower_question = not any(ch.isupper() for ch in question)
    found: dict[str, tuple[str, set[str]]] = {}
    for alias in sorted(values.orgs, key=len, reverse=True):
        if _phrase(alias, text) is None:
            continue
        if " " not in alias and not any(ch.isdigit() for ch in alias) and not lower_question:
            spelled = _original_words(question, alias)
            if spelled and not any(w[:1].isupper() for w in spelled):
                continue  # "the target margin" is not Target Corporation
        if any(alias in longer for longer in found):
            continue  # "apple" inside an already matched "apple inc"
        found[alias] = (alias, values.orgs[alias])
    if not found:
        return []
    names = sorted({v for _, vs in found.values() for v in vs})
    words = ", ".join(sorted(found))
    return [MetadataMatch(ORG_KEY, tuple(names), words)]


def _mentions(text: str) -> tuple[set[tuple[int, int]], set[int], set[int], list[str]]:
    """Quarters ``(year, q)``, fiscal years, bare years in ``text``, and the words."""
    quarters: set[tuple[int, int]] = set()
    fiscal: set[int] = set()
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    for i, pattern in enumerate(_Q_PATTERNS):
        for m in pattern.finditer(text):
            a, b = m.group(1), m.group(2)
            if i in (0, 1):
                year, q = (int(b) if len(b) == 4 else 2000 + int(b)), int(a)
            elif i == 2:
                year, q = int(a), int(b)
            elif i == 3:
                year, q = int(b), _ORDINALS[a]
            else:
                month = _MONTHS.get(a)
                if month is None:
                    continue
                year, q = int(b), (month - 1) // 3 + 1
            quarters.add((year, q))
            words.append(m.group(0))
            spans.append(m.span())
    for pattern in _FY_PATTERNS:
        for m in pattern.finditer(text):
            y = m.group(1)
            fiscal.add(int(y) if len(y) == 4 else 2000 + int(y))
            words.append(m.group(0))
            spans.append(m.span())
    bare: set[int] = set()
    for m in _BARE_YEAR.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            bare.add(int(m.group(1)))
            words.append(m.group(0))
    return quarters, fiscal, bare, words


def _periods(text: str, values: MetadataValues) -> list[MetadataMatch]:
    if not values.periods:
        return []
    quarters, fiscal, bare, words = _mentions(text)
    parsed: dict[str, tuple[int, int | None]] = {}
    for value in values.periods:
        m = _PERIOD_VALUE.fullmatch(value)
        if m:
            parsed[value] = (
                (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(3)), None)
            )
    chosen: set[str] = set()
    for value, (year, q) in parsed.items():
        if q is not None and (year, q) in quarters:
            chosen.add(value)
    for year in fiscal:  # "FY2022": that fiscal year, else any period of 2022
        exact = {v for v, (y, q) in parsed.items() if y == year and q is None}
        chosen |= exact or {v for v, (y, _q) in parsed.items() if y == year}
    for year in bare:  # "in 2022": any period of 2022
        chosen |= {v for v, (y, _q) in parsed.items() if y == year}
    for value in values.periods - set(parsed):  # stated periods such as "H1 2024"
        alias = normalize(value)
        if alias and _phrase(alias, text):
            chosen.add(value)
            words.append(value)
    if not chosen:
        return []
    return [MetadataMatch(PERIOD_KEY, tuple(sorted(chosen)), ", ".join(dict.fromkeys(words)))]


def _doc_types(text: str, values: MetadataValues) -> list[MetadataMatch]:
    found: set[str] = set()
    words: list[str] = []
    for alias in sorted(values.doc_types, key=len, reverse=True):
        if _phrase(alias, text) and not any(alias in w for w in words):
            found |= values.doc_types[alias]
            words.append(alias)
    if not found:
        return []
    return [MetadataMatch(DOC_TYPE_KEY, tuple(sorted(found)), ", ".join(words))]


def match_metadata(question: str, values: MetadataValues) -> list[MetadataMatch]:
    """The organisations, periods and document types of ``values`` that ``question``
    names (at most one match per key)."""
    if not values or not question.strip():
        return []
    text = normalize(question)
    loose = " ".join(question.casefold().split())  # "three months ended sept. 30, 2022"
    found = [
        *_orgs(question, text, values),
        *_periods(loose, values),
        *_doc_types(text, values),
    ]
    return [m for m in found if values.covers(m.key)]


@dataclass(slots=True)
class MetadataPlan:
    """What metadata matching adds to a query plan."""

    mode: str = "off"
    matches: list[MetadataMatch] = field(default_factory=list)
    filters: list[Condition] = field(default_factory=list)
    boosts: list[Boost] = field(default_factory=list)


#: keys that ``filter`` mode turns into conditions (a document type only boosts)
FILTER_KEYS = (ORG_KEY, PERIOD_KEY)


def plan_metadata(matches: Sequence[MetadataMatch], *, mode: str, factor: float) -> MetadataPlan:
    """Boosts (or, in ``filter`` mode, conditions) for the matched values.

    When the question names an organisation, the period and document-type boosts apply
    only to that organisation's hits: "Apple's FY2022 revenue" must not lift another
    company's FY2022 report above Apple's other pages."""
    plan = MetadataPlan(mode, list(matches))
    org = next((Condition(m.key, "in", m.values) for m in matches if m.key == ORG_KEY), None)
    for match in matches:
        condition = Condition(match.key, "in", match.values)
        if mode == "filter" and match.key in FILTER_KEYS:
            plan.filters.append(condition)
        elif mode in ("boost", "filter"):
            scope = (org,) if org is not None and match.key != ORG_KEY else ()
            plan.boosts.append(Boost(f"metadata:{match.key}", (condition, *scope), factor))
    return plan


class MetadataIndex:
    """Per tenant, the metadata values present in the store (see the module docstring)."""

    def __init__(self, store: Store, *, ttl_s: float = 10.0) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, int, MetadataValues]] = {}
        self._lock = threading.Lock()

    def values(self, tenant: str) -> MetadataValues:
        now = time.monotonic()
        generation = writes()
        with self._lock:
            cached = self._cache.get(tenant)
        if cached is not None and now - cached[0] < self.ttl_s and cached[1] == generation:
            return cached[2]
        values = MetadataValues.build(d.metadata for d in self.store.list_documents(tenant))
        with self._lock:
            self._cache[tenant] = (now, generation, values)
        return values

    def invalidate(self, tenant: str | None = None) -> None:
        """Forget one tenant's values (every tenant's for None): rebuilt on next use."""
        with self._lock:
            if tenant is None:
                self._cache.clear()
            else:
                self._cache.pop(tenant, None)
