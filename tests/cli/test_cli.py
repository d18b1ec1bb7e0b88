"""The `ragline` command end to end (real subprocesses for start-up and errors)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragline.cli import app

REPO = Path(__file__).resolve().parents[2]
SAMPLE_KB = REPO / "examples" / "sample-kb"


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragline.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from ragline.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'onnxruntime', 'numpy',"
        " 'pypdf', 'docx', 'lingua', 'transformers') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    for command in ("init", "ingest", "search", "ask", "status"):
        assert command in out.stdout


def test_help_lists_documented_options() -> None:
    runner = CliRunner()
    for cmd, options in {
        "ingest": ["--sync", "--id-field", "--text-field", "--title-field", "--meta-fields"],
        "search": ["--json", "-k", "--filter"],
        "ask": ["--json", "--filter", "--model", "local", "extractive"],
        "chat": ["--model", "local"],
    }.items():
        result = runner.invoke(app, [cmd, "--help"])
        assert result.exit_code == 0
        for opt in options:
            assert opt in result.output, (cmd, opt)


@pytest.fixture()
def kb(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "warranty.md").write_text(
        "---\ndoc_type: policy\n---\n# Warranty\n\n## Battery\n\n"
        "The battery is covered by a warranty of two years from the date of purchase.\n\n"
        "## Frame\n\nThe frame carries a lifetime warranty for the first owner.\n"
    )
    (docs / "shipping.md").write_text(
        "# Shipping\n\nOrders ship within three working days. Delivery to Spain takes five days.\n"
    )
    return tmp_path


def test_init_ingest_search_ask_with_hash_embedder(kb: Path) -> None:
    env = {"RAGLINE_EMBEDDER": "hash"}
    r = run_cli("init", cwd=kb, env=env)
    assert r.returncode == 0, r.stderr
    assert (kb / "ragline.yaml").exists()

    r = run_cli("ingest", "docs", cwd=kb, env=env)
    assert r.returncode == 0, r.stderr
    assert "added" in r.stdout and "warranty.md" in r.stdout

    r = run_cli("ingest", "docs", cwd=kb, env=env)  # unchanged: nothing re-embedded
    assert r.returncode == 0
    assert "unchanged" in r.stdout and "0 chunks embedded" in r.stdout

    r = run_cli("search", "battery warranty", "--json", "-k", "2", cwd=kb, env=env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    top = data["hits"][0]
    assert top["document_id"] == "docs/warranty.md"
    assert top["section"].endswith("Battery")
    assert {"keyword", "dense"} <= set(top["scores"]) and set(top["ranks"]) == set(top["scores"])

    r = run_cli("search", "warranty", "--filter", "doc_type=policy", "--json", cwd=kb, env=env)
    assert {h["doc_type"] for h in json.loads(r.stdout)["hits"]} == {"policy"}

    r = run_cli("ask", "How long is the battery warranty?", "--json", cwd=kb, env=env)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert "two years" in answer["text"]
    assert answer["references"][0]["source"].endswith("warranty.md")
    assert all(s["citations"] for s in answer["sentences"])

    r = run_cli("ask", "How long is the battery warranty?", cwd=kb, env=env)
    assert "[1]" in r.stdout and "References" in r.stdout and "timing:" in r.stdout


def test_errors_are_one_clear_line(kb: Path) -> None:
    (kb / "ragline.yaml").write_text("retrieval:\n  fusion: magic\n")
    r = run_cli("search", "x", cwd=kb)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert (
        lines[0].startswith("error: ")
        and "retrieval.fusion" in lines[0]
        and "ragline.yaml" in lines[0]
    )
    assert "Traceback" not in r.stderr


def test_bad_filter_is_one_clear_line(kb: Path) -> None:
    r = run_cli("search", "x", "--filter", "nonsense", cwd=kb, env={"RAGLINE_EMBEDDER": "hash"})
    assert r.returncode == 1
    assert r.stderr.startswith("error: cannot parse filter 'nonsense'")
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli("search", "x", "--filter", "year>=abc", cwd=kb, env={"RAGLINE_EMBEDDER": "hash"})
    assert r.returncode == 1
    assert r.stderr.startswith("error: cannot compare year>=abc: 'abc' is neither a number")
    assert len(r.stderr.strip().splitlines()) == 1


def test_ingest_reports_bad_files_and_continues(kb: Path) -> None:
    (kb / "docs" / "junk.pdf").write_bytes(b"\x00\x01 not a pdf at all")
    (kb / "docs" / "empty.txt").write_text("")
    r = run_cli("ingest", "docs", cwd=kb, env={"RAGLINE_EMBEDDER": "hash"})
    assert r.returncode == 0, r.stderr  # some files succeeded
    assert "junk.pdf" in r.stdout and "empty.txt" in r.stdout and "failed" in r.stdout
    r = run_cli("status", cwd=kb, env={"RAGLINE_EMBEDDER": "hash"})
    assert "2 documents" in r.stdout


def test_ingest_shows_documents_another_run_is_ingesting_as_busy(kb: Path) -> None:
    from ragline.store import ClaimHolder, SQLiteStore

    env = {"RAGLINE_EMBEDDER": "hash"}
    other = ClaimHolder("other-run", "another-host.invalid", 4242)
    with SQLiteStore(kb / "ragline.db") as store:  # another `ragline ingest` holds one file
        store.claim_documents("default", {"docs/shipping.md": "x"}, holder=other, timeout_s=600)
    r = run_cli("ingest", "docs", cwd=kb, env=env)
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if "shipping.md" in line)
    assert "busy" in row and "another run" in r.stdout and "pid 4242" in r.stdout
    assert "1 added, 1 busy" in r.stdout
    r = run_cli("ingest", "docs", "--json", cwd=kb, env=env)
    busy = [f for f in json.loads(r.stdout)["files"] if f["status"] == "busy"]
    assert [f["ids"] for f in busy] == [["docs/shipping.md"]]


def test_flags_override_env(kb: Path) -> None:
    r = run_cli(
        "--store", "memory://", "status", cwd=kb, env={"RAGLINE_STORE": "sqlite:///other.db"}
    )
    assert r.returncode == 0, r.stderr
    assert "memory://" in r.stdout
    assert not (kb / "other.db").exists()


@pytest.mark.slow
def test_sample_kb_with_bundled_model(tmp_path: Path) -> None:
    """The README's main command: ingest the shipped sample KB, answer with citations."""
    r = run_cli("ingest", str(SAMPLE_KB), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "failed" not in r.stdout
    r = run_cli("ask", "How long is the battery warranty?", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert not answer["abstained"]
    assert answer["references"] and all(s["citations"] for s in answer["sentences"])
    r = run_cli("ask", "What is the boiling point of mercury on Neptune?", "--json", cwd=tmp_path)
    assert json.loads(r.stdout)["abstained"]


def test_doctor_reports_each_check_and_fails_clearly(kb: Path) -> None:
    env = {"RAGLINE_EMBEDDER": "hash"}
    assert run_cli("ingest", "docs", cwd=kb, env=env).returncode == 0
    r = run_cli("doctor", cwd=kb, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "store" in r.stdout and "default: 2 docs" in r.stdout
    assert "embedder: hash-256" in r.stdout
    assert "local model:" in r.stdout  # installed and runnable here, or how to install it
    r = run_cli("--store", "postgresql://db/x", "doctor", cwd=kb, env=env)
    assert r.returncode == 1
    assert "FAIL store" in r.stdout and "sqlite" in r.stdout  # says how to fix it


def test_migrate_sentences_backfills_a_store_ingested_without_them(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nanswer: {precompute_sentences: false}\n", encoding="utf-8"
    )
    assert run_cli("ingest", str(SAMPLE_KB), cwd=tmp_path).returncode == 0
    first = run_cli("migrate", "--sentences", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    n = int(first.stdout.split("sentence vectors: ")[1].split()[0])
    assert n > 50
    again = run_cli("migrate", "--sentences", cwd=tmp_path)
    assert "sentence vectors: 0 embedded" in again.stdout  # nothing left to do


# Every command that opens a project, with the arguments it needs to get that far.
PROJECT_COMMANDS = [
    ["ingest", "."],
    ["search", "x"],
    ["ask", "x"],
    ["chat", "hi"],
    ["status"],
    ["migrate"],
    ["serve"],
    ["traces", "list"],
    ["feedback", "list"],
    ["cases", "add", "--trace", "abc123"],
    ["eval", "list"],
    ["keys", "list"],
    ["init"],
]


@pytest.mark.parametrize("command", PROJECT_COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (["--embedder", "bert"], "unknown embedder 'bert'"),
        (["--embedder", "hash:abc"], "the hash dimension must be an integer"),
        (["--store", "bogus://x"], "unsupported store URL 'bogus://x'"),
    ],
    ids=["embedder", "hash-dimension", "store"],
)
def test_every_command_refuses_a_bad_config_flag(
    tmp_path: Path, command: list[str], flag: list[str], message: str
) -> None:
    from ragline.errors import ConfigError

    result = CliRunner().invoke(app, ["-C", str(tmp_path), *flag, *command])
    assert isinstance(result.exception, ConfigError), (result.exception, result.output)
    assert message in str(result.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, no store made


def test_status_with_a_bad_embedder_is_one_line_and_exit_1(tmp_path: Path) -> None:
    r = run_cli("status", cwd=tmp_path, env={"RAGLINE_EMBEDDER": "bert"})  # from the env
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == (
        "error: unknown embedder 'bert' — choose one of: minilm, hash, hash:<dimension>, "
        "openai:<model>"
    )
    r = run_cli("--embedder", "bert", "status", cwd=tmp_path)
    assert r.returncode == 1 and "unknown embedder 'bert'" in r.stderr
    r = run_cli("serve", cwd=tmp_path, env={"RAGLINE_STORE": "bogus://x"})
    assert r.returncode == 1 and "serving" not in r.stderr  # refused before it starts
    assert r.stderr.startswith("error: unsupported store URL 'bogus://x'")


def test_init_writes_the_store_and_embedder_flags(tmp_path: Path) -> None:
    from ragline.config import load_settings

    result = CliRunner().invoke(
        app, ["-C", str(tmp_path), "--store", "sqlite:///kb.db", "--embedder", "hash", "init"]
    )
    assert result.exit_code == 0, result.output
    settings = load_settings(tmp_path)
    assert (settings.store, settings.embedder) == ("sqlite:///kb.db", "hash")
    assert "# Where documents" in (tmp_path / "ragline.yaml").read_text()  # still commented


def test_search_shows_chunk_and_document_languages(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guia.md").write_text(
        "# Guía\n\n## Batería\n\nLa garantía cubre la batería durante dos años desde la "
        "fecha de entrega. Envíe el recibo con cualquier reclamación para que el "
        "distribuidor compruebe la fecha. The warranty covers the battery for two years "
        "from the date of delivery to the customer. Send the receipt with any claim so "
        "that the dealer can check the date of purchase.\n",
        encoding="utf-8",
    )
    env = {"RAGLINE_EMBEDDER": "hash"}
    assert run_cli("init", cwd=tmp_path, env=env).returncode == 0
    (tmp_path / "ragline.yaml").write_text(
        (tmp_path / "ragline.yaml")
        .read_text()
        .replace("languages: [en, es, fr, de, it, pt, nl]", "languages: [en, es]")
    )
    r = run_cli("ingest", "docs", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    r = run_cli("search", "battery warranty", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    # the half-English, half-Spanish chunk: its language, its document's, and the marker
    assert re.search(r"language (en|es) · document (en|es) · mixed en\+es", r.stdout), r.stdout
