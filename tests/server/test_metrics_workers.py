"""``/metrics`` under ``ragline serve --workers 2``: asks served by both workers add up
in every scrape, whichever worker answers it (prometheus_client multiprocess mode in a
folder serve makes, empties at start and removes at exit)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ragline.server._metrics_mp import ENV, prepare_multiprocess_dir
from ragline.testing import ServerProcess

from ._kb import KEYS_ENV, acme, make_project


def _per_worker_asks(folder: Path) -> Counter[int]:
    """Asks answered per worker pid, read from each worker's own counter file."""
    from prometheus_client.mmap_dict import MmapedDict

    asks: Counter[int] = Counter()
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for key, value, _ts, _pos in MmapedDict.read_all_values_from_file(str(path)):
            _metric, sample, *_ = json.loads(key)
            if sample == "ragline_asks_total":
                asks[pid] += int(value)
    return asks


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counts_from_both_workers_add_up_in_every_scrape(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    tmp = tmp_path / "tmp"  # serve makes its metrics folder here (TMPDIR)
    tmp.mkdir()
    env = {**KEYS_ENV, "TMPDIR": str(tmp)}
    with ServerProcess(root, env=env, args=["--workers", "2"]) as server:
        (folder,) = tmp.glob("ragline-metrics-*")
        sent = 0
        per_worker: Counter[int] = Counter()
        while (sent < 200 and len(per_worker) < 2) or sent < 12:
            with httpx.Client(base_url=server.url, headers=acme(), timeout=30) as fresh:
                r = fresh.post("/v1/ask", json={"question": "How long is the battery warranty?"})
                assert r.status_code == 200, r.text
            sent += 1
            per_worker = _per_worker_asks(folder)
        assert len(per_worker) == 2, f"one worker answered all {sent} asks: {per_worker}"
        assert sum(per_worker.values()) == sent and max(per_worker.values()) < sent
        for _ in range(6):  # fresh connections: scrapes land on either worker
            text = httpx.get(server.url + "/metrics", timeout=30).text
            samples = _samples(text)
            tenant = (("tenant", "acme"),)
            assert samples[("ragline_asks_total", (("outcome", "answered"), *tenant))] == sent
            ask = ("ragline_ask_duration_seconds_count", (("outcome", "answered"), *tenant))
            assert samples[ask] == sent
            for stage in ("retrieval", "embed_query", "keyword", "dense", "fusion", "answer"):
                key = ("ragline_stage_duration_seconds_count", (("stage", stage), *tenant))
                assert samples[key] == sent, stage
            route = (("method", "POST"), ("route", "/v1/ask"), ("status", "200"))
            assert samples[("ragline_http_requests_total", route)] == sent
            assert ("ragline_requests_running", ()) in samples
            assert samples[("ragline_trace_spans_dropped_queue_full_total", ())] == 0
    assert server.proc is not None and server.proc.returncode == 0
    assert not folder.exists()  # removed at exit
    assert list(tmp.iterdir()) == []


def test_a_given_folder_is_emptied_at_start_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = tmp_path / "prom"
    given.mkdir()
    (given / "counter_4242.db").write_bytes(b"left over from the last run")
    (given / "notes.txt").write_text("not ours", encoding="utf-8")
    monkeypatch.setenv(ENV, str(given))
    folder, made_here = prepare_multiprocess_dir()
    assert (folder, made_here) == (given, False)
    assert sorted(p.name for p in given.iterdir()) == ["notes.txt"]


def test_without_the_variable_a_fresh_folder_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    folder, made_here = prepare_multiprocess_dir()
    assert made_here and folder.parent == tmp_path and list(folder.iterdir()) == []
    assert os.environ.get(ENV) is None  # serve sets it, not this helper
