"""Custom guards (``guards.custom``): a user's Guard class loaded by its import path,
built with its options, checked against the protocol when the project opens, and run
with the same policy (on_error, timeout_ms) as the built-in guards."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import ragline
from ragline.errors import ConfigError
from ragline.guards._policy import REFUSAL_TEXT
from ragline.testing import HashEmbedder

HERE = Path(__file__).parent
MODULE = "my_ragline_guards"  # tests/guards/custom_guards.py, under a user's name
DOCS = {"warranty.md": "# Warranty\n\nEvery X200 comes with a two-year warranty.\n"}


@pytest.fixture(scope="module")
def on_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("user-code")
    shutil.copy(HERE / "custom_guards.py", folder / f"{MODULE}.py")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(folder))
        yield folder


def _project(tmp_path: Path, guards: str) -> ragline.Project:
    (tmp_path / "docs").mkdir(exist_ok=True)
    for name, text in DOCS.items():
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    (tmp_path / "ragline.yaml").write_text(
        f"embedder: hash\nguards:\n  custom:\n{guards}", encoding="utf-8"
    )
    return ragline.Project(tmp_path, embedder=HashEmbedder())


def test_a_custom_guard_is_loaded_with_its_options_and_blocks(
    tmp_path: Path, on_path: Path
) -> None:
    with _project(
        tmp_path,
        f"    - {{guard: '{MODULE}:Forbidden', options: {{word: cherries, "
        "stages: [input, output]}}\n",
    ) as p:
        p.ingest([tmp_path / "docs"])
        refused = p.ask("Do you sell cherries with the X200?")
        assert refused.blocked and refused.text == REFUSAL_TEXT
        assert refused.refusal_reason == "forbidden.word"
        assert not p.ask("Do you sell bananas with the X200?").blocked  # its option, not 'bananas'
        (configured,) = [g for g in p.parts.view().guards.guards if g.guard.name == "forbidden"]
        assert configured.guard.stages == {"input", "output"} and configured.timeout_ms == 2000


@pytest.mark.parametrize("on_error", ["block", "allow"])
def test_a_custom_guard_that_raises_follows_on_error(
    tmp_path: Path, on_path: Path, on_error: str
) -> None:
    with _project(tmp_path, f"    - {{guard: '{MODULE}:Raising', on_error: {on_error}}}\n") as p:
        p.ingest([tmp_path / "docs"])
        answer = p.ask("How long is the X200 warranty?")
        assert answer.blocked is (on_error == "block")
        assert [(t.guard, t.reasons, t.error) for t in answer.guards] == [
            ("faulty", ["guard.error"], "RuntimeError")
        ]
        if on_error == "allow":
            assert "two-year" in answer.text


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{guard: 'no_such_module_xyz:Guard'}", "cannot import no_such_module_xyz"),
        (f"{{guard: '{MODULE}:Missing'}}", "has no class or function Missing"),
        (f"{{guard: '{MODULE}:NotAGuard'}}", "is not a Guard"),
        (f"{{guard: '{MODULE}:everywhere'}}", "its stages must be"),
        (f"{{guard: '{MODULE}:Forbidden', options: {{colour: red}}}}", "options"),
        (f"{{guard: '{MODULE}:Forbidden', options: {{name: pii}}}}", "already named 'pii'"),
        (f"{{guard: '{MODULE}.Forbidden'}}", "guard"),  # no colon: not an import path
    ],
)
def test_a_bad_custom_guard_stops_the_project_from_opening(
    tmp_path: Path, on_path: Path, entry: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _project(tmp_path, f"    - {entry}\n")


def test_a_tenant_can_replace_the_custom_guards(tmp_path: Path, on_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        f"embedder: hash\nguards:\n  custom:\n    - {{guard: '{MODULE}:Forbidden'}}\n"
        "tenants:\n  lab:\n    guards:\n      custom: []\n",
        encoding="utf-8",
    )
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        assert p.ask("bananas?").blocked
        assert not p.ask("bananas?", tenant="lab").blocked
