"""Prompts: the project's prompt files, their versions (kept forever) and labels.

- :class:`PromptRegistry` reads the shipped templates and ``prompts/NAME.md`` (Jinja2
  with YAML front-matter, checked when loaded), keeps each version in the store, and
  resolves the version that answers a tenant's request from its labels
  (``production`` by default).
- :class:`PromptFile` is one loaded prompt; :class:`ResolvedPrompt` says which
  version and label answered.
"""

from __future__ import annotations

from ragline.prompts._files import PromptFile, load_file, parse_prompt
from ragline.prompts._registry import DEFAULT_LABEL, PromptRegistry, ResolvedPrompt

__all__ = [
    "DEFAULT_LABEL",
    "PromptFile",
    "PromptRegistry",
    "ResolvedPrompt",
    "load_file",
    "parse_prompt",
]
