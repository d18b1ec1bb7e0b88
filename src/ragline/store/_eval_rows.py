"""The row layout of the evaluation tables, shared by the SQL backends.

SQLite and PostgreSQL store runs and per-case results in the same columns (see the
``eval_runs``/``eval_results`` DDL of each backend): :data:`RUN` and :data:`RESULT`
read them back, :func:`run_row` and :func:`result_row` write them. The JSON payloads
are text written by :func:`json.dumps`, so a cached output is reused byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from typing import Any

from ragline.errors import NotFoundError
from ragline.store._evals import (
    CachedOutput,
    Case,
    CaseOutput,
    CaseResult,
    CitedSentence,
    MetricResult,
    RetrievedContext,
    RunInfo,
    output_to_dict,
)
from ragline.store._rows import Layout


def output_from_dict(data: dict[str, Any]) -> CaseOutput:
    return CaseOutput(
        answer=str(data.get("answer", "")),
        sentences=tuple(
            CitedSentence(s["text"], tuple(s.get("chunk_ids", ())))
            for s in data.get("sentences", ())
        ),
        contexts=tuple(
            RetrievedContext(
                c["chunk_id"], c["document_id"], c.get("text", ""), float(c.get("score", 0.0))
            )
            for c in data.get("contexts", ())
        ),
        abstained=bool(data.get("abstained", False)),
        latency_ms=float(data.get("latency_ms", 0.0)),
        cost_usd=float(data.get("cost_usd", 0.0)),
        trace_id=data.get("trace_id"),
        error=data.get("error"),
        guards=tuple(dict(g) for g in data.get("guards", ())),
        agent=data.get("agent"),
    )


def metrics_to_json(metrics: list[MetricResult]) -> str:
    return json.dumps([dataclasses.asdict(m) for m in metrics], ensure_ascii=False, default=str)


def metrics_from_json(text: str) -> list[MetricResult]:
    return [MetricResult(**m) for m in json.loads(text)]


#: ``eval_runs`` rows: the columns :func:`run_row` writes, in order
RUN: Layout[RunInfo] = Layout(
    RunInfo,
    "id name created_at finished_at status target dataset_path dataset_hash fingerprint_hash "
    "fingerprint repeats summary",
    read={"fingerprint": json.loads, "summary": json.loads},
)
RUN_COLS = RUN.select()


def run_row(run: RunInfo) -> tuple[Any, ...]:
    """The values of one ``eval_runs`` row, in :data:`RUN_COLS` order."""
    return (
        run.id,
        run.name,
        run.created_at,
        run.finished_at,
        run.status,
        run.target,
        run.dataset_path,
        run.dataset_hash,
        run.fingerprint_hash,
        json.dumps(run.fingerprint, sort_keys=True, default=str),
        run.repeats,
        json.dumps(run.summary, default=str),
    )


def output_from_json(text: str) -> CaseOutput:
    return output_from_dict(json.loads(text))


#: the ``eval_results`` columns a result is read back from (the case as it was run)
RESULT: Layout[CaseResult] = Layout(
    CaseResult,
    "case repeat_index output metrics cache_key case_hash metrics_key cached position",
    columns={"case": "case_json"},
    read={
        "case": Case.model_validate_json,
        "output": output_from_json,
        "metrics": metrics_from_json,
        "cached": bool,
    },
)
RESULT_COLS = RESULT.select()


def result_row(run_id: str, result: CaseResult) -> tuple[Any, ...]:
    """The values of one ``eval_results`` row, in insert order."""
    return (
        run_id,
        result.case.id,
        result.repeat_index,
        result.position,
        result.case.category,
        result.case.model_dump_json(),
        result.case_hash,
        result.output_json
        or json.dumps(output_to_dict(result.output), ensure_ascii=False, default=str),
        bool(result.output.error),
        result.metrics_json or metrics_to_json(result.metrics),
        result.metrics_key,
        result.cache_key,
        bool(result.cached),
        time.time(),
    )


def pick_run(rows: Sequence[Sequence[Any]], run_id: str) -> RunInfo:
    """The run ``run_id`` names among ``rows`` (by id, then unique prefix or name).

    Raises :class:`NotFoundError` when there is none or the prefix is ambiguous.
    """
    if not rows:
        raise NotFoundError(
            f"no evaluation run {run_id!r}", hint="`ragline eval list` shows the runs"
        )
    if len(rows) > 1 and rows[0][0] != run_id and rows[0][1] != run_id:
        raise NotFoundError(
            f"{run_id!r} matches several runs", hint="give more characters of the run id"
        )
    return RUN.decode(rows[0])


def cached_from_row(row: Sequence[Any]) -> CachedOutput:
    """A cache hit from (cache_key, output, case_hash, metrics_key, metrics) columns."""
    return CachedOutput(
        output=output_from_json(row[1]),
        case_hash=row[2],
        metrics_key=row[3],
        metrics=metrics_from_json(row[4]),
        output_json=row[1],
        metrics_json=row[4],
    )
