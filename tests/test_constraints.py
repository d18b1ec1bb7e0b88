"""constraints.txt agrees with pyproject.toml: every requirement of the core and of the
``local``, ``postgres``, ``otel`` and ``dev`` extras is pinned, each pin satisfies its
specifier, torch is 2.13.0, and the pins agree with each other as far as the installed
packages' metadata tells (no network)."""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def _load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_tools_{name}", REPO / "tools" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


lock = _load_tool("lock")
TEXT = (REPO / "constraints.txt").read_text(encoding="utf-8")
PINS: dict[str, str] = lock.parse(TEXT)


def _check(requirement: Requirement) -> str | None:
    name = canonicalize_name(requirement.name)
    if name not in PINS:
        return f"{requirement} is not pinned"
    if not requirement.specifier.contains(PINS[name], prereleases=True):
        return f"{name}=={PINS[name]} does not satisfy {requirement}"
    return None


def test_every_direct_requirement_is_pinned_within_its_specifier() -> None:
    requirements = lock.project_requirements(REPO / "pyproject.toml")
    names = {canonicalize_name(r.name) for r in requirements}
    assert {"torch", "pypdf", "llama-cpp-python", "psycopg", "opentelemetry-sdk", "pytest"} <= names
    problems = [p for r in requirements if (p := _check(r))]
    assert not problems, "\n".join(problems)


def test_torch_is_the_local_cpu_build() -> None:
    assert PINS["torch"] == "2.13.0"


def test_file_is_what_the_lock_script_writes() -> None:
    """Sorted, canonical names, the refresh instructions in its header: a hand edit that
    breaks the format shows here."""
    assert lock.render(PINS) == TEXT
    assert "tools/check_latest.py --lock" in TEXT and "pypdf 7" in TEXT
    assert "ragline" not in PINS


def test_pins_agree_with_the_installed_packages_requirements() -> None:
    """Walks the requirements through the metadata of every installed package whose
    version is the pinned one (a package installed at another version is skipped: this
    machine has drifted, and says nothing about the pins)."""
    problems: list[str] = []
    checked = 0
    queue = [(r, ()) for r in lock.project_requirements(REPO / "pyproject.toml")]
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        requirement, parent_extras = queue.pop()
        if not lock._applies(requirement, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen or name == "ragline":
            continue
        seen.add(key)
        if problem := _check(requirement):
            problems.append(problem)
            continue
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        if lock.Version(dist.version).public != PINS[name]:
            continue
        checked += 1
        extras = tuple(sorted(requirement.extras))
        queue.extend((Requirement(line), extras) for line in dist.requires or [])
    assert not problems, "\n".join(problems)
    if not checked:
        pytest.skip("no pinned package is installed at its pinned version here")


@pytest.mark.parametrize(
    ("text", "message"),
    [("numpy>=2\n", "not name==version"), ("a==1\nA==2\n", "pinned twice")],
)
def test_parse_rejects_what_pip_would_read_differently(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lock.parse(text)
