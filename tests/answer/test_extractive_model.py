"""``extractive`` behind the Model protocol: it reads ragline's grounded prompts."""

from __future__ import annotations

import pytest

from ragline.answer import ABSTAIN_TEXT, PromptTemplate, SupportScorer, verify_citations
from ragline.answer._extractive_model import ExtractiveModel, parse_grounded_prompt
from ragline.config import Settings
from ragline.models import Message, Model, make_model
from ragline.testing import HashEmbedder
from ragline.types import Chunk, Hit


def hit(cid: str, title: str, text: str, section: list[str] | None = None) -> Hit:
    chunk = Chunk(
        id=cid, document_id=cid, ordinal=0, text=text, title=title, section_path=section or []
    )
    return Hit(chunk=chunk, score=1.0)


HITS = [
    hit("parking", "Parking", "Visitors can park for free in the garage behind the building."),
    hit(
        "hours",
        "Office Hours",
        "The office is open from 9 a.m. to 5 p.m. on weekdays. It is closed on public holidays.",
        ["Office Hours", "Opening times"],
    ),
]


@pytest.mark.parametrize("template", ["grounded_v1", "grounded_base_v1"])
def test_parses_both_packaged_templates(template: str) -> None:
    rendered = PromptTemplate.load(template).render(
        "When is the office open?", HITS, token_budget=4000
    )
    question, passages = parse_grounded_prompt(rendered.messages)
    assert question == "When is the office open?"
    # the few-shot examples of the base template are skipped: the last context block wins
    assert [p.number for p in passages] == [1, 2]
    assert passages[0].label == "Parking"
    assert passages[1].label == "Office Hours > Opening times"
    assert passages[1].text.startswith("The office is open from 9 a.m.")


@pytest.mark.parametrize("template", ["grounded_v1", "grounded_base_v1"])
def test_answers_with_the_prompt_numbers_and_citations_verify(template: str) -> None:
    embedder = HashEmbedder()
    model = ExtractiveModel(embedder)
    assert isinstance(model, Model)
    rendered = PromptTemplate.load(template).render(
        "When is the office open on weekdays?", HITS, token_budget=4000
    )
    completion = model.complete(rendered.messages)
    assert "The office is open from 9 a.m. to 5 p.m. on weekdays. [2]" in completion.text
    assert "[1]" not in completion.text  # the parking passage says nothing about it
    assert completion.finish_reason == "stop"
    assert completion.cost_usd == 0.0
    assert completion.usage.estimated and completion.usage.prompt_tokens > 0
    cited = verify_citations(completion.text, rendered.included_hits, SupportScorer(embedder))
    assert cited.references[0].chunk_id == "hours"
    assert all(s.citations == [1] for s in cited.sentences)


def test_stream_yields_sentences_then_a_final_delta() -> None:
    model = ExtractiveModel(HashEmbedder())
    rendered = PromptTemplate.load("grounded_v1").render(
        "When is the office open on weekdays?", HITS, token_budget=4000
    )
    deltas = list(model.stream(rendered.messages))
    assert deltas[-1].finish_reason == "stop" and deltas[-1].usage is not None
    text = "".join(d.text for d in deltas)
    assert text == model.complete(rendered.messages).text


def test_abstains_without_numbered_context_or_when_nothing_is_relevant() -> None:
    model = ExtractiveModel(HashEmbedder())
    assert model.complete([Message("user", "Hello there")]).text == ABSTAIN_TEXT
    rendered = PromptTemplate.load("grounded_v1").render(
        "What is the airspeed velocity of an unladen swallow?", HITS, token_budget=4000
    )
    assert model.complete(rendered.messages).text == ABSTAIN_TEXT


def test_one_line_passages_without_a_label() -> None:
    prompt = (
        "Context:\n[1] Cats sleep sixteen hours a day.\n[2] Dogs bark.\n\n"
        "Question: How long do cats sleep?"
    )
    question, passages = parse_grounded_prompt([Message("user", prompt)])
    assert question == "How long do cats sleep?"
    assert [(p.number, p.label, p.text) for p in passages] == [
        (1, "", "Cats sleep sixteen hours a day."),
        (2, "", "Dogs bark."),
    ]


def test_make_model_builds_it_and_loads_the_embedder_lazily() -> None:
    model = make_model("extractive", Settings(embedder="hash"))
    assert model.name == "extractive"
    assert isinstance(model, ExtractiveModel) and model._answerer is None
    prompt = "Context:\n[1] Cats sleep sixteen hours a day.\n\nQuestion: How long do cats sleep?"
    assert model.complete([Message("user", prompt)]).text.endswith("[1]")
