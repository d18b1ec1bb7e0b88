"""Fixtures: one two-tenant project per test session, the dashboard app over it, and
clients logged in as acme, globex or the admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from ._project import ACME_KEY, GLOBEX_KEY, KEYS_ENV, admin_key, make_project


@pytest.fixture(scope="session")
def ui_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("ui-kb"))


@pytest.fixture(scope="session")
def ui_admin_key(ui_root: Path) -> str:
    return admin_key(ui_root)


def login(client: TestClient | httpx.Client, key: str, next_url: str = "/") -> httpx.Response:
    """Log in through the form as a browser does (the login CSRF cookie, then POST)."""
    client.get("/login")
    token = client.cookies.get("ragline_login", path="/login") or ""
    return client.post(
        "/login", data={"key": key, "next": next_url, "csrf": token}, follow_redirects=False
    )


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@pytest.fixture(scope="module")
def app_client(ui_root: Path, ui_admin_key: str) -> Iterator[Callable[[str | None], TestClient]]:
    """``app_client(key)``: a fresh client of one app, logged in with ``key`` (None: not)."""
    from ragline.ui import dashboard_app

    app = dashboard_app(ui_root, environ=KEYS_ENV, notifiers=False)
    clients: list[TestClient] = []
    with TestClient(app) as first:
        clients.append(first)

        def make(key: str | None) -> TestClient:
            client = TestClient(app)
            clients.append(client)
            if key is not None:
                r = login(client, key)
                assert r.status_code == 303, r.text
            return client

        yield make
    for c in clients[1:]:
        c.close()


@pytest.fixture(scope="module")
def acme(app_client: Callable[[str | None], TestClient]) -> TestClient:
    return app_client(ACME_KEY)


@pytest.fixture(scope="module")
def globex(app_client: Callable[[str | None], TestClient]) -> TestClient:
    return app_client(GLOBEX_KEY)


@pytest.fixture(scope="module")
def admin(app_client: Callable[[str | None], TestClient], ui_admin_key: str) -> TestClient:
    return app_client(ui_admin_key)
