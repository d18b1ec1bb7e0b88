"""Logging in to the dashboard: API keys, the session cookie, CSRF, and turning it off."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ._project import ACME_KEY, KEYS_ENV
from .conftest import csrf_of, login


def test_a_page_without_a_session_goes_to_the_login_form_keeping_the_address(
    app_client: Callable[[str | None], TestClient],
) -> None:
    client = app_client(None)
    r = client.get("/traces?text=battery&status=ok", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Ftraces%3Ftext%3Dbattery%26status%3Dok"
    form = client.get(r.headers["location"])
    assert form.status_code == 200 and 'name="key"' in form.text
    assert 'value="/traces?text=battery&amp;status=ok"' in form.text  # kept through the form
    r = login(client, ACME_KEY, "/traces?text=battery&status=ok")
    assert r.status_code == 303 and r.headers["location"] == "/traces?text=battery&status=ok"


def test_the_session_cookie_is_http_only_and_same_site_and_holds_no_key(
    app_client: Callable[[str | None], TestClient],
) -> None:
    client = app_client(None)
    r = login(client, ACME_KEY)
    cookie = r.headers["set-cookie"]
    assert "ragline_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert ACME_KEY not in cookie
    page = client.get("/")
    assert page.status_code == 200 and "tenant <b>acme</b>" in page.text
    assert ACME_KEY not in page.text


def test_a_wrong_key_is_refused_on_the_form(
    app_client: Callable[[str | None], TestClient],
) -> None:
    client = app_client(None)
    r = login(client, "rl_not_a_key")
    assert r.status_code == 401 and "Unknown or expired API key" in r.text
    assert client.get("/", follow_redirects=False).status_code == 303  # still logged out


def test_the_login_form_needs_its_own_token_and_never_redirects_off_site(
    app_client: Callable[[str | None], TestClient],
) -> None:
    client = app_client(None)
    r = client.post("/login", data={"key": ACME_KEY, "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403 and "expired" in r.text
    assert "ragline_session" not in r.headers.get("set-cookie", "")
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = login(client, ACME_KEY, evil)
        assert r.status_code == 303 and r.headers["location"] == "/"


def test_a_tampered_or_expired_session_goes_back_to_login(
    app_client: Callable[[str | None], TestClient],
) -> None:
    client = app_client(None)
    login(client, ACME_KEY)
    cookie = client.cookies.get("ragline_session") or ""
    client.cookies.clear()
    client.cookies.set("ragline_session", cookie[:-3] + "abc")
    r = client.get("/feedback?kind=good", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2Ffeedback%3Fkind%3Dgood")
    assert "expired=1" in r.headers["location"]
    sessions = client.app.state.ui_sessions  # type: ignore[attr-defined]
    from ragline.server._auth import hash_key

    old = sessions.issue(key_hash=hash_key(ACME_KEY), tenant="acme", now=0.0)
    client.cookies.clear()
    client.cookies.set("ragline_session", old)
    assert client.get("/", follow_redirects=False).status_code == 303
    assert "Your session has ended" in client.get("/login?next=/&expired=1").text


def test_state_changing_forms_need_the_csrf_token_and_change_nothing_without_it(
    acme: TestClient,
) -> None:
    r = acme.post(
        "/v1/ask",
        json={"question": "How long is the battery warranty?"},
        headers={"Authorization": f"Bearer {ACME_KEY}"},
    )
    trace_id = r.json()["trace_id"]
    for token in (None, "wrong"):
        data = {"kind": "hallucination", "note": "csrf"}
        if token:
            data["csrf"] = token
        r = acme.post(f"/traces/{trace_id}/feedback", data=data, follow_redirects=False)
        assert r.status_code == 403 and "nothing was changed" in r.text
    stored = acme.get(f"/v1/traces/{trace_id}", headers={"Authorization": f"Bearer {ACME_KEY}"})
    assert stored.json()["feedback"] == []
    page = acme.get(f"/traces/{trace_id}").text
    r = acme.post("/logout", follow_redirects=False)
    assert r.status_code == 403  # logging out is a form too
    r = acme.post("/logout", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_ui_enabled_false_serves_no_pages_and_the_api_still_answers(tmp_path: Path) -> None:
    from ragline.ui import dashboard_app

    from ._project import CONFIG, make_project

    root = make_project(
        tmp_path / "p", CONFIG.replace("ui:\n  page_size: 5", "ui:\n  enabled: false")
    )
    with TestClient(dashboard_app(root, environ=KEYS_ENV, notifiers=False)) as client:
        assert client.get("/", follow_redirects=False).status_code == 404
        assert client.get("/login").status_code == 404
        assert client.get("/ui/static/htmx.min.js").status_code == 404
        r = client.get("/v1/traces", headers={"Authorization": f"Bearer {ACME_KEY}"})
        assert r.status_code == 200


def test_a_server_without_keys_is_open_to_its_default_tenant(tmp_path: Path) -> None:
    from ragline.ui import dashboard_app

    root = tmp_path / "open"
    root.mkdir()
    (root / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    with TestClient(dashboard_app(root, notifiers=False)) as client:
        r = client.get("/traces")  # via /login, which starts the session at once
        assert r.status_code == 200 and "tenant <b>default</b>" in r.text
        assert "Log out" not in r.text


def test_a_missing_or_short_session_secret_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ragline.errors import ConfigError
    from ragline.ui._session import Sessions

    monkeypatch.setenv("UI_SECRET", "short")
    with pytest.raises(ConfigError, match="UI_SECRET") as e:
        Sessions.from_env("UI_SECRET", hours=1)
    assert e.value.hint and "export UI_SECRET=" in e.value.hint
    monkeypatch.setenv("UI_SECRET", "x" * 32)
    one, two = Sessions.from_env("UI_SECRET", hours=1), Sessions.from_env("UI_SECRET", hours=1)
    assert two.read(one.issue(key_hash="h", tenant="acme")) is not None  # shared by workers
