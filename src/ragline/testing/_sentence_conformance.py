"""``SentenceStoreConformance``: the shared test suite every ``SentenceStore`` must pass.

Subclass it in a backend's test module and implement ``make_store`` (a fresh, empty
store; the suite closes it after each test)::

    class TestMySentenceStore(SentenceStoreConformance):
        def make_store(self) -> SentenceStore:
            return MySentenceStore(...)

For fixtures (a temporary folder, a server), override the ``sentence_store`` fixture
instead and yield the store.

What the extractive answerer relies on: a vector comes back bit for bit as float32;
a key that was never stored is absent (never an error); a tenant or an embedder never
sees another's vectors; ``put`` keeps the first vector of a key (a text's vector never
changes); ``get_many`` looks up any number of keys.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

from ragline.answer._sentence_vectors import sentence_key as key
from ragline.store._sentences import LOOKUP_BATCH, SentenceStore, get_many

EMB = "hash-8"
Vector = npt.NDArray[np.float32]


def vec(seed: int, dim: int = 8) -> Vector:
    """A deterministic unit vector."""
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    out: Vector = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def _bits(v: Vector) -> bytes:
    return np.asarray(v).tobytes()


class SentenceStoreConformance:
    """Behaviour every ``SentenceStore`` must have. Subclasses implement ``make_store``."""

    def make_store(self) -> SentenceStore:  # pragma: no cover - always overridden
        raise NotImplementedError("subclasses return a fresh, empty SentenceStore")

    @pytest.fixture
    def sentence_store(self) -> Iterator[SentenceStore]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    def test_is_a_sentence_store(self, sentence_store: SentenceStore) -> None:
        assert isinstance(sentence_store, SentenceStore)

    def test_a_stored_vector_comes_back_bit_for_bit(self, sentence_store: SentenceStore) -> None:
        s = sentence_store
        a, b = key("The fee is 5 euros."), key("Payment is due in 14 days.")
        s.put("acme", EMB, {a: vec(1), b: vec(2)})
        found = s.get("acme", EMB, [a, b, key("never stored")])
        assert set(found) == {a, b}
        assert found[a].dtype == np.float32 and found[a].shape == (8,)
        assert np.array_equal(found[a], vec(1)) and np.array_equal(found[b], vec(2))
        assert _bits(found[a]) == _bits(vec(1))
        assert s.count("acme", EMB) == 2

    def test_special_floats_and_any_key_bytes_round_trip(
        self, sentence_store: SentenceStore
    ) -> None:
        s = sentence_store
        special = np.array(
            [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -3.4028235e38, 1.0 / 3.0],
            dtype=np.float32,
        )
        keys = [bytes(16), b"\xff" * 16, bytes(range(16)), b"\x00" * 15 + b"\x01"]
        s.put("acme", EMB, {k: special if i == 0 else vec(i) for i, k in enumerate(keys)})
        found = s.get("acme", EMB, keys)
        assert set(found) == set(keys)
        assert _bits(found[keys[0]]) == _bits(special)  # -0.0, NaN, subnormal: exact bits
        for i, k in enumerate(keys[1:], start=1):
            assert _bits(found[k]) == _bits(vec(i))

    def test_a_float64_vector_is_stored_as_float32(self, sentence_store: SentenceStore) -> None:
        wide = np.array([0.1, 0.2, 1.0 / 3.0, 1e-8], dtype=np.float64)
        k = key("stored from float64")
        sentence_store.put("acme", EMB, {k: wide})  # type: ignore[dict-item]
        got = sentence_store.get("acme", EMB, [k])[k]
        assert got.dtype == np.float32
        assert _bits(got) == _bits(wide.astype(np.float32))

    def test_unknown_keys_are_absent(self, sentence_store: SentenceStore) -> None:
        s = sentence_store
        assert s.get("acme", EMB, [key("nothing stored yet")]) == {}
        s.put("acme", EMB, {key("stored"): vec(1)})
        assert s.get("acme", EMB, [key("other"), key("another")]) == {}
        assert set(s.get("acme", EMB, [key("other"), key("stored")])) == {key("stored")}
        assert s.get("nobody", EMB, [key("stored")]) == {}

    def test_nothing_asked_nothing_found(self, sentence_store: SentenceStore) -> None:
        s = sentence_store
        assert s.get("acme", EMB, []) == {}
        s.put("acme", EMB, {})
        assert s.count("acme", EMB) == 0
        assert get_many(s, "acme", EMB, []) == {}
        s.put("acme", EMB, {key("x"): vec(1)})
        assert s.get("acme", EMB, []) == {}
        s.put("acme", EMB, {})
        assert s.count("acme", EMB) == 1

    def test_tenants_and_embedders_never_read_each_others_vectors(
        self, sentence_store: SentenceStore
    ) -> None:
        s = sentence_store
        k = key("The same sentence in two knowledge bases.")
        s.put("acme", EMB, {k: vec(1)})
        assert s.get("globex", EMB, [k]) == {}
        assert s.get("acme", "other-embedder", [k]) == {}
        assert s.count("globex", EMB) == 0 and s.count("acme", "other-embedder") == 0
        s.put("globex", EMB, {k: vec(2)})
        s.put("acme", "other-embedder", {k: vec(3, dim=4)})
        assert np.array_equal(s.get("acme", EMB, [k])[k], vec(1))
        assert np.array_equal(s.get("globex", EMB, [k])[k], vec(2))
        assert np.array_equal(s.get("acme", "other-embedder", [k])[k], vec(3, dim=4))
        assert s.count("acme", EMB) == s.count("globex", EMB) == 1
        assert s.count("acme", "other-embedder") == 1

    def test_writing_a_key_again_keeps_the_first_vector(
        self, sentence_store: SentenceStore
    ) -> None:
        s = sentence_store
        k, new = key("A sentence."), key("A new sentence.")
        s.put("acme", EMB, {k: vec(1)})
        s.put("acme", EMB, {k: vec(2)}, timeout_s=0.5)
        assert np.array_equal(s.get("acme", EMB, [k])[k], vec(1))
        assert s.count("acme", EMB) == 1
        s.put("acme", EMB, {k: vec(3), new: vec(4)})  # a batch with old and new keys
        found = s.get("acme", EMB, [k, new])
        assert np.array_equal(found[k], vec(1)) and np.array_equal(found[new], vec(4))
        assert s.count("acme", EMB) == 2

    def test_vectors_are_copies(self, sentence_store: SentenceStore) -> None:
        s = sentence_store
        k = key("A sentence the caller changes.")
        mine = vec(1).copy()
        s.put("acme", EMB, {k: mine})
        mine[:] = 0.0  # the caller reuses its buffer
        got = s.get("acme", EMB, [k])[k]
        assert np.array_equal(got, vec(1))
        got[:] = 7.0  # and changes what it read
        assert np.array_equal(s.get("acme", EMB, [k])[k], vec(1))

    def test_many_keys_in_one_lookup(self, sentence_store: SentenceStore) -> None:
        s = sentence_store
        rows = {key(f"sentence {i}"): vec(i) for i in range(600)}
        assert len(rows) > LOOKUP_BATCH
        s.put("acme", EMB, rows)
        asked = [*rows, key("never stored"), *list(rows)[:3]]  # unknown and repeated keys
        found = get_many(s, "acme", EMB, asked)
        assert len(found) == 600 and set(found) == set(rows)
        assert np.array_equal(found[key("sentence 599")], vec(599))
        assert all(_bits(found[k]) == _bits(v) for k, v in rows.items())
        assert s.count("acme", EMB) == 600

    def test_writes_from_several_threads_all_land(self, sentence_store: SentenceStore) -> None:
        s = sentence_store
        errors: list[BaseException] = []

        def write(t: int) -> None:
            try:
                for i in range(5):
                    batch = {key(f"t{t} s{i} {j}"): vec(t * 100 + i * 10 + j) for j in range(10)}
                    s.put("acme", EMB, batch)
                    s.get("acme", EMB, list(batch))
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        assert s.count("acme", EMB) == 4 * 5 * 10
        k = key("t3 s4 9")
        assert np.array_equal(s.get("acme", EMB, [k])[k], vec(349))

    def test_close_twice_is_harmless(self, sentence_store: SentenceStore) -> None:
        sentence_store.put("acme", EMB, {key("x"): vec(1)})
        sentence_store.close()
        sentence_store.close()  # and the fixture closes it once more
