"""Run a dataset through a target (the project's pipeline, or an HTTP service).

Every (case, repeat) is run once per run: its output is scored by every metric that
applies and stored as soon as it finishes, so an interrupted run loses at most the
cases in flight and ``resume`` runs only the missing ones. A case whose cache key
(configuration fingerprint, question, tenant, repeat index) already has a stored
output reuses it instead of calling the pipeline; its metric results are reused too
when the case and the metric versions are unchanged.

No silent zeros: before the run the target's dataset check (``check_dataset``, an
optional method: the project's pipeline has one) looks up every case's gold ids and
tenant; the run's summary stores that check and the warnings of the results (see
:mod:`ragline.evals._warnings`). ``strict=True`` refuses to start when the check finds
a problem (nothing is stored) and raises after a run whose results have warnings (the
run is stored, warnings and all).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ragline._time import elapsed_ms
from ragline.errors import EvalWarningsError, InputError, RaglineError
from ragline.evals._fingerprint import (
    cache_key,
    case_hash,
    cases_hash,
    metrics_key,
    pipeline_hash,
)
from ragline.evals._types import (
    Case,
    CaseOutput,
    CitedSentence,
    Metric,
    MetricResult,
    RetrievedContext,
)
from ragline.store._evals import CaseResult, EvalStore, RunInfo

if TYPE_CHECKING:
    from ragline._project import Project
    from ragline.evals._preflight import DatasetCheck
    from ragline.types import Answer, Hit

ProgressFn = Callable[[int, int, int], None]  # (done, total, cached)


class EvalInterrupted(RaglineError):
    """A run stopped part-way (Ctrl-C); its finished cases are stored."""

    def __init__(self, run_id: str, done: int, total: int, dataset: str) -> None:
        super().__init__(
            f"evaluation run {run_id} interrupted after {done} of {total} cases",
            hint=f"resume it: ragline eval run {dataset} --resume {run_id}",
        )
        self.run_id = run_id


class Target(Protocol):
    """What an evaluation runs against.

    A target may also have ``check_dataset(cases) -> DatasetCheck`` (the gold ids and
    tenants the cases name, looked up in its store); the runner uses it when present.
    """

    name: str

    def fingerprint(self, cases: Sequence[Case]) -> dict[str, Any]:
        """Everything that determines the outputs (the cache is keyed on it)."""
        ...

    def run_case(self, case: Case) -> CaseOutput:
        """Run one case; failures are returned as ``CaseOutput.error``, not raised."""
        ...


def _error_text(e: BaseException) -> str:
    return str(e) if isinstance(e, RaglineError) else f"{type(e).__name__}: {e}"


def _contexts(hits: Sequence[Hit], *, text: bool = True) -> tuple[RetrievedContext, ...]:
    """The hits as contexts; a context's text is what the cite stage judged the answer
    against (title, sections and body: ``indexed_text``)."""
    return tuple(
        RetrievedContext(
            h.chunk.id, h.chunk.document_id, h.chunk.indexed_text if text else "", float(h.score)
        )
        for h in hits
    )


def output_from_answer(answer: Answer, *, latency_ms: float, guarded: bool = False) -> CaseOutput:
    """A pipeline :class:`~ragline.types.Answer` as a :class:`CaseOutput`.

    ``guarded``: guards checked the ask, so an answer no guard acted on still carries a
    verdict (``blocked: false``) for the ``guard_verdicts`` metric. A trigger is a block
    of the ask only at the input or output stage (a blocked chunk is dropped instead).
    """
    by_number = {r.number: r.chunk_id for r in answer.references}
    sentences = tuple(
        CitedSentence(s.text, tuple(by_number[n] for n in s.citations if n in by_number))
        for s in answer.sentences
    )
    return CaseOutput(
        answer=answer.text,
        sentences=sentences,
        contexts=_contexts(answer.hits),
        abstained=answer.abstained,
        latency_ms=float(answer.timings_ms.get("total", latency_ms)),
        cost_usd=float(answer.cost_usd or 0.0),
        trace_id=answer.trace_id,
        guards=_guard_verdicts(answer, guarded),
    )


def _guard_verdicts(answer: Answer, guarded: bool) -> tuple[dict[str, Any], ...]:
    verdicts = tuple(
        {
            **t.to_dict(),
            "blocked": answer.blocked and t.action == "block" and t.stage != "retrieval",
        }
        for t in answer.guards
    )
    if verdicts or not guarded:
        return verdicts
    return ({"guard": "all", "stage": "input", "action": "allow", "blocked": False},)


class ProjectTarget:
    """The project's own pipeline: ``Project.ask`` (or ``retrieve`` for retrieval-only,
    whose contexts keep chunk ids, document ids and scores but not the text)."""

    def __init__(self, project: Project, *, retrieval_only: bool = False) -> None:
        self.project = project
        self.retrieval_only = retrieval_only
        self.name = "project:retrieval" if retrieval_only else "project"

    def fingerprint(self, cases: Sequence[Case]) -> dict[str, Any]:
        from ragline.evals._fingerprint import project_fingerprint

        tenants = {self.project.tenant_or_default(c.tenant) for c in cases}
        fp = project_fingerprint(self.project, tenants)
        fp["target"] = self.name
        if self.retrieval_only:  # answers are not produced: answer settings don't matter
            for key in ("model", "models", "prompt_version", "answer"):
                fp.pop(key, None)
        return fp

    def check_dataset(self, cases: Sequence[Case]) -> DatasetCheck:
        """The cases' gold document and chunk ids and tenants, looked up in the store."""
        from ragline.evals._preflight import check_dataset

        return check_dataset(self.project.store, cases, self.project.tenant_or_default)

    def run_case(self, case: Case) -> CaseOutput:
        t0 = time.perf_counter()
        try:
            if self.retrieval_only:
                result = self.project.retrieve(case.question, tenant=case.tenant)
                ms = elapsed_ms(t0)
                # ids and scores only: retrieval metrics need no text, and a deep BEIR
                # ranking (hundreds of hits per query) would otherwise bloat the store
                contexts = _contexts(result.hits, text=False)
                return CaseOutput(answer="", contexts=contexts, latency_ms=ms)
            answer = self.project.ask(case.question, tenant=case.tenant)
        except Exception as e:
            ms = elapsed_ms(t0)
            return CaseOutput(answer="", latency_ms=ms, error=_error_text(e))
        guards = self.project.settings.guards
        guarded = guards.injection.enabled or guards.pii.enabled or guards.unsafe.enabled
        banned = guards.banned
        guarded = guarded or (
            banned.enabled and bool(banned.terms or banned.patterns or banned.topics)
        )
        return output_from_answer(answer, latency_ms=elapsed_ms(t0), guarded=guarded)


def score_case(case: Case, output: CaseOutput, metrics: Sequence[Metric]) -> list[MetricResult]:
    """Every applicable metric's result; a metric that raises is a typed failure."""
    results: list[MetricResult] = []
    for metric in metrics:
        try:
            if not metric.applies(case):
                continue
        except Exception as e:
            results.append(
                MetricResult(metric.name, metric.version, failure=f"metric_error: {_error_text(e)}")
            )
            continue
        if output.error is not None and not getattr(metric, "scores_errors", False):
            results.append(
                MetricResult(
                    metric.name,
                    metric.version,
                    failure="pipeline_error",
                    details={"error": output.error},
                )
            )
            continue
        try:
            result = metric.score(case, output)
        except Exception as e:
            result = MetricResult(
                metric.name, metric.version, failure=f"metric_error: {_error_text(e)}"
            )
        if result.value is not None and result.value != result.value:  # NaN
            result = MetricResult(
                metric.name, metric.version, failure="nan", details=result.details
            )
        results.append(result)
    return results


def _summary(results: Sequence[CaseResult], check: dict[str, Any] | None) -> dict[str, Any]:
    """The stored summary: statistics, the dataset check and every warning."""
    from ragline.evals._report import summarize
    from ragline.evals._warnings import run_warnings

    summary = summarize(results)
    if check is not None:
        summary["dataset_check"] = check
    summary["warnings"] = [w.to_dict() for w in run_warnings(results, check)]
    return summary


@dataclass(frozen=True, slots=True)
class _Task:
    position: int
    case: Case
    repeat_index: int
    cache_key: str
    case_hash: str


class EvalRunner:
    """Runs cases through a target, scores them and stores each result as it finishes."""

    def __init__(
        self,
        store: EvalStore,
        target: Target,
        metrics: Sequence[Metric],
        *,
        concurrency: int = 1,
        repeat: int = 1,
        use_cache: bool = True,
        metrics_extra: Mapping[str, Any] | None = None,
        on_progress: ProgressFn | None = None,
    ) -> None:
        if concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {concurrency}")
        if repeat < 1:
            raise InputError(f"repeat must be at least 1, got {repeat}")
        self.store = store
        self.target = target
        self.metrics = list(metrics)
        self.concurrency = concurrency
        self.repeat = repeat
        self.use_cache = use_cache
        self.metrics_key = metrics_key(self.metrics, metrics_extra)
        self.on_progress = on_progress

    def run(
        self,
        cases: Sequence[Case],
        *,
        dataset_path: str,
        name: str | None = None,
        resume: str | None = None,
        check: DatasetCheck | None = None,
        strict: bool = False,
    ) -> RunInfo:
        """Run (or resume) and return the finished run; Ctrl-C raises EvalInterrupted.

        ``check``: the dataset check to record (default: the target's ``check_dataset``,
        when it has one). ``strict``: raise :class:`~ragline.errors.EvalWarningsError`
        instead of scoring a dataset the check found problems in (before anything is
        stored), or after a run whose results have warnings (the run is stored)."""
        if not cases:
            raise InputError(f"dataset {dataset_path} has no cases", hint="add cases to the file")
        if check is None:
            preflight = getattr(self.target, "check_dataset", None)
            check = preflight(cases) if callable(preflight) else None
        if strict and check is not None and not check.ok:
            raise check.strict_error()
        check_dict = check.to_dict() if check is not None else None
        data_hash = cases_hash(cases)
        fingerprint = self.target.fingerprint(cases)
        fingerprint["dataset"] = {"path": dataset_path, "hash": data_hash}
        p_hash = pipeline_hash(fingerprint)
        if resume is not None:
            run = self.store.get_run(resume)
            if run.dataset_hash != data_hash:
                raise InputError(
                    f"run {run.id} was started on a different version of {run.dataset_path}",
                    hint="start a new run (without --resume)",
                )
            if run.fingerprint_hash != p_hash or run.repeats != self.repeat:
                raise InputError(
                    f"the configuration changed since run {run.id} started",
                    hint="resume with the same configuration and --repeat, or start a new run",
                )
            done = self.store.done_keys(run.id)
        else:
            run = RunInfo(
                id=time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6],
                name=name,
                dataset_path=dataset_path,
                dataset_hash=data_hash,
                fingerprint=fingerprint,
                fingerprint_hash=p_hash,
                target=self.target.name,
                repeats=self.repeat,
            )
            self.store.create_run(run)
            done = set()
        tasks = [
            _Task(pos, case, r, cache_key(p_hash, case, r), case_hash(case))
            for r in range(self.repeat)
            for pos, case in enumerate(cases)
            if (case.id, r) not in done
        ]
        total = len(cases) * self.repeat
        collected: list[CaseResult] = self.store.results(run.id) if done else []
        counter = {"done": len(done), "cached": 0}

        def finished(result: CaseResult, *, store: bool = True) -> None:
            if store:
                self.store.add_result(run.id, result)
            collected.append(result)
            counter["done"] += 1
            counter["cached"] += int(result.cached)
            if self.on_progress is not None:
                self.on_progress(counter["done"], total, counter["cached"])

        if self.on_progress is not None:
            self.on_progress(counter["done"], total, 0)
        try:
            hits = self._from_cache(tasks)
            self.store.add_results(run.id, list(hits.values()))
            for result in hits.values():
                finished(result, store=False)
            pending = [t for t in tasks if (t.case.id, t.repeat_index) not in hits]
            if self.concurrency == 1:
                for task in pending:
                    finished(self._execute(task))
            else:
                self._run_pool(pending, finished)
        except KeyboardInterrupt:
            self.store.finish_run(run.id, "interrupted", _summary(collected, check_dict))
            raise EvalInterrupted(run.id, counter["done"], total, dataset_path) from None
        summary = _summary(collected, check_dict)
        self.store.finish_run(run.id, "complete", summary)
        if strict and summary["warnings"]:
            from ragline.evals._warnings import stored_warnings, strict_line

            raise EvalWarningsError(
                f"--strict: run {run.id}: {strict_line(stored_warnings(summary))}",
                hint=f"the run is stored with its warnings: ragline eval report {run.id}",
                run_id=run.id,
            )
        return self.store.get_run(run.id)

    def _run_pool(self, tasks: list[_Task], finished: Callable[[CaseResult], None]) -> None:
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="ragline-eval")
        try:
            futures: set[Future[CaseResult]] = set()
            it = iter(tasks)
            # keep at most 2× concurrency in flight: Ctrl-C loses little, memory stays flat
            for task in it:
                futures.add(pool.submit(self._execute, task))
                if len(futures) >= 2 * self.concurrency:
                    break
            while futures:
                done, futures = wait(futures, return_when=FIRST_COMPLETED)
                for f in done:
                    finished(f.result())
                    nxt = next(it, None)
                    if nxt is not None:
                        futures.add(pool.submit(self._execute, nxt))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _from_cache(self, tasks: list[_Task]) -> dict[tuple[str, int], CaseResult]:
        """Results for the tasks whose output is cached, by (case id, repeat index)."""
        if not self.use_cache or not tasks:
            return {}
        found = self.store.cached([t.cache_key for t in tasks], metrics_key=self.metrics_key)
        out: dict[tuple[str, int], CaseResult] = {}
        for task in tasks:
            hit = found.get(task.cache_key)
            if hit is None:
                continue
            reuse = hit.case_hash == task.case_hash and hit.metrics_key == self.metrics_key
            metrics = hit.metrics if reuse else score_case(task.case, hit.output, self.metrics)
            out[(task.case.id, task.repeat_index)] = CaseResult(
                case=task.case,
                repeat_index=task.repeat_index,
                output=hit.output,
                metrics=metrics,
                cache_key=task.cache_key,
                case_hash=task.case_hash,
                metrics_key=self.metrics_key,
                cached=True,
                position=task.position,
                output_json=hit.output_json,
                metrics_json=hit.metrics_json if reuse else None,
            )
        return out

    def _execute(self, task: _Task) -> CaseResult:
        try:
            output = self.target.run_case(task.case)
        except Exception as e:
            output = CaseOutput(answer="", error=_error_text(e))
        return CaseResult(
            case=task.case,
            repeat_index=task.repeat_index,
            output=output,
            metrics=score_case(task.case, output, self.metrics),
            cache_key=task.cache_key,
            case_hash=task.case_hash,
            metrics_key=self.metrics_key,
            cached=False,
            position=task.position,
        )
