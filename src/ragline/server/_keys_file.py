"""The API keys file: hashed keys with a tenant, a name, scopes and a lifetime.

``ragline keys create|revoke|rotate`` edit it; a running server re-reads it when it
changes (within ``server.keys_reload_s``), so a revoked key stops working in seconds,
without a restart. Plain keys never touch the disk: an entry holds the key's SHA-256
hash and a short public id (the first 12 hex digits of the hash) to name it by::

    version: 2
    keys:
    - id: 3f2a9c1b7d4e
      tenant: acme
      name: web-frontend
      hash: sha256:3f2a9c1b7d4e…
      scopes: [ask]
      created: '2026-12-02T19:00:00Z'
      expires: null          # rotate sets it: the old key works until then

The file of earlier versions, ``{tenant: [sha256:…, …]}``, is still read; its keys
keep what they could do then (scopes ``ask`` and ``ingest``), and the next edit
rewrites the file in this form.

When each key was last used is kept beside it, in ``<keys file>.usage.json``
(``{id: epoch seconds}``), which the server writes at most every few seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ragline.errors import ConfigError, InputError, NotFoundError

KEY_PREFIX = "rl_"
#: What a key may do. ``admin`` may do everything, for any tenant.
SCOPES = ("ask", "ingest", "metrics", "admin")
DEFAULT_SCOPES = frozenset({"ask"})
#: Keys from an env variable or a keys file of the first format: what they did before scopes.
LEGACY_SCOPES = frozenset({"ask", "ingest"})
_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$")
_HEADER = (
    "# ragline API keys: SHA-256 hashes only (plain keys are never stored).\n"
    "# Edit with 'ragline keys create|revoke|rotate'; a running server picks up changes\n"
    "# within server.keys_reload_s seconds.\n"
)


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_id(key_hash: str) -> str:
    """The public id of a key: the first 12 hex digits of its hash."""
    return key_hash.removeprefix("sha256:")[:12]


def check_tenant_name(name: str) -> str:
    if not _TENANT_RE.match(name):
        raise ConfigError(
            f"invalid tenant name {name!r}",
            hint="use letters, digits, '_', '-' or '.', at most 64 characters",
        )
    return name


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    out = frozenset(scopes)
    unknown = sorted(out - set(SCOPES))
    if unknown:
        raise InputError(f"unknown scope {unknown[0]!r}", hint=f"scopes are {', '.join(SCOPES)}")
    if not out:
        raise InputError("a key needs at least one scope", hint=f"scopes are {', '.join(SCOPES)}")
    return out


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):  # YAML reads an unquoted time as a datetime
        when = value
    else:
        try:
            when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not a time (ISO 8601, UTC)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key, as the server knows it (its hash, never the key)."""

    hash: str
    tenant: str
    scopes: frozenset[str] = LEGACY_SCOPES
    name: str = ""
    created: float | None = None
    expires: float | None = None
    source: str = "keys file"
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", key_id(self.hash))

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and (time.time() if now is None else now) >= self.expires

    def as_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "hash": self.hash,
            "scopes": sorted(self.scopes, key=SCOPES.index),
            "created": iso(self.created),
            "expires": iso(self.expires),
        }


def keys_file_path(settings: Any, project_dir: Path) -> Path:
    path = Path(settings.server.keys_file or "ragline-keys.yaml")
    return path if path.is_absolute() else project_dir / path


def read_keys(path: Path) -> list[ApiKey]:
    """Every key in ``path`` (none when it does not exist); a bad entry is a ConfigError."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as e:
        raise ConfigError(f"cannot read API keys file {path}: {e}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"cannot read API keys file {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping (version: 2, keys: [...])")
    if "version" in data:
        return _read_v2(path, data)
    return _read_v1(path, data)


def _check_hash(path: Path, h: Any, who: str) -> str:
    if not isinstance(h, str) or not _HASH_RE.match(h):
        raise ConfigError(
            f"{path}: {who} has an entry that is not a key hash",
            hint="entries look like sha256:<64 hex>; create keys with 'ragline keys create'",
        )
    return h


def _read_v1(path: Path, data: Mapping[Any, Any]) -> list[ApiKey]:
    out: list[ApiKey] = []
    for tenant, hashes in data.items():
        if not isinstance(hashes, list):
            raise ConfigError(f"{path}: tenant {tenant!r} must map to a list of key hashes")
        name = check_tenant_name(str(tenant))
        for h in hashes:
            out.append(ApiKey(_check_hash(path, h, f"tenant {tenant!r}"), name))
    return out


def _read_v2(path: Path, data: Mapping[str, Any]) -> list[ApiKey]:
    if data.get("version") != 2:
        raise ConfigError(
            f"{path}: unknown keys file version {data.get('version')!r}",
            hint="this ragline reads version 2; upgrade ragline",
        )
    rows = data.get("keys") or []
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: 'keys' must be a list of entries")
    out: list[ApiKey] = []
    for i, row in enumerate(rows):
        where = f"{path}: keys[{i}]"
        if not isinstance(row, dict):
            raise ConfigError(f"{where} must be a mapping")
        extra = sorted(set(row) - {"id", "tenant", "name", "hash", "scopes", "created", "expires"})
        if extra:
            raise ConfigError(f"{where}: unknown field {extra[0]!r}")
        h = _check_hash(path, row.get("hash"), f"keys[{i}]")
        tenant = row.get("tenant")
        if not isinstance(tenant, str):
            raise ConfigError(f"{where}: 'tenant' is missing")
        scopes = row.get("scopes", sorted(DEFAULT_SCOPES))
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ConfigError(f"{where}: 'scopes' must be a list such as [ask]")
        try:
            scope_set = check_scopes(scopes)
        except InputError as e:
            raise ConfigError(f"{where}: {e.message}", hint=e.hint) from None
        out.append(
            ApiKey(
                h,
                check_tenant_name(tenant),
                scope_set,
                name=str(row.get("name") or ""),
                created=_epoch(row.get("created"), where),
                expires=_epoch(row.get("expires"), where),
            )
        )
    return out


def write_keys(path: Path, keys: Iterable[ApiKey]) -> None:
    """Replace ``path`` atomically with ``keys`` (mode 0600)."""
    import yaml

    body = yaml.safe_dump(
        {"version": 2, "keys": [k.as_row() for k in keys]}, sort_keys=False, allow_unicode=True
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(_HEADER + body)
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time (``ragline keys`` runs in parallel; the server writes usage)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def find_key(keys: Iterable[ApiKey], ref: str) -> ApiKey:
    """The key named by ``ref``: its id (or a unique id prefix of 6+ digits) or its name."""
    keys = list(keys)
    by_id = [k for k in keys if k.id == ref or (len(ref) >= 6 and k.id.startswith(ref))]
    by_name = [k for k in keys if k.name and k.name == ref]
    found = by_id or by_name
    if not found:
        raise NotFoundError(f"no API key {ref!r}", hint="'ragline keys list' shows ids and names")
    if len(found) > 1:
        raise InputError(
            f"{ref!r} names {len(found)} keys", hint="give the key's id ('ragline keys list')"
        )
    return found[0]


def create_key(
    path: Path,
    tenant: str,
    *,
    name: str = "",
    scopes: Iterable[str] = DEFAULT_SCOPES,
    expires: float | None = None,
) -> tuple[str, ApiKey]:
    """Add a new key; returns the plain key (show it once) and its entry."""
    check_tenant_name(tenant)
    if name and not _NAME_RE.match(name):
        raise InputError(
            f"invalid key name {name!r}",
            hint="use letters, digits and '_', '-', '.', '@', ':'; at most 64 characters",
        )
    scope_set = check_scopes(scopes)
    plain = new_key()
    entry = ApiKey(hash_key(plain), tenant, scope_set, name=name, created=time.time())
    entry = replace(entry, expires=expires)
    with _locked(path):
        keys = read_keys(path)
        if name and any(k.name == name and k.tenant == tenant for k in keys):
            raise InputError(
                f"tenant {tenant!r} already has a key named {name!r}",
                hint="pick another name, or 'ragline keys rotate NAME' to replace it",
            )
        write_keys(path, [*keys, entry])
    return plain, entry


def revoke_key(path: Path, ref: str) -> ApiKey:
    """Remove the key ``ref`` names; a running server refuses it within seconds."""
    with _locked(path):
        keys = read_keys(path)
        gone = find_key(keys, ref)
        write_keys(path, [k for k in keys if k.id != gone.id])
    return gone


def rotate_key(path: Path, ref: str, *, grace_s: float) -> tuple[str, ApiKey, ApiKey]:
    """A new key with the same tenant, name and scopes; the old one expires after ``grace_s``.

    Returns the plain new key, its entry and the old entry (with its new expiry).
    """
    if grace_s < 0:
        raise InputError("the grace period cannot be negative", hint="e.g. --grace 1h, or 0")
    plain = new_key()
    now = time.time()
    with _locked(path):
        keys = read_keys(path)
        old = find_key(keys, ref)
        until = now + grace_s
        if old.expires is not None:
            until = min(until, old.expires)
        retired = replace(old, expires=until)
        fresh = ApiKey(
            hash_key(plain),
            old.tenant,
            old.scopes,
            name=old.name,
            created=now,
            expires=None,
        )
        now_keys = [k for k in keys if not (k.expired(now) and k.id != old.id)]  # prune the dead
        write_keys(path, [retired if k.id == old.id else k for k in now_keys] + [fresh])
    return plain, fresh, retired


# --------------------------------------------------------------------------- last used


def usage_path(path: Path) -> Path:
    return path.with_name(path.stem + ".usage.json")


def read_usage(path: Path) -> dict[str, float]:
    """Key id → when it was last used (epoch seconds), from the usage file beside ``path``."""
    try:
        data = json.loads(usage_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def record_usage(path: Path, seen: Mapping[str, float]) -> None:
    """Merge ``seen`` into the usage file (latest time wins; several servers may write)."""
    if not seen:
        return
    target = usage_path(path)
    with _locked(target):
        merged = read_usage(path)
        for k, t in seen.items():
            merged[k] = max(t, merged.get(k, 0.0))
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(merged, f, sort_keys=True)
        os.replace(tmp, target)
