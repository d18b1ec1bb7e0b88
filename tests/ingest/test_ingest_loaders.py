"""Each format's loader, the checks every file gets, and sidecar metadata."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from ragline.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    EncodingError,
    EncryptedDocumentError,
    FileTooLargeError,
    InputError,
    UnsupportedFormatError,
)
from ragline.ingest import JsonFields, load_file

from .helpers import SAMPLE_KB, docx_bytes, encrypted_pdf_bytes, make_settings, pdf_bytes

# --------------------------------------------------------------------------- text, markdown


def test_txt_title_from_first_line_and_bom_stripped(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_bytes("\ufeffOpening Hours\n\nWe open at nine.\nWe close at five.\n".encode())
    [doc] = load_file(p)
    assert doc.title == "Opening Hours"
    assert doc.sections[0].text == "We open at nine.\nWe close at five."
    assert doc.sections[0].path == [] and doc.sections[0].page is None


def test_txt_without_title_line_uses_file_name(tmp_path: Path) -> None:
    p = tmp_path / "return-policy_v2.txt"
    p.write_text("Returns are accepted within thirty days of delivery.\n")
    [doc] = load_file(p)
    assert doc.title == "return policy v2"
    assert "thirty days" in doc.text


def test_markdown_front_matter_headings_and_code_fences(tmp_path: Path) -> None:
    p = tmp_path / "guide.md"
    p.write_text(
        "---\ntitle: Battery Guide\ndoc_type: faq\ntags: [battery, care]\n"
        "updated: 2025-03-01\n---\n"
        "Intro before any heading.\n\n"
        "# Care\n\nKeep it **dry**. See [the manual](manual.pdf).\n\n"
        "```bash\n# not a heading\necho hi\n```\n\n"
        "## Winter\n\nStore it indoors.\n\n"
        "### Cold\n\nRange drops.\n\n"
        "## Summer\n\nAvoid hot cars.\n\n"
        "Setext Title\n============\n\nUnder setext.\n"
    )
    [doc] = load_file(p)
    assert doc.title == "Battery Guide"
    assert doc.doc_type == "faq"
    assert doc.metadata == {"tags": ["battery", "care"], "updated": "2025-03-01"}
    paths = [s.path for s in doc.sections]
    assert paths == [
        [],
        ["Care"],
        ["Care", "Winter"],
        ["Care", "Winter", "Cold"],
        ["Care", "Summer"],
        ["Setext Title"],
    ]
    care = doc.sections[1].text
    assert "Keep it dry. See the manual." in care
    assert "# not a heading" in care and "echo hi" in care  # fenced code is body text


def test_markdown_title_from_first_h1(tmp_path: Path) -> None:
    p = tmp_path / "x.md"
    p.write_text("Some text.\n\n# Shipping Policy\n\nWe ship fast.\n")
    [doc] = load_file(p)
    assert doc.title == "Shipping Policy" and doc.doc_type is None and doc.metadata == {}


def test_markdown_bad_front_matter_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "x.md"
    p.write_text("---\ntitle: [unclosed\n---\n# T\n\ntext\n")
    with pytest.raises(InputError, match=r"x\.md: front-matter is not valid YAML"):
        load_file(p)


def test_markdown_with_only_front_matter_is_empty(tmp_path: Path) -> None:
    p = tmp_path / "x.md"
    p.write_text("---\ntitle: Nothing\n---\n\n")
    with pytest.raises(EmptyDocumentError, match="no text"):
        load_file(p)


# --------------------------------------------------------------------------- html


def test_html_title_sections_and_dropped_chrome(tmp_path: Path) -> None:
    p = tmp_path / "contact.html"
    p.write_text(
        "<html><head><title>Contact &amp; Hours</title><style>p{color:red}</style>"
        "<script>var secret = 1;</script></head><body>"
        "<nav>Home | Shop</nav><h1>Contact us</h1><p>Email   support@example.com.</p>"
        "<h2>Hours</h2><ul><li>Mon-Fri 9-17</li><li>Sat 10-14</li></ul>"
        "<table><tr><th>Team</th><th>Phone</th></tr><tr><td>Sales</td><td>123</td></tr></table>"
        "<h3>Holidays</h3><p>Closed on holidays.</p>"
        "<footer>Copyright notice</footer></body></html>"
    )
    [doc] = load_file(p)
    assert doc.title == "Contact & Hours"
    assert [s.path for s in doc.sections] == [
        ["Contact us"],
        ["Contact us", "Hours"],
        ["Contact us", "Hours"],  # the table, a section of its own
        ["Contact us", "Hours", "Holidays"],
    ]
    assert doc.sections[0].text == "Email support@example.com."
    assert doc.sections[1].text == "- Mon-Fri 9-17\n- Sat 10-14"
    assert doc.sections[2].table and doc.sections[2].text == "| Team | Phone |\n| Sales | 123 |"
    text = doc.text
    for dropped in ("Home | Shop", "secret", "color:red", "Copyright"):
        assert dropped not in text


def test_html_title_falls_back_to_h1(tmp_path: Path) -> None:
    p = tmp_path / "a.htm"
    p.write_text("<body><h1>Size Guide</h1><p>Pick M if you are 175 cm.</p></body>")
    [doc] = load_file(p)
    assert doc.title == "Size Guide"


def test_html_without_text_is_empty(tmp_path: Path) -> None:
    p = tmp_path / "a.html"
    p.write_text("<html><head><title>T</title></head><body><script>x()</script></body></html>")
    with pytest.raises(EmptyDocumentError):
        load_file(p)


# --------------------------------------------------------------------------- pdf


def test_pdf_pages_and_metadata_title(tmp_path: Path) -> None:
    p = tmp_path / "report.pdf"
    p.write_bytes(
        pdf_bytes(["Revenue was EUR 10 million.", "", "Outlook is good."], title="FY Report")
    )
    [doc] = load_file(p)
    assert doc.title == "FY Report"
    assert [(s.page, s.text) for s in doc.sections] == [
        (1, "Revenue was EUR 10 million."),
        (3, "Outlook is good."),  # the blank page 2 has no section
    ]


@pytest.mark.parametrize(
    "metadata_title", ["0000320193-22-000070", "d359156d10q", "10q_q3_2022.docx", "Untitled"]
)
def test_pdf_title_metadata_that_names_a_file_not_the_document_is_ignored(
    tmp_path: Path, metadata_title: str
) -> None:
    p = tmp_path / "filing.pdf"
    text = (
        "Apple Inc. Quarterly Report\nNet sales for the three months ended 24 September "
        "2022 were 90.1 billion dollars, up 8 percent."
    )
    p.write_bytes(pdf_bytes([text], title=metadata_title))
    [doc] = load_file(p)
    assert doc.title == "Apple Inc. Quarterly Report"


def test_pdf_title_from_first_line(tmp_path: Path) -> None:
    p = tmp_path / "m.pdf"
    p.write_bytes(pdf_bytes(["Service Manual\nTighten the stem bolts to 5 Nm."]))
    [doc] = load_file(p)
    assert doc.title == "Service Manual"


def _styled_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    words = ["apples", "bicycles", "cameras"]

    def heading(text: str, size: int) -> None:
        pdf.set_font("helvetica", style="B", size=size)
        pdf.multi_cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=10)

    for n in range(1, 4):
        pdf.add_page()
        pdf.set_font("helvetica", size=8)
        pdf.cell(0, 5, f"ACME Handbook - confidential - page {n}", new_x="LMARGIN", new_y="NEXT")
        if n == 1:
            heading("ACME Employee Handbook", 22)
        heading(f"Chapter {n}", 16)
        body = f"This chapter explains how the company handles {words[n - 1]} in detail. " * 3
        pdf.multi_cell(0, 5, body, new_x="LMARGIN", new_y="NEXT")
        heading(f"Topic {n}.1", 13)
        pdf.multi_cell(0, 5, body + f"Detail {n}.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_pdf_headings_by_font_size_and_running_headers(tmp_path: Path) -> None:
    p = tmp_path / "handbook.pdf"
    p.write_bytes(_styled_pdf())
    [doc] = load_file(p)
    assert doc.title == "ACME Employee Handbook"  # the one big line on page 1
    assert [(s.path, s.page) for s in doc.sections] == [
        (["Chapter 1"], 1),
        (["Chapter 1", "Topic 1.1"], 1),
        (["Chapter 2"], 2),
        (["Chapter 2", "Topic 2.1"], 2),
        (["Chapter 3"], 3),
        (["Chapter 3", "Topic 3.1"], 3),
    ]
    assert "confidential" not in doc.text  # running header dropped on every page
    assert doc.sections[-1].text.endswith("Detail 3.")
    # wrapped lines are joined back into one paragraph
    assert "\n" not in doc.sections[0].text


def test_pdf_with_empty_password_opens(tmp_path: Path) -> None:
    p = tmp_path / "e.pdf"
    p.write_bytes(encrypted_pdf_bytes(["Readable despite encryption."], password=""))
    [doc] = load_file(p)
    assert doc.sections[0].text == "Readable despite encryption."


def test_pdf_with_password_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "secret.pdf"
    p.write_bytes(encrypted_pdf_bytes(["Top secret."], password="hunter2"))
    with pytest.raises(EncryptedDocumentError, match=r"secret\.pdf is password-protected"):
        load_file(p)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b"\x00\x01 this is junk, not a pdf " * 20,
        lambda b: b[: len(b) // 2],
        lambda b: b[:-40],
        lambda b: b[:200] + b"\x00" * 300 + b[500:],
    ],
    ids=["junk", "half", "truncated-tail", "garbled-middle"],
)
def test_corrupt_pdfs(tmp_path: Path, mangle: object) -> None:
    p = tmp_path / "bad.pdf"
    good = pdf_bytes(["Some text on a page. " * 20, "More text."])
    p.write_bytes(mangle(good))  # type: ignore[operator]
    with pytest.raises(CorruptDocumentError, match=r"bad\.pdf is not a readable PDF"):
        load_file(p)


def _pdf_with_a_big_array(elements: int) -> bytes:
    """A valid PDF whose page dictionary holds one array of ``elements`` numbers (real
    filings carry arrays past pypdf's default limit of 100,000)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, NameObject, NumberObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(["Quarterly revenue: 4.2M."]))))
    writer.pages[0][NameObject("/PieceInfo")] = ArrayObject([NumberObject(0)] * elements)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_past_pypdfs_default_array_limit_opens(tmp_path: Path) -> None:
    p = tmp_path / "10-q.pdf"
    p.write_bytes(_pdf_with_a_big_array(150_000))
    [doc] = load_file(p)
    assert "Quarterly revenue" in doc.sections[0].text


def test_a_pdf_past_the_configured_limit_says_which_setting_not_truncated(
    tmp_path: Path,
) -> None:
    p = tmp_path / "10-q.pdf"
    p.write_bytes(_pdf_with_a_big_array(150_000))
    with pytest.raises(CorruptDocumentError) as info:
        load_file(p, make_settings(pdf_max_elements=100_000))
    assert "larger inside than the PDF limits allow" in str(info.value)
    assert "ingest.pdf_max_elements" in (info.value.hint or "")
    assert "truncated" not in f"{info.value} {info.value.hint}"


def test_pdf_without_text_may_be_scanned(tmp_path: Path) -> None:
    p = tmp_path / "scan.pdf"
    p.write_bytes(pdf_bytes(["", ""]))
    with pytest.raises(EmptyDocumentError, match="scanned PDF"):
        load_file(p)


# --------------------------------------------------------------------------- docx


def _contract(doc: object) -> None:
    d = doc  # python-docx Document
    d.core_properties.title = "Core Title"  # type: ignore[attr-defined]
    d.add_paragraph("Supply Contract", style="Title")  # type: ignore[attr-defined]
    d.add_paragraph("Preamble between the parties.")  # type: ignore[attr-defined]
    d.add_heading("1. Payment", level=1)  # type: ignore[attr-defined]
    d.add_paragraph("Invoices are due in 45 days.")  # type: ignore[attr-defined]
    d.add_heading("1.1 Late fees", level=2)  # type: ignore[attr-defined]
    d.add_paragraph("Interest is 1% per month.")  # type: ignore[attr-defined]
    table = d.add_table(rows=2, cols=2)  # type: ignore[attr-defined]
    for r, row in enumerate([["Volume", "Discount"], ["50+", "33%"]]):
        for c, value in enumerate(row):
            table.rows[r].cells[c].text = value
    d.add_heading("2. Term", level=1)  # type: ignore[attr-defined]
    d.add_paragraph("Three years.", style="List Bullet")  # type: ignore[attr-defined]


def test_docx_headings_title_and_tables(tmp_path: Path) -> None:
    p = tmp_path / "contract.docx"
    p.write_bytes(docx_bytes(_contract))
    [doc] = load_file(p)
    assert doc.title == "Supply Contract"  # the Title paragraph wins over core properties
    assert [(s.path, s.text) for s in doc.sections] == [
        ([], "Preamble between the parties."),
        (["1. Payment"], "Invoices are due in 45 days."),
        (["1. Payment", "1.1 Late fees"], "Interest is 1% per month."),
        # the table is a section of its own (a sentence before it is no caption)
        (["1. Payment", "1.1 Late fees"], "| Volume | Discount |\n| 50+ | 33% |"),
        (["2. Term"], "- Three years."),
    ]


def test_docx_title_from_core_properties(tmp_path: Path) -> None:
    def build(doc: object) -> None:
        doc.core_properties.title = "Dealer Terms"  # type: ignore[attr-defined]
        doc.add_paragraph("Body text.")  # type: ignore[attr-defined]

    p = tmp_path / "t.docx"
    p.write_bytes(docx_bytes(build))
    assert load_file(p)[0].title == "Dealer Terms"


def test_docx_not_a_zip(tmp_path: Path) -> None:
    p = tmp_path / "fake.docx"
    p.write_bytes(b"PK? no, just text pretending to be a docx")
    with pytest.raises(CorruptDocumentError, match="not a zip archive"):
        load_file(p)


def test_docx_zip_without_document_xml(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hi")
    p = tmp_path / "odd.docx"
    p.write_bytes(buf.getvalue())
    with pytest.raises(CorruptDocumentError, match="not a Word document"):
        load_file(p)


def zip_bomb(member_mb: int = 64) -> bytes:
    """A small zip holding a huge, highly compressible member (plus a real-looking name)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w") as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(member_mb):
                member.write(block)
    return buf.getvalue()


def test_docx_zip_bomb_by_ratio(tmp_path: Path) -> None:
    p = tmp_path / "bomb.docx"
    p.write_bytes(zip_bomb(16))
    assert p.stat().st_size < 100_000
    with pytest.raises(CorruptDocumentError, match="looks like a zip bomb"):
        load_file(p)


def test_docx_zip_bomb_by_total_size(tmp_path: Path) -> None:
    p = tmp_path / "bomb.docx"
    p.write_bytes(zip_bomb(16))
    with pytest.raises(CorruptDocumentError, match=r"unpacks to 16 MB, over the 10 MB limit"):
        load_file(p, make_settings(max_unpacked_mb=10))


# --------------------------------------------------------------------------- json / jsonl


def test_jsonl_beir_corpus_keeps_ids(tmp_path: Path) -> None:
    p = tmp_path / "corpus.jsonl"
    p.write_text(
        '{"_id": "4983", "title": "Microstructural development", "text": "Alterations of the '
        'architecture of cerebral white matter.", "metadata": {}}\n'
        "\n"
        '{"_id": 5836, "title": "", "text": "Induction of myelodysplasia."}\n'
    )
    docs = load_file(p)
    assert [(d.id, d.title, d.locator) for d in docs] == [
        ("4983", "Microstructural development", "line 1"),
        ("5836", "", "line 3"),
    ]
    assert docs[0].sections[0].text.startswith("Alterations")


def test_json_custom_fields_and_object_with_one_list(tmp_path: Path) -> None:
    p = tmp_path / "faq.json"
    p.write_text(
        '{"version": 2, "items": ['
        '{"key": "q1", "question": "Returns?", "answer": "Within 30 days.", "topic": "returns",'
        ' "doc_type": "faq", "ignored": 1},'
        '{"key": "q2", "question": "Shipping?", "answer": ["Free in the EU.", "3-5 days."]}'
        "]}"
    )
    fields = JsonFields(
        id_field="key",
        text_field="answer",
        title_field="question",
        meta_fields=("topic", "doc_type"),
    )
    docs = load_file(p, json_fields=fields)
    assert [(d.id, d.title, d.doc_type, d.metadata) for d in docs] == [
        ("q1", "Returns?", "faq", {"topic": "returns"}),
        ("q2", "Shipping?", None, {}),
    ]
    assert docs[1].text == "Free in the EU.\n\n3-5 days."


def test_json_records_without_ids_get_positions(tmp_path: Path) -> None:
    p = tmp_path / "notes.json"
    p.write_text('[{"text": "first note"}, {"text": "second note", "id": "n2"}]')
    assert [d.id for d in load_file(p)] == ["notes.json#1", "n2"]


def test_jsonl_bad_line_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    p.write_text('{"_id": "a", "text": "fine"}\n{"_id": "b", "text": oops}\n')
    with pytest.raises(CorruptDocumentError, match=r"c\.jsonl line 2 is not valid JSON"):
        load_file(p)


def test_json_record_missing_text_field_names_record_and_field(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    p.write_text('{"_id": "a", "text": "fine"}\n{"_id": "b", "body": "no text field"}\n')
    with pytest.raises(InputError, match=r"c\.jsonl line 2 \(id 'b'\) has no 'text' field"):
        load_file(p)


def test_json_not_a_list_of_records(tmp_path: Path) -> None:
    p = tmp_path / "c.json"
    p.write_text('{"a": [1], "b": [2]}')
    with pytest.raises(InputError, match="exactly one list field"):
        load_file(p)


def test_invalid_json_file(tmp_path: Path) -> None:
    p = tmp_path / "c.json"
    p.write_text('[{"text": "x"},]')
    with pytest.raises(CorruptDocumentError, match=r"c\.json is not valid JSON .* line 1"):
        load_file(p)


# --------------------------------------------------------------------------- checks


def test_invalid_utf8_names_the_offset(tmp_path: Path) -> None:
    p = tmp_path / "latin.txt"
    p.write_bytes(b"Caf" + b"\xe9 au lait")
    with pytest.raises(EncodingError, match=r"latin\.txt is not valid UTF-8 .*offset 3") as e:
        load_file(p)
    assert "re-save" in str(e.value)


@pytest.mark.parametrize("name", ["e.txt", "e.md", "e.html", "e.pdf", "e.docx", "e.jsonl"])
@pytest.mark.parametrize("content", [b"", b"  \n\t \n"])
def test_empty_files(tmp_path: Path, name: str, content: bytes) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(EmptyDocumentError, match=r"e\.\w+ (is empty|contains only whitespace)"):
        load_file(p)


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    p.write_text("word " * 300_000)  # 1.5 MB
    with pytest.raises(FileTooLargeError, match=r"big\.txt is 1\.4 MB, over the 1 MB limit") as e:
        load_file(p, make_settings(max_file_mb=1))
    assert "max_file_mb" in str(e.value)


def test_unsupported_extension_lists_supported_ones(tmp_path: Path) -> None:
    p = tmp_path / "slides.pptx"
    p.write_bytes(b"whatever")
    with pytest.raises(UnsupportedFormatError, match=r"slides\.pptx: unsupported") as e:
        load_file(p)
    for ext in (".txt", ".md", ".html", ".pdf", ".docx", ".json", ".jsonl"):
        assert ext in str(e.value)


# --------------------------------------------------------------------------- sidecars


def test_sidecar_yaml_overrides_front_matter(tmp_path: Path) -> None:
    p = tmp_path / "doc.md"
    p.write_text("---\ntitle: Old\ndoc_type: faq\nowner: a\nkeep: 1\n---\n# H\n\ntext\n")
    (tmp_path / "doc.md.meta.yaml").write_text("title: New\ndoc_type: policy\nowner: b\n")
    [doc] = load_file(p)
    assert (doc.title, doc.doc_type, doc.metadata) == ("New", "policy", {"owner": "b", "keep": 1})


def test_sidecar_json_and_language(tmp_path: Path) -> None:
    p = tmp_path / "r.pdf"
    p.write_bytes(pdf_bytes(["Revenue grew."]))
    (tmp_path / "r.pdf.meta.json").write_text('{"doc_type": "finance", "language": "EN", "q": 4}')
    [doc] = load_file(p)
    assert (doc.doc_type, doc.language, doc.metadata) == ("finance", "en", {"q": 4})


def test_bad_sidecar_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_text("hello there")
    (tmp_path / "a.txt.meta.yaml").write_text("- just\n- a list\n")
    with pytest.raises(InputError, match=r"a\.txt\.meta\.yaml: metadata sidecar must be a mapping"):
        load_file(p)


# --------------------------------------------------------------------------- sample KB


def test_sample_kb_files_all_load() -> None:
    files = sorted(p for p in SAMPLE_KB.iterdir() if ".meta." not in p.name)
    assert len(files) >= 12
    for path in files:
        [doc] = load_file(path)
        assert doc.title and doc.text.strip(), path
    report = load_file(SAMPLE_KB / "helio-annual-report-fy2025.pdf")[0]
    assert report.doc_type == "finance"
    assert report.title == "Helio Cycles Annual Report FY2025"
    by_heading = {s.path[-1] if s.path else "": s for s in report.sections}
    assert by_heading["Letter from the CEO"].page == 1
    assert "EUR 48.6 million (USD 52.5 million)" in by_heading["Letter from the CEO"].text
    assert by_heading["Revenue by region"].page == 3
    assert "page 3" not in report.text  # the running footer is gone
