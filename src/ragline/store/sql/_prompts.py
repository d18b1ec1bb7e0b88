"""``SQLPromptStore``: prompt versions and labels in SQL, for SQLite and PostgreSQL alike.

Two tables from migration ``0014_prompts`` of each backend: ``prompt_versions`` (one
row per ``(name, version)``, the whole text; project-wide like the evaluation runs,
so no row-level security) and ``prompt_label_events`` (every move of a label, per
tenant, in order of its ``seq``; on PostgreSQL under row-level security like the
conversation tables). A label's current version is its latest event's; nothing else
holds a copy that could drift.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ragline.store._prompts import BasePromptStore, Clock, LabelEvent, PromptVersion
from ragline.store._rows import Layout
from ragline.store.sql._dialect import Dialect, Statements

VERSION: Layout[PromptVersion] = Layout(
    PromptVersion, "name version text format source created_at", read={"created_at": float}
)
EVENT: Layout[LabelEvent] = Layout(
    LabelEvent, "tenant name label version action actor at", read={"at": float}
)


class SQLPromptStore(BasePromptStore):
    """Prompt versions and labels in a ragline SQL database, through ``sql``."""

    def __init__(self, sql: Dialect, *, clock: Clock | None = None) -> None:
        self._sql = sql
        self._clock = clock or time.time
        self._insert_sql = sql.insert_new("prompt_versions", VERSION.columns, ("name", "version"))
        self._event_sql = sql.insert("prompt_label_events", EVENT.columns)

    def _insert_version(self, version: PromptVersion) -> None:
        row = tuple(getattr(version, f) for f in VERSION.fields)
        self._sql.run(None, lambda db: db.execute(self._insert_sql, row))

    def _versions(self, name: str | None, prefix: str = "") -> list[PromptVersion]:
        m = self._sql.mark
        where: list[str] = []
        params: list[Any] = []
        if name is not None:
            where.append(f"name = {m}")
            params.append(name)
        if prefix:
            where.append(f"substr(version, 1, {m}) = {m}")
            params += [len(prefix), prefix]
        sql = f"SELECT {VERSION.select()} FROM prompt_versions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, name, version"
        return [VERSION.decode(r) for r in self._sql.fetch(None, sql, params)]

    def _events(self, tenant: str, name: str | None, label: str | None) -> list[LabelEvent]:
        if not self._sql.storable(tenant, name or "", label or ""):
            return []
        m = self._sql.mark
        sql = f"SELECT {EVENT.select()} FROM prompt_label_events WHERE tenant = {m}"
        params: list[Any] = [tenant]
        if name is not None:
            sql += f" AND name = {m}"
            params.append(name)
        if label is not None:
            sql += f" AND label = {m}"
            params.append(label)
        sql += " ORDER BY seq"
        return [EVENT.decode(r) for r in self._sql.fetch(tenant, sql, params)]

    def _move(
        self, tenant: str, name: str, label: str, decide: Callable[[list[LabelEvent]], LabelEvent]
    ) -> LabelEvent:
        m = self._sql.mark
        select = (
            f"SELECT {EVENT.select()} FROM prompt_label_events "
            f"WHERE tenant = {m} AND name = {m} AND label = {m} ORDER BY seq"
        )

        def work(db: Statements) -> LabelEvent:
            self._sql.lock(db, f"prompt-label\x1f{tenant}\x1f{name}\x1f{label}")
            rows = db.execute(select, (tenant, name, label)).fetchall()
            event = decide([EVENT.decode(r) for r in rows])
            db.execute(self._event_sql, tuple(getattr(event, f) for f in EVENT.fields))
            return event

        # not retried: after a lost connection the first attempt may have committed
        return self._sql.run(tenant, work, idempotent=False)

    def close(self) -> None:
        self._sql.close()
