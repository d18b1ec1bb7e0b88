"""``ConversationStoreConformance``: the shared suite every ``ConversationStore`` passes.

Subclass it in a backend's test module and implement ``make_store`` (a fresh, empty
store that stamps times with ``clock``; the suite closes it after each test)::

    class TestMyConversationStore(ConversationStoreConformance):
        def make_store(self, clock: Callable[[], float]) -> ConversationStore:
            return MyConversationStore(..., clock=clock)

For fixtures (a temporary folder, a server), override the ``conversation_store``
fixture instead (it may take the ``clock`` fixture) and yield the store.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ragline.errors import InputError, NotFoundError, StoreError
from ragline.store._conversations import Conversation, ConversationStore

T0 = 1_764_000_000.0  # 2025-11-24, a fixed epoch so tests never read the clock

UNICODE_TEXTS = [
    "Wie lange gilt die Garantie? Ünïcödé ß",
    "保修期是多久？",
    "ما هي مدة الضمان؟",  # right-to-left
    "e\u0301 (combining) · emoji 🎉👩‍👩‍👧 · zero-width\u200bspace",
    "line 1\nline 2\t\"quoted\" 'single' \\backslash",
    "",
]


class FakeClock:
    """A thread-safe clock that moves 1 ms forward on every read, from ``T0``."""

    def __init__(self, start: float = T0, step: float = 0.001) -> None:
        self._now = start
        self._step = step
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._now += self._step
            return self._now


def _snapshot(store: ConversationStore, tenant: str) -> list[tuple[Conversation, list[Any]]]:
    return [(c, store.turns(tenant, c.id)) for c in store.list_conversations(tenant, limit=1_000)]


class ConversationStoreConformance:
    """Behaviour every ``ConversationStore`` must have. Subclasses implement ``make_store``."""

    def make_store(self, clock: Callable[[], float]) -> ConversationStore:  # pragma: no cover
        raise NotImplementedError("subclasses return a fresh, empty ConversationStore")

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def conversation_store(self, clock: FakeClock) -> Iterator[ConversationStore]:
        store = self.make_store(clock)
        try:
            yield store
        finally:
            store.close()

    # -- conversations -----------------------------------------------------------------

    def test_is_a_conversation_store(self, conversation_store: ConversationStore) -> None:
        assert isinstance(conversation_store, ConversationStore)

    def test_create_and_get(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        c = s.create_conversation("acme", title="Warranty", metadata={"channel": "web", "n": 1})
        assert len(c.id) == 32 and all(ch in "0123456789abcdef" for ch in c.id)
        assert (c.tenant, c.title, c.turns, c.metadata) == (
            "acme",
            "Warranty",
            0,
            {"channel": "web", "n": 1},
        )
        assert c.created_at == c.updated_at
        assert s.get_conversation("acme", c.id) == c
        other = s.create_conversation("acme")
        assert other.id != c.id and other.title == "" and other.metadata == {}

    def test_chosen_id_and_duplicate(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        c = s.create_conversation("acme", conversation_id="support-42", title="first")
        s.append_turn("acme", c.id, "user", "hello")
        with pytest.raises(StoreError, match="already exists"):
            s.create_conversation("acme", conversation_id="support-42", title="second")
        kept = s.get_conversation("acme", "support-42")
        assert kept is not None and kept.title == "first" and kept.turns == 1
        assert [t.content for t in s.turns("acme", "support-42")] == ["hello"]

    def test_same_id_in_two_tenants_are_two_conversations(
        self, conversation_store: ConversationStore
    ) -> None:
        s = conversation_store
        s.create_conversation("acme", conversation_id="c1", title="acme's")
        s.create_conversation("globex", conversation_id="c1", title="globex's")
        s.append_turn("acme", "c1", "user", "acme question")
        a, g = s.get_conversation("acme", "c1"), s.get_conversation("globex", "c1")
        assert a is not None and g is not None
        assert (a.title, a.turns, g.title, g.turns) == ("acme's", 1, "globex's", 0)
        assert s.turns("globex", "c1") == []

    # -- turns -------------------------------------------------------------------------

    def test_turns_round_trip_in_order(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        c = s.create_conversation("acme")
        cites = [{"chunk_id": "doc#0", "document_id": "doc", "score": 0.5, "page": None}]
        t0 = s.append_turn("acme", c.id, "user", "How long is the warranty?")
        t1 = s.append_turn(
            "acme", c.id, "assistant", "Two years [1].", trace_id="a" * 32, citations=cites
        )
        t2 = s.append_turn("acme", c.id, "user", "And for batteries?")
        assert [t.index for t in (t0, t1, t2)] == [0, 1, 2]
        got = s.turns("acme", c.id)
        assert got == [t0, t1, t2]
        assert [t.role for t in got] == ["user", "assistant", "user"]
        assert got[1].trace_id == "a" * 32 and got[1].citations == cites
        assert got[0].trace_id is None and got[0].citations == []
        assert all(t.conversation_id == c.id for t in got)
        assert got[0].created_at <= got[1].created_at <= got[2].created_at

    def test_append_updates_the_conversation(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        c = s.create_conversation("acme")
        t = s.append_turn("acme", c.id, "user", "hi")
        after = s.get_conversation("acme", c.id)
        assert after is not None
        assert after.turns == 1 and after.updated_at == t.created_at > c.created_at
        assert after.created_at == c.created_at

    def test_last_n_turns(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        c = s.create_conversation("acme")
        for i in range(5):
            s.append_turn("acme", c.id, "user" if i % 2 == 0 else "assistant", f"turn {i}")
        assert [t.index for t in s.turns("acme", c.id, last=2)] == [3, 4]
        assert [t.content for t in s.turns("acme", c.id, last=1)] == ["turn 4"]
        assert len(s.turns("acme", c.id, last=50)) == 5
        assert s.turns("acme", c.id, last=0) == []
        with pytest.raises(InputError, match="last"):
            s.turns("acme", c.id, last=-1)
        assert s.turns("acme", "unknown", last=3) == []

    # -- listing -----------------------------------------------------------------------

    def test_list_most_recently_updated_first(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        ids = [s.create_conversation("acme", title=f"c{i}").id for i in range(4)]
        assert [c.id for c in s.list_conversations("acme")] == ids[::-1]
        s.append_turn("acme", ids[0], "user", "bump the oldest")
        listed = s.list_conversations("acme")
        assert [c.id for c in listed] == [ids[0], ids[3], ids[2], ids[1]]
        assert listed[0].turns == 1
        assert [c.id for c in s.list_conversations("acme", limit=2)] == [ids[0], ids[3]]
        assert s.list_conversations("acme", limit=0) == []
        assert s.list_conversations("nobody") == []

    # -- tenants -----------------------------------------------------------------------

    def test_another_tenants_id_is_unknown(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        c = s.create_conversation("acme", title="secret")
        s.append_turn("acme", c.id, "user", "acme's question")
        before = _snapshot(s, "acme")

        assert s.get_conversation("globex", c.id) is None
        assert s.turns("globex", c.id) == []
        assert s.turns("globex", c.id, last=1) == []
        assert s.list_conversations("globex") == []
        with pytest.raises(NotFoundError):
            s.append_turn("globex", c.id, "user", "sneaky")
        assert s.delete_conversation("globex", c.id) is False

        assert _snapshot(s, "acme") == before  # nothing changed or lost

    # -- unknown ids -------------------------------------------------------------------

    def test_unknown_ids(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        s.create_conversation("acme", conversation_id="real")
        for cid in ("nope", "", "x" * 1000, "'; DROP TABLE conversations; --", "ü🎉"):
            assert s.get_conversation("acme", cid) is None
            assert s.turns("acme", cid) == []
            assert s.delete_conversation("acme", cid) is False
            with pytest.raises(NotFoundError, match="no conversation") as e:
                s.append_turn("acme", cid, "user", "hello")
            assert e.value.hint
        assert [c.id for c in s.list_conversations("acme")] == ["real"]
        assert s.turns("acme", "real") == []

    # -- delete ------------------------------------------------------------------------

    def test_delete(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        gone = s.create_conversation("acme", conversation_id="gone")
        kept = s.create_conversation("acme", conversation_id="kept")
        for cid in (gone.id, kept.id):
            s.append_turn("acme", cid, "user", f"question in {cid}")
        assert s.delete_conversation("acme", "gone") is True
        assert s.delete_conversation("acme", "gone") is False
        assert s.get_conversation("acme", "gone") is None
        assert s.turns("acme", "gone") == []
        assert [c.id for c in s.list_conversations("acme")] == ["kept"]
        assert [t.content for t in s.turns("acme", "kept")] == ["question in kept"]
        with pytest.raises(NotFoundError):
            s.append_turn("acme", "gone", "user", "too late")
        again = s.create_conversation("acme", conversation_id="gone")  # the id is free again
        assert again.turns == 0
        assert s.append_turn("acme", "gone", "user", "fresh start").index == 0

    # -- concurrency -------------------------------------------------------------------

    def test_concurrent_appends_never_collide(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        c = s.create_conversation("acme")
        threads_n, per_thread = 6, 15
        errors: list[BaseException] = []
        indexes: list[int] = []
        barrier = threading.Barrier(threads_n)

        def write(n: int) -> None:
            try:
                barrier.wait()
                for i in range(per_thread):
                    turn = s.append_turn("acme", c.id, "user", f"t{n}-{i}")
                    indexes.append(turn.index)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        total = threads_n * per_thread
        assert sorted(indexes) == list(range(total))
        stored = s.turns("acme", c.id)
        assert [t.index for t in stored] == list(range(total))
        assert sorted(t.content for t in stored) == sorted(
            f"t{n}-{i}" for n in range(threads_n) for i in range(per_thread)
        )
        for n in range(threads_n):  # each writer's turns are in the order it wrote them
            mine = [t.content for t in stored if t.content.startswith(f"t{n}-")]
            assert mine == [f"t{n}-{i}" for i in range(per_thread)]
        after = s.get_conversation("acme", c.id)
        assert after is not None and after.turns == total

    # -- unicode -----------------------------------------------------------------------

    def test_unicode_round_trips_exactly(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        meta = {"名前": "ñandú", "nested": {"emoji": "🎉", "list": [1, 2.5, True, None]}}
        c = s.create_conversation("tenant-ü", title="Garantie 保修 🎉", metadata=meta)
        cites = [{"quote": text, "chunk_id": f"doc#{i}"} for i, text in enumerate(UNICODE_TEXTS)]
        for text in UNICODE_TEXTS:
            s.append_turn("tenant-ü", c.id, "user", text)
        s.append_turn("tenant-ü", c.id, "assistant", "ok", citations=cites)
        got = s.get_conversation("tenant-ü", c.id)
        assert got is not None and got.title == "Garantie 保修 🎉" and got.metadata == meta
        turns = s.turns("tenant-ü", c.id)
        assert [t.content for t in turns[:-1]] == UNICODE_TEXTS
        assert turns[-1].citations == cites

    # -- bad input ---------------------------------------------------------------------

    def test_bad_turns_are_clear_errors_and_store_nothing(
        self, conversation_store: ConversationStore
    ) -> None:
        s = conversation_store
        c = s.create_conversation("acme")
        s.append_turn("acme", c.id, "user", "the only good turn")
        before = _snapshot(s, "acme")
        bad: list[tuple[dict[str, Any], str]] = [
            ({"role": "system", "content": "x"}, "unknown role 'system'"),
            ({"role": "user", "content": 42}, "content must be a string"),
            ({"role": "user", "content": None}, "content must be a string"),
            ({"role": "user", "content": "nul \x00 char"}, "NUL"),
            ({"role": "user", "content": "lone \ud800 surrogate"}, "not valid Unicode"),
            ({"role": "user", "content": "x", "citations": {"a": 1}}, "list of JSON objects"),
            ({"role": "user", "content": "x", "citations": ["doc#0"]}, "list of JSON objects"),
            ({"role": "user", "content": "x", "citations": [{"s": {1, 2}}]}, "JSON"),
            ({"role": "user", "content": "x", "citations": [{"v": math.nan}]}, "JSON"),
            ({"role": "user", "content": "x", "citations": [{"v": "\x00"}]}, "NUL"),
            ({"role": "user", "content": "x", "trace_id": 7}, "trace_id must be a string"),
        ]
        for kwargs, message in bad:
            role, content = kwargs.pop("role"), kwargs.pop("content")
            with pytest.raises(InputError, match=message):
                s.append_turn("acme", c.id, role, content, **kwargs)
        assert _snapshot(s, "acme") == before
        assert s.append_turn("acme", c.id, "assistant", "still works").index == 1

    def test_bad_conversations_are_clear_errors_and_store_nothing(
        self, conversation_store: ConversationStore
    ) -> None:
        s = conversation_store
        bad: list[tuple[str, dict[str, Any], str]] = [
            ("", {}, "tenant must be a non-empty string"),
            ("acme", {"conversation_id": ""}, "non-empty string"),
            ("acme", {"conversation_id": "has space"}, "invalid conversation id"),
            ("acme", {"conversation_id": "-leading"}, "invalid conversation id"),
            ("acme", {"conversation_id": "x" * 129}, "invalid conversation id"),
            ("acme", {"title": 5}, "title must be a string"),
            ("acme", {"title": "nul\x00"}, "NUL"),
            ("acme", {"metadata": ["not", "a", "dict"]}, "metadata must be a dict"),
            ("acme", {"metadata": {"when": object()}}, "not JSON-serialisable"),
            ("acme", {"metadata": {1: "int key"}}, "keys must be strings"),
            ("acme", {"metadata": {"x": math.inf}}, "not JSON-serialisable"),
        ]
        for tenant, kwargs, message in bad:
            with pytest.raises(InputError, match=message) as e:
                s.create_conversation(tenant, **kwargs)
            assert str(e.value)
        assert s.list_conversations("acme") == []
        assert s.list_conversations("") == []
        ok = s.create_conversation("acme", conversation_id="A1.b_c:d-e" + "x" * 118)
        assert len(ok.id) == 128

    def test_returned_objects_are_copies(self, conversation_store: ConversationStore) -> None:
        s = conversation_store
        meta: dict[str, Any] = {"tags": ["a"]}
        c = s.create_conversation("acme", metadata=meta)
        meta["tags"].append("mutated by the caller")
        c.metadata["tags"].append("mutated via the result")
        cites: list[dict[str, Any]] = [{"chunk_id": "d#0"}]
        t = s.append_turn("acme", c.id, "assistant", "x", citations=cites)
        cites[0]["chunk_id"] = "changed"
        t.citations.append({"chunk_id": "added"})
        got = s.get_conversation("acme", c.id)
        assert got is not None and got.metadata == {"tags": ["a"]}
        assert s.turns("acme", c.id)[0].citations == [{"chunk_id": "d#0"}]
