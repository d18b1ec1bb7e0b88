"""Dashboard sessions: a signed cookie, and CSRF tokens derived from it.

The cookie holds the API key's hash (never the key), its tenant, a random session id
and an expiry, signed with HMAC-SHA256. Each request checks the signature, the
expiry, and that the key is still live (a revoked or expired key ends its sessions at
once). The CSRF token of a session is an HMAC of its id: a form posted from another
site has no way to know it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

from ragline.errors import ConfigError

COOKIE = "ragline_session"
LOGIN_COOKIE = "ragline_login"
#: the secret ``ragline serve`` makes for its processes when ``ui.session_secret_env`` is
#: unset: every ``--workers`` process inherits it, so each accepts the others' cookies
PROCESS_SECRET_ENV = "RAGLINE_UI_PROCESS_SECRET"


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    key_hash: str  # "" when the server is open (no keys)
    tenant: str
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Issues and reads session cookies with one secret."""

    def __init__(self, secret: bytes, *, hours: float) -> None:
        self._secret = secret
        self.max_age_s = int(hours * 3600)

    @classmethod
    def from_env(cls, env_name: str | None, *, hours: float) -> Sessions:
        if env_name is None:
            shared = os.environ.get(PROCESS_SECRET_ENV)
            return cls(shared.encode() if shared else secrets.token_bytes(32), hours=hours)
        value = os.environ.get(env_name, "")
        if len(value) < 16:
            raise ConfigError(
                f"ui.session_secret_env names {env_name}, which is unset or shorter than "
                "16 characters",
                hint=f"export {env_name}=$(python -c 'import secrets; print(secrets.token_hex())')",
            )
        return cls(value.encode(), hours=hours)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def issue(self, *, key_hash: str, tenant: str, now: float | None = None) -> str:
        now = time.time() if now is None else now
        body = {
            "sid": secrets.token_urlsafe(16),
            "h": key_hash,
            "t": tenant,
            "exp": now + self.max_age_s,
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def read(self, cookie: str | None, *, now: float | None = None) -> Session | None:
        """The session of a cookie, or None (missing, tampered with, or expired)."""
        if not cookie or "." not in cookie:
            return None
        payload, _, sig = cookie.partition(".")
        if not hmac.compare_digest(sig, self._sign(payload)):
            return None
        try:
            body = json.loads(_unb64(payload))
            session = Session(str(body["sid"]), str(body["h"]), str(body["t"]), float(body["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires <= (time.time() if now is None else now):
            return None
        return session

    def csrf(self, sid: str) -> str:
        return self._sign("csrf:" + sid)

    def check_csrf(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf(sid))


__all__ = ["COOKIE", "LOGIN_COOKIE", "PROCESS_SECRET_ENV", "Session", "Sessions"]
