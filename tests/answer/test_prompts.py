"""Versioned prompt templates: numbering, token budget, versions, base-model template."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.answer import ABSTAIN_TEXT, PromptTemplate
from ragline.errors import InputError
from ragline.types import Chunk, Hit


def hit(i: int, text: str, *, title: str = "Doc", section: list[str] | None = None) -> Hit:
    chunk = Chunk(
        id=f"c{i}",
        document_id=f"d{i}",
        ordinal=0,
        text=text,
        title=title,
        section_path=section or [],
        page=i if i % 2 else None,
    )
    return Hit(chunk, score=1.0 / (i + 1))


HITS = [
    hit(0, "The X200 has a two-year warranty.", title="Warranty", section=["Warranty", "Terms"]),
    hit(1, "Standard delivery takes three to five working days.", title="Shipping"),
    hit(2, "Returns are accepted within 30 days of delivery.", title="Returns"),
]


def test_packaged_template_renders_numbered_chunks_and_question() -> None:
    template = PromptTemplate.load("grounded_v1")
    rendered = template.render("How long is the warranty?", HITS, token_budget=3000)
    assert template.kind == "chat"
    assert [m.role for m in rendered.messages] == ["system", "user"]
    assert ABSTAIN_TEXT in rendered.messages[0].content
    user = rendered.messages[1].content
    assert user == (
        "Context:\n"
        "[1] Warranty > Terms\nThe X200 has a two-year warranty.\n\n"
        "[2] Shipping (page 1)\nStandard delivery takes three to five working days.\n\n"
        "[3] Returns\nReturns are accepted within 30 days of delivery.\n\n"
        "Question: How long is the warranty?"
    )
    assert rendered.included_hits == HITS and rendered.dropped_hits == []
    assert rendered.version == template.version and len(template.version) == 12
    assert "[user]" in rendered.text and "Question: How long" in rendered.text


def test_budget_drops_lowest_ranked_chunks_first_and_keeps_the_question() -> None:
    template = PromptTemplate.load("grounded_v1")
    full = template.render("How long is the warranty?", HITS, token_budget=10_000).tokens
    rendered = template.render("How long is the warranty?", HITS, token_budget=full - 1)
    assert rendered.included_hits == HITS[:2]
    assert rendered.dropped_hits == HITS[2:]
    assert rendered.tokens <= full - 1
    user = rendered.messages[-1].content
    assert "Question: How long is the warranty?" in user
    assert "[2] Shipping" in user and "Returns are accepted" not in user


def test_budget_counts_with_a_custom_counter() -> None:
    template = PromptTemplate.load("grounded_v1")

    def count_words(text: str) -> int:
        return len(text.split())

    one = template.render("Warranty?", HITS[:1], token_budget=10_000, count_tokens=count_words)
    rendered = template.render("Warranty?", HITS, token_budget=one.tokens, count_tokens=count_words)
    assert rendered.included_hits == HITS[:1] and rendered.dropped_hits == HITS[1:]
    assert rendered.tokens == one.tokens


def test_a_budget_with_room_for_no_chunk_keeps_the_question() -> None:
    template = PromptTemplate.load("grounded_v1")
    bare = template.render("Warranty?", [], token_budget=10_000)
    rendered = template.render("Warranty?", HITS, token_budget=bare.tokens)
    assert rendered.included_hits == [] and rendered.dropped_hits == HITS
    assert rendered.messages[-1].content.endswith("Question: Warranty?")


def test_budget_smaller_than_question_and_instructions_is_a_clear_error() -> None:
    template = PromptTemplate.load("grounded_v1")
    with pytest.raises(InputError, match="question and the prompt instructions alone"):
        template.render("How long is the warranty?", HITS, token_budget=20)


def test_duplicate_chunks_are_numbered_once() -> None:
    rendered = PromptTemplate.load("grounded_v1").render("q?", [*HITS, HITS[0]], token_budget=999)
    assert [h.chunk.id for h in rendered.included_hits] == ["c0", "c1", "c2"]


def test_version_is_the_content_hash_and_changes_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("=== user ===\n{context}\n\nQ: {question}\n", encoding="utf-8")
    first = PromptTemplate.load(path)
    assert PromptTemplate.load(path).version == first.version
    path.write_text("=== user ===\n{context}\n\nQuestion: {question}\n", encoding="utf-8")
    second = PromptTemplate.load(path)
    assert second.version != first.version
    rendered = second.render("Why {context}?", HITS[:1], token_budget=999)
    assert [m.role for m in rendered.messages] == ["user"]
    assert rendered.messages[0].content.endswith("Question: Why {context}?")


def test_base_model_template_has_examples_and_stop_sequences() -> None:
    template = PromptTemplate.load("grounded_base_v1")
    assert template.kind == "completion"
    assert "\nQuestion:" in template.stop and "\n\n" in template.stop
    rendered = template.render("When do returns close?", HITS, token_budget=3000)
    assert len(rendered.messages) == 1
    prompt = rendered.messages[0].content
    assert prompt.count("Question:") == 3  # two examples and the real one
    assert prompt.endswith("Question: When do returns close?\nAnswer:")
    assert "[3] Returns\nReturns are accepted" in prompt
    assert rendered.stop == template.stop


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("no sections here {context} {question}", "no '=== section ==='"),
        ("=== user ===\nonly {question}\n", "must contain"),
        ("=== user ===\n{context}{question}\n=== prompt ===\n{context}{question}", "not both"),
        ("=== weird ===\n{context}{question}", "unknown section"),
    ],
)
def test_malformed_templates_are_rejected(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        PromptTemplate.load(path)


def test_unknown_template_name_lists_the_packaged_ones() -> None:
    with pytest.raises(InputError, match="grounded_v1"):
        PromptTemplate.load("no_such_template")
    with pytest.raises(InputError, match="does not exist"):
        PromptTemplate.load("/nonexistent/prompt.txt")
