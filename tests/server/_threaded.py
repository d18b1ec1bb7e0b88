"""A real uvicorn server in a thread, for tests that inject fakes (a scripted model).

``ragline serve`` in a subprocess (``ServerProcess``) cannot take a ``FakeModel``; this
serves ``create_app(project)`` on a loopback port of this process instead, over real
HTTP, and stops it when the block ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ragline._project import Project
from ragline.answer import GroundedAnswerer
from ragline.models._base import Completion, Delta, Usage
from ragline.server import KeyRing, create_app, hash_key
from ragline.testing import HashEmbedder
from ragline.testing._server import free_port


@contextmanager
def threaded_server(project: Project, keys: dict[str, str]) -> Iterator[str]:
    """Serve ``project`` with ``keys`` (plain key → tenant); yields the base URL."""
    import httpx
    import uvicorn

    app = create_app(project, keys=KeyRing({hash_key(k): t for k, t in keys.items()}))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/readyz", timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("the threaded test server did not become ready")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


DOC = "# Warranty\n\nEvery X200 comes with a two-year warranty on the motor and the battery.\n"


def fake_project(tmp_path: Path, model: Any) -> Project:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "warranty.md").write_text(DOC, encoding="utf-8")
    (tmp_path / "ragline.yaml").write_text("embedder: hash\n", encoding="utf-8")
    project = Project(tmp_path, embedder=HashEmbedder())
    project.ingest([tmp_path / "docs"])
    project.parts.view().answerer = GroundedAnswerer(model, project.embedder)
    return project


class SlowModel:
    """Streams many small deltas, slowly; records whether its stream was closed."""

    name = "openai:slow"

    def __init__(self) -> None:
        self.sent = 0
        self.closed = threading.Event()

    def complete(self, messages: Sequence[Any], **options: Any) -> Completion:
        raise AssertionError("only streaming is used here")

    def stream(self, messages: Sequence[Any], **options: Any) -> Iterator[Delta]:
        try:
            for _ in range(500):
                self.sent += 1
                yield Delta("word ")
                time.sleep(0.02)
            yield Delta("[1]", finish_reason="stop", usage=Usage(10, 500))
        finally:
            self.closed.set()
