"""``mode: shadow``: the control is served; shadow variants answer the same requests in
the background — traced, linked to the served trace, never changing or delaying it —
with a bounded queue whose overflow, staleness and failures are counted."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

import ragline
from ragline._config_experiments import ExperimentSettings
from ragline.answer import AskRequest
from ragline.answer._events import DoneEvent
from ragline.monitor._builder import is_ask
from ragline.prompts._experiments import Assignment, Experiments
from ragline.prompts._shadow import Shadows
from ragline.store._traces import SpanRecord
from ragline.testing import HashEmbedder
from ragline.types import Answer

QUESTION = "How long is the warranty?"


def _shadow_experiment(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "narrow",
        "mode": "shadow",
        "tenants": ["acme"],
        "variants": [
            {"name": "control"},
            {"name": "k1", "retrieval": {"k": 1}},
            {"name": "k2", "retrieval": {"k": 2}},
        ],
    }
    data.update(fields)
    return data


def _project(root: Path, experiment: dict[str, Any]) -> ragline.Project:
    docs = root / "docs"
    docs.mkdir(exist_ok=True)
    for i in range(4):
        (docs / f"d{i}.md").write_text(
            f"# Warranty {i}\n\nThe X{i}00 has a {i + 1}-year warranty.\n"
        )
    config = {
        "store": "sqlite:///ragline.db",
        "embedder": "hash",
        "retrieval": {"k": 4},
        "tenants": {"acme": {}},
        "experiments": [experiment],
    }
    (root / "ragline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    project = ragline.Project(root, embedder=HashEmbedder())
    project.ingest([docs], tenant="acme")
    return project


def _roots(project: ragline.Project, name: str) -> list[SpanRecord]:
    out = []
    for summary in project.list_traces(limit=1000):
        if summary.name == name:
            spans = project.get_trace(summary.trace_id)
            out.append(next(s for s in spans if s.parent_id is None))
    return out


@pytest.fixture(scope="module")
def shadowed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Answer], list[SpanRecord]]:
    """Six served asks (one streamed) of a shadow experiment, and the shadow roots."""
    project = _project(tmp_path_factory.mktemp("shadow"), _shadow_experiment())
    answers = [project.ask(QUESTION, tenant="acme", user=f"u{i}") for i in range(5)]
    events = list(project.ask_stream(QUESTION, tenant="acme", user="u-stream"))
    done = events[-1]
    assert isinstance(done, DoneEvent)
    answers.append(done.answer)
    project.parts.shadows.close(30.0)  # the background runs finish
    stats = project.parts.shadows.stats()["narrow"]
    assert (stats.submitted, stats.ran, stats.failed, stats.dropped) == (12, 12, 0, 0)
    roots = _roots(project, "ragline.shadow")
    project.close()
    return answers, roots


def test_the_control_is_served_and_says_so(shadowed: tuple[list[Answer], list[SpanRecord]]) -> None:
    answers, _ = shadowed
    for answer in answers:
        assert (answer.experiment, answer.variant) == ("narrow", "control")
        assert len(answer.hits) == 4  # the control's k, not a shadow's


def test_each_shadow_variant_answers_each_request_traced_and_linked(
    shadowed: tuple[list[Answer], list[SpanRecord]],
) -> None:
    answers, roots = shadowed
    served = {a.trace_id for a in answers}
    assert len(roots) == 12  # 6 requests x 2 shadow variants
    by_served: dict[str, set[str]] = {}
    for root in roots:
        assert root.kind == "shadow" and root.status == "ok"
        assert root.attributes["ragline.experiment"] == "narrow"
        assert root.attributes["ragline.question"] == QUESTION
        by_served.setdefault(root.attributes["ragline.shadow.of"], set()).add(
            root.attributes["ragline.variant"]
        )
        k = {"k1": 1, "k2": 2}[root.attributes["ragline.variant"]]
        assert len(root.attributes["ragline.retrieved.chunk_ids"]) == k  # its own settings
    assert by_served == {trace_id: {"k1", "k2"} for trace_id in served}


def test_shadow_traces_are_not_served_asks_for_monitoring(
    shadowed: tuple[list[Answer], list[SpanRecord]],
) -> None:
    _, roots = shadowed
    assert not any(is_ask(root) for root in roots)  # rollups and alerts see served asks only


def test_sampling_is_a_stable_share_of_the_keys() -> None:
    experiment = ExperimentSettings.model_validate(_shadow_experiment(shadow={"sample": 0.25}))
    experiments = Experiments([experiment])
    picked = [experiments.assign("acme", user=f"u{i}") for i in range(4000)]
    shadowed = [a for a in picked if a is not None and a.shadows]
    assert 0.22 < len(shadowed) / 4000 < 0.28
    assert all(a.shadows == ("k1", "k2") and a.variant == "control" for a in shadowed)
    assert picked == [experiments.assign("acme", user=f"u{i}") for i in range(4000)]  # stable


def test_a_zero_weight_variant_does_not_shadow_and_a_forced_one_is_served() -> None:
    experiment = ExperimentSettings.model_validate(
        _shadow_experiment(
            variants=[{"name": "control"}, {"name": "k1"}, {"name": "off", "weight": 0}]
        )
    )
    experiments = Experiments([experiment])
    assigned = experiments.assign("acme", user="u1")
    assert assigned is not None and assigned.shadows == ("k1",)
    forced = experiments.assign("acme", user="u1", forced="k1")
    assert forced is not None and (forced.variant, forced.shadows) == ("k1", ())


# -- the queue: bounded, stale runs expire, failures counted --------------------------


def _request(variant: str = "control", shadows: tuple[str, ...] = ("k1",)) -> AskRequest:
    return AskRequest(
        QUESTION, "acme", assignment=Assignment("narrow", variant, "user", shadows=shadows)
    )


def _answer() -> Answer:
    answer = Answer(question=QUESTION, text="served")
    answer.trace_id = "t" * 32
    return answer


def _settings(**shadow: Any) -> list[ExperimentSettings]:
    return [ExperimentSettings.model_validate(_shadow_experiment(shadow=shadow))]


def test_a_full_queue_drops_and_counts_without_blocking_the_submitter() -> None:
    release = threading.Event()
    started = threading.Event()
    ran: list[AskRequest] = []

    def slow(request: AskRequest) -> None:
        started.set()
        release.wait(10)
        ran.append(request)

    shadows = Shadows(_settings(queue=2, workers=1), slow)
    assert shadows.submit(_request(), _answer()) == 1  # the worker takes it and blocks
    assert started.wait(5)
    queued = [shadows.submit(_request(), _answer()) for _ in range(4)]
    assert queued == [1, 1, 0, 0]  # two wait, the rest are dropped at once
    stats = shadows.stats()["narrow"]
    assert (stats.submitted, stats.dropped, stats.queued) == (3, 2, 2)
    release.set()
    shadows.close(10.0)
    stats = shadows.stats()["narrow"]
    assert (stats.ran, stats.dropped, stats.queued) == (3, 2, 0)
    assert all(r.shadow_of == "t" * 32 and r.assignment.variant == "k1" for r in ran)  # type: ignore[union-attr]
    assert not any(r.stream for r in ran)


def test_a_stale_run_expires_and_a_failing_one_is_counted() -> None:
    now = [0.0]
    hold = threading.Event()
    started = threading.Event()

    def run(request: AskRequest) -> None:
        if request.question == "hold":
            started.set()
            hold.wait(10)
            return
        raise RuntimeError("the shadow model is down")

    shadows = Shadows(_settings(max_wait_s=5, workers=1), run, clock=lambda: now[0])
    from dataclasses import replace

    shadows.submit(replace(_request(), question="hold"), _answer())
    assert started.wait(5)
    shadows.submit(_request(), _answer())  # will wait 10 s > max_wait_s
    now[0] = 10.0
    hold.set()
    shadows.close(10.0)
    assert shadows.stats()["narrow"].expired == 1
    now[0] = 0.0
    failing = Shadows(_settings(), run)
    assert failing.submit(_request(), _answer()) == 1
    failing.close(10.0)
    stats = failing.stats()["narrow"]
    assert (stats.failed, stats.ran) == (1, 0)


def test_runs_still_queued_when_the_deadline_passes_are_dropped_and_counted() -> None:
    hold = threading.Event()
    started = threading.Event()

    def run(request: AskRequest) -> None:
        started.set()
        hold.wait(10)

    shadows = Shadows(_settings(queue=5, workers=1), run)
    for _ in range(3):
        shadows.submit(_request(), _answer())
    assert started.wait(5)
    shadows.close(0.05)  # the first still runs; two never started
    assert shadows.stats()["narrow"].dropped == 2
    assert shadows.submit(_request(), _answer()) == 0  # closed: refused, counted
    assert shadows.stats()["narrow"].dropped == 3
    hold.set()


def test_a_request_without_shadows_queues_nothing() -> None:
    shadows = Shadows(_settings(), lambda request: None)
    assert shadows.submit(_request(shadows=()), _answer()) == 0
    assert shadows.submit(AskRequest(QUESTION, "acme"), _answer()) == 0
    assert shadows.stats() == {}


def test_a_failing_shadow_variant_leaves_the_served_answer_alone(tmp_path: Path) -> None:
    project = _project(tmp_path, _shadow_experiment())
    broken = project.parts.view("acme", Assignment("narrow", "k1", "check")).pipeline
    broken.retrieval.insert(0, _Broken())
    answer = project.ask(QUESTION, tenant="acme", user="u1")
    assert answer.variant == "control" and len(answer.hits) == 4 and answer.text
    project.parts.shadows.close(30.0)
    stats = project.parts.shadows.stats()["narrow"]
    assert (stats.ran, stats.failed) == (1, 1)  # k2 answered, k1 failed and was counted
    failed = {r.attributes["ragline.variant"]: r for r in _roots(project, "ragline.shadow")}
    assert failed["k1"].status == "error" and failed["k2"].status == "ok"
    assert failed["k1"].attributes["ragline.shadow.of"] == answer.trace_id
    served = _roots(project, "ragline.ask")
    assert [r.status for r in served] == ["ok"]
    project.close()


class _Broken:
    """A stage that fails: the shadow variant's model or retriever is down."""

    span = "ragline.broken"
    kind = "retrieval"

    def run(self, ask: Any) -> None:
        raise RuntimeError("k1 is broken")


def test_a_chat_is_shadowed_with_its_history_and_nothing_else_is_stored(tmp_path: Path) -> None:
    project = _project(tmp_path, _shadow_experiment(key="request"))
    first = project.chat(None, "How long is the X100 warranty?", tenant="acme")
    second = project.chat(first.conversation_id, "And the X200?", tenant="acme")
    project.parts.shadows.close(30.0)
    assert project.parts.shadows.stats()["narrow"].ran == 4  # 2 messages x 2 variants
    turns = project.conversations.turns("acme", first.conversation_id)
    assert len(turns) == 4  # the two messages and the two served answers, no shadow turn
    assert turns[-1].content == second.answer.text
    shadows = [
        r
        for r in _roots(project, "ragline.shadow")
        if r.attributes["ragline.shadow.of"] == second.answer.trace_id
    ]
    assert len(shadows) == 2
    assert all(r.attributes["ragline.message"] == "And the X200?" for r in shadows)
    project.close()
