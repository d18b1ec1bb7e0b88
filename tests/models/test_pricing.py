"""Price table, config overrides and cost."""

from __future__ import annotations

import logging

import pytest

from ragline.config import ModelSettings
from ragline.models import PRICES, Price, Usage, cost_usd, price_for


@pytest.mark.parametrize(
    ("spec", "price"),
    [
        ("openai:gpt-4o", Price(2.50, 10.00)),
        ("openai:gpt-4o-mini", Price(0.15, 0.60)),
        ("openai:gpt-4o-mini-2024-07-18", Price(0.15, 0.60)),
        ("openai:gpt-4.1", Price(2.00, 8.00)),
        ("openai:gpt-4.1-mini", Price(0.40, 1.60)),
        ("anthropic:claude-3-5-sonnet-20241022", Price(3.00, 15.00)),
        ("anthropic:claude-3-5-haiku-latest", Price(0.80, 4.00)),
        ("anthropic:claude-sonnet-4-20250514", Price(3.00, 15.00)),
        ("anthropic:claude-sonnet-4-0", Price(3.00, 15.00)),
        ("local", Price(0.0, 0.0)),
        ("extractive", Price(0.0, 0.0)),
    ],
)
def test_known_prices(spec: str, price: Price) -> None:
    assert price_for(spec) == price


def test_unknown_model_has_no_price_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ragline.models"):
        assert price_for("openai:my-finetune") is None
        assert price_for("openai:gpt-4o-audio-preview") is None  # not gpt-4o's price
    assert "no price known for openai:my-finetune" in caplog.text
    assert "price_input_per_mtok" in caplog.text
    assert cost_usd(Usage(100, 100), None) is None


def test_overrides_win_and_fill_in_the_other_half() -> None:
    both = ModelSettings(price_input_per_mtok=1.0, price_output_per_mtok=2.0)
    assert price_for("openai:gpt-4o", both) == Price(1.0, 2.0)
    assert price_for("openai:my-model", both) == Price(1.0, 2.0)
    half = ModelSettings(price_input_per_mtok=1.0)
    assert price_for("openai:gpt-4o", half) == Price(1.0, 10.0)
    assert price_for("openai:unknown", half) == Price(1.0, 0.0)


def test_cost() -> None:
    assert cost_usd(Usage(1_000_000, 500_000), Price(2.5, 10.0)) == pytest.approx(7.5)
    assert cost_usd(Usage(123, 45), Price(0.0, 0.0)) == 0.0


def test_table_is_sane() -> None:
    assert all(
        p.input_per_mtok > 0 and p.output_per_mtok >= p.input_per_mtok for p in PRICES.values()
    )
