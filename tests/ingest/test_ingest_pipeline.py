"""The ingest pipeline: metadata on every chunk, incremental runs, sync, bad inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ragline.config import DocTypeRule, IngestSettings
from ragline.errors import RaglineError
from ragline.ingest import Ingestor, JsonFields
from ragline.store import MemoryStore, SQLiteStore

from .helpers import (
    SAMPLE_KB,
    CountingEmbedder,
    all_chunks,
    docx_bytes,
    encrypted_pdf_bytes,
    make_settings,
    pdf_bytes,
)
from .test_ingest_loaders import zip_bomb

POLICY = (
    "---\ntitle: Warranty Policy\ndoc_type: policy\nowner: support\n---\n"
    "# Warranty\n\n## Battery\n\n"
    "The battery warranty lasts two years from the date of delivery. "
    "It covers defects and capacity below seventy percent.\n\n"
    "## Frame\n\nThe frame is covered for ten years for the original owner.\n"
)


def _contract(doc: object) -> None:
    d = doc
    d.add_paragraph("Dealer Contract", style="Title")  # type: ignore[attr-defined]
    d.add_heading("Payment terms", level=1)  # type: ignore[attr-defined]
    for i in range(6):
        d.add_paragraph(  # type: ignore[attr-defined]
            f"Clause {i}: invoices are payable within forty-five days of the invoice date, "
            "and late payments bear interest of one percent per month."
        )


def _write_kb(docs: Path) -> None:
    (docs / "warranty.md").write_text(POLICY)
    (docs / "finance").mkdir()
    (docs / "finance" / "report.pdf").write_bytes(
        pdf_bytes(
            ["Revenue in 2025 was EUR 48.6 million, up from EUR 41.2 million.", "Outlook."],
            title="Annual Report",
        )
    )
    (docs / "finance" / "report.pdf.meta.yaml").write_text("fiscal_year: 2025\nowner: cfo\n")
    (docs / "legal").mkdir()
    (docs / "legal" / "contract.docx").write_bytes(docx_bytes(_contract))
    (docs / "es.md").write_text(
        "# Garantía\n\nLa garantía de la batería es de dos años desde la fecha de entrega, "
        "o de ochocientos ciclos de carga completos.\n"
    )
    (docs / ".hidden.md").write_text("# Secret\n\nnot ingested\n")
    (docs / ".git").mkdir()
    (docs / ".git" / "config.txt").write_text("not ingested either")


@pytest.fixture
def kb(project: Path) -> Path:
    _write_kb(project / "docs")
    return project / "docs"


def _settings_with_rules() -> IngestSettings:
    return make_settings(
        doc_types=[
            DocTypeRule(match="docs/finance/**", doc_type="finance"),
            DocTypeRule(match="**/*.md", doc_type="markdown"),
        ]
    )


# --------------------------------------------------------------------------- metadata


def test_every_chunk_carries_its_metadata(
    store: MemoryStore, embedder: CountingEmbedder, project: Path, kb: Path
) -> None:
    ing = Ingestor(store, embedder, _settings_with_rules(), project_dir=project)
    progress: list[tuple[int, int, str]] = []
    report = ing.ingest([kb], on_progress=lambda *a: progress.append(a))
    assert report.ok, report.failed
    assert [(r.path, r.status) for r in report.files] == [
        ("docs/es.md", "added"),
        ("docs/finance/report.pdf", "added"),
        ("docs/legal/contract.docx", "added"),
        ("docs/warranty.md", "added"),
    ]
    assert progress == [
        (0, 4, "docs/es.md"),
        (1, 4, "docs/finance/report.pdf"),
        (2, 4, "docs/legal/contract.docx"),
        (3, 4, "docs/warranty.md"),
        (4, 4, "docs/warranty.md"),
    ]
    assert report.totals()["added"] == 4
    assert report.chunks == report.chunks_embedded == len(all_chunks(store))

    docs = {d.id: d for d in store.list_documents("default")}
    assert set(docs) == {r.path for r in report.files}
    chunks = all_chunks(store)
    by_doc: dict[str, list] = {}  # type: ignore[type-arg]
    for c in chunks:
        by_doc.setdefault(c.document_id, []).append(c)
        assert c.source == c.document_id and c.tenant == "default"
        assert c.content_hash and c.id == f"{c.document_id}#{c.ordinal}"

    # markdown: front-matter doc_type wins over the rule; front-matter metadata kept
    w = by_doc["docs/warranty.md"]
    assert {c.title for c in w} == {"Warranty Policy"}
    assert [c.section_path for c in w] == [["Warranty", "Battery"], ["Warranty", "Frame"]]
    assert all(
        c.doc_type == "policy"
        and c.metadata
        == {
            "owner": "support",
            "ragline.doc_language": "en",
            "ragline.doc_type": "policy",  # the front-matter's, not one found in the text
            "ragline.file": "warranty.md",
        }
        for c in w
    )
    assert all(c.language == "en" and c.page is None for c in w)
    assert w[0].indexed_text.startswith("Warranty Policy > Warranty > Battery\n")
    assert docs["docs/warranty.md"].doc_type == "policy"

    # pdf: doc_type from the path rule, metadata from the sidecar, pages kept
    r = by_doc["docs/finance/report.pdf"]
    assert [c.page for c in r] == [1, 2]
    assert all(c.doc_type == "finance" and c.title == "Annual Report" for c in r)
    meta = {
        "fiscal_year": 2025,
        "owner": "cfo",
        "ragline.doc_language": "en",
        "ragline.doc_type": "finance",
        "ragline.file": "report.pdf",
        "ragline.period": "FY2025",
    }
    assert all(c.metadata == meta for c in r)
    # what the document is, on a line of the indexed text (the file name, "report", is
    # left out: the title "Annual Report" says it already)
    assert r[0].indexed_text.startswith("Annual Report\nFY2025 · finance\n")

    # a rule applies where front-matter is silent
    assert {c.doc_type for c in by_doc["docs/es.md"]} == {"markdown"}
    assert {c.language for c in by_doc["docs/es.md"]} == {"es"}
    assert docs["docs/es.md"].language == "es"

    # docx: a body chunk far from the title still says "contract" through its title
    contract = by_doc["docs/legal/contract.docx"]
    assert len(contract) > 1
    last = contract[-1]
    assert "contract" not in last.text.lower()
    assert last.indexed_text.startswith("Dealer Contract > Payment terms\n")
    assert any("contract" in t.lower() for t in embedder.texts if "Clause 5" in t)
    hits = store.keyword_search("default", "contract payable", k=10)
    assert last.id in {h.chunk.id for h in hits}


def test_sidecar_files_and_hidden_files_are_not_documents(ingestor: Ingestor, kb: Path) -> None:
    report = ingestor.ingest([kb])
    paths = {r.path for r in report.files}
    assert not any(".meta." in p or "hidden" in p or ".git" in p for p in paths)
    explicit = ingestor.ingest([kb / "finance" / "report.pdf.meta.yaml"])
    assert explicit.files[0].status == "failed"
    assert "metadata sidecar, not a document" in (explicit.files[0].error or "")


# --------------------------------------------------------------------------- incremental


def test_second_ingest_of_unchanged_folder_embeds_nothing(
    ingestor: Ingestor, embedder: CountingEmbedder, kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ingestor.ingest([kb])
    calls = len(embedder.calls)
    assert calls > 0

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged file was parsed")

    monkeypatch.setattr("ragline.ingest._pipeline.parse_bytes", no_parsing)
    second = ingestor.ingest([kb])
    assert len(embedder.calls) == calls
    assert second.chunks_embedded == 0
    assert {r.status for r in second.files} == {"unchanged"}
    assert second.totals()["unchanged"] == 4
    assert [r.chunks for r in second.files] == [r.chunks for r in first.files]


def test_changed_file_replaces_its_chunks_and_reembeds_only_changed_ones(
    store: MemoryStore, embedder: CountingEmbedder, project: Path, kb: Path
) -> None:
    ing = Ingestor(
        store, embedder, make_settings(chunk_size=150, chunk_overlap=0), project_dir=project
    )
    ing.ingest([kb])
    before = {c.id: c for c in all_chunks(store) if c.document_id == "docs/warranty.md"}
    embedder.calls.clear()
    (kb / "warranty.md").write_text(
        POLICY.replace("ten years for the original owner", "fifteen years for any owner")
    )
    report = ing.ingest([kb])
    statuses = {r.path: r.status for r in report.files}
    assert statuses["docs/warranty.md"] == "updated"
    assert sum(s == "unchanged" for s in statuses.values()) == 3
    assert report.chunks_embedded == 1
    assert embedder.texts == [
        "Warranty Policy > Warranty > Frame\nThe frame is covered for fifteen years for any owner."
    ]
    after = [c for c in all_chunks(store) if c.document_id == "docs/warranty.md"]
    assert len(after) == len(before)
    text = " ".join(c.text for c in after)
    assert "fifteen years" in text and "ten years" not in text
    assert not store.keyword_search("default", "original", k=5)


def test_settings_or_embedder_change_reingests(
    store: MemoryStore, embedder: CountingEmbedder, project: Path, kb: Path
) -> None:
    Ingestor(store, embedder, make_settings(), project_dir=project).ingest([kb])
    report = Ingestor(store, embedder, make_settings(chunk_size=300), project_dir=project).ingest(
        [kb]
    )
    assert {r.status for r in report.files} == {"updated"}


def test_sidecar_change_updates_document(ingestor: Ingestor, store: MemoryStore, kb: Path) -> None:
    ingestor.ingest([kb])
    (kb / "finance" / "report.pdf.meta.yaml").write_text("doc_type: finance\nowner: ceo\n")
    report = ingestor.ingest([kb])
    assert {r.path: r.status for r in report.files}["docs/finance/report.pdf"] == "updated"
    doc = store.get_document("default", "docs/finance/report.pdf")
    assert doc is not None and doc.doc_type == "finance"
    assert doc.metadata == {
        "owner": "ceo",
        "ragline.doc_type": "finance",  # the sidecar's doc_type wins over "annual report"
        "ragline.file": "report.pdf",
    }


def test_small_documents_are_embedded_in_shared_batches(
    store: MemoryStore, embedder: CountingEmbedder, project: Path
) -> None:
    docs = project / "docs"
    for i in range(40):
        (docs / f"note{i:02}.txt").write_text(f"Note number {i} says something about topic {i}.")
    ing = Ingestor(store, embedder, make_settings(batch_size=8), project_dir=project)
    report = ing.ingest([docs])
    assert report.totals()["added"] == 40
    assert len(embedder.calls) == 2  # 32 + 8 chunks, not 40 calls
    assert [len(c) for c in embedder.calls] == [32, 8]


# --------------------------------------------------------------------------- sync


def test_sync_removes_deleted_files(ingestor: Ingestor, store: MemoryStore, kb: Path) -> None:
    ingestor.ingest([kb])
    (kb / "es.md").unlink()
    shutil.rmtree(kb / "legal")
    plain = ingestor.ingest([kb])
    assert "removed" not in {r.status for r in plain.files}
    assert store.get_document("default", "docs/es.md") is not None
    report = ingestor.ingest([kb], sync=True)
    removed = {r.path: r.documents for r in report.files if r.status == "removed"}
    assert removed == {"docs/es.md": 1, "docs/legal/contract.docx": 1}
    assert report.totals()["removed"] == 2
    ids = {d.id for d in store.list_documents("default")}
    assert ids == {"docs/warranty.md", "docs/finance/report.pdf"}
    assert not [c for c in all_chunks(store) if "legal" in c.document_id]


def test_sync_of_a_subfolder_leaves_other_folders_alone(
    ingestor: Ingestor, store: MemoryStore, kb: Path
) -> None:
    ingestor.ingest([kb])
    (kb / "es.md").unlink()
    report = ingestor.ingest([kb / "finance"], sync=True)
    assert "removed" not in {r.status for r in report.files}
    assert store.get_document("default", "docs/es.md") is not None
    # a given path that no longer exists is synced too
    shutil.rmtree(kb / "legal")
    report = ingestor.ingest([kb / "legal"], sync=True)
    assert [(r.path, r.status) for r in report.files] == [("docs/legal/contract.docx", "removed")]


def test_unknown_language_fails_before_any_work(store: MemoryStore, project: Path) -> None:
    from ragline.errors import ConfigError

    with pytest.raises(ConfigError, match="'xx'"):
        Ingestor(
            store, CountingEmbedder(), make_settings(languages=["en", "xx"]), project_dir=project
        )


def test_missing_path_without_sync_is_a_failure(ingestor: Ingestor, project: Path) -> None:
    report = ingestor.ingest([project / "nope"])
    [result] = report.files
    assert result.status == "failed" and "does not exist" in (result.error or "")


# --------------------------------------------------------------------------- json / jsonl


def test_jsonl_records_with_own_ids_and_sync(
    ingestor: Ingestor, store: MemoryStore, embedder: CountingEmbedder, project: Path
) -> None:
    corpus = project / "corpus.jsonl"
    records = [
        {"_id": "d1", "title": "Battery", "text": "The battery lasts two years.", "tag": "a"},
        {"_id": "d2", "title": "Frame", "text": "The frame lasts ten years.", "tag": "b"},
        {"_id": "d3", "title": "Paint", "text": "Paint is covered for two years.", "tag": "c"},
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    fields = JsonFields(meta_fields=("tag",))
    report = ingestor.ingest([corpus], json_fields=fields)
    assert [(r.path, r.status, r.documents) for r in report.files] == [("corpus.jsonl", "added", 3)]
    d1 = store.get_chunks("default", ["d1#0"])[0]
    assert (d1.title, d1.source, d1.metadata) == (
        "Battery",
        "corpus.jsonl",
        {"tag": "a", "ragline.doc_language": "en"},
    )
    assert d1.indexed_text == "Battery\nThe battery lasts two years."

    records[1]["text"] = "The frame lasts fifteen years."
    del records[2]
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    embedder.calls.clear()
    report = ingestor.ingest([corpus], json_fields=fields, sync=True)
    got = sorted((r.status, r.documents) for r in report.files)
    assert got == [("removed", 1), ("unchanged", 1), ("updated", 1)]
    assert embedder.texts == ["Frame\nThe frame lasts fifteen years."]
    assert {d.id for d in store.list_documents("default")} == {"d1", "d2"}


def test_bad_records_fail_alone(ingestor: Ingestor, store: MemoryStore, project: Path) -> None:
    corpus = project / "c.jsonl"
    corpus.write_text(
        '{"_id": "ok1", "text": "fine"}\n'
        '{"_id": "nope", "body": "no text field"}\n'
        '{"_id": "empty", "text": "   "}\n'
        '["not", "an", "object"]\n'
        '{"_id": "ok1", "text": "duplicate id"}\n'
        '{"_id": "ok2", "text": "also fine"}\n'
    )
    report = ingestor.ingest([corpus])
    assert report.totals()["added"] == 2 and report.totals()["failed"] == 4
    errors = [r.error or "" for r in report.failed]
    assert "c.jsonl line 2 (id 'nope') has no 'text' field" in errors[0]
    assert "line 3 (id 'empty'): field 'text' is empty" in errors[1]
    assert "line 4: a record must be a JSON object" in errors[2]
    assert "line 5: duplicate id 'ok1'" in errors[3]
    assert {d.id for d in store.list_documents("default")} == {"ok1", "ok2"}
    assert store.get_chunks("default", ["ok1#0"])[0].text == "fine"


# --------------------------------------------------------------------------- bad inputs


def _bad_files(docs: Path) -> dict[str, str]:
    """Write one file per kind of bad input; return name → expected error fragment."""
    good_pdf = pdf_bytes(["Some text on a page. " * 30, "More text."])
    (docs / "empty.txt").write_text("")
    (docs / "blank.md").write_text("   \n\n  ")
    (docs / "junk.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (docs / "locked.pdf").write_bytes(encrypted_pdf_bytes(["Secret."], password="pw"))
    (docs / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 2])
    (docs / "latin1.txt").write_bytes("Garantía de dos años".encode("latin-1"))
    (docs / "huge.txt").write_text("big " * 400_000)
    (docs / "bomb.docx").write_bytes(zip_bomb(16))
    (docs / "slides.pptx").write_bytes(b"PK\x03\x04 whatever")
    (docs / "broken.jsonl").write_text('{"_id": "x1", "text": "fine"}\n{"_id": "x2", text}\n')
    return {
        "empty.txt": "empty.txt is empty",
        "blank.md": "blank.md contains only whitespace",
        "junk.pdf": "junk.pdf is not a readable PDF",
        "locked.pdf": "locked.pdf is password-protected",
        "truncated.pdf": "truncated.pdf is not a readable PDF",
        "latin1.txt": "latin1.txt is not valid UTF-8 (byte 0xed at offset 6)",
        "huge.txt": "huge.txt is 1.5 MB, over the 1 MB limit",
        "bomb.docx": "bomb.docx looks like a zip bomb",
        "slides.pptx": "slides.pptx: unsupported file type",
        "broken.jsonl": "broken.jsonl line 2 is not valid JSON",
    }


def test_every_bad_input_fails_alone_with_a_clear_error(
    store: MemoryStore, embedder: CountingEmbedder, project: Path
) -> None:
    docs = project / "docs"
    (docs / "good.md").write_text(POLICY)
    expected = _bad_files(docs)
    (docs / "zz-good.txt").write_text("Another good file that sorts after the bad ones.")
    ing = Ingestor(store, embedder, make_settings(max_file_mb=1), project_dir=project)
    report = ing.ingest([docs])
    status = {Path(r.path).name: r for r in report.files}
    assert status["good.md"].status == "added" and status["zz-good.txt"].status == "added"
    for name, fragment in expected.items():
        result = status[name]
        assert result.status == "failed", name
        assert fragment in (result.error or ""), (name, result.error)
        assert " — " in (result.error or ""), f"{name}: the error should say how to fix it"
    assert report.totals() == {
        "added": 2,
        "updated": 0,
        "unchanged": 0,
        "busy": 0,
        "removed": 0,
        "failed": len(expected),
    }
    assert {d.id for d in store.list_documents("default")} == {"docs/good.md", "docs/zz-good.txt"}
    assert not store.embeddings_by_hash("default", [], embedder.name)
    assert all(c.document_id in ("docs/good.md", "docs/zz-good.txt") for c in all_chunks(store))


@pytest.mark.parametrize(
    ("name", "make_bad"),
    [
        ("doc.txt", lambda p: p.write_bytes(b"caf\xe9")),
        ("doc.txt", lambda p: p.write_text("")),
        ("doc.pdf", lambda p: p.write_bytes(p.read_bytes()[:300])),
        ("doc.pdf", lambda p: p.write_bytes(encrypted_pdf_bytes(["x"], password="pw"))),
        ("doc.docx", lambda p: p.write_bytes(zip_bomb(16))),
        ("doc.jsonl", lambda p: p.write_text('{"_id": "r1", "text": "x"}\n{oops\n')),
    ],
    ids=["bad-utf8", "emptied", "truncated-pdf", "encrypted-pdf", "zip-bomb", "bad-jsonl"],
)
def test_good_version_survives_when_file_turns_bad(
    ingestor: Ingestor, store: MemoryStore, project: Path, name: str, make_bad: object
) -> None:
    path = project / "docs" / name
    if name.endswith(".pdf"):
        path.write_bytes(pdf_bytes(["The good version of this document."]))
    elif name.endswith(".docx"):
        path.write_bytes(docx_bytes(lambda d: d.add_paragraph("The good version.")))  # type: ignore[attr-defined]
    elif name.endswith(".jsonl"):
        path.write_text('{"_id": "r1", "text": "The good version."}\n')
    else:
        path.write_text("The good version of this document.")
    assert ingestor.ingest([path]).ok
    before = sorted(c.text for c in all_chunks(store))
    assert before and "good version" in before[0]

    make_bad(path)  # type: ignore[operator]
    report = ingestor.ingest([path], sync=True)
    assert [r.status for r in report.files] == ["failed"]
    assert sorted(c.text for c in all_chunks(store)) == before


# --------------------------------------------------------------------------- tenants, stores


def test_tenants_are_separate(ingestor: Ingestor, store: MemoryStore, kb: Path) -> None:
    ingestor.ingest([kb / "warranty.md"], tenant="acme")
    assert store.list_documents("default") == []
    report = ingestor.ingest([kb / "warranty.md"], tenant="globex")
    assert report.files[0].status == "added"
    assert [d.tenant for d in store.list_documents("acme")] == ["acme"]


def test_files_outside_the_project_use_absolute_ids(
    store: MemoryStore, embedder: CountingEmbedder, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.md").write_text("# A\n\nOutside the project folder.\n")
    project = tmp_path / "project"
    project.mkdir()
    ing = Ingestor(store, embedder, make_settings(), project_dir=project)
    report = ing.ingest([elsewhere])
    assert report.files[0].path == (elsewhere / "a.md").as_posix()
    (elsewhere / "a.md").unlink()
    report = ing.ingest([elsewhere], sync=True)
    assert report.files[0].status == "removed"


def test_sample_kb_ingests_cleanly(store: MemoryStore, embedder: CountingEmbedder) -> None:
    root = SAMPLE_KB.parent.parent
    ing = Ingestor(store, embedder, IngestSettings.model_validate({}), project_dir=root)
    report = ing.ingest([SAMPLE_KB])
    assert report.ok, report.failed
    assert report.totals()["added"] >= 12
    docs = {Path(d.id).name: d for d in store.list_documents("default")}
    assert docs["helio-annual-report-fy2025.pdf"].doc_type == "finance"
    assert docs["bateria-preguntas-frecuentes.md"].language == "es"
    assert {d.language for n, d in docs.items() if not n.startswith("bateria")} == {"en"}
    hits = store.keyword_search("default", "revenue 2025", k=3)
    assert hits[0].chunk.source.endswith("helio-annual-report-fy2025.pdf")


def test_sqlite_store(embedder: CountingEmbedder, project: Path, kb: Path) -> None:
    store = SQLiteStore(project / "ragline.db")
    try:
        ing = Ingestor(store, embedder, make_settings(), project_dir=project)
        first = ing.ingest([project])  # the project root: ragline.db* is skipped
        assert first.ok and first.totals()["added"] == 4
        calls = len(embedder.calls)
        again = ing.ingest([project])
        assert again.totals()["unchanged"] == 4 and len(embedder.calls) == calls
        chunk = store.get_chunks("default", ["docs/finance/report.pdf#0"])[0]
        assert chunk.page == 1 and chunk.metadata == {
            "fiscal_year": 2025,
            "owner": "cfo",
            "ragline.doc_language": "en",
            "ragline.doc_type": "annual report",  # from the title
            "ragline.file": "report.pdf",
            "ragline.period": "FY2025",  # the sidecar's fiscal_year
        }
        (kb / "es.md").unlink()
        synced = ing.ingest([project], sync=True)
        assert synced.totals()["removed"] == 1
        assert store.get_document("default", "docs/es.md") is None
    finally:
        store.close()


# --------------------------------------------------------------------------- large JSONL


class _FailingAfter(CountingEmbedder):
    """Embeds ``ok_calls`` batches, then fails like a crashed model server."""

    def __init__(self, ok_calls: int) -> None:
        super().__init__()
        self.ok_calls = ok_calls

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        if len(self.calls) >= self.ok_calls:
            from ragline.errors import EmbedderError

            raise EmbedderError("the embedding server went away")
        return super().embed_documents(texts)


def test_large_jsonl_is_written_as_it_goes_and_reports_progress(
    store: MemoryStore, project: Path
) -> None:
    path = project / "corpus.jsonl"
    path.write_text(
        "".join(json.dumps({"_id": f"r{i}", "text": f"Record {i} talks about topic {i}."}) + "\n"
              for i in range(300))
    )  # fmt: skip
    settings = make_settings(batch_size=8)  # flush every 32 chunks
    seen: list[str] = []
    failing = Ingestor(store, _FailingAfter(ok_calls=4), settings, project_dir=project)
    with pytest.raises(RaglineError, match="went away"):
        failing.ingest([path], on_progress=lambda _d, _t, label: seen.append(label))
    written = {d.id for d in store.list_documents("default")}
    assert 0 < len(written) < 300  # what was embedded before the crash is stored
    assert any("(100/300)" in label for label in seen)  # record-level progress

    embedder = CountingEmbedder()
    report = Ingestor(store, embedder, settings, project_dir=project).ingest([path])
    assert report.totals()["unchanged"] == len(written)  # the re-run resumes
    assert report.totals()["added"] == 300 - len(written)
    assert len(embedder.texts) == 300 - len(written)
