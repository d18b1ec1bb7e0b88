"""API keys at request time: which tenant a key belongs to and what it may do.

Keys come from two places:

* a tenant's ``api_keys_env`` variable — comma/space-separated keys, hashed when the
  server starts (the plain text is not kept); they may ask and ingest;
* ``server.keys_file`` (see :mod:`ragline.server._keys_file`) — hashed keys with a
  name, scopes and an optional expiry, written by ``ragline keys create|rotate``.

The server holds a :class:`LiveKeys`: it re-reads the keys file when the file changes
(looked at most every ``server.keys_reload_s`` seconds), so keys created, revoked or
rotated take effect without a restart. A file that becomes unreadable keeps the last
good keys (and says so in the log): a typo must not lock every client out.

A request authenticates with ``Authorization: Bearer <key>`` (or ``X-API-Key``). A
missing header, a malformed one, an unknown key and an expired key all get the same 401.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ragline.config import Settings
from ragline.errors import ConfigError, RaglineError
from ragline.server._keys_file import (
    LEGACY_SCOPES,
    ApiKey,
    check_tenant_name,
    hash_key,
    keys_file_path,
    new_key,
    read_keys,
    record_usage,
)

log = logging.getLogger("ragline.server")

__all__ = ["ApiKey", "KeyRing", "KeyUsage", "LiveKeys", "hash_key", "key_from_headers", "new_key"]


class KeyRing:
    """A snapshot of the keys: hash → :class:`ApiKey`.

    ``KeyRing({hash_key("k"): "acme"})`` makes a ring by hand (the key may ask and
    ingest); :meth:`load` reads the env variables and the keys file.
    """

    def __init__(self, keys: Mapping[str, str | ApiKey] | Iterable[ApiKey] | None = None) -> None:
        self._by_hash: dict[str, ApiKey] = {}
        if isinstance(keys, Mapping):
            for h, v in keys.items():
                self._by_hash[h] = v if isinstance(v, ApiKey) else ApiKey(h, v, source="given")
        elif keys is not None:
            for k in keys:
                self._by_hash[k.hash] = k

    @staticmethod
    def env_keys(settings: Settings, environ: Mapping[str, str] | None = None) -> list[ApiKey]:
        env = os.environ if environ is None else environ
        out: list[ApiKey] = []
        for tenant, ts in settings.tenants.items():
            check_tenant_name(tenant)
            if ts.api_keys_env:
                raw = env.get(ts.api_keys_env, "")
                for key in re.split(r"[\s,]+", raw.strip()):
                    if key:
                        out.append(
                            ApiKey(
                                hash_key(key),
                                tenant,
                                LEGACY_SCOPES,
                                source=f"env {ts.api_keys_env}",
                            )
                        )
        return out

    @classmethod
    def combine(cls, *groups: Iterable[ApiKey]) -> KeyRing:
        """One ring from env and file keys; a key given to two tenants is a ConfigError."""
        ring = cls()
        for group in groups:
            for k in group:
                other = ring._by_hash.get(k.hash)
                if other is not None and other.tenant != k.tenant:
                    raise ConfigError(
                        f"the same API key is given to tenants {other.tenant!r} and "
                        f"{k.tenant!r} ({k.source})",
                        hint="every key must belong to exactly one tenant",
                    )
                ring._by_hash[k.hash] = k
        return ring

    @classmethod
    def load(
        cls, settings: Settings, project_dir: Path, environ: Mapping[str, str] | None = None
    ) -> KeyRing:
        return cls.combine(
            cls.env_keys(settings, environ), read_keys(keys_file_path(settings, project_dir))
        )

    def __len__(self) -> int:
        return len(self._by_hash)

    def keys(self) -> list[ApiKey]:
        return list(self._by_hash.values())

    def tenants(self) -> set[str]:
        return {k.tenant for k in self._by_hash.values()}

    def hashes(self) -> list[str]:
        return list(self._by_hash)

    def tenant_for_hash(self, h: str) -> str:
        return self._by_hash[h].tenant

    def by_hash(self, h: str, now: float | None = None) -> ApiKey | None:
        """The live key whose hash is ``h``, or None (unknown, revoked or expired)."""
        found = self._by_hash.get(h)
        if found is None or found.expired(now):
            return None
        return found

    def lookup(self, key: str, now: float | None = None) -> ApiKey | None:
        """The live key ``key`` is, or None (unknown or expired)."""
        found = self._by_hash.get(hash_key(key))
        if found is None or found.expired(now):
            return None
        return found

    def tenant_for(self, key: str) -> str | None:
        found = self.lookup(key)
        return found.tenant if found else None


class LiveKeys:
    """The server's keys: env keys fixed at start, the keys file re-read when it changes."""

    def __init__(
        self,
        ring: KeyRing,
        *,
        env_keys: Iterable[ApiKey] = (),
        path: Path | None = None,
        reload_s: float = 2.0,
        clock: Any = time.monotonic,
    ) -> None:
        self._ring = ring
        self._env = list(env_keys)
        self._path = path
        self._reload_s = reload_s
        self._clock = clock
        self._checked = clock()
        self._stamp = self._file_stamp()
        self._lock = threading.Lock()

    @classmethod
    def fixed(cls, ring: KeyRing) -> LiveKeys:
        return cls(ring)

    @classmethod
    def load(
        cls,
        settings: Settings,
        project_dir: Path,
        environ: Mapping[str, str] | None = None,
    ) -> LiveKeys:
        env = KeyRing.env_keys(settings, environ)
        path = keys_file_path(settings, project_dir)
        live = cls(KeyRing(), env_keys=env, path=path, reload_s=settings.server.keys_reload_s)
        live._ring = KeyRing.combine(env, read_keys(path))  # a bad file fails the start
        return live

    @property
    def path(self) -> Path | None:
        return self._path

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            st = self._path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> KeyRing:
        """The keys now: re-read the file if it changed since the last look."""
        if self._path is None or self._clock() - self._checked < self._reload_s:
            return self._ring
        with self._lock:
            if self._clock() - self._checked < self._reload_s:
                return self._ring
            self._checked = self._clock()
            stamp = self._file_stamp()
            if stamp != self._stamp:
                self._reload(stamp)
        return self._ring

    def _reload(self, stamp: tuple[int, int, int] | None) -> None:
        assert self._path is not None
        try:
            ring = KeyRing.combine(self._env, read_keys(self._path))
        except RaglineError as e:
            log.error("keeping the previous API keys: %s", e)
            return  # look again when the file changes next
        finally:
            self._stamp = stamp
        before = len(self._ring)
        self._ring = ring
        log.info("API keys reloaded from %s: %d keys (was %d)", self._path, len(ring), before)


class KeyUsage:
    """When each key was last used: kept in memory, written beside the keys file.

    Written at most every ``flush_s`` seconds (on a request) and when the server stops.
    """

    def __init__(self, path: Path | None, flush_s: float = 10.0) -> None:
        self._path = path
        self._flush_s = flush_s
        self._seen: dict[str, float] = {}
        self._flushed = time.monotonic()
        self._lock = threading.Lock()

    def touch(self, key: ApiKey) -> None:
        if self._path is None or key.source != "keys file":
            return
        self._seen[key.id] = time.time()
        if time.monotonic() - self._flushed >= self._flush_s:
            self.flush()

    def flush(self) -> None:
        if self._path is None:
            return
        with self._lock:
            seen, self._seen = self._seen, {}
            self._flushed = time.monotonic()
        try:
            record_usage(self._path, seen)
        except OSError as e:  # last-used times are a convenience: never fail a request
            log.warning("cannot record API key usage beside %s: %s", self._path, e)


def key_from_headers(headers: Mapping[str, Any]) -> str | None:
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = str(auth).partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    api_key = headers.get("x-api-key")
    return str(api_key).strip() or None if api_key else None
