"""``RollupConformance``: the shared test suite every ``RollupStore`` must pass.

Subclass it in a backend's test module and implement ``make_store`` (a fresh, empty
store; the suite closes it after each test), or override the ``rollup_store``
fixture and yield the store::

    class TestMyRollups(RollupConformance):
        def make_store(self) -> RollupStore:
            return MyRollupStore(...)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ragline.store._rollups import Gap, RollupRow, RollupStore, bucket_of

M0 = 1_764_000_000  # a fixed minute (a multiple of 60), so tests never read the clock


def latency_row(minute: int, values: list[float], **key: str) -> RollupRow:
    """A ``latency`` row of ``minute`` holding ``values`` (with their histogram)."""
    row = RollupRow(minute, key.get("tenant", "acme"), key.get("route", ""), "latency")
    row.label = key.get("label", "")
    for v in values:
        row.observe(v, histogram=True)
    return row


def _by_key(rows: list[RollupRow]) -> dict[tuple[int, str, str, str, str], RollupRow]:
    return {r.key: r for r in rows}


class RollupConformance:
    """Upsert-add, filtered reads, gap marks and pruning (see ``RollupStore``)."""

    def make_store(self) -> RollupStore:
        raise NotImplementedError("override make_store() or the rollup_store fixture")

    @pytest.fixture
    def rollup_store(self) -> Iterator[RollupStore]:
        store = self.make_store()
        yield store
        store.close()

    def test_a_row_reads_back_as_written(self, rollup_store: RollupStore) -> None:
        row = latency_row(M0, [12.0, 40.0, 40.5])
        rollup_store.add([row])
        [back] = rollup_store.rows()
        assert back.key == row.key
        assert (back.count, back.total, back.max) == (3, 92.5, 40.5)
        assert back.buckets == {bucket_of(12.0): 1, bucket_of(40.0): 2}

    def test_the_same_key_again_adds_up(self, rollup_store: RollupStore) -> None:
        rollup_store.add([latency_row(M0, [10.0, 20.0])])
        rollup_store.add([latency_row(M0, [20.0, 500.0])])
        [back] = rollup_store.rows()
        assert (back.count, back.total, back.max) == (4, 550.0, 500.0)
        assert back.buckets == {bucket_of(10.0): 1, bucket_of(20.0): 2, bucket_of(500.0): 1}
        rollup_store.add([latency_row(M0, [1.0])])  # a smaller max keeps the larger
        [back] = rollup_store.rows()
        assert back.max == 500.0 and back.count == 5

    def test_a_row_without_a_max_or_histogram(self, rollup_store: RollupStore) -> None:
        rollup_store.add([RollupRow(M0, "acme", "", "feedback", "good", count=2, total=2.0)])
        rollup_store.add([RollupRow(M0, "acme", "", "feedback", "good", count=1, total=1.0)])
        [back] = rollup_store.rows()
        assert (back.count, back.total, back.max, back.buckets) == (3, 3.0, None, {})

    def test_concurrent_writers_add_up(self, rollup_store: RollupStore) -> None:
        errors: list[BaseException] = []

        def write() -> None:
            try:
                for _ in range(20):
                    rollup_store.add([latency_row(M0, [5.0]), latency_row(M0 + 60, [7.0])])
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=write) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        rows = _by_key(rollup_store.rows())
        assert rows[(M0, "acme", "", "latency", "")].count == 80
        assert rows[(M0 + 60, "acme", "", "latency", "")].buckets == {bucket_of(7.0): 80}

    def test_reads_filter_by_time_metric_and_key(self, rollup_store: RollupStore) -> None:
        rollup_store.add(
            [
                latency_row(M0, [1.0]),
                latency_row(M0 + 60, [2.0], tenant="globex"),
                latency_row(M0 + 120, [3.0], route="finance"),
                latency_row(M0 + 120, [4.0], label="retrieve"),
                RollupRow(M0 + 60, "acme", "", "errors", count=3, total=1.0),
            ]
        )
        assert len(rollup_store.rows()) == 5
        window = rollup_store.rows(since=M0 + 60, until=M0 + 120)
        assert {r.key for r in window} == {
            (M0 + 60, "globex", "", "latency", ""),
            (M0 + 60, "acme", "", "errors", ""),
        }
        assert {r.metric for r in rollup_store.rows(metrics=["errors"])} == {"errors"}
        assert rollup_store.rows(metrics=[]) == []
        assert [r.tenant for r in rollup_store.rows(tenant="globex")] == ["globex"]
        assert [r.total for r in rollup_store.rows(route="finance")] == [3.0]
        assert [r.total for r in rollup_store.rows(label="retrieve")] == [4.0]
        assert rollup_store.rows(tenant="nobody") == []
        [light] = rollup_store.rows(label="retrieve", buckets=False)
        assert (light.count, light.total, light.buckets) == (1, 4.0, {})

    def test_total_adds_matching_rows_in_the_store(self, rollup_store: RollupStore) -> None:
        rollup_store.add(
            [
                latency_row(M0, [10.0, 20.0], route="finance"),
                latency_row(M0 + 60, [30.0], route="eu,finance"),
                latency_row(M0 + 60, [40.0], route="finances"),
                latency_row(M0 + 120, [50.0]),
            ]
        )
        every = rollup_store.total(metrics=["latency"])
        assert (every.count, every.total, every.max) == (5, 150.0, 50.0)
        assert sum(every.buckets.values()) == 5
        assert every.buckets[bucket_of(30.0)] == 1
        finance = rollup_store.total(metrics=["latency"], rule="finance")
        assert (finance.count, finance.total) == (3, 60.0)  # not "finances"
        assert rollup_store.total(metrics=["latency"], rule="eu").count == 1
        assert [r.total for r in rollup_store.rows(rule="finances")] == [40.0]
        window = rollup_store.total(metrics=["latency"], since=M0 + 60, until=M0 + 120)
        assert (window.count, window.max) == (2, 40.0)
        light = rollup_store.total(metrics=["latency"], buckets=False)
        assert light.count == 5 and light.buckets == {}
        none = rollup_store.total(metrics=["errors"])
        assert (none.count, none.total, none.max, none.buckets) == (0, 0.0, None, {})

    def test_any_text_in_the_key(self, rollup_store: RollupStore) -> None:
        row = latency_row(M0, [3.0], tenant="ünï-çødé", route="a,b", label="model: gpt 4")
        rollup_store.add([row])
        [back] = rollup_store.rows(tenant="ünï-çødé")
        assert back.key == row.key

    def test_gaps_are_marked_once_and_read_by_range(self, rollup_store: RollupStore) -> None:
        rollup_store.mark_gaps([Gap(M0, "database is locked"), Gap(M0 + 120, "disk full")])
        rollup_store.mark_gaps([Gap(M0, "again")])
        assert [g.minute for g in rollup_store.gaps(M0, M0 + 180)] == [M0, M0 + 120]
        assert rollup_store.gaps(M0, M0 + 180)[0].reason == "database is locked"
        assert [g.minute for g in rollup_store.gaps(M0 + 60, M0 + 180)] == [M0 + 120]
        assert rollup_store.gaps(M0 + 180, M0 + 600) == []

    def test_prune_deletes_minutes_before_a_time(self, rollup_store: RollupStore) -> None:
        rollup_store.add([latency_row(M0 + 60 * i, [float(i + 1)]) for i in range(5)])
        rollup_store.mark_gaps([Gap(M0, "x"), Gap(M0 + 240, "y")])
        assert rollup_store.prune(M0 + 120, dry_run=True) == 2
        assert len(rollup_store.rows()) == 5  # a dry run deletes nothing
        assert rollup_store.prune(M0 + 120) == 2
        assert sorted(r.minute for r in rollup_store.rows()) == [M0 + 120, M0 + 180, M0 + 240]
        assert [g.minute for g in rollup_store.gaps(0, M0 + 600)] == [M0 + 240]
        assert rollup_store.prune(M0 + 120) == 0

    def test_an_empty_batch_is_fine(self, rollup_store: RollupStore) -> None:
        rollup_store.add([])
        rollup_store.mark_gaps([])
        assert rollup_store.rows() == []
