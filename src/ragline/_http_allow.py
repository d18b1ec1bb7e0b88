"""The ``http_get`` tool's allowlist: which URLs the agent may fetch, and why not.

An entry is a host (``status.example.com``, ``127.0.0.1:8080``: any http or https URL
on that host and port) or a URL prefix (``https://api.example.com/v1/``: same scheme,
host and port, and a path under the prefix's). URLs are compared by their parsed
parts, never as strings, so ``https://api.example.com.evil.net/`` and
``https://api.example.com@evil.net/`` do not pass for ``api.example.com``; a path
with ``.`` or ``..`` segments (plain or percent-encoded) is refused rather than
resolved, and so is a URL with a user name or password. Stdlib only: the config
validates entries with it at load time.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One parsed entry: ``scheme`` None for a bare host (http and https)."""

    text: str
    scheme: str | None
    host: str
    port: int | None  # None: the scheme's default port
    path: str  # "" for a bare host

    def admits(self, scheme: str, host: str, port: int, path: str) -> bool:
        if self.host != host:
            return False
        if self.scheme is not None and self.scheme != scheme:
            return False
        want = self.port if self.port is not None else _DEFAULT_PORTS[scheme]
        if want != port:
            return False
        if not self.path or self.path == "/":
            return True
        prefix = self.path
        return path == prefix.rstrip("/") or path.startswith(
            prefix if prefix.endswith("/") else prefix + "/"
        )


def parse_entry(text: str) -> AllowEntry:
    """An allowlist entry, or ValueError saying what is wrong with it."""
    raw = text.strip()
    if not raw:
        raise ValueError("an empty entry")
    bare = "://" not in raw
    parts = urlsplit(f"http://{raw}" if bare else raw)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"{text!r}: only http and https URLs can be allowed")
    if parts.username or parts.password:
        raise ValueError(f"{text!r}: an entry cannot hold a user name or password")
    if parts.query or parts.fragment:
        raise ValueError(f"{text!r}: an entry is a host or a URL prefix, without ? or #")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r}: the port is not a number from 0 to 65535") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"{text!r}: no host")
    if bare and parts.path not in ("", "/"):
        raise ValueError(f"{text!r}: a path needs a scheme, e.g. https://{raw}")
    if _dot_segments(parts.path):
        raise ValueError(f"{text!r}: the path has . or .. segments")
    return AllowEntry(raw, None if bare else scheme, host, port, "" if bare else parts.path)


def _dot_segments(path: str) -> bool:
    return any(seg in (".", "..") for seg in unquote(path).replace("\\", "/").split("/"))


def refusal(url: str, entries: list[AllowEntry]) -> str | None:
    """Why ``url`` may not be fetched, or None when an entry admits it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return f"{url!r} is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return f"{url!r}: only http and https URLs can be fetched"
    if parts.username or parts.password:
        return f"{url!r}: a URL with a user name or password is never fetched"
    host = (parts.hostname or "").lower()
    if not host:
        return f"{url!r} has no host"
    if _dot_segments(parts.path):
        return f"{url!r}: a path with . or .. segments is never fetched"
    port = port if port is not None else _DEFAULT_PORTS[scheme]
    if any(e.admits(scheme, host, port, parts.path or "/") for e in entries):
        return None
    listed = ", ".join(e.text for e in entries)
    return f"{url!r} is not on the allowlist (agent.http_get.allow: {listed})"


__all__ = ["AllowEntry", "parse_entry", "refusal"]
