"""Names a package re-exports from modules that are imported on first use.

A package that must stay light to import (``ragline``, ``ragline.models``,
``ragline.embed``, ``ragline.trace``, ``ragline.testing``) maps each such name to the
module that defines it and sets ``__getattr__ = lazy_exports(__name__, {...})``: the
module (and the heavy library behind it) is imported when the name is first looked
up, never when the package is.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__``: ``name`` from ``modules[name]``, imported on first use."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
