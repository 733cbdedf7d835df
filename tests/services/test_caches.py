"""The byte-bounded cache: what it keeps is capped by weight, least recently used first."""

from __future__ import annotations

import threading

from lamina.domain.caches import ByteLru


def test_keeps_values_while_their_weights_fit_and_drops_the_least_recently_used() -> None:
    dropped: list[str] = []
    cache: ByteLru[str, str] = ByteLru(10, len, on_evict=dropped.append)
    cache.put("a", "xxxx")
    cache.put("b", "xxxx")
    assert cache.get("a") == "xxxx"  # a is now the most recently used
    cache.put("c", "xxx")
    assert dropped == ["b"] and cache.bytes == 7
    assert cache.get("b") is None and cache.get("a") == "xxxx" and cache.get("c") == "xxx"
    cache.put("a", "x")  # a new value for a key replaces its weight
    assert cache.bytes == 4 and len(cache) == 2


def test_a_value_heavier_than_the_budget_is_not_kept() -> None:
    dropped: list[str] = []
    cache: ByteLru[str, str] = ByteLru(5, len, on_evict=dropped.append)
    cache.put("small", "xx")
    cache.put("huge", "x" * 6)
    assert cache.get("huge") is None and "huge" not in cache
    assert cache.get("small") == "xx" and dropped == []
    cache.put("small", "x" * 6)  # replacing with something too heavy drops the key
    assert "small" not in cache and dropped == ["small"] and cache.bytes == 0


def test_clear_forgets_everything_and_says_so() -> None:
    dropped: list[int] = []
    cache: ByteLru[int, bytes] = ByteLru(100, len, on_evict=dropped.append)
    for key in range(5):
        cache.put(key, b"x" * 10)
    cache.clear()
    assert len(cache) == 0 and cache.bytes == 0 and sorted(dropped) == [0, 1, 2, 3, 4]


def test_the_budget_holds_under_concurrent_writers() -> None:
    cache: ByteLru[int, bytes] = ByteLru(1000, len)

    def write(start: int) -> None:
        for key in range(start, start + 500):
            cache.put(key, b"x" * (key % 37 + 1))
            cache.get(key - 3)

    threads = [threading.Thread(target=write, args=(i * 1000,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0 < cache.bytes <= 1000
    assert cache.bytes == sum(len(cache.get(k) or b"") for k in list(cache._items))
