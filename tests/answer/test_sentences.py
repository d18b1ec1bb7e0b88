"""Sentence splitting: abbreviations, decimals, list items, headings, wrapped lines."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ragline.answer import segments, split_sentences


def test_plain_sentences() -> None:
    assert split_sentences("One here. Two there! Three? Four.") == [
        "One here.",
        "Two there!",
        "Three?",
        "Four.",
    ]


def test_abbreviations_initials_and_decimals_do_not_split() -> None:
    text = (
        "Dr. Smith of Acme Inc. approved it on Jan. 5 (see Fig. 3). "
        "J. R. R. Tolkien wrote e.g. novels. The U.S. Army paid 2.5 million. "
        "Version v2.1 is out."
    )
    assert split_sentences(text) == [
        "Dr. Smith of Acme Inc. approved it on Jan. 5 (see Fig. 3).",
        "J. R. R. Tolkien wrote e.g. novels.",
        "The U.S. Army paid 2.5 million.",
        "Version v2.1 is out.",
    ]


def test_time_abbreviation_can_end_a_sentence() -> None:
    assert split_sentences("Order before 2 p.m. Orders ship daily.") == [
        "Order before 2 p.m.",
        "Orders ship daily.",
    ]


def test_lowercase_after_a_period_is_not_a_new_sentence() -> None:
    assert split_sentences("It costs approx. five euros. Done.") == [
        "It costs approx. five euros.",
        "Done.",
    ]


def test_quotes_and_brackets_close_a_sentence() -> None:
    assert split_sentences('He said "stop." Then he left. (It rained.) Fine.') == [
        'He said "stop."',
        "Then he left.",
        "(It rained.)",
        "Fine.",
    ]


def test_segments_headings_items_and_wrapped_lines() -> None:
    text = (
        "# Warranty\n\n"
        "The warranty lasts\ntwo years. Claims take 2.5 days.\n\n"
        "What you need\n"
        "- The order number.\n"
        "* A photo. Or a video.\n"
        "1. Step one\n"
        "2) Step two\n\n"
        "---\n"
        "Last line without a stop"
    )
    got = [(s.kind, s.text) for s in segments(text)]
    assert got == [
        ("heading", "Warranty"),
        ("sentence", "The warranty lasts two years."),
        ("sentence", "Claims take 2.5 days."),
        ("heading", "What you need"),
        ("item", "The order number."),
        ("item", "A photo."),
        ("item", "Or a video."),
        ("item", "Step one"),
        ("item", "Step two"),
        ("sentence", "Last line without a stop"),
    ]
    assert [s.position for s in segments(text)] == list(range(len(got)))


def test_a_list_item_wrapped_over_lines_stays_one_item() -> None:
    text = (
        "## Coverage periods\n\n"
        "- Frame: the frame is covered against defects in materials and workmanship for\n"
        "  10 years for the original owner.\n"
        "- Paint: covered for 2 years. Scratches are\n"
        "not covered.\n\n"
        "After the list."
    )
    assert [(s.kind, s.text) for s in segments(text)] == [
        ("heading", "Coverage periods"),
        (
            "item",
            "Frame: the frame is covered against defects in materials and workmanship for "
            "10 years for the original owner.",
        ),
        ("item", "Paint: covered for 2 years."),
        ("item", "Scratches are not covered."),
        ("sentence", "After the list."),
    ]


def test_empty_text() -> None:
    assert segments("") == [] and split_sentences("  \n ") == []


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_every_segment_is_normalised_text_from_the_input(text: str) -> None:
    squashed = " ".join(text.split())
    for seg in segments(text):
        assert seg.text and seg.text == " ".join(seg.text.split())
        assert seg.text in squashed
