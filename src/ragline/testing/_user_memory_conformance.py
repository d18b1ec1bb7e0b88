"""``UserMemoryStoreConformance``: the shared suite every ``UserMemoryStore`` passes.

Subclass it in a backend's test module and implement ``make_store`` (a fresh, empty
store that stamps times with ``clock``; the suite closes it after each test)::

    class TestMyUserMemoryStore(UserMemoryStoreConformance):
        def make_store(self, clock: Callable[[], float]) -> UserMemoryStore:
            return MyUserMemoryStore(..., clock=clock)

For fixtures (a temporary folder, a server), override the ``memory_store`` fixture
instead (it may take the ``clock`` fixture) and yield the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from ragline.errors import InputError
from ragline.store._user_memory import MemoryEntry, UserMemoryStore
from ragline.testing._conversation_conformance import UNICODE_TEXTS, FakeClock

EMBEDDER = "test-embedder"
DIM = 8


def unit(*hot: float) -> np.ndarray:
    """A vector of ``DIM`` values starting with ``hot`` (the rest zero)."""
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(hot)] = hot
    return v


def entry(text: str, *hot: float, kind: str = "fact", embedder: str = EMBEDDER) -> MemoryEntry:
    return MemoryEntry(text=text, vector=unit(*(hot or (1.0,))), embedder=embedder, kind=kind)


class UserMemoryStoreConformance:
    """Behaviour every ``UserMemoryStore`` must have. Subclasses implement ``make_store``."""

    def make_store(self, clock: Callable[[], float]) -> UserMemoryStore:  # pragma: no cover
        raise NotImplementedError("subclasses return a fresh, empty UserMemoryStore")

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def memory_store(self, clock: FakeClock) -> Iterator[UserMemoryStore]:
        store = self.make_store(clock)
        try:
            yield store
        finally:
            store.close()

    # -- add, get, count ---------------------------------------------------------------

    def test_is_a_user_memory_store(self, memory_store: UserMemoryStore) -> None:
        assert isinstance(memory_store, UserMemoryStore)

    def test_add_returns_the_stored_items(self, memory_store: UserMemoryStore) -> None:
        s = memory_store
        e = MemoryEntry(
            text="Order 1042: replacement battery promised",
            vector=unit(1, 0),
            embedder=EMBEDDER,
            kind="commitment",
            conversation_id="c1",
            metadata={"order": "1042", "nested": {"a": [1, 2]}},
        )
        (item,) = s.add("acme", "u1", [e])
        assert len(item.id) == 32 and item.tenant == "acme" and item.user == "u1"
        assert (item.kind, item.conversation_id, item.embedder) == ("commitment", "c1", EMBEDDER)
        got = s.get("acme", "u1", item.id)
        assert got == item
        assert got is not None and got.metadata == {"order": "1042", "nested": {"a": [1, 2]}}
        assert s.count("acme", "u1") == 1 and s.count("acme") == 1

    def test_unicode_survives(self, memory_store: UserMemoryStore) -> None:
        texts = [t for t in UNICODE_TEXTS if t.strip()]
        items = memory_store.add("acme", "ü-1", [entry(t) for t in texts])
        assert [memory_store.get("acme", "ü-1", i.id).text for i in items] == texts  # type: ignore[union-attr]

    def test_add_nothing_is_a_no_op(self, memory_store: UserMemoryStore) -> None:
        assert memory_store.add("acme", "u1", []) == []
        assert memory_store.count("acme") == 0

    @pytest.mark.parametrize(
        "bad",
        [
            MemoryEntry(text="", vector=unit(1), embedder=EMBEDDER),
            MemoryEntry(text="   ", vector=unit(1), embedder=EMBEDDER),
            MemoryEntry(text="nul\x00byte", vector=unit(1), embedder=EMBEDDER),
            MemoryEntry(text="lone \ud800 surrogate", vector=unit(1), embedder=EMBEDDER),
            MemoryEntry(text="zeros", vector=np.zeros(DIM), embedder=EMBEDDER),
            MemoryEntry(text="nan", vector=np.array([np.nan] * DIM), embedder=EMBEDDER),
            MemoryEntry(text="matrix", vector=np.ones((2, DIM)), embedder=EMBEDDER),
            MemoryEntry(text="empty", vector=np.zeros(0), embedder=EMBEDDER),
            MemoryEntry(text="x" * 20_001, vector=unit(1), embedder=EMBEDDER),
            MemoryEntry(text="kind", vector=unit(1), embedder=EMBEDDER, kind=""),
        ],
        ids=["empty", "blank", "nul", "surrogate", "zeros", "nan", "2d", "0d", "long", "kind"],
    )
    def test_a_bad_entry_stores_nothing(
        self, memory_store: UserMemoryStore, bad: MemoryEntry
    ) -> None:
        s = memory_store
        s.add("acme", "u1", [entry("kept")])
        with pytest.raises(InputError):
            s.add("acme", "u1", [entry("first of the batch"), bad])
        assert [i.text for i in s.list_items("acme", "u1").items] == ["kept"]

    @pytest.mark.parametrize("user", ["", "   ", "a\x00b", "x" * 257, None, 7])
    def test_a_bad_user_is_refused(self, memory_store: UserMemoryStore, user: object) -> None:
        with pytest.raises(InputError, match="user"):
            memory_store.add("acme", user, [entry("x")])  # type: ignore[arg-type]
        with pytest.raises(InputError, match="user"):
            memory_store.forget_user("acme", user)  # type: ignore[arg-type]
        assert memory_store.count("acme") == 0

    def test_a_bad_tenant_is_refused(self, memory_store: UserMemoryStore) -> None:
        with pytest.raises(InputError, match="tenant"):
            memory_store.add("", "u1", [entry("x")])

    # -- search ------------------------------------------------------------------------

    def test_search_ranks_by_cosine(self, memory_store: UserMemoryStore) -> None:
        s = memory_store
        s.add("acme", "u1", [entry("east", 1, 0), entry("north", 0, 1), entry("ne", 1, 1)])
        hits = s.search("acme", "u1", unit(1, 0.1), embedder=EMBEDDER, k=3)
        assert [h.item.text for h in hits] == ["east", "ne", "north"]
        assert hits[0].score == pytest.approx(1 / np.sqrt(1.01), abs=1e-5)
        assert hits[0].score >= hits[1].score >= hits[2].score
        assert [
            h.item.text for h in s.search("acme", "u1", unit(0, 1), embedder=EMBEDDER, k=1)
        ] == ["north"]

    def test_search_is_bounded_by_k(self, memory_store: UserMemoryStore) -> None:
        s = memory_store
        s.add("acme", "u1", [entry(f"m{i}", 1, i / 10) for i in range(7)])
        assert len(s.search("acme", "u1", unit(1), embedder=EMBEDDER, k=3)) == 3
        assert s.search("acme", "u1", unit(1), embedder=EMBEDDER, k=0) == []
        assert len(s.search("acme", "u1", unit(1), embedder=EMBEDDER, k=100)) == 7

    def test_search_skips_other_embedders_and_dimensions(
        self, memory_store: UserMemoryStore
    ) -> None:
        s = memory_store
        s.add("acme", "u1", [entry("mine", 1), entry("old model", 1, embedder="other")])
        s.add("acme", "u1", [MemoryEntry(text="short", vector=np.ones(3), embedder=EMBEDDER)])
        hits = s.search("acme", "u1", unit(1), embedder=EMBEDDER, k=5)
        assert [h.item.text for h in hits] == ["mine"]

    def test_search_refuses_a_bad_query_vector(self, memory_store: UserMemoryStore) -> None:
        with pytest.raises(InputError, match="query vector"):
            memory_store.search("acme", "u1", np.zeros(DIM), embedder=EMBEDDER)

    # -- isolation ---------------------------------------------------------------------

    def test_users_and_tenants_are_isolated(self, memory_store: UserMemoryStore) -> None:
        s = memory_store
        (a1,) = s.add("acme", "u1", [entry("acme u1 secret", 1)])
        (a2,) = s.add("acme", "u2", [entry("acme u2 secret", 1)])
        (g1,) = s.add("globex", "u1", [entry("globex u1 secret", 1)])
        for tenant, user, own in (("acme", "u1", a1), ("acme", "u2", a2), ("globex", "u1", g1)):
            hits = s.search(tenant, user, unit(1), embedder=EMBEDDER, k=10)
            assert [h.item.id for h in hits] == [own.id]
            assert [i.id for i in s.list_items(tenant, user).items] == [own.id]
            assert s.count(tenant, user) == 1
        # another user's or tenant's id is unknown: not readable, not deletable
        assert s.get("acme", "u2", a1.id) is None
        assert s.get("globex", "u1", a1.id) is None
        assert s.forget("acme", "u2", a1.id) is False
        assert s.forget("globex", "u1", a1.id) is False
        assert s.get("acme", "u1", a1.id) == a1
        assert s.count("acme") == 2 and s.count("globex") == 1

    def test_forget_user_leaves_other_users_and_tenants(
        self, memory_store: UserMemoryStore
    ) -> None:
        s = memory_store
        s.add("acme", "u1", [entry(f"u1 {i}") for i in range(5)])
        s.add("acme", "u2", [entry("u2 keeps this")])
        s.add("globex", "u1", [entry("globex u1 keeps this")])
        assert s.forget_user("acme", "u1") == 5
        assert s.count("acme", "u1") == 0
        assert s.list_items("acme", "u1").items == []
        assert s.search("acme", "u1", unit(1), embedder=EMBEDDER) == []
        assert [i.text for i in s.list_items("acme", "u2").items] == ["u2 keeps this"]
        assert [i.text for i in s.list_items("globex", "u1").items] == ["globex u1 keeps this"]
        assert s.forget_user("acme", "u1") == 0  # again: nothing left, no error

    def test_forget_one(self, memory_store: UserMemoryStore) -> None:
        s = memory_store
        a, b = s.add("acme", "u1", [entry("a"), entry("b")])
        assert s.forget("acme", "u1", a.id) is True
        assert s.forget("acme", "u1", a.id) is False
        assert s.forget("acme", "u1", "no\x00such") is False
        assert [i.id for i in s.list_items("acme", "u1").items] == [b.id]

    # -- listing -----------------------------------------------------------------------

    def test_list_pages_newest_first_without_gaps(self, memory_store: UserMemoryStore) -> None:
        s = memory_store
        for i in range(7):  # one add per item: each gets a later time
            s.add("acme", "u1", [entry(f"m{i}")])
        s.add("acme", "u1", [entry("same time a"), entry("same time b")])  # ties on time
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = s.list_items("acme", "u1", limit=3, cursor=cursor)
            seen += [i.text for i in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert pages == 3
        assert sorted(seen[:2]) == ["same time a", "same time b"]
        assert seen[2:] == [f"m{i}" for i in range(6, -1, -1)]

    def test_list_refuses_bad_input(self, memory_store: UserMemoryStore) -> None:
        s = memory_store
        with pytest.raises(InputError, match="cursor"):
            s.list_items("acme", "u1", cursor="garbage")
        with pytest.raises(InputError, match="limit"):
            s.list_items("acme", "u1", limit=0)
        with pytest.raises(InputError, match="limit"):
            s.list_items("acme", "u1", limit=10_000)

    def test_created_at_comes_from_the_clock(
        self, memory_store: UserMemoryStore, clock: FakeClock
    ) -> None:
        before = clock()
        (item,) = memory_store.add("acme", "u1", [entry("x")])
        assert before < item.created_at < clock()
