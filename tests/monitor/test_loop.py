"""Where rules run: of several evaluators on one store exactly one evaluates each
cycle (threads, and processes on SQLite); the background loop never holds up its
caller, survives failing evaluations, and hands the lock over when stopped."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from ragline.monitor import Evaluator, MonitorLoop
from ragline.monitor._source import MetricQuery, MetricValue
from ragline.store.sqlite._alerts import SQLiteAlertStore
from ragline.testing import FakeMetricSource, RecordingNotifier

from .helpers import P95, T0, alerts


def _loop(store: SQLiteAlertStore, source: object, notifier: RecordingNotifier) -> MonitorLoop:
    ev = Evaluator(alerts({**P95, "for": 0}), source, store, {"n": notifier})  # type: ignore[arg-type]
    return MonitorLoop(ev, store.evaluator_lock(), interval_s=0.01)


def test_two_evaluators_on_one_store_only_one_evaluates_per_cycle(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    source = FakeMetricSource()
    source.set("latency", "p95", 2600, route="ask")
    first, second = SQLiteAlertStore(db), SQLiteAlertStore(db)  # two workers' stores
    na, nb = RecordingNotifier(), RecordingNotifier()
    a, b = _loop(first, source, na), _loop(second, source, nb)
    for minute in range(5):
        reports = [a.run_once(T0 + minute * 60), b.run_once(T0 + minute * 60)]
        assert sum(r is not None for r in reports) == 1  # one evaluation per cycle
    assert (a.cycles, b.skipped) == (5, 5)
    assert len(na.sent) + len(nb.sent) == 1  # one incident, one notification
    a.stop()  # the holder stops: the other takes over on its next turn
    assert b.run_once(T0 + 600) is not None
    b.stop()
    first.close()
    second.close()


def test_racing_threads_evaluate_once_per_cycle(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    source = FakeMetricSource()
    stores = [SQLiteAlertStore(db) for _ in range(4)]
    loops = [_loop(s, source, RecordingNotifier()) for s in stores]

    def turn(loop: MonitorLoop, go: threading.Barrier, at: float, done: list[object]) -> None:
        go.wait()
        done.append(loop.run_once(at))

    for cycle in range(3):
        go = threading.Barrier(len(loops))
        done: list[object] = []
        threads = [
            threading.Thread(target=turn, args=(x, go, T0 + cycle * 60, done)) for x in loops
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r is not None for r in done) == 1
    evaluated = [q for q, _ in source.queries]
    assert len(evaluated) == 3  # one rule, three cycles, one evaluator
    for loop in loops:
        loop.stop()
    for s in stores:
        s.close()


_OTHER_PROCESS = """
import sys
from ragline.store.sqlite._alerts import SQLiteAlertStore
from ragline.monitor import Evaluator, MonitorLoop
from ragline.config import AlertSettings
from ragline.testing import FakeMetricSource
store = SQLiteAlertStore(sys.argv[1])
loop = MonitorLoop(Evaluator(AlertSettings(), FakeMetricSource(), store), store.evaluator_lock())
print("evaluated" if loop.run_once(1.0) is not None else "skipped", flush=True)
sys.stdin.readline()
"""


def test_a_second_process_skips_while_one_evaluates(tmp_path: Path) -> None:
    db = tmp_path / "ragline.db"
    store = SQLiteAlertStore(db)
    mine = _loop(store, FakeMetricSource(), RecordingNotifier())
    assert mine.run_once(T0) is not None  # this process holds the lock now
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER_PROCESS, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "skipped"
    finally:
        other.communicate("\n", timeout=60)
    mine.stop()
    store.close()


class _Blocked:
    """A metric source stuck until released (a slow rollup query)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def query(self, q: MetricQuery, *, now: float) -> MetricValue:
        self.entered.set()
        self.release.wait(30)
        return MetricValue(None)


def test_a_slow_evaluation_runs_in_the_background(tmp_path: Path) -> None:
    store = SQLiteAlertStore(tmp_path / "ragline.db")
    source = _Blocked()
    loop = _loop(store, source, RecordingNotifier())
    loop.start()  # returns while the first evaluation is stuck
    assert source.entered.wait(30)
    assert loop.running and loop.cycles == 0
    # the caller (the server) goes on: the store is usable from here meanwhile
    assert store.states() == {}
    source.release.set()
    loop.stop(timeout=30)
    assert not loop.running and loop.cycles >= 1
    store.close()


def test_a_failing_evaluation_is_counted_and_the_loop_goes_on(tmp_path: Path) -> None:
    store = SQLiteAlertStore(tmp_path / "ragline.db")
    source = FakeMetricSource()
    loop = _loop(store, source, RecordingNotifier())
    saves = {"n": 0}
    real_save = store.save
    failed_twice = threading.Event()
    recovered = threading.Event()

    def flaky_save(*args: object, **kwargs: object) -> None:
        saves["n"] += 1
        if saves["n"] <= 2:
            if saves["n"] == 2:
                failed_twice.set()
            raise OSError("disk full")
        real_save(*args, **kwargs)  # type: ignore[arg-type]
        recovered.set()

    store.save = flaky_save  # type: ignore[method-assign]
    loop.start()
    assert failed_twice.wait(30) and recovered.wait(30)
    loop.stop(timeout=30)
    assert loop.failures >= 2 and loop.cycles >= 1
    store.close()
