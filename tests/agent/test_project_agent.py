"""``Project.agent()``: the agent on a real project — the knowledge base through the
pipeline, per tenant; user tools from config; clear errors at start; memory per user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragline import Project
from ragline.errors import ConfigError
from ragline.store import MemoryStore
from ragline.testing import FakeModel, HashEmbedder, lookup_order, tool_turn

REPO = Path(__file__).resolve().parents[2]
KB = REPO / "examples" / "sample-kb"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("agent-kb")
    p = Project(root, store=MemoryStore(), embedder=HashEmbedder())
    p.ingest([KB / "warranty-policy.md", KB / "returns-and-refunds.md"], tenant="acme")
    p.ingest([KB / "shipping.md"], tenant="globex")
    return p


def test_the_agent_searches_the_tenant_kb_and_cites_it(project: Project) -> None:
    model = FakeModel(
        [
            tool_turn(
                ("search_knowledge_base", {"query": "frame warranty defects years"}),
                ("lookup_order", {"order_id": 1042}),
            ),
            "The frame is covered against defects in materials and workmanship [1].",
        ]
    )
    run = project.agent(tenant="acme", model=model, tools=[lookup_order]).run(
        "My order 1042 arrived with a cracked frame. Is it under warranty?"
    )
    assert run.stop_reason == "completed"
    assert run.references and run.references[0].document_id.endswith("warranty-policy.md")
    hits = json.loads(next(m for m in model.calls[1].messages if m.role == "tool").content)["hits"]
    assert all("warranty" in h["document_id"] or "returns" in h["document_id"] for h in hits)
    spans = project.get_trace(run.trace_id or "", tenant="acme")
    names = {s.name for s in spans}
    assert names >= {"agent", "agent.step", "agent.tool", "ragline.search"}


def test_another_tenants_documents_are_never_found(project: Project) -> None:
    model = FakeModel(
        [tool_turn(("search_knowledge_base", {"query": "shipping delivery days"})), "no"]
    )
    project.agent(tenant="acme", model=model).run("how long is shipping?")
    hits = json.loads(next(m for m in model.calls[1].messages if m.role == "tool").content)["hits"]
    assert not any("shipping" in h["document_id"] for h in hits)


def test_get_document_reads_a_document_and_an_unknown_one_is_a_tool_error(project: Project) -> None:
    doc_id = project.search("warranty", tenant="acme")[0].chunk.document_id
    model = FakeModel(
        [
            tool_turn(
                ("get_document", {"document_id": doc_id}), ("get_document", {"document_id": "nope"})
            ),
            "ok",
        ]
    )
    run = project.agent(tenant="acme", model=model).run("read it")
    assert run.tool_calls[0]["ok"] and "Frame" in run.tool_calls[0]["content"]["text"]
    assert run.tool_calls[1]["error"]["type"] == "tool_error"
    assert "no document 'nope'" in run.tool_calls[1]["error"]["message"]


USER_TOOLS = '''
def loyalty_points(customer: str) -> dict[str, object]:
    """Loyalty points of a customer.

    Args:
        customer: the customer's email
    """
    return {"customer": customer, "points": 120}
'''


@pytest.fixture
def tool_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "acme_tools.py").write_text(USER_TOOLS, encoding="utf-8")
    (folder / "acme_broken.py").write_text(
        'raise RuntimeError("needs CRM_URL")\n', encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_user_tools_from_config(tmp_path: Path, tool_modules: Path) -> None:
    p = Project(
        tmp_path,
        store=MemoryStore(),
        embedder=HashEmbedder(),
        overrides={"agent.tools": ["acme_tools:loyalty_points"], "agent.builtins": []},
    )
    model = FakeModel([tool_turn(("loyalty_points", {"customer": "a@b.c"})), "120 points."])
    run = p.agent(model=model).run("points?")
    assert [t.name for t in model.calls[0].tools or []] == ["loyalty_points"]
    assert run.tool_calls[0]["content"] == {"customer": "a@b.c", "points": 120}


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("acme_broken:x", "cannot import 'acme_broken'.*RuntimeError: needs CRM_URL"),
        ("no_such_module_here:x", "cannot import 'no_such_module_here'"),
        ("acme_tools:missing", "'acme_tools' has no 'missing'"),
    ],
)
def test_a_user_tool_that_cannot_load_is_a_config_error_at_start(
    tmp_path: Path, tool_modules: Path, path: str, says: str
) -> None:
    p = Project(
        tmp_path, store=MemoryStore(), embedder=HashEmbedder(), overrides={"agent.tools": [path]}
    )
    model = FakeModel([])
    with pytest.raises(ConfigError, match=says):
        p.agent(model=model)
    assert model.calls == []


def test_the_extractive_model_cannot_be_the_agent(tmp_path: Path) -> None:
    p = Project(tmp_path, store=MemoryStore(), embedder=HashEmbedder())
    with pytest.raises(ConfigError, match=r"calls tools.*agent\.model"):
        p.agent()


def test_bad_agent_config_says_which_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="agent"):
        Project(tmp_path, overrides={"agent.builtins": ["rm_rf"]})


def test_memory_per_user_across_runs(project: Project) -> None:
    first = FakeModel(["I will ship you a replacement battery next week."])
    project.agent(tenant="acme", model=first).run(
        "My battery died. Please send a replacement battery for order 1044.", user="ann"
    )
    second = FakeModel(["Yes."])
    run = project.agent(tenant="acme", model=second).run(
        "What about my replacement battery?", user="ann"
    )
    system = "\n".join(m.content for m in second.calls[0].messages if m.role == "system")
    assert "Memory of earlier conversations" in system and "battery" in system
    assert run.memories >= 1
    other = FakeModel(["?"])
    project.agent(tenant="acme", model=other).run("What about my replacement battery?", user="bob")
    assert "Memory of earlier" not in "\n".join(m.content for m in other.calls[0].messages)
    elsewhere = FakeModel(["?"])
    project.agent(tenant="globex", model=elsewhere).run(
        "What about my replacement battery?", user="ann"
    )
    assert "Memory of earlier" not in "\n".join(m.content for m in elsewhere.calls[0].messages)


def test_mcp_tools_go_through_the_same_tool_interface() -> None:
    from ragline.agent import Agent, MCPTool
    from ragline.agent._build import mcp_tool
    from ragline.errors import MCPToolError

    def call(arguments: dict[str, object]) -> dict[str, object]:
        if arguments.get("order_id") == 1:
            raise MCPToolError("crm: no such order", server="crm", tool="lookup_order")
        return {"status": "shipped", "got": arguments}

    schema = {"type": "object", "properties": {"order_id": {"type": "integer"}}}
    remote = MCPTool("crm__lookup_order", "lookup_order", "crm", "Look up an order", schema, call)
    model = FakeModel(
        [
            tool_turn(
                ("crm__lookup_order", {"order_id": 7}), ("crm__lookup_order", {"order_id": 1})
            ),
            "Shipped.",
        ]
    )
    run = Agent(model, builtins=[], tools=[mcp_tool(remote, timeout_s=5)]).run("where is it?")
    (offered,) = model.calls[0].tools or []
    assert offered.name == "crm__lookup_order" and offered.parameters == schema
    assert run.tool_calls[0]["content"] == {"status": "shipped", "got": {"order_id": 7}}
    assert run.tool_calls[1]["error"] == {
        "type": "tool_error",
        "message": "crm__lookup_order failed: crm: no such order",
    }
