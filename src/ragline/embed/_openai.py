"""Embeddings from any OpenAI-compatible ``/embeddings`` endpoint.

Works with OpenAI itself and with local servers that speak the same API (vLLM,
Ollama, llama.cpp server, TGI…). Texts are sent in batches; each response is put back
in input order by its ``index`` field and every vector is L2-normalised.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import httpx
import numpy as np
import numpy.typing as npt

from ragline.errors import ConfigError, ProviderError
from ragline.models._guard import check_allowed
from ragline.models._http import (
    acquire_client,
    error_for_status,
    provider_message,
    release_client,
)

PROVIDER = "openai"
_PROBE = "dimension probe"


def _needs_key(base_url: str) -> bool:
    """OpenAI's own API needs a key; a self-hosted compatible server may not."""
    host = (urlparse(base_url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".openai.com")


class OpenAIEmbedder:
    """An ``Embedder`` backed by ``POST {base_url}/embeddings``.

    ``dimension`` is learned from the first response when not given. The API key is
    read from the environment variable ``api_key_env``; servers other than
    api.openai.com may run without one.
    """

    #: a query is embedded like a document (see ragline.embed._memo)
    symmetric = True

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60,
        batch_size: int = 128,
        dimension: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not model:
            raise ConfigError("the embedding model name is empty", hint="e.g. openai:<model>")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"embedding base_url {base_url!r} is not an http(s) URL",
                hint="e.g. https://api.openai.com/v1 or http://localhost:11434/v1",
            )
        if batch_size < 1:
            raise ConfigError("embedding batch_size must be at least 1")
        if dimension is not None and dimension < 1:
            raise ConfigError("embedding dimension must be at least 1")
        key = os.environ.get(api_key_env, "")
        if not key and _needs_key(base_url):
            raise ConfigError(
                f"no API key for {base_url}: the environment variable {api_key_env} is not set",
                hint=f"export {api_key_env}=<your key>, or set embedding.api_key_env "
                "to the variable that holds it",
            )
        self.model = model
        self.name = f"openai:{model}"
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.batch_size = batch_size
        self._dimension = dimension
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        # One client per server and key, shared with the chat model of the same
        # OpenAI-compatible server (see ragline.models._http.acquire_client).
        self._transport = transport
        self._client = acquire_client(self.base_url, headers, transport)
        self._released = False

    def __repr__(self) -> str:
        return f"OpenAIEmbedder({self.model!r}, base_url={self.base_url!r})"

    @property
    def dimension(self) -> int:
        """The vector size; asks the server once if it was not given."""
        if self._dimension is None:
            self._request([_PROBE])
        assert self._dimension is not None
        return self._dimension

    @dimension.setter
    def dimension(self, value: int) -> None:
        self._dimension = value

    def close(self) -> None:
        """Give the shared HTTP client back (idempotent)."""
        if not self._released:
            self._released = True
            release_client(self._client)

    def __enter__(self) -> OpenAIEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, texts: list[str]) -> httpx.Response:
        url = f"{self.base_url}/embeddings"
        check_allowed(self.name, url, self._transport)
        try:
            return self._client.post(
                url, json={"model": self.model, "input": texts}, timeout=self.timeout_s
            )
        except httpx.HTTPError as e:
            raise self._transport_error(e, url) from e

    def _transport_error(self, error: httpx.HTTPError, url: str) -> ProviderError:
        if isinstance(error, httpx.TimeoutException):
            message = f"embeddings request to {url} timed out after {self.timeout_s:g}s"
            hint = "raise embedding.timeout_s or lower the batch size; is the server overloaded?"
        elif isinstance(error, httpx.ConnectError):
            message = f"cannot connect to the embeddings server at {self.base_url}: {error}"
            hint = "is the server running? check embedding.base_url"
        else:
            message = f"embeddings request to {url} failed: {error}"
            hint = "check embedding.base_url and the network"
        return ProviderError(message, provider=PROVIDER, hint=hint)

    def _request(self, texts: list[str]) -> npt.NDArray[np.float32]:
        # The API rejects empty strings; a blank text embeds as a single space.
        response = self._post([t if t.strip() else " " for t in texts])
        if response.status_code >= 400:
            code = response.status_code
            hints = {
                401: f"check the API key in {self.api_key_env}",
                403: f"check the API key in {self.api_key_env} and its permissions",
                404: f"check the model name {self.model!r} and that base_url ends in /v1",
                429: "rate limited or out of quota: wait, or lower the batch size",
            }
            hint = hints.get(code, "the server failed; try again later" if code >= 500 else None)
            # The same typed error (RateLimitError, ProviderUnavailable, …) as a chat
            # call, with the embedding settings named in the message and hint.
            typed = error_for_status(response, spec=self.name, key_env=self.api_key_env)
            typed.message = (
                f"embeddings request failed with HTTP {code}: {provider_message(response)}"
            )
            typed.args = (typed.message,)
            typed.hint = hint
            raise typed
        return self._parse(response, len(texts))

    def _parse(self, response: httpx.Response, n: int) -> npt.NDArray[np.float32]:
        def bad(why: str) -> ProviderError:
            return ProviderError(
                f"unexpected embeddings response from {self.base_url}: {why}",
                provider=PROVIDER,
                status_code=response.status_code,
                hint="is base_url an OpenAI-compatible API (…/v1)?",
            )

        try:
            body: Any = response.json()
        except ValueError:
            raise bad("not JSON") from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or len(data) != n:
            got = len(data) if isinstance(data, list) else "no"
            raise bad(f"{got} embeddings for {n} inputs")
        rows: list[Any] = [None] * n
        for position, item in enumerate(data):
            index = item.get("index", position) if isinstance(item, dict) else None
            if not isinstance(index, int) or not 0 <= index < n or rows[index] is not None:
                raise bad(f"bad or repeated index {index!r}")
            vector = item.get("embedding")
            if not isinstance(vector, list) or not vector:
                raise bad("an embedding is not a list of numbers")
            rows[index] = vector
        try:
            matrix = np.asarray(rows, dtype=np.float32)
        except (ValueError, TypeError):
            raise bad("embeddings of different lengths or non-numbers") from None
        if self._dimension is None:
            self._dimension = int(matrix.shape[1])
        elif matrix.shape[1] != self._dimension:
            raise bad(f"vectors have {matrix.shape[1]} dimensions, expected {self._dimension}")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        out: npt.NDArray[np.float32] = (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        return out

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [
            self._request(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        row: npt.NDArray[np.float32] = self._request([text])[0]
        return row
