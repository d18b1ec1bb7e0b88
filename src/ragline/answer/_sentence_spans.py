"""Where each sentence of an answer is in its text, split as the cite stage splits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragline.answer._sentences import segments

_MARKER = re.compile(r"\[\s*\d+(?:\s*(?:[,;–-]|and)\s*\d+)*\s*\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\s*\d+(?:\s*(?:[,;–-]|and)\s*\d+)*\s*\])+")


@dataclass(slots=True)
class _Span:
    start: int
    end: int
    cited: bool


def sentence_spans(text: str) -> list[tuple[int, int, bool]]:
    """``(start, end, has a marker)`` of each sentence of ``text``, in order, split as
    :func:`~ragline.answer._citations.verify_citations` splits (a marker run that opens a
    sentence closes the one before; a segment of markers only is no sentence), so the
    i-th span is the answer's i-th sentence."""
    spans: list[_Span] = []
    cursor = 0
    for seg in segments(text):
        words = seg.text.split()
        if not words:
            continue
        found = re.compile(r"\s+".join(re.escape(w) for w in words)).search(text, cursor)
        if found is None:  # not locatable: the caller sees fewer spans than sentences
            continue
        cursor = found.end()
        body = seg.text
        lead = _MARKER_RUN.match(body)
        if lead and spans:
            spans[-1].cited = True
            body = body[lead.end() :]
        if not _MARKER_RUN.sub("", body).strip():
            continue
        spans.append(_Span(found.start(), found.end(), bool(_MARKER.search(body))))
    return [(s.start, s.end, s.cited) for s in spans]


__all__ = ["sentence_spans"]
