"""Rollups written alongside traces: :class:`RollupRecorder` and :class:`MonitoredTraceStore`.

:class:`MonitoredTraceStore` wraps a project's :class:`TraceStore`. Its
``write_spans`` runs on the background trace writer thread (never on the ask path):

1. it notes the question's language on each ask's root span
   (``ragline.question.language``, with the ingest language detector), so the trace
   shows it and ``cross_language`` can be judged;
2. it writes the spans to the wrapped store (its failures are the trace writer's to
   count, as before);
3. it hands them to the :class:`RollupRecorder`, which turns every finished ask trace
   into per-minute increments (:mod:`._builder`) and upsert-adds them in one
   transaction. Spans of one trace may arrive in several batches: children wait in a
   bounded buffer for their root span.

A rollup write that fails (database locked, disk full, server gone) never raises:
its increments are dropped, counted, and their minutes are marked as **gaps**
(persisted as soon as the store takes writes again; until then
:meth:`RollupRecorder.pending_gaps` lists them), so a reader sees "data missing",
never a silent zero. ``add_feedback`` also adds a ``feedback`` increment (label: the
kind) under the trace's route.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Unpack

from ragline.monitor._agent_rollups import add_agent_run, is_agent_run
from ragline.monitor._builder import QUESTION_LANGUAGE, Rows, add_ask, is_ask, route_of
from ragline.store._rollups import Gap, RollupRow, RollupStore, minute_of
from ragline.store._traces import (
    Feedback,
    FeedbackQuery,
    SpanRecord,
    TraceQuery,
    TraceStore,
    TraceSummary,
)

if TYPE_CHECKING:
    from ragline.monitor._quality import QualityScorer

logger = logging.getLogger("ragline.monitor")

Detect = Callable[[str], str | None]
#: traces whose root span has not arrived yet, at most (the oldest are let go)
MAX_PENDING_TRACES = 5_000
MAX_PENDING_GAPS = 100_000


@dataclass(frozen=True, slots=True)
class RollupStats:
    """Counters of one recorder: ``batches`` and ``rows`` written, ``asks`` rolled up,
    ``write_errors`` (failed batches, their minutes marked as gaps), ``gaps_pending``
    (gap minutes not persisted yet), ``orphans`` (child spans whose root never came)."""

    batches: int
    rows: int
    asks: int
    write_errors: int
    gaps_pending: int
    orphans: int

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class RollupRecorder:
    """Builds and writes the rollups of finished traces (see the module docstring)."""

    def __init__(
        self,
        rollups: RollupStore,
        *,
        detect_language: Detect | None = None,
        max_pending_traces: int = MAX_PENDING_TRACES,
    ) -> None:
        self.rollups = rollups
        self.detect_language = detect_language
        self.max_pending_traces = max_pending_traces
        self._pending: OrderedDict[str, list[SpanRecord]] = OrderedDict()
        self._extra = Rows()  # increments noted outside traces (shed, timeouts)
        self._gaps: dict[int, str] = {}
        self._lock = threading.Lock()
        self._batches = self._rows = self._asks = self._errors = self._orphans = 0
        self._logged = False
        #: called with each finished ask (root span, its other spans), off the lock:
        #: the online quality scorer's ``offer``
        self.on_ask: Callable[[SpanRecord, Sequence[SpanRecord]], None] | None = None

    # -- the trace writer thread -------------------------------------------------------

    def annotate(self, spans: Sequence[SpanRecord]) -> Sequence[SpanRecord]:
        """``spans`` with the question language on each ask root that lacks it."""
        detect = self.detect_language
        if detect is None:
            return spans
        out: list[SpanRecord] | None = None
        for i, s in enumerate(spans):
            if not is_ask(s) or QUESTION_LANGUAGE in s.attributes:
                continue
            question = s.attributes.get("ragline.question")
            if not isinstance(question, str) or question.startswith("[redacted"):
                continue
            try:
                language = detect(question)
            except Exception:  # detection is best effort, never a reason to lose a trace
                language = None
            if out is None:
                out = list(spans)
            out[i] = replace(s, attributes={**s.attributes, QUESTION_LANGUAGE: language})
        return spans if out is None else out

    def record(self, spans: Sequence[SpanRecord]) -> None:
        """Roll up every ask trace whose root span is in ``spans``; never raises."""
        try:
            rows = self._build(spans)
        except Exception as e:  # a span we cannot read must not stop the writer
            logger.warning("could not roll up a trace batch (%s)", e)
            return
        self.write(rows)

    def _build(self, spans: Sequence[SpanRecord]) -> list[RollupRow]:
        out = Rows()
        asks: list[tuple[SpanRecord, list[SpanRecord]]] = []
        with self._lock:
            pending = self._pending
            for s in spans:
                if s.parent_id is not None:
                    pending.setdefault(s.trace_id, []).append(s)
                    continue
                children = pending.pop(s.trace_id, [])
                if is_ask(s):
                    add_ask(out, s, children)
                    asks.append((s, children))
                    self._asks += 1
                elif is_agent_run(s):
                    add_agent_run(out, s, children)
            while len(pending) > self.max_pending_traces:
                pending.popitem(last=False)
                self._orphans += 1
            extra, self._extra = self._extra, Rows()
        for row in extra.rows():
            out.row(*row.key).merge(row)
        if self.on_ask is not None:
            for root, children in asks:
                try:
                    self.on_ask(root, children)
                except Exception as e:  # scoring is extra: the rollups go on
                    logger.warning("could not queue an ask for quality scoring (%s)", e)
        return out.rows()

    def write(self, rows: Sequence[RollupRow]) -> bool:
        """Upsert-add ``rows``; on failure mark their minutes as gaps. Never raises."""
        self._persist_gaps()
        if not rows:
            return True
        try:
            self.rollups.add(rows)
        except Exception as e:
            with self._lock:
                self._errors += 1
                first, self._logged = not self._logged, True
                for minute in {r.minute for r in rows}:
                    if len(self._gaps) < MAX_PENDING_GAPS:
                        self._gaps.setdefault(minute, str(e)[:200] or type(e).__name__)
            if first:
                logger.warning(
                    "could not write rollups (%s); the minutes are marked as gaps, further "
                    "failures are only counted",
                    e,
                )
            self._persist_gaps()
            return False
        with self._lock:
            self._batches += 1
            self._rows += len(rows)
        return True

    def _persist_gaps(self) -> None:
        with self._lock:
            gaps = [Gap(m, reason) for m, reason in self._gaps.items()]
        if not gaps:
            return
        try:
            self.rollups.mark_gaps(gaps)
        except Exception:
            return  # still unwritable: kept, tried again with the next batch
        with self._lock:
            for g in gaps:
                self._gaps.pop(g.minute, None)

    # -- outside the writer ------------------------------------------------------------

    def feedback(self, feedback: Feedback, route: str) -> None:
        """A ``feedback`` increment (label: its kind) in the minute it was given."""
        rows = Rows()
        rows.observe(
            minute_of(feedback.created_at), feedback.tenant, route, "feedback", 1.0, feedback.kind
        )
        self.write(rows.rows())

    def note(self, tenant: str, metric: str, *, at: float, route: str = "") -> None:
        """A request outcome no trace records (``shed``: refused with 429/503;
        ``timeouts``: answered 504), added with the next batch. It counts as one held
        condition; the ask itself (if it ran) adds its sample when its trace arrives."""
        with self._lock:
            row = self._extra.row(minute_of(at), tenant, route, metric, "")
            row.total += 1.0
            if metric == "shed":
                row.count += 1
            row.max = 1.0

    def flush(self) -> bool:
        """Write what was noted outside traces and any gap marks now."""
        with self._lock:
            extra, self._extra = self._extra, Rows()
        return self.write(extra.rows())

    def pending_gaps(self) -> set[int]:
        """Gap minutes not persisted yet (the store would not take writes)."""
        with self._lock:
            return set(self._gaps)

    @property
    def stats(self) -> RollupStats:
        with self._lock:
            return RollupStats(
                batches=self._batches,
                rows=self._rows,
                asks=self._asks,
                write_errors=self._errors,
                gaps_pending=len(self._gaps),
                orphans=self._orphans,
            )


class MonitoredTraceStore:
    """A :class:`TraceStore` whose writes also feed a :class:`RollupRecorder`.

    Every other attribute (``count_traces``, ``record_drops``…) is the wrapped store's.
    """

    def __init__(
        self, inner: TraceStore, recorder: RollupRecorder, quality: QualityScorer | None = None
    ) -> None:
        self.inner = inner
        self.recorder = recorder
        #: the online quality scorer fed by the recorder (``monitor.quality``), if any
        self.quality = quality
        if quality is not None:
            recorder.on_ask = quality.offer

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        spans = self.recorder.annotate(spans)
        try:
            self.inner.write_spans(spans)
        finally:
            self.recorder.record(spans)  # also when the trace write failed: asks happened

    def list_traces(self, **query: Unpack[TraceQuery]) -> list[TraceSummary]:
        return self.inner.list_traces(**query)

    def get_trace(self, trace_id: str, *, tenant: str | None = None) -> list[SpanRecord]:
        return self.inner.get_trace(trace_id, tenant=tenant)

    def add_feedback(self, feedback: Feedback) -> None:
        self.inner.add_feedback(feedback)
        try:
            route = route_of(self.inner.get_trace(feedback.trace_id, tenant=feedback.tenant))
        except Exception:
            route = ""
        self.recorder.feedback(feedback, route)

    def list_feedback(self, **query: Unpack[FeedbackQuery]) -> list[Feedback]:
        return self.inner.list_feedback(**query)

    def record_drops(self, n: int) -> None:
        """The wrapped store's drop counter; also retries pending gap marks."""
        self.recorder.flush()
        record = getattr(self.inner, "record_drops", None)
        if callable(record):
            record(n)

    def flush_quality(self, timeout: float | None = 5.0) -> bool:
        """Wait until the sampled asks seen so far are scored (True without a scorer)."""
        return self.quality.flush(timeout) if self.quality is not None else True

    def close(self) -> None:
        if self.quality is not None:
            self.quality.close()
        self.recorder.flush()
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


__all__ = ["MonitoredTraceStore", "RollupRecorder", "RollupStats"]
