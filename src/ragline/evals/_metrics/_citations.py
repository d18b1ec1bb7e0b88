"""Citation precision and recall, and faithfulness, judged by a support checker.

The answer's sentences are ``output.sentences`` (with the chunk ids their markers
point to); when the system gave none, the answer text is split into sentences that
carry no citation. Chunk texts come from ``output.contexts``.

- ``citation_precision``: of all (sentence, cited chunk) pairs, the share where the
  chunk supports its sentence. A citation to a chunk that was not retrieved counts
  as unsupported. No citations at all → failure ``no_citations``.
- ``citation_recall``: of the sentences the retrieved context supports, the share
  that carry a citation. None supported → failure ``no_supported_sentences``.
- ``faithfulness``: the share of the answer's sentences the retrieved context
  supports (no context → 0).

All three apply to answerable, non-safety cases; an abstained or empty answer is
``skipped="abstained"`` / ``"empty_answer"`` (nothing to judge). A sentence with no
content words ("Yes!", "Sure.") states nothing: it is left out of every count (its
verdict is ``skipped``), and an answer of only such sentences is
``skipped="no_content"``. Each unsupported entry carries the checker's reason code.
"""

from __future__ import annotations

from ragline.evals._metrics._answer import strip_citations
from ragline.evals._metrics._base import BaseMetric, MetricFailure, MetricSkipped
from ragline.evals._metrics._support import SupportChecker, SupportVerdict
from ragline.evals._types import Case, CaseOutput, CitedSentence, MetricResult


def answer_sentences(output: CaseOutput) -> list[CitedSentence]:
    """The answer's sentences; skips (raises MetricSkipped) an abstained or empty answer."""
    if output.abstained:
        raise MetricSkipped("abstained")
    if output.sentences:
        out = [s for s in output.sentences if strip_citations(s.text).strip()]
    else:
        from ragline.answer._sentences import split_sentences

        text = strip_citations(output.answer)
        out = [CitedSentence(s) for para in text.split("\n") for s in split_sentences(para)]
    if not out:
        raise MetricSkipped("empty_answer")
    return out


class _SupportMetric(BaseMetric):
    base_version = "1"

    def __init__(self, support: SupportChecker) -> None:
        self.support = support
        self.version = f"{self.base_version}+{support.name}"

    def applies(self, case: Case) -> bool:
        return case.answerable and not case.must_refuse

    def _against_context(
        self, output: CaseOutput
    ) -> tuple[list[CitedSentence], list[SupportVerdict] | None]:
        """The answer's sentences, each judged against the whole retrieved context
        (``None`` when nothing was retrieved)."""
        sentences = answer_sentences(output)
        passages = [c.text for c in output.contexts]
        if not passages:
            return sentences, None
        return sentences, self.support.check(
            [(strip_citations(s.text), passages) for s in sentences]
        )


class CitationPrecision(_SupportMetric):
    name = "citation_precision"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        sentences = answer_sentences(output)
        texts = {c.chunk_id: c.text for c in output.contexts}
        pairs = [(i, cid) for i, s in enumerate(sentences) for cid in dict.fromkeys(s.chunk_ids)]
        if not pairs:
            raise MetricFailure("no_citations", sentences=len(sentences))
        known = [(i, cid) for i, cid in pairs if cid in texts]
        verdicts = self.support.check(
            [(strip_citations(sentences[i].text), [texts[cid]]) for i, cid in known]
        )
        skipped = {known[k][0] for k, v in enumerate(verdicts) if v.skipped}
        pairs = [(i, cid) for i, cid in pairs if i not in skipped]
        if not pairs:
            raise MetricSkipped("no_content")
        good = sum(1 for v in verdicts if v.supported and not v.skipped)
        unsupported = [
            {"sentence": i, "chunk_id": cid, "reason": v.reason, "code": v.code}
            for (i, cid), v in zip(known, verdicts, strict=True)
            if not v.supported
        ]
        unknown = [{"sentence": i, "chunk_id": cid} for i, cid in pairs if cid not in texts]
        return self.result(
            good / len(pairs),
            citations=len(pairs),
            unsupported=unsupported,
            unknown_chunks=unknown,
        )


class CitationRecall(_SupportMetric):
    name = "citation_recall"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        sentences, verdicts = self._against_context(output)
        if verdicts is None:
            raise MetricFailure("no_supported_sentences", why="no retrieved context")
        supported = [i for i, v in enumerate(verdicts) if v.supported and not v.skipped]
        if not supported and all(v.skipped for v in verdicts):
            raise MetricSkipped("no_content")
        if not supported:
            raise MetricFailure("no_supported_sentences")
        uncited = [i for i in supported if not sentences[i].chunk_ids]
        return self.result(
            (len(supported) - len(uncited)) / len(supported),
            supported=len(supported),
            uncited=uncited,
        )


class Faithfulness(_SupportMetric):
    name = "faithfulness"

    def compute(self, case: Case, output: CaseOutput) -> MetricResult:
        sentences, verdicts = self._against_context(output)
        if verdicts is None:
            return self.result(
                0.0, sentences=len(sentences), unsupported=list(range(len(sentences)))
            )
        counted = [i for i, v in enumerate(verdicts) if not v.skipped]
        if not counted:
            raise MetricSkipped("no_content")
        unsupported = [i for i, v in enumerate(verdicts) if not v.supported]
        return self.result(
            (len(counted) - len(unsupported)) / len(counted),
            sentences=len(counted),
            unsupported=unsupported,
            reasons=[[i, verdicts[i].code or "low_support"] for i in unsupported],
        )


__all__ = ["CitationPrecision", "CitationRecall", "Faithfulness", "answer_sentences"]
