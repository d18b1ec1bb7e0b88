"""``SQLAlertStore``: alert states, history and silences in SQL, what both engines share.

Tables ``alert_states``, ``alert_events`` and ``alert_silences`` from migration
``0013_alerts`` of each backend; alerts are project-wide, so every statement runs with
``tenant=None`` (no row-level security). :meth:`SQLAlertStore.save` writes the states and
the events of one evaluation in one transaction. JSON columns (labels, matchers, detail)
are text. A backend subclass supplies :meth:`evaluator_lock` (SQLite: ``flock`` on a
file beside the database; PostgreSQL: a session advisory lock).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ragline.store._alerts import AlertEvent, AlertState, Silence, duplicate_silence
from ragline.store._rows import Layout, json_dict
from ragline.store.sql._dialect import Dialect, Statements


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


STATE: Layout[AlertState] = Layout(
    AlertState,
    "rule state since evaluated_at value threshold pending_since fired_at resolved_at "
    "notified notified_at labels",
    read={
        "since": float,
        "evaluated_at": float,
        "value": _float,
        "threshold": _float,
        "pending_since": _float,
        "fired_at": _float,
        "resolved_at": _float,
        "notified_at": _float,
        "labels": json_dict,
    },
)
EVENT: Layout[AlertEvent] = Layout(
    AlertEvent,
    "id at rule event state value threshold actor detail",
    read={"id": int, "at": float, "value": _float, "threshold": _float, "detail": json_dict},
)
SILENCE: Layout[Silence] = Layout(
    Silence,
    "id matchers starts_at ends_at author comment created_at ended_by",
    read={"matchers": json_dict, "starts_at": float, "ends_at": float, "created_at": float},
)


def _state_row(s: AlertState) -> tuple[Any, ...]:
    return (
        s.rule,
        s.state,
        s.since,
        s.evaluated_at,
        s.value,
        s.threshold,
        s.pending_since,
        s.fired_at,
        s.resolved_at,
        s.notified,
        s.notified_at,
        json.dumps(s.labels, sort_keys=True),
    )


def _event_row(e: AlertEvent) -> tuple[Any, ...]:
    detail = json.dumps(e.detail, sort_keys=True, default=str)
    return (e.at, e.rule, e.event, e.state, e.value, e.threshold, e.actor, detail)


class SQLAlertStore:
    """The shared part of :class:`~ragline.store._alerts.AlertStore` on SQL, through ``sql``."""

    def __init__(self, sql: Dialect) -> None:
        self._sql = sql
        self._upsert_state = sql.upsert("alert_states", STATE.columns, ("rule",))
        self._insert_event = sql.insert("alert_events", EVENT.columns[1:])

    def _clean(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """Text as the engine can store it (PostgreSQL: NUL as U+FFFD; JSON is escaped)."""
        return tuple(self._sql.clean(v) for v in row)

    def states(self) -> dict[str, AlertState]:
        rows = self._sql.fetch(None, f"SELECT {STATE.select()} FROM alert_states")
        return {s.rule: s for s in (STATE.decode(r) for r in rows)}

    def save(self, states: Sequence[AlertState], events: Sequence[AlertEvent] = ()) -> None:
        state_rows = [self._clean(_state_row(s)) for s in states]
        event_rows = [self._clean(_event_row(e)) for e in events]
        if not state_rows and not event_rows:
            return

        def write(db: Statements) -> None:
            if state_rows:
                db.executemany(self._upsert_state, state_rows)
            if event_rows:
                db.executemany(self._insert_event, event_rows)

        self._sql.run(None, write, idempotent=False)  # a retry could append events twice

    def forget(self, rules: Sequence[str]) -> None:
        names = [r for r in rules if self._sql.storable(r)]
        if not names:
            return
        condition, params = self._sql.any_of("rule", names)
        self._sql.run(
            None, lambda db: db.execute(f"DELETE FROM alert_states WHERE {condition}", params)
        )

    def history(
        self, *, rule: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[AlertEvent]:
        m = self._sql.mark
        where: list[str] = []
        params: list[Any] = []
        if rule is not None:
            if not self._sql.storable(rule):
                return []
            where.append(f"rule = {m}")
            params.append(rule)
        if since is not None:
            where.append(f"at >= {m}")
            params.append(float(since))
        sql = f"SELECT {EVENT.select()} FROM alert_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY at DESC, id DESC LIMIT {m}"
        params.append(max(0, int(limit)))
        return [EVENT.decode(r) for r in self._sql.fetch(None, sql, params)]

    def add_silence(self, silence: Silence) -> Silence:
        values = self._clean(
            (
                silence.id,
                json.dumps(silence.matchers, sort_keys=True),
                silence.starts_at,
                silence.ends_at,
                silence.author,
                silence.comment,
                silence.created_at,
                silence.ended_by,
            )
        )
        clean = replace(silence, id=values[0], author=values[4], comment=values[5])
        insert = self._sql.insert_new("alert_silences", SILENCE.columns, ("id",))
        created = self._sql.run(
            None, lambda db: db.execute(insert, values).rowcount == 1, idempotent=False
        )
        if not created:
            raise duplicate_silence(silence.id)
        return clean

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        m = self._sql.mark
        sql = f"SELECT {SILENCE.select()} FROM alert_silences"
        params: list[Any] = []
        if active_at is not None:
            sql += f" WHERE starts_at <= {m} AND ends_at > {m}"
            params += [float(active_at), float(active_at)]
        rows = self._sql.fetch(None, sql + " ORDER BY created_at DESC, id DESC", params)
        return [SILENCE.decode(r) for r in rows]

    def end_silence(self, silence_id: str, *, now: float, by: str) -> Silence | None:
        if not self._sql.storable(silence_id):
            return None
        m = self._sql.mark
        by = self._sql.clean(by)

        def end(db: Statements) -> Silence | None:
            row = db.execute(
                f"SELECT {SILENCE.select()} FROM alert_silences WHERE id = {m}", (silence_id,)
            ).fetchone()
            if row is None:
                return None
            found = SILENCE.decode(row)
            if found.ends_at <= now:
                return None
            ends = max(now, found.starts_at)
            db.execute(
                f"UPDATE alert_silences SET ends_at = {m}, ended_by = {m} WHERE id = {m}",
                (ends, by, silence_id),
            )
            return replace(found, ends_at=ends, ended_by=by)

        return self._sql.run(None, end)

    def close(self) -> None:
        self._sql.close()
