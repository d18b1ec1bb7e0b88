"""Versioned prompt templates for grounded answers.

A template is a text file split into sections by lines like ``=== system ===``:

- a *chat* template has ``system`` and ``user`` sections (for instruction models);
- a *completion* template has a ``prompt`` section and, optionally, a ``stop``
  section with one stop sequence per line (``\\n`` stands for a line break). It is
  for base models: few-shot examples, then the question, then ``Answer:``.

Placeholders: ``{context}`` (the numbered chunks), ``{question}`` and ``{abstain}``
(the text to reply with when the context has no answer). Other braces are kept as
they are.

Data marking: a template with a ``passage`` section (``grounded_v2``) says how each
retrieved chunk is shown, with ``{n}`` (its number), ``{source}`` (title, section,
page) and ``{text}``, e.g. ``<passage id="{n}" source="{source}">`` … ``</passage>``;
a ``quoted`` section does the same for a chunk the retrieval guard flagged under
``guards.injection.documents: quote`` (:attr:`Hit.quoted`; default
:data:`DEFAULT_QUOTED`, marked ``trust="untrusted"``). The chunk's text and source are
:func:`neutralise`-d first: a ``<passage``/``</passage`` or a chat-template role
marker (``<|im_start|>``, ``[INST]``, a line opening with ``### System:`` or
``assistant:``) inside a document is defanged, so a passage cannot close its own
delimiters or open a turn. Templates without a ``passage`` section (``grounded_v1``)
keep the ``[n] label`` lines of :func:`format_chunk`, byte for byte.

The packaged templates live in ``ragline/answer/prompts/``; ``load`` takes one of
their names (``grounded_v1``) or a path to a file of your own.

The template's ``version`` is a short sha256 of the file's bytes, so any edit to a
prompt shows up in traces and evaluation results.

A project's own prompts (``prompts/NAME.md``, :mod:`ragline.prompts`) are Jinja2
templates with the same sections: they carry a :class:`SectionRenderer` that fills a
section (``{{ question }}``, ``{{ n }}``…) instead of the brace placeholders above.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol

from ragline.answer._extractive import ABSTAIN_TEXT
from ragline.errors import InputError
from ragline.models._base import Message
from ragline.models._pricing import estimate_tokens
from ragline.types import Hit

TokenCounter = Callable[[str], int]


class SectionRenderer(Protocol):
    """Fills one section of a template with ``values`` (a Jinja2 template's renderer)."""

    def __call__(self, section: str, values: dict[str, str]) -> str: ...


_SECTION = re.compile(r"^===\s*(\w+)\s*===\s*$", re.MULTILINE)
_KNOWN = {"system", "user", "prompt", "stop", "passage", "quoted"}
_PLACEHOLDER = re.compile(r"\{(abstain|question|context)\}")
_PASSAGE_FIELD = re.compile(r"\{(n|source|text)\}")
#: a quoted (flagged) passage in a template without a ``quoted`` section
DEFAULT_QUOTED = '<passage id="{n}" source="{source}" trust="untrusted">\n{text}\n</passage>'

_LT = "[<\uff1c\ufe64]"  # "<" and its full-width / small look-alikes
_DELIMITER = re.compile(
    _LT + r"(\s*/?\s*(?:passage|context|system|user|assistant|start_of_turn|end_of_turn)\b)",
    re.IGNORECASE,
)
_CHAT_OPEN = re.compile(_LT + r"\|")
_CHAT_CLOSE = re.compile(r"\|[>\uff1e\ufe65]")
_INST = re.compile(r"\[(\s*/?\s*inst\s*)\]", re.IGNORECASE)
_SYS = re.compile(r"<<(\s*/?\s*sys\s*)>>", re.IGNORECASE)
_ROLE_LINE = re.compile(
    r"^([ \t]*)(#{1,6}[ \t]*(?:system|assistant|user|developer|human|instructions?|response)\b"
    r"|(?:system|assistant|user|developer|human)[ \t]*(?:message[ \t]*)?:)",
    re.IGNORECASE | re.MULTILINE,
)


def neutralise(text: str) -> str:
    """``text`` with what could pass for prompt structure defanged (see the module doc):
    ``<`` of a passage delimiter or role tag becomes ``‹``, ``<|…|>`` becomes ``‹|…|›``,
    ``[INST]`` ``(INST)``, ``<<SYS>>`` ``‹‹SYS››``, and a line opening with a role label is
    quoted (``> ``). Everything else is left as it is."""
    text = _DELIMITER.sub(lambda m: "\u2039" + m.group(1), text)
    text = _CHAT_CLOSE.sub("|\u203a", _CHAT_OPEN.sub("\u2039|", text))
    text = _INST.sub(lambda m: f"({m.group(1)})", text)
    text = _SYS.sub(lambda m: f"\u2039\u2039{m.group(1)}\u203a\u203a", text)
    return _ROLE_LINE.sub(lambda m: f"{m.group(1)}> {m.group(2)}", text)


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


def _parse(name: str, text: str, *, placeholders: bool = True) -> dict[str, str]:
    """The sections of a template; ``placeholders``: check the brace placeholders too
    (a Jinja2 template's variables are checked by :mod:`ragline.prompts`)."""
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
    if "quoted" in sections and "passage" not in sections:
        raise InputError(f"prompt template {name!r} has a 'quoted' section but no 'passage' one")
    if not placeholders:
        return sections
    body = sections.get("user", sections.get("prompt", ""))
    if "{context}" not in body or "{question}" not in body:
        raise InputError(f"prompt template {name!r} must contain {{context}} and {{question}}")
    for key in ("passage", "quoted"):
        if key in sections and ("{n}" not in sections[key] or "{text}" not in sections[key]):
            raise InputError(
                f"prompt template {name!r}: its {key!r} section needs {{n}} and {{text}}"
            )
    return sections


def _label(hit: Hit) -> str:
    chunk = hit.chunk
    head = [chunk.title] if chunk.title else []
    head += [s for s in chunk.section_path if s and s != chunk.title]
    label = " > ".join(head)
    if chunk.page is not None:
        label = f"{label} (page {chunk.page})" if label else f"(page {chunk.page})"
    return label


def format_chunk(number: int, hit: Hit) -> str:
    """``[n] Title > Section (page p)`` and the chunk's text on the next lines."""
    chunk = hit.chunk
    label = _label(hit)
    return f"[{number}] {label}\n{chunk.text.strip()}" if label else f"[{number}] {chunk.text}"


def passage_values(number: int, hit: Hit) -> dict[str, str]:
    """``n``, ``source`` and ``text`` of a passage, source and text :func:`neutralise`-d
    (the source also loses its quotes and line breaks: it sits in an attribute)."""
    source = " ".join(neutralise(_label(hit)).replace('"', "'").split())
    source = source.replace("<", "\u2039").replace(">", "\u203a")
    return {"n": str(number), "source": source, "text": neutralise(hit.chunk.text.strip())}


def format_passage(number: int, hit: Hit, form: str) -> str:
    """One hit in a passage form (a template's ``passage`` or ``quoted`` section):
    ``{n}``, ``{source}`` and ``{text}`` filled from :func:`passage_values`."""
    values = passage_values(number, hit)
    return _PASSAGE_FIELD.sub(lambda m: values[m.group(1)], form)


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
    #: fills a section (Jinja2 templates); None: the brace placeholders of the module doc
    renderer: SectionRenderer | None = field(default=None, compare=False, repr=False)

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

    def format_hit(self, number: int, hit: Hit) -> str:
        """How ``hit`` appears in this template's context as passage ``number``."""
        if self.renderer is not None and "passage" in self.sections:
            key = "quoted" if hit.quoted and "quoted" in self.sections else "passage"
            if hit.quoted and key == "passage":
                return format_passage(number, hit, DEFAULT_QUOTED)
            return self.renderer(key, passage_values(number, hit))
        if hit.quoted:
            return format_passage(number, hit, self.sections.get("quoted", DEFAULT_QUOTED))
        if "passage" in self.sections:
            return format_passage(number, hit, self.sections["passage"])
        return format_chunk(number, hit)

    def _messages(self, question: str, context: str, abstain: str) -> list[Message]:
        values = {"abstain": abstain, "question": question.strip(), "context": context}

        renderer = self.renderer

        def fill(key: str) -> str:
            if renderer is not None:
                return renderer(key, values)
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.sections[key])

        if self.kind == "completion":
            return [Message("user", fill("prompt"))]
        system = self.sections.get("system", "")
        messages = [Message("system", fill("system"))] if system.strip() else []
        return [*messages, Message("user", fill("user"))]

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
            context = "\n\n".join(self.format_hit(i + 1, h) for i, h in enumerate(unique[:k]))
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


__all__ = [
    "DEFAULT_QUOTED",
    "PromptTemplate",
    "RenderedPrompt",
    "SectionRenderer",
    "TokenCounter",
    "format_chunk",
    "format_passage",
    "neutralise",
    "passage_values",
]
