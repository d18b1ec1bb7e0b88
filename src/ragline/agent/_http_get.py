"""The ``http_get`` built-in: the agent fetches a page or an API answer from an
allowed site — never on by default, never anywhere else.

It is offered only when ``agent.http_get.allow`` names hosts or URL prefixes
(:mod:`ragline._http_allow`). Every URL, and every redirect hop, is checked against
that list before a byte is sent; a refused URL is a tool error that says so, which the
model reads. One fetch (all its hops and the body) has ``timeout_s`` in all; the body
is read as a stream and cut at ``max_bytes`` (``truncated: true``), so a huge or
endless response costs at most that much memory. Only text comes back (``text/*``,
JSON, XML; a response without a content type is read as text); anything else is a
tool error. A 4xx/5xx answer is a result with its status, not an error: the model
decides what it means.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ragline._http import LazyClient
from ragline._http_allow import parse_entry, refusal
from ragline.agent._tools import Tool, tool
from ragline.errors import ToolError

if TYPE_CHECKING:
    import httpx

    from ragline._config_http_get import HttpGetSettings

USER_AGENT = "ragline-agent (http_get)"
_TEXT_TYPES = ("json", "xml", "javascript", "x-www-form-urlencoded")


def _is_text(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return not kind or kind.startswith("text/") or any(t in kind for t in _TEXT_TYPES)


def http_get_tool(
    settings: HttpGetSettings, *, transport: httpx.BaseTransport | None = None
) -> Tool:
    """The ``http_get`` tool for ``settings`` (its ``allow`` must not be empty)."""
    entries = [parse_entry(e) for e in settings.allow]
    if not entries:
        raise ValueError("http_get needs at least one allowed host or URL prefix")
    client = LazyClient(settings.timeout_s, {"User-Agent": USER_AGENT}, transport)
    listed = ", ".join(e.text for e in entries)

    def http_get(url: str) -> dict[str, Any]:
        """Fetch a URL.

        Args:
            url: the full http(s) URL
        """
        deadline = time.monotonic() + settings.timeout_s
        current = url.strip()
        for hop in range(settings.max_redirects + 1):
            why = refusal(current, entries)
            if why is not None:
                raise ToolError(why if hop == 0 else f"{url!r} redirects to {why}")
            answer = _get(client.get(), current, deadline, settings)
            if isinstance(answer, str):  # a redirect: follow it (checked at the loop's top)
                current = answer
                continue
            return {"url": current, **answer, **({"requested": url} if hop else {})}
        raise ToolError(
            f"{url!r} redirected more than {settings.max_redirects} times "
            "(agent.http_get.max_redirects)"
        )

    return tool(
        name="http_get",
        description=(
            "Fetch a web page or API response (HTTP GET) and read its text. Only these "
            f"sites can be fetched: {listed}. Use it for live status or data the knowledge "
            "base does not hold."
        ),
    )(http_get)


def _get(
    client: httpx.Client, url: str, deadline: float, settings: HttpGetSettings
) -> dict[str, Any] | str:
    """One hop: the answer, or the absolute URL a redirect points to."""
    import httpx

    left = deadline - time.monotonic()
    if left <= 0:
        raise _timeout(url, settings)
    try:
        with client.stream("GET", url, timeout=left, follow_redirects=False) as response:
            if response.is_redirect:
                location = str(response.headers.get("location", ""))
                if not location:
                    raise ToolError(f"{url!r} answered a redirect without a Location")
                return urljoin(url, location)
            content_type = response.headers.get("content-type", "")
            if not _is_text(content_type):
                raise ToolError(
                    f"{url!r} answered {content_type!r}, not text: http_get reads text, "
                    "JSON and XML only"
                )
            body = bytearray()
            truncated = False
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > settings.max_bytes:
                    del body[settings.max_bytes :]
                    truncated = True
                    break
                if time.monotonic() > deadline:
                    raise _timeout(url, settings)
            encoding = response.encoding or "utf-8"
            return {
                "status": response.status_code,
                "content_type": content_type,
                "text": bytes(body).decode(encoding, errors="replace"),
                "truncated": truncated,
            }
    except httpx.TimeoutException:
        raise _timeout(url, settings) from None
    except httpx.HTTPError as e:
        raise ToolError(f"cannot fetch {url!r}: {type(e).__name__}: {e}") from None


def _timeout(url: str, settings: HttpGetSettings) -> ToolError:
    return ToolError(
        f"{url!r} did not answer within {settings.timeout_s:g} s (agent.http_get.timeout_s)"
    )


__all__ = ["http_get_tool"]
