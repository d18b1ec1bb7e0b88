"""Alert rules run inside ``ragline serve``: in the background, by exactly one of its
workers, while requests are answered; stopping the server hands the evaluator lock
over (a cron ``monitor run --once`` then evaluates instead of skipping)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from ragline.cli import app
from ragline.store.sqlite._alerts import SQLiteAlertStore
from ragline.testing import ServerProcess

CONFIG = """\
embedder: hash
server: {auth: off}
monitor: {interval: 1s}
alerts:
  rules:
    - name: no-traffic
      metric: requests
      agg: count
      window: 10m
      condition: "< 1"
      no_data: alert
"""


def _wait_for(check: object, what: str, server: ServerProcess, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen:\n{server.output()}")


def _run_once(root: Path) -> dict[str, object]:
    result = CliRunner().invoke(app, ["-C", str(root), "monitor", "run", "--once", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    out: dict[str, object] = json.loads(result.stdout)
    return out


def test_two_workers_one_evaluator_and_requests_keep_flowing(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "ragline.yaml").write_text(CONFIG)
    store = SQLiteAlertStore(root / "ragline.db")
    lock_file = Path(store.lock_path)
    with ServerProcess(root, args=["--workers", "2"]) as server:
        assert server.proc is not None

        def fired() -> bool:
            return any(e.event == "firing" for e in store.history(rule="no-traffic"))

        _wait_for(fired, "the rule firing in the background", server)
        first = store.states()["no-traffic"].evaluated_at
        _wait_for(
            lambda: store.states()["no-traffic"].evaluated_at >= first + 2,
            "two more evaluations",
            server,
        )
        holder = lock_file.read_text().strip()
        assert holder.rsplit(":", 1)[1] != str(server.proc.pid)  # a worker, not the parent
        events = store.history(rule="no-traffic")
        assert [e.event for e in events].count("firing") == 1  # not once per worker
        assert [e.event for e in events].count("notified") == 1
        assert {e.actor for e in events} == {holder}
        assert lock_file.read_text().strip() == holder  # the same worker kept it
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        skipped = _run_once(root)  # cron while the server evaluates
        assert skipped["evaluated"] is False
    evaluated = _run_once(root)  # the server let the lock go
    assert evaluated["evaluated"] is True
    store.close()


def test_evaluate_in_server_false_leaves_it_to_cron(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "ragline.yaml").write_text(
        CONFIG.replace(
            "monitor: {interval: 1s}", "monitor: {interval: 1s, evaluate_in_server: false}"
        )
    )
    with ServerProcess(root) as server:
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        assert _run_once(root)["evaluated"] is True  # nobody else holds the lock
