"""``ragline mcp`` with the official MCP SDK's own client: a real ``ragline mcp``
process over stdio, and a real streamable-HTTP server on loopback — list the tools,
search, ask (citations present), read a document, and a wrong key refused."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from ragline.testing import ServerProcess

from ._kb import ACME_KEY, GLOBEX_KEY, KEYS_ENV

mcp = pytest.importorskip(
    "mcp", reason="ragline mcp needs the MCP SDK (pip install 'ragline[mcp]')"
)

TOOLS = {"search", "ask", "get_document"}


def stdio_params(project: Path, *args: str) -> Any:
    from mcp import StdioServerParameters

    env = {**KEYS_ENV, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "ragline.cli", "-C", str(project), "mcp", *args],
        env=env,
    )


def http_transport(url: str, key: str | None) -> Any:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers, timeout=60))


async def session_calls(server: Any) -> dict[str, Any]:
    """What a client sees: the tools, and one call of each."""
    from mcp import Client

    async with Client(server, read_timeout_seconds=120) as client:
        tools = (await client.list_tools()).tools
        search = await client.call_tool("search", {"query": "battery warranty", "k": 3})
        ask = await client.call_tool("ask", {"question": "How long is the battery warranty?"})
        doc_id = (
            search.structured_content["hits"][0]["document_id"] if search.structured_content else ""
        )
        doc = await client.call_tool("get_document", {"document_id": doc_id, "max_chars": 300})
        blank = await client.call_tool("ask", {"question": "   "})
        missing = await client.call_tool("get_document", {"document_id": "no-such-doc"})
        finance = await client.call_tool(
            "search", {"query": "revenue", "k": 3, "filters": {"doc_type": "finance"}}
        )
        return {
            "tools": {t.name: t for t in tools},
            "search": search,
            "ask": ask,
            "doc": doc,
            "blank": blank,
            "missing": missing,
            "finance": finance,
        }


def check_session(seen: dict[str, Any], *, tenant: str) -> None:
    assert set(seen["tools"]) == TOOLS
    schema = seen["tools"]["search"].input_schema
    assert schema["required"] == ["query"] and "k" in schema["properties"]
    search = seen["search"]
    assert not search.is_error, search.content
    hits = search.structured_content["hits"]
    assert 1 <= len(hits) <= 3 and [h["n"] for h in hits] == list(range(1, len(hits) + 1))
    assert search.structured_content["tenant"] == tenant
    assert json.loads(search.content[0].text) == search.structured_content  # the same as text
    ask = seen["ask"]
    assert not ask.is_error, ask.content
    answer = ask.structured_content
    assert answer["abstained"] is False and "[1]" in answer["answer"]
    assert answer["citations"] and answer["citations"][0]["n"] == 1
    assert all(c["document_id"] and c["title"] for c in answer["citations"])
    assert any("warranty" in c["source"] for c in answer["citations"])
    doc = seen["doc"].structured_content
    assert doc["id"] == hits[0]["document_id"] and len(doc["text"]) <= 300
    blank, missing = seen["blank"], seen["missing"]
    assert blank.is_error and "question: is blank" in blank.content[0].text
    assert missing.is_error and "no document 'no-such-doc'" in missing.content[0].text
    finance = seen["finance"].structured_content["hits"]
    assert finance and all("annual-report" in h["source"] for h in finance), finance


# -- stdio ---------------------------------------------------------------------------------


def test_stdio_serves_the_keys_tenant(two_tenant_dir: Path) -> None:
    seen = anyio.run(session_calls, stdio_params(two_tenant_dir, "--api-key", ACME_KEY))
    check_session(seen, tenant="acme")


def test_stdio_tenant_isolation(two_tenant_dir: Path) -> None:
    """A globex key over stdio sees globex's documents, never acme's."""
    from mcp import Client

    async def run() -> Any:
        async with Client(stdio_params(two_tenant_dir, "--api-key", GLOBEX_KEY)) as client:
            return await client.call_tool("search", {"query": "battery warranty", "k": 5})

    result = anyio.run(run)
    sources = {h["source"] for h in result.structured_content["hits"]}
    assert sources and all("globex" in s for s in sources), sources


def test_stdio_refuses_a_wrong_key_at_start(two_tenant_dir: Path) -> None:
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ragline.cli",
            "-C",
            str(two_tenant_dir),
            "mcp",
            "--api-key",
            "rl_wrong",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **KEYS_ENV},
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: the API key is unknown or expired — use a key from `ragline keys create "
        "--tenant NAME`, or pass --tenant"
    ], done.stderr
    assert done.stdout == ""  # nothing on the protocol channel


# -- streamable HTTP -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def mcp_http(two_tenant_dir: Path) -> Iterator[ServerProcess]:
    with ServerProcess(
        two_tenant_dir,
        env=KEYS_ENV,
        command=("mcp", "--http"),
        ready_path="/mcp",
        ready_status=401,  # up, and refusing a request without a key
    ) as server:
        yield server


def test_http_serves_the_tenant_of_the_bearer_key(mcp_http: ServerProcess) -> None:
    seen = anyio.run(session_calls, http_transport(mcp_http.url + "/mcp", ACME_KEY))
    check_session(seen, tenant="acme")


@pytest.mark.parametrize("key", [None, "rl_wrong_key", GLOBEX_KEY + "x"])
def test_http_refuses_a_missing_or_wrong_key(mcp_http: ServerProcess, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"},
        },
    }
    r = httpx.post(
        mcp_http.url + "/mcp",
        json=init,
        headers={**headers, "Accept": "application/json, text/event-stream"},
        timeout=30,
    )
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "missing or invalid API key"

    from mcp import Client

    async def connect() -> None:
        async with Client(http_transport(mcp_http.url + "/mcp", key)) as client:
            await client.list_tools()

    from mcp import MCPError

    with pytest.raises(BaseException) as caught:  # the SDK's error, maybe in a task group
        anyio.run(connect)
    assert any(isinstance(e, MCPError) for e in leaves(caught.value)), caught.value


def leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for e in error.exceptions for leaf in leaves(e)]
    return [error]


def test_http_keys_keep_tenants_apart(mcp_http: ServerProcess) -> None:
    from mcp import Client

    async def run() -> Any:
        async with Client(http_transport(mcp_http.url + "/mcp", GLOBEX_KEY)) as client:
            return await client.call_tool("search", {"query": "Project Hammer launch", "k": 5})

    result = anyio.run(run)
    assert result.structured_content["tenant"] == "globex"
    assert {h["source"] for h in result.structured_content["hits"]} <= {str(p) for p in []} or all(
        "globex" in h["source"] for h in result.structured_content["hits"]
    )


# -- who is asking, without a server -------------------------------------------------------


def test_http_tenant_rules_match_the_rest_server(tmp_path: Path) -> None:
    from ragline._project import Project
    from ragline.server._auth import KeyRing, LiveKeys, hash_key
    from ragline.server._mcp import KeyTenants

    ring = KeyRing({hash_key(ACME_KEY): "acme"})
    (tmp_path / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    with Project(tmp_path) as project:
        no_keys = KeyTenants(project, LiveKeys.fixed(KeyRing()))
        assert no_keys.tenant({}) == "default"  # no keys yet: open, as /v1/ask
        keyed = KeyTenants(project, LiveKeys.fixed(ring))
        assert keyed.tenant({"Authorization": f"Bearer {ACME_KEY}"}) == "acme"
        assert keyed.tenant({"X-API-Key": ACME_KEY}) == "acme"
        assert keyed.tenant({"Authorization": "Bearer nope"}) is None
        assert keyed.tenant(None) is None
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nserver:\n  auth: 'off'\n", encoding="utf-8"
    )
    with Project(tmp_path) as project:
        off = KeyTenants(project, LiveKeys.fixed(ring))
        assert off.tenant({}) == "default"
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nserver:\n  auth: required\n", encoding="utf-8"
    )
    with Project(tmp_path) as project:
        required = KeyTenants(project, LiveKeys.fixed(KeyRing()))
        assert required.tenant({}) is None  # no keys and auth required: nobody gets in
