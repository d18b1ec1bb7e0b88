"""The LRU of query vectors the retriever keeps, and length-bucketed MiniLM batches."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from ragline.embed import HashEmbedder
from ragline.embed._minilm import PAD_RATIO, length_batches
from ragline.embed._query_cache import QueryVectorCache
from ragline.errors import ConfigError


class CountingEmbedder(HashEmbedder):
    def __init__(self, dimension: int = 64) -> None:
        super().__init__(dimension)
        self.queries: list[str] = []

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        self.queries.append(text)
        return super().embed_query(text)


def test_a_repeated_query_is_embedded_once() -> None:
    emb = CountingEmbedder()
    cache = QueryVectorCache(8)
    first, cached_first = cache.embed_query(emb, "warranty period")
    again, cached_again = cache.embed_query(emb, "warranty period")
    assert emb.queries == ["warranty period"]
    assert (cached_first, cached_again) == (False, True)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, HashEmbedder(64).embed_query("warranty period"))
    assert (cache.hits, cache.misses) == (1, 1)


def test_cached_vectors_cannot_be_changed_by_a_caller() -> None:
    cache = QueryVectorCache(8)
    vector, _ = cache.embed_query(CountingEmbedder(), "refund")
    with pytest.raises(ValueError):
        vector[0] = 42.0
    again, _ = cache.embed_query(CountingEmbedder(), "refund")
    np.testing.assert_array_equal(again, HashEmbedder(64).embed_query("refund"))


def test_vectors_of_different_embedders_never_mix() -> None:
    cache = QueryVectorCache(8)
    small, _ = cache.embed_query(CountingEmbedder(32), "refund")
    large, cached = cache.embed_query(CountingEmbedder(64), "refund")
    assert small.shape == (32,) and large.shape == (64,) and not cached


def test_scopes_do_not_share_entries() -> None:
    emb = CountingEmbedder()
    cache = QueryVectorCache(8)
    cache.embed_query(emb, "refund", scope="acme")
    _, cached_other = cache.embed_query(emb, "refund", scope="globex")
    _, cached_same = cache.embed_query(emb, "refund", scope="acme")
    assert (cached_other, cached_same) == (False, True)
    assert emb.queries == ["refund", "refund"]


def test_least_recently_used_query_is_evicted() -> None:
    emb = CountingEmbedder()
    cache = QueryVectorCache(2)
    for text in ["a", "b", "a", "c"]:  # "b" is the least recently used when "c" comes
        cache.embed_query(emb, text)
    assert len(cache) == 2
    emb.queries.clear()
    cache.embed_query(emb, "a")
    cache.embed_query(emb, "b")
    assert emb.queries == ["b"]


def test_size_zero_turns_caching_off() -> None:
    emb = CountingEmbedder()
    cache = QueryVectorCache(0)
    for _ in range(3):
        _, cached = cache.embed_query(emb, "same question")
        assert not cached
    assert len(emb.queries) == 3 and len(cache) == 0


def test_negative_size_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="at least 0") as info:
        QueryVectorCache(-1)
    assert info.value.hint


def test_many_threads_get_the_right_vectors() -> None:
    emb = CountingEmbedder()
    cache = QueryVectorCache(16)
    texts = [f"question {i % 24}" for i in range(400)]  # more texts than fit: evictions race
    expected = {t: HashEmbedder(64).embed_query(t) for t in set(texts)}
    errors: list[str] = []

    def worker(part: Sequence[str]) -> None:
        for t in part:
            v, _ = cache.embed_query(emb, t)
            if not np.array_equal(v, expected[t]):
                errors.append(t)

    threads = [threading.Thread(target=worker, args=(texts[i::8],)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(cache) <= 16


@pytest.mark.parametrize(
    "lengths", [[], [5], [10, 100, 80, 76, 74, 50, 5, 0], [30] * 8, list(range(1, 57, 7))]
)
def test_a_call_that_fits_one_batch_is_split_by_length(lengths: list[int]) -> None:
    batches = length_batches(lengths, 8)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        longest = lengths[batch[0]]
        assert all(PAD_RATIO * longest <= lengths[i] <= longest for i in batch)
    heads = [lengths[b[0]] for b in batches]
    assert heads == sorted(heads, reverse=True)


def test_many_texts_go_in_full_batches_longest_first() -> None:
    lengths = [(i * 37) % 101 for i in range(50)]
    batches = length_batches(lengths, 16)
    assert [len(b) for b in batches] == [16, 16, 16, 2]
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True)
