"""``PromptStoreConformance``: the shared suite every ``PromptStore`` passes.

Subclass it in a backend's test module and implement ``make_store`` (a fresh, empty
store that stamps times with ``clock``; the suite closes it after each test)::

    class TestMyPromptStore(PromptStoreConformance):
        def make_store(self, clock: Callable[[], float]) -> PromptStore:
            return MyPromptStore(..., clock=clock)

For fixtures (a temporary folder, a server), override the ``prompt_store`` fixture
instead (it may take the ``clock`` fixture) and yield the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ragline.errors import InputError, NotFoundError
from ragline.store._prompts import PromptStore, PromptVersion, content_version
from ragline.testing._conversation_conformance import UNICODE_TEXTS, FakeClock


def version_of(name: str, text: str, *, source: str = "prompts/test.md") -> PromptVersion:
    """A :class:`PromptVersion` of ``text`` (its version is the text's hash)."""
    return PromptVersion(name, content_version(text.encode("utf-8")), text, "jinja", source)


class PromptStoreConformance:
    """Behaviour every ``PromptStore`` must have. Subclasses implement ``make_store``."""

    def make_store(self, clock: Callable[[], float]) -> PromptStore:  # pragma: no cover
        raise NotImplementedError("subclasses return a fresh, empty PromptStore")

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def prompt_store(self, clock: FakeClock) -> Iterator[PromptStore]:
        store = self.make_store(clock)
        try:
            yield store
        finally:
            store.close()

    # -- versions ----------------------------------------------------------------------

    def test_is_a_prompt_store(self, prompt_store: PromptStore) -> None:
        assert isinstance(prompt_store, PromptStore)

    def test_a_version_is_kept_with_its_text(self, prompt_store: PromptStore) -> None:
        v = version_of("cite", "Answer {{ question }} from {{ context }}.")
        stored = prompt_store.add_version(v)
        assert (stored.name, stored.version, stored.text, stored.format, stored.source) == (
            v.name,
            v.version,
            v.text,
            "jinja",
            "prompts/test.md",
        )
        assert prompt_store.get_version("cite", v.version) == stored
        assert prompt_store.versions("cite") == [stored]
        assert prompt_store.versions("other") == []

    def test_adding_a_version_twice_keeps_the_first(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        first = prompt_store.add_version(version_of("cite", "one {{ question }}"))
        again = prompt_store.add_version(version_of("cite", "one {{ question }}"))
        assert again == first
        assert len(prompt_store.versions()) == 1

    def test_versions_are_listed_oldest_first(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        texts = ["v1 {{ question }}", "v2 {{ question }}", "v3 {{ question }}"]
        for text in texts:
            prompt_store.add_version(version_of("cite", text))
        prompt_store.add_version(version_of("other", "x {{ question }}"))
        assert [v.text for v in prompt_store.versions("cite")] == texts
        assert len(prompt_store.versions()) == 4

    def test_a_version_prefix_finds_it(self, prompt_store: PromptStore) -> None:
        v = prompt_store.add_version(version_of("cite", "prefix {{ question }}"))
        assert prompt_store.get_version("cite", v.version[:6]) == v
        assert prompt_store.get_version("cite", "0000") is None or v.version.startswith("0000")

    def test_unicode_text_round_trips(self, prompt_store: PromptStore) -> None:
        for i, text in enumerate(UNICODE_TEXTS):
            v = prompt_store.add_version(version_of(f"u{i}", text))
            assert prompt_store.get_version(f"u{i}", v.version) == v
            assert v.text == text

    def test_a_version_that_is_not_its_texts_hash_is_refused(
        self, prompt_store: PromptStore
    ) -> None:
        forged = PromptVersion("cite", "abcdef123456", "some text", "jinja", "x")
        with pytest.raises(InputError, match="not the hash"):
            prompt_store.add_version(forged)
        assert prompt_store.versions() == []

    @pytest.mark.parametrize("name", ["", "has space", "../up", "x" * 200, "-dash"])
    def test_bad_names_are_refused(self, prompt_store: PromptStore, name: str) -> None:
        with pytest.raises(InputError, match="prompt name"):
            prompt_store.add_version(version_of(name, "text"))
        assert prompt_store.versions() == []

    def test_bad_versions_are_refused(self, prompt_store: PromptStore) -> None:
        for bad in ("", "xyz", "ab", "ABCDEF"):
            with pytest.raises(InputError, match="version"):
                prompt_store.get_version("cite", bad)

    def test_nul_in_text_is_refused(self, prompt_store: PromptStore) -> None:
        with pytest.raises(InputError, match="NUL"):
            prompt_store.add_version(version_of("cite", "a\x00b"))
        assert prompt_store.versions() == []

    # -- labels ------------------------------------------------------------------------

    def _two(self, store: PromptStore, clock: FakeClock) -> tuple[str, str, str]:
        out = []
        for text in ("one {{ question }}", "two {{ question }}", "three {{ question }}"):
            out.append(store.add_version(version_of("cite", text)).version)
        return out[0], out[1], out[2]

    def test_a_label_points_at_a_version_per_tenant(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        v1, v2, _ = self._two(prompt_store, clock)
        assert prompt_store.label("acme", "cite", "production") is None
        event = prompt_store.set_label("acme", "cite", "production", v1, actor="ops")
        assert (event.version, event.action, event.actor) == (v1, "set", "ops")
        prompt_store.set_label("beta-co", "cite", "production", v2)
        assert prompt_store.label("acme", "cite", "production") == v1
        assert prompt_store.label("beta-co", "cite", "production") == v2
        assert prompt_store.label("other", "cite", "production") is None
        assert [(x.name, x.label, x.version) for x in prompt_store.labels("acme")] == [
            ("cite", "production", v1)
        ]

    def test_labels_take_a_version_prefix(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        v1, _, _ = self._two(prompt_store, clock)
        assert prompt_store.set_label("acme", "cite", "beta", v1[:8]).version == v1
        assert prompt_store.label("acme", "cite", "beta") == v1

    def test_labelling_an_unknown_version_is_refused(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        v1, _, _ = self._two(prompt_store, clock)
        prompt_store.set_label("acme", "cite", "production", v1)
        with pytest.raises(NotFoundError, match="no version"):
            prompt_store.set_label("acme", "cite", "production", "ffffffffffff")
        with pytest.raises(NotFoundError, match="no version"):
            prompt_store.set_label("acme", "missing", "production", v1)
        assert prompt_store.label("acme", "cite", "production") == v1  # nothing lost

    def test_rollback_undoes_moves_in_order(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        v1, v2, v3 = self._two(prompt_store, clock)
        for v in (v1, v2, v3):
            prompt_store.set_label("acme", "cite", "production", v)
        assert prompt_store.rollback("acme", "cite", "production").version == v2
        assert prompt_store.rollback("acme", "cite", "production").version == v1
        assert prompt_store.label("acme", "cite", "production") == v1
        with pytest.raises(InputError, match="no earlier version"):
            prompt_store.rollback("acme", "cite", "production")
        assert prompt_store.label("acme", "cite", "production") == v1
        history = prompt_store.history("acme", "cite", "production")
        assert [(e.action, e.version) for e in history] == [
            ("set", v1),
            ("set", v2),
            ("set", v3),
            ("rollback", v2),
            ("rollback", v1),
        ]

    def test_rollback_of_an_unset_label_is_refused(self, prompt_store: PromptStore) -> None:
        with pytest.raises(NotFoundError, match="never set"):
            prompt_store.rollback("acme", "cite", "production")

    def test_rollback_stays_in_its_tenant(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        v1, v2, _ = self._two(prompt_store, clock)
        for tenant in ("a", "b"):
            prompt_store.set_label(tenant, "cite", "production", v1)
            prompt_store.set_label(tenant, "cite", "production", v2)
        prompt_store.rollback("a", "cite", "production")
        assert prompt_store.label("a", "cite", "production") == v1
        assert prompt_store.label("b", "cite", "production") == v2
        assert len(prompt_store.history("b", "cite")) == 2

    def test_concurrent_rollbacks_each_undo_one_move(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        v1, v2, v3 = self._two(prompt_store, clock)
        v4 = prompt_store.add_version(version_of("cite", "four {{ question }}")).version
        for v in (v1, v2, v3, v4):
            prompt_store.set_label("acme", "cite", "production", v)
        got = _at_once(prompt_store, [lambda s: s.rollback("acme", "cite", "production")] * 4)
        # three moves to undo: three rollbacks land on v3, v2, v1 (none lost, none twice)
        assert sorted(e.version for e in got if not isinstance(e, Exception)) == sorted(
            [v1, v2, v3]
        )
        assert sum(isinstance(e, InputError) for e in got) == 1  # nothing earlier than v1
        assert prompt_store.label("acme", "cite", "production") == v1

    def test_a_rollback_racing_a_move_never_computes_from_a_stale_history(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        v1, v2, v3 = self._two(prompt_store, clock)
        for round_ in range(6):
            label = f"race{round_}"
            for v in (v1, v2):
                prompt_store.set_label("acme", "cite", label, v)

            def move(store: PromptStore, x: str = label) -> object:
                return store.set_label("acme", "cite", x, v3)

            def undo(store: PromptStore, x: str = label) -> object:
                return store.rollback("acme", "cite", x)

            moved, back = _at_once(prompt_store, [move, undo])
            assert not isinstance(moved, Exception) and not isinstance(back, Exception)
            order = [e.action for e in prompt_store.history("acme", "cite", label)][2:]
            if order == ["set", "rollback"]:  # the move first: the rollback undoes it
                assert back.version == v2
                assert prompt_store.label("acme", "cite", label) == v2
            else:  # the rollback first (to v1), then the move on top of it
                assert order == ["rollback", "set"] and back.version == v1
                assert prompt_store.label("acme", "cite", label) == v3

    def test_bad_labels_and_tenants_are_refused(
        self, prompt_store: PromptStore, clock: FakeClock
    ) -> None:
        v1, _, _ = self._two(prompt_store, clock)
        with pytest.raises(InputError, match="label"):
            prompt_store.set_label("acme", "cite", "has space", v1)
        with pytest.raises(InputError, match="tenant"):
            prompt_store.set_label("", "cite", "production", v1)
        with pytest.raises(InputError, match="NUL"):
            prompt_store.set_label("ac\x00me", "cite", "production", v1)
        assert prompt_store.labels("acme") == []


def _at_once(store: PromptStore, calls: list[Callable[[PromptStore], object]]) -> list[Any]:
    """Run each call on its own thread, all released together; results (or the errors
    they raised) in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def one(i: int) -> None:
        barrier.wait()
        try:
            out[i] = calls[i](store)
        except Exception as e:
            out[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out
