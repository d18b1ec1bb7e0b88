"""A real ``ragline serve`` whose tenants rerank through a real rerank server on
loopback: acme's reranker answers, globex's answers one score short. Both asks are
answered (globex's in the fused order) and ``/metrics`` counts the fallback by reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import ragline
from ragline.testing import ServerProcess

from .rerank_server import RerankServer

ACME_KEY, GLOBEX_KEY = "rl_acme_rerank_key_0001", "rl_globex_rerank_key_0002"
KEYS_ENV = {"ACME_KEYS": ACME_KEY, "GLOBEX_KEYS": GLOBEX_KEY}
DOCS = {
    "acme": {
        "reset.md": "# Passwords\n\nTo reset your password, open settings and choose "
        "'forgot password'. A link arrives by email.\n"
    },
    "globex": {
        "leave.md": "# Leave\n\nGlobex employees get 30 days of paid leave a year "
        "and may carry 5 days over.\n"
    },
}


def acme() -> dict[str, str]:
    return {"Authorization": f"Bearer {ACME_KEY}"}


def globex() -> dict[str, str]:
    return {"Authorization": f"Bearer {GLOBEX_KEY}"}


def make_project(root: Path, config: str) -> Path:
    (root / "ragline.yaml").write_text(config, encoding="utf-8")
    with ragline.Project(root) as project:
        for tenant, docs in DOCS.items():
            folder = root / f"{tenant}-docs"
            folder.mkdir()
            for name, text in docs.items():
                (folder / name).write_text(text, encoding="utf-8")
            project.ingest([folder], tenant=tenant)
    return root


@pytest.fixture(scope="module")
def rerank() -> Iterator[RerankServer]:
    s = RerankServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, rerank: RerankServer
) -> Iterator[ServerProcess]:
    config = f"""\
embedder: hash
tenants:
  acme:
    api_keys_env: ACME_KEYS
    reranker: http:{rerank.base}/cohere/v1/rerank
  globex:
    api_keys_env: GLOBEX_KEYS
    reranker: http:{rerank.base}/short/rerank
"""
    root = make_project(tmp_path_factory.mktemp("rerank-serve"), config)
    with ServerProcess(root, env=KEYS_ENV) as proc:
        yield proc


def fallbacks(server: ServerProcess) -> dict[str, float]:
    text = httpx.get(server.url + "/metrics", timeout=30).text
    return {
        s.labels["reason"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "ragline_rerank_fallbacks_total"
    }


def test_a_reranked_ask_and_a_fallen_back_one_are_both_answered(
    server: ServerProcess, rerank: RerankServer
) -> None:
    before = len(rerank.requests)
    ok = httpx.post(
        server.url + "/v1/ask",
        json={"question": "How do I reset my password?"},
        headers=acme(),
        timeout=60,
    )
    assert ok.status_code == 200, ok.text
    assert len(rerank.requests) == before + 1
    assert fallbacks(server).get("rerank.error", 0) == 0
    short = httpx.post(
        server.url + "/v1/ask",
        json={"question": "How many days of paid leave?"},
        headers=globex(),
        timeout=60,
    )
    assert short.status_code == 200, short.text
    assert "30 days" in short.json()["text"]
    assert fallbacks(server) == {"rerank.error": 1}
