"""Write one benchmark's section of bench/RESULTS.md (replaced in place on re-runs)."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import re
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
DATASETS = Path(
    os.environ.get("RAGLINE_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets")
)
WORK = Path(__file__).with_name("_work")

HEADER = """# Benchmark results

Measured by the scripts in `bench/`; each section names the exact command that
produced it. Benchmarks are not tests: nothing here is asserted in the test suite.
Machine: the project's standard 2-core, 24 GiB, CPU-only box unless a section says
otherwise. Timings on a shared machine are noisy: compare numbers inside one section
(same run), not across sections.
"""


def command() -> str:
    return "python " + " ".join(
        shlex.quote(a) for a in [os.path.relpath(sys.argv[0]), *sys.argv[1:]]
    )


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section ``name`` in RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    stamp = time.strftime("%Y-%m-%d")
    block = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"Command: `{command()}` — {stamp}, {machine()}\n\n{body.strip()}\n"
        f"<!-- /bench:{name} -->\n"
    )
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")
    print(f"\nwrote section '{name}' of {RESULTS}")


def table(headers: list[str], rows: list[list[object]]) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class _Tee(io.StringIO):
    def write(self, text: str) -> int:
        sys.__stdout__.write(text)
        return super().write(text)


@contextlib.contextmanager
def captured() -> Iterator[io.StringIO]:
    """Print as usual and keep a copy, for scripts whose printout is their report."""
    out = _Tee()
    with contextlib.redirect_stdout(out):
        yield out
