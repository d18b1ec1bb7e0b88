"""The OpenAI-compatible API, driven by the official ``openai`` client over real HTTP.

Most tests use the session's ``ragline serve`` process (two tenants, extractive
answers). Tests that need a scripted LLM (a failure mid-stream, a client that
disconnects) serve an in-process app with a fake model on a loopback port.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from ragline.errors import ProviderError
from ragline.models._base import Delta
from ragline.testing import FakeModel, ServerProcess

from ._kb import ACME_KEY, GLOBEX_KEY, acme
from ._threaded import SlowModel, fake_project, threaded_server

WARRANTY = "How long is the battery warranty?"


def client(server: ServerProcess, key: str = ACME_KEY) -> OpenAI:
    return OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=60)


def markers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


# ---------------------------------------------------------------- models


def test_models_lists_the_kb_and_one_model_per_doc_type(server: ServerProcess) -> None:
    models = client(server).models.list()
    ids = [m.id for m in models.data]
    assert ids[0] == "ragline"
    assert {"ragline:policy", "ragline:finance", "ragline:faq", "ragline:manual"} <= set(ids)
    assert all(m.object == "model" and m.owned_by == "ragline" for m in models.data)
    assert all(isinstance(m.created, int) and m.created > 0 for m in models.data)


def test_models_are_per_tenant(server: ServerProcess) -> None:
    # globex's documents have no doc_type: only the whole KB; acme's types do not leak
    ids = [m.id for m in client(server, GLOBEX_KEY).models.list().data]
    assert ids == ["ragline"]


# ---------------------------------------------------------------- answers


def test_completion_has_numbered_citations_and_a_trace(server: ServerProcess) -> None:
    resp = client(server).chat.completions.create(
        model="ragline", messages=[user(WARRANTY)], temperature=0.2, max_tokens=300
    )
    assert resp.object == "chat.completion"
    assert resp.model == "ragline"
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    text = choice.message.content or ""
    assert "800" in text or "2 years" in text
    extra = resp.to_dict()
    cited = {c["number"] for c in extra["citations"]}
    assert cited and cited == markers(text)
    assert choice.message.to_dict()["citations"] == extra["citations"]
    assert all(c["chunk_id"] and c["title"] and c["source"] for c in extra["citations"])
    assert extra["ragline"]["abstained"] is False
    assert extra["ragline"]["trace_id"]
    assert resp.usage is not None
    assert resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_doc_type_model_answers_only_from_that_type(server: ServerProcess) -> None:
    c = client(server)
    question = "What was the revenue in fiscal year 2025?"
    finance = c.chat.completions.create(model="ragline:finance", messages=[user(question)])
    cites = finance.to_dict()["citations"]
    assert cites and all("annual-report" in x["source"] for x in cites)
    policy = c.chat.completions.create(model="ragline:policy", messages=[user(question)])
    assert all("annual-report" not in x["source"] for x in policy.to_dict()["citations"])


def test_a_follow_up_is_asked_with_the_previous_question(server: ServerProcess) -> None:
    resp = client(server).chat.completions.create(
        model="ragline",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            user(WARRANTY),
            {"role": "assistant", "content": "The battery warranty lasts 2 years. [1]"},
            user("And how long is it for the frame?"),
        ],
    )
    info = resp.to_dict()["ragline"]
    # "it" resolved to the previous topic; the frame, the message's own topic, kept
    assert info["question"] == "How long is the warranty for the frame?"
    text = resp.choices[0].message.content or ""
    assert "frame" in text.lower()
    assert any(c["title"] == "Warranty Policy" for c in resp.to_dict()["citations"])


def test_stream_sends_role_deltas_then_citations(server: ServerProcess) -> None:
    stream = client(server).chat.completions.create(
        model="ragline",
        messages=[user(WARRANTY)],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == "stop"
    final = finals[0].to_dict()
    assert {x["number"] for x in final["citations"]} == markers(text) != set()
    assert final["ragline"]["text"] == text
    assert final["ragline"]["trace_id"]
    usage = chunks[-1].usage  # include_usage: a last chunk with no choices
    assert chunks[-1].choices == [] and usage is not None and usage.completion_tokens > 0


def test_stream_ends_with_done_on_the_wire(server: ServerProcess) -> None:
    body = {"model": "ragline", "messages": [user(WARRANTY)], "stream": True}
    r = httpx.post(server.url + "/v1/chat/completions", json=body, headers=acme(), timeout=60)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in r.text.split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames)
    assert frames[-1] == "data: [DONE]"


# ---------------------------------------------------------------- errors


def test_wrong_key_is_an_authentication_error(server: ServerProcess) -> None:
    with pytest.raises(openai.AuthenticationError) as e:
        client(server, "rl_not_a_key").chat.completions.create(
            model="ragline", messages=[user(WARRANTY)]
        )
    assert e.value.status_code == 401
    with pytest.raises(openai.AuthenticationError):
        client(server, "rl_not_a_key").models.list()


def test_unknown_model_is_not_found_in_openai_shape(server: ServerProcess) -> None:
    c = client(server)
    for model in ("gpt-4o", "ragline:", "ragline:nonexistent"):
        with pytest.raises(openai.NotFoundError) as e:
            c.chat.completions.create(model=model, messages=[user(WARRANTY)])
        body: Any = e.value.body
        assert body["code"] == "model_not_found" and body["param"] == "model"
        assert model in body["message"] and "/v1/models" in body["hint"]


def test_another_tenants_doc_type_is_not_a_model(server: ServerProcess) -> None:
    with pytest.raises(openai.NotFoundError):
        client(server, GLOBEX_KEY).chat.completions.create(
            model="ragline:finance", messages=[user("What was the revenue?")]
        )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"messages": [{"role": "system", "content": "Be brief."}]}, "no user message"),
        ({"messages": []}, "messages"),
        ({"messages": [user("   ")]}, "messages.0.content: is blank"),
        ({"max_tokens": 10**12}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"n": 2}, "n"),
        ({"temperature": 7}, "temperature"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"extra_body": {"frobnicate": True}}, "frobnicate"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "x"}}],
                    }
                ]
            },
            "only text parts",
        ),
    ],
)
def test_bad_requests_get_a_clear_422(
    server: ServerProcess, kwargs: dict[str, Any], expected: str
) -> None:
    args: dict[str, Any] = {"model": "ragline", "messages": [user(WARRANTY)], **kwargs}
    with pytest.raises(openai.UnprocessableEntityError) as e:
        client(server).chat.completions.create(**args)
    body: Any = e.value.body
    assert expected in body["message"]


def test_text_content_parts_are_accepted(server: ServerProcess) -> None:
    parts = [
        {"type": "text", "text": "How long is the battery"},
        {"type": "text", "text": "warranty?"},
    ]
    resp = client(server).chat.completions.create(
        model="ragline", messages=[{"role": "user", "content": parts}]
    )
    assert resp.to_dict()["ragline"]["question"] == "How long is the battery\nwarranty?"


# ---------------------------------------------------------------- scripted model


def test_model_failure_mid_stream_ends_with_an_error_then_done(tmp_path: Path) -> None:
    failing = [Delta("Every X200 comes with "), ProviderError("upstream connection reset")]
    project = fake_project(tmp_path, FakeModel([failing, failing], name="openai:test"))
    with threaded_server(project, {"k": "default"}) as url:
        c = OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
        seen: list[str] = []
        with pytest.raises(openai.APIError) as e:
            for chunk in c.chat.completions.create(
                model="ragline", messages=[user("How long is the warranty?")], stream=True
            ):
                seen.extend(ch.delta.content or "" for ch in chunk.choices)
        assert "upstream connection reset" in e.value.message
        assert "".join(seen) == "Every X200 comes with "
        body = {"model": "ragline", "messages": [user("How long is the warranty?")], "stream": True}
        raw = httpx.post(url + "/v1/chat/completions", json=body, headers={"X-API-Key": "k"})
        frames = [f for f in raw.text.split("\n\n") if f]
        assert '"error": {' in frames[-2] and "partial_text" in frames[-2]
        assert frames[-1] == "data: [DONE]"


def test_model_failure_without_stream_is_a_502(tmp_path: Path) -> None:
    project = fake_project(tmp_path, FakeModel([ProviderError("quota exceeded")], name="openai:t"))
    with threaded_server(project, {"k": "default"}) as url:
        c = OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError) as e:
            c.chat.completions.create(model="ragline", messages=[user("How long is the warranty?")])
        assert e.value.status_code == 502
        assert "quota exceeded" in e.value.message


def test_client_disconnect_closes_the_answer_stream(tmp_path: Path) -> None:
    model = SlowModel()
    project = fake_project(tmp_path, model)
    with threaded_server(project, {"k": "default"}) as url:
        c = OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
        stream = c.chat.completions.create(
            model="ragline", messages=[user("How long is the warranty?")], stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        stream.close()
        assert model.closed.wait(20), "the model stream was not closed after the disconnect"
        assert model.sent < 500


def test_a_store_failure_mid_stream_is_an_openai_error_frame() -> None:
    import asyncio

    from ragline.errors import StoreError
    from ragline.server._routes_openai import chunk_encoder
    from ragline.server._sse import event_frames

    def events() -> Iterator[Any]:
        raise StoreError("database is locked")
        yield  # a generator

    async def collect() -> list[bytes]:
        encode = chunk_encoder("ragline", include_usage=False)
        return [f async for f in event_frames(events(), timeout_s=30, encode=encode)]

    [only] = asyncio.run(collect())
    assert only.startswith(b'data: {"error": {"message": "database is locked"')
