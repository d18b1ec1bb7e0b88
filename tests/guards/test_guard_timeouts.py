"""Guard time budgets: a guard past its ``timeout_ms`` is abandoned, its ``on_error``
decides (reason ``guard.timeout``), it is counted, and the ask returns — the question
and the streamed answer alike — with no thread made per request.

"It returned" is checked by running the call on a thread joined with a generous
timeout, never by a bound on the elapsed time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import ragline
from ragline.answer import DeltaEvent, DoneEvent
from ragline.errors import GuardTimeout
from ragline.guards import GuardContext, GuardStage, Verdict, allow
from ragline.guards._budget import MAX_ABANDONED, Budget, WorkerPool
from ragline.guards._policy import REFUSAL_TEXT, ConfiguredGuard, GuardSet
from ragline.testing import HashEmbedder

#: how long "it returned" may take: far above any budget used here
RETURNED_WITHIN_S = 30.0


class Hanging:
    """A guard that blocks until ``release`` is set (or counts its calls when it is)."""

    def __init__(self, name: str = "hanging", stages: frozenset[GuardStage] | None = None):
        self.name = name
        self.stages: frozenset[GuardStage] = stages or frozenset({"input"})
        self.release = threading.Event()
        self.started = 0
        self.finished = 0
        self._lock = threading.Lock()

    def check(self, text: str, context: GuardContext) -> Verdict:
        with self._lock:
            self.started += 1
        self.release.wait(60)
        with self._lock:
            self.finished += 1
        return allow(self.name)


def returns(fn: Callable[[], Any]) -> Any:
    """``fn()``, asserting it returned within RETURNED_WITHIN_S (run on a thread)."""
    out: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(RETURNED_WITHIN_S)
    assert not worker.is_alive(), "the call did not return: a guard hung the request"
    if errors:
        raise errors[0]
    return out[0]


CTX = GuardContext(stage="input")


def test_a_guard_past_its_budget_blocks_with_guard_timeout() -> None:
    guard = Hanging()
    try:
        result = returns(lambda: GuardSet([ConfiguredGuard(guard, "block", 50)]).run("hi", CTX))
        assert result.blocked
        (verdict,) = result.verdicts
        assert verdict.reasons == ("guard.timeout",)
        (error,) = result.errors
        assert error.startswith("hanging: GuardTimeout: ") and "50 ms budget" in error
        (trigger,) = result.triggers()
        assert trigger.error == "GuardTimeout" and trigger.reasons == ["guard.timeout"]
    finally:
        guard.release.set()


def test_on_error_allow_lets_the_text_through_and_still_records_the_timeout() -> None:
    guard = Hanging()
    try:
        result = returns(lambda: GuardSet([ConfiguredGuard(guard, "allow", 50)]).run("hi", CTX))
        assert result.action == "allow" and result.text == "hi"
        assert result.verdicts[0].reasons == ("guard.timeout",) and len(result.errors) == 1
        assert result.triggers()[0].error == "GuardTimeout"  # recorded, so it is counted
    finally:
        guard.release.set()


def test_a_guard_within_its_budget_keeps_its_verdict_and_what_it_raises() -> None:
    class Quick:
        name, stages = "quick", frozenset({"input"})

        def check(self, text: str, context: GuardContext) -> Verdict:
            if text == "boom":
                raise ValueError("bad")
            return Verdict(guard="quick", action="flag", score=0.9, reasons=("quick.hit",))

    guards = GuardSet([ConfiguredGuard(Quick(), "block", 5000)])  # type: ignore[arg-type]
    assert guards.run("hi", CTX).verdicts[0].reasons == ("quick.hit",)
    failed = guards.run("boom", CTX)
    assert failed.blocked and failed.verdicts[0].reasons == ("guard.error",)
    assert failed.errors == ["quick: ValueError: bad"]


def test_no_thread_per_call_and_a_hung_guard_cannot_take_the_pool() -> None:
    pool = WorkerPool(max_workers=8)
    quick = Budget("quick", 5000, pool)
    for _ in range(50):  # a healthy guard reuses one worker
        assert quick.call(lambda: 1) == 1
    assert pool.threads == 1

    hung = Hanging()
    budget = Budget("hanging", 20, pool)
    try:
        for _ in range(30):  # 30 requests, each past the budget
            with pytest.raises(GuardTimeout):
                returns(lambda: budget.call(lambda: hung.check("x", CTX)))
        # only MAX_ABANDONED calls ever started; the rest failed without a thread
        assert hung.started == MAX_ABANDONED and budget.abandoned == MAX_ABANDONED
        assert pool.threads <= 1 + MAX_ABANDONED
        assert quick.call(lambda: 2) == 2  # the other guards still run
    finally:
        hung.release.set()
    returns(lambda: _wait_for(lambda: budget.abandoned == 0))
    assert hung.finished == MAX_ABANDONED
    assert budget.call(lambda: hung.check("x", CTX)).action == "allow"  # called again
    assert pool.threads <= 1 + MAX_ABANDONED


def _wait_for(condition: Callable[[], bool]) -> bool:
    event = threading.Event()
    while not condition():
        event.wait(0.01)
    return True


def test_the_budget_is_in_the_config_with_generous_local_defaults() -> None:
    from ragline.config import GuardSettings
    from ragline.guards._policy import build_guards

    guards = build_guards(GuardSettings.model_validate({"pii": {"timeout_ms": 150}}))
    by_name = {g.guard.name: g.timeout_ms for g in guards.guards}
    assert by_name == {"injection": 2000, "pii": 150, "unsafe": 2000}


def test_a_bad_timeout_is_a_clear_config_error(tmp_path: Path) -> None:
    from ragline.config import load_settings
    from ragline.errors import ConfigError

    (tmp_path / "ragline.yaml").write_text("guards:\n  pii: {timeout_ms: 0}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="timeout_ms"):
        load_settings(tmp_path)


# ------------------------------------------------------- through Project.ask / stream

DOCS = {"warranty.md": "# Warranty\n\nEvery X200 comes with a two-year warranty.\n"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ragline.Project]:
    root = tmp_path_factory.mktemp("guard-timeouts")
    (root / "docs").mkdir()
    for name, text in DOCS.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    (root / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    p = ragline.Project(root, embedder=HashEmbedder())
    p.ingest([root / "docs"])
    yield p
    p.close()


def _with_guard(project: ragline.Project, configured: ConfiguredGuard) -> Callable[[], None]:
    """Add ``configured`` to the default tenant's guards; returns the undo."""
    stage = next(s for s in project.parts.view().pipeline.stages if hasattr(s, "guards"))
    guards: GuardSet = stage.guards  # type: ignore[attr-defined]
    guards.guards.append(configured)
    return lambda: guards.guards.remove(configured)


@pytest.mark.parametrize("on_error", ["block", "allow"])
def test_ask_returns_when_the_question_guard_hangs(project: ragline.Project, on_error: Any) -> None:
    guard = Hanging()
    undo = _with_guard(project, ConfiguredGuard(guard, on_error, 50))
    try:
        answer = returns(lambda: project.ask("How long is the X200 warranty?"))
        (trigger,) = [t for t in answer.guards if t.guard == "hanging"]
        assert trigger.error == "GuardTimeout" and trigger.reasons == ["guard.timeout"]
        if on_error == "block":
            assert answer.blocked and answer.text == REFUSAL_TEXT
            assert answer.refusal_reason == "guard.timeout"
        else:
            assert not answer.blocked and "two-year" in answer.text
        spans = project.get_trace(answer.trace_id or "")
        span = next(s for s in spans if s.name == "ragline.guard_in")
        assert any("GuardTimeout" in e for e in span.attributes["ragline.guard.errors"])
    finally:
        undo()
        guard.release.set()


def test_a_stream_returns_when_the_output_guard_hangs(project: ragline.Project) -> None:
    guard = Hanging("slow_output", frozenset({"output"}))
    undo = _with_guard(project, ConfiguredGuard(guard, "block", 50))
    try:
        events = returns(lambda: list(project.ask_stream("How long is the X200 warranty?")))
        done = events[-1]
        assert isinstance(done, DoneEvent) and done.answer.blocked
        assert done.finish_reason == "content_filter"
        assert "two-year" not in "".join(e.text for e in events if isinstance(e, DeltaEvent))
        (trigger,) = [t for t in done.answer.guards if t.guard == "slow_output"]
        assert trigger.reasons == ["guard.timeout"]
    finally:
        undo()
        guard.release.set()


def test_a_timeout_is_counted_in_the_errors_metric(project: ragline.Project) -> None:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from ragline.server._metrics import Metrics

    guard = Hanging()
    undo = _with_guard(project, ConfiguredGuard(guard, "allow", 50))
    try:
        answer = returns(lambda: project.ask("How long is the X200 warranty?"))
    finally:
        undo()
        guard.release.set()
    state: Any = SimpleNamespace(
        settings=SimpleNamespace(server=SimpleNamespace(metrics_tenant_labels=True)),
        admission=SimpleNamespace(running=0, waiting=0, shed=0),
        project=SimpleNamespace(trace_stats=lambda: None),
    )
    metrics = Metrics(state)
    metrics.observe_answer("default", answer)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())
        for s in family.samples
    }
    labels = {"guard": "hanging", "stage": "input", "reason": "guard.timeout"}
    labels["tenant"] = "default"
    assert samples[("ragline_guard_errors_total", tuple(sorted(labels.items())))] == 1


def test_a_chat_turn_blocked_by_a_timeout_stores_the_refusal_not_an_answer(
    project: ragline.Project,
) -> None:
    guard = Hanging()
    undo = _with_guard(project, ConfiguredGuard(guard, "block", 50))
    try:
        reply = returns(lambda: project.chat(None, "How long is the X200 warranty?"))
    finally:
        undo()
        guard.release.set()
    assert reply.answer.blocked and reply.answer.refusal_reason == "guard.timeout"
    turns = project.parts.chat.conversations.turns("default", reply.conversation_id)
    assert [t.content for t in turns if t.role == "assistant"] == [REFUSAL_TEXT]
    assert all("two-year" not in t.content for t in turns)
    follow = project.chat(reply.conversation_id, "How long is the X200 warranty?")
    assert not follow.answer.blocked and "two-year" in follow.answer.text  # guard back
