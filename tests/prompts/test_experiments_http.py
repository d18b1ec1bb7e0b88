"""``X-Ragline-Variant``: a trusted caller forces a variant; the response says which answered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from fastapi.testclient import TestClient

from ragline._project import Project
from ragline.server import create_app
from ragline.server._keys_file import create_key

KEYS = "ragline-keys.yaml"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("experiments-http")
    config = {
        "embedder": "hash",
        "tenants": {"acme": {}},
        "experiments": [
            {
                "name": "narrow",
                "tenants": ["acme"],
                "variants": [{"name": "control"}, {"name": "k1", "retrieval": {"k": 1}}],
            }
        ],
    }
    (root / "ragline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    keys = {
        name: create_key(root / KEYS, "acme", name=name, scopes=scopes)[0]
        for name, scopes in {"asker": ["ask"], "root": ["admin"]}.items()
    }
    docs = root / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"d{i}.md").write_text(
            f"# Warranty {i}\n\nThe X{i}00 has a {i + 1}-year warranty.\n"
        )
    project = Project(root)
    project.ingest([docs], tenant="acme")
    with TestClient(create_app(project, environ={})) as test_client:
        yield test_client, keys


def _ask(client: TestClient, key: str, **headers: str) -> tuple[int, dict[str, object]]:
    r = client.post(
        "/v1/ask",
        json={"question": "How long is the warranty?", "user": "u-1"},
        headers={"Authorization": f"Bearer {key}", **headers},
    )
    return r.status_code, r.json()


def test_the_response_says_which_variant_answered(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    test_client, keys = client
    status, body = _ask(test_client, keys["asker"])
    assert status == 200 and body["experiment"] == "narrow" and body["variant"] in ("control", "k1")
    assert _ask(test_client, keys["asker"])[1]["variant"] == body["variant"]  # the same user


def test_an_admin_key_forces_a_variant(client: tuple[TestClient, dict[str, str]]) -> None:
    test_client, keys = client
    for variant, hits in (("k1", 1), ("control", 3)):
        status, body = _ask(test_client, keys["root"], **{"X-Ragline-Variant": variant})
        assert status == 200 and body["variant"] == variant
        assert len(body["hits"]) == hits  # type: ignore[arg-type]
    status, body = _ask(test_client, keys["root"], **{"X-Ragline-Variant": "nope"})
    assert status == 400 and "has no variant 'nope'" in str(body)


def test_another_key_may_not_force_one(client: tuple[TestClient, dict[str, str]]) -> None:
    test_client, keys = client
    status, body = _ask(test_client, keys["asker"], **{"X-Ragline-Variant": "k1"})
    assert status == 403 and "only an admin key may force" in str(body)
