"""``http_get``: off by default; only allowed hosts and prefixes (each redirect hop
checked); time and size limits; refusals are tool errors the model reads. A real HTTP
server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ragline import Project
from ragline._config_http_get import HttpGetSettings
from ragline._http_allow import parse_entry, refusal
from ragline.agent import Agent
from ragline.agent._http_get import http_get_tool
from ragline.errors import ConfigError
from ragline.store import MemoryStore
from ragline.testing import FakeModel, HashEmbedder, tool_turn

BIG = 1_000_000


class Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        Handler.hits.append(self.path)
        port = self.server.server_address[1]
        if self.path == "/status/battery":
            self._send(200, b"battery recall: none open")
        elif self.path == "/api/v1/order":
            self._send(200, b'{"order": 1042, "state": "shipped"}', "application/json")
        elif self.path == "/big":
            self._send(200, b"x" * BIG)
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, b"late")
        elif self.path == "/png":
            self._send(200, b"\x89PNG....", "image/png")
        elif self.path == "/missing":
            self._send(404, b"no such page")
        elif self.path.startswith("/to/"):
            target = self.path[len("/to") :]
            if target == "/outside":
                target = "http://example.invalid/steal"
            elif target == "/other-port":
                target = f"http://127.0.0.1:{port + 1}/x"
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"?")


class Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that stopped reading (the size and time limits) is expected


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def fetch(host: str, path: str, **settings: Any) -> dict[str, Any]:
    t = http_get_tool(HttpGetSettings(allow=settings.pop("allow", [host]), **settings))
    result: dict[str, Any] = t.fn(url=f"http://{host}{path}")
    return result


# -- fetching -----------------------------------------------------------------------


def test_an_allowed_host_is_fetched_as_text(server: str) -> None:
    got = fetch(server, "/status/battery")
    assert got["status"] == 200 and got["text"] == "battery recall: none open"
    assert got["truncated"] is False and got["content_type"].startswith("text/plain")
    got = fetch(server, "/api/v1/order", allow=[f"http://{server}/api/v1/"])
    assert got["text"] == '{"order": 1042, "state": "shipped"}'


def test_an_error_status_is_a_result_the_model_reads(server: str) -> None:
    got = fetch(server, "/missing")
    assert (got["status"], got["text"]) == (404, "no such page")


def test_a_big_body_is_cut_at_max_bytes(server: str) -> None:
    got = fetch(server, "/big", max_bytes=5_000)
    assert len(got["text"]) == 5_000 and got["truncated"] is True


def test_a_slow_server_is_a_timeout_error(server: str) -> None:
    from ragline.errors import ToolError

    with pytest.raises(ToolError, match=r"did not answer within 0.3 s.*timeout_s"):
        fetch(server, "/slow", timeout_s=0.3)


def test_binary_content_is_refused(server: str) -> None:
    from ragline.errors import ToolError

    with pytest.raises(ToolError, match="'image/png', not text"):
        fetch(server, "/png")


def test_redirects_are_followed_only_inside_the_allowlist(server: str) -> None:
    from ragline.errors import ToolError

    got = fetch(server, "/to/status/battery")
    assert got["text"] == "battery recall: none open" and got["requested"].endswith(
        "/to/status/battery"
    )
    Handler.hits.clear()
    with pytest.raises(ToolError, match=r"redirects to 'http://example\.invalid/steal' is not on"):
        fetch(server, "/to/outside")
    with pytest.raises(ToolError, match="is not on the allowlist"):
        fetch(server, "/to/other-port")
    with pytest.raises(ToolError, match="more than 2 times"):
        fetch(server, "/loop", max_redirects=2)
    assert "/steal" not in "".join(Handler.hits)


def test_a_refused_url_is_never_requested(server: str) -> None:
    from ragline.errors import ToolError

    Handler.hits.clear()
    with pytest.raises(ToolError, match="not on the allowlist"):
        fetch(server, "/status/battery", allow=[f"http://{server}/api/"])
    assert Handler.hits == []


# -- the allowlist --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.example.com/v1/orders?id=1", True),
        ("https://api.example.com/v1", True),
        ("https://API.example.com/v1/x", True),
        ("https://api.example.com/v10/x", False),
        ("https://api.example.com/admin", False),
        ("http://api.example.com/v1/x", False),  # another scheme
        ("https://api.example.com:8443/v1/x", False),  # another port
        ("https://api.example.com.evil.net/v1/x", False),
        ("https://api.example.com@evil.net/v1/x", False),
        ("https://user:pw@api.example.com/v1/x", False),
        ("https://api.example.com/v1/../admin", False),
        ("https://api.example.com/v1/%2e%2e/admin", False),
        ("file:///etc/passwd", False),
        ("https://status.example.com/anything", True),  # a bare host: any path
        ("http://status.example.com/", True),
        ("not a url", False),
    ],
)
def test_the_allowlist_compares_parsed_urls(url: str, allowed: bool) -> None:
    entries = [parse_entry("https://api.example.com/v1/"), parse_entry("status.example.com")]
    assert (refusal(url, entries) is None) is allowed


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("ftp://files.example.com", "only http and https"),
        ("https://u:p@x.example.com", "user name or password"),
        ("example.com/path", "a path needs a scheme"),
        ("https://x.example.com/a?b=1", "without \\? or #"),
        ("", "empty"),
    ],
)
def test_a_bad_entry_is_a_config_error_naming_it(entry: str, says: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=says):
        Project(tmp_path, store=MemoryStore(), overrides={"agent.http_get.allow": [entry]})


# -- in the agent ---------------------------------------------------------------------


def _offered(model: FakeModel) -> list[str]:
    return [t.name for t in model.calls[0].tools or []]


def test_http_get_is_off_by_default_and_on_with_an_allowlist(tmp_path: Path, server: str) -> None:
    p = Project(tmp_path, store=MemoryStore(), embedder=HashEmbedder())
    model = FakeModel(["hi"])
    p.agent(model=model).run("hello")
    assert "http_get" not in _offered(model)

    p = Project(
        tmp_path,
        store=MemoryStore(),
        embedder=HashEmbedder(),
        overrides={"agent.http_get.allow": [server]},
    )
    model = FakeModel(
        [
            tool_turn(
                ("http_get", {"url": f"http://{server}/status/battery"}),
                ("http_get", {"url": "https://example.invalid/"}),
            ),
            "No battery recall is open.",
        ]
    )
    run = p.agent(model=model).run("is there a battery recall?")
    assert "http_get" in _offered(model)
    ok, refused = run.tool_calls
    assert ok["ok"] and ok["content"]["text"] == "battery recall: none open"
    assert not refused["ok"] and "not on the allowlist" in refused["error"]["message"]
    assert run.stop_reason == "completed"


def test_the_agent_bounds_a_hanging_fetch_with_its_tool_timeout(server: str) -> None:
    from ragline.agent import AgentLimits

    t = http_get_tool(HttpGetSettings(allow=[server], timeout_s=30))
    model = FakeModel([tool_turn(("http_get", {"url": f"http://{server}/slow"})), "done"])
    run = Agent(model, tools=[t], limits=AgentLimits(tool_timeout_s=0.5)).run("x")
    (call,) = run.tool_calls
    assert not call["ok"] and call["error"]["type"] == "timeout"
