"""The alert state machine: one evaluation of every rule at a given time.

Each rule moves through ``inactive → pending → firing → resolved`` (and back to
``pending`` when the condition holds again):

- the condition holds (see :mod:`._rules`) → ``pending``; after it has held for the
  rule's ``for`` → ``firing`` (``for: 0`` fires at once);
- a pending rule whose condition stops holding goes back to ``inactive`` (``cleared``:
  it never fired, nobody is told);
- a firing rule stays firing until the value is back past its ``resolve`` threshold
  (hysteresis), then → ``resolved``.

States and every transition (who, what, when, the value and the threshold) are stored
in the :class:`~ragline.store.AlertStore` before anything is sent; the notifications
(:mod:`._alert_notify`) follow, so a crash in between sends again rather than never.

Time is what the caller gives (``evaluate(now)``): a clock that jumps backwards never
crashes an evaluation; a duration that would be negative counts as zero, and a
pending rule whose start is in the future starts again from ``now``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ragline.monitor._alert_notify import AlertNotifier
from ragline.monitor._notification import Notification, Notifier
from ragline.monitor._rules import describe, observe, query_for, verdict
from ragline.monitor._source import MetricSource, MetricValue
from ragline.store._alerts import AlertEvent, AlertState, AlertStateName, AlertStore

if TYPE_CHECKING:
    from ragline.config import AlertRule, AlertSettings

log = logging.getLogger("ragline.monitor")


def default_actor() -> str:
    """Who evaluates, in the history: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule after one evaluation."""

    rule: str
    state: AlertStateName
    since: float
    observed: float | None  # the compared number (None: no data)
    threshold: float
    summary: str
    metric: MetricValue | None = None
    transition: str | None = None  # pending, firing, resolved, cleared (this evaluation)
    silenced_by: str | None = None  # the active silence that holds its notifications
    error: str | None = None  # the metric source failed: the state was kept


@dataclass(slots=True)
class CycleReport:
    """What one evaluation did."""

    at: float
    results: list[RuleResult] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # channels that refused
    errors: list[str] = field(default_factory=list)  # rules whose metric could not be read


def _elapsed(now: float, since: float | None) -> float:
    return 0.0 if since is None else max(0.0, now - since)


class Evaluator:
    """Evaluates ``alerts.rules`` against ``source`` and keeps their state in ``store``.

    ``notifiers`` maps channel names to notifiers; a rule without ``channels`` goes to
    every one of them. ``actor`` names this evaluator in the history (default
    ``host:pid``).
    """

    def __init__(
        self,
        alerts: AlertSettings,
        source: MetricSource,
        store: AlertStore,
        notifiers: Mapping[str, Notifier] | None = None,
        *,
        actor: str | None = None,
    ) -> None:
        self.alerts = alerts
        self.source = source
        self.store = store
        self.actor = actor or default_actor()
        self.dispatcher = AlertNotifier(alerts, dict(notifiers or {}), store, actor=self.actor)

    # -- reading ---------------------------------------------------------------------

    def _read(self, rule: AlertRule, now: float) -> tuple[MetricValue | None, str | None]:
        try:
            return self.source.query(query_for(rule), now=now), None
        except Exception as e:
            log.warning("alert rule %s: reading %s failed: %s", rule.name, rule.metric, e)
            return None, f"{type(e).__name__}: {e}"

    # -- one evaluation --------------------------------------------------------------

    def evaluate(self, now: float) -> CycleReport:
        """Evaluate every rule at ``now`` (epoch seconds); store and notify."""
        report = CycleReport(at=now)
        stored = self.store.states()
        configured = {r.name for r in self.alerts.rules}
        gone = [name for name in stored if name not in configured]
        if gone:
            self.store.forget(gone)
        states: list[AlertState] = []
        events: list[AlertEvent] = []
        for rule in self.alerts.rules:
            mv, error = self._read(rule, now)
            before = stored.get(rule.name)
            after, result, event = self._step(rule, before, mv, error, now)
            states.append(after)
            if event is not None:
                events.append(event)
            report.results.append(result)
            if error is not None:
                report.errors.append(f"{rule.name}: {error}")
        self.store.save(states, events)
        sent, failures, silenced = self.dispatcher.dispatch(states, report.results, now)
        report.notifications.extend(sent)
        report.failures.extend(failures)
        if silenced:
            report.results = [
                replace(r, silenced_by=silenced.get(r.rule, r.silenced_by)) for r in report.results
            ]
        return report

    def _step(
        self,
        rule: AlertRule,
        before: AlertState | None,
        mv: MetricValue | None,
        error: str | None,
        now: float,
    ) -> tuple[AlertState, RuleResult, AlertEvent | None]:
        """The rule's next state at ``now``, its result and the event of its transition."""
        cond = rule.parsed_condition
        prev = before or AlertState(rule.name, "inactive", since=now, evaluated_at=now)
        observed = observe(rule, mv) if mv is not None else None
        firing = prev.state == "firing"
        bad = None if error is not None else verdict(rule, observed, firing=firing)
        labels = {**rule.filter, **rule.labels}
        state = replace(
            prev,
            evaluated_at=now,
            value=observed if error is None else prev.value,  # a failed read changes nothing
            threshold=cond.threshold,
            labels=labels,
        )
        transition: str | None = None
        if bad is None:
            pass  # no_data: keep, or the source failed: the state stays
        elif prev.state in ("inactive", "resolved"):
            if bad:
                state = replace(state, state="pending", since=now, pending_since=now)
                transition = "pending"
                if rule.for_ <= 0:
                    state = replace(state, state="firing", fired_at=now, resolved_at=None)
                    transition = "firing"
        elif prev.state == "pending":
            if not bad:
                state = replace(state, state="inactive", since=now, pending_since=None)
                transition = "cleared"
            else:
                start = prev.pending_since if prev.pending_since is not None else now
                if start > now:  # the clock went back: hold from now
                    start = now
                state = replace(state, pending_since=start)
                if _elapsed(now, start) >= rule.for_:
                    state = replace(
                        state, state="firing", since=now, fired_at=now, resolved_at=None
                    )
                    transition = "firing"
        elif prev.state == "firing" and not bad:
            state = replace(state, state="resolved", since=now, resolved_at=now, pending_since=None)
            transition = "resolved"
        summary = describe(rule, observed, mv)
        event = None
        if transition is not None:
            detail: dict[str, object] = {"summary": summary}
            if mv is not None:
                detail.update(samples=mv.samples, raw=mv.value, baseline=mv.baseline)
                if mv.gaps:
                    detail["gaps"] = mv.gaps
            if observed is None:
                detail["no_data"] = rule.no_data
            event = AlertEvent(
                at=now,
                rule=rule.name,
                event=transition,
                state=state.state,
                value=observed,
                threshold=cond.threshold if transition != "resolved" else _resolve_at(rule),
                actor=self.actor,
                detail=detail,
            )
        result = RuleResult(
            rule=rule.name,
            state=state.state,
            since=state.since,
            observed=observed,
            threshold=cond.threshold,
            summary=summary,
            metric=mv,
            transition=transition,
            error=error,
        )
        return state, result, event

    # -- without changing anything ---------------------------------------------------

    def preview(self, now: float) -> list[RuleResult]:
        """Each rule's current value against its threshold and its stored state, as
        ``ragline monitor status`` shows them; nothing is stored or sent."""
        stored = self.store.states()
        silences = self.store.silences(active_at=now)
        out: list[RuleResult] = []
        for rule in self.alerts.rules:
            mv, error = self._read(rule, now)
            observed = observe(rule, mv) if mv is not None else None
            prev = stored.get(rule.name)
            labels = {**rule.filter, **rule.labels}
            silence = next((s.id for s in silences if s.matches(rule.name, labels)), None)
            out.append(
                RuleResult(
                    rule=rule.name,
                    state=prev.state if prev else "inactive",
                    since=prev.since if prev else now,
                    observed=observed,
                    threshold=rule.parsed_condition.threshold,
                    summary=describe(rule, observed, mv),
                    metric=mv,
                    silenced_by=silence,
                    error=error,
                )
            )
        return out


def _resolve_at(rule: AlertRule) -> float:
    return rule.resolve if rule.resolve is not None else rule.parsed_condition.threshold


def evaluate_rules(
    alerts: AlertSettings,
    source: MetricSource,
    store: AlertStore,
    notifiers: Mapping[str, Notifier] | None = None,
    *,
    now: float,
) -> CycleReport:
    """One evaluation (a convenience for scripts and tests)."""
    return Evaluator(alerts, source, store, notifiers).evaluate(now)
