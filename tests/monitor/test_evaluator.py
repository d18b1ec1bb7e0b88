"""The alert state machine: pending → firing after ``for``, hysteresis, no data, change
rules, one notification per incident, resolved once, silences, groups, failures and
clocks that jump — each as a user sees it in the notifications and the history."""

from __future__ import annotations

import pytest

from ragline.errors import StoreError
from ragline.store.sqlite._alerts import SQLiteAlertStore

from .helpers import P95, T0, Rig, alerts


def test_pending_then_firing_then_resolved_notifies_twice_in_all() -> None:
    rig = Rig(alerts(P95, repeat_interval="1h"))
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.at(0)
    assert rig.state() == "pending" and rig.a.sent == []
    rig.at(60)
    assert rig.state() == "pending"  # has held for 1m of the 2m
    report = rig.at(120)
    assert rig.state() == "firing"
    (note,) = rig.a.sent
    assert rig.b.sent == [note]  # no channels on the rule: every channel
    assert report.notifications == [note]
    assert (note.rule, note.state, note.severity) == ("ask-p95", "firing", "critical")
    assert (note.value, note.threshold, note.window) == (2600, 2000, 300)
    assert note.labels == {"route": "ask", "team": "search"}
    assert note.started_at == T0 + 120 and note.resolved_at is None
    assert "latency p95 over 5m (route=ask) is 2600 (alert when > 2000)" in note.summary
    for minute in range(3, 30):  # still firing: no more notifications
        rig.at(minute * 60)
    assert len(rig.a.sent) == 1
    rig.source.set("latency", "p95", 900, route="ask")
    rig.at(1800)
    assert rig.state() == "resolved"
    resolved = rig.a.sent[-1]
    assert (resolved.state, resolved.value, resolved.resolved_at) == ("resolved", 900, T0 + 1800)
    assert resolved.fingerprint == note.fingerprint  # the same incident
    rig.at(1860)
    rig.at(1920)
    assert [n.state for n in rig.a.sent] == ["firing", "resolved"]  # resolved once
    assert rig.events() == ["pending", "firing", "notified", "resolved", "notified"]


def test_history_says_who_what_when_and_the_value_that_crossed() -> None:
    rig = Rig(alerts({**P95, "for": "0m"}))
    rig.source.set("latency", "p95", 2345.5, samples=42, route="ask")
    rig.at(0)
    firing = next(e for e in rig.store.history() if e.event == "firing")
    assert (firing.at, firing.actor, firing.state) == (T0, "test:1", "firing")
    assert (firing.value, firing.threshold) == (2345.5, 2000)
    assert firing.detail["samples"] == 42
    notified = next(e for e in rig.store.history() if e.event == "notified")
    assert notified.detail["channels"] == ["a", "b"]


def test_repeat_only_after_repeat_interval() -> None:
    rig = Rig(alerts({**P95, "for": 0}, repeat_interval="30m"))
    rig.source.set("latency", "p95", 2600, route="ask")
    for minute in range(0, 61):
        rig.at(minute * 60)
    assert [n.repeat for n in rig.a.sent] == [False, True, True]  # at 0, 30m and 60m


def test_a_pending_alert_that_clears_tells_nobody() -> None:
    rig = Rig(alerts(P95))
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.at(0)
    rig.source.set("latency", "p95", 1000, route="ask")
    rig.at(60)
    assert rig.state() == "inactive" and rig.a.sent == []
    assert rig.events() == ["pending", "cleared"]
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.at(120)
    rig.at(180)
    assert rig.state() == "pending"  # `for` counts again from the new start
    rig.at(240)
    assert rig.state() == "firing"


def test_hysteresis_keeps_it_firing_until_back_past_resolve() -> None:
    rig = Rig(alerts({**P95, "for": 0}))
    rig.source.set("latency", "p95", 2500, route="ask")
    rig.at(0)
    rig.source.set("latency", "p95", 1800, route="ask")  # below 2000, above 1500
    rig.at(60)
    assert rig.state() == "firing"
    rig.source.set("latency", "p95", 2100, route="ask")
    rig.at(120)
    rig.source.set("latency", "p95", 1400, route="ask")
    rig.at(180)
    assert rig.state() == "resolved"
    assert [n.state for n in rig.a.sent] == ["firing", "resolved"]  # no flapping


def test_without_resolve_it_resolves_at_the_threshold() -> None:
    rule = {**P95, "for": 0}
    del rule["resolve"]
    rig = Rig(alerts(rule))
    rig.source.set("latency", "p95", 2500, route="ask")
    rig.at(0)
    rig.source.set("latency", "p95", 2000, route="ask")  # not > 2000
    rig.at(60)
    assert rig.state() == "resolved"


SUPPORT = {
    "name": "support",
    "metric": "citation_support",
    "agg": "mean",
    "window": "1h",
    "condition": "< 0.9",
}


@pytest.mark.parametrize("no_data", ["ok", "keep", "alert"])
def test_an_empty_window_is_not_zero(no_data: str) -> None:
    """No asks in the window: a '< 0.9' rule would fire if no data were read as 0."""
    rig = Rig(alerts({**SUPPORT, "no_data": no_data}))
    report = rig.at(0)  # nothing set: the source has no data
    assert report.results[0].observed is None
    assert "has no data" in report.results[0].summary
    if no_data == "alert":
        assert rig.state("support") == "firing"
        (note,) = rig.a.sent
        assert note.value is None  # says no data, not 0
    else:
        assert rig.state("support") == "inactive" and rig.a.sent == []


def test_no_data_keep_holds_a_firing_alert_and_ok_resolves_it() -> None:
    for no_data, after in (("keep", "firing"), ("ok", "resolved")):
        rig = Rig(alerts({**SUPPORT, "no_data": no_data}))
        rig.source.set("citation_support", "mean", 0.7)
        rig.at(0)
        assert rig.state("support") == "firing"
        rig.source.clear("citation_support", "mean")
        rig.at(60)
        assert rig.state("support") == after, no_data


def test_too_few_samples_count_as_no_data() -> None:
    rig = Rig(alerts({**SUPPORT, "min_samples": 20}))
    rig.source.set("citation_support", "mean", 0.5, samples=3)
    rig.at(0)
    assert rig.state("support") == "inactive"
    rig.source.set("citation_support", "mean", 0.5, samples=25)
    rig.at(60)
    assert rig.state("support") == "firing"


def test_a_change_against_the_baseline() -> None:
    rule = {
        "name": "latency-up",
        "metric": "latency",
        "agg": "mean",
        "window": "10m",
        "baseline": "24h",
        "condition": "increase 50%",
    }
    rig = Rig(alerts(rule))
    rig.source.set("latency", "mean", 140, baseline=100)  # +40%
    report = rig.at(0)
    assert report.results[0].observed == pytest.approx(40.0)
    assert rig.state("latency-up") == "inactive"
    rig.source.set("latency", "mean", 160, baseline=100)  # +60%
    report = rig.at(60)
    assert rig.state("latency-up") == "firing"
    assert "changed 60% against the 1d before (100)" in report.results[0].summary
    rig.source.set("latency", "mean", 160)  # no baseline: nothing to compare with
    assert rig.at(120).results[0].observed is None


def test_drift_score_rule_reads_the_score() -> None:
    rule = {
        "name": "drift",
        "metric": "top1_score",
        "agg": "psi",
        "window": "1h",
        "baseline": "24h",
        "condition": "> 0.2",
    }
    rig = Rig(alerts(rule))
    rig.source.set("top1_score", "psi", 0.35)
    rig.at(0)
    assert rig.state("drift") == "firing"
    (query, now) = rig.source.queries[0]
    assert (query.window_s, query.baseline_s, now) == (3600, 86400, T0)


def test_a_silenced_alert_changes_state_but_does_not_notify_until_expiry() -> None:
    from ragline.store._alerts import Silence

    rig = Rig(alerts({**P95, "for": 0}))
    rig.store.add_silence(
        Silence("s1", {"rule": "ask-p95"}, T0, T0 + 600, "ana", "reindexing", created_at=T0)
    )
    rig.source.set("latency", "p95", 2600, route="ask")
    report = rig.at(0)
    assert rig.state() == "firing" and rig.a.sent == []
    assert report.results[0].silenced_by == "s1"
    assert rig.events() == ["firing", "silenced"]  # for: 0 fires at once
    rig.at(300)
    assert rig.a.sent == []
    rig.at(600)  # the silence is over and it still fires: now it is told
    assert [n.state for n in rig.a.sent] == ["firing"]


def test_a_label_silence_holds_the_resolution_too_and_expiry_sends_it() -> None:
    from ragline.store._alerts import Silence

    rig = Rig(alerts({**P95, "for": 0}))
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.at(0)
    assert len(rig.a.sent) == 1
    rig.store.add_silence(Silence("s2", {"team": "search"}, T0 + 30, T0 + 300, "bo"))
    rig.source.set("latency", "p95", 1000, route="ask")
    rig.at(60)
    assert rig.state() == "resolved" and len(rig.a.sent) == 1  # held
    rig.at(300)
    assert [n.state for n in rig.a.sent] == ["firing", "resolved"]


def test_an_unrelated_silence_does_not_hold_it() -> None:
    from ragline.store._alerts import Silence

    rig = Rig(alerts({**P95, "for": 0}))
    rig.store.add_silence(Silence("s3", {"rule": "other"}, T0, T0 + 600, "ana"))
    rig.store.add_silence(Silence("s4", {"team": "payments"}, T0, T0 + 600, "ana"))
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.at(0)
    assert len(rig.a.sent) == 1


def test_alerts_of_one_group_are_one_notification_after_group_wait() -> None:
    errors = {
        "name": "ask-errors",
        "metric": "errors",
        "agg": "rate",
        "window": "5m",
        "condition": "> 0.05",
        "labels": {"team": "search"},
    }
    rig = Rig(alerts({**P95, "for": 0}, errors, group_by=["team"], group_wait="1m"))
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.at(0)
    assert rig.a.sent == []  # waiting for others to join
    rig.source.set("errors", "rate", 0.2)
    rig.at(30)
    assert rig.a.sent == []
    rig.at(60)
    (note,) = rig.a.sent
    assert note.rules == ("ask-p95", "ask-errors")  # critical first
    assert "ask-p95: latency p95" in note.summary and "ask-errors: errors rate" in note.summary
    rig.at(120)
    assert len(rig.a.sent) == 1


def test_a_rule_sends_only_to_its_channels() -> None:
    rig = Rig(alerts({**P95, "for": 0, "channels": ["b"]}))
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.at(0)
    assert rig.a.sent == [] and len(rig.b.sent) == 1


def test_a_dead_channel_is_recorded_and_tried_again() -> None:
    rig = Rig(alerts({**P95, "for": 0}))
    rig.a.fail = rig.b.fail = ConnectionRefusedError("connection refused")
    rig.source.set("latency", "p95", 2600, route="ask")
    report = rig.at(0)
    assert rig.state() == "firing"  # the state is stored even though nobody was told
    assert len(report.failures) == 2 and "connection refused" in report.failures[0]
    assert rig.events()[-1] == "failed"
    rig.b.fail = None  # one channel comes back
    rig.at(60)
    assert len(rig.b.sent) == 1
    notified = rig.store.history(rule="ask-p95", limit=1)[0]
    assert notified.event == "notified" and notified.detail["channels"] == ["b"]
    assert "a: ConnectionRefusedError" in notified.detail["failed"][0]
    rig.at(120)
    assert len(rig.b.sent) == 1  # delivered once: not again


def test_a_failing_metric_source_keeps_the_state_and_the_other_rules_run() -> None:
    class Flaky:
        def __init__(self, inner: object) -> None:
            self.inner = inner
            self.broken = False

        def query(self, q: object, *, now: float) -> object:
            if self.broken and getattr(q, "metric", "") == "latency":
                raise StoreError("the rollup table is locked")
            return self.inner.query(q, now=now)  # type: ignore[attr-defined]

    rig = Rig(alerts({**P95, "for": 0}, {**SUPPORT, "no_data": "ok"}))
    flaky = Flaky(rig.source)
    rig.evaluator.source = flaky  # type: ignore[assignment]
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.source.set("citation_support", "mean", 0.5)
    rig.at(0)
    flaky.broken = True
    rig.source.set("citation_support", "mean", 0.95)
    report = rig.at(60)
    assert rig.state() == "firing"  # not resolved by a read that failed
    assert rig.store.states()["ask-p95"].value == 2600  # the last value read, not "no data"
    assert rig.state("support") == "resolved"  # the other rule went on
    assert report.errors == ["ask-p95: StoreError: the rollup table is locked"]
    assert report.results[0].error is not None


def test_the_clock_jumping_back_never_crashes_or_fires_early() -> None:
    rig = Rig(alerts(P95))
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.at(0)
    rig.at(-3600)  # an hour back (NTP step)
    assert rig.state() == "pending"
    rig.at(-3540)
    assert rig.state() == "pending"  # 1m since the restart of the hold
    rig.at(-3480)
    assert rig.state() == "firing"
    assert len(rig.a.sent) == 1
    rig.at(-7200)  # back again while firing: no repeat, no crash
    assert rig.state() == "firing" and len(rig.a.sent) == 1
    rig.source.set("latency", "p95", 100, route="ask")
    rig.at(-7140)
    assert [n.state for n in rig.a.sent] == ["firing", "resolved"]


def test_a_rule_removed_from_the_config_is_forgotten_but_its_history_stays() -> None:
    rig = Rig(alerts({**P95, "for": 0}))
    rig.source.set("latency", "p95", 2600, route="ask")
    rig.at(0)
    rig.evaluator.alerts = alerts(SUPPORT)
    rig.evaluator.dispatcher.alerts = rig.evaluator.alerts
    rig.at(60)
    assert set(rig.store.states()) == {"support"}
    assert "firing" in rig.events("ask-p95")


def test_the_state_survives_a_restart_on_sqlite(tmp_path: object) -> None:
    """A cron run every minute is a new process each time: one incident, one notification."""
    from pathlib import Path

    db = Path(str(tmp_path)) / "ragline.db"
    sent = []
    for minute in range(6):
        store = SQLiteAlertStore(db)
        rig = Rig(alerts(P95), store=store)
        rig.source.set("latency", "p95", 2600, route="ask")
        rig.at(minute * 60)
        sent += rig.a.sent
        store.close()
    assert [n.state for n in sent] == ["firing"]
