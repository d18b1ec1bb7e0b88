"""Every model passes ``ragline.testing.ModelConformance``: the HTTP providers, the
extractive answerer, the public fakes, the resilience wrappers and the local model."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import httpx
import pytest

from ragline.answer import PromptTemplate
from ragline.answer._extractive_model import ExtractiveModel
from ragline.config import ModelSettings, Settings
from ragline.models import (
    AnthropicModel,
    Delta,
    MemoryResponseCache,
    Message,
    Model,
    OpenAIModel,
    ProviderUnavailable,
    StreamInterrupted,
    build_model,
    wrap_model,
)
from ragline.models._local import LocalModel
from ragline.testing import FakeModel, FunctionModel, HashEmbedder, ModelConformance
from ragline.testing._models import Reply, block_real_requests
from ragline.types import Chunk, Hit

from .chat_server import ChatServer
from .conftest import fixture_text
from .test_local import FakeLlama, fake_llama, gguf_file, real_model  # noqa: F401 (fixtures)

ANSWER = "Paris is the capital of France [1]."


def down() -> ProviderUnavailable:
    return ProviderUnavailable("injected outage", provider="fake", hint="try again later")


def broken() -> list[Delta | BaseException]:
    """A stream that drops after its first words, as a provider reports it."""
    return [
        Delta(text="Paris "),
        Delta(text="is "),
        StreamInterrupted("dropped", provider="fake", partial_text="Paris is "),
    ]


# --------------------------------------------------------------------- HTTP providers


@pytest.fixture(scope="module")
def chat_server() -> Iterator[ChatServer]:
    with ChatServer() as server:
        yield server


class TestOpenAIModelOverLoopbackHTTP(ModelConformance):
    """A real OpenAI-compatible server on 127.0.0.1 (tests/models/chat_server.py)."""

    @pytest.fixture(autouse=True)
    def _allow_loopback(self) -> Iterator[None]:
        with block_real_requests(False):
            yield

    def _model(self, server: ChatServer, fault: str) -> Iterator[Model]:
        model = OpenAIModel("local-model", settings=ModelSettings(base_url=server.url(fault)))
        yield model
        model.close()

    @pytest.fixture
    def model(self, chat_server: ChatServer) -> Iterator[Model]:
        yield from self._model(chat_server, "ok")

    @pytest.fixture
    def failing_model(self, chat_server: ChatServer) -> Iterator[Model]:
        yield from self._model(chat_server, "error500")

    @pytest.fixture
    def interrupted_model(self, chat_server: ChatServer) -> Iterator[Model]:
        yield from self._model(chat_server, "drop")


Handler = Callable[[httpx.Request], httpx.Response]


def anthropic(handler: Handler) -> Iterator[Model]:
    model = AnthropicModel(
        "claude-3-5-haiku-20241022",
        settings=ModelSettings(base_url="http://claude.test"),
        transport=httpx.MockTransport(handler),
    )
    yield model
    model.close()


def recorded(events: str, message: dict[str, Any] | None = None) -> Handler:
    """Streams ``events`` (a recorded SSE fixture); answers ``message`` otherwise."""

    def handle(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            return httpx.Response(
                200, text=fixture_text(events), headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(200, json=message)

    return handle


class TestAnthropicModelOverRecordedExchanges(ModelConformance):
    @pytest.fixture
    def model(self) -> Iterator[Model]:
        # the recorded message, with the text the recorded stream carries
        message = json.loads(fixture_text("anthropic_message.json"))
        message["content"] = [{"type": "text", "text": "Paris is the capital [1]."}]
        yield from anthropic(recorded("anthropic_stream.sse", message))

    @pytest.fixture
    def failing_model(self) -> Iterator[Model]:
        overloaded = fixture_text("anthropic_error_overloaded.json")
        yield from anthropic(lambda request: httpx.Response(529, text=overloaded))

    @pytest.fixture
    def interrupted_model(self) -> Iterator[Model]:
        yield from anthropic(recorded("anthropic_stream_error.sse"))  # overloaded mid-stream


# --------------------------------------------------------------------- no LLM at all


HITS = [
    Hit(
        chunk=Chunk(
            id="hours",
            document_id="hours",
            ordinal=0,
            text="The office is open from 9 a.m. to 5 p.m. on weekdays. "
            "It is closed on public holidays.",
            title="Office Hours",
            section_path=["Office Hours", "Opening times"],
        ),
        score=1.0,
    )
]


class TestExtractiveModel(ModelConformance):
    @pytest.fixture
    def model(self) -> Model:
        return ExtractiveModel(HashEmbedder())

    @pytest.fixture
    def prompt(self) -> list[Message]:
        template = PromptTemplate.load("grounded_v1")
        question = "When is the office open on weekdays?"
        return template.render(question, HITS, token_budget=4000).messages


class TestFakeModel(ModelConformance):
    @pytest.fixture
    def model(self) -> Model:
        return FakeModel([ANSWER] * 3)

    @pytest.fixture
    def failing_model(self) -> Model:
        return FakeModel([down()])

    @pytest.fixture
    def interrupted_model(self) -> Model:
        return FakeModel([broken()])


class TestFunctionModel(ModelConformance):
    @pytest.fixture
    def model(self) -> Model:
        return FunctionModel(lambda messages, tools, options: ANSWER)

    @pytest.fixture
    def failing_model(self) -> Model:
        def fail(*args: Any) -> str:
            raise down()

        return FunctionModel(fail)


# --------------------------------------------------------------------- resilience


def no_sleep(seconds: float) -> None:
    """Retries and rate limits wait through this: no test sleeps."""


WRAPPED = ModelSettings(max_retries=1, requests_per_minute=600, cache_ttl_s=60)


class TestWrappedFake(ModelConformance):
    """The whole stack: cache → circuit breaker → retries → rate limit → a fake.

    Streams after a completion come from the cache, so they are checked too.
    """

    def _wrapped(self, replies: list[Reply | list[Delta | BaseException]]) -> Model:
        fake = FakeModel(replies)
        return wrap_model(fake, WRAPPED, cache=MemoryResponseCache(), sleep=no_sleep)

    @pytest.fixture
    def model(self) -> Model:
        return self._wrapped([ANSWER] * 3)

    @pytest.fixture
    def failing_model(self) -> Model:
        return self._wrapped([down(), down()])  # retried once, then raised

    @pytest.fixture
    def interrupted_model(self) -> Model:
        return self._wrapped([broken()])  # never retried: text reached the caller


class TestFallbackChainWithItsFirstModelDown(ModelConformance):
    """``model: [primary, backup]`` as ragline.yaml builds it, the primary failing."""

    def _chain(self, backup: list[Reply | list[Delta | BaseException]]) -> Model:
        fakes = {
            "primary": FakeModel([down()] * 6, name="primary"),  # 3 calls, each retried once
            "backup": FakeModel(backup, name="backup"),
        }
        settings = Settings(models={"primary": WRAPPED, "backup": WRAPPED})
        return build_model(
            ["primary", "backup"],
            settings,
            make=lambda spec, _: fakes[spec],
            cache=MemoryResponseCache(),
            sleep=no_sleep,
        )

    @pytest.fixture
    def model(self) -> Model:
        return self._chain([ANSWER] * 3)

    @pytest.fixture
    def failing_model(self) -> Model:
        return self._chain([down()] * 2)

    @pytest.fixture
    def interrupted_model(self) -> Model:
        return self._chain([broken()])


# --------------------------------------------------------------------- local (llama.cpp)


class TestLocalModelOverAStandInLlama(ModelConformance):
    """LocalModel's own logic, over the stand-in ``llama_cpp`` of test_local.py."""

    def _local(self, request: pytest.FixtureRequest, **faults: Any) -> Model:
        llama: type[FakeLlama] = request.getfixturevalue("fake_llama")
        for name, value in faults.items():
            setattr(llama, name, value)  # the fake_llama fixture restores them
        return LocalModel(model_path=request.getfixturevalue("gguf_file"), name="local")

    @pytest.fixture
    def model(self, request: pytest.FixtureRequest) -> Model:
        return self._local(request)

    @pytest.fixture
    def failing_model(self, request: pytest.FixtureRequest) -> Model:
        return self._local(request, fail_generate=RuntimeError("llama_decode returned -1"))

    @pytest.fixture
    def interrupted_model(self, request: pytest.FixtureRequest) -> Model:
        return self._local(
            request, fail_generate=RuntimeError("llama_decode returned -1"), fail_after=2
        )


@pytest.mark.slow
class TestLocalModel(ModelConformance):
    """The bundled GGUF through llama-cpp-python (skipped unless it is installed)."""

    options: ClassVar[Mapping[str, Any]] = {"max_tokens": 8}

    @pytest.fixture
    def model(self, request: pytest.FixtureRequest) -> Model:
        model: LocalModel = request.getfixturevalue("real_model")
        return model

    @pytest.fixture
    def prompt(self) -> list[Message]:
        return [Message("user", "The capital of France is")]
