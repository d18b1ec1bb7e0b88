"""The citation post-processor: markers mapped, bad ones dropped, support checked."""

from __future__ import annotations

import pytest

from ragline.answer import SupportScorer, marker_numbers, verify_citations
from ragline.embed import HashEmbedder
from ragline.types import Chunk, Hit

WARRANTY = (
    "Every X200 vacuum cleaner comes with a two-year warranty. The warranty covers the "
    "motor, the battery and the charging dock."
)
SHIPPING = "Standard delivery takes three to five working days within the EU."
RETURNS = "You can return any product within 30 days of delivery for a full refund."


def make_hit(i: int, text: str, title: str) -> Hit:
    chunk = Chunk(
        id=f"c{i}", document_id=f"d{i}", ordinal=0, text=text, title=title, source=f"{title}.md"
    )
    return Hit(chunk, score=1.0 / (i + 1))


HITS = [
    make_hit(0, WARRANTY, "Warranty"),
    make_hit(1, SHIPPING, "Shipping"),
    make_hit(2, RETURNS, "Returns"),
]


@pytest.fixture
def scorer() -> SupportScorer:
    return SupportScorer(HashEmbedder())


@pytest.mark.parametrize(
    ("body", "numbers"),
    [("1", [1]), ("2,3", [2, 3]), ("2, 3 ,2", [2, 3]), ("1-3", [1, 2, 3]), ("1 and 4", [1, 4])],
)
def test_marker_numbers(body: str, numbers: list[int]) -> None:
    assert marker_numbers(body) == numbers


def test_markers_are_mapped_to_references(scorer: SupportScorer) -> None:
    text = (
        "The X200 comes with a two-year warranty [1]. "
        "Standard delivery takes three to five working days [2, 3]. "
        "You can return a product within 30 days [3][1]."
    )
    cited = verify_citations(text, HITS, scorer)
    assert [s.citations for s in cited.sentences] == [[1], [2, 3], [3, 1]]
    assert [r.chunk_id for r in cited.references] == ["c0", "c1", "c2"]
    assert cited.references[1].title == "Shipping" and cited.references[1].source == "Shipping.md"
    assert cited.sentences[0].text == "The X200 comes with a two-year warranty."
    assert cited.text == text.replace("[2, 3]", "[2][3]")
    assert cited.report.dropped_markers == [] and cited.report.unsupported == []


def test_out_of_range_markers_are_dropped_and_remembered(scorer: SupportScorer) -> None:
    text = "The X200 comes with a two-year warranty [1][7]. Delivery takes five days [0]."
    cited = verify_citations(text, HITS, scorer)
    assert sorted(cited.report.dropped_markers) == [0, 7]
    assert "[7]" not in cited.text and "[0]" not in cited.text
    assert cited.text.startswith("The X200 comes with a two-year warranty [1]. Delivery")
    assert cited.sentences[1].text == "Delivery takes five days."
    assert all(n <= len(cited.references) for s in cited.sentences for n in s.citations)


def test_unmarked_well_supported_sentence_is_attributed(scorer: SupportScorer) -> None:
    text = "Standard delivery takes three to five working days within the EU."
    cited = verify_citations(text, HITS, scorer)
    assert cited.report.attributed == [0]
    assert cited.sentences[0].citations == [1]
    assert cited.references[0].chunk_id == "c1"
    assert cited.sentences[0].support >= 0.55


def test_unsupported_sentence_is_flagged(scorer: SupportScorer) -> None:
    text = "The X200 comes with a two-year warranty [1]. Bananas grow on tall green plants."
    cited = verify_citations(text, HITS, scorer)
    assert cited.report.unsupported == [1]
    assert cited.sentences[1].citations == []
    assert cited.sentences[1].support < 0.45 < cited.sentences[0].support
    assert cited.support == pytest.approx(
        (cited.sentences[0].support + cited.sentences[1].support) / 2, abs=1e-3
    )


def test_marker_to_a_chunk_that_does_not_support_the_sentence_is_flagged(
    scorer: SupportScorer,
) -> None:
    text = "Bananas grow on tall green plants [2]. The warranty covers the motor [1][2]."
    cited = verify_citations(text, HITS, scorer)
    assert cited.sentences[0].citations == [1]  # marker kept (renumbered)
    assert cited.report.weak_sentences == [0]
    assert cited.sentences[0].support < 0.45
    # sentence 1 is supported by [1] (old 1) but not by the shipping chunk
    assert 1 not in cited.report.weak_sentences
    assert cited.report.weak_citations == [(0, 1), (1, 1)]


def test_references_are_renumbered_by_first_use(scorer: SupportScorer) -> None:
    text = (
        "You can return a product within 30 days for a full refund [3]. "
        "The X200 has a two-year warranty [1]. Returns get a full refund [3]."
    )
    cited = verify_citations(text, HITS, scorer)
    assert [r.number for r in cited.references] == [1, 2]
    assert [r.chunk_id for r in cited.references] == ["c2", "c0"]
    assert [s.citations for s in cited.sentences] == [[1], [2], [1]]
    assert cited.text == (
        "You can return a product within 30 days for a full refund [1]. "
        "The X200 has a two-year warranty [2]. Returns get a full refund [1]."
    )


def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before(
    scorer: SupportScorer,
) -> None:
    text = "The X200 has a two-year warranty. [1] Delivery takes three to five days. [2]"
    cited = verify_citations(text, HITS, scorer)
    assert [s.text for s in cited.sentences] == [
        "The X200 has a two-year warranty.",
        "Delivery takes three to five days.",
    ]
    assert [s.citations for s in cited.sentences] == [[1], [2]]
    assert cited.report.attributed == []


def test_no_hits_means_every_sentence_is_unsupported(scorer: SupportScorer) -> None:
    cited = verify_citations("Something [1].", [], scorer)
    assert cited.report.dropped_markers == [1] and cited.report.unsupported == [0]
    assert cited.references == [] and cited.support == 0.0


def test_support_scorer_is_deterministic_and_bounded(scorer: SupportScorer) -> None:
    same = scorer.score("The X200 has a two-year warranty.", WARRANTY)
    assert same == SupportScorer(HashEmbedder()).score(
        "The X200 has a two-year warranty.", WARRANTY
    )
    other = scorer.score("The X200 has a two-year warranty.", SHIPPING)
    assert 0.0 <= other < same <= 1.0
    assert scorer.score("", WARRANTY) == 0.0
    matrix = scorer.score_matrix(["a warranty", "delivery days"], [WARRANTY, SHIPPING])
    assert matrix.shape == (2, 2)
    assert matrix[0, 0] > matrix[0, 1] and matrix[1, 1] > matrix[1, 0]
    with pytest.raises(ValueError, match="lexical_weight"):
        SupportScorer(HashEmbedder(), lexical_weight=2.0)


def test_attributed_citation_is_written_into_the_text(scorer: SupportScorer) -> None:
    text = (
        "The X200 comes with a two-year warranty [2]. "
        "Standard delivery takes three to five working days within the EU."
    )
    cited = verify_citations(text, HITS, scorer)
    assert cited.report.attributed == [1]
    n = cited.sentences[1].citations[0]
    assert cited.text.endswith(f"within the EU [{n}].")
    assert cited.text.count("[") == 2  # every sentence carries its marker
