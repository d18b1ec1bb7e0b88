"""What a trace may keep: the content policy and the attribute size cap.

Applied by the writer thread to every span before it is stored or exported:

- ``full`` (default): prompt, document and answer text are kept.
- ``redact``: that text is kept with emails, phone numbers, card numbers and IBANs
  masked (see :func:`~ragline.trace._redact.redact_pii`).
- ``off``: that text is replaced by a marker that gives its length; ids, scores,
  counts, timings and token usage are kept.

Which attributes are *content*: those named in :data:`CONTENT_KEYS` (strings, lists
of strings, or lists of records whose :data:`TEXT_FIELDS` hold the text, such as
retrieved hits ``{"chunk_id", "score", "text"}``).

Every string attribute longer than ``max_chars`` (any key, any depth) is cut, with a
marker saying how long it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from pydantic_core import to_json

from ragline.store._traces import SpanEvent, SpanRecord
from ragline.trace._redact import redact_pii

ContentMode = Literal["full", "redact", "off"]
CONTENT_MODES: tuple[str, ...] = ("full", "redact", "off")

CONTENT_KEYS = frozenset(
    {
        "ragline.question",
        "ragline.message",
        "ragline.query",
        "ragline.answer",
        "ragline.prompt",
        "ragline.hits",
        "ragline.sentences",
        "ragline.messages",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
    }
)
TEXT_FIELDS = frozenset({"text", "title", "content", "question", "answer", "prompt"})


def off_marker(text: str) -> str:
    return f"[redacted: content tracing off ({len(text)} chars)]"


def truncate(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}… [truncated: {len(text)} chars, cap {max_chars}]"


def _content(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list | tuple):
        return [_content(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: (_content(v, fn) if k in TEXT_FIELDS else v) for k, v in value.items()}
    return value


def _cap(value: Any, max_chars: int) -> Any:
    if isinstance(value, str):
        return truncate(value, max_chars) if len(value) > max_chars else value
    if isinstance(value, list | tuple):
        return [_cap(v, max_chars) for v in value]
    if isinstance(value, dict):
        return {k: _cap(v, max_chars) for k, v in value.items()}
    return value


def _fits(value: Any, max_chars: int) -> bool:
    """True when no string in ``value`` is longer than ``max_chars`` (a read-only walk).

    Scalars are checked inline (no call per number): this runs for every attribute
    of every span in the writer thread.
    """
    t = type(value)
    if t is str:
        return len(value) <= max_chars
    if t is dict:
        values: Any = value.values()
    elif t is list or t is tuple:
        values = value
    else:
        return True
    for v in values:
        tv = type(v)
        if tv is str:
            if len(v) > max_chars:
                return False
        elif (tv is dict or tv is list or tv is tuple) and not _fits(v, max_chars):
            return False
    return True


def _small(attributes: dict[str, Any], max_chars: int) -> bool:
    """True when the whole JSON of ``attributes`` is within ``max_chars`` bytes.

    Then no string in it can be longer (JSON only adds to a string's length). One C
    call, much cheaper than walking every value: most spans pass here.
    """
    return len(to_json(attributes, fallback=str)) <= max_chars


def apply_policy(
    attributes: dict[str, Any],
    mode: str,
    max_chars: int | None,
    mask: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The attributes with the content policy and the size cap applied; ``mask`` (a
    secret such as the system-prompt canary) is applied to content first.

    Returns ``attributes`` itself when nothing needs to change (the common case), so
    the writer thread does as little work as possible.
    """
    fn: Callable[[str], str] | None = (
        off_marker if mode == "off" else redact_pii if mode == "redact" else None
    )
    if mask is not None:
        policy = fn
        fn = mask if policy is None else (lambda text: policy(mask(text)))
    if fn is None and (max_chars is None or _small(attributes, max_chars)):
        return attributes
    out: dict[str, Any] | None = None
    for key, value in attributes.items():
        new = value
        if fn is not None and key in CONTENT_KEYS:
            new = _content(value, fn)
        if max_chars is not None and not _fits(new, max_chars):
            new = _cap(new, max_chars)
        if new is not value:
            if out is None:
                out = dict(attributes)
            out[key] = new
    return attributes if out is None else out


class SpanProcessor:
    """The writer's processor: per-tenant content policy, then the size cap.

    ``mode_for(tenant)`` gives ``full``, ``redact`` or ``off`` for a tenant.
    """

    def __init__(
        self,
        *,
        max_attribute_chars: int | None = 8000,
        mode_for: Callable[[str], str] | None = None,
        default_mode: str = "full",
        mask: Callable[[], Callable[[str], str] | None] | None = None,
    ) -> None:
        self.max_chars = max_attribute_chars
        self.mode_for = mode_for or (lambda tenant: default_mode)
        #: the secret-masking function to apply now (None: nothing to mask yet)
        self.mask = mask or (lambda: None)

    def __call__(self, record: SpanRecord) -> SpanRecord:
        mode = self.mode_for(record.tenant)
        mask = self.mask()
        attributes = apply_policy(record.attributes, mode, self.max_chars, mask)
        events = record.events
        if events:
            changed = [apply_policy(e.attributes, mode, self.max_chars, mask) for e in events]
            if any(a is not e.attributes for a, e in zip(changed, events, strict=True)):
                events = tuple(
                    SpanEvent(e.name, e.time, a) for a, e in zip(changed, events, strict=True)
                )
        if mode != "full":
            attributes = {**attributes, "ragline.content": mode}
        if attributes is record.attributes and events is record.events:
            return record
        return replace(record, attributes=attributes, events=events)
