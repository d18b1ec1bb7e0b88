"""What a question asks for: key terms and answer type (ragline.answer._intent)."""

from __future__ import annotations

import pytest

from ragline.answer._intent import question_intent


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("Who is Helio's CFO?", "Marit de Vries, Chief Executive Officer"),
        ("Who is the chief financial officer?", "Marit de Vries is the CEO of Helio."),
        ("What is the net profit?", "Gross profit was EUR 18.6 million."),
        ("What was the operating profit?", "Net income was EUR 3.2 million."),
        ("What was the gross margin?", "Gross profit was EUR 18.6 million."),
        ("What was the revenue in 2025?", "Net income was EUR 3.2 million in 2025."),
        ("What was Helio's revenue in 2019?", "Revenue was EUR 48.6 million in 2025."),
        ("How many bikes were sold?", "Helio sells bikes through dealers across Europe."),
        ("¿Quién es el director financiero?", "Marit de Vries es la directora ejecutiva."),
        ("¿Cuál fue el beneficio neto?", "El beneficio bruto fue de 18,6 millones de euros."),
        ("How tall is the frame in cm?", "The frame is 52 inches tall."),
    ],
)
def test_a_sentence_that_answers_another_question_is_not_quotable(
    question: str, sentence: str
) -> None:
    intent = question_intent(question)
    assert not intent.accepts(sentence), intent.key_terms


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("Who is Helio's CFO?", "Anna Jansen joined as chief financial officer in May."),
        ("Who is the CEO?", "Marit de Vries, Chief Executive Officer"),
        ("What is the net profit?", "Net income: EUR 3.2 million (2024: EUR 1.4 million)."),
        ("What were net sales?", "Revenue: EUR 48.6 million."),
        ("What was the gross margin?", "The gross margin improved to 38.2% in 2025."),
        ("How many bikes were sold in 2025?", "Helio sold 14,300 bikes in 2025."),
        ("How long is the warranty?", "The battery warranty lasts two years."),
        ("When was Helio founded?", "Helio Cycles B.V. was founded in 2016 in Utrecht."),
        ("Does Helio ship to Norway?", "We ship to every EU country and Norway."),
        ("¿Cuál fue el beneficio neto?", "El beneficio neto fue de 3,2 millones de euros."),
        ("How tall is the frame in cm?", "The M frame fits riders of 168–182 cm."),
    ],
)
def test_a_sentence_with_the_key_terms_and_answer_type_is_quotable(
    question: str, sentence: str
) -> None:
    intent = question_intent(question)
    assert intent.accepts(sentence), intent.missing(sentence)


def test_a_year_in_the_heading_is_the_sentences_period() -> None:
    intent = question_intent("What was the revenue in 2025?")
    sentence = "Revenue: EUR 48.6 million (2024: EUR 41.2 million), +18.0%."
    assert intent.missing(sentence) == ["year:2025"]
    assert intent.accepts(sentence, "Helio Cycles Annual Report FY2025 · Highlights of 2025")


def test_who_and_when_are_detected_but_not_enforced() -> None:
    who = question_intent("Who founded the company?")
    sentence = "The company was founded to make cycling easier."
    assert not who.has_type(sentence) and who.accepts(sentence)
    when = question_intent("When was Helio founded?")
    assert not when.has_type("Helio was founded by an engineer.")
    assert when.has_type("Helio was founded in 2016.")


def test_answer_types_and_numbers() -> None:
    assert question_intent("Who is the CFO?").answer_type == "person"
    assert question_intent("How much does shipping cost?").answer_type == "number"
    assert question_intent("¿Cuándo se fundó Helio?").answer_type == "date"
    assert question_intent("Can I return a bike?").answer_type == "yes_no"
    assert question_intent("What size frame if I am 180 cm?").numbers == (180.0,)
    assert question_intent("What was revenue in 2025?").numbers == ()  # a year is no size


def test_only_finance_and_year_questions_ask_for_a_period() -> None:
    assert question_intent("What is the net profit?").periodic
    assert question_intent("How many bikes were sold in 2025?").periodic
    assert not question_intent("How much does the Helio Aero cost?").periodic


def test_a_finance_measure_in_the_heading_counts_unless_the_sentence_names_another() -> None:
    intent = question_intent("How much revenue did Helio earn in Germany in 2025?")
    heading = "Annual Report FY2025 · Revenue by region"
    assert intent.accepts("Germany contributed EUR 13.6 million.", heading)
    assert not intent.accepts("Germany contributed EUR 13.6 million.", "Annual Report FY2025")
    net = question_intent("What is the net profit?")
    assert not net.accepts("Gross profit was EUR 18.6 million.", "Net income and margins")


@pytest.mark.parametrize(
    "sentence",
    ["Cats sleep sixteen hours a day.", "It takes forty minutes.", "Tarda quince días."],
)
def test_numbers_written_as_words_are_numbers(sentence: str) -> None:
    assert question_intent("How long does it take?").has_type(sentence)


def test_a_follow_up_rewritten_with_its_context_takes_the_type_of_its_last_question() -> None:
    # "How long …?" asks for a number; the follow-up it was glued to asks yes or no
    assert question_intent("How long is the battery warranty?").answer_type == "number"
    follow_up = question_intent("How long is the battery warranty? Does it cover tyres?")
    assert follow_up.answer_type == "yes_no"
    assert follow_up.accepts("The warranty does not cover wear parts such as tyres.")
