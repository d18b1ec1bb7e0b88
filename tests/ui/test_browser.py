"""The dashboard in a real browser: headless Chromium (Debian's ``chromium``, driven by
Playwright; no browser download) against a real ``ragline serve`` started once for the
module. Skipped, with the reason, when chromium or Playwright is not installed.

Every page must render with no console error (the strict Content-Security-Policy
reports anything loaded from elsewhere or run inline as one). With
``RAGLINE_SCREENSHOTS=DIR`` the main pages are saved there as PNG files (the README's
come from ``RAGLINE_SCREENSHOTS=docs/screenshots``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ragline.testing import ServerProcess

from ._project import ACME_KEY, GLOBEX_KEY, KEYS_ENV, admin_key, make_project

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="no chromium: apt-get install -y chromium"
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright is not installed: pip install -c constraints.txt -e '.[dev]'",
)

PAGES = {
    "overview": "/",
    "traces": "/traces",
    "feedback": "/feedback",
    "cases": "/cases",
    "evals": "/evals",
    "documents": "/documents",
    "playground": "/playground",
    "alerts": "/alerts",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    root = make_project(tmp_path_factory.mktemp("ui-browser"))
    key = admin_key(root)
    with ServerProcess(root, env=KEYS_ENV) as server:
        yield server, key


@pytest.fixture(scope="module")
def server(served: tuple[ServerProcess, str]) -> ServerProcess:
    return served[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


class Console:
    """The console errors and uncaught exceptions of one page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def _message(self, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(f"{msg.text} @ {msg.location.get('url', '')}")


@pytest.fixture()
def page(browser: Browser) -> Iterator[tuple[Page, Console]]:
    context = browser.new_context(viewport={"width": 1366, "height": 850})
    p = context.new_page()
    yield p, Console(p)
    context.close()


def _login(page: Page, server: ServerProcess, key: str, path: str = "/") -> None:
    page.goto(server.url + path)
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _ask(server: ServerProcess, question: str, key: str = ACME_KEY) -> str:
    r = httpx.post(
        server.url + "/v1/ask",
        json={"question": question},
        headers=server.auth(key),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    trace_id: str = r.json()["trace_id"]
    return trace_id


def test_every_page_renders_without_console_errors(
    page: tuple[Page, Console], served: tuple[ServerProcess, str]
) -> None:
    server, key = served
    p, console = page
    _ask(server, "How long is the battery warranty?")
    _login(p, server, key)  # the admin sees every page
    shots = os.environ.get("RAGLINE_SCREENSHOTS")
    for name, path in PAGES.items():
        response = p.goto(server.url + path)
        assert response is not None and response.status == 200, (name, response)
        p.wait_for_load_state("networkidle")
        assert p.locator("h1").count() == 1
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            p.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=False)
    p.goto(server.url + "/traces")
    trace = p.locator("table.list a[href^='/traces/']").first
    trace.click()
    p.wait_for_load_state("networkidle")
    assert p.locator("svg.waterfall").count() == 1
    if shots:
        p.screenshot(path=str(Path(shots) / "trace.png"), full_page=False)
    assert console.errors == []


def test_log_in_find_a_trace_add_feedback_and_make_a_case(
    page: tuple[Page, Console], server: ServerProcess
) -> None:
    p, console = page
    trace_id = _ask(server, "Are shipping costs refunded?")
    _login(p, server, ACME_KEY, "/traces")
    assert p.url.endswith("/traces")
    p.fill("input[name=text]", "shipping costs")
    p.click("form.filters button[type=submit]")  # htmx swaps the results, pushes the URL
    p.wait_for_url("**/traces?*text=shipping*")
    link = p.locator(f"a[href='/traces/{trace_id}']")
    link.wait_for()
    assert p.locator("table.list tbody tr").count() == 1
    link.click()
    p.wait_for_url(f"**/traces/{trace_id}")
    p.select_option("#fb-kind", "hallucination")
    p.fill("#fb-note", "shipping is refunded for defects")
    p.click("text=Add feedback")
    p.wait_for_load_state("networkidle")
    assert p.locator("text=Feedback recorded.").count() == 1
    p.click("text=Make regression case")
    p.wait_for_url("**/cases?added=*")
    assert p.locator(f"text=trace-{trace_id}").count() >= 1
    p.goto(server.url + "/feedback")
    assert p.locator(f"a[href='/traces/{trace_id}']").count() == 1
    assert console.errors == []


def test_ask_in_the_playground_and_see_the_streamed_answer(
    page: tuple[Page, Console], server: ServerProcess
) -> None:
    p, console = page
    _login(p, server, ACME_KEY, "/playground")
    p.fill("#question", "How long is the battery warranty?")
    p.click("#ask-form button[type=submit]")
    sync_api.expect(p.locator("#status")).to_have_text("done", timeout=60_000)
    assert "2 years" in p.inner_text("#answer")
    assert p.locator("#hits li").count() >= 1
    sync_api.expect(p.locator("#hits-a li").first).to_be_visible()  # two settings side by side
    sync_api.expect(p.locator("#hits-b li").first).to_be_visible()
    assert p.inner_text("#label-b") == "keyword"
    p.click("text=Open the trace")
    p.wait_for_url("**/traces/*")
    assert "How long is the battery warranty?" in p.inner_text("main")
    assert console.errors == []


def test_a_tenant_cannot_open_another_tenants_trace_by_url(
    page: tuple[Page, Console], server: ServerProcess
) -> None:
    p, _ = page
    theirs = _ask(server, "When does Project Hammer launch?", GLOBEX_KEY)
    _login(p, server, ACME_KEY)
    response = p.goto(f"{server.url}/traces/{theirs}")
    assert response is not None and response.status == 404
    assert "Project Hammer" not in p.content()
    p.goto(server.url + "/traces")
    assert theirs not in p.content()


def test_an_expired_session_goes_back_to_login_and_then_to_the_page(
    page: tuple[Page, Console], server: ServerProcess
) -> None:
    p, _ = page
    _login(p, server, ACME_KEY)
    p.context.clear_cookies()
    p.goto(server.url + "/traces?text=warranty")
    assert "/login" in p.url
    p.fill("#key", ACME_KEY)
    p.click("button[type=submit]")
    p.wait_for_url("**/traces?text=warranty")
    assert p.input_value("input[name=text]") == "warranty"
