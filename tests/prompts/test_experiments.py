"""Experiments: stable assignment by hash, weights, scope, windows, forced variants,
variant settings applied to the answer, and each bad configuration as one clear error."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

import ragline
from ragline._config_experiments import ExperimentSettings, ExperimentsSettings
from ragline.errors import ConfigError, InputError
from ragline.prompts._experiments import Experiments
from ragline.testing import HashEmbedder


def _experiment(**fields: Any) -> ExperimentSettings:
    data: dict[str, Any] = {
        "name": "cite-v3",
        "variants": [{"name": "control", "weight": 1}, {"name": "v3", "weight": 3}],
    }
    data.update(fields)
    return ExperimentSettings.model_validate(data)


def test_a_key_always_lands_in_the_same_variant() -> None:
    first = Experiments([_experiment()])
    again = Experiments([_experiment()])  # another process: nothing is stored
    for i in range(500):
        a = first.assign("default", user=f"user-{i}")
        b = again.assign("default", user=f"user-{i}")
        assert a is not None and b is not None and a == b and a.key == "user"
    assert first.assign("default", user="u-1") == first.assign("default", user="u-1")


def test_weights_are_respected_over_many_keys() -> None:
    experiments = Experiments([_experiment()])
    counts = Counter(
        experiments.assign("default", user=f"user-{i}").variant  # type: ignore[union-attr]
        for i in range(20_000)
    )
    share = counts["v3"] / 20_000
    assert 0.74 < share < 0.76  # weights 1:3 -> 75 %


def test_a_zero_weight_variant_gets_no_one() -> None:
    experiments = Experiments(
        [_experiment(variants=[{"name": "a", "weight": 0}, {"name": "b", "weight": 2}])]
    )
    seen = {experiments.assign("t", user=str(i)).variant for i in range(2_000)}  # type: ignore[union-attr]
    assert seen == {"b"}


def test_the_key_can_be_the_conversation_or_the_request() -> None:
    experiments = Experiments([_experiment(key="conversation")])
    one = experiments.assign("default", user="u1", conversation="c-42")
    assert one is not None and one.key == "conversation"
    assert all(
        experiments.assign("default", user=f"u{i}", conversation="c-42") == one for i in range(50)
    )
    no_key = experiments.assign("default", user="u1")  # a new conversation has no id yet
    assert no_key is not None and (no_key.variant, no_key.key) == ("control", "none")


def test_scope_and_window() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    now = [start - 1]
    experiments = Experiments(
        [_experiment(tenants=["acme"], start="2026-12-01T00:00:00Z", stop="2026-12-08T00:00:00")],
        clock=lambda: now[0],
    )
    assert experiments.assign("acme", user="u1") is None  # not started
    now[0] = start + 3600
    assert experiments.assign("acme", user="u1") is not None
    assert experiments.assign("globex", user="u1") is None  # outside its tenants
    now[0] = start + 7 * 86400
    assert experiments.assign("acme", user="u1") is None  # stopped (naive times are UTC)


def test_a_forced_variant_wins_and_an_unknown_one_is_refused() -> None:
    experiments = Experiments([_experiment(tenants=["acme"])])
    forced = experiments.assign("acme", user="u1", forced="control")
    assert forced is not None and (forced.variant, forced.key) == ("control", "forced")
    with pytest.raises(InputError, match=r"has no variant 'v9'.*control, v3"):
        experiments.assign("acme", user="u1", forced="v9")
    with pytest.raises(InputError, match="no experiment runs for tenant 'globex'"):
        experiments.assign("globex", user="u1", forced="control")


@pytest.mark.parametrize(
    ("experiments", "error"),
    [
        (
            [{"name": "a", "variants": [{"name": "x", "weight": 0}, {"name": "y", "weight": 0}]}],
            "experiment 'a': every variant's weight is 0",
        ),
        (
            [{"name": "a", "variants": [{"name": "x", "weight": -1}, {"name": "y"}]}],
            "greater than or equal to 0",
        ),
        ([{"name": "a", "variants": [{"name": "x"}, {"name": "x"}]}], "two variants are named 'x'"),
        ([{"name": "a", "variants": [{"name": "x"}]}], "at least 2"),
        (
            [{"name": "a", "variants": [{"name": "x"}, {"name": "y", "retrieval": {"k": 0}}]}],
            "variant y: settings: retrieval: k: Input should be greater than or equal to 1",
        ),
        (
            [{"name": "a", "variants": [{"name": "x"}, {"name": "y", "answer": {"nope": 1}}]}],
            "variant y: settings: answer: nope: Extra inputs are not permitted",
        ),
        (
            [{"name": "a", "shadow": {"sample": 0.5}, "variants": [{"name": "x"}, {"name": "y"}]}],
            "experiment 'a': shadow: is for mode: shadow",
        ),
        (
            [
                {
                    "name": "a",
                    "mode": "shadow",
                    "variants": [{"name": "x"}, {"name": "y", "weight": 0}],
                }
            ],
            "experiment 'a': mode: shadow runs the variants after the first",
        ),
        (
            [
                {
                    "name": "a",
                    "mode": "shadow",
                    "shadow": {"queue": 0},
                    "variants": [{"name": "x"}, {"name": "y"}],
                }
            ],
            "queue",
        ),
        (
            [
                {"name": "a", "tenants": ["acme"], "variants": [{"name": "x"}, {"name": "y"}]},
                {"name": "b", "variants": [{"name": "x"}, {"name": "y"}]},
            ],
            "experiment 'b' overlaps experiment 'a'",
        ),
        (
            [
                {
                    "name": "a",
                    "start": "2026-12-02",
                    "stop": "2026-12-01",
                    "variants": [{"name": "x"}, {"name": "y"}],
                }
            ],
            "stop (2026-12-01 00:00:00+00:00) is not after start",
        ),
    ],
)
def test_bad_experiments_are_one_config_error_naming_the_experiment_and_key(
    tmp_path: Path, experiments: list[dict[str, Any]], error: str
) -> None:
    config = {"embedder": "hash", "tenants": {"acme": {}}, "experiments": experiments}
    (tmp_path / "ragline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(ConfigError, match="experiments") as info:
        ragline.Project(tmp_path, embedder=HashEmbedder())
    assert error in str(info.value)


def test_experiments_on_other_tenants_or_times_do_not_overlap() -> None:
    arms = [{"name": "x"}, {"name": "y"}]
    fine = ExperimentsSettings.model_validate(
        [
            {"name": "a", "tenants": ["acme"], "stop": "2027-01-01", "variants": arms},
            {"name": "b", "tenants": ["globex"], "variants": arms},
            {"name": "c", "tenants": ["acme"], "start": "2027-01-01", "variants": arms},
        ]
    )
    assert [e.name for e in fine] == ["a", "b", "c"]


# -- a project answers in the assigned variant ----------------------------------------


def _project(tmp_path: Path, experiment: dict[str, Any]) -> ragline.Project:
    docs = tmp_path / "docs"
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
    (tmp_path / "ragline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    project = ragline.Project(tmp_path, embedder=HashEmbedder())
    project.ingest([docs], tenant="acme")
    return project


def test_the_answer_and_its_trace_say_which_variant_answered(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "name": "narrow",
            "tenants": ["acme"],
            "variants": [
                {"name": "control", "weight": 1},
                {"name": "k1", "weight": 1, "retrieval": {"k": 1}},
            ],
        },
    )
    answers = {}
    for i in range(40):
        answer = project.ask("How long is the warranty?", tenant="acme", user=f"u{i}")
        answers[answer.variant] = answer
        assert answer.experiment == "narrow"
    assert set(answers) == {"control", "k1"}
    assert len(answers["k1"].hits) == 1 and len(answers["control"].hits) > 1  # its settings
    root = next(s for s in project.get_trace(answers["k1"].trace_id or "") if s.parent_id is None)
    assert root.attributes["ragline.experiment"] == "narrow"
    assert root.attributes["ragline.variant"] == "k1"
    assert root.attributes["ragline.variant.key"] == "user"
    assert answers["k1"].to_dict()["variant"] == "k1"

    again = project.ask("How long is the warranty?", tenant="acme", user="u7")
    assert again.variant == project.ask("Is there a warranty?", tenant="acme", user="u7").variant
    forced = project.ask("How long is the warranty?", tenant="acme", user="u7", variant="k1")
    assert forced.variant == "k1" and len(forced.hits) == 1
    outside = project.ask("How long is the warranty?", user="u1")  # the default tenant
    assert outside.experiment is None and outside.variant is None
    project.close()


def test_a_variant_naming_an_unknown_prompt_version_is_refused_at_open(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    experiment = {
        "name": "cite",
        "variants": [{"name": "control"}, {"name": "old", "prompt": "grounded_v2@abcdef12"}],
    }
    with pytest.raises(ConfigError) as info:
        _project(tmp_path, experiment)
    message = str(info.value)
    assert message.startswith("experiments: cite: variant old: prompt:")
    assert "no version 'abcdef12'" in message
    experiment["variants"][1]["prompt"] = "nope"  # type: ignore[index]
    with pytest.raises(ConfigError, match="variant old: prompt: no prompt named 'nope'"):
        _project(tmp_path, experiment)


def test_an_experiment_on_an_unknown_tenant_is_refused(tmp_path: Path) -> None:
    experiment = {"name": "e", "tenants": ["acmee"], "variants": [{"name": "a"}, {"name": "b"}]}
    with pytest.raises(ConfigError, match="experiments: e: tenants: unknown tenant 'acmee'"):
        _project(tmp_path, experiment)
