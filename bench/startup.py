"""Start-up time: `ragline --help`, `import ragline`, `from ragline import Project`, and
opening a SQLite project (median of 15 runs each, one fresh interpreter per run).

python bench/startup.py [--before-src PATH]

``--before-src`` also times the import rows with ``PYTHONPATH=PATH`` (e.g. an older
checkout's ``src/``), in the same run as the current ones.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import table, write_section

OPEN_PROJECT = "import sys; from ragline import Project; Project(sys.argv[1])"


def timeit(cmd: list[str], env: dict[str, str], runs: int = 15) -> tuple[float, float]:
    subprocess.run(cmd, capture_output=True, check=True, env=env)  # warm the file cache
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, env=env)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before-src", type=Path, default=None)
    args = parser.parse_args()
    exe = shutil.which("ragline") or sys.exit("install ragline first (pip install -e .)")
    env = dict(os.environ)
    folder = tempfile.mkdtemp(prefix="ragline-startup-")
    py = sys.executable
    cases: list[tuple[str, list[str], dict[str, str]]] = [
        ("python -c pass (interpreter baseline)", [py, "-c", "pass"], env),
        ("python -c 'import ragline'", [py, "-c", "import ragline"], env),
        ("python -c 'from ragline import Project'", [py, "-c", "from ragline import Project"], env),
        ("… and Project(dir) (SQLite, default config)", [py, "-c", OPEN_PROJECT, folder], env),
        ("ragline --help", [exe, "--help"], env),
        ("python -c 'import torch' (what we avoid)", [py, "-c", "import torch"], env),
    ]
    if args.before_src is not None:
        before = {**env, "PYTHONPATH": str(args.before_src.resolve())}
        cases[3:3] = [
            ("before: 'from ragline import Project'", cases[2][1], before),
            ("before: … and Project(dir)", cases[3][1], before),
        ]
    load_before = os.getloadavg()[0]
    rows = []
    for label, cmd, run_env in cases:
        med, worst = timeit(cmd, run_env)
        rows.append([label, f"{med:.0f}", f"{worst:.0f}"])
        print(label, f"{med:.0f} ms")
    shutil.rmtree(folder, ignore_errors=True)
    load = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
    body = (
        f"Load average (1 min) of the shared machine before / after: {load}. Compare rows "
        "of one run (the *before* rows are from the same run).\n\n"
        + table(["command", "median ms", "max ms"], rows)
        + "\n\nTargets: `ragline --help` ≤ 500 ms; `from ragline import Project` ≤ 150 ms "
        "(it loads no store backend, no pydantic config and no numpy: `Project(dir)` "
        "loads the settings and the SQLite store when a project is opened).\n"
    )
    write_section("startup", "Start-up time", body)


if __name__ == "__main__":
    main()
