"""Where evaluation runs and per-case results live.

:class:`EvalStore` is the small protocol the runner, reports and compare use;
:class:`SQLiteEvalStore` implements it on its own ``sqlite3`` connection to the
project's database file (tables from migration ``0008_eval_runs``);
:class:`~ragline.evals._storage_postgres.PostgresEvalStore` implements it on
PostgreSQL. :func:`open_eval_store` picks the one the project's URLs call for.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ragline.errors import NotFoundError, StoreError
from ragline.evals._types import Case, CaseOutput, CitedSentence, MetricResult, RetrievedContext

STATUSES = ("running", "interrupted", "complete")


@dataclass(slots=True)
class RunInfo:
    """One evaluation run (without its per-case results)."""

    id: str
    dataset_path: str
    dataset_hash: str
    fingerprint: dict[str, Any]
    fingerprint_hash: str
    target: str = "project"
    name: str | None = None
    status: str = "running"
    repeats: int = 1
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class CaseResult:
    """One case, one repeat: what the system produced and how each metric scored it."""

    case: Case
    repeat_index: int
    output: CaseOutput
    metrics: list[MetricResult]
    cache_key: str = ""
    case_hash: str = ""
    metrics_key: str = ""
    cached: bool = False
    position: int = 0
    #: the stored JSON of ``output`` / ``metrics`` when reused from the cache as is
    output_json: str | None = field(default=None, repr=False, compare=False)
    metrics_json: str | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.case.id, self.repeat_index)

    def metric(self, name: str) -> MetricResult | None:
        for m in self.metrics:
            if m.metric == name:
                return m
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case.model_dump(mode="json"),
            "repeat_index": self.repeat_index,
            "output": output_to_dict(self.output),
            "metrics": [dataclasses.asdict(m) for m in self.metrics],
            "cached": self.cached,
        }


@dataclass(frozen=True, slots=True)
class CachedOutput:
    output: CaseOutput
    case_hash: str
    metrics_key: str
    metrics: list[MetricResult]
    output_json: str = ""
    metrics_json: str = ""


def output_to_dict(output: CaseOutput) -> dict[str, Any]:
    return dataclasses.asdict(output)


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
    )


def metrics_to_json(metrics: list[MetricResult]) -> str:
    return json.dumps([dataclasses.asdict(m) for m in metrics], ensure_ascii=False, default=str)


def metrics_from_json(text: str) -> list[MetricResult]:
    return [MetricResult(**m) for m in json.loads(text)]


def run_from_row(row: Sequence[Any]) -> RunInfo:
    """A :class:`RunInfo` from the ``eval_runs`` columns in ``_RUN_COLS`` order."""
    return RunInfo(
        id=row[0],
        name=row[1],
        created_at=row[2],
        finished_at=row[3],
        status=row[4],
        target=row[5],
        dataset_path=row[6],
        dataset_hash=row[7],
        fingerprint_hash=row[8],
        fingerprint=json.loads(row[9]),
        repeats=row[10],
        summary=json.loads(row[11]),
    )


#: the ``eval_results`` columns :func:`result_from_row` reads, in order
RESULT_COLS = (
    "case_json, repeat_index, output, metrics, cache_key, case_hash, metrics_key, cached, position"
)


def result_from_row(r: Sequence[Any]) -> CaseResult:
    return CaseResult(
        case=Case.model_validate_json(r[0]),
        repeat_index=r[1],
        output=output_from_dict(json.loads(r[2])),
        metrics=metrics_from_json(r[3]),
        cache_key=r[4],
        case_hash=r[5],
        metrics_key=r[6],
        cached=bool(r[7]),
        position=r[8],
    )


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


class EvalStore(Protocol):
    """Storage of evaluation runs; the SQLite one is :class:`SQLiteEvalStore`."""

    def create_run(self, run: RunInfo) -> None: ...

    def get_run(self, run_id: str) -> RunInfo:
        """The run by id, unique id prefix, or ``last``; raises NotFoundError."""
        ...

    def list_runs(self, limit: int = 50) -> list[RunInfo]: ...

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None: ...

    def add_result(self, run_id: str, result: CaseResult) -> None: ...

    def add_results(self, run_id: str, results: list[CaseResult]) -> None:
        """Several results in one transaction (cache hits)."""
        ...

    def results(self, run_id: str) -> list[CaseResult]: ...

    def done_keys(self, run_id: str) -> set[tuple[str, int]]: ...

    def cached(
        self, cache_keys: list[str], *, metrics_key: str | None = None
    ) -> dict[str, CachedOutput]:
        """Stored outputs (without a pipeline error) for these cache keys, by key;
        rows scored by ``metrics_key`` preferred, then the newest."""
        ...

    def close(self) -> None: ...


class SQLiteEvalStore:
    """:class:`EvalStore` on a SQLite file (usually the project's ``ragline.db``)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000) -> None:
        from ragline.store._migrations import open_connection

        self.path = str(path)
        # per-case commits must be cheap: WAL + synchronous=NORMAL (see open_connection)
        self._conn = open_connection(
            self.path,
            what="the evaluation tables in",
            busy_timeout_ms=busy_timeout_ms,
            foreign_keys=True,
        )
        try:
            self._conn.execute("SELECT position, metrics_key FROM eval_results LIMIT 0")
        except sqlite3.Error as e:
            self._conn.close()
            raise StoreError(
                f"{self.path!r} has evaluation tables from a development build of ragline ({e})",
                hint="point evals.store at a new file (e.g. sqlite:///evals.db), or re-create "
                "the database",
            ) from e
        self._lock = threading.RLock()

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            try:
                self._conn.execute(sql, params)
            except sqlite3.Error as e:
                raise StoreError(
                    f"evaluation store {self.path!r}: {e}",
                    hint="another process may be writing; retry",
                ) from e

    def create_run(self, run: RunInfo) -> None:
        self._write(
            "INSERT INTO eval_runs (id, name, created_at, finished_at, status, target, "
            "dataset_path, dataset_hash, fingerprint_hash, fingerprint, repeats, summary) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
            ),
        )

    _RUN_COLS = (
        "id, name, created_at, finished_at, status, target, dataset_path, dataset_hash, "
        "fingerprint_hash, fingerprint, repeats, summary"
    )

    @staticmethod
    def _run(row: tuple[Any, ...]) -> RunInfo:
        return run_from_row(row)

    def get_run(self, run_id: str) -> RunInfo:
        with self._lock:
            if run_id in ("last", "latest"):
                rows = self._conn.execute(
                    f"SELECT {self._RUN_COLS} FROM eval_runs ORDER BY created_at DESC LIMIT 1"
                ).fetchall()
            else:
                rows = self._conn.execute(
                    f"SELECT {self._RUN_COLS} FROM eval_runs WHERE id = ?", (run_id,)
                ).fetchall()
                if not rows:
                    rows = self._conn.execute(
                        f"SELECT {self._RUN_COLS} FROM eval_runs WHERE id LIKE ? OR name = ? "
                        "ORDER BY created_at DESC LIMIT 3",
                        (run_id.replace("%", "").replace("_", "") + "%", run_id),
                    ).fetchall()
        if not rows:
            raise NotFoundError(
                f"no evaluation run {run_id!r}", hint="`ragline eval list` shows the runs"
            )
        if len(rows) > 1 and rows[0][0] != run_id and rows[0][1] != run_id:
            raise NotFoundError(
                f"{run_id!r} matches several runs", hint="give more characters of the run id"
            )
        return self._run(rows[0])

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {self._RUN_COLS} FROM eval_runs ORDER BY created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [self._run(r) for r in rows]

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        self._write(
            "UPDATE eval_runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
            (status, time.time(), json.dumps(summary, default=str), run_id),
        )

    _INSERT = (
        "INSERT OR REPLACE INTO eval_results (run_id, case_id, repeat_index, position, "
        "category, case_json, case_hash, output, failed, metrics, metrics_key, cache_key, "
        "cached, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    @staticmethod
    def _row(run_id: str, result: CaseResult) -> tuple[Any, ...]:
        return result_row(run_id, result)

    def add_result(self, run_id: str, result: CaseResult) -> None:
        self._write(self._INSERT, self._row(run_id, result))

    def add_results(self, run_id: str, results: list[CaseResult]) -> None:
        if not results:
            return
        rows = [self._row(run_id, r) for r in results]
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(self._INSERT, rows)
                self._conn.execute("COMMIT")
            except sqlite3.Error as e:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StoreError(
                    f"evaluation store {self.path!r}: {e}",
                    hint="another process may be writing; retry",
                ) from e

    def results(self, run_id: str) -> list[CaseResult]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {RESULT_COLS} FROM eval_results WHERE run_id = ? "
                "ORDER BY position, repeat_index",
                (run_id,),
            ).fetchall()
        return [result_from_row(r) for r in rows]

    def done_keys(self, run_id: str) -> set[tuple[str, int]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT case_id, repeat_index FROM eval_results WHERE run_id = ?", (run_id,)
            ).fetchall()
        return {(str(r[0]), int(r[1])) for r in rows}

    def cached(
        self, cache_keys: list[str], *, metrics_key: str | None = None
    ) -> dict[str, CachedOutput]:
        best: dict[str, int] = {}
        keys = list(dict.fromkeys(cache_keys))
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            with self._lock:
                picks = self._conn.execute(
                    "SELECT cache_key, rowid FROM eval_results "
                    f"WHERE failed = 0 AND cache_key IN ({','.join('?' * len(part))}) "
                    "ORDER BY metrics_key = ?, created_at",
                    [*part, metrics_key or ""],
                ).fetchall()
            for key, rowid in picks:  # the last wins: same metrics first, then the newest
                best[key] = rowid
        rows_by_key: dict[str, tuple[Any, ...]] = {}
        rowids = list(best.values())
        for i in range(0, len(rowids), 500):
            part_ids = rowids[i : i + 500]
            with self._lock:
                rows = self._conn.execute(
                    "SELECT cache_key, output, case_hash, metrics_key, metrics FROM eval_results "
                    f"WHERE rowid IN ({','.join('?' * len(part_ids))})",
                    part_ids,
                ).fetchall()
            for row in rows:
                rows_by_key[row[0]] = row
        return {
            key: CachedOutput(
                output=output_from_dict(json.loads(row[1])),
                case_hash=row[2],
                metrics_key=row[3],
                metrics=metrics_from_json(row[4]),
                output_json=row[1],
                metrics_json=row[4],
            )
            for key, row in rows_by_key.items()
        }

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _is_postgres_url(url: str) -> bool:
    scheme = url.strip().split(":", 1)[0].lower() if "://" in url else ""
    return scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+")


def open_eval_store(project: Any) -> EvalStore:
    """The evaluation store of a project: ``evals.store`` if set (``sqlite:///…`` or
    ``postgresql://…``), else the project's own database (its SQLite file, or its
    PostgreSQL database), else ``ragline-evals.db`` in the project folder (in-memory
    stores)."""
    from ragline.store._open import sqlite_path

    url: str | None = getattr(project.settings.evals, "store", None)
    base = project.path
    if url:
        if _is_postgres_url(url):
            from ragline.evals._storage_postgres import PostgresEvalStore

            return PostgresEvalStore(url)
        if not url.startswith("sqlite://"):
            from ragline.errors import ConfigError

            raise ConfigError(
                f"evals.store {url!r} is not a SQLite or PostgreSQL URL",
                hint="use sqlite:///evals.db or postgresql://user@host/db",
            )
        return SQLiteEvalStore(sqlite_path(url, base_dir=base))
    store_url = project.settings.store
    if _is_postgres_url(store_url):
        from ragline.evals._storage_postgres import PostgresEvalStore
        from ragline.store._postgres import PostgresStore

        opened = getattr(project, "_store", None)  # share the project's pool if it is open
        if isinstance(opened, PostgresStore):
            return PostgresEvalStore(opened)
        return PostgresEvalStore(store_url)
    if store_url.startswith("sqlite://"):
        path = sqlite_path(store_url, base_dir=base)
        if path != ":memory:":
            return SQLiteEvalStore(path)
    return SQLiteEvalStore(Path(base) / "ragline-evals.db")
