"""Property-based fuzzing of every operation in ``/openapi.json`` on a real server.

Schemathesis generates valid and invalid requests from the live schema (sent with
acme's key) and checks that none gets a 5xx and that every response conforms to the
schema: its status code, media type, headers and body are the ones documented. The
server has its own project (uploads and deletes are among the operations). Examples are
bounded per operation.

One test per operation of the checked-in ``docs/openapi.json`` (``test_openapi_doc``
keeps it equal to the live schema). Hypothesis drives schemathesis's strategies
directly: ``schemathesis.pytest.from_fixture`` does not work with pytest 9.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ragline.testing import ServerProcess  # noqa: E402

from ._kb import KEYS_ENV, REPO, acme, make_project  # noqa: E402

MAX_EXAMPLES = 25
METHODS = ("get", "post", "put", "patch", "delete")


def _operations() -> list[tuple[str, str]]:
    spec = json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8"))
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    ]


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = make_project(tmp_path_factory.mktemp("fuzz"))
    with ServerProcess(root, env=KEYS_ENV) as proc:
        yield proc


@pytest.fixture(scope="module")
def live_schema(fuzzed_server: ServerProcess) -> Any:
    return schemathesis.openapi.from_url(fuzzed_server.url + "/openapi.json", headers=acme())


def _strategy(operation: Any) -> Any:
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    try:
        negative = operation.as_strategy(GenerationMode.NEGATIVE)
    except Exception:  # an operation without inputs has no invalid form
        return positive
    return st.one_of(positive, negative)


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: str(v))
def test_no_operation_answers_with_a_server_error_or_off_its_schema(
    live_schema: Any, fuzzed_server: ServerProcess, method: str, path: str
) -> None:
    try:
        operation = live_schema[path][method]
    except KeyError:
        pytest.fail(f"{method} {path} is in docs/openapi.json but not served; regenerate it")

    @given(case=_strategy(operation))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(
            base_url=fuzzed_server.url,
            headers=acme(),
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_headers_conformance,
                response_schema_conformance,
            ],
            timeout=60,
        )

    fuzz()


def test_the_server_is_still_healthy_after_fuzzing(fuzzed_server: ServerProcess) -> None:
    assert httpx.get(fuzzed_server.url + "/readyz").status_code == 200
    r = httpx.get(fuzzed_server.url + "/v1/documents", headers=acme())
    assert r.status_code == 200 and r.json()["total"] >= 1
    assert "Traceback" not in fuzzed_server.output()
