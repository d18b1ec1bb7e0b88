"""Document-level metadata found in the document itself: organisation, reporting
period, document type, and the file name; plus the regex extractors of
``ingest.metadata.extract``.

Keys written into a document's (and so each chunk's) metadata:

- ``ragline.org``: the organisation the document is from or about ("Apple Inc.");
- ``ragline.period``: the reporting period, ``2022-Q3`` (a quarter, by the calendar
  quarter its end date falls in) or ``FY2022`` (a fiscal year, by the year it ends in);
  ``ragline.period_end``: that end date (``2022-09-30``) when the text states it;
- ``ragline.doc_type``: ``10-K``, ``10-Q``, ``8-K``, ``20-F``, ``annual report``,
  ``faq``, ``policy``, ``manual``;
- ``ragline.file``: the file name (not for JSON/JSONL records).

Extraction is conservative: only the title and the cover page (a PDF's first page,
else the first ``FIRST_PAGE_CHARS`` characters) are read, and a value is kept only
when a pattern that is reliable on its own finds it (the SEC cover's "(Exact name of
registrant as specified in its charter)", "for the quarterly period ended September
30, 2022", "FORM 10-K", a title ending in a company suffix…). Anything else stays
unset rather than guessed.

What the user states wins: front-matter, a sidecar or a JSON meta field with
``org``/``company``/``organization``, ``period``/``fiscal_year`` or ``doc_type`` sets
the matching ``ragline.*`` key, and a regex rule's key is never overwritten. Values
are cleaned (control characters dropped, whitespace collapsed, at most
``MAX_VALUE_CHARS``), so odd characters in a file never reach the index raw.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import PurePosixPath

from ragline.config import MetadataRule, MetadataSettings
from ragline.ingest._loaded import LoadedDocument
from ragline.types import Metadata

ORG_KEY = "ragline.org"
PERIOD_KEY = "ragline.period"
PERIOD_END_KEY = "ragline.period_end"
DOC_TYPE_KEY = "ragline.doc_type"
FILE_KEY = "ragline.file"
#: the keys query analysis matches questions against (see ragline.retrieve)
MATCH_KEYS = (ORG_KEY, PERIOD_KEY, DOC_TYPE_KEY)

#: bumped whenever an ingest in this process writes or removes documents: query
#: analysis then rebuilds its index of metadata values at once (other processes'
#: writes are seen within its time-to-live)
_writes = 0


def note_written() -> None:
    global _writes
    _writes += 1


def writes() -> int:
    return _writes


FIRST_PAGE_CHARS = 4000
MAX_VALUE_CHARS = 200
#: user metadata keys that state the organisation / period themselves
ORG_ALIASES = ("org", "organization", "organisation", "company")
PERIOD_ALIASES = ("period", "fiscal_period")
YEAR_ALIASES = ("fiscal_year",)

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE = rf"{_MONTH}\s+(\d{{1,2}})\s*,?\s*((?:19|20)\d\d)"
_QUARTER_ENDED = re.compile(
    rf"(?:quarterly\s+period|quarter|(?:three|3)\s+months)\s+ended\s+{_DATE}", re.IGNORECASE
)
_YEAR_ENDED = re.compile(rf"(?:fiscal\s+)?year\s+ended\s+{_DATE}", re.IGNORECASE)
_TITLE_YEAR = re.compile(
    r"\b(?:FY\s?|fiscal\s+(?:year\s+)?)((?:19|20)\d\d)\b"
    r"|\b((?:19|20)\d\d)\s+annual\s+report\b|\bannual\s+report\s+((?:19|20)\d\d)\b",
    re.IGNORECASE,
)
_ORDINAL_Q = {"first": 1, "second": 2, "third": 3, "fourth": 4}
_ORDINAL_Q.update({"1st": 1, "2nd": 2, "3rd": 3, "4th": 4})
_TITLE_QUARTER = re.compile(
    r"\bQ([1-4])\s*(?:FY\s?)?((?:19|20)\d\d)\b|\b((?:19|20)\d\d)\s*-?\s*Q([1-4])\b"
    r"|\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter\s+(?:of\s+)?(?:fiscal\s+)?((?:19|20)\d\d)\b",
    re.IGNORECASE,
)

_FORM = re.compile(r"\bFORM\s+(10-?K|10-?Q|8-?K|20-?F)\b", re.IGNORECASE)
_TITLE_TYPES = (
    (re.compile(r"\b(10-?K|10-?Q|8-?K|20-?F)\b", re.IGNORECASE), ""),
    (re.compile(r"\bannual\s+report\b", re.IGNORECASE), "annual report"),
    (re.compile(r"\bFAQs?\b|\bfrequently\s+asked\s+questions\b", re.IGNORECASE), "faq"),
    (re.compile(r"\bpolic(?:y|ies)\b", re.IGNORECASE), "policy"),
    (re.compile(r"\b(?:manual|user\s+guide|handbook)\b", re.IGNORECASE), "manual"),
)

_SUFFIX = (
    r"(?:Inc|Incorporated|Corp|Corporation|Company|Co|Ltd|Limited|plc|PLC|LLC|L\.P|LP"
    r"|N\.V|S\.A|AG|SE|GmbH|Holdings|Group)\.?"
)
_WORD = r"(?![\d\-]+\b)[A-Z0-9][\w&'’\-]*\.?"  # a capitalised word, not a number
_COMPANY = re.compile(rf"\b((?:{_WORD},?\s+){{0,5}}{_SUFFIX})(?![\w-])")
_REGISTRANT = re.compile(r"\(\s*exact\s+name\s+of\s+(?:the\s+)?registrant", re.IGNORECASE)
_SUBSIDIARIES = re.compile(
    r"^\s*([A-Z0-9][^\n]{1,70}?)\s+and\s+(?:its\s+)?(?:consolidated\s+)?subsidiaries\b",
    re.IGNORECASE | re.MULTILINE,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_SPACES = re.compile(r"\s+")


def clean_value(value: object) -> str:
    """A metadata value as one tidy line: NFKC, no control characters, one space
    between words, at most ``MAX_VALUE_CHARS`` characters."""
    text = unicodedata.normalize("NFKC", str(value))
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    return text[:MAX_VALUE_CHARS].strip()


def first_page(doc: LoadedDocument) -> str:
    """The cover page: a PDF's first page with text, else the start of the text."""
    pages = [s for s in doc.sections if s.page is not None and s.text.strip()]
    if pages:
        first = pages[0].page
        return "\n".join(s.text for s in pages if s.page == first)[: FIRST_PAGE_CHARS * 2]
    return doc.text[:FIRST_PAGE_CHARS]


# --------------------------------------------------------------------------- periods


def _quarter_of(month: str, day: str, year: str) -> tuple[str, str] | None:
    m = _MONTHS.get(month.lower().rstrip("."))
    d = int(day)
    if m is None or not 1 <= d <= 31:
        return None
    return f"{year}-Q{(m - 1) // 3 + 1}", f"{year}-{m:02d}-{d:02d}"


def find_period(title: str, cover: str) -> tuple[str, str | None] | None:
    """``(period, end date or None)`` from a title and a cover page, or ``None``."""
    for text in (title, cover):
        quarter = _QUARTER_ENDED.search(text)
        year = _YEAR_ENDED.search(text)
        # on a cover page the first statement is the report's own period
        if quarter and (year is None or quarter.start() < year.start()):
            found = _quarter_of(*quarter.groups())
            if found:
                return found
        if year:
            found = _quarter_of(*year.groups())
            if found:
                return f"FY{year.group(3)}", found[1]
    m = _TITLE_QUARTER.search(title)
    if m:
        if m.group(1):
            return f"{m.group(2)}-Q{m.group(1)}", None
        if m.group(3):
            return f"{m.group(3)}-Q{m.group(4)}", None
        return f"{m.group(6)}-Q{_ORDINAL_Q[m.group(5).lower()]}", None
    m = _TITLE_YEAR.search(title)
    if m:
        return f"FY{next(g for g in m.groups() if g)}", None
    return None


# --------------------------------------------------------------------------- doc types


def _form(code: str) -> str:
    code = code.upper().replace("-", "")
    return f"{code[:-1]}-{code[-1]}"


_FILE_FORM = re.compile(r"(?<![a-z0-9])(10-?k|10-?q|8-?k|20-?f)(?![a-z0-9])", re.IGNORECASE)


def find_doc_type(title: str, cover: str, file_name: str = "") -> str | None:
    """The kind of document from its title or cover page, else an SEC form code in its
    file name (``3M_2018_10K.pdf``); see the module docstring."""
    form = _FORM.search(title) or _FORM.search(cover)
    if form:
        return _form(form.group(1))
    for pattern, name in _TITLE_TYPES:
        m = pattern.search(title)
        if m:
            return name or _form(m.group(1))
    if re.search(r"annual\s+report\s+pursuant\s+to\s+section\s+13", cover, re.IGNORECASE):
        return "10-K"
    if re.search(r"quarterly\s+report\s+pursuant\s+to\s+section\s+13", cover, re.IGNORECASE):
        return "10-Q"
    form = _FILE_FORM.search(file_name.replace("_", " "))
    return _form(form.group(1)) if form else None


# --------------------------------------------------------------------------- organisations


def _company_name(text: str) -> str | None:
    """``text`` when it is a company name (words ending in a corporate suffix)."""
    text = clean_value(text).strip(" ,;:")
    m = _COMPANY.fullmatch(text)
    if m is None or not 2 <= len(text) <= 80:
        return None
    return text


def find_org(title: str, cover: str) -> str | None:
    """The organisation named by the cover page or the title, or ``None``."""
    registrant = _REGISTRANT.search(cover)
    if registrant:
        before = [line.strip() for line in cover[: registrant.start()].split("\n")]
        lines = [line for line in before if line]
        if lines:
            line = clean_value(lines[-1]).strip(" ,;:")
            names = [m.group(1) for m in _COMPANY.finditer(line)]
            if names:  # the name may share its line with the text before it
                return clean_value(names[-1]).strip(" ,;:")
            if 2 <= len(line) <= 80 and any(c.isalpha() for c in line):
                return line
    m = _COMPANY.search(title)
    if m:
        return clean_value(m.group(1)).strip(" ,;:")
    sub = _SUBSIDIARIES.search(cover)
    if sub:
        name = _company_name(sub.group(1))
        if name:
            return name
    for line in [x for x in cover.split("\n") if x.strip()][:5]:
        name = _company_name(line)
        if name:
            return name
    return None


# --------------------------------------------------------------------------- rules


def _rule_text(rule: MetadataRule, doc: LoadedDocument, cover: str, path: str) -> str:
    if rule.source == "title":
        return doc.title
    if rule.source == "first_page":
        return cover
    if rule.source == "path":
        return path
    return doc.text


def apply_rules(
    rules: Sequence[MetadataRule], doc: LoadedDocument, cover: str, path: str
) -> Metadata:
    """The values the regex rules find (the first match of each; a rule that finds
    nothing, or an empty group, sets nothing)."""
    out: Metadata = {}
    for rule in rules:
        if rule.key in out:
            continue
        m = rule.compiled.search(_rule_text(rule, doc, cover, path))
        if m is None:
            continue
        try:
            raw = m.group(rule.group)
        except IndexError:
            continue  # the config check makes sure the group exists; belt and braces
        value = clean_value(raw or "")
        if value:
            out[rule.key] = value
    return out


# --------------------------------------------------------------------------- the step


def _stated(meta: Metadata, keys: Sequence[str]) -> str | None:
    for key in keys:
        value = meta.get(key)
        if value not in (None, "", [], {}):
            return clean_value(value)
    return None


def extract_metadata(
    doc: LoadedDocument,
    settings: MetadataSettings,
    *,
    path: str,
    is_file: bool = True,
) -> Metadata:
    """The ``ragline.*`` metadata (and the regex rules' keys) to add to ``doc``'s; what
    ``doc.metadata`` states already is neither overwritten nor contradicted."""
    cover = first_page(doc)
    found: Metadata = {}
    for key, value in apply_rules(settings.extract, doc, cover, path).items():
        if key not in doc.metadata:
            found[key] = value
    if not settings.enabled:
        return found
    meta = {**found, **doc.metadata}  # the user's own values first
    if is_file:
        found[FILE_KEY] = clean_value(PurePosixPath(path).name)
    org = _stated(meta, (ORG_KEY, *ORG_ALIASES))
    period = _stated(meta, (PERIOD_KEY, *PERIOD_ALIASES))
    if period is None and (year := _stated(meta, YEAR_ALIASES)):
        period = f"FY{year}" if re.fullmatch(r"(19|20)\d\d", year) else year
    doc_type = _stated(meta, (DOC_TYPE_KEY,))
    if doc_type is None and doc.doc_type:
        doc_type = clean_value(doc.doc_type)
    end: str | None = None
    if settings.auto:
        org = org or find_org(doc.title, cover)
        if period is None and (p := find_period(doc.title, cover)):
            period, end = p
        doc_type = doc_type or find_doc_type(doc.title, cover, PurePosixPath(path).name)
    for key, value in ((ORG_KEY, org), (PERIOD_KEY, period), (PERIOD_END_KEY, end)):
        if value and key not in doc.metadata:
            found[key] = value
    if doc_type and DOC_TYPE_KEY not in doc.metadata:
        found[DOC_TYPE_KEY] = doc_type
    return found
