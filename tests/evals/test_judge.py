"""The LLM judge: the prompt sent, the verdict parsed, and its typed failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.errors import InputError, ProviderError
from ragline.evals import (
    Case,
    CaseOutput,
    CitationPrecision,
    CitedSentence,
    Faithfulness,
    JudgePrompt,
    LLMJudge,
    RetrievedContext,
    default_metrics,
)
from ragline.evals._metrics import parse_verdict
from ragline.models import Message
from ragline.testing import FakeModel, FunctionModel

CASE = Case(id="c", question="How long is the warranty?")
OUTPUT = CaseOutput(
    answer="The warranty lasts 2 years. Parking is free.",
    sentences=(
        CitedSentence("The warranty lasts 2 years.", ("w#0",)),
        CitedSentence("Parking is free.", ("w#0",)),
    ),
    contexts=(RetrievedContext("w#0", "w", "The battery warranty lasts 2 years."),),
)


@pytest.mark.parametrize(
    ("reply", "supported", "reason"),
    [
        ('{"supported": true, "reason": "stated in [1]"}', True, "stated in [1]"),
        ('{"supported": false, "reason": "not mentioned"}', False, "not mentioned"),
        ('```json\n{"supported": true, "reason": "ok"}\n```', True, "ok"),
        (
            'Sure! Here is my verdict: {"supported": false, "reason": "no"} Hope it helps.',
            False,
            "no",
        ),
        ("{'supported': True, 'reason': 'python style'}", True, "python style"),
        ('"supported": yes', True, ""),
        ("Yes. The passage states it.", True, "The passage states it"),
        ("Not supported: the context is silent.", False, "the context is silent"),
    ],
)
def test_parse_verdict_strict_and_tolerant(reply: str, supported: bool, reason: str) -> None:
    v = parse_verdict(reply)
    assert v is not None
    assert (v.supported, v.reason) == (supported, reason)


@pytest.mark.parametrize("reply", ["", "I am not sure.", '{"supported": "perhaps"}', "[1, 2]"])
def test_unreadable_verdicts(reply: str) -> None:
    assert parse_verdict(reply) is None


def test_the_judge_sees_the_exact_claim_and_numbered_evidence() -> None:
    model = FakeModel(['{"supported": true, "reason": "r"}', '{"supported": false, "reason": "r"}'])
    r = CitationPrecision(LLMJudge(model)).score(CASE, OUTPUT)
    assert r.value == 0.5 and r.details["unsupported"] == [
        {"sentence": 1, "chunk_id": "w#0", "reason": "r", "code": ""}
    ]
    first = model.calls[0]
    assert [m.role for m in first.messages] == ["system", "user"]
    user = first.messages[1].content
    assert "Claim: The warranty lasts 2 years." in user
    assert "[1] The battery warranty lasts 2 years." in user
    assert first.options == {"temperature": 0.0}
    assert "judge:fake:judge_support_v1@" in r.version


def test_faithfulness_with_a_function_judge_gets_all_passages() -> None:
    def judge(messages: list[Message], tools: object, options: object) -> str:
        user = messages[-1].content
        return '{"supported": %s, "reason": "-"}' % (
            "true" if "warranty" in user.split("Claim:")[1] else "false"
        )

    r = Faithfulness(LLMJudge(FunctionModel(judge))).score(CASE, OUTPUT)
    assert r.value == 0.5 and r.details["unsupported"] == [1]


def test_unparseable_reply_is_a_typed_failure() -> None:
    r = CitationPrecision(LLMJudge(FakeModel(["maybe?", "maybe?"]))).score(CASE, OUTPUT)
    assert r.failure == "judge_unparseable" and r.details["reply"] == "maybe?"


def test_judge_model_error_is_a_typed_failure() -> None:
    model = FakeModel([ProviderError("rate limited", provider="fake", status_code=429)])
    r = Faithfulness(LLMJudge(model)).score(CASE, OUTPUT)
    assert r.failure is not None and r.failure.startswith(
        "judge_error: ProviderError: rate limited"
    )


def test_default_metrics_use_the_judge_for_support_metrics() -> None:
    model = FakeModel([])
    metrics = {m.name: m for m in default_metrics(judge=model)}
    assert "judge:fake" in metrics["citation_precision"].version
    assert "judge:fake" in metrics["faithfulness"].version


def test_custom_prompt_file_and_its_errors(tmp_path: Path) -> None:
    p = tmp_path / "strict.txt"
    p.write_text("=== user ===\nE: {evidence}\nC: {claim}\nJSON please.\n")
    prompt = JudgePrompt.load(p)
    msgs = prompt.messages("It is red.", ["The car is red."])
    assert [m.content for m in msgs] == ["E: [1] The car is red.\nC: It is red.\nJSON please."]
    other = tmp_path / "other.txt"
    other.write_text("=== user ===\nE: {evidence}\nC: {claim}\nJSON, please.\n")
    assert JudgePrompt.load(other).version != prompt.version  # an edit changes the version
    bad = tmp_path / "bad.txt"
    bad.write_text("=== user ===\nno placeholders\n")
    with pytest.raises(InputError, match="needs a '=== user ===' section with"):
        JudgePrompt.load(bad)
    with pytest.raises(InputError, match="does not exist"):
        JudgePrompt.load(tmp_path / "absent.txt")


def test_packaged_prompt_loads() -> None:
    prompt = JudgePrompt.load()
    assert prompt.name == "judge_support_v1" and len(prompt.version) == 12
    assert '"supported"' in prompt.system
