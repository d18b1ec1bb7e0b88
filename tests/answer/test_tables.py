"""Tables in chunk text answered row by row (ragline.answer._tables and the answerer)."""

from __future__ import annotations

from ragline.answer._sentence_vectors import sentence_candidates
from ragline.answer._tables import Table, row_matches, split_tables

HTML_TABLE = (
    "Choose your frame size by your height.\n"
    "Frame size | Rider height | Inseam\n"
    "S | 155–170 cm | 70–78 cm\n"
    "M | 168–182 cm | 77–85 cm\n"
    "L | 180–198 cm | 84–94 cm\n"
    "Between two sizes, choose the smaller one."
)
MARKDOWN_TABLE = "| Plan | Price |\n|---|---:|\n| Basic | 9 EUR |\n| Pro | 29 EUR |\n"


def test_html_and_docx_pipe_rows_become_one_segment_per_row_with_headers() -> None:
    segs = [seg for seg, _ in sentence_candidates(HTML_TABLE, min_words=3)]
    texts = [s.text for s in segs]
    assert texts == [
        "Choose your frame size by your height.",
        "Frame size: S; Rider height: 155–170 cm; Inseam: 70–78 cm.",
        "Frame size: M; Rider height: 168–182 cm; Inseam: 77–85 cm.",
        "Frame size: L; Rider height: 180–198 cm; Inseam: 84–94 cm.",
        "Between two sizes, choose the smaller one.",
    ]
    assert [s.kind for s in segs][1:4] == ["row", "row", "row"]
    assert [s.position for s in segs] == list(range(5))


def test_markdown_tables_skip_the_rule_line() -> None:
    parts = split_tables(MARKDOWN_TABLE)
    assert parts == [Table(("Plan", "Price"), (("Basic", "9 EUR"), ("Pro", "29 EUR")))]


def test_a_line_with_one_pipe_is_not_a_table() -> None:
    text = "Use the A | B switch to change mode.\nThen press start."
    assert [s.text for s, _ in sentence_candidates(text, min_words=3)] == [
        "Use the A | B switch to change mode.",
        "Then press start.",
    ]


def test_row_matches_the_range_that_holds_the_number() -> None:
    assert row_matches("Rider height: 168–182 cm", (180.0,)) is True
    assert row_matches("Rider height: 155–170 cm", (180.0,)) is False
    assert row_matches("Rider height: 155 to 170 cm", (160.0,)) is True
    assert row_matches("Frame size: S", (180.0,)) is None  # no range: no verdict


def test_a_figure_without_its_period_gets_the_heading_that_names_it() -> None:
    from ragline.answer._extractive import with_period
    from ragline.types import Chunk

    chunk = Chunk(
        id="report#2",
        document_id="report",
        ordinal=2,
        text="- Net income: EUR 3.2 million (2024: EUR 1.4 million).",
        title="Annual Report FY2025",
        section_path=["Highlights of 2025"],
    )
    quoted = "Net income: EUR 3.2 million (2024: EUR 1.4 million)."
    assert with_period(quoted, chunk) == "Highlights of 2025 — " + quoted
    chunk.section_path = []
    assert with_period(quoted, chunk) == "Annual Report FY2025 — " + quoted
    # a sentence that names its period, or has no figure, is left as it is
    named = "Net income was EUR 3.2 million in 2025."
    assert with_period(named, chunk) == named
    assert with_period("Helio makes e-bikes.", chunk) == "Helio makes e-bikes."
