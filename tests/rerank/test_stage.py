"""The rerank stage in a real project: config, per tenant, the span, the fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ragline
from ragline.errors import ConfigError, RerankerError
from ragline.testing import HashEmbedder

from .rerank_server import RerankServer, word_score

# the keyword leg ranks the "warranty" chunks first; the server ranks by query words
DOCS = {
    f"doc{i}.md": f"# Doc {i}\n\nThe warranty note number {i} says little of use here.\n"
    for i in range(6)
} | {
    # many of the question's words, none of them rare: the server puts it first
    "common.md": "# Notes\n\nHow is the on the how is the on the how is the on the long.\n",
    "answer.md": "# Frame\n\nHow long is the frame covered? The frame is covered for ten "
    "years, how long is long enough.\n",
}
QUESTION = "How long is the warranty on the frame covered?"


@pytest.fixture(scope="module")
def server() -> Iterator[RerankServer]:
    s = RerankServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kb")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (root / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    with ragline.Project(root, embedder=HashEmbedder()) as p:
        p.ingest([docs])
    return root


def project(kb: Path, **overrides: Any) -> ragline.Project:
    return ragline.Project(kb, embedder=HashEmbedder(), overrides=overrides)


def rerank_span(p: ragline.Project, answer: ragline.Answer) -> dict[str, Any]:
    assert answer.trace_id
    p.parts.tracer.flush()
    (span,) = [s for s in p.get_trace(answer.trace_id) if s.name == "ragline.rerank"]
    return dict(span.attributes)


def test_off_by_default_nothing_changes_and_nothing_is_traced(kb: Path) -> None:
    with project(kb) as p:
        assert p.settings.retrieval.reranker == "none"
        fused = [h.chunk.id for h in p.search(QUESTION, k=3)]
        answer = p.ask(QUESTION, k=3)
        assert [h.chunk.id for h in answer.hits] == fused
        p.parts.tracer.flush()
        assert "ragline.rerank" not in {s.name for s in p.get_trace(answer.trace_id or "")}


def test_http_reranker_reorders_the_candidates_and_keeps_k(kb: Path, server: RerankServer) -> None:
    with project(kb) as p:
        fused = [h.chunk.id for h in p.search(QUESTION, k=8)]
    url = f"{server.base}/cohere/v1/rerank"
    settings = {"retrieval.reranker": f"http:{url}", "retrieval.rerank_candidates": 8}
    with project(kb, **settings) as p:
        answer = p.ask(QUESTION, k=3)
        assert len(answer.hits) == 3
        _, body = server.requests[-1]
        scores = [word_score(QUESTION, d) for d in body["documents"]]
        expected = sorted(range(8), key=lambda i: -scores[i])[:3]  # the server's order
        assert [h.chunk.id for h in answer.hits] == [fused[i] for i in expected]
        assert [h.ranks["rerank"] for h in answer.hits] == [1, 2, 3]
        assert [h.scores["rerank"] for h in answer.hits] == [scores[i] for i in expected]
        assert expected != [0, 1, 2], "this question's fused order is not the server's"
        _, body = server.requests[-1]
        assert len(body["documents"]) == 8, "all the candidates were scored, not only k"
        attrs = rerank_span(p, answer)
        assert attrs["ragline.rerank.reranker"] == f"http:{url}"
        assert attrs["ragline.rerank.candidates"] == 8
        assert attrs["ragline.rerank.fallback"] is False
        assert any(m["to"] == 1 for m in attrs["ragline.rerank.moved"])
        assert "rerank" in p.retrieve(QUESTION).timings_ms


@pytest.mark.parametrize(
    ("mode", "reason", "words"),
    [
        ("short", "rerank.error", "returned 7 scores for 8 documents"),
        ("stall", "rerank.timeout", "did not answer within"),
        ("error500", "rerank.error", "HTTP 500"),
        ("badjson", "rerank.error", "not JSON"),
    ],
)
def test_a_failing_reranker_falls_back_to_the_fused_order_and_says_why(
    kb: Path, server: RerankServer, mode: str, reason: str, words: str
) -> None:
    with project(kb) as p:
        fused = [h.chunk.id for h in p.search(QUESTION, k=3)]
    settings = {
        "retrieval.reranker": f"http:{server.base}/{mode}/rerank",
        "retrieval.rerank_candidates": 8,
        "retrieval.rerank_timeout_ms": 300,
    }
    with project(kb, **settings) as p:
        answer = p.ask(QUESTION, k=3)
        assert [h.chunk.id for h in answer.hits] == fused, "the fused order, nothing lost"
        assert answer.text
        attrs = rerank_span(p, answer)
        assert attrs["ragline.rerank.fallback"] is True
        assert attrs["ragline.rerank.fallback_reason"] == reason
        assert words in attrs["ragline.rerank.error"]
        stage = next(s for s in p.parts.view().pipeline.stages if s.name == "rerank")
        assert stage.fallbacks == {reason: 1}  # type: ignore[attr-defined]


def test_on_error_fail_fails_the_ask(kb: Path, server: RerankServer) -> None:
    settings = {
        "retrieval.reranker": f"http:{server.base}/short/rerank",
        "retrieval.rerank_on_error": "fail",
    }
    with project(kb, **settings) as p, pytest.raises(RerankerError, match="scores for"):
        p.ask(QUESTION)


def test_a_tenant_has_its_own_reranker(kb: Path, server: RerankServer, tmp_path: Path) -> None:
    url = f"{server.base}/cohere/rerank"
    with project(kb, **{"tenants": {"beta": {"reranker": f"http:{url}"}}}) as p:
        assert p.parts.view("beta").reranker is not None
        assert p.parts.view("beta").settings.retrieval.reranker == f"http:{url}"
        assert p.parts.view().reranker is None
        before = len(server.requests)
        p.search(QUESTION)
        assert len(server.requests) == before, "the default tenant does not rerank"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("bogus", "unknown retrieval.reranker 'bogus'"),
        ("http:ftp://x", "is not an http(s) URL"),
        ("cross-encoder:no/such/folder", "does not exist"),
        ("llm:nosuch:model", "nosuch"),
    ],
)
def test_a_bad_spec_fails_at_start_up_naming_it(kb: Path, spec: str, words: str) -> None:
    with pytest.raises(ConfigError) as e:
        ragline.Project(kb, embedder=HashEmbedder(), overrides={"retrieval.reranker": spec})
    assert words in str(e.value)


def test_set_reaches_the_reranker_like_any_setting(kb: Path) -> None:
    from ragline.cli._eval_run import _parse_sets
    from ragline.config import load_settings

    sets = _parse_sets(["retrieval.reranker=http:http://127.0.0.1:9/v1/rerank"])
    s = load_settings(kb, overrides=sets)
    assert s.retrieval.reranker == "http:http://127.0.0.1:9/v1/rerank"
    with pytest.raises(ConfigError, match="rerank_on_error"):
        load_settings(kb, overrides={"retrieval.rerank_on_error": "ignore"})


def test_the_cli_says_what_is_wrong_with_a_reranker_folder_on_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nretrieval:\n  reranker: cross-encoder:models/missing\n", encoding="utf-8"
    )
    src = str(Path(ragline.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(tmp_path), "search", "warranty"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"{tmp_path / 'models' / 'missing'} does not exist" in lines[0]


class _Duplicating:
    """A broken reranker: it answers its best hit twice and drops one."""

    name = "custom:duplicating"

    def rerank(self, query: str, hits: Any, *, top_n: int | None = None) -> list[Any]:
        return [hits[0], *hits[:-1]]


class _Raising:
    name = "custom:raising"

    def rerank(self, query: str, hits: Any, *, top_n: int | None = None) -> list[Any]:
        raise KeyError("a bug in the reranker")


@pytest.mark.parametrize(
    ("reranker", "words"),
    [(_Duplicating(), "did not return the hits it got"), (_Raising(), "a bug in the reranker")],
)
def test_a_reranker_that_breaks_its_contract_falls_back_too(
    kb: Path, server: RerankServer, reranker: Any, words: str
) -> None:
    with project(kb) as p:
        fused = [h.chunk.id for h in p.search(QUESTION, k=4)]
    settings = {"retrieval.reranker": f"http:{server.base}/cohere/rerank"}
    with project(kb, **settings) as p:
        view = p.parts.view()
        view._reranker = reranker
        view._pipeline = None
        answer = p.ask(QUESTION, k=4)
        assert [h.chunk.id for h in answer.hits] == fused
        attrs = rerank_span(p, answer)
        assert attrs["ragline.rerank.fallback_reason"] == "rerank.error"
        assert words in attrs["ragline.rerank.error"]
        assert p.parts.rerank_fallbacks() == {"rerank.error": 1}
