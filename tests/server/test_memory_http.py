"""``GET``/``DELETE /v1/memory`` on a real server: per tenant (from the key) and per user;
deleting a user's memory leaves no row of it in any table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragline._project import Project
from ragline.agent import Fact
from ragline.testing import ServerProcess

from ._kb import ACME_KEY, CONFIG, GLOBEX_KEY, KEYS_ENV


def _remember(root: Path, tenant: str, user: str, texts: list[str]) -> None:
    with Project(root) as project:
        project.memory.remember(tenant=tenant, user=user, facts=[Fact(t, "profile") for t in texts])


@pytest.fixture(scope="module")
def memory_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("memory-http")
    (root / "ragline.yaml").write_text(CONFIG, encoding="utf-8")
    _remember(root, "acme", "u1", [f"user said: acme u1 fact {i} about bikes" for i in range(5)])
    _remember(root, "acme", "u2", ["user said: acme u2 likes trains"])
    _remember(root, "globex", "u1", ["user said: globex u1 launch codename Nightjar"])
    with ServerProcess(root, env=KEYS_ENV) as server:
        yield server, root


def _get(server: ServerProcess, key: str, **params: object) -> httpx.Response:
    return httpx.get(server.url + "/v1/memory", params=params, headers=server.auth(key), timeout=30)


def _delete(server: ServerProcess, key: str, **params: object) -> httpx.Response:
    return httpx.delete(
        server.url + "/v1/memory", params=params, headers=server.auth(key), timeout=30
    )


def test_list_is_scoped_by_the_key_and_the_user(
    memory_server: tuple[ServerProcess, Path],
) -> None:
    server, _ = memory_server
    acme = _get(server, ACME_KEY, user="u1")
    assert acme.status_code == 200, acme.text
    texts = [i["text"] for i in acme.json()["items"]]
    assert sorted(texts) == sorted(f"user said: acme u1 fact {i} about bikes" for i in range(5))
    assert acme.json()["next_cursor"] is None
    globex = _get(server, GLOBEX_KEY, user="u1").json()["items"]
    assert [i["text"] for i in globex] == ["user said: globex u1 launch codename Nightjar"]
    page = _get(server, ACME_KEY, user="u1", limit=2).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = _get(server, ACME_KEY, user="u1", limit=10, cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 3


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 422), ({"user": ""}, 422), ({"user": "u1", "cursor": "garbage"}, 400),
     ({"user": "u1", "limit": 0}, 422)],
)  # fmt: skip
def test_bad_input_is_a_clear_error(
    memory_server: tuple[ServerProcess, Path], params: dict[str, object], status: int
) -> None:
    server, _ = memory_server
    r = _get(server, ACME_KEY, **params)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]


def test_a_wrong_key_is_refused(memory_server: tuple[ServerProcess, Path]) -> None:
    server, root = memory_server
    assert _get(server, "rl_wrong", user="u1").status_code == 401
    assert _delete(server, "rl_wrong", user="u1").status_code == 401
    with Project(root) as project:
        assert project.memory.store.count("acme", "u1") == 5  # nothing lost


def test_delete_one_then_all_leaves_no_row(memory_server: tuple[ServerProcess, Path]) -> None:
    server, root = memory_server
    _remember(root, "acme", "gone", ["user said: SECRET-7731 my address is 4 Rue Lepic"])
    _remember(root, "acme", "gone", ["user said: SECRET-7731 I prefer email"])
    items = _get(server, ACME_KEY, user="gone").json()["items"]
    assert len(items) == 2
    # another tenant's key cannot delete them, even by id
    assert _delete(server, GLOBEX_KEY, user="gone", id=items[0]["id"]).status_code == 404
    assert _delete(server, GLOBEX_KEY, user="gone").json() == {"user": "gone", "deleted": 0}
    one = _delete(server, ACME_KEY, user="gone", id=items[0]["id"])
    assert one.status_code == 200 and one.json() == {"user": "gone", "deleted": 1}
    assert _delete(server, ACME_KEY, user="gone", id=items[0]["id"]).status_code == 404
    rest = _delete(server, ACME_KEY, user="gone")
    assert rest.json() == {"user": "gone", "deleted": 1}
    assert _get(server, ACME_KEY, user="gone").json()["items"] == []
    with sqlite3.connect(root / "ragline.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                assert not any("SECRET-7731" in str(v) for v in row), (table, row)
    # the other users of the tenant keep theirs
    assert len(_get(server, ACME_KEY, user="u2").json()["items"]) == 1
