"""Online quality scoring: a share of live asks scored in the background.

``monitor.quality.sample_rate`` of the answered asks (chosen by trace id, so every
worker and replica samples the same ones) are scored after their trace is written,
on one background thread — never on the ask path — with the evaluation metrics that
need no gold answer (:mod:`ragline.evals._metrics`):

- ``citation_support``: of the (sentence, cited chunk) pairs, the share the chunk
  supports (``citation_precision`` of ``ragline eval``), judged by the ``support:``
  checker;
- ``faithfulness``: the share of the answer's sentences the retrieved chunks support;
- ``answer_relevance``: cosine of the question and the answer (the embedder);
- ``judge``: faithfulness judged by an LLM (``judge_model``), within a spending budget
  per UTC day (``judge_budget_usd``, from the model's priced usage) and a cap of
  judged asks per hour (``judge_max_per_hour``, for models with no price); over
  either it is skipped and counted.

The chunks are read back from the store by the ids the trace recorded, so an answer
is judged against the text it was written from (a chunk deleted since is left out).
Each score becomes a ``quality`` rollup (label: the metric) in the minute the ask
started, under its tenant and route — alert rules read it like any metric
(``metric: quality, filter: {kind: faithfulness}``) — and the scores are attached to
the trace as a ``ragline.quality`` span under its root (value, or the reason it was
skipped or failed). A full queue drops the ask (counted in ``stats``); a scoring
error is logged once and counted, never raised.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragline.monitor._builder import Rows, route_of
from ragline.store._rollups import RollupRow, minute_of
from ragline.store._traces import SpanRecord

if TYPE_CHECKING:
    from ragline.config import QualitySettings
    from ragline.embed import Embedder
    from ragline.evals._metrics._base import BaseMetric
    from ragline.evals._metrics._support import SupportChecker
    from ragline.store import Store
    from ragline.store._evals import CaseOutput

logger = logging.getLogger("ragline.monitor")

PREFIX = "ragline.quality."


@dataclass(frozen=True, slots=True)
class QualityResources:
    """What scoring reads: the chunks' store, the embedder, the support checker and
    (for ``judge``) an LLM judge with its running ``cost_usd``."""

    documents: Store
    embedder: Embedder
    support: SupportChecker
    judge: SupportChecker | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    root: SpanRecord
    route: str
    sentences: list[dict[str, Any]]


def sampled(trace_id: str, rate: float) -> bool:
    """Whether the ask of ``trace_id`` is scored at ``rate`` (the same answer everywhere)."""
    if rate <= 0.0:
        return False
    if rate >= 1.0:
        return True
    try:
        return int(trace_id[:8], 16) / 0x1_0000_0000 < rate
    except ValueError:
        return False


def _sentences(children: Sequence[SpanRecord]) -> list[dict[str, Any]]:
    """The ``ragline.sentences`` recorded last (the cite stage's, else the answer's)."""
    for s in sorted(children, key=lambda s: s.end, reverse=True):
        value = s.attributes.get("ragline.sentences")
        if isinstance(value, list):
            return [x for x in value if isinstance(x, dict)]
    return []


def _scorable(root: SpanRecord) -> bool:
    if root.status == "error" or root.attributes.get("ragline.abstained") is True:
        return False
    question, answer = (
        root.attributes.get("ragline.question"),
        root.attributes.get("ragline.answer"),
    )
    return (
        isinstance(question, str)
        and isinstance(answer, str)
        and bool(answer.strip())
        and not question.startswith("[redacted")
        and not answer.startswith("[redacted")
    )


class QualityScorer:
    """Scores sampled asks on a background thread (see the module docstring).

    ``resources`` is called once, on the scoring thread, when the first ask arrives
    (loading the embedder or an NLI model never delays start-up); ``write_rows`` adds
    rollups; ``write_spans`` stores the ``ragline.quality`` span.
    """

    def __init__(
        self,
        settings: QualitySettings,
        *,
        resources: Callable[[], QualityResources],
        write_rows: Callable[[Sequence[RollupRow]], object],
        write_spans: Callable[[Sequence[SpanRecord]], object],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._resources_factory = resources
        self._resources: QualityResources | None = None
        self._metrics: dict[str, BaseMetric] = {}
        self.write_rows, self.write_spans, self.clock = write_rows, write_spans, clock
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=settings.queue)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._busy = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self._counts = dict.fromkeys(
            ("sampled", "scored", "dropped", "failed", "judge_over_budget"), 0
        )
        self._judge_day: tuple[int, float] = (0, 0.0)  # (UTC day, spent that day)
        self._judge_hours: list[float] = []
        self._logged = False

    # -- the trace writer thread -------------------------------------------------------

    def offer(self, root: SpanRecord, children: Sequence[SpanRecord]) -> None:
        """Queue the ask of ``root`` if it is sampled and has an answer; never blocks."""
        if self._closed or not sampled(root.trace_id, self.settings.sample_rate):
            return
        if not _scorable(root):
            return
        job = _Job(root, route_of(children), _sentences(children))
        with self._lock:
            self._counts["sampled"] += 1
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                self._counts["dropped"] += 1
                return
            self._busy += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ragline-quality", daemon=True
                )
                self._thread.start()

    # -- the scoring thread ------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._score(job)
            except Exception as e:
                with self._lock:
                    self._counts["failed"] += 1
                    first, self._logged = not self._logged, True
                if first:
                    logger.warning(
                        "online quality scoring failed (%s); further failures are only counted",
                        e,
                    )
            finally:
                with self._lock:
                    self._busy -= 1
                    self._idle.notify_all()

    def _metric(self, name: str) -> BaseMetric:
        found = self._metrics.get(name)
        if found is not None:
            return found
        from ragline.evals._metrics._answer import AnswerRelevance
        from ragline.evals._metrics._citations import CitationPrecision, Faithfulness

        res = self._load()
        if name == "citation_support":
            found = CitationPrecision(res.support)
        elif name == "faithfulness":
            found = Faithfulness(res.support)
        elif name == "answer_relevance":
            found = AnswerRelevance(res.embedder)
        else:
            if res.judge is None:
                raise RuntimeError("the judge metric has no judge model")
            found = Faithfulness(res.judge)
        self._metrics[name] = found
        return found

    def _load(self) -> QualityResources:
        if self._resources is None:
            self._resources = self._resources_factory()
        return self._resources

    def _output(self, job: _Job) -> CaseOutput:
        from ragline.store._evals import CaseOutput, CitedSentence, RetrievedContext

        root = job.root
        ids = [str(c) for c in root.attributes.get("ragline.retrieved.chunk_ids") or []]
        refs = [str(r) for r in root.attributes.get("ragline.references") or []]
        chunks = self._load().documents.get_chunks(root.tenant, list(dict.fromkeys(ids + refs)))
        contexts = tuple(
            RetrievedContext(c.id, c.document_id, c.text) for c in chunks if c.id in set(ids)
        ) or tuple(RetrievedContext(c.id, c.document_id, c.text) for c in chunks)

        def cited(numbers: object) -> tuple[str, ...]:
            if not isinstance(numbers, list):
                return ()
            return tuple(refs[n - 1] for n in numbers if isinstance(n, int) and 0 < n <= len(refs))

        sentences = tuple(
            CitedSentence(str(s.get("text", "")), cited(s.get("citations"))) for s in job.sentences
        )
        return CaseOutput(
            answer=str(root.attributes.get("ragline.answer", "")),
            sentences=sentences,
            contexts=contexts,
            trace_id=root.trace_id,
        )

    def _judge_allowed(self, now: float) -> bool:
        s = self.settings
        day = int(now // 86_400)
        if self._judge_day[0] != day:
            self._judge_day = (day, 0.0)
        self._judge_hours = [t for t in self._judge_hours if t > now - 3600.0]
        return self._judge_day[1] < s.judge_budget_usd and len(self._judge_hours) < (
            s.judge_max_per_hour
        )

    def _score(self, job: _Job) -> None:
        from ragline.evals._metrics._base import MetricFailure, MetricSkipped
        from ragline.store._evals import Case

        root = job.root
        started = self.clock()
        output = self._output(job)
        case = Case(id=root.trace_id, question=str(root.attributes["ragline.question"]))
        attrs: dict[str, Any] = {PREFIX + "sample_rate": self.settings.sample_rate}
        rows = Rows()
        minute = minute_of(root.start)
        for name in self.settings.metrics:
            if name == "judge":
                if not self._judge_allowed(started):
                    attrs[PREFIX + "judge.skipped"] = "over_budget"
                    with self._lock:
                        self._counts["judge_over_budget"] += 1
                    continue
                self._judge_hours.append(started)
                judge = self._load().judge
                before = float(getattr(judge, "cost_usd", 0.0) or 0.0)
            metric = self._metric(name)
            try:
                result = metric.compute(case, output)
            except MetricSkipped as e:
                attrs[f"{PREFIX}{name}.skipped"] = e.reason
                continue
            except MetricFailure as e:
                attrs[f"{PREFIX}{name}.failure"] = e.reason
                continue
            finally:
                if name == "judge":
                    spent = float(getattr(judge, "cost_usd", 0.0) or 0.0) - before
                    self._judge_day = (self._judge_day[0], self._judge_day[1] + max(spent, 0.0))
            if result.value is None:
                attrs[f"{PREFIX}{name}.failure"] = result.failure or "no_value"
                continue
            attrs[PREFIX + name] = round(result.value, 4)
            rows.observe(minute, root.tenant, job.route, "quality", result.value, name)
        self.write_rows(rows.rows())
        span = SpanRecord(
            trace_id=root.trace_id,
            span_id=secrets.token_hex(8),
            parent_id=root.span_id,
            name="ragline.quality",
            kind="quality",
            tenant=root.tenant,
            start=started,
            end=self.clock(),
            attributes=attrs,
        )
        self.write_spans([span])
        with self._lock:
            self._counts["scored"] += 1

    # -- outside both ------------------------------------------------------------------

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait (up to ``timeout`` seconds) until every queued ask is scored."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float | None = 5.0) -> None:
        """Score what is queued (up to ``timeout``), then stop the thread."""
        self.flush(timeout)
        self._closed = True
        if self._thread is not None:
            with contextlib.suppress(queue.Full):  # a full queue: the daemon thread dies with us
                self._queue.put_nowait(None)

    @property
    def stats(self) -> dict[str, int]:
        """``sampled``, ``scored``, ``dropped`` (queue full), ``failed``,
        ``judge_over_budget``."""
        with self._lock:
            return dict(self._counts)


__all__ = ["QualityResources", "QualityScorer", "sampled"]
