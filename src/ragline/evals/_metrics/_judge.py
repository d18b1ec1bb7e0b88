"""An LLM judge for support: a typed prompt (a template file) and a parsed verdict.

The prompt is ``prompts/judge_support_v1.txt`` (or a file of your own) with a
``=== system ===`` and a ``=== user ===`` section and the placeholders ``{claim}`` and
``{evidence}``; its version is a short sha256 of the file, so a prompt edit shows in
the metric's version. The model must reply ``{"supported": true|false, "reason": "…"}``.
:func:`parse_verdict` reads that strictly, then tolerantly (JSON inside a code fence
or prose, single quotes, a bare yes/no or supported/unsupported); a reply it cannot
read is the typed failure ``judge_unparseable``, and a model error ``judge_error``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.errors import InputError
from ragline.evals._metrics._base import MetricFailure
from ragline.evals._metrics._support import SupportItem, SupportVerdict

if TYPE_CHECKING:
    from ragline.models._base import Message, Model

_SECTION = re.compile(r"^===\s*(\w+)\s*===\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{(claim|evidence)\}")
_OBJECT = re.compile(r"\{[^{}]*\}", re.DOTALL)
_BOOL_KEY = re.compile(r"""["']?supported["']?\s*[:=]\s*["']?(true|false|yes|no)\b""", re.I)
_REASON_KEY = re.compile(r"""["']?reason["']?\s*[:=]\s*["']([^"']*)["']""", re.I)
_KEY_ONLY = re.compile(r"""(?:["']supported["']|[{,]\s*supported)\s*[:=]""", re.I)
_BARE = re.compile(r"^[\s*_`>]*(yes|no|supported|unsupported|not supported|true|false)\b", re.I)


@dataclass(frozen=True, slots=True)
class JudgePrompt:
    name: str
    version: str
    system: str
    user: str

    @classmethod
    def load(cls, path: str | Path | None = None) -> JudgePrompt:
        """The packaged ``judge_support_v1`` prompt, or a template file of your own."""
        if path is None:
            name = "judge_support_v1"
            raw = (
                resources.files("ragline.evals._metrics")
                .joinpath("prompts", "judge_support_v1.txt")
                .read_bytes()
            )
        else:
            p = Path(path)
            if not p.is_file():
                raise InputError(f"judge prompt {str(p)!r} does not exist", hint="check the path")
            name, raw = p.stem, p.read_bytes()
        text = raw.decode("utf-8")
        marks = list(_SECTION.finditer(text))
        sections: dict[str, str] = {}
        for i, m in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            sections[m.group(1).lower()] = text[m.end() : end].strip("\n")
        user = sections.get("user", "")
        if "{claim}" not in user or "{evidence}" not in user:
            raise InputError(
                f"judge prompt {name!r} needs a '=== user ===' section with {{claim}} and "
                "{evidence}",
                hint="see ragline/evals/_metrics/prompts/judge_support_v1.txt",
            )
        version = hashlib.sha256(raw).hexdigest()[:12]
        return cls(name, version, sections.get("system", ""), user)

    def messages(self, claim: str, passages: Sequence[str]) -> list[Message]:
        from ragline.models._base import Message

        evidence = "\n\n".join(f"[{i + 1}] {p.strip()}" for i, p in enumerate(passages))
        values = {"claim": claim.strip(), "evidence": evidence or "(no passages)"}

        def fill(part: str) -> str:
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], part)

        out = [Message("system", fill(self.system))] if self.system.strip() else []
        return [*out, Message("user", fill(self.user))]


def _truthy(word: str) -> bool:
    return word.lower() in {"true", "yes", "supported"}


def parse_verdict(text: str) -> SupportVerdict | None:
    """The judge's reply → a verdict, or None when it cannot be read."""
    stripped = text.strip()
    candidates = [stripped, *(m.group(0) for m in _OBJECT.finditer(stripped))]
    for c in candidates:
        try:
            data: Any = json.loads(c)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("supported"), bool):
            return SupportVerdict(data["supported"], reason=str(data.get("reason", "")))
    m = _BOOL_KEY.search(stripped)
    if m:
        reason = _REASON_KEY.search(stripped)
        return SupportVerdict(_truthy(m.group(1)), reason=reason.group(1) if reason else "")
    if _KEY_ONLY.search(stripped):  # a "supported" key whose value is not a yes/no
        return None
    m = _BARE.match(stripped)
    if m:
        return SupportVerdict(_truthy(m.group(1)), reason=stripped[m.end() :].strip(" .:-"))
    return None


class LLMJudge:
    """A :class:`SupportChecker` that asks ``model`` one question per item.

    ``options`` are passed to ``model.complete`` (e.g. ``temperature=0``).
    """

    def __init__(
        self, model: Model, *, prompt: JudgePrompt | str | Path | None = None, **options: Any
    ) -> None:
        self.model = model
        self.prompt = prompt if isinstance(prompt, JudgePrompt) else JudgePrompt.load(prompt)
        self.options = {"temperature": 0.0, **options}
        self.name = f"judge:{model.name}:{self.prompt.name}@{self.prompt.version}"
        self.cost_usd = 0.0

    def check(self, items: Sequence[SupportItem]) -> list[SupportVerdict]:
        out = []
        for claim, passages in items:
            try:
                completion = self.model.complete(
                    self.prompt.messages(claim, passages), **self.options
                )
            except Exception as e:
                raise MetricFailure(f"judge_error: {type(e).__name__}: {e}") from None
            self.cost_usd += completion.cost_usd or 0.0
            verdict = parse_verdict(completion.text)
            if verdict is None:
                raise MetricFailure("judge_unparseable", reply=completion.text[:500])
            out.append(verdict)
        return out


__all__ = ["JudgePrompt", "LLMJudge", "parse_verdict"]
