"""Plumbing shared by the HTTP providers: keys, clients, option splitting, the
"no real requests in tests" switch, and mapping HTTP failures to typed errors."""

from __future__ import annotations

import email.utils
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import httpx

from ragline.config import ModelSettings
from ragline.errors import ConfigError, ProviderError
from ragline.models._errors import (
    MalformedResponse,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimitError,
    RequestRejected,
    StreamInterrupted,
    StreamStalled,
)
from ragline.models._pricing import estimate_tokens as estimate_tokens

logger = logging.getLogger("ragline.models")

#: ``json_schema`` (a JSON schema dict) asks for a reply that is one JSON value of that
#: schema: OpenAI-compatible servers get ``response_format``, the local model a grammar;
#: Anthropic has no such field and relies on the prompt.
GENERIC_OPTIONS = frozenset({"temperature", "max_tokens", "stop", "top_p", "seed", "json_schema"})
PROVIDER_PREFIXES = ("openai_", "anthropic_", "local_", "extractive_")


# --------------------------------------------------------------------------- setup


def check_base_url(base_url: str, spec: str) -> str:
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(
            f"models.{spec}.base_url {base_url!r} is not an http(s) URL",
            hint="e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1",
        )
    return base_url.rstrip("/")


def api_key(env: str, base_url: str, official_host: str, spec: str) -> str:
    """The key from ``env``; required only for the provider's own API host."""
    key = os.environ.get(env, "").strip()
    host = (urlparse(base_url).hostname or "").lower()
    if not key and (host == official_host or host.endswith("." + official_host)):
        raise ConfigError(
            f"no API key for {spec}: the environment variable {env} is not set",
            hint=f"export {env}=<your key>, or set models.{spec}.api_key_env to the "
            "variable that holds it",
        )
    return key


def timeout_for(settings: ModelSettings) -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.connect_timeout_s,
        read=settings.read_timeout_s,
        write=settings.read_timeout_s,
        pool=settings.connect_timeout_s,
    )


def make_client(
    settings: ModelSettings, headers: Mapping[str, str], transport: httpx.BaseTransport | None
) -> httpx.Client:
    """A private client (the shared ones come from :func:`acquire_client`)."""
    return httpx.Client(timeout=timeout_for(settings), headers=dict(headers), transport=transport)


# ------------------------------------------------------------------ shared clients
#
# The chat model and the embedder of one OpenAI-compatible server (vLLM, Ollama,
# llama.cpp server, OpenAI itself) use one httpx client, so they share its
# connection pool (keep-alive, one TLS handshake). Clients are shared per
# (scheme://host:port, headers, transport) and reference-counted; timeouts are
# given per request, so users with different timeouts can share a client.

_ClientKey = tuple[str, tuple[tuple[str, str], ...], int]
_shared: dict[_ClientKey, tuple[httpx.Client, int]] = {}
_shared_lock = threading.Lock()


def _client_key(
    base_url: str, headers: Mapping[str, str], transport: httpx.BaseTransport | None
) -> _ClientKey:
    parsed = urlparse(base_url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    origin = f"{parsed.scheme}://{(parsed.hostname or '').lower()}:{port}"
    return origin, tuple(sorted((k.lower(), v) for k, v in headers.items())), id(transport)


def acquire_client(
    base_url: str, headers: Mapping[str, str], transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The shared client for this server and credentials (created on first use).

    Pass the timeout on every request; give the client back with :func:`release_client`.
    """
    key = _client_key(base_url, headers, transport)
    with _shared_lock:
        found = _shared.get(key)
        if found is None or found[0].is_closed:
            client = httpx.Client(headers=dict(headers), transport=transport)
            _shared[key] = (client, 1)
            return client
        _shared[key] = (found[0], found[1] + 1)
        return found[0]


def release_client(client: httpx.Client) -> None:
    """Give a shared client back; the last user closes it."""
    with _shared_lock:
        for key, (shared, users) in list(_shared.items()):
            if shared is client:
                if users <= 1:
                    del _shared[key]
                    client.close()
                else:
                    _shared[key] = (shared, users - 1)
                return
    client.close()  # not a shared client


def shared_clients() -> int:
    """How many shared clients are open (for tests and ``ragline doctor``)."""
    with _shared_lock:
        return len(_shared)


def split_options(options: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(generic, provider-specific)``; ``<prefix>top_k`` becomes ``top_k``. Options for
    other providers are ignored so one options dict works across a fallback chain."""
    generic: dict[str, Any] = {}
    own: dict[str, Any] = {}
    for key, value in options.items():
        if key.startswith(prefix):
            own[key[len(prefix) :]] = value
        elif key in GENERIC_OPTIONS:
            generic[key] = value
        elif not key.startswith(PROVIDER_PREFIXES):
            raise ConfigError(
                f"unknown model option {key!r}",
                hint=f"generic options: {', '.join(sorted(GENERIC_OPTIONS))}; "
                f"provider-specific ones carry the prefix, e.g. {prefix}{key}",
            )
    return generic, own


# --------------------------------------------------------------------------- errors


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _html_title(text: str) -> str | None:
    if not re.match(r"\s*<(!doctype html|html|head|body)", text, re.IGNORECASE):
        return None
    found = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    return " ".join(found.group(1).split()) if found else ""


def provider_message(response: httpx.Response) -> str:
    """The provider's own message (``{"error": {"message": …}}``), else the body."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            kind = err.get("type")
            return (
                f"{err['message']} ({kind})"
                if isinstance(kind, str) and kind
                else str(err["message"])
            )
        if isinstance(err, str) and err:
            return err
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])
    text = response.text.strip()
    title = _html_title(text)
    if title is not None:
        return f"an HTML page{f' titled {title!r}' if title else ''} instead of a JSON error"
    return text[:500] if text else (response.reason_phrase or "no message")


def error_for_status(response: httpx.Response, *, spec: str, key_env: str) -> ProviderError:
    code = response.status_code
    provider = spec.partition(":")[0]
    model = spec.partition(":")[2]
    message = f"{spec} request failed with HTTP {code}: {provider_message(response)}"
    wait = retry_after(response.headers)
    if code == 429:
        hint = f"rate limited or out of quota: wait, or lower models.{spec}.requests_per_minute"
        if wait is not None:
            hint = f"the server asks to retry after {wait:g}s; " + hint
        return RateLimitError(
            message, provider=provider, status_code=code, hint=hint, retry_after_s=wait
        )
    if code == 408:
        return ProviderTimeout(message, provider=provider, status_code=code, hint="try again")
    if code >= 500:
        return ProviderUnavailable(
            message,
            provider=provider,
            status_code=code,
            hint="the server failed or is overloaded; try again later",
            retry_after_s=wait,
        )
    hints = {
        401: f"check the API key in {key_env}",
        403: f"check the API key in {key_env} and its permissions",
        404: f"check the model name {model!r} and models.{spec}.base_url",
    }
    return RequestRejected(message, provider=provider, status_code=code, hint=hints.get(code))


def body_error(data: dict[str, Any], *, spec: str) -> ProviderError:
    """An error object inside a 200 response (some proxies and servers do this)."""
    err = data.get("error")
    msg = err.get("message") if isinstance(err, dict) else err
    return ProviderUnavailable(
        f"{spec} answered with an error: {msg or json.dumps(data)[:200]}",
        provider=spec.partition(":")[0],
        hint="the server failed; try again later",
    )


def read_json(response: httpx.Response, *, spec: str, url: str) -> dict[str, Any]:
    provider = spec.partition(":")[0]
    text = response.text
    api = {"openai": "an OpenAI-compatible API (…/v1)", "anthropic": "the Anthropic API"}
    hint = f"is models.{spec}.base_url {api.get(provider, 'the right API')}?"
    title = _html_title(text)
    if title is not None:
        shown = f" titled {title!r}" if title else ""
        raise MalformedResponse(
            f"{url} returned an HTML page{shown} instead of JSON",
            provider=provider,
            status_code=response.status_code,
            hint=hint,
        )
    try:
        body: Any = response.json()
    except ValueError:
        shown = repr(text[:80]) if text.strip() else "an empty body"
        raise MalformedResponse(
            f"{url} returned malformed JSON: {shown}",
            provider=provider,
            status_code=response.status_code,
            hint=hint,
        ) from None
    if not isinstance(body, dict):
        raise MalformedResponse(
            f"{url} returned JSON that is not an object", provider=provider, hint=hint
        )
    return body


def transport_error(
    exc: httpx.HTTPError,
    *,
    spec: str,
    url: str,
    settings: ModelSettings,
    partial_text: str | None = None,
) -> ProviderError:
    """Map an httpx failure; ``partial_text`` is not None once a stream has started."""
    provider = spec.partition(":")[0]
    setting = f"models.{spec}"
    connect_s, read_s = settings.connect_timeout_s, settings.read_timeout_s
    if partial_text is not None:
        if isinstance(exc, httpx.TimeoutException):
            return StreamStalled(
                f"the {spec} stream stalled: no data for {read_s:g}s; "
                f"the text so far ({len(partial_text)} characters) is partial",
                provider=provider,
                hint=f"raise {setting}.read_timeout_s, or check the server",
                partial_text=partial_text,
            )
        return StreamInterrupted(
            f"the {spec} stream broke ({type(exc).__name__}: {exc}); "
            f"the text so far ({len(partial_text)} characters) is partial",
            provider=provider,
            hint="the server closed the connection; try again",
            partial_text=partial_text,
        )
    kind: type[ProviderError]  # one error per kind of failure, with its own hint
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        kind, message = ProviderTimeout, f"could not connect to {url} within {connect_s:g}s"
        hint = f"is the server up? raise {setting}.connect_timeout_s if it is slow"
    elif isinstance(exc, httpx.TimeoutException):
        kind, message = ProviderTimeout, f"no response from {url} within {read_s:g}s"
        hint = f"raise {setting}.read_timeout_s, or lower max_tokens"
    elif isinstance(exc, httpx.ConnectError):
        kind, message = ProviderUnavailable, f"cannot connect to {url}: {exc}"
        hint = f"is the server running? check {setting}.base_url"
    elif isinstance(exc, httpx.TransportError):
        kind = ProviderUnavailable
        message = f"the connection to {url} failed: {type(exc).__name__}: {exc}"
        hint = "the server dropped the connection; try again"
    else:
        return ProviderError(f"request to {url} failed: {exc}", provider=provider)
    return kind(message, provider=provider, hint=hint)


def ended_early(
    *, spec: str, url: str, events: int, partial_text: str, marker: str
) -> StreamInterrupted:
    """A stream that ended without the provider's end ``marker``."""
    provider = spec.partition(":")[0]
    if not events:
        return StreamInterrupted(
            f"{url} sent an empty stream (no events, no {marker})",
            provider=provider,
            hint=f"does the server at models.{spec}.base_url support streaming? try again",
        )
    return StreamInterrupted(
        f"the {spec} stream ended early (no {marker}); the text so far "
        f"({len(partial_text)} characters) is partial",
        provider=provider,
        hint="the server stopped mid-answer; try again",
        partial_text=partial_text,
    )
