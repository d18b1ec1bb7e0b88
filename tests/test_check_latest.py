"""tools/check_latest.py's report, from made-up pins and JUnit XML (the script itself
installs from PyPI and runs the suite, so it never runs here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"
_spec = importlib.util.spec_from_file_location("_tools_check_latest", TOOLS / "check_latest.py")
assert _spec and _spec.loader
check_latest = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = check_latest
_spec.loader.exec_module(check_latest)

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
  <testcase classname="tests.ingest.test_pdf" name="test_10q_filing_reads" time="0.1">
    <failure message="pypdf.errors.LimitReachedError: array exceeds 10000 items&#10;more">
      traceback</failure>
  </testcase>
  <testcase classname="tests.test_readme" name="test_two_commands" time="0.0"/>
  <testcase classname="tests.store.test_pg" name="test_pool" time="0.0">
    <error message="fixture 'pg' failed">boom</error>
  </testcase>
  <testcase classname="tests.models.test_local" name="test_real" time="0.0">
    <skipped message="llama-cpp-python not installed"/>
  </testcase>
</testsuite></testsuites>
"""


def test_diff_names_every_package_that_moved() -> None:
    changes = check_latest.diff_pins(
        {"pypdf": "6.4.0", "numpy": "2.4.6", "rich": "15.0.0", "llama-cpp-python": "0.3.36"},
        {"pypdf": "7.1.1", "numpy": "2.4.6", "rich": "14.0.0", "narwhals": "2.29.0"},
    )
    assert [(c.name, c.kind) for c in changes] == [
        ("llama-cpp-python", "not installed"),
        ("narwhals", "new"),
        ("pypdf", "upgraded"),
        ("rich", "downgraded"),
    ]


def test_junit_counts_failures_errors_and_skips() -> None:
    outcome = check_latest.parse_junit(JUNIT)
    assert (outcome.total, outcome.passed, outcome.skipped) == (4, 1, 1)
    assert outcome.failed == [
        (
            "tests.ingest.test_pdf::test_10q_filing_reads",
            "pypdf.errors.LimitReachedError: array exceeds 10000 items",
        ),
        ("tests.store.test_pg::test_pool", "fixture 'pg' failed"),
    ]


def test_report_says_what_moved_and_what_broke() -> None:
    changes = check_latest.diff_pins({"pypdf": "6.4.0"}, {"pypdf": "7.1.1"})
    changes += check_latest.diff_pins({"llama-cpp-python": "0.3.36"}, {})
    report = check_latest.render_report(changes, check_latest.parse_junit(JUNIT))
    assert "1 packages differ from constraints.txt" in report
    assert "pinned but not installed by this run (fewer extras?): llama-cpp-python" in report
    assert "pypdf" in report and "6.4.0 → 7.1.1" in report and "upgraded" in report
    assert "tests: 1 passed, 2 failed, 1 skipped" in report
    assert "FAILED tests.ingest.test_pdf::test_10q_filing_reads: pypdf.errors" in report


def test_report_when_nothing_moved_or_ran() -> None:
    report = check_latest.render_report([], None)
    assert "every installed package is at its constraints.txt version" in report
    assert "tests: did not run" in report
    empty = check_latest.parse_junit("<testsuites><testsuite/></testsuites>")
    assert "none ran" in check_latest.render_report([], empty)
