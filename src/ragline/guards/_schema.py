"""JSON schema: a tenant whose answers must be JSON gets them validated.

``guards.schema: {schema: path/to/schema.json}`` (per tenant, like every guard) makes
every answer of that tenant a JSON document to check against the schema: an answer
that is not JSON, or not valid under the schema, is blocked (the default) or flagged,
with the reason ``schema.invalid`` (and ``schema.not_json`` when it does not parse;
``ragline guards check --stage output`` shows the verdict). A Markdown code fence
around the JSON (```json … ```) and ``[n]`` citation markers after it are allowed.
Abstentions are not judged (``answer.abstained`` says what they are). A streamed
answer is judged once complete.

The schema is loaded and checked (``$schema``'s draft, else 2020-12) when the tenant's
pipeline is built — at start-up for ``ragline serve`` — so a missing file, bad JSON or
an invalid schema fails there, naming the file. Validation uses ``jsonschema-rs``
(``pip install 'ragline[schema]'``), imported only when a schema is configured. The
HTTP API has no ``response_format`` for JSON yet (``/v1/chat/completions`` accepts
only ``text``), so this per-tenant setting is how structured answers are checked.
Cost: one JSON parse and one validation per answer (microseconds for small schemas).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from ragline.errors import ConfigError
from ragline.guards._base import Action, GuardContext, GuardStage, Verdict, allow

_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_TRAILING_MARKERS = re.compile(r"(?:\s*\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\])+\s*\.?\s*$")


def load_schema(path: str | Path, *, base_dir: Path | None = None) -> Any:
    """The validator of the schema in ``path`` (relative to ``base_dir``), or a
    :class:`ConfigError` naming the file: missing, not JSON, or not a valid schema."""
    file = Path(path)
    if base_dir is not None and not file.is_absolute():
        file = base_dir / file
    try:
        import jsonschema_rs
    except ImportError:
        raise ConfigError(
            f"guards.schema needs the jsonschema-rs package to validate answers against {file}",
            hint="pip install 'ragline[schema]'",
        ) from None
    try:
        schema = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"guards.schema: the schema file {file} does not exist",
            hint="give the path of a JSON schema file (relative to the project folder)",
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"guards.schema: cannot read the schema file {file}: {e}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"guards.schema: the schema file {file} is not valid JSON: {e}",
            hint="fix the file; it must hold one JSON schema object",
        ) from None
    if not isinstance(schema, dict | bool):
        raise ConfigError(
            f"guards.schema: the schema file {file} holds a {type(schema).__name__}, "
            "not a JSON schema",
            hint='a JSON schema is an object such as {"type": "object"}',
        )
    try:
        return jsonschema_rs.validator_for(schema)
    except (ValueError, jsonschema_rs.ReferencingError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(
            f"guards.schema: the schema file {file} is not a valid JSON schema: {first}",
            hint="check it against its draft's meta-schema",
        ) from None


def answer_json(text: str) -> str:
    """The JSON part of an answer: without a code fence and trailing ``[n]`` markers."""
    body = _TRAILING_MARKERS.sub("", text.strip())
    fenced = _FENCE.match(body)
    return fenced.group(1) if fenced else body


class SchemaGuard:
    """Answers that must be JSON valid under a schema (see the module docstring).
    ``validator`` is what :func:`load_schema` returns (anything with ``iter_errors``)."""

    name = "schema"

    def __init__(
        self,
        validator: Any,
        *,
        action: Action = "block",
        stages: Collection[GuardStage] = frozenset({"output"}),
    ) -> None:
        if action not in ("flag", "block"):
            raise ValueError(f"a schema guard flags or blocks, not {action!r}")
        self.validator = validator
        self.action: Action = action
        self.stages: frozenset[GuardStage] = frozenset(stages)

    def check(self, text: str, context: GuardContext) -> Verdict:
        meta = context.metadata
        if meta.get("window") or meta.get("sentence") is not None or meta.get("abstained"):
            return allow(self.name)  # judged once, on the whole answer
        try:
            value = json.loads(answer_json(text))
        except (ValueError, RecursionError):
            return self._invalid(("schema.invalid", "schema.not_json"))
        if self.validator.is_valid(value):
            return allow(self.name)
        return self._invalid(("schema.invalid",))

    def _invalid(self, reasons: tuple[str, ...]) -> Verdict:
        return Verdict(guard=self.name, action=self.action, score=1.0, reasons=reasons)


__all__ = ["SchemaGuard", "answer_json", "load_schema"]
