"""Feedback on traces: the Python API behind ``ragline feedback add``."""

from __future__ import annotations

import pytest

from ragline.errors import InputError
from ragline.store.memory import MemoryTraceStore
from ragline.testing._trace_conformance import T0, make_trace, tid
from ragline.trace._feedback import (
    MAX_NOTE_CHARS,
    add_feedback,
    check_kind,
    find_trace,
    resolve_trace_id,
)


@pytest.fixture
def store() -> MemoryTraceStore:
    s = MemoryTraceStore()
    s.write_spans(make_trace(1, tenant="acme"))
    s.write_spans(make_trace(2, start=T0 + 10))
    return s


def test_feedback_is_linked_to_the_trace_and_its_tenant(store: MemoryTraceStore) -> None:
    fb = add_feedback(store, tid(1), "hallucination", "  battery is 2 years, not 5  ")
    assert (fb.trace_id, fb.tenant, fb.kind) == (tid(1), "acme", "hallucination")
    assert fb.note == "battery is 2 years, not 5"
    assert store.list_feedback(tenant="acme") == [fb]
    assert store.list_feedback(tenant="default") == []


def test_each_feedback_gets_its_own_id(store: MemoryTraceStore) -> None:
    a = add_feedback(store, tid(2), "good")
    b = add_feedback(store, tid(2), "good")
    assert a.id != b.id
    assert len(store.list_feedback(trace_id=tid(2))) == 2
    assert a.note is None


def test_a_unique_prefix_names_the_trace(store: MemoryTraceStore) -> None:
    prefix = tid(2)[:12]  # 0000…0002 vs 0000…0001: differ only at the end
    with pytest.raises(InputError, match="matches 2 traces"):
        add_feedback(store, prefix, "good")
    store.write_spans(make_trace(0xABCDEF12 << 96))
    full = tid(0xABCDEF12 << 96)
    fb = add_feedback(store, full[:8], "irrelevant")
    assert fb.trace_id == full
    assert resolve_trace_id(store, full[:10].upper()) == full


def test_unknown_kind_is_refused_and_nothing_is_stored(store: MemoryTraceStore) -> None:
    with pytest.raises(InputError) as e:
        add_feedback(store, tid(1), "halucination")
    assert "unknown feedback kind 'halucination'" in str(e.value)
    assert "hallucination, wrong_citation, irrelevant, good" in str(e.value)
    assert store.list_feedback() == []


def test_kind_spelled_with_a_hyphen_is_accepted() -> None:
    assert check_kind("Wrong-Citation") == "wrong_citation"


@pytest.mark.parametrize("bad", [tid(99), "f" * 32, "not a trace", "12345678"])
def test_unknown_trace_is_refused_and_nothing_is_stored(store: MemoryTraceStore, bad: str) -> None:
    with pytest.raises(InputError) as e:
        add_feedback(store, bad, "good")
    assert f"no trace {bad!r}" in str(e.value)
    assert "ragline traces list" in str(e.value)
    assert store.list_feedback() == []


def test_short_prefix_is_refused(store: MemoryTraceStore) -> None:
    with pytest.raises(InputError, match="too short"):
        find_trace(store, "0000")


def test_another_tenants_trace_is_not_found(store: MemoryTraceStore) -> None:
    with pytest.raises(InputError, match="for tenant 'default'"):
        add_feedback(store, tid(1), "good", tenant="default")
    assert store.list_feedback() == []


def test_overlong_note_is_refused(store: MemoryTraceStore) -> None:
    with pytest.raises(InputError, match="note"):
        add_feedback(store, tid(1), "good", "x" * (MAX_NOTE_CHARS + 1))
    assert store.list_feedback() == []
