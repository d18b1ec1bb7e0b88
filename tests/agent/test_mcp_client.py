"""The agent's MCP client against our own ``ragline mcp`` server: a real stdio process
and a real streamable-HTTP server on loopback — list the tools, call them, plain data
back, and every failure a clear ``MCPToolError``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline._project import Project
from ragline.agent import MCPClient, MCPTool, close_mcp_tools, mcp_tools
from ragline.config import MCPServerSettings, Settings
from ragline.errors import ConfigError, MCPToolError
from ragline.testing import ServerProcess

pytest.importorskip("mcp", reason="MCP tools need the MCP SDK (pip install 'ragline[mcp]')")

REPO = Path(__file__).resolve().parents[2]
KEY = "rl_acme_mcp_client_key_01"
CONFIG = "embedder: hash\ntenants:\n  acme:\n    api_keys_env: ACME_KEYS\n"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mcp-client-kb")
    (root / "ragline.yaml").write_text(CONFIG, encoding="utf-8")
    with Project(root) as project:
        project.ingest([REPO / "examples" / "sample-kb" / "warranty-policy.md"], tenant="acme")
        project.ingest([REPO / "examples" / "sample-kb" / "shipping.md"], tenant="acme")
    return root


def stdio_spec(kb: Path, *args: str, **extra: object) -> MCPServerSettings:
    return MCPServerSettings(
        command=sys.executable,
        args=["-m", "ragline.cli", "-C", str(kb), "mcp", *args],
        env={"ACME_KEYS": KEY, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def stdio_tools(kb: Path) -> Iterator[list[MCPTool]]:
    tools = mcp_tools(stdio_spec(kb, "--api-key", KEY), name="kb")
    yield tools
    close_mcp_tools(tools)


def test_lists_the_servers_tools_as_plain_data(stdio_tools: list[MCPTool]) -> None:
    by_name = {t.name: t for t in stdio_tools}
    assert set(by_name) == {"kb__search", "kb__ask", "kb__get_document"}
    search = by_name["kb__search"]
    assert (search.tool, search.server) == ("search", "kb")
    assert "knowledge base" in search.description
    assert search.parameters["type"] == "object"
    assert search.parameters["required"] == ["query"]
    assert callable(search.call)


def test_calls_return_the_structured_result(stdio_tools: list[MCPTool]) -> None:
    by_name = {t.tool: t for t in stdio_tools}
    found = by_name["search"].call({"query": "frame warranty", "k": 2})
    assert isinstance(found, dict) and found["tenant"] == "acme"
    assert 1 <= len(found["hits"]) <= 2 and found["hits"][0]["n"] == 1
    answer = by_name["ask"].call({"question": "How long is the frame warranty?"})
    assert isinstance(answer, dict) and answer["citations"] and "[1]" in answer["answer"]
    doc = by_name["get_document"].call({"document_id": found["hits"][0]["document_id"]})
    assert isinstance(doc, dict) and doc["text"]


def test_a_tool_error_is_an_mcp_tool_error_and_the_session_survives(
    stdio_tools: list[MCPTool],
) -> None:
    by_name = {t.tool: t for t in stdio_tools}
    with pytest.raises(MCPToolError, match="question: is blank") as caught:
        by_name["ask"].call({"question": " "})
    assert (caught.value.server, caught.value.tool) == ("kb", "ask")
    with pytest.raises(MCPToolError, match="k"):
        by_name["search"].call({"query": "x", "k": "many"})  # invalid arguments
    with pytest.raises(MCPToolError, match="JSON object"):
        by_name["search"].call(["not", "a", "dict"])  # type: ignore[arg-type]
    assert by_name["search"].call({"query": "shipping", "k": 1})  # still connected


def test_only_the_configured_tools(kb: Path) -> None:
    tools = mcp_tools(stdio_spec(kb, "--api-key", KEY, tools=["search"]), name="kb")
    try:
        assert [t.name for t in tools] == ["kb__search"]
    finally:
        close_mcp_tools(tools)
    with pytest.raises(ConfigError, match="has no tool 'lookup_order'"):
        mcp_tools(stdio_spec(kb, "--api-key", KEY, tools=["lookup_order"]), name="kb")


def test_a_server_that_refuses_to_start_is_a_clear_error(kb: Path) -> None:
    with pytest.raises(MCPToolError, match="cannot connect to MCP server 'kb'"):
        mcp_tools(stdio_spec(kb, "--api-key", "rl_wrong"), name="kb")
    missing = MCPServerSettings(command="/nonexistent/mcp-server")
    with pytest.raises(MCPToolError, match="cannot connect to MCP server 'gone'"):
        mcp_tools(missing, name="gone")


def test_a_closed_session_says_so(kb: Path) -> None:
    client = MCPClient("kb", stdio_spec(kb, "--tenant", "acme"))
    (search,) = [t for t in client.tools() if t.tool == "search"]
    client.close()
    client.close()  # twice is fine
    with pytest.raises(MCPToolError, match="closed"):
        search.call({"query": "warranty"})


# -- streamable HTTP -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_server(kb: Path) -> Iterator[ServerProcess]:
    with ServerProcess(
        kb, env={"ACME_KEYS": KEY}, command=("mcp", "--http"), ready_path="/mcp", ready_status=401
    ) as server:
        yield server


def test_http_with_the_key_from_its_env_var(http_server: ServerProcess) -> None:
    spec = MCPServerSettings(url=http_server.url + "/mcp", api_key_env="KB_KEY")
    tools = mcp_tools(spec, name="remote", environ={"KB_KEY": KEY})
    try:
        (ask,) = [t for t in tools if t.tool == "ask"]
        answer = ask.call({"question": "How long is the frame warranty?"})
        assert isinstance(answer, dict) and answer["citations"]
    finally:
        close_mcp_tools(tools)


def test_http_wrong_or_missing_key(http_server: ServerProcess) -> None:
    spec = MCPServerSettings(url=http_server.url + "/mcp", api_key_env="KB_KEY")
    with pytest.raises(MCPToolError, match="cannot connect to MCP server 'remote'"):
        mcp_tools(spec, name="remote", environ={"KB_KEY": "rl_wrong"})
    with pytest.raises(ConfigError, match="KB_KEY is not set"):
        mcp_tools(spec, name="remote", environ={})


# -- configuration -------------------------------------------------------------------------


def test_agent_mcp_servers_config() -> None:
    s = Settings.model_validate(
        {
            "agent": {
                "mcp_servers": {
                    "kb": {"command": "ragline", "args": ["mcp"]},
                    "crm": {"url": "https://crm.example/mcp", "api_key_env": "CRM_KEY"},
                }
            }
        }
    )
    assert s.agent.mcp_servers["kb"].command == "ragline"
    assert s.agent.mcp_servers["crm"].timeout_s == 30.0
    for bad in ({}, {"command": "x", "url": "http://y"}, {"url": "ftp://y"}):
        with pytest.raises(ValueError, match=r"command|url"):
            MCPServerSettings.model_validate(bad)
