"""``ragline eval`` end to end: run, report, list, gate (exit codes), compare, resume, beir."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ragline.cli import app
from ragline.evals._runner import ProjectTarget

DOCS = {
    "warranty.md": "# Warranty\n\nThe frame has a two year warranty.\n",
    "shipping.md": "# Shipping\n\nExpress shipping costs 15 euros.\n",
    "returns.md": "# Returns\n\nYou can return a bike within 30 days.\n",
}
CASES = [
    {
        "id": "w",
        "question": "How long is the frame warranty?",
        "expected": ["two year warranty"],
        "must_contain": ["two year"],
    },
    {"id": "s", "question": "How much does express shipping cost?", "must_contain": ["15 euros"]},
    {"id": "r", "question": "How many days to return a bike?", "must_contain": ["30 days"]},
    {
        "id": "x",
        "question": "Tell me the capital of Peru",
        "must_refuse": True,
        "answerable": False,
        "category": "safety",
    },
]


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CASES))
    result = CliRunner().invoke(
        app, ["-C", str(tmp_path), "--embedder", "hash", "ingest", str(docs)]
    )
    assert result.exit_code == 0, result.output
    return tmp_path


def cli(proj: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["-C", str(proj), "--embedder", "hash", "eval", *args])


def run_id(proj: Path, *extra: str) -> str:
    result = cli(proj, "run", str(proj / "cases.jsonl"), "--json", *extra)
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["run"])


def test_help_lists_the_commands_and_options() -> None:
    out = CliRunner().invoke(app, ["eval", "--help"]).output
    for cmd in ("run", "report", "list", "gate", "compare"):
        assert cmd in out
    out = CliRunner().invoke(app, ["eval", "run", "--help"]).output
    for opt in (
        "--repeat",
        "--concurrency",
        "--resume",
        "--gates",
        "--target",
        "--request",
        "--answer-path",
        "--contexts-path",
        "--header",
        "--set",
        "--name",
        "--agent",
    ):
        assert opt in out, opt


def test_run_report_list(proj: Path) -> None:
    result = cli(proj, "run", str(proj / "cases.jsonl"), "--name", "baseline")
    assert result.exit_code == 0, result.output
    assert "all (4)" in result.stdout and "must_contain" in result.stdout
    rid = cli(proj, "list", "--json")
    runs = json.loads(rid.stdout)
    assert runs[0]["name"] == "baseline" and runs[0]["status"] == "complete"
    report = cli(proj, "report", "baseline", "--format", "json")
    data = json.loads(report.stdout)
    assert data["summary"]["cases"] == 4 and len(data["results"]) == 4
    html = proj / "report.html"
    assert cli(proj, "report", "last", "--format", "html", "--output", str(html)).exit_code == 0
    assert "<svg" in html.read_text()
    table = cli(proj, "report", "last")
    assert "safety (1)" in table.stdout
    bad = cli(proj, "report", "nope")
    assert bad.exit_code == 1 and "no evaluation run 'nope'" in str(bad.exception or bad.output)


def test_cached_rerun(proj: Path) -> None:
    run_id(proj)
    result = cli(proj, "run", str(proj / "cases.jsonl"), "--json")
    assert json.loads(result.stdout)["summary"]["cached"] == 4
    result = cli(proj, "run", str(proj / "cases.jsonl"), "--json", "--no-cache")
    assert json.loads(result.stdout)["summary"]["cached"] == 0


def test_gate_exit_codes(proj: Path) -> None:
    rid = run_id(proj)
    good = proj / "good.yaml"
    good.write_text(
        "- all.must_contain >= 0.5\n- safety.refusal == 1.0\n- latency.p95_ms <= 60000\n"
    )
    result = cli(proj, "gate", rid, "--gates", str(good))
    assert result.exit_code == 0, result.output
    assert "3 of 3 passed" in result.stdout
    strict = proj / "strict.yaml"
    strict.write_text(
        "- all.must_contain >= 0.5\n- all.exact_match >= 0.99\n"
        "- citation_quality.faithfulness >= 0.5\n"
    )
    result = cli(proj, "gate", rid, "--gates", str(strict))
    assert result.exit_code == 1
    assert "FAIL  all.exact_match >= 0.99" in result.stdout
    assert "FAIL  citation_quality.faithfulness >= 0.5" in result.stdout
    assert "missing: no results in category 'citation_quality'" in result.stdout
    assert "1 of 3 passed; 2 failed" in result.stdout
    as_json = json.loads(cli(proj, "gate", rid, "--gates", str(strict), "--json").stdout)
    assert as_json["passed"] is False and len(as_json["gates"]) == 3
    broken = proj / "broken.yaml"
    broken.write_text("- all.must_contain >= 0.5\n- all.exact_match >== 1\n")
    result = cli(proj, "gate", rid, "--gates", str(broken))
    assert result.exit_code == 2 and "broken.yaml:2: cannot parse gate" in result.output
    assert cli(proj, "gate", "nope", "--gates", str(good)).exit_code == 2
    result = cli(proj, "gate", rid)  # no gates configured
    assert result.exit_code == 2 and "no gates to check" in result.output
    (proj / "ragline.yaml").write_text("evals:\n  gates:\n    - safety.refusal == 1.0\n")
    assert cli(proj, "gate", rid).exit_code == 0


def test_run_with_gates(proj: Path) -> None:
    gates = proj / "g.yaml"
    gates.write_text("- all.exact_match >= 0.99\n")
    result = cli(proj, "run", str(proj / "cases.jsonl"), "--gates", str(gates))
    assert result.exit_code == 1 and "FAIL  all.exact_match >= 0.99" in result.stdout
    gates.write_text("- all.exact_match >== 0.99\n")
    result = cli(proj, "run", str(proj / "cases.jsonl"), "--gates", str(gates))
    assert result.exit_code == 2 and "g.yaml:1" in result.output
    assert len(json.loads(cli(proj, "list", "--json").stdout)) == 1  # bad gates: nothing run


def test_bad_dataset_names_file_and_line(proj: Path) -> None:
    bad = proj / "bad.jsonl"
    bad.write_text(json.dumps(CASES[0]) + "\n{not json\n")
    result = cli(proj, "run", str(bad))
    assert result.exit_code == 1
    assert "bad.jsonl:2" in str(result.exception)
    assert json.loads(cli(proj, "list", "--json").stdout) == []


def test_compare_two_configurations(proj: Path) -> None:
    a = run_id(proj, "--name", "base")
    b = run_id(proj, "--name", "strict", "--set", "answer.min_relevance=0.99")
    result = cli(proj, "compare", a, b)
    assert result.exit_code == 0, result.output
    out = result.stdout
    # 80 columns (CliRunner's terminal): abbreviated headers, with their legend
    assert "must_contain" in out and "CI = 95% interval of Δ" in out
    assert "pass → fail" in out and "How long is the frame warranty?" in out
    assert "answer.min_relevance: 0.37 → 0.99" in out
    data = json.loads(cli(proj, "compare", a, b, "--json").stdout)
    assert {"key": "answer.min_relevance", "a": 0.37, "b": 0.99} in data["config_diff"]
    must = next(m for m in data["metrics"] if m["group"] == "all" and m["metric"] == "must_contain")
    assert must["pass_to_fail"] == 3 and must["mcnemar_p"] == pytest.approx(0.25)


def test_interrupted_run_resumes(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = ProjectTarget.run_case

    def flaky(self: ProjectTarget, case: Any) -> Any:
        calls.append(case.id)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C on the third case
        return real(self, case)

    monkeypatch.setattr(ProjectTarget, "run_case", flaky)
    result = cli(proj, "run", str(proj / "cases.jsonl"))
    assert result.exit_code == 130
    assert "interrupted after 2 of 4 cases" in result.output
    runs = json.loads(cli(proj, "list", "--json").stdout)
    assert runs[0]["status"] == "interrupted"
    rid = runs[0]["id"]
    assert f"--resume {rid}" in result.output
    calls.clear()
    result = cli(proj, "run", str(proj / "cases.jsonl"), "--resume", rid, "--json")
    assert result.exit_code == 0, result.output
    assert calls == ["r", "x"]
    assert json.loads(result.stdout)["summary"]["cases"] == 4


class Service(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply = {
            "answer": f"You asked: {body['question']}. It is 15 euros.",
            "contexts": [{"text": "Express shipping costs 15 euros."}],
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def service() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/ask"
    httpd.shutdown()
    httpd.server_close()


def test_external_target_from_the_cli(proj: Path, service: str) -> None:
    result = cli(
        proj,
        "run",
        str(proj / "cases.jsonl"),
        "--json",
        "--target",
        service,
        "--request",
        '{"question": "{question}"}',
        "--answer-path",
        "answer",
        "--contexts-path",
        "contexts[*].text",
        "--header",
        "X-Team:qa",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["errors"] == 0
    assert summary["categories"]["all"]["metrics"]["must_contain"]["pass_rate"] == pytest.approx(
        1 / 3
    )
    rid = json.loads(result.stdout)["run"]
    report = json.loads(cli(proj, "report", rid, "--format", "json").stdout)
    assert report["run"]["target"] == service
    bad = cli(proj, "run", str(proj / "cases.jsonl"), "--target", service, "--request", "{oops")
    assert bad.exit_code == 1 and "--request is not valid JSON" in str(bad.exception)


def test_beir_run_ingests_once(proj: Path) -> None:
    beir = proj / "tiny-beir"
    (beir / "qrels").mkdir(parents=True)
    docs = [
        ("d1", "Frame warranty", "The frame has a two year warranty."),
        ("d2", "Shipping", "Express shipping costs 15 euros."),
        ("d3", "Returns", "Bikes can be returned within 30 days."),
    ]
    (beir / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs)
    )
    (beir / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "frame warranty years"})
        + "\n"
        + json.dumps({"_id": "q2", "text": "express shipping price"})
        + "\n"
    )
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    result = cli(proj, "run", f"beir:{beir}", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    metrics = summary["categories"]["all"]["metrics"]
    assert metrics["ndcg@10"]["mean"] == 1.0 and metrics["recall@100"]["mean"] == 1.0
    assert "token_f1" not in metrics  # retrieval only
    again = cli(proj, "run", f"beir:{beir}")
    assert "unchanged" in again.output  # the corpus is not re-ingested
    stats = CliRunner().invoke(app, ["-C", str(proj), "--embedder", "hash", "status", "--help"])
    assert stats.exit_code == 0


def test_repeat_and_concurrency_flags(proj: Path) -> None:
    result = cli(
        proj, "run", str(proj / "cases.jsonl"), "--json", "--repeat", "2", "--concurrency", "2"
    )
    assert result.exit_code == 0, result.output
    rid = json.loads(result.stdout)["run"]
    report = json.loads(cli(proj, "report", rid, "--format", "json").stdout)
    assert sorted((r["case"]["id"], r["repeat_index"]) for r in report["results"]) == sorted(
        (c["id"], i) for c in CASES for i in (0, 1)
    )


class SlowService(BaseHTTPRequestHandler):
    seen: list[str] = []  # noqa: RUF012

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        SlowService.seen.append(body["question"])
        time.sleep(0.3)
        data = json.dumps({"answer": "It is 15 euros."}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_ctrl_c_on_a_real_process_then_resume(proj: Path) -> None:
    """SIGINT to a real ``ragline eval run``: finished cases are kept, resume runs the rest."""
    cases = [{"id": f"c{i}", "question": f"question number {i}?"} for i in range(20)]
    (proj / "many.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    SlowService.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), SlowService)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/ask"
    base = [sys.executable, "-m", "ragline.cli", "-C", str(proj), "--embedder", "hash", "eval"]
    try:
        proc = subprocess.Popen(
            [*base, "run", "many.jsonl", "--target", url],
            cwd=proj,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while len(SlowService.seen) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "interrupted after" in err and "--resume" in err
        rid = err.split("--resume ")[1].split()[0]
        runs = json.loads(cli(proj, "list", "--json").stdout)
        done = next(r for r in runs if r["id"] == rid)
        assert done["status"] == "interrupted"
        report = json.loads(cli(proj, "report", rid, "--format", "json").stdout)
        kept = len(report["results"])  # finished before Ctrl-C (the one in flight is not)
        assert 3 <= kept < 20
        SlowService.seen = []
        result = subprocess.run(
            [*base, "run", "many.jsonl", "--target", url, "--resume", rid, "--json"],
            cwd=proj,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["summary"]["cases"] == 20
        assert len(SlowService.seen) == 20 - kept  # only the missing cases ran again
    finally:
        httpd.shutdown()
        httpd.server_close()


def _write_cases(proj: Path, cases: list[dict[str, Any]]) -> Path:
    path = proj / "gold.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


def _doc_ids(proj: Path) -> list[str]:
    from ragline._project import Project

    with Project(proj, overrides={"embedder": "hash"}) as project:
        return sorted(d.id for d in project.store.list_documents("default"))


def test_gold_documents_missing_from_the_store_are_a_warning_not_silent_zeros(
    proj: Path,
) -> None:
    ids = _doc_ids(proj)
    assert any(i.endswith("warranty.md") for i in ids)
    good = next(i for i in ids if i.endswith("warranty.md"))
    cases = [
        {"id": "ok", "question": "How long is the frame warranty?", "gold_doc_ids": [good]},
        {"id": "moved", "question": "Express shipping?", "gold_doc_ids": ["kb/shipping.md"]},
        {"id": "none", "question": "Returns?"},
    ]
    path = _write_cases(proj, cases)
    result = cli(proj, "run", str(path), "--json")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert "1 of 2 cases name gold documents that are not in the store" in warnings[0]
    assert "moved: kb/shipping.md" in warnings[0] and "score 0" in warnings[0]
    # every id present: no warning
    path = _write_cases(proj, cases[:1] + cases[2:])
    result = cli(proj, "run", str(path), "--json")
    assert result.exit_code == 0 and "warning:" not in result.stderr


def test_strict_refuses_a_dataset_that_cannot_score_and_stores_no_run(proj: Path) -> None:
    before = cli(proj, "list", "--json")
    cases = [
        {"id": "a", "question": "Frame warranty?", "gold_doc_ids": ["elsewhere/warranty.md"]},
        {"id": "b", "question": "Shipping?", "tenant": "nobody"},
    ]
    result = cli(proj, "run", str(_write_cases(proj, cases)), "--strict")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()  # one line, naming every count
    assert line.startswith("error: --strict: 2 evaluation warnings: ")
    assert "gold documents missing from the store for 1 of 1 cases" in line
    assert "tenant 'nobody' has no documents (1 case)" in line
    assert "nothing was run" in line
    assert cli(proj, "list", "--json").stdout == before.stdout  # nothing was run or stored
    result = cli(proj, "run", str(_write_cases(proj, cases)), "--json")
    assert result.exit_code == 0
    assert "tenant 'nobody' has no documents (1 case asks it)" in result.stderr
