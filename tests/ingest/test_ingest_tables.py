"""Tables as tables: each row with its column headers and the table's caption, in
every format, and malformed tables that stay bounded."""

from __future__ import annotations

from pathlib import Path

from ragline.answer._tables import Table, row_segments, split_tables
from ragline.ingest import chunk_document, load_file, max_chunk_chars
from ragline.ingest._tables import MAX_CELL_CHARS, MAX_COLUMNS

from .helpers import docx_bytes, pdf_bytes

CASH_FLOW_HTML = """<html><head><title>Acme Q3 2022</title></head><body>
<h1>Results</h1><p>Cash was strong.</p><h2>Cash flows</h2>
<table><caption>Condensed cash flow statement</caption>
<thead><tr><th></th><th colspan="4">Three months ended</th></tr>
<tr><th></th><th colspan="2">Sep 30, 2022</th><th colspan="2">Sep 30, 2021</th></tr></thead>
<tr><td>Operating cash flow</td><td>$</td><td>1,234</td><td>$</td><td>1,100</td></tr>
<tr><td>Capital expenditure</td><td>(</td><td>300</td><td>)</td><td>(250)</td></tr>
</table><p>After the table.</p></body></html>"""


def _rows(text: str) -> list[str]:
    """The quotable rows of every table in a chunk's text, as the answerer reads them."""
    return [r for part in split_tables(text) if isinstance(part, Table) for r in row_segments(part)]


def test_an_html_table_row_carries_its_headers_and_caption(tmp_path: Path) -> None:
    p = tmp_path / "q3.html"
    p.write_text(CASH_FLOW_HTML)
    [doc] = load_file(p)
    table = next(s for s in doc.sections if s.table)
    assert table.path == ["Results", "Cash flows", "Condensed cash flow statement"]
    chunks = chunk_document(doc, "q3.html")
    [chunk] = [c for c in chunks if "Operating" in c.text]
    assert chunk.section == "Results > Cash flows > Condensed cash flow statement"
    # "$" cells joined to their figures, spacer columns gone, two header rows merged
    assert _rows(chunk.text) == [
        "Operating cash flow; Three months ended / Sep 30, 2022: $1,234; "
        "Three months ended / Sep 30, 2021: $1,100.",
        "Capital expenditure; Three months ended / Sep 30, 2022: (300); "
        "Three months ended / Sep 30, 2021: (250).",
    ]
    # the prose around the table stays in its own sections
    assert [c.text for c in chunks if not c.text.startswith("|")] == [
        "Cash was strong.",
        "After the table.",
    ]


def test_every_chunk_of_a_long_table_starts_with_its_header(tmp_path: Path) -> None:
    rows = "".join(f"<tr><td>Item {i}</td><td>{i * 7} kg</td></tr>" for i in range(200))
    p = tmp_path / "long.html"
    p.write_text(f"<h1>Weights</h1><table><tr><th>Item</th><th>Weight</th></tr>{rows}</table>")
    [doc] = load_file(p)
    chunks = chunk_document(doc, "long.html", chunk_size=300, chunk_overlap=50)
    assert len(chunks) > 5
    assert all(c.text.startswith("| Item | Weight |\n") for c in chunks)
    assert all(len(c.text) <= 300 for c in chunks)
    found = [r for c in chunks for r in _rows(c.text)]
    # every row exactly once, none cut in two
    assert found == [f"Item: Item {i}; Weight: {i * 7} kg." for i in range(200)]


def test_markdown_table_with_caption(tmp_path: Path) -> None:
    p = tmp_path / "sizes.md"
    p.write_text(
        "# Frames\n\nPick a size.\n\n**Frame sizes**\n\n"
        "| Frame | Rider height |\n|---|:---:|\n| S | 155–170 cm |\n| M | 168–182 cm |\n"
        "\nAsk us if unsure.\n"
    )
    [doc] = load_file(p)
    table = next(s for s in doc.sections if s.table)
    assert table.path == ["Frames", "Frame sizes"]
    assert _rows(table.text) == [
        "Frame: S; Rider height: 155–170 cm.",
        "Frame: M; Rider height: 168–182 cm.",
    ]
    assert "Ask us if unsure." in doc.text and "Pick a size." in doc.text


def test_docx_table_with_header_row_and_caption(tmp_path: Path) -> None:
    def build(d: object) -> None:
        d.add_heading("Prices", level=1)  # type: ignore[attr-defined]
        d.add_paragraph("Table 2: Service prices")  # type: ignore[attr-defined]
        table = d.add_table(rows=3, cols=3)  # type: ignore[attr-defined]
        data = [
            ["Service", "Price", "Time"],
            ["Tune-up", "EUR 49", "1 h"],
            ["Wheel true", "EUR 15", ""],
        ]
        for r, row in enumerate(data):
            for c, value in enumerate(row):
                table.rows[r].cells[c].text = value

    p = tmp_path / "prices.docx"
    p.write_bytes(docx_bytes(build))
    [doc] = load_file(p)
    table = next(s for s in doc.sections if s.table)
    assert table.path == ["Prices", "Table 2: Service prices"]
    assert _rows(table.text) == [
        "Service: Tune-up; Price: EUR 49; Time: 1 h.",
        "Service: Wheel true; Price: EUR 15.",
    ]


def test_malformed_html_tables_do_not_crash_and_keep_their_words(tmp_path: Path) -> None:
    p = tmp_path / "bad.html"
    p.write_text(
        "<h1>Odd</h1>"
        # ragged rows and an empty header
        "<table><tr><td></td><td></td></tr><tr><td>a</td><td>b</td><td>c</td><td>d</td></tr>"
        "<tr><td>e</td></tr></table>"
        # one row: no table, its words stay
        "<table><tr><td>lonely</td><td>row</td></tr></table>"
        # a table in a cell, and stray text outside cells
        "<table><tr><th>Outer</th><th>Other</th></tr><tr><td><table><tr><td>inner</td>"
        "<td>cells</td></tr></table></td><td>x</td></tr>stray words</table>"
        # never closed
        "<table><tr><td>open</td><td>table</td></tr><tr><td>still</td><td>here"
    )
    [doc] = load_file(p)
    text = doc.text
    for word in ("a", "b", "c | d", "lonely", "row", "inner cells", "stray words", "still", "here"):
        assert word in text, word
    for section in doc.sections:
        if section.table:
            counts = {line.count("|") for line in section.text.split("\n")}
            assert len(counts) == 1  # every row has the header's columns
    assert chunk_document(doc, "bad.html")


def test_a_huge_table_is_bounded(tmp_path: Path) -> None:
    wide = "".join(f"<th>col {i}</th>" for i in range(120))
    cell = "x" * 2000
    body = "".join(
        f"<tr><td>r{i}</td>" + f"<td>{cell}|{i}</td>" * 3 + "<td>v</td>" * 116 + "</tr>"
        for i in range(300)
    )
    p = tmp_path / "huge.html"
    p.write_text(f"<table><tr>{wide}</tr>{body}</table>")
    [doc] = load_file(p)
    [table] = [s for s in doc.sections if s.table]
    lines = table.text.split("\n")
    assert len(lines) == 301
    assert all(line.count(" | ") == MAX_COLUMNS - 1 for line in lines)
    assert max(len(c) for line in lines for c in line.split(" | ")) <= MAX_CELL_CHARS + 2
    chunks = chunk_document(doc, "huge.html", chunk_size=800, chunk_overlap=100)
    assert all(len(c.text) <= max_chunk_chars(800) for c in chunks)
    # the header line is too long to repeat in 800-character chunks: plain splitting,
    # and every row's label is still there
    assert all(f"| r{i} |" in doc.text for i in range(300))


CASH_FLOW_PAGE = """Consolidated Statement of Cash Flows
Years ended December 31
(Millions) 2018 2017 2016
Cash Flows from Operating Activities
Net income including noncontrolling interest $ 5,363 $ 4,869 $ 5,058
Depreciation and amortization 1,488 1,544 1,474
Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)
Net cash provided by operating activities 6,439 6,240 6,662
The notes are an integral part of this statement."""


def test_a_pdf_statement_under_a_header_of_years_is_a_table(tmp_path: Path) -> None:
    p = tmp_path / "cf.pdf"
    p.write_bytes(pdf_bytes(["Annual report of 3M.", CASH_FLOW_PAGE]))
    [doc] = load_file(p)
    [table] = [s for s in doc.sections if s.table]
    assert table.page == 2
    # the header line's leading words name the label column (here: the unit)
    assert (
        "(Millions): Purchases of property, plant and equipment (PP&E); 2018: (1,577); "
        "2017: (1,373); 2016: (1,420)." in _rows(table.text)
    )
    assert "Cash Flows from Operating Activities" in table.text  # the sub-heading is kept
    # nothing around the table is lost
    for words in ("Years ended December 31", "integral part of this statement", "3M"):
        assert words in doc.text


def test_pdf_figures_without_a_header_of_years_stay_text(tmp_path: Path) -> None:
    page = "Shipping costs\nParcel to Spain 12 15 18\nParcel to France 10 12 14\nPallet 80 90 95"
    p = tmp_path / "ship.pdf"
    p.write_bytes(pdf_bytes([page]))
    [doc] = load_file(p)
    assert not any(s.table for s in doc.sections)
    assert "Parcel to Spain 12 15 18" in doc.text


def test_a_pdf_with_a_huge_table_is_bounded(tmp_path: Path) -> None:
    # ten pages of a 400-row statement, its header repeated on each page (each page's
    # first and last lines differ, so none is taken for a running header or footer)
    parts = "ABCDEFGHIJ"
    pages = [
        f"Part {parts[n]}\nBalance sheet, part {parts[n]}\n(Thousands) 2023 2022\n"
        + "\n".join(f"Item {i} subtotal {i},000 {i + 1},000" for i in range(30 * n, 30 * n + 30))
        + f"\nEnd of part {parts[n]}.\nSee notes to part {parts[n]}."
        for n in range(10)
    ]
    p = tmp_path / "huge.pdf"
    p.write_bytes(pdf_bytes(pages))
    [doc] = load_file(p)
    tables = [s for s in doc.sections if s.table]
    assert [s.page for s in tables] == list(range(1, 11))
    assert sum(s.text.count("\n") for s in tables) == 300
    chunks = chunk_document(doc, "huge.pdf", chunk_size=500, chunk_overlap=50)
    table_chunks = [c for c in chunks if c.text.startswith("| (Thousands) | 2023 | 2022 |")]
    assert all(len(c.text) <= 500 for c in chunks)
    assert sum(c.text.count("\n") for c in table_chunks) == 300  # every row, in a chunk


def test_a_statement_continued_over_pages_keeps_its_header_of_years(tmp_path: Path) -> None:
    # a filing's balance sheet runs over four pages and each page starts with the same
    # "(Thousands) 2023 2022" header: it repeats at the top of every page like a
    # running header, but it is the header row of the table on each page
    pages = [
        "(Thousands) 2023 2022\n"
        + "\n".join(f"Item {i} subtotal {i},000 {i + 1},000" for i in range(10 * n, 10 * n + 10))
        + f"\nNotes to part {n}."
        for n in range(4)
    ]
    p = tmp_path / "continued.pdf"
    p.write_bytes(pdf_bytes(pages))
    [doc] = load_file(p)
    tables = [s for s in doc.sections if s.table]
    assert [s.page for s in tables] == [1, 2, 3, 4]
    assert "(Thousands): Item 25 subtotal; 2023: 25,000; 2022: 26,000." in _rows(tables[2].text)


def test_a_running_header_is_still_dropped_above_a_table(tmp_path: Path) -> None:
    pages = [
        "ACME Corp - Quarterly report\n(Thousands) 2023 2022\n"
        + "\n".join(f"Item {i} subtotal {i},000 {i + 1},000" for i in range(10 * n, 10 * n + 10))
        + f"\nNotes to part {n}."
        for n in range(4)
    ]
    p = tmp_path / "running.pdf"
    p.write_bytes(pdf_bytes(pages))
    [doc] = load_file(p)
    assert "ACME Corp - Quarterly report" not in doc.text
    assert [s.page for s in doc.sections if s.table] == [1, 2, 3, 4]
