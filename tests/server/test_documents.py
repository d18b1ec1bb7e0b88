"""``/v1/documents`` on a real server: upload files or JSON, list, get, delete.

The module has its own project and server (it writes); globex's documents are there
to show that nothing of another tenant is touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ragline.testing import ServerProcess

from ._kb import KEYS_ENV, SAMPLE_KB, acme, globex, make_project


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("documents"))


@pytest.fixture(scope="module")
def srv(project_dir: Path) -> Iterator[ServerProcess]:
    with ServerProcess(project_dir, env=KEYS_ENV) as proc:
        yield proc


@pytest.fixture()
def client(srv: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers=acme(), timeout=60) as c:
        yield c


def _ids(client: httpx.Client) -> list[str]:
    r = client.get("/v1/documents", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return [d["id"] for d in r.json()["documents"]]


def _hits(client: httpx.Client, q: str, **params: str) -> list[str]:
    r = client.get("/v1/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return [h["document_id"] for h in r.json()["hits"]]


def _upload(client: httpx.Client, *files: tuple[str, bytes]) -> httpx.Response:
    return client.post(
        "/v1/documents", files=[("files", (n, d, "application/octet-stream")) for n, d in files]
    )


def test_upload_several_files_then_find_list_and_get_them(
    client: httpx.Client, project_dir: Path
) -> None:
    r = _upload(
        client,
        ("otters.md", b"# Otters\n\nSea otters hold hands while sleeping so they do not drift.\n"),
        ("guides/setup.txt", b"Setup guide\n\nPlug the quokka adapter into port seven.\n"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tenant"] == "acme"
    assert [(x["name"], x["status"]) for x in body["results"]] == [
        ("otters.md", "added"),
        ("guides/setup.txt", "added"),
    ]
    assert body["totals"]["added"] == 2 and body["totals"]["failed"] == 0
    assert {"otters.md", "guides/setup.txt"} <= set(_ids(client))
    assert "guides/setup.txt" in _hits(client, "quokka adapter port")
    # an id with '/' is addressed as a path
    r = client.get("/v1/documents/guides/setup.txt", params={"chunks": "true"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["source"] == "guides/setup.txt" and doc["tenant"] == "acme"
    assert any("quokka" in c["text"] for c in doc["chunks"])
    assert (project_dir / ".ragline" / "uploads" / "acme" / "guides" / "setup.txt").is_file()


def test_reupload_reports_unchanged_or_updated(client: httpx.Client) -> None:
    first = b"# Tariffs\n\nThe pelican tariff is 12 euros.\n"
    assert _upload(client, ("tariffs.md", first)).json()["results"][0]["status"] == "added"
    assert _upload(client, ("tariffs.md", first)).json()["results"][0]["status"] == "unchanged"
    changed = b"# Tariffs\n\nThe pelican tariff is 15 euros.\n"
    assert _upload(client, ("tariffs.md", changed)).json()["results"][0]["status"] == "updated"
    chunks = client.get("/v1/documents/tariffs.md", params={"chunks": "true"}).json()["chunks"]
    assert "15 euros" in chunks[0]["text"] and "12 euros" not in chunks[0]["text"]


def test_a_mix_of_good_and_unsupported_files_ingests_the_good_ones(
    client: httpx.Client,
) -> None:
    r = _upload(client, ("walrus.md", b"Walruses use their tusks to haul out."), ("x.exe", b"MZ"))
    assert r.status_code == 200, r.text
    results = {x["name"]: x for x in r.json()["results"]}
    assert results["walrus.md"]["status"] == "added"
    assert results["x.exe"]["status"] == "failed"
    assert "unsupported file type" in results["x.exe"]["error"]
    assert "walrus.md" in _ids(client) and "x.exe" not in _ids(client)


def test_only_unsupported_files_is_415_and_nothing_changes(client: httpx.Client) -> None:
    before = _ids(client)
    r = _upload(client, ("a.exe", b"MZ"), ("b.zip", b"PK\x03\x04"))
    assert r.status_code == 415, r.text
    err = r.json()["error"]
    assert err["type"] == "unsupported_media_type"
    assert ".md" in err["hint"] and len(err["results"]) == 2
    assert _ids(client) == before


@pytest.mark.parametrize(
    "name",
    [
        "../../escape.md",
        "/etc/abs.md",
        "a/../../b.md",
        "a//b.md",
        ".hidden.md",
        "notes/.git/config.md",
    ],
)
def test_unsafe_file_names_are_refused_and_nothing_is_written(
    client: httpx.Client, project_dir: Path, name: str
) -> None:
    before = _ids(client)
    files_before = sorted(p for p in project_dir.rglob("*") if p.is_file())
    r = _upload(client, (name, b"# Sneaky\n\nThis must not be stored.\n"))
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_upload" and "file name" in err["message"]
    assert _ids(client) == before
    files_after = sorted(p for p in project_dir.rglob("*") if p.is_file())
    new = [p for p in files_after if p not in files_before and p.suffix == ".md"]
    assert new == []
    assert not (project_dir.parent / "escape.md").exists()


def test_a_windows_path_is_kept_as_its_file_name_only(client: httpx.Client) -> None:
    # the multipart parser keeps the last part of a backslash path (what browsers send)
    r = _upload(client, ("C:\\Users\\me\\kiwi.md", b"Kiwis are flightless birds."))
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["name"] == "kiwi.md"


def test_a_failed_reupload_keeps_the_stored_version(
    client: httpx.Client, project_dir: Path
) -> None:
    good = b"# Heron\n\nThe heron feeder opens at dawn.\n"
    assert _upload(client, ("heron.md", good)).status_code == 200
    r = _upload(client, ("heron.md", b""))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["type"] == "ingest_failed" and "empty" in err["message"]
    assert err["results"][0]["status"] == "failed"
    assert "heron.md" in _hits(client, "heron feeder dawn")
    kept = project_dir / ".ragline" / "uploads" / "acme" / "heron.md"
    assert kept.read_bytes() == good


def test_json_documents_with_metadata_language_and_doc_type(client: httpx.Client) -> None:
    docs: list[dict[str, Any]] = [
        {
            "id": "policy/travel",
            "title": "Travel policy",
            "text": "Flights over six hours may be booked in premium economy.",
            "metadata": {"owner": "travel-desk", "year": 2026},
            "doc_type": "policy",
        },
        {
            "id": "policy/reise",
            "title": "Reiserichtlinie",
            "text": "Flüge über sechs Stunden dürfen in Premium Economy gebucht werden.",
            "language": "de",
        },
    ]
    r = client.post("/v1/documents", json={"documents": docs})
    assert r.status_code == 200, r.text
    assert [(x["name"], x["status"]) for x in r.json()["results"]] == [
        ("policy/travel", "added"),
        ("policy/reise", "added"),
    ]
    travel = client.get("/v1/documents/policy/travel").json()
    # the record's doc_type is also its ragline.doc_type (what query analysis matches)
    assert travel["metadata"] == {
        "owner": "travel-desk",
        "year": 2026,
        "ragline.doc_type": "policy",
    }
    assert travel["doc_type"] == "policy" and travel["title"] == "Travel policy"
    assert client.get("/v1/documents/policy/reise").json()["language"] == "de"
    assert _hits(client, "premium economy flights", filter="owner=travel-desk") == ["policy/travel"]
    # the same documents again: unchanged; one edited: updated
    again = client.post("/v1/documents", json={"documents": docs}).json()["results"]
    assert [x["status"] for x in again] == ["unchanged", "unchanged"]
    edited = [{**docs[0], "text": "Flights over eight hours may be booked in business."}]
    r = client.post("/v1/documents", json={"documents": edited})
    assert r.json()["results"][0]["status"] == "updated"


@pytest.mark.parametrize(
    ("documents", "says"),
    [
        ([{"id": "d", "text": "one"}, {"id": "d", "text": "two"}], "duplicate document id"),
        ([{"id": "m", "text": "x", "metadata": {"title": "t"}}], "reserved"),
        ([{"id": " padded", "text": "x"}], "whitespace"),
        ([{"id": "b", "text": "   "}], "blank"),
        ([{"id": "n", "text": "nul \u0000 here"}], "NUL"),
        ([{"id": "l", "text": "x", "language": "english!"}], "language"),
        ([], "documents"),
    ],
)
def test_bad_json_documents_are_422_and_nothing_is_written(
    client: httpx.Client, documents: list[dict[str, object]], says: str
) -> None:
    before = _ids(client)
    r = client.post("/v1/documents", json={"documents": documents})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request" and says in err["message"]
    assert _ids(client) == before


def test_delete_removes_the_document_its_chunks_and_its_upload(
    client: httpx.Client, project_dir: Path
) -> None:
    r = _upload(
        client, ("trash/ibis.md", b"# Ibis\n\nThe ibis nests on the roof of hangar nine.\n")
    )
    assert r.status_code == 200
    assert "trash/ibis.md" in _hits(client, "ibis nests hangar")
    r = client.delete("/v1/documents/trash/ibis.md")
    assert r.status_code == 200, r.text
    assert r.json() == {"id": "trash/ibis.md", "deleted": True, "chunks": 1}
    assert "trash/ibis.md" not in _hits(client, "ibis nests hangar")
    assert client.get("/v1/documents/trash/ibis.md").status_code == 404
    assert not (project_dir / ".ragline" / "uploads" / "acme" / "trash").exists()
    again = client.delete("/v1/documents/trash/ibis.md")
    assert again.status_code == 404 and again.json()["error"]["type"] == "not_found"


def test_documents_outside_the_project_are_addressed_by_their_escaped_id(
    client: httpx.Client,
) -> None:
    doc_id = (SAMPLE_KB / "battery-care-faq.md").as_posix()
    assert doc_id in _ids(client)
    r = client.get("/v1/documents/" + quote(doc_id, safe=""))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == doc_id


def test_listing_pages_through_the_callers_documents_only(srv: ServerProcess) -> None:
    with httpx.Client(base_url=srv.url, headers=globex(), timeout=30) as c:
        first = c.get("/v1/documents", params={"limit": 1}).json()
        assert first["total"] == 2 and first["next_offset"] == 1
        second = c.get("/v1/documents", params={"offset": 1, "limit": 1}).json()
        assert second["next_offset"] is None
        ids = [d["id"] for d in first["documents"] + second["documents"]]
        assert ids == sorted(ids) and all(i.startswith("globex-docs/") for i in ids)
        assert all(d["tenant"] == "globex" for d in first["documents"])


def test_concurrent_uploads_of_one_name_leave_one_consistent_version(
    client: httpx.Client, srv: ServerProcess, project_dir: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    versions = [f"# Gull\n\nThe gull count is {n}.\n".encode() for n in range(6)]

    def send(data: bytes) -> int:
        with httpx.Client(base_url=srv.url, headers=acme(), timeout=60) as c:
            return _upload(c, ("gull.md", data)).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(send, versions)) == [200] * 6
    kept = (project_dir / ".ragline" / "uploads" / "acme" / "gull.md").read_bytes()
    assert kept in versions
    chunks = client.get("/v1/documents/gull.md", params={"chunks": "true"}).json()["chunks"]
    assert chunks[0]["text"] in kept.decode()


def test_a_failed_new_upload_leaves_no_file_behind(client: httpx.Client, project_dir: Path) -> None:
    r = _upload(client, ("fresh/dir/new.md", b"   \n"))
    assert r.status_code == 422, r.text
    assert not (project_dir / ".ragline" / "uploads" / "acme" / "fresh").exists()
    assert client.get("/v1/documents/fresh/dir/new.md").status_code == 404


def test_a_json_file_with_some_bad_records_keeps_the_good_ones(
    client: httpx.Client, project_dir: Path
) -> None:
    data = b'[{"id": "faq-1", "text": "Cranes migrate in autumn."}, {"id": "faq-2"}]'
    r = _upload(client, ("faq.json", data))
    assert r.status_code == 200, r.text
    statuses = sorted((x["status"], x["documents"]) for x in r.json()["results"])
    assert statuses == [("added", 1), ("failed", 0)]
    failed = next(x for x in r.json()["results"] if x["status"] == "failed")
    assert "faq-2" in failed["error"] and "text" in failed["error"]
    assert "faq-1" in _hits(client, "cranes migrate autumn")
    assert (project_dir / ".ragline" / "uploads" / "acme" / "faq.json").read_bytes() == data


def test_a_cli_sync_of_the_project_folder_keeps_uploaded_documents(
    client: httpx.Client, project_dir: Path
) -> None:
    """Uploads live under .ragline/uploads, not where their ids point: sync must not
    mistake them for deleted files."""
    assert (
        _upload(
            client, ("sync-safe/note.md", b"# Note\n\nThe heron nests by the lake.")
        ).status_code
        == 200
    )
    assert "sync-safe/note.md" in _ids(client)
    from ragline._project import Project

    with Project(project_dir) as p:
        p.ingest([project_dir], tenant="acme", sync=True)
    assert "sync-safe/note.md" in _ids(client)
    assert "sync-safe/note.md" in _hits(client, "heron nests lake")


def test_documents_another_run_is_ingesting_are_busy(
    client: httpx.Client, project_dir: Path
) -> None:
    from ragline.store import ClaimHolder, SQLiteStore

    # another worker (or a `ragline ingest`) is ingesting these two right now
    other = ClaimHolder("other-worker", "another-host.invalid", 1)
    held = {"held/doc": "any version", "held.md": "any version"}
    with SQLiteStore(project_dir / "ragline.db") as store:
        store.claim_documents("acme", held, holder=other, timeout_s=600)
    try:
        docs = [
            {"id": "held/doc", "text": "Walruses use their tusks to haul out onto ice."},
            {"id": "free/doc", "text": "Narwhal tusks are elongated teeth."},
        ]
        body = client.post("/v1/documents", json={"documents": docs}).json()
        assert [(x["name"], x["status"]) for x in body["results"]] == [
            ("held/doc", "busy"),
            ("free/doc", "added"),
        ]
        busy = body["results"][0]
        assert "retry after it finishes" in busy["error"] and "another-host" not in busy["error"]
        assert body["totals"]["busy"] == 1 and body["totals"]["added"] == 1
        r = _upload(client, ("held.md", b"# Held\n\nBelugas can swim backwards.\n"))
        assert [(x["name"], x["status"]) for x in r.json()["results"]] == [("held.md", "busy")]
        assert "held/doc" not in _ids(client) and "held.md" not in _ids(client)
    finally:
        with SQLiteStore(project_dir / "ragline.db") as store:
            store.release_documents("acme", list(held), holder=other)
    body = client.post("/v1/documents", json={"documents": docs}).json()
    assert [x["status"] for x in body["results"]] == ["added", "unchanged"]
    r = _upload(client, ("held.md", b"# Held\n\nBelugas can swim backwards.\n"))
    assert r.json()["results"][0]["status"] == "added"
    for doc_id in ("held/doc", "free/doc", "held.md"):
        assert client.delete(f"/v1/documents/{doc_id}").status_code == 200
