"""Notifications: one per incident and group, repeated only after ``repeat_interval``,
resolved once; held by silences.

After the state machine (:mod:`._evaluator`) has stored the new states, each alert
needs at most one of:

- **firing**: firing, and its channels were not told yet (a new incident, or one
  whose notification was held by a silence that has since expired);
- **repeat**: firing, told, and ``repeat_interval`` has passed since;
- **resolved**: no longer firing, and its channels were last told it was firing.

Alerts with the same values of ``group_by`` (``rule``, ``severity`` or a rule label)
form a group; a group's first notification waits ``group_wait`` after its first alert
fired so that alerts firing together are one notification. An alert matched by an
active silence changes state as usual but is not part of any notification (its history
says ``silenced``); once the silence is over, whatever is still owed is sent.

A notification counts as delivered when at least one of its channels took it (or it
has no channel at all); otherwise the failures are recorded and it is tried again at
the next evaluation. Delivered, every member's ``notified`` is stored, with a
``notified`` event naming the channels.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from ragline.monitor._notification import Notification, Notifier
from ragline.store._alerts import AlertEvent, AlertState, AlertStore, Silence

if TYPE_CHECKING:
    from ragline.config import AlertRule, AlertSettings
    from ragline.monitor._evaluator import RuleResult

log = logging.getLogger("ragline.monitor")

Kind = Literal["firing", "repeat", "resolved"]
_SEVERITY = {"critical": 0, "error": 1, "warning": 2, "info": 3}


@dataclass(frozen=True, slots=True)
class _Owed:
    rule: AlertRule
    state: AlertState
    kind: Kind
    summary: str


def _since(now: float, then: float | None) -> float:
    return 0.0 if then is None else max(0.0, now - then)


class AlertNotifier:
    """Decides, groups and sends the notifications of one evaluation."""

    def __init__(
        self,
        alerts: AlertSettings,
        notifiers: Mapping[str, Notifier],
        store: AlertStore,
        *,
        actor: str,
    ) -> None:
        self.alerts = alerts
        self.notifiers = notifiers
        self.store = store
        self.actor = actor
        self._rules = {r.name: r for r in alerts.rules}

    def _group_by(self, rule: AlertRule) -> list[str]:
        return rule.group_by if rule.group_by is not None else self.alerts.group_by

    def _group_wait(self, rule: AlertRule) -> float:
        return rule.group_wait if rule.group_wait is not None else self.alerts.group_wait

    def _repeat(self, rule: AlertRule) -> float:
        if rule.repeat_interval is not None:
            return rule.repeat_interval
        return self.alerts.repeat_interval

    def group_key(self, rule: AlertRule) -> tuple[str, str]:
        """``(key text, fingerprint)`` of the rule's group."""
        values = []
        for name in self._group_by(rule):
            if name == "rule":
                values.append(f"rule={rule.name}")
            elif name == "severity":
                values.append(f"severity={rule.severity}")
            else:
                values.append(f"{name}={rule.labels.get(name, rule.filter.get(name, ''))}")
        text = ",".join(values)
        return text, hashlib.sha256(text.encode()).hexdigest()[:16]

    def _owed(self, rule: AlertRule, state: AlertState, now: float) -> Kind | None:
        if state.state == "firing":
            if state.notified != "firing":
                return "firing"
            if _since(now, state.notified_at) >= self._repeat(rule):
                return "repeat"
            return None
        return "resolved" if state.notified == "firing" else None

    def dispatch(
        self, states: Sequence[AlertState], results: Sequence[RuleResult], now: float
    ) -> tuple[list[Notification], list[str], dict[str, str]]:
        """Send what is owed: ``(sent, channel failures, {rule: silence id})``."""
        silences = self.store.silences(active_at=now)
        by_rule = {r.rule: r for r in results}
        groups: dict[tuple[str, str, str], list[_Owed]] = {}
        held: dict[str, str] = {}
        events: list[AlertEvent] = []
        for state in states:
            rule = self._rules.get(state.rule)
            if rule is None:
                continue
            kind = self._owed(rule, state, now)
            if kind is None:
                continue
            result = by_rule.get(rule.name)
            silence = _matching(silences, rule.name, state.labels)
            if silence is not None:
                held[rule.name] = silence.id
                if result is not None and result.transition in ("firing", "resolved"):
                    events.append(self._event(state, "silenced", {"silence": silence.id}, now))
                continue
            text, fingerprint = self.group_key(rule)
            side = "resolved" if kind == "resolved" else "firing"
            summary = result.summary if result is not None else ""
            groups.setdefault((text, fingerprint, side), []).append(
                _Owed(rule, state, kind, summary)
            )
        sent: list[Notification] = []
        failures: list[str] = []
        updated: list[AlertState] = []
        for (_, fingerprint, side), members in groups.items():
            if side == "firing" and not self._due(members, now):
                continue  # waiting for group_wait: others may join
            notification = self._notification(members, fingerprint, side, now)
            ok, failed = self._send(members, notification)
            failures.extend(failed)
            names = [m.rule.name for m in members]
            if ok is None:
                for m in members:
                    failure: dict[str, object] = {"errors": failed, "fingerprint": fingerprint}
                    events.append(self._event(m.state, "failed", failure, now))
                continue
            sent.append(notification)
            told: Literal["firing", "resolved"] = "resolved" if side == "resolved" else "firing"
            for m in members:
                updated.append(replace(m.state, notified=told, notified_at=now))
                detail: dict[str, object] = {
                    "kind": m.kind,
                    "channels": ok,
                    "failed": failed,
                    "fingerprint": fingerprint,
                    "rules": names,
                }
                events.append(self._event(m.state, "notified", detail, now))
        if updated or events:
            self.store.save(updated, events)
        return sent, failures, held

    def _due(self, members: list[_Owed], now: float) -> bool:
        if any(m.kind == "repeat" for m in members):
            return True
        return any(_since(now, m.state.fired_at) >= self._group_wait(m.rule) for m in members)

    def _notification(
        self, members: list[_Owed], fingerprint: str, side: str, now: float
    ) -> Notification:
        members.sort(key=lambda m: (_SEVERITY.get(m.rule.severity, 9), m.rule.name))
        first = members[0]
        rule, state = first.rule, first.state
        lines = [f"{m.rule.name}: {m.rule.summary or m.summary}" for m in members]
        if side == "resolved":
            lines = [f"resolved — {line}" for line in lines]
        started = [m.state.fired_at for m in members if m.state.fired_at is not None]
        resolved = [m.state.resolved_at for m in members if m.state.resolved_at is not None]
        return Notification(
            rule=rule.name,
            state="resolved" if side == "resolved" else "firing",
            severity=rule.severity,
            labels=dict(state.labels),
            value=state.value,
            threshold=state.threshold,
            window=rule.window,
            started_at=min(started) if started else now,
            resolved_at=(max(resolved) if resolved else now) if side == "resolved" else None,
            summary="\n".join(lines),
            fingerprint=fingerprint,
            metric=f"{rule.metric} {rule.agg}",
            condition=rule.condition,
            rules=tuple(m.rule.name for m in members),
            repeat=all(m.kind == "repeat" for m in members),
        )

    def _send(
        self, members: list[_Owed], notification: Notification
    ) -> tuple[list[str] | None, list[str]]:
        """``(channels that took it, or None if all failed; failure messages)``."""
        wanted: list[str] = []
        for m in members:
            names = m.rule.channels if m.rule.channels is not None else list(self.notifiers)
            wanted.extend(n for n in names if n not in wanted)
        ok: list[str] = []
        failed: list[str] = []
        for name in wanted:
            notifier = self.notifiers.get(name)
            if notifier is None:
                failed.append(f"{name}: no such channel is configured")
                continue
            try:
                notifier.send(notification)
                ok.append(name)
            except Exception as e:
                log.warning("alert %s: channel %s failed: %s", notification.rule, name, e)
                failed.append(f"{name}: {type(e).__name__}: {e}")
        if wanted and not ok:
            return None, failed
        return ok, failed

    def _event(
        self, state: AlertState, event: str, detail: dict[str, object], now: float
    ) -> AlertEvent:
        return AlertEvent(
            at=now,
            rule=state.rule,
            event=event,
            state=state.state,
            value=state.value,
            threshold=state.threshold,
            actor=self.actor,
            detail=detail,
        )


def _matching(silences: Sequence[Silence], rule: str, labels: Mapping[str, str]) -> Silence | None:
    return next((s for s in silences if s.matches(rule, labels)), None)
