"""`ragline --help` wall time and `import ragline` time (median of 15 runs each).

python bench/startup.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import table, write_section


def timeit(cmd: list[str], runs: int = 15) -> tuple[float, float]:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    exe = shutil.which("ragline") or sys.exit("install ragline first (pip install -e .)")
    rows = []
    for label, cmd in [
        ("python -c pass (interpreter baseline)", [sys.executable, "-c", "pass"]),
        ("python -c 'import ragline'", [sys.executable, "-c", "import ragline"]),
        ("ragline --help", [exe, "--help"]),
        ("python -c 'import torch' (what we avoid)", [sys.executable, "-c", "import torch"]),
    ]:
        med, worst = timeit(cmd)
        rows.append([label, f"{med:.0f}", f"{worst:.0f}"])
        print(label, f"{med:.0f} ms")
    body = (
        table(["command", "median ms", "max ms"], rows) + "\n\nTarget: `ragline --help` ≤ 500 ms.\n"
    )
    write_section("startup", "Start-up time", body)


if __name__ == "__main__":
    main()
