"""The structure-aware chunker: unit cases and properties (hypothesis)."""

from __future__ import annotations

import hashlib
import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ragline.ingest import (
    LoadedDocument,
    Section,
    chunk_document,
    max_chunk_chars,
    split_spans,
    split_text,
)
from ragline.types import indexed_text


def _sentences(n: int, words: int = 12, tag: str = "w") -> str:
    return " ".join(
        " ".join(f"{tag}{i}x{j}" for j in range(words)).capitalize() + "." for i in range(n)
    )


def test_short_text_is_one_chunk() -> None:
    assert split_text("  Just one line.  \n", 100, 20) == ["Just one line."]


def test_blank_text_gives_no_chunks() -> None:
    assert split_text(" \n\n\t ", 100, 10) == []


def test_prefers_paragraph_breaks() -> None:
    a, b = _sentences(3, tag="a"), _sentences(3, tag="b")
    chunks = split_text(f"{a}\n\n{b}", chunk_size=len(a) + 40, chunk_overlap=0)
    assert chunks == [a, b]


def test_prefers_sentence_ends_over_spaces() -> None:
    text = _sentences(20)
    chunks = split_text(text, chunk_size=300, chunk_overlap=0)
    assert len(chunks) > 3
    assert all(c.endswith(".") for c in chunks)
    assert all(len(c) <= 300 for c in chunks)


def test_overlap_repeats_the_end_of_the_previous_chunk() -> None:
    text = _sentences(30, words=6)
    chunks = split_text(text, chunk_size=200, chunk_overlap=60)
    for prev, nxt in itertools.pairwise(chunks):
        head = nxt.split(" ")[0]
        assert head in prev[-60:], (prev, nxt)


def test_long_word_is_cut_hard() -> None:
    chunks = split_text("x" * 1000, 300, 50)
    assert "".join(chunks).count("x") >= 1000
    assert all(len(c) <= 300 for c in chunks)


def test_tiny_tail_merges_into_previous_chunk() -> None:
    body = _sentences(8, words=8)
    text = body + "\n\nTail."
    size = len(body) + 2  # "Tail." alone would be a tiny last chunk
    assert split_text(text, chunk_size=size, chunk_overlap=0) == [text]
    assert len(text) <= max_chunk_chars(size)
    # a tail that is not tiny stays a chunk of its own
    tail = _sentences(3, tag="t")
    assert split_text(body + "\n\n" + tail, chunk_size=size, chunk_overlap=0) == [body, tail]


def test_chunk_document_keeps_title_sections_pages_and_hashes() -> None:
    doc = LoadedDocument(
        title="Dealer Contract",
        sections=[
            Section([], "Preamble."),
            Section(["1. Payment"], _sentences(10)),
            Section(["1. Payment", "1.1 Late fees"], "Interest is 1% per month.", page=3),
        ],
        metadata={"owner": "legal"},
        doc_type="contract",
    )
    chunks = chunk_document(doc, "legal/contract.docx", chunk_size=200, chunk_overlap=30)
    assert [c.id for c in chunks] == [f"legal/contract.docx#{i}" for i in range(len(chunks))]
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert chunks[0].section_path == [] and chunks[-1].page == 3
    assert len(chunks) > 3
    for c in chunks:
        assert c.title == "Dealer Contract" and c.doc_type == "contract"
        assert c.metadata == {"owner": "legal"}
        assert c.indexed_text.startswith("Dealer Contract")
        assert c.content_hash == hashlib.sha256(c.indexed_text.encode()).hexdigest()
        assert c.indexed_text == indexed_text(c.title, c.section_path, c.text)
    body = [c for c in chunks if c.section_path == ["1. Payment"]]
    assert len(body) > 1
    assert all(c.indexed_text.startswith("Dealer Contract > 1. Payment\n") for c in body)
    # same input → same ids and hashes
    again = chunk_document(doc, "legal/contract.docx", chunk_size=200, chunk_overlap=30)
    assert [(c.id, c.content_hash) for c in again] == [(c.id, c.content_hash) for c in chunks]


# --------------------------------------------------------------------------- properties

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéß0123456789", min_size=1, max_size=25)
_sep = st.sampled_from([" ", " ", " ", ". ", "! ", "\n", "\n\n", ".\n\n", "  \t", ", "])


@st.composite
def _texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(_word, min_size=0, max_size=400))
    out: list[str] = []
    for w in words:
        out.append(w)
        out.append(draw(_sep))
    return "".join(out)


_sizes = st.integers(min_value=30, max_value=400)


@settings(max_examples=150, deadline=None)
@given(text=_texts(), size=_sizes, overlap_frac=st.floats(min_value=0, max_value=0.6))
def test_properties(text: str, size: int, overlap_frac: float) -> None:
    overlap = int(size * overlap_frac)
    spans = split_spans(text, size, overlap)
    chunks = [text[a:b] for a, b in spans]
    # never empty, never padded with whitespace
    assert all(c and c == c.strip() for c in chunks)
    # bounded length
    assert all(len(c) <= max_chunk_chars(size) for c in chunks)
    # order follows the text, and each chunk brings new text
    starts = [a for a, _ in spans]
    ends = [b for _, b in spans]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert ends == sorted(ends) and len(set(ends)) == len(ends)
    # every word (of at most chunk_size chars) appears whole in some chunk
    for m in re.finditer(r"\S+", text):
        if len(m.group()) <= size:
            assert any(a <= m.start() and m.end() <= b for a, b in spans), m.group()
    # no text outside the chunks but whitespace
    covered = [False] * len(text)
    for a, b in spans:
        covered[a:b] = [True] * (b - a)
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))


@settings(max_examples=60, deadline=None)
@given(
    sections=st.lists(st.tuples(st.lists(_word, max_size=3), _texts()), min_size=1, max_size=5),
    size=_sizes,
)
def test_document_chunks_keep_section_order(
    sections: list[tuple[list[str], str]], size: int
) -> None:
    doc = LoadedDocument(title="T", sections=[Section(p, t) for p, t in sections])
    chunks = chunk_document(doc, "d", chunk_size=size, chunk_overlap=size // 5)
    expected = [p for p, t in sections for _ in split_text(t, size, size // 5)]
    assert [c.section_path for c in chunks] == expected
    assert all(c.text.strip() for c in chunks)
