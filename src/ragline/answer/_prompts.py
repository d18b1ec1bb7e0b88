"""Versioned prompt templates for grounded answers.

A template is a text file split into sections by lines like ``=== system ===``:

- a *chat* template has ``system`` and ``user`` sections (for instruction models);
- a *completion* template has a ``prompt`` section and, optionally, a ``stop``
  section with one stop sequence per line (``\\n`` stands for a line break). It is
  for base models: few-shot examples, then the question, then ``Answer:``.

Placeholders: ``{context}`` (the numbered chunks), ``{question}`` and ``{abstain}``
(the text to reply with when the context has no answer). Other braces are kept as
they are. The packaged templates live in ``ragline/answer/prompts/``; ``load`` takes
one of their names (``grounded_v1``) or a path to a file of your own.

The template's ``version`` is a short sha256 of the file's bytes, so any edit to a
prompt shows up in traces and evaluation results.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from ragline.answer._extractive import ABSTAIN_TEXT
from ragline.errors import InputError
from ragline.models._base import Message
from ragline.models._pricing import estimate_tokens
from ragline.types import Hit

TokenCounter = Callable[[str], int]
_SECTION = re.compile(r"^===\s*(\w+)\s*===\s*$", re.MULTILINE)
_KNOWN = {"system", "user", "prompt", "stop"}
_PLACEHOLDER = re.compile(r"\{(abstain|question|context)\}")


def _builtin_names() -> list[str]:
    folder = resources.files("ragline.answer").joinpath("prompts")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".txt"))


def _read(name_or_path: str | Path) -> tuple[str, bytes]:
    path = Path(name_or_path)
    if path.suffix == ".txt" or path.exists():
        if not path.is_file():
            raise InputError(f"prompt template {str(path)!r} does not exist")
        return path.stem, path.read_bytes()
    name = str(name_or_path)
    resource = resources.files("ragline.answer").joinpath("prompts", f"{name}.txt")
    if not re.fullmatch(r"[\w.-]+", name) or not resource.is_file():
        raise InputError(
            f"unknown prompt template {name!r}",
            hint=f"use one of {', '.join(_builtin_names())} or a path to a .txt file",
        )
    return name, resource.read_bytes()


def _parse(name: str, text: str) -> dict[str, str]:
    marks = list(_SECTION.finditer(text))
    if not marks:
        raise InputError(f"prompt template {name!r} has no '=== section ===' lines")
    sections: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        key = m.group(1).lower()
        if key not in _KNOWN:
            raise InputError(f"prompt template {name!r} has an unknown section {key!r}")
        sections[key] = text[m.end() : end].strip("\n")
    chat = "user" in sections
    if chat == ("prompt" in sections):
        raise InputError(
            f"prompt template {name!r} needs either a 'user' section (chat) or a "
            "'prompt' section (completion), not both"
        )
    body = sections.get("user", sections.get("prompt", ""))
    if "{context}" not in body or "{question}" not in body:
        raise InputError(f"prompt template {name!r} must contain {{context}} and {{question}}")
    return sections


def format_chunk(number: int, hit: Hit) -> str:
    """``[n] Title > Section (page p)`` and the chunk's text on the next lines."""
    chunk = hit.chunk
    head = [chunk.title] if chunk.title else []
    head += [s for s in chunk.section_path if s and s != chunk.title]
    label = " > ".join(head)
    if chunk.page is not None:
        label = f"{label} (page {chunk.page})" if label else f"(page {chunk.page})"
    return f"[{number}] {label}\n{chunk.text.strip()}" if label else f"[{number}] {chunk.text}"


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """What is sent to the model, and which hits made it into the context."""

    messages: list[Message]
    version: str  #: the template's version (short content hash)
    included_hits: list[Hit]  #: numbered [1]..[n] in this order
    dropped_hits: list[Hit]  #: cut to fit the token budget (lowest-ranked first)
    stop: list[str] = field(default_factory=list)
    tokens: int = 0  #: the prompt's size by the counter used

    @property
    def text(self) -> str:
        """The whole prompt as one string (messages joined), for traces."""
        return "\n\n".join(f"[{m.role}]\n{m.content}" for m in self.messages)


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    name: str
    source: str
    version: str
    kind: Literal["chat", "completion"]
    sections: dict[str, str]

    @classmethod
    def load(cls, name_or_path: str | Path) -> PromptTemplate:
        """A packaged template by name (``grounded_v1``) or a template file by path."""
        name, raw = _read(name_or_path)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"prompt template {name!r} is not valid UTF-8") from None
        sections = _parse(name, text)
        version = hashlib.sha256(raw).hexdigest()[:12]
        kind: Literal["chat", "completion"] = "chat" if "user" in sections else "completion"
        return cls(name, text, version, kind, sections)

    @property
    def stop(self) -> list[str]:
        lines = self.sections.get("stop", "").splitlines()
        return [ln.replace("\\n", "\n") for ln in lines if ln]

    def _messages(self, question: str, context: str, abstain: str) -> list[Message]:
        values = {"abstain": abstain, "question": question.strip(), "context": context}

        def fill(part: str) -> str:
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], part)

        if self.kind == "completion":
            return [Message("user", fill(self.sections["prompt"]))]
        system = self.sections.get("system", "")
        messages = [Message("system", fill(system))] if system.strip() else []
        return [*messages, Message("user", fill(self.sections["user"]))]

    def render(
        self,
        question: str,
        hits: Sequence[Hit],
        *,
        token_budget: int,
        count_tokens: TokenCounter = estimate_tokens,
        abstain_text: str = ABSTAIN_TEXT,
    ) -> RenderedPrompt:
        """Fill the template with the best-ranked hits that fit ``token_budget``.

        Hits are numbered [1]..[n] in rank order; when the context is too long the
        lowest-ranked ones are dropped first. The question and the instructions are
        never cut: if they alone exceed the budget this raises :class:`InputError`.
        """
        unique: list[Hit] = []
        seen: set[str] = set()
        for hit in hits:
            if hit.chunk.id not in seen:
                seen.add(hit.chunk.id)
                unique.append(hit)

        def size(k: int) -> tuple[list[Message], int]:
            context = "\n\n".join(format_chunk(i + 1, h) for i, h in enumerate(unique[:k]))
            msgs = self._messages(question, context, abstain_text)
            return msgs, sum(count_tokens(m.content) for m in msgs)

        messages, tokens = size(0)
        if tokens > token_budget:
            raise InputError(
                f"the question and the prompt instructions alone take about {tokens} tokens, "
                f"over the token budget of {token_budget}",
                hint="shorten the question or raise the answer token budget",
            )
        kept = 0
        for k in range(1, len(unique) + 1):
            msgs, n = size(k)
            if n > token_budget:
                break
            messages, tokens, kept = msgs, n, k
        return RenderedPrompt(
            messages=messages,
            version=self.version,
            included_hits=unique[:kept],
            dropped_hits=unique[kept:],
            stop=self.stop,
            tokens=tokens,
        )


__all__ = ["PromptTemplate", "RenderedPrompt", "TokenCounter", "format_chunk"]
