"""Citation required: every sentence of an answer carries a citation that supports it.

The cite stage already judges each sentence of an LLM answer
(:func:`~ragline.answer._citations.verify_citations`): a sentence without a marker
that no passage supports is ``unsupported``, one whose cited passages do not support
it is ``weak``. The pipeline hands that judgement to this guard
(``context.metadata``: ``sentence_spans``, where each sentence is in the text, and
``unsupported``, the indexes of those sentences); without it (``ragline guards
check``, a text on its own) a sentence without a ``[n]`` marker is uncited, unless it
has no content words ("Sure!", skipped as the cite stage skips it). Per
policy such sentences are

- dropped (``redact``): the other sentences keep their text and their markers, and
  the references are not renumbered, so every marker left still points to its
  reference; an answer all of whose sentences would be dropped is blocked instead;
- or the whole answer is flagged (the default) or blocked;

always with the reason ``citation.missing``. An abstention is never judged. The
extractive answerer cites every sentence it writes, so this guard acts on LLM
answers. Off by default: the cite stage already records unsupported sentences in
the trace (``ragline.citations.unsupported``); this guard enforces it. Cost: one
sentence split of the answer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from ragline._text import is_content_free
from ragline.guards._base import Action, Finding, GuardContext, GuardStage, Verdict, allow

_MARKER = re.compile(r"\[\s*\d+(?:\s*(?:[,;–-]|and)\s*\d+)*\s*\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\s*\d+(?:\s*(?:[,;–-]|and)\s*\d+)*\s*\])+")


_SENTENCE = re.compile(r"\S.*?(?:[.!?…][\"'”’)\]]*(?:\s*\[[^\]\n]{1,20}\])*(?=\s|$)|$)", re.DOTALL)


def simple_spans(text: str) -> list[tuple[int, int, bool]]:
    """``(start, end, has a marker)`` of each sentence of ``text``: a plain split after
    ``.!?`` (and the markers that follow them). The pipeline passes the cite stage's
    own split instead (``context.metadata["sentence_spans"]``)."""
    out: list[tuple[int, int, bool]] = []
    for m in _SENTENCE.finditer(text):
        body = _MARKER_RUN.sub("", m.group()).strip()
        if body:
            out.append((m.start(), m.end(), bool(_MARKER.search(m.group()))))
    return out


class CitationGuard:
    """Uncited or unsupported answer sentences: dropped, flagged or blocked (module doc)."""

    name = "citation"
    #: a redaction removes whole sentences: the answer's sentence list follows its text
    drops_sentences = True
    #: the pipeline passes where each sentence is (``context.metadata["sentence_spans"]``)
    uses_sentence_spans = True

    def __init__(
        self,
        *,
        action: Action = "flag",
        stages: Collection[GuardStage] = frozenset({"output"}),
    ) -> None:
        if action == "allow":
            raise ValueError("a citation guard that allows everything: disable it instead")
        self.action: Action = action
        self.stages: frozenset[GuardStage] = frozenset(stages)

    def check(self, text: str, context: GuardContext) -> Verdict:
        meta = context.metadata
        if meta.get("window") or meta.get("sentence") is not None or meta.get("abstained"):
            return allow(self.name)  # judged once, on the whole answer
        given_spans = meta.get("sentence_spans")
        spans = list(given_spans) if given_spans is not None else simple_spans(text)
        if not spans:
            return allow(self.name)
        given = meta.get("unsupported")
        count = meta.get("sentence_count")
        if isinstance(given, Sequence) and count == len(spans):
            bad = sorted({int(i) for i in given if 0 <= int(i) < len(spans)})
        else:
            bad = [  # a sentence with no content words ("Sure!") claims nothing
                i
                for i, (start, end, cited) in enumerate(spans)
                if not cited and not is_content_free(text[start:end])
            ]
        if not bad:
            return allow(self.name)
        findings = tuple(Finding(spans[i][0], spans[i][1], "uncited") for i in bad)
        action = self.action
        if action == "redact" and len(bad) == len(spans):
            action = "block"  # nothing supported is left to say
        return Verdict(
            guard=self.name,
            action=action,
            score=round(len(bad) / len(spans), 6),
            reasons=("citation.missing",),
            findings=findings,
            redacted=_drop(text, findings) if action == "redact" else None,
        )


def _drop(text: str, findings: Sequence[Finding]) -> str:
    """``text`` without the findings' sentences (and the space after each)."""
    parts, pos = [], 0
    for f in findings:
        parts.append(text[pos : f.start])
        pos = f.end
        while pos < len(text) and text[pos] in " \t":
            pos += 1
    parts.append(text[pos:])
    return "".join(parts).strip()


__all__ = ["CitationGuard", "simple_spans"]
