"""Prompt files: a project's ``prompts/NAME.md`` (Jinja2) and the shipped templates.

A project prompt is a Markdown file with YAML front-matter, then the sections of
:mod:`ragline.answer._prompts` (``=== system ===``, ``=== user ===`` or
``=== prompt ===``, optionally ``stop``, ``passage``, ``quoted``)::

    ---
    description: Cite every claim, one marker per sentence
    model: chat                   # the model family it is written for (informational)
    variables:                    # the template's own variables, with their values
      tone: friendly
    ---
    === system ===
    Answer in a {{ tone }} tone, only from the passages. Cite them as [n].
    === user ===
    {{ context }}

    Question: {{ question }}

The body sections may use ``question``, ``context`` and ``abstain`` and the names under
``variables:``; ``passage`` and ``quoted`` use ``n``, ``source`` and ``text``. Every
section is parsed when the file is loaded, in a Jinja2 ``SandboxedEnvironment`` with
``StrictUndefined``: a syntax error, or a variable that is neither built in nor
declared, is a :class:`~ragline.errors.ConfigError` naming the file and the variable
then, never an error in the middle of a request. ``variables:`` may also be a list
of the built-in names the template uses (documentation only).

A prompt's version is the content hash of the file's bytes
(:func:`~ragline.store._prompts.content_version`); the shipped ``.txt`` templates keep
the versions they always had.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from ragline.answer._prompts import PromptTemplate, _parse
from ragline.errors import ConfigError, InputError
from ragline.store._prompts import PromptFormat, PromptVersion, check_name, content_version

if TYPE_CHECKING:
    from pathlib import Path

BODY_VARIABLES = frozenset({"question", "context", "abstain"})
PASSAGE_VARIABLES = frozenset({"n", "source", "text"})
_FRONT_KEYS = {"description", "model", "variables"}
SHIPPED = "shipped"


@dataclass(frozen=True, slots=True)
class PromptFile:
    """One prompt as loaded: its text, where it came from, and the parsed template."""

    name: str
    version: str
    text: str
    format: PromptFormat
    source: str  #: "prompts/NAME.md", or "shipped" for a packaged template
    template: PromptTemplate
    description: str = ""
    model: str = ""
    variables: dict[str, str] = field(default_factory=dict)

    def record(self) -> PromptVersion:
        """The version to keep in the store."""
        return PromptVersion(self.name, self.version, self.text, self.format, self.source)


def _front_matter(where: str, text: str) -> tuple[dict[str, Any], str]:
    """The YAML front-matter (``---`` lines) and the body after it."""
    if not text.startswith("---"):
        return {}, text
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    i = next((n for n, line in enumerate(lines[1:], start=1) if line.strip() == "---"), 0)
    if not i:
        raise ConfigError(
            f"{where}: the front-matter opened by '---' on line 1 is never closed",
            hint="end it with a line of '---' before the first section",
        )
    import yaml

    try:
        meta = yaml.safe_load("\n".join(lines[1:i])) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: the front-matter is not valid YAML: {e}") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{where}: the front-matter must be a mapping (key: value lines)")
    unknown = sorted(set(map(str, meta)) - _FRONT_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown front-matter key {unknown[0]!r}",
            hint="the keys are " + ", ".join(sorted(_FRONT_KEYS)),
        )
    # the body keeps its line numbers: blank lines stand for the front-matter
    return meta, "\n" * (i + 1) + "\n".join(lines[i + 1 :])


def _variables(where: str, raw: Any) -> dict[str, str]:
    """The declared variables: ``{name: value}`` (a list names built-ins only)."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        extra = [str(v) for v in raw if str(v) not in BODY_VARIABLES]
        if extra:
            raise ConfigError(
                f"{where}: variables lists {extra[0]!r}, which has no value",
                hint=f"give it one as a mapping: variables: {{{extra[0]}: ...}}; the "
                "built-in variables are " + ", ".join(sorted(BODY_VARIABLES)),
            )
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: variables must be a mapping of names to values or a list")
    out: dict[str, str] = {}
    for key, value in raw.items():
        name = str(key)
        if not name.isidentifier():
            raise ConfigError(f"{where}: variable {name!r} is not a valid name")
        if name in BODY_VARIABLES | PASSAGE_VARIABLES:
            raise ConfigError(
                f"{where}: variable {name!r} is built in; it cannot be given a value here"
            )
        if not isinstance(value, str | int | float | bool):
            raise ConfigError(f"{where}: variable {name!r} must be text or a number")
        out[name] = str(value)
    return out


def _sandbox() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


class _Renderer:
    """Renders a template's compiled sections (see :class:`SectionRenderer`)."""

    def __init__(self, where: str, compiled: dict[str, Any], values: dict[str, str]) -> None:
        self._where = where
        self._compiled = compiled
        self._values = values

    def __call__(self, section: str, values: dict[str, str]) -> str:
        from jinja2 import TemplateError

        try:
            return str(self._compiled[section].render({**self._values, **values}))
        except TemplateError as e:  # checked at load; kept clear should a filter fail
            raise InputError(f"{self._where}: section {section!r} failed to render: {e}") from e


def parse_jinja(name: str, text: str, *, where: str, version: str) -> PromptFile:
    """A Jinja2 prompt (see the module docstring); ``ConfigError`` naming ``where``."""
    meta, body = _front_matter(where, text)
    variables = _variables(where, meta.get("variables"))
    try:
        sections = _parse(name, body, placeholders=False)
    except InputError as e:
        raise ConfigError(f"{where}: {e.message}", hint=e.hint) from None
    env = _sandbox()
    from jinja2 import TemplateSyntaxError
    from jinja2 import meta as jinja_meta

    compiled: dict[str, Any] = {}
    for key, source in sections.items():
        if key == "stop":
            continue
        allowed = PASSAGE_VARIABLES if key in ("passage", "quoted") else BODY_VARIABLES
        allowed = allowed | set(variables)
        try:
            tree = env.parse(source)
        except TemplateSyntaxError as e:
            raise ConfigError(
                f"{where}: section {key!r}, line {e.lineno}: {e.message}",
                hint="fix the Jinja2 syntax ({{ variable }}, {% if %}…{% endif %})",
            ) from None
        used = jinja_meta.find_undeclared_variables(tree)
        unknown = sorted(used - allowed)
        if unknown:
            raise ConfigError(
                f"{where}: section {key!r} uses the unknown variable {unknown[0]!r}",
                hint="use one of " + ", ".join(sorted(allowed)) + ", or declare it with a "
                f"value in the front-matter (variables: {{{unknown[0]}: ...}})",
            )
        if key in ("user", "prompt") and not {"context", "question"} <= used:
            missing = sorted({"context", "question"} - used)[0]
            raise ConfigError(
                f"{where}: section {key!r} never uses {{{{ {missing} }}}}",
                hint="the question and the numbered passages must reach the model",
            )
        if key in ("passage", "quoted") and not {"n", "text"} <= used:
            raise ConfigError(f"{where}: section {key!r} needs {{{{ n }}}} and {{{{ text }}}}")
        compiled[key] = env.from_string(source)
    kind: Literal["chat", "completion"] = "chat" if "user" in sections else "completion"
    template = PromptTemplate(
        name, text, version, kind, sections, renderer=_Renderer(where, compiled, variables)
    )
    return PromptFile(
        name,
        version,
        text,
        "jinja",
        where,
        template,
        description=str(meta.get("description") or ""),
        model=str(meta.get("model") or ""),
        variables=variables,
    )


def parse_prompt(name: str, text: str, fmt: PromptFormat, *, where: str) -> PromptFile:
    """A prompt from its text: Jinja2 (``prompts/NAME.md``) or a shipped ``.txt``."""
    version = content_version(text.encode("utf-8"))
    if fmt == "jinja":
        return parse_jinja(name, text, where=where, version=version)
    from ragline.answer._prompts import _parse as parse_sections

    sections = parse_sections(name, text)
    kind: Literal["chat", "completion"] = "chat" if "user" in sections else "completion"
    template = PromptTemplate(name, text, version, kind, sections)
    return PromptFile(name, version, text, "text", where, template)


def load_file(path: Path, *, where: str) -> PromptFile:
    """A project prompt file (``ConfigError`` naming ``where`` when it cannot be used)."""
    name = path.stem
    try:
        check_name(name)
    except InputError:
        raise ConfigError(
            f"{where}: {name!r} is not a usable prompt name",
            hint="name the file with letters, digits, '.', '_' or '-' (e.g. cite_v3.md)",
        ) from None
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not valid UTF-8", hint="save it as UTF-8") from None
    except OSError as e:
        raise ConfigError(f"cannot read {where}: {e.strerror or e}") from None
    if "\x00" in text:
        raise ConfigError(f"{where} contains a NUL character")
    return parse_prompt(name, text, "jinja", where=where)


def shipped() -> dict[str, PromptFile]:
    """The packaged templates (``grounded_v1``, ``grounded_v2``…), by name."""
    folder = resources.files("ragline.answer").joinpath("prompts")
    out: dict[str, PromptFile] = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".txt"):
            name = item.name[:-4]
            text = item.read_bytes().decode("utf-8")
            out[name] = parse_prompt(name, text, "text", where=SHIPPED)
    return out


__all__ = ["SHIPPED", "PromptFile", "load_file", "parse_prompt", "shipped"]
