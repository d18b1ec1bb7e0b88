"""API keys: each maps to one tenant; only their SHA-256 hashes are kept.

Keys come from two places:

* a tenant's ``api_keys_env`` variable — comma/space-separated keys, hashed when the
  server starts (the plain text is not kept);
* ``server.keys_file`` — YAML ``{tenant: ["sha256:<hex>", …]}``, written by
  ``ragline keys create`` so plain keys never touch the disk.

A request authenticates with ``Authorization: Bearer <key>`` (or ``X-API-Key``). A
missing header, a malformed one and an unknown key all get the same 401.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ragline.config import Settings
from ragline.errors import ConfigError

KEY_PREFIX = "rl_"
_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def check_tenant_name(name: str) -> str:
    if not _TENANT_RE.match(name):
        raise ConfigError(
            f"invalid tenant name {name!r}",
            hint="use letters, digits, '_', '-' or '.', at most 64 characters",
        )
    return name


def keys_file_path(settings: Settings, project_dir: Path) -> Path:
    path = Path(settings.server.keys_file or "ragline-keys.yaml")
    return path if path.is_absolute() else project_dir / path


def _read_keys_file(path: Path) -> dict[str, list[str]]:
    import yaml

    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read API keys file {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of tenant -> list of key hashes")
    out: dict[str, list[str]] = {}
    for tenant, hashes in data.items():
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise ConfigError(f"{path}: tenant {tenant!r} must map to a list of key hashes")
        bad = [h for h in hashes if not _HASH_RE.match(h)]
        if bad:
            raise ConfigError(
                f"{path}: tenant {tenant!r} has an entry that is not a key hash",
                hint="entries look like sha256:<64 hex>; create keys with 'ragline keys create'",
            )
        out[check_tenant_name(str(tenant))] = list(hashes)
    return out


def add_key_to_file(path: Path, tenant: str, key: str) -> None:
    """Append ``key``'s hash for ``tenant`` to the keys file (created 0600)."""
    import yaml

    check_tenant_name(tenant)
    data = _read_keys_file(path)
    data.setdefault(tenant, []).append(hash_key(key))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# ragline API keys: tenant -> SHA-256 hashes (plain keys are never stored)\n")
        yaml.safe_dump(data, f, sort_keys=True)
    os.replace(tmp, path)


class KeyRing:
    """Key hash → tenant. ``KeyRing.load`` reads env variables and the keys file."""

    def __init__(self, hashes: Mapping[str, str] | None = None) -> None:
        self._by_hash: dict[str, str] = dict(hashes or {})

    @classmethod
    def load(
        cls, settings: Settings, project_dir: Path, environ: Mapping[str, str] | None = None
    ) -> KeyRing:
        env = os.environ if environ is None else environ
        by_hash: dict[str, str] = {}

        def add(h: str, tenant: str, source: str) -> None:
            other = by_hash.get(h)
            if other is not None and other != tenant:
                raise ConfigError(
                    f"the same API key is given to tenants {other!r} and {tenant!r} ({source})",
                    hint="every key must belong to exactly one tenant",
                )
            by_hash[h] = tenant

        for tenant, ts in settings.tenants.items():
            check_tenant_name(tenant)
            if ts.api_keys_env:
                raw = env.get(ts.api_keys_env, "")
                for key in re.split(r"[\s,]+", raw.strip()):
                    if key:
                        add(hash_key(key), tenant, f"env {ts.api_keys_env}")
        for tenant, hashes in _read_keys_file(keys_file_path(settings, project_dir)).items():
            for h in hashes:
                add(h, tenant, "keys file")
        return cls(by_hash)

    def __len__(self) -> int:
        return len(self._by_hash)

    def tenants(self) -> set[str]:
        return set(self._by_hash.values())

    def hashes(self) -> list[str]:
        return list(self._by_hash)

    def tenant_for_hash(self, h: str) -> str:
        return self._by_hash[h]

    def tenant_for(self, key: str) -> str | None:
        return self._by_hash.get(hash_key(key))


def key_from_headers(headers: Mapping[str, Any]) -> str | None:
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = str(auth).partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    api_key = headers.get("x-api-key")
    return str(api_key).strip() or None if api_key else None
