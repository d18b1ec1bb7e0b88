"""Key lifecycle and scopes: create, revoke and rotate on a running server (no restart),
scopes per key, protected /metrics and docs, and the keys file's bad inputs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from ragline._project import Project
from ragline.errors import ConfigError, InputError, NotFoundError
from ragline.server import KeyRing, create_app, hash_key
from ragline.server._keys_file import (
    create_key,
    find_key,
    read_keys,
    read_usage,
    revoke_key,
    rotate_key,
)
from ragline.testing import ServerProcess

from ._kb import KEYS_ENV, acme, globex, make_project

KEYS = "ragline-keys.yaml"
CONFIG = "embedder: hash\nstore: memory://\ntenants:\n  acme: {api_keys_env: ACME_KEYS}\n"


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGLINE_")}
    return subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
    )


def _wait_for(check: Callable[[], bool], timeout: float = 15.0) -> float:
    """Seconds until ``check()`` holds (fails the test after ``timeout``)."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"not within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - t0


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --------------------------------------------------------------------------- the keys file


def test_create_keeps_name_scopes_and_times_never_the_key(tmp_path: Path) -> None:
    path = tmp_path / KEYS
    plain, entry = create_key(path, "acme", name="web", scopes=["ask", "ingest"])
    text = path.read_text()
    assert plain not in text and entry.hash == hash_key(plain) and entry.hash in text
    assert path.stat().st_mode & 0o077 == 0
    (back,) = read_keys(path)
    assert (back.id, back.tenant, back.name) == (entry.id, "acme", "web")
    assert back.scopes == {"ask", "ingest"} and back.created and back.expires is None
    assert find_key([back], "web") == back and find_key([back], back.id[:6]) == back


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scopes": ["read"]}, InputError, "unknown scope 'read'"),
        ({"scopes": []}, InputError, "at least one scope"),
        ({"name": "has space"}, InputError, "invalid key name"),
        ({"tenant": "../etc"}, ConfigError, "invalid tenant name"),
    ],
)
def test_bad_create_arguments_are_refused_and_the_file_is_unchanged(
    tmp_path: Path, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    path = tmp_path / KEYS
    create_key(path, "acme", name="first")
    before = path.read_text()
    args: dict[str, object] = {"tenant": "acme", **kwargs}
    tenant = str(args.pop("tenant"))
    with pytest.raises(error, match=match):
        create_key(path, tenant, **args)  # type: ignore[arg-type]
    assert path.read_text() == before


def test_a_duplicate_name_and_an_ambiguous_or_unknown_reference_are_errors(
    tmp_path: Path,
) -> None:
    path = tmp_path / KEYS
    create_key(path, "acme", name="web")
    create_key(path, "globex", name="web")  # names are per tenant
    with pytest.raises(InputError, match="already has a key named 'web'"):
        create_key(path, "acme", name="web")
    with pytest.raises(InputError, match="names 2 keys"):
        revoke_key(path, "web")
    with pytest.raises(NotFoundError, match="no API key 'nope'"):
        revoke_key(path, "nope")
    assert len(read_keys(path)) == 2  # nothing was lost


def test_rotate_gives_a_new_key_and_the_old_one_a_grace_period(tmp_path: Path) -> None:
    path = tmp_path / KEYS
    old_plain, old = create_key(path, "acme", name="web", scopes=["ask", "metrics"])
    new_plain, fresh, retired = rotate_key(path, "web", grace_s=3600)
    assert new_plain != old_plain and fresh.name == "web" and fresh.scopes == old.scopes
    assert retired.id == old.id and retired.expires is not None
    assert 3500 < retired.expires - time.time() <= 3600
    ring = KeyRing(read_keys(path))
    assert ring.tenant_for(old_plain) == "acme" and ring.tenant_for(new_plain) == "acme"
    assert ring.lookup(old_plain, now=time.time() + 3601) is None  # past the grace period
    with pytest.raises(InputError, match="names 2 keys"):
        rotate_key(path, "web", grace_s=0)  # both keys are named web now: say which
    rotate_key(path, fresh.id, grace_s=0)
    assert KeyRing(read_keys(path)).tenant_for(new_plain) is None


def test_the_first_keys_file_format_is_still_read_with_the_scopes_it_had(tmp_path: Path) -> None:
    path = tmp_path / KEYS
    path.write_text(yaml.safe_dump({"acme": [hash_key("rl_old")]}))
    (key,) = read_keys(path)
    assert key.tenant == "acme" and key.scopes == {"ask", "ingest"}
    create_key(path, "acme", name="new")  # the next edit writes the current format
    assert yaml.safe_load(path.read_text())["version"] == 2
    assert KeyRing(read_keys(path)).tenant_for("rl_old") == "acme"  # and keeps the old key


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"version": 3, "keys": []}, "unknown keys file version"),
        ({"version": 2, "keys": [{"tenant": "acme", "hash": "rl_plain"}]}, "not a key hash"),
        (
            {"version": 2, "keys": [{"tenant": "acme", "hash": hash_key("k"), "scopes": ["x"]}]},
            "unknown scope 'x'",
        ),
        (
            {"version": 2, "keys": [{"tenant": "acme", "hash": hash_key("k"), "owner": "me"}]},
            "unknown field 'owner'",
        ),
        (
            {"version": 2, "keys": [{"tenant": "acme", "hash": hash_key("k"), "expires": "soon"}]},
            "not a time",
        ),
    ],
)
def test_a_bad_keys_file_names_the_problem(
    tmp_path: Path, body: dict[str, object], match: str
) -> None:
    (tmp_path / KEYS).write_text(yaml.safe_dump(body))
    with pytest.raises(ConfigError, match=match):
        read_keys(tmp_path / KEYS)


# --------------------------------------------------------------------------- scopes (in process)


@pytest.fixture(scope="module")
def scoped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("scoped")
    (root / "ragline.yaml").write_text(
        CONFIG + "  globex: {}\nserver: {metrics_allow: []}\n", encoding="utf-8"
    )
    keys = {}
    for name, scopes in {
        "asker": ["ask"],
        "loader": ["ingest"],
        "both": ["ask", "ingest"],
        "prom": ["metrics"],
        "root": ["admin"],
    }.items():
        keys[name], _ = create_key(root / KEYS, "acme", name=name, scopes=scopes)
    docs = root / "globex-docs"
    docs.mkdir()
    (docs / "globex-only.md").write_text("# Rockets\n\nGlobex makes rockets.\n")
    project = Project(root)
    project.ingest([docs], tenant="globex")
    with TestClient(create_app(project, environ={})) as client:
        yield client, keys


def test_an_ask_key_may_ask_but_not_upload(scoped: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = scoped
    assert client.get("/v1/search", params={"q": "x"}, headers=_bearer(keys["asker"])).is_success
    doc = {"documents": [{"id": "a.md", "text": "Alpha."}]}
    r = client.post("/v1/documents", json=doc, headers=_bearer(keys["asker"]))
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["type"] == "forbidden" and "may not ingest" in err["message"]
    assert "--scope ingest" in err["hint"]
    assert client.get("/v1/documents", headers=_bearer(keys["asker"])).json()["total"] == 0


def test_an_ingest_key_may_upload_but_not_ask(scoped: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = scoped
    doc = {"documents": [{"id": "b.md", "text": "Bravo."}]}
    assert client.post("/v1/documents", json=doc, headers=_bearer(keys["loader"])).is_success
    r = client.post("/v1/ask", json={"question": "Bravo?"}, headers=_bearer(keys["loader"]))
    assert r.status_code == 403 and "may not ask" in r.json()["error"]["message"]
    r = client.delete("/v1/documents/b.md", headers=_bearer(keys["both"]))
    assert r.status_code == 200


def test_only_an_admin_key_acts_for_another_tenant(
    scoped: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = scoped
    other = {"X-Ragline-Tenant": "globex"}
    r = client.get("/v1/documents", headers={**_bearer(keys["root"]), **other})
    assert r.status_code == 200 and [d["id"] for d in r.json()["documents"]] == [
        "globex-docs/globex-only.md"
    ]
    r = client.get("/v1/documents", headers={**_bearer(keys["both"]), **other})
    assert r.status_code == 403 and "only an admin key" in r.json()["error"]["message"]
    r = client.get("/v1/documents", headers={**_bearer(keys["root"]), "X-Ragline-Tenant": "../x"})
    assert r.status_code == 400


def test_metrics_need_a_metrics_key_off_the_allow_list(
    scoped: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = scoped
    assert client.get("/metrics").status_code == 401
    r = client.get("/metrics", headers=_bearer(keys["asker"]))
    assert r.status_code == 403 and "metrics scope" in r.json()["error"]["hint"]
    for who in ("prom", "root"):
        r = client.get("/metrics", headers=_bearer(keys[who]))
        assert r.status_code == 200 and "ragline_asks" in r.text
        assert r.headers["content-type"].startswith("text/plain")


def test_docs_need_a_key_by_default(scoped: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = scoped
    assert client.get("/openapi.json").status_code == 401
    r = client.get("/openapi.json", headers=_bearer(keys["loader"]))  # any valid key
    assert r.status_code == 200 and "/v1/ask" in r.json()["paths"]
    page = client.get("/docs")  # the page asks for the key in the browser
    assert page.status_code == 200 and "Authorization" in page.text and "swagger" in page.text
    assert client.get("/redoc").status_code == 200


@pytest.mark.parametrize(("mode", "status"), [("off", 404), ("public", 200)])
def test_docs_off_or_public(tmp_path: Path, mode: str, status: int) -> None:
    (tmp_path / "ragline.yaml").write_text(CONFIG + f"server: {{docs: {mode}}}\n")
    with TestClient(create_app(Project(tmp_path), environ={"ACME_KEYS": "k"})) as client:
        assert client.get("/openapi.json").status_code == status
        assert client.get("/docs").status_code == status


def test_metrics_without_tenant_labels_name_no_tenant(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        CONFIG + "  globex: {api_keys_env: GLOBEX_KEYS}\n"
        "server: {metrics_tenant_labels: false, metrics_allow: []}\n"
    )
    keys = {"ACME_KEYS": "ka", "GLOBEX_KEYS": "kg"}
    with TestClient(create_app(Project(tmp_path), environ=keys)) as client:
        for k in ("ka", "kg"):
            assert client.post("/v1/ask", json={"question": "hi"}, headers=_bearer(k)).is_success
        create_key(tmp_path / KEYS, "acme", scopes=["metrics"])
        prom, _ = create_key(tmp_path / KEYS, "ops", scopes=["metrics"])
        time.sleep(0.01)
        text = ""

        def got_metrics() -> bool:
            nonlocal text
            r = client.get("/metrics", headers=_bearer(prom))
            text = r.text
            return r.status_code == 200

        _wait_for(got_metrics)
    assert 'ragline_asks_total{outcome="' in text
    assert "acme" not in text and "globex" not in text


def test_a_bad_config_value_for_metrics_allow_is_named(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(CONFIG + "server: {metrics_allow: [localhost]}\n")
    with pytest.raises(ConfigError, match="not an address or network"):
        Project(tmp_path).settings  # noqa: B018


# --------------------------------------------------------------------------- a running server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    root = make_project(tmp_path_factory.mktemp("live-keys"))
    with open(root / "ragline.yaml", "a", encoding="utf-8") as f:
        f.write("server: {keys_reload_s: 0.5}\n")
    with ServerProcess(root, env=KEYS_ENV) as proc:
        yield proc, root


def _status(proc: ServerProcess, key: str) -> int:
    return httpx.get(proc.url + "/v1/documents", headers=_bearer(key)).status_code


def test_keys_created_revoked_and_rotated_take_effect_without_a_restart(
    live: tuple[ServerProcess, Path],
) -> None:
    proc, root = live
    made = _cli(root, "keys", "create", "--tenant", "acme", "--name", "ci")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    _wait_for(lambda: _status(proc, key) == 200)

    rotated = _cli(root, "keys", "rotate", "ci", "--grace", "1h")
    assert rotated.returncode == 0, rotated.stderr
    fresh = rotated.stdout.strip()
    _wait_for(lambda: _status(proc, fresh) == 200)
    assert _status(proc, key) == 200  # the old key works through the grace period

    listing = json.loads(_cli(root, "keys", "list", "--json").stdout)
    old_id = next(k["id"] for k in listing if k["name"] == "ci" and k["expires"])
    revoked = _cli(root, "keys", "revoke", old_id)
    assert revoked.returncode == 0, revoked.stderr
    took = _wait_for(lambda: _status(proc, key) == 401, timeout=10)
    assert took < 10  # revocation is effective within seconds (keys_reload_s here: 0.5)
    assert _status(proc, fresh) == 200
    assert _status(proc, "rl_acme_test_key_0001") == 200  # env keys are untouched


def test_a_broken_keys_file_keeps_the_last_good_keys(live: tuple[ServerProcess, Path]) -> None:
    proc, root = live
    made = _cli(root, "keys", "create", "--tenant", "globex", "--name", "keep")
    key = made.stdout.strip()
    _wait_for(lambda: _status(proc, key) == 200)
    path = root / KEYS
    good = path.read_text()
    path.write_text("version: 2\nkeys: [{tenant: globex, hash: not-a-hash}]\n")
    try:
        # the server looks again on the next request after keys_reload_s
        _wait_for(lambda: _status(proc, key) == 200 and "keeping the previous" in proc.output())
        assert _status(proc, key) == 200  # a typo does not lock every client out
    finally:
        path.write_text(good)


def test_metrics_are_served_to_loopback_by_default(live: tuple[ServerProcess, Path]) -> None:
    proc, _ = live
    r = httpx.get(proc.url + "/metrics")  # from 127.0.0.1, no key
    assert r.status_code == 200 and "ragline_http_requests" in r.text


def test_keys_list_shows_when_a_key_was_last_used(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    key, entry = create_key(root / KEYS, "acme", name="used")
    unused, _ = create_key(root / KEYS, "acme", name="idle")
    with ServerProcess(root, env=KEYS_ENV) as proc:
        assert _status(proc, key) == 200
    used = read_usage(root / KEYS)  # written when the server stopped
    assert set(used) == {entry.id} and abs(used[entry.id] - time.time()) < 120
    listed = _cli(root, "keys", "list").stdout.splitlines()
    (row,) = [line for line in listed if " used " in line]
    assert "never" not in row
    (idle,) = [line for line in listed if " idle " in line]
    assert "never" in idle and unused not in "\n".join(listed)


def test_cli_refuses_bad_key_commands_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(CONFIG)
    env_key = KeyRing.env_keys(Project(tmp_path).settings, {"ACME_KEYS": "k"})[0]
    for args, message in [
        (("keys", "create", "--tenant", "acme", "--scope", "everything"), "unknown scope"),
        (("keys", "create", "--tenant", "acme", "--expires", "soon"), "bad --expires"),
        (("keys", "revoke", "nope"), "no API key 'nope'"),
        (("keys", "rotate", "nope", "--grace", "forever"), "bad --grace"),
    ]:
        r = _cli(tmp_path, *args)
        assert r.returncode != 0 and message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
    os.environ["ACME_KEYS"] = "k"
    try:
        r = _cli(tmp_path, "keys", "revoke", env_key.id)
    finally:
        del os.environ["ACME_KEYS"]
    assert r.returncode != 0 and "comes from the variable ACME_KEYS" in r.stderr


def _outside_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one."""
    try:
        names = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        names = []
    for *_, sockaddr in names:
        if not str(sockaddr[0]).startswith("127."):
            return str(sockaddr[0])
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    except OSError:
        return None
    return next((a for a in out if "." in a and not a.startswith("127.")), None)


def test_metrics_refuse_a_client_off_loopback_without_a_key(tmp_path: Path) -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    root = make_project(tmp_path)
    prom, _ = create_key(root / KEYS, "ops", scopes=["metrics"])
    with ServerProcess(root, env=KEYS_ENV, host="0.0.0.0") as proc:
        outside = f"http://{address}:{proc.port}/metrics"
        assert httpx.get(outside).status_code == 401
        assert httpx.get(outside, headers=acme()).status_code == 403
        assert httpx.get(outside, headers=globex()).status_code == 403
        r = httpx.get(outside, headers=_bearer(prom))
        assert r.status_code == 200 and "ragline_asks" in r.text
        assert httpx.get(proc.url + "/metrics").status_code == 200  # loopback still may
