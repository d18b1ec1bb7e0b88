"""``JudgeSupport``: a language model on the ``Model`` protocol decides support
(``support: {checker: judge, model: <spec>}``), with a JSON-schema-constrained verdict.

Every call carries the generic ``json_schema`` option (OpenAI-compatible servers get
``response_format``, the local model a grammar), so a model that honours it can only
answer ``{"supported": true|false, "reason": "…"}``; :func:`parse_verdict` still reads
the reply tolerantly for models that do not. Prompts are the packaged
``judge_support_v1`` (one item per call) and, with ``batch_size > 1``,
``judge_support_batch_v1`` (several items per call, ``{"verdicts": [{"item": 1, …}]}``);
items a batched reply leaves out or garbles are asked again one at a time.

Never NaN, never silent: a model error is ``judge_error``, a call that runs past
``timeout_s`` (or a model's own :class:`~ragline.models.ProviderTimeout`) is
``judge_timeout``, a reply that cannot be read is
``judge_unparseable``. Each is counted in ``failures`` and, with
``on_failure="raise"`` (the default, for metrics), raised as a
:class:`MetricFailure`, which the metric records as the case's typed failure; with
``on_failure="unsupported"`` (for answer-time checks, where one bad reply must not
stop the rest) the item gets ``SupportVerdict(False, None, <reason>)``. The timed-out call is
abandoned, not stopped (a Python thread cannot be killed): an in-process model that
serialises its calls, like the local one, is busy until it finishes. An item with no
passages is unsupported without a call. Verdicts are remembered by (sentence,
passages), so the same inputs give the same verdicts, and the three citation metrics
that check the same sentences pay for one call.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ragline.evals._metrics._base import MetricFailure
from ragline.evals._metrics._judge import JudgePrompt, parse_verdict
from ragline.evals._metrics._support import SupportItem, SupportVerdict

if TYPE_CHECKING:
    from ragline.models._base import Completion, Message, Model

OnFailure = Literal["raise", "unsupported"]

_REASON = {"type": "string", "maxLength": 160}
#: the reply of one item
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"supported": {"type": "boolean"}, "reason": _REASON},
    "required": ["supported", "reason"],
    "additionalProperties": False,
}
#: the reply of a batch
BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdicts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "item": {"type": "integer"},
                    "supported": {"type": "boolean"},
                    "reason": _REASON,
                },
                "required": ["item", "supported", "reason"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["verdicts"],
    "additionalProperties": False,
}
_SECTION = re.compile(r"^===\s*(\w+)\s*===\s*$", re.MULTILINE)
_Key = tuple[str, tuple[str, ...]]


def _batch_template() -> tuple[str, str]:
    text = (
        resources.files("ragline.evals._metrics")
        .joinpath("prompts", "judge_support_batch_v1.txt")
        .read_text(encoding="utf-8")
    )
    marks = list(_SECTION.finditer(text))
    parts = {
        m.group(1).lower(): text[m.end() : marks[i + 1].start() if i + 1 < len(marks) else None]
        for i, m in enumerate(marks)
    }
    return parts["system"].strip("\n"), parts["user"].strip("\n")


def batch_messages(items: Sequence[SupportItem]) -> list[Message]:
    """The batched prompt: item ``n``'s evidence and claim, numbered from 1."""
    from ragline.models._base import Message

    system, user = _batch_template()
    blocks = []
    for n, (claim, passages) in enumerate(items, 1):
        evidence = "\n".join(f"[{i + 1}] {p.strip()}" for i, p in enumerate(passages))
        evidence = evidence or "(no passages)"
        blocks.append(f"Item {n}\nEvidence:\n{evidence}\nClaim: {claim.strip()}")
    text = user.replace("{items}", "\n\n".join(blocks))
    return [Message("system", system), Message("user", text)]


def parse_batch(text: str, n: int) -> dict[int, SupportVerdict]:
    """The verdicts a batched reply gives, by item number (1..n); unreadable → {}."""
    stripped = text.strip()
    data: Any = None
    for candidate in (stripped, stripped[stripped.find("{") : stripped.rfind("}") + 1]):
        try:
            data = json.loads(candidate)
            break
        except json.JSONDecodeError:
            continue
    rows = data.get("verdicts") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        return {}
    out: dict[int, SupportVerdict] = {}
    seen: Counter[int] = Counter()
    for row in rows:
        if not isinstance(row, dict):
            continue
        item, supported = row.get("item"), row.get("supported")
        if isinstance(item, int) and 1 <= item <= n and isinstance(supported, bool):
            seen[item] += 1
            out[item] = SupportVerdict(supported, reason=str(row.get("reason", "")))
    return {i: v for i, v in out.items() if seen[i] == 1}  # a repeated item is not trusted


class _Failed(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _model_failure(e: Exception) -> _Failed:
    from ragline.models._errors import ProviderTimeout

    reason = "judge_timeout" if isinstance(e, ProviderTimeout) else "judge_error"
    return _Failed(reason, f"{type(e).__name__}: {e}")


class JudgeSupport:
    """See the module docstring."""

    def __init__(
        self,
        model: Model,
        *,
        batch_size: int = 1,
        timeout_s: float | None = None,
        on_failure: OnFailure = "raise",
        prompt: JudgePrompt | str | Path | None = None,
        max_cached: int = 10_000,
        **options: Any,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError("timeout_s must be positive (or None: the model's own timeout)")
        self.model = model
        self.prompt = prompt if isinstance(prompt, JudgePrompt) else JudgePrompt.load(prompt)
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.on_failure = on_failure
        self.options = {"temperature": 0.0, **options}
        self.max_cached = max_cached
        batch = f"/batch{batch_size}" if batch_size > 1 else ""
        self.name = f"judge:{model.name}:{self.prompt.name}@{self.prompt.version}{batch}+schema"
        #: typed failures by reason (judge_error, judge_timeout, judge_unparseable)
        self.failures: Counter[str] = Counter()
        self.calls = 0
        self.cost_usd = 0.0
        self._cache: OrderedDict[_Key, SupportVerdict] = OrderedDict()
        self._lock = threading.Lock()

    # -- one call ----------------------------------------------------------------------

    def _complete(self, messages: list[Message], schema: dict[str, Any], max_tokens: int) -> str:
        options = {"max_tokens": max_tokens, **self.options, "json_schema": schema}
        call: Callable[[], Completion] = lambda: self.model.complete(messages, **options)  # noqa: E731
        with self._lock:
            self.calls += 1
        if self.timeout_s is None:
            try:
                completion = call()
            except Exception as e:
                raise _model_failure(e) from None
        else:
            completion = self._with_timeout(call, self.timeout_s)
        with self._lock:
            self.cost_usd += completion.cost_usd or 0.0
        return completion.text

    @staticmethod
    def _with_timeout(call: Callable[[], Completion], timeout_s: float) -> Completion:
        """``call()`` in a daemon thread: a model that hangs cannot hold up the check, nor
        the interpreter's exit."""
        box: list[Any] = []

        def run() -> None:
            try:
                box.append(call())
            except Exception as e:
                box.append(e)

        worker = threading.Thread(target=run, name="ragline-judge", daemon=True)
        worker.start()
        worker.join(timeout_s)
        if not box:
            raise _Failed("judge_timeout", f"no reply within {timeout_s:g} s")
        result = box[0]
        if isinstance(result, Exception):
            raise _model_failure(result)
        return result  # type: ignore[no-any-return]

    def _one(self, claim: str, passages: Sequence[str]) -> SupportVerdict:
        text = self._complete(self.prompt.messages(claim, passages), VERDICT_SCHEMA, 128)
        verdict = parse_verdict(text)
        if verdict is None:
            raise _Failed("judge_unparseable", text[:500])
        return verdict

    def _batch(self, items: Sequence[SupportItem]) -> dict[int, SupportVerdict]:
        text = self._complete(batch_messages(items), BATCH_SCHEMA, 64 * len(items) + 32)
        return parse_batch(text, len(items))

    # -- the protocol ------------------------------------------------------------------

    def _failed(self, e: _Failed) -> SupportVerdict:
        with self._lock:
            self.failures[e.reason] += 1
        if self.on_failure == "raise":
            raise MetricFailure(e.reason, detail=e.detail, judge=self.model.name)
        return SupportVerdict(False, None, e.reason)

    def _remember(self, key: _Key, verdict: SupportVerdict) -> None:
        with self._lock:
            self._cache[key] = verdict
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)

    def check(self, items: Sequence[SupportItem]) -> list[SupportVerdict]:
        keys = [(s, tuple(ps)) for s, ps in items]
        found: dict[_Key, SupportVerdict] = {}
        with self._lock:
            for key in keys:
                if key in self._cache:
                    found[key] = self._cache[key]
        todo = [k for k in dict.fromkeys(keys) if k not in found]
        for key in [k for k in todo if not k[1]]:
            found[key] = SupportVerdict(False, None, "no_passages")
        todo = [k for k in todo if k[1]]
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            answered: dict[int, SupportVerdict] = {}
            if len(chunk) > 1:
                try:
                    answered = self._batch(chunk)
                except _Failed as e:
                    if e.reason == "judge_timeout":  # asking again one by one would hang too
                        for key in chunk:
                            found[key] = self._failed(e)
                        continue
            for n, key in enumerate(chunk, 1):
                if n in answered:
                    found[key] = answered[n]
                    self._remember(key, answered[n])
                    continue
                try:
                    verdict = self._one(*key)
                except _Failed as e:
                    found[key] = self._failed(e)  # not remembered: it may work next time
                    continue
                found[key] = verdict
                self._remember(key, verdict)
        return [found[k] for k in keys]


__all__ = ["BATCH_SCHEMA", "VERDICT_SCHEMA", "JudgeSupport", "batch_messages", "parse_batch"]
