"""Would the newest releases of ragline's dependencies break it? Find out before a fresh
machine does.

    python tools/check_latest.py                         # dev + local extras, whole suite
    python tools/check_latest.py --extras dev -- tests/ingest -x
    python tools/check_latest.py --lock                  # all green: rewrite constraints.txt

Creates a temporary venv, installs the project there without constraints.txt (the
latest release of everything, torch still 2.13.0: the CPU build), runs pytest (the
whole suite, or the arguments after ``--``), and reports which packages differ from
constraints.txt and which tests failed. ``--lock`` then rewrites constraints.txt from
that venv (tools/lock.py), only when every test passed. Needs the network (PyPI), and
takes as long as the install plus the tests (the ``local`` extra builds llama-cpp-python
from source, 5–10 minutes). Never part of the test suite.

Exit status: 0 the tests passed, 1 some failed, 2 the install (or the lock) failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lock  # tools/lock.py, beside this file

REPO = lock.REPO
DEFAULT_EXTRAS = ("dev", "local")  # what CI installs


@dataclass(frozen=True)
class Change:
    """One package whose latest version differs from its pin."""

    name: str
    locked: str | None  # None: not in constraints.txt
    latest: str | None  # None: this run did not install it

    @property
    def kind(self) -> str:
        if self.locked is None:
            return "new"
        if self.latest is None:
            return "not installed"
        newer = lock.Version(self.latest) > lock.Version(self.locked)
        return "upgraded" if newer else "downgraded"


@dataclass
class TestOutcome:
    """What pytest's JUnit XML says."""

    total: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (test id, first line)
    skipped: int = 0

    @property
    def passed(self) -> int:
        return self.total - len(self.failed) - self.skipped


def diff_pins(locked: Mapping[str, str], latest: Mapping[str, str]) -> list[Change]:
    """Every package whose version differs between the two pin sets, by name."""
    names = sorted(set(locked) | set(latest))
    return [
        Change(name, locked.get(name), latest.get(name))
        for name in names
        if locked.get(name) != latest.get(name)
    ]


def parse_junit(xml_text: str) -> TestOutcome:
    """Failures and errors (a broken fixture counts) from pytest's ``--junitxml``."""
    outcome = TestOutcome()
    for case in ElementTree.fromstring(xml_text).iter("testcase"):
        outcome.total += 1
        test_id = "::".join(p for p in (case.get("classname", ""), case.get("name", "")) if p)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            message = (problem.get("message") or problem.text or "").strip()
            outcome.failed.append((test_id, message.splitlines()[0] if message else ""))
        elif case.find("skipped") is not None:
            outcome.skipped += 1
    return outcome


def render_report(changes: Sequence[Change], outcome: TestOutcome | None) -> str:
    """Plain text: the packages that moved, then what broke."""
    lines: list[str] = []
    moved = [c for c in changes if c.latest is not None]
    absent = [c.name for c in changes if c.latest is None]
    if moved:
        lines.append(f"{len(moved)} packages differ from constraints.txt:")
        width = max(len(c.name) for c in moved)
        for change in moved:
            lines.append(
                f"  {change.name:<{width}}  {change.locked or '-':>12} → "
                f"{change.latest:<12}  {change.kind}"
            )
    else:
        lines.append("every installed package is at its constraints.txt version")
    if absent:
        lines.append(f"pinned but not installed by this run (fewer extras?): {', '.join(absent)}")
    if outcome is None:
        lines.append("tests: did not run")
    elif not outcome.total:
        lines.append("tests: none ran (check the pytest arguments)")
    else:
        lines.append(
            f"tests: {outcome.passed} passed, {len(outcome.failed)} failed, "
            f"{outcome.skipped} skipped"
        )
        for test_id, message in outcome.failed:
            lines.append(f"  FAILED {test_id}" + (f": {message}" if message else ""))
    return "\n".join(lines) + "\n"


def _run(command: Sequence[str], **kwargs: object) -> int:
    print("$", " ".join(command), flush=True)
    return int(subprocess.run(command, check=False, **kwargs).returncode)  # type: ignore[call-overload]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0].replace("\n", " "),
        epilog="Arguments after -- go to pytest.",
    )
    parser.add_argument(
        "--extras",
        default=",".join(DEFAULT_EXTRAS),
        help=f"extras to install (default {','.join(DEFAULT_EXTRAS)}, as CI)",
    )
    parser.add_argument("--venv", type=Path, help="venv folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the venv afterwards")
    parser.add_argument(
        "--lock", action="store_true", help="all tests passed: rewrite constraints.txt"
    )
    parser.add_argument("--report", type=Path, help="also write the report to this file")
    argv = sys.argv[1:] if argv is None else argv
    pytest_args: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, pytest_args = argv[:at], argv[at + 1 :]
    args = parser.parse_args(argv)
    extras = [e for e in args.extras.split(",") if e]
    if args.lock and not {"dev", "local"} <= set(extras):
        parser.error("--lock pins every extra: use the default --extras dev,local")

    locked = lock.parse((REPO / "constraints.txt").read_text(encoding="utf-8"))
    venv = args.venv or Path(tempfile.mkdtemp(prefix="ragline-latest-"))
    python = venv / "bin" / "python"
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    env.setdefault("CMAKE_ARGS", "-DGGML_NATIVE=OFF")  # as .ci/run: llama.cpp#20824
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as torch_only:
        torch_only.write(f"torch=={locked['torch']}\n")  # the CPU build; never the latest
    try:
        install = [str(python), "-m", "pip", "install", "-c", torch_only.name]
        if (
            _run([sys.executable, "-m", "venv", str(venv)])
            or _run([*install, "--upgrade", "pip"], env=env)
            or _run([*install, "-q", "-e", f".[{','.join(extras)}]"], cwd=REPO, env=env)
        ):
            print("the install failed: see pip's output above", file=sys.stderr)
            return 2
        pins = subprocess.run(
            [str(python), str(REPO / "tools" / "lock.py"), "-o", "-", "--extras", ",".join(extras)],
            capture_output=True,
            text=True,
            check=False,
        )
        if pins.returncode:
            print(pins.stderr, file=sys.stderr)
            return 2
        changes = diff_pins(locked, lock.parse(pins.stdout))

        junit = venv / "junit.xml"
        _run(
            [str(python), "-m", "pytest", f"--junitxml={junit}", *pytest_args],
            cwd=REPO,
            env=env,
        )
        outcome = parse_junit(junit.read_text(encoding="utf-8")) if junit.exists() else None
        report = render_report(changes, outcome)
        print("\n" + report, end="")
        if args.report:
            args.report.write_text(report, encoding="utf-8")
        green = outcome is not None and outcome.total > 0 and not outcome.failed
        if args.lock:
            if not green:
                print("not locking: the tests did not all pass", file=sys.stderr)
            elif _run([str(python), str(REPO / "tools" / "lock.py")], env=env):
                return 2
        return 0 if green else 1
    finally:
        Path(torch_only.name).unlink(missing_ok=True)
        if args.keep or args.venv:
            print(f"venv kept: {venv}")
        else:
            shutil.rmtree(venv, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
