"""API keys: hashed at rest, one tenant per key, the same 401 for every failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from ragline._project import Project
from ragline.errors import ConfigError
from ragline.server import KeyRing, create_app, hash_key
from ragline.server._keys_file import create_key

CONFIG = "embedder: hash\nstore: memory://\ntenants:\n  acme: {api_keys_env: ACME_KEYS}\n"


def project(tmp_path: Path, config: str = CONFIG) -> Project:
    (tmp_path / "ragline.yaml").write_text(config, encoding="utf-8")
    return Project(tmp_path)


def test_env_keys_are_hashed_and_map_to_their_tenant(tmp_path: Path) -> None:
    p = project(tmp_path)
    ring = KeyRing.load(p.settings, p.path, {"ACME_KEYS": "k-one, k-two"})
    assert ring.tenant_for("k-one") == "acme" and ring.tenant_for("k-two") == "acme"
    assert ring.tenant_for("k-three") is None
    assert "k-one" not in repr(ring.__dict__)  # only hashes are kept
    assert ring.hashes() == [hash_key("k-one"), hash_key("k-two")]


def test_one_key_for_two_tenants_is_refused(tmp_path: Path) -> None:
    p = project(tmp_path, CONFIG + "  globex: {api_keys_env: GLOBEX_KEYS}\n")
    with pytest.raises(ConfigError, match="exactly one tenant"):
        KeyRing.load(p.settings, p.path, {"ACME_KEYS": "same", "GLOBEX_KEYS": "same"})


def test_keys_file_holds_hashes_only_and_rejects_plain_keys(tmp_path: Path) -> None:
    p = project(tmp_path)
    secret, _ = create_key(tmp_path / "ragline-keys.yaml", "globex")
    text = (tmp_path / "ragline-keys.yaml").read_text()
    assert secret not in text and hash_key(secret) in text
    assert (tmp_path / "ragline-keys.yaml").stat().st_mode & 0o077 == 0
    assert KeyRing.load(p.settings, p.path, {}).tenant_for(secret) == "globex"
    (tmp_path / "ragline-keys.yaml").write_text(yaml.safe_dump({"globex": ["rl_plain"]}))
    with pytest.raises(ConfigError, match="not a key hash"):
        KeyRing.load(p.settings, p.path, {})


def test_auth_required_without_keys_refuses_to_start(tmp_path: Path) -> None:
    p = project(tmp_path, CONFIG + "server: {auth: required}\n")
    with pytest.raises(ConfigError, match="no API keys"):
        create_app(p, environ={})


def test_without_keys_the_server_is_open_as_the_default_tenant(tmp_path: Path) -> None:
    p = project(tmp_path, "embedder: hash\nstore: memory://\n")
    with TestClient(create_app(p, environ={})) as client:
        r = client.get("/v1/search", params={"q": "anything"})
    assert r.status_code == 200 and r.json()["tenant"] == "default"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic a2V5OnZhbHVl"},
        {"Authorization": "Bearer"},
        {"X-API-Key": "wrong"},
    ],
    ids=["missing", "unknown", "wrong-scheme", "empty", "x-api-key-unknown"],
)
def test_every_auth_failure_gets_the_same_401(tmp_path: Path, headers: dict[str, str]) -> None:
    p = project(tmp_path)
    with TestClient(create_app(p, environ={"ACME_KEYS": "good"})) as client:
        r = client.post("/v1/ask", json={"question": "hi"}, headers=headers)
        ok = client.post("/v1/ask", json={"question": "hi"}, headers={"X-API-Key": "good"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {
        "error": {
            "type": "unauthorized",
            "message": "missing or invalid API key",
            "hint": "send 'Authorization: Bearer <key>'",
        }
    }
    assert ok.status_code == 200


def test_cli_keys_create_prints_the_key_once_and_list_counts_it(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(CONFIG, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGLINE_")}
    run = [sys.executable, "-m", "ragline.cli", "-C", str(tmp_path), "keys"]
    made = subprocess.run(
        [*run, "create", "--tenant", "globex"], capture_output=True, text=True, env=env
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("rl_") and key not in (tmp_path / "ragline-keys.yaml").read_text()
    listed = subprocess.run([*run, "list"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    row = listed.stdout.splitlines()[1].split()
    assert row[1:4] == ["globex", "-", "ask"] and "never" in row  # tenant, name, scopes
    bad = subprocess.run(
        [*run, "create", "--tenant", "../etc"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 1 and "invalid tenant name" in bad.stderr
    assert "Traceback" not in bad.stderr
