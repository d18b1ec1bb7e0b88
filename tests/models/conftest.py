"""Model tests never reach a real provider: the block switch is on for every test
(tests that start their own loopback server opt out explicitly)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.testing._models import block_real_requests

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _block_real_model_requests() -> Iterator[None]:
    with block_real_requests():
        yield


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")
