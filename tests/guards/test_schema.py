"""The JSON-schema guard: answers of a tenant that must be JSON are validated against
its schema file; a bad schema file fails when the project (or the server) starts, naming
the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

import ragline
from ragline.answer import DoneEvent, GroundedAnswerer
from ragline.answer._extractive import ABSTAIN_TEXT
from ragline.errors import ConfigError
from ragline.guards import Guard, GuardContext
from ragline.guards._schema import SchemaGuard, answer_json, load_schema
from ragline.testing import FakeModel, GuardConformance, HashEmbedder

SCHEMA = {
    "type": "object",
    "required": ["warranty_years"],
    "properties": {"warranty_years": {"type": "integer", "minimum": 0}},
}
OUTPUT = GuardContext(stage="output")
DOC = "# Warranty\n\nEvery X200 comes with a two-year warranty.\n"
Q = "How long is the X200 warranty?"


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "answer.schema.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    return path


class TestSchemaGuard(GuardConformance):
    triggering: ClassVar[list[str]] = [
        '{"warranty_years": "two"}',
        "The warranty lasts two years [1].",
        '{"other": 1}',
    ]
    benign: ClassVar[list[str]] = [
        '{"warranty_years": 2}',
        '```json\n{"warranty_years": 2}\n``` [1]',
        '{"warranty_years": 2} [1]',
    ]

    @pytest.fixture
    def guard(self, schema_file: Path) -> Guard:
        return SchemaGuard(load_schema(schema_file))


def test_not_json_and_invalid_json_have_their_reasons(schema_file: Path) -> None:
    guard = SchemaGuard(load_schema(schema_file))
    assert guard.check("two years", OUTPUT).reasons == ("schema.invalid", "schema.not_json")
    invalid = guard.check('{"warranty_years": -1}', OUTPUT)
    assert invalid.blocked and invalid.reasons == ("schema.invalid",)
    flag = SchemaGuard(load_schema(schema_file), action="flag").check("{}", OUTPUT)
    assert flag.action == "flag"


def test_the_json_part_of_an_answer() -> None:
    assert answer_json('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert answer_json('{"a": 1} [1][2].') == '{"a": 1}'
    assert answer_json('  {"a": [1]}  ') == '{"a": [1]}'  # a list inside is not a marker


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ('["a", "list"]', "not a JSON schema"),
        ('{"type": "nope"}', "is not a valid JSON schema"),
    ],
)
def test_a_bad_schema_file_is_a_clear_error_naming_it(
    tmp_path: Path, content: str | None, says: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=says) as info:
        load_schema(path)
    assert str(path) in str(info.value)


# -- through the project ----------------------------------------------------------------


def _make(root: Path, schema_line: str) -> None:
    docs = root / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "warranty.md").write_text(DOC, encoding="utf-8")
    (root / "ragline.yaml").write_text(
        "embedder: hash\ntenants:\n  api:\n    guards:\n" + schema_line, encoding="utf-8"
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ragline.Project]:
    root = tmp_path_factory.mktemp("schema-project")
    (root / "schemas").mkdir()
    (root / "schemas" / "answer.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    _make(root, "      schema: {schema: schemas/answer.json}\n")
    p = ragline.Project(root, embedder=HashEmbedder())
    p.ingest([root / "docs"], tenant="api")
    p.ingest([root / "docs"])
    yield p
    p.close()


def _model(project: ragline.Project, tenant: str, *replies: str) -> None:
    model = FakeModel(list(replies), name="openai:json")
    project.parts.view(tenant).answerer = GroundedAnswerer(model, project.embedder)


def test_a_json_answer_valid_under_the_schema_passes(project: ragline.Project) -> None:
    _model(project, "api", '{"warranty_years": 2} [1]')
    answer = project.ask(Q, tenant="api")
    assert not answer.blocked and json.loads(answer_json(answer.text)) == {"warranty_years": 2}
    assert [g for g in answer.guards if g.guard == "schema"] == []


def test_an_answer_that_breaks_the_schema_is_refused(project: ragline.Project) -> None:
    _model(project, "api", "Every X200 comes with a two-year warranty [1].", '{"years": 2} [1]')
    prose = project.ask(Q, tenant="api")
    assert prose.blocked and prose.refusal_reason == "schema.invalid"
    streamed = list(project.ask_stream(Q, tenant="api"))
    done = streamed[-1]
    assert isinstance(done, DoneEvent) and done.finish_reason == "content_filter"
    assert done.answer.refusal_reason == "schema.invalid"


def test_abstentions_and_other_tenants_are_not_json_checked(project: ragline.Project) -> None:
    _model(project, "api", ABSTAIN_TEXT)
    assert not project.ask(Q, tenant="api").blocked
    _model(project, "default", "Every X200 comes with a two-year warranty [1].")
    assert not project.ask(Q).blocked


def test_a_bad_schema_file_stops_the_project_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"type": 12}', encoding="utf-8")
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nguards:\n  schema: {schema: broken.json}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"broken\.json is not a valid JSON schema"):
        ragline.Project(tmp_path, embedder=HashEmbedder())
    assert (tmp_path / "broken.json").read_text(encoding="utf-8") == '{"type": 12}'


def test_a_bad_tenant_schema_fails_the_cli_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    _make(tmp_path, "      schema: {schema: missing.json}\n")
    result = subprocess.run(
        [sys.executable, "-m", "ragline.cli", "-C", str(tmp_path), "ask", "--tenant", "api", Q],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "PYTHONPATH": str(Path(ragline.__file__).parents[1])},
    )
    assert result.returncode != 0
    assert "missing.json does not exist" in result.stderr
    assert "Traceback" not in result.stderr
