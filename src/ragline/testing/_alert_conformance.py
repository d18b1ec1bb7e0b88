"""``AlertStoreConformance``: the shared suite every ``AlertStore`` passes.

Subclass it in a backend's test module and implement ``make_store`` (a fresh, empty
store; the suite closes it after each test)::

    class TestMyAlertStore(AlertStoreConformance):
        def make_store(self) -> AlertStore:
            return MyAlertStore(...)

For fixtures (a temporary folder, a server), override the ``alert_store`` fixture
instead and yield the store. ``reopen`` (optional) returns a second store on the same
data — a second process's view — for the tests of the evaluator lock and durability.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ragline.errors import StoreError
from ragline.store._alerts import AlertEvent, AlertState, AlertStore, EvaluatorLock, Silence

T0 = 1_764_000_000.0  # a fixed epoch: the suite never reads the clock


def _state(rule: str, state: str = "firing", **changes: object) -> AlertState:
    base: dict[str, object] = {
        "rule": rule,
        "state": state,
        "since": T0,
        "evaluated_at": T0 + 60,
        "value": 2345.5,
        "threshold": 2000.0,
        "pending_since": T0 - 120,
        "fired_at": T0,
        "labels": {"team": "search", "severity": "critical"},
    }
    base.update(changes)
    return AlertState(**base)  # type: ignore[arg-type]


class AlertStoreConformance:
    """Behaviour every ``AlertStore`` must have. Subclasses implement ``make_store``."""

    def make_store(self) -> AlertStore:  # pragma: no cover
        raise NotImplementedError("subclasses return a fresh, empty AlertStore")

    def reopen(self, store: AlertStore) -> AlertStore | None:
        """A second store on ``store``'s data (None: the backend has no such thing)."""
        return None

    @pytest.fixture
    def alert_store(self) -> Iterator[AlertStore]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    # -- states and history ----------------------------------------------------------

    def test_is_an_alert_store(self, alert_store: AlertStore) -> None:
        assert isinstance(alert_store, AlertStore)
        assert alert_store.states() == {}
        assert alert_store.history() == []
        assert alert_store.silences() == []

    def test_states_round_trip_and_replace(self, alert_store: AlertStore) -> None:
        s = alert_store
        firing = _state("ask-p95", notified="firing", notified_at=T0 + 1)
        nodata = _state("errors", "inactive", value=None, threshold=0.05, pending_since=None)
        s.save([firing, nodata])
        assert s.states() == {"ask-p95": firing, "errors": nodata}
        resolved = _state("ask-p95", "resolved", since=T0 + 300, resolved_at=T0 + 300, value=900.0)
        s.save([resolved])
        assert s.states()["ask-p95"] == resolved  # replaced, not added
        assert s.states()["errors"] == nodata
        s.forget(["errors", "never-existed"])
        assert set(s.states()) == {"ask-p95"}

    def test_events_are_kept_newest_first_with_who_what_when(self, alert_store: AlertStore) -> None:
        s = alert_store
        events = [
            AlertEvent(T0, "ask-p95", "pending", "pending", 2100.0, 2000.0, "host:1"),
            AlertEvent(T0 + 120, "ask-p95", "firing", "firing", 2345.5, 2000.0, "host:1"),
            AlertEvent(
                T0 + 120,
                "ask-p95",
                "notified",
                "firing",
                2345.5,
                2000.0,
                "host:1",
                {"channels": ["slack"], "traces": ["t1"]},
            ),
            AlertEvent(T0 + 60, "errors", "pending", "pending", None, 0.05, "host:2"),
        ]
        s.save([_state("ask-p95")], events[:2])
        s.save([], events[2:])
        got = s.history()
        assert [(e.rule, e.event) for e in got] == [
            ("ask-p95", "notified"),  # same time as "firing": stored later, listed first
            ("ask-p95", "firing"),
            ("errors", "pending"),
            ("ask-p95", "pending"),
        ]
        assert len({e.id for e in got}) == 4 and all(e.id > 0 for e in got)
        notified = got[0]
        assert notified.detail == {"channels": ["slack"], "traces": ["t1"]}
        assert (notified.value, notified.threshold, notified.actor) == (2345.5, 2000.0, "host:1")
        assert got[2].value is None  # no data stays no data, not 0
        assert [e.event for e in s.history(rule="errors")] == ["pending"]
        assert [e.event for e in s.history(since=T0 + 60, rule="ask-p95")] == [
            "notified",
            "firing",
        ]
        assert len(s.history(limit=2)) == 2
        assert s.history(rule="unknown") == []

    def test_text_survives_exactly(self, alert_store: AlertStore) -> None:
        labels = {"team": "Zahlungen ß 保修", "quote": 'it\'s "x" \\ y'}
        state = _state("rule.with:odd-chars_1", labels=labels)
        event = AlertEvent(T0, state.rule, "silence", actor="ana@example.com", detail=labels)
        alert_store.save([state], [event])
        assert alert_store.states()[state.rule].labels == labels
        assert alert_store.history()[0].detail == labels

    # -- silences --------------------------------------------------------------------

    def test_silences_match_and_expire(self, alert_store: AlertStore) -> None:
        s = alert_store
        one = Silence(
            "s1",
            {"rule": "ask-p95"},
            T0,
            T0 + 7200,
            "ana",
            "deploying the new index",
            created_at=T0,
        )
        team = Silence("s2", {"team": "search"}, T0 + 60, T0 + 120, "bo", created_at=T0 + 1)
        assert s.add_silence(one) == one
        s.add_silence(team)
        assert [x.id for x in s.silences()] == ["s2", "s1"]  # newest first
        assert [x.id for x in s.silences(active_at=T0 + 30)] == ["s1"]
        assert [x.id for x in s.silences(active_at=T0 + 60)] == ["s2", "s1"]
        assert [x.id for x in s.silences(active_at=T0 + 7200)] == []  # the end is exclusive
        assert one.matches("ask-p95", {}) and not one.matches("errors", {"team": "search"})
        assert team.matches("errors", {"team": "search"}) and not team.matches("e", {})
        with pytest.raises(StoreError, match="already exists"):
            s.add_silence(one)
        assert len(s.silences()) == 2  # the duplicate changed nothing

    def test_ending_a_silence_keeps_its_record(self, alert_store: AlertStore) -> None:
        s = alert_store
        s.add_silence(Silence("s1", {"rule": "r"}, T0, T0 + 3600, "ana", "c", created_at=T0))
        ended = s.end_silence("s1", now=T0 + 600, by="bo")
        assert ended is not None and (ended.ends_at, ended.ended_by) == (T0 + 600, "bo")
        assert s.silences(active_at=T0 + 601) == []
        (kept,) = s.silences()
        assert (kept.author, kept.comment, kept.ends_at, kept.ended_by) == (
            "ana",
            "c",
            T0 + 600,
            "bo",
        )
        assert s.end_silence("s1", now=T0 + 700, by="bo") is None  # already over
        assert s.end_silence("nope", now=T0, by="bo") is None

    # -- the evaluator lock ----------------------------------------------------------

    def test_one_lock_holder_at_a_time(self, alert_store: AlertStore) -> None:
        a, b = alert_store.evaluator_lock(), alert_store.evaluator_lock()
        assert isinstance(a, EvaluatorLock)
        assert a.acquire() is True
        assert a.acquire() is True  # already held: still ours
        assert b.acquire() is False
        a.release()
        assert b.acquire() is True
        assert a.acquire() is False
        b.release()
        b.release()  # safe twice

    def test_the_lock_holds_across_stores_on_the_same_data(self, alert_store: AlertStore) -> None:
        other = self.reopen(alert_store)
        if other is None:
            pytest.skip("this backend has no second view of the same data")
        try:
            mine, theirs = alert_store.evaluator_lock(), other.evaluator_lock()
            assert mine.acquire() and not theirs.acquire()
            alert_store.save([_state("shared")])
            assert other.states()["shared"].state == "firing"  # one store's data
            mine.release()
            assert theirs.acquire()
            theirs.release()
        finally:
            other.close()

    def test_racing_contenders_get_one_winner(self, alert_store: AlertStore) -> None:
        locks = [alert_store.evaluator_lock() for _ in range(6)]
        won: list[int] = []
        start = threading.Barrier(len(locks))

        def contend(i: int, lock: EvaluatorLock) -> None:
            start.wait()
            if lock.acquire():
                won.append(i)

        threads = [threading.Thread(target=contend, args=(i, x)) for i, x in enumerate(locks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1
        for lock in locks:
            lock.release()
