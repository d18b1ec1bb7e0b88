"""``parse_when``: the ``--since/--until`` values of ``ragline traces`` and ``/traces``."""

from __future__ import annotations

from datetime import UTC


def test_parse_when_durations_and_times() -> None:
    from datetime import datetime

    from ragline._time import parse_when

    now = 1_800_000_000.0
    assert parse_when("90s", now=now) == now - 90
    assert parse_when("30m", now=now) == now - 1800
    assert parse_when("2h", now=now) == now - 7200
    assert parse_when("1.5d", now=now) == now - 1.5 * 86400
    assert parse_when("1w", now=now) == now - 7 * 86400
    utc = datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp()
    assert parse_when("2026-11-25T10:00Z") == utc
    assert parse_when("2026-11-25T11:00+01:00") == utc
    assert parse_when("2026-11-25T10:00") == datetime(2026, 11, 25, 10, 0).timestamp()
    assert parse_when("2026-11-25") == datetime(2026, 11, 25).timestamp()
