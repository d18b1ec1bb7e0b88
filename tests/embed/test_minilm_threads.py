"""The bundled MiniLM called from many threads at once, as the server's thread pool does."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ragline.embed import MiniLMEmbedder

pytestmark = pytest.mark.slow

TEXTS = [
    "How do I reset my password?",
    "Vitamin D supplementation did not reduce fractures in older adults.",
    "The warranty covers the motor, the battery and the charging dock.",
    "Express delivery arrives the next working day.",
    "El gato duerme en el sofá.",
    "Quarterly revenue grew by twelve percent.",
]


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_concurrent_calls_give_the_serial_vectors(
    backend: str, request: pytest.FixtureRequest
) -> None:
    embedder: MiniLMEmbedder = request.getfixturevalue(f"{backend}_embedder")
    expected = {t: embedder.embed_query(t) for t in TEXTS}
    pair = embedder.embed_documents(TEXTS[:2])
    failures: list[str] = []

    def worker(offset: int) -> None:
        for i in range(12):
            text = TEXTS[(offset + i) % len(TEXTS)]
            if not np.allclose(embedder.embed_query(text), expected[text], atol=1e-5):
                failures.append(text)
            if i % 4 == 0 and not np.allclose(embedder.embed_documents(TEXTS[:2]), pair, atol=1e-5):
                failures.append("batch")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert failures == []
