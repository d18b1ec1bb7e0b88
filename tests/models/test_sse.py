"""The SSE parser."""

from __future__ import annotations

from ragline.models._sse import SSEEvent, iter_sse


def test_events_comments_multiline_data_and_cut_off_tail() -> None:
    lines = [
        ": keep-alive",
        "event: ping",
        "data: {}",
        "",
        "data: line one",
        "data:line two\r",
        "id: 7",
        "",
        "",
        'data: {"cut',
    ]
    assert list(iter_sse(lines)) == [
        SSEEvent("ping", "{}"),
        SSEEvent(None, "line one\nline two"),
        SSEEvent(None, '{"cut', complete=False),
    ]
