"""``agent.http_get``: the agent's web fetch tool — off unless hosts are allowed.

The ``http_get`` tool is offered only when ``allow`` names at least one host or URL
prefix (see :mod:`ragline._http_allow`); every other URL is refused with a clear
error the model sees. Each fetch is bounded in time and size::

    agent:
      http_get:
        allow: [status.example.com, "https://api.example.com/v1/"]
        timeout_s: 5          # connect + read, per request
        max_bytes: 200000     # the body is cut here (the result says truncated)
        max_redirects: 3      # each hop is checked against allow
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ragline._config_base import _Strict


class HttpGetSettings(_Strict):
    """``agent.http_get`` — allowlist and limits of the ``http_get`` tool."""

    allow: list[str] = Field(
        default_factory=list,
        description="hosts or URL prefixes the agent may fetch (empty: no http_get tool)",
    )
    timeout_s: float = Field(5.0, gt=0, le=120, description="per request")
    max_bytes: int = Field(200_000, ge=1_000, le=10_000_000, description="body bytes kept")
    max_redirects: int = Field(3, ge=0, le=10, description="redirects followed, each checked")

    @field_validator("allow")
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        from ragline._http_allow import parse_entry

        for entry in value:
            parse_entry(entry)  # ValueError names the entry and what is wrong
        return value
