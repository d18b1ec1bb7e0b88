"""``ragline serve --workers 2``: two processes on one socket share one store."""

from __future__ import annotations

from pathlib import Path

import httpx

from ragline.testing import ServerProcess

from ._kb import KEYS_ENV, acme, make_project


def test_two_workers_serve_and_see_each_others_writes(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    with (
        ServerProcess(root, env=KEYS_ENV, args=["--workers", "2"]) as server,
        httpx.Client(base_url=server.url, headers=acme(), timeout=30) as client,
    ):
        r = client.post(
            "/v1/documents",
            json={
                "documents": [
                    {"id": "kiwi", "title": "Kiwi", "text": "The kiwi bird lays one huge egg."}
                ]
            },
        )
        assert r.status_code == 200, r.text
        # new connections land on either worker; every one of them sees the new document
        for _ in range(12):
            with httpx.Client(base_url=server.url, headers=acme(), timeout=30) as fresh:
                hits = fresh.get("/v1/search", params={"q": "kiwi bird egg"}).json()["hits"]
                assert hits and hits[0]["document_id"] == "kiwi"
        answer = client.post("/v1/ask", json={"question": "How long is the battery warranty?"})
        assert answer.status_code == 200 and "[1]" in answer.json()["text"]
    out = server.output()
    assert out.count("Started server process") == 2 and "Finished server process" in out
