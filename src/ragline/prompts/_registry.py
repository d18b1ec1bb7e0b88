"""``PromptRegistry``: a project's prompts, their kept versions, and labels per tenant.

The registry reads the shipped templates and the project's ``prompts/*.md`` once (a
project file of the same name as a shipped one replaces it), and keeps every version
it loads in the store (:class:`~ragline.store.PromptStore`), so the text of any
version that ever answered stays available to ``ragline prompts show`` and ``diff``.

Which version answers a tenant's request (:meth:`PromptRegistry.resolve`):

1. the version the label (default ``production``) points at for that tenant;
2. else the version it points at for the default tenant (a label set without
   ``--tenant`` applies to every tenant that has none of its own);
3. else the prompt file as it is now (no label).

Resolution is cached for ``ttl_s`` seconds (default 5), so a label moved by another
process (``ragline prompts label`` while the server runs) takes effect within that
time; a move made through this registry takes effect at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ragline.answer._prompts import PromptTemplate
from ragline.errors import ConfigError, NotFoundError
from ragline.prompts._files import SHIPPED, PromptFile, load_file, parse_prompt, shipped
from ragline.store._prompts import LabelEvent, PromptStore, PromptVersion, check_name

DEFAULT_LABEL = "production"
FOLDER = "prompts"


@dataclass(frozen=True, slots=True)
class ResolvedPrompt:
    """The prompt that answers a request, and how it was chosen."""

    prompt: PromptFile
    label: str | None  #: the label that chose it; None: the current file

    @property
    def name(self) -> str:
        return self.prompt.name

    @property
    def version(self) -> str:
        return self.prompt.version


class PromptRegistry:
    """The prompts of a project folder, on a prompt store (see the module docstring)."""

    def __init__(
        self,
        store: PromptStore,
        folder: str | Path | None,
        *,
        default_tenant: str = "default",
        ttl_s: float = 5.0,
    ) -> None:
        self.store = store
        self.folder = Path(folder) / FOLDER if folder is not None else None
        self.default_tenant = default_tenant
        self.ttl_s = ttl_s
        self._files: dict[str, PromptFile] | None = None
        self._synced = False
        self._parsed: dict[tuple[str, str], PromptFile] = {}
        self._cache: dict[tuple[str, str, str], tuple[float, ResolvedPrompt]] = {}
        self._lock = threading.RLock()

    # -- files -------------------------------------------------------------------------

    def files(self) -> dict[str, PromptFile]:
        """Every prompt by name as its file is now: shipped, then the project's.

        A project file that cannot be used is a ``ConfigError`` naming it (loaded once).
        """
        if self._files is None:
            with self._lock:
                if self._files is None:
                    found = shipped()
                    if self.folder is not None and self.folder.is_dir():
                        for path in sorted(self.folder.glob("*.md")):
                            where = f"{FOLDER}/{path.name}"
                            found[path.stem] = load_file(path, where=where)
                    self._files = found
        return self._files

    def file(self, name: str) -> PromptFile:
        """The prompt ``name`` as its file is now (``NotFoundError`` when there is none)."""
        found = self.files().get(name)
        if found is None:
            raise NotFoundError(
                f"no prompt named {name!r}",
                hint=f"add {FOLDER}/{name}.md or use one of: " + ", ".join(sorted(self.files())),
            )
        return found

    def sync(self) -> list[PromptVersion]:
        """Keep every current file's version in the store (idempotent); the records."""
        with self._lock:
            kept = [self.store.add_version(f.record()) for f in self.files().values()]
            self._synced = True
            return kept

    def _ensure_synced(self) -> None:
        if not self._synced:
            self.sync()

    # -- versions ----------------------------------------------------------------------

    def version(self, name: str, version: str) -> PromptFile:
        """A kept version of ``name`` (a prefix of its hash will do), parsed."""
        check_name(name)
        self._ensure_synced()
        kept = self.store.get_version(name, version)
        if kept is None:
            raise NotFoundError(
                f"prompt {name!r} has no version {version!r}",
                hint=f"`ragline prompts show {name}` lists its versions",
            )
        return self._parse(kept)

    def _parse(self, kept: PromptVersion) -> PromptFile:
        key = (kept.name, kept.version)
        found = self._parsed.get(key)
        if found is None:
            where = kept.source if kept.source != SHIPPED else f"{kept.name} (shipped)"
            try:
                found = parse_prompt(kept.name, kept.text, kept.format, where=where)
            except ConfigError as e:  # kept by an older ragline with other rules
                raise ConfigError(
                    f"kept version {kept.name}@{kept.version} cannot be used: {e.message}",
                    hint="point the label at another version (ragline prompts label)",
                ) from None
            self._parsed[key] = found
        return found

    def lookup(self, spec: str) -> PromptFile:
        """``NAME`` (the current file) or ``NAME@VERSION`` (a kept version)."""
        name, _, version = spec.partition("@")
        return self.version(name, version) if version else self.file(name)

    def answer_prompt(
        self, template: str, *, base_dir: Path
    ) -> tuple[PromptTemplate | str, Callable[[str], ResolvedPrompt] | None]:
        """What the answerer of ``answer.template`` uses: the template and how a tenant's
        request resolves it (its labels; ``NAME@VERSION``: exactly that version). A path
        to a template file, or a name that is no prompt, is returned as it is (no labels).
        Loading the files here makes a bad ``prompts/*.md`` an error now, named."""
        name, _, version = template.partition("@")
        is_path = "/" in name or "\\" in name or name.endswith((".txt", ".md"))
        if is_path or (base_dir / name).is_file() or name not in self.files():
            return template, None
        if version:  # an experiment's variant
            pinned = ResolvedPrompt(self.version(name, version), None)
            return pinned.prompt.template, lambda tenant: pinned
        return self.file(name).template, lambda tenant: self.resolve(name, tenant)

    # -- labels ------------------------------------------------------------------------

    def resolve(self, name: str, tenant: str, label: str = DEFAULT_LABEL) -> ResolvedPrompt:
        """The prompt that answers ``tenant``'s requests (see the module docstring)."""
        key = (name, tenant, label)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        self._ensure_synced()
        resolved = ResolvedPrompt(self.file(name), None)
        for owner in dict.fromkeys((tenant, self.default_tenant)):
            version = self.store.label(owner, name, label)
            if version is not None:
                kept = self.store.get_version(name, version)
                if kept is not None:
                    resolved = ResolvedPrompt(self._parse(kept), label)
                    break
        self._cache[key] = (now, resolved)
        return resolved

    def set_label(
        self, name: str, version: str, label: str, *, tenant: str | None = None, actor: str = ""
    ) -> LabelEvent:
        """Point ``label`` of ``name`` at a kept version (for ``tenant``, default the
        default tenant); the version is parsed first, so a label never points at a
        prompt that cannot answer."""
        self.version(name, version)
        event = self.store.set_label(
            tenant or self.default_tenant, name, label, version, actor=actor
        )
        self._cache.clear()
        return event

    def rollback(
        self, name: str, label: str = DEFAULT_LABEL, *, tenant: str | None = None, actor: str = ""
    ) -> LabelEvent:
        """Move ``label`` back to the version it pointed at before its last move."""
        check_name(name)
        event = self.store.rollback(tenant or self.default_tenant, name, label, actor=actor)
        self._cache.clear()
        return event


__all__ = ["DEFAULT_LABEL", "PromptRegistry", "ResolvedPrompt"]
