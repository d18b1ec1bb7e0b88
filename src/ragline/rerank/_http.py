"""``HttpReranker``: a rerank server (``retrieval.reranker: http:<URL>``).

Two request shapes, chosen by the URL's path:

- ``…/v1/rerank`` or ``…/v2/rerank`` (Cohere, Jina, vLLM, llama.cpp server):
  ``{"model"?, "query", "documents": [str], "top_n"}``;
- any other path (``/rerank`` of Hugging Face TEI, also served by vLLM and llama.cpp):
  the same, plus ``"texts"`` (TEI's name for the documents).

Replies understood: ``{"results": [{"index", "relevance_score" | "score"}]}`` (Cohere,
Jina, vLLM, llama.cpp) and a bare list ``[{"index", "score"}]`` (TEI). ``top_n`` asks
for every document: a reply with fewer scores than documents, a repeated or
out-of-range index, a non-2xx status, a body that is not that JSON, a refused
connection (:class:`~ragline.errors.RerankerError`) and no reply within
``timeout_ms`` (:class:`~ragline.errors.RerankerTimeout`) are errors the rerank stage
falls back on, with the message (naming the URL) recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ragline._http import LazyClient
from ragline.errors import RerankerError, RerankerTimeout
from ragline.rerank._base import ScoringReranker

if TYPE_CHECKING:
    import httpx


def _openai_style(url: str) -> bool:
    path = urlsplit(url).path.rstrip("/")
    return path.endswith(("/v1/rerank", "/v2/rerank"))


class HttpReranker(ScoringReranker):
    """See the module docstring; ``transport`` is for tests (an ``httpx`` transport)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_ms: float = 2000,
        model: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = f"http:{url}"
        self.url = url
        self.timeout_ms = timeout_ms
        self.model = model
        self._http = LazyClient(timeout_ms / 1000, headers, transport)

    @property
    def client(self) -> httpx.Client:
        return self._http.get()

    def body(self, query: str, texts: Sequence[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query, "documents": list(texts), "top_n": len(texts)}
        if self.model:
            body["model"] = self.model
        if not _openai_style(self.url):
            body["texts"] = list(texts)
        return body

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        import httpx

        try:
            response = self.client.post(self.url, json=self.body(query, texts))
        except httpx.TimeoutException:
            raise RerankerTimeout(
                f"reranker {self.url} did not answer within {self.timeout_ms:g} ms",
                hint="raise retrieval.rerank_timeout_ms or check the server",
            ) from None
        except httpx.HTTPError as e:
            raise RerankerError(
                f"reranker {self.url} could not be reached: {e}", hint="is the server running?"
            ) from None
        if not response.is_success:
            raise RerankerError(
                f"reranker {self.url} answered HTTP {response.status_code}: {response.text[:200]}",
                status_code=response.status_code,
            )
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RerankerError(
                f"reranker {self.url} answered something that is not JSON: {response.text[:80]!r}"
            ) from None
        return parse_reply(self.url, data, len(texts))

    def close(self) -> None:
        self._http.close()


def parse_reply(url: str, data: Any, n: int) -> list[float]:
    """One score per document, in the documents' order, from either reply shape."""
    items = data.get("results") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise RerankerError(
            f"reranker {url} answered JSON without a results list",
            hint='expected {"results": [{"index", "relevance_score"}]} or [{"index", "score"}]',
        )
    scores: dict[int, float] = {}
    for item in items:
        if not isinstance(item, dict):
            raise RerankerError(f"reranker {url} answered a result that is not an object")
        index = item.get("index")
        score = item.get("relevance_score", item.get("score"))
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
            raise RerankerError(f"reranker {url} answered an index out of range: {index!r}")
        if index in scores:
            raise RerankerError(f"reranker {url} answered document {index} twice")
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            raise RerankerError(f"reranker {url} answered a score that is not a number: {score!r}")
        scores[index] = float(score)
    if len(scores) != n:
        raise RerankerError(
            f"reranker {url} returned {len(scores)} scores for {n} documents",
            hint="the server may cap top_n; check its settings",
        )
    return [scores[i] for i in range(n)]
