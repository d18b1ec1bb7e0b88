"""Evaluate any HTTP RAG endpoint: a URL, a JSON request template and JSON paths.

    ragline eval run cases.jsonl --target http://127.0.0.1:9000/ask \\
        --request '{"question": "{question}", "tenant": "{tenant}"}' \\
        --answer-path answer --contexts-path 'contexts[*].text'

``{question}`` and ``{tenant}`` are replaced inside the template's string values (so
quoting is always right; a value that is exactly ``"{tenant}"`` becomes ``null`` for
cases without a tenant). Paths are dotted names with ``[N]`` and ``[*]`` indexes.
Outputs of an HTTP target are never served from the cache: ragline cannot see
what changed behind the URL.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ragline._time import elapsed_ms
from ragline.errors import InputError
from ragline.evals._types import Case, CaseOutput, RetrievedContext

if TYPE_CHECKING:
    import httpx

_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(\*|-?\d+)\]")
_MISSING = object()


def parse_path(path: str) -> list[str | int | None]:
    """``contexts[*].text`` → ``["contexts", None, "text"]`` (None = every item)."""
    steps: list[str | int | None] = []
    pos = 0
    text = path.strip()
    if not text:
        raise InputError("empty JSON path", hint="e.g. answer or contexts[*].text")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise InputError(
                f"cannot parse JSON path {path!r} at character {pos + 1}",
                hint="use dotted names with [N] or [*], e.g. data.contexts[*].text",
            )
        name, index = m.groups()
        if name is not None:
            steps.append(name)
        elif index == "*":
            steps.append(None)
        else:
            steps.append(int(index))
        pos = m.end()
    return steps


def extract(data: Any, path: str) -> Any:
    """The value at ``path``; a list when the path has ``[*]``. KeyError if absent."""
    steps = parse_path(path)
    values: list[Any] = [data]
    many = False
    for step in steps:
        nxt: list[Any] = []
        for v in values:
            if step is None:
                if not isinstance(v, list):
                    raise KeyError(f"{path}: [*] on a {type(v).__name__}")
                nxt.extend(v)
            elif isinstance(step, int):
                if not isinstance(v, list) or not -len(v) <= step < len(v):
                    raise KeyError(f"{path}: no item [{step}]")
                nxt.append(v[step])
            else:
                if not isinstance(v, dict) or step not in v:
                    raise KeyError(f"{path}: no field {step!r}")
                nxt.append(v[step])
        many = many or step is None
        values = nxt
    return values if many else values[0]


def _fill(template: Any, case: Case) -> Any:
    if isinstance(template, str):
        if template == "{tenant}" and case.tenant is None:
            return None
        return template.replace("{question}", case.question).replace("{tenant}", case.tenant or "")
    if isinstance(template, list):
        return [_fill(v, case) for v in template]
    if isinstance(template, dict):
        return {k: _fill(v, case) for k, v in template.items()}
    return template


def parse_headers(items: Sequence[str]) -> dict[str, str]:
    """``K:V`` pairs; a value ``$NAME`` is read from the environment (keeps secrets out
    of shell history and of the stored fingerprint)."""
    headers: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key.strip():
            raise InputError(f"header {item!r} is not KEY:VALUE", hint="e.g. --header 'X-Team:qa'")
        value = value.strip()
        if value.startswith("$"):
            env = value[1:]
            if env not in os.environ:
                raise InputError(
                    f"header {key.strip()}: environment variable {env} is not set",
                    hint=f"export {env}=…",
                )
            value = os.environ[env]
        headers[key.strip()] = value
    return headers


class HttpTarget:
    """A RAG service over HTTP (POST a JSON body, read the answer from the JSON reply)."""

    use_cache = False

    def __init__(
        self,
        url: str,
        *,
        request: str = '{"question": "{question}"}',
        answer_path: str = "answer",
        contexts_path: str | None = None,
        context_ids_path: str | None = None,
        abstained_path: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(
                f"target {url!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8000/ask"
            )
        try:
            self.template = json.loads(request)
        except json.JSONDecodeError as e:
            raise InputError(
                f"--request is not valid JSON ({e.msg} at character {e.pos + 1})",
                hint='e.g. \'{"question": "{question}"}\'',
            ) from None
        if "{question}" not in request:
            raise InputError(
                "--request has no {question} placeholder",
                hint='e.g. \'{"question": "{question}"}\'',
            )
        for p in (answer_path, contexts_path, context_ids_path, abstained_path):
            if p is not None:
                parse_path(p)
        self.url = url
        self.name = url
        self.request = request
        self.answer_path = answer_path
        self.contexts_path = contexts_path
        self.context_ids_path = context_ids_path
        self.abstained_path = abstained_path
        self.headers = dict(headers or {})
        self.timeout_s = timeout_s
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def fingerprint(self, cases: Sequence[Case]) -> dict[str, Any]:
        return {
            "target": "http",
            "url": self.url,
            "request": self.template,
            "answer_path": self.answer_path,
            "contexts_path": self.contexts_path,
            "context_ids_path": self.context_ids_path,
            "header_names": sorted(self.headers),  # values may be secrets
        }

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(timeout=self.timeout_s, headers=self.headers)
            return self._client

    def run_case(self, case: Case) -> CaseOutput:
        t0 = time.perf_counter()

        def failed(msg: str) -> CaseOutput:
            return CaseOutput(answer="", latency_ms=elapsed_ms(t0), error=msg)

        try:
            response = self._http().post(self.url, json=_fill(self.template, case))
        except Exception as e:  # httpx errors: the case failed
            return failed(f"request to {self.url} failed: {type(e).__name__}: {e}")
        ms = elapsed_ms(t0)
        if response.status_code >= 400:
            return failed(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError:
            return failed(f"response is not JSON: {response.text[:200]!r}")
        try:
            answer = extract(data, self.answer_path)
            contexts = self._contexts(data)
            abstained = bool(extract(data, self.abstained_path)) if self.abstained_path else False
        except KeyError as e:
            return failed(f"response has no {e.args[0]}")
        if not isinstance(answer, str):
            return failed(f"{self.answer_path} is a {type(answer).__name__}, not text")
        return CaseOutput(answer=answer, contexts=contexts, abstained=abstained, latency_ms=ms)

    def _contexts(self, data: Any) -> tuple[RetrievedContext, ...]:
        if self.contexts_path is None:
            return ()
        items = extract(data, self.contexts_path)
        if not isinstance(items, list):
            items = [items]
        ids: list[Any] = []
        if self.context_ids_path is not None:
            found = extract(data, self.context_ids_path)
            ids = found if isinstance(found, list) else [found]
        out: list[RetrievedContext] = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                text = str(item.get("text", item.get("content", "")))
                doc = str(item.get("document_id", item.get("doc_id", item.get("id", ""))))
                chunk = str(item.get("chunk_id", item.get("id", f"ctx{i}")))
            else:
                text, doc, chunk = str(item), "", f"ctx{i}"
            if i < len(ids):
                doc = str(ids[i])
            out.append(RetrievedContext(chunk, doc, text, 0.0))
        return tuple(out)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
