"""A least-recently-used cache bounded in bytes: what a process keeps in memory is capped
by what the values weigh, not by how many there are."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLru(Generic[K, V]):
    """Keeps values while their weights (`weigh(value)`, in bytes) sum to at most
    `max_bytes`, dropping the least recently used first; a value heavier than the whole
    budget is not kept. `on_evict(key)` hears of every drop. Thread-safe."""

    def __init__(
        self,
        max_bytes: int,
        weigh: Callable[[V], int],
        *,
        on_evict: Callable[[K], None] | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self._weigh = weigh
        self._on_evict = on_evict
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> None:
        weight = max(1, self._weigh(value))
        evicted: list[K] = []
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if weight <= self.max_bytes:
                self._items[key] = (value, weight)
                self._bytes += weight
            elif old is not None:
                evicted.append(key)
            while self._bytes > self.max_bytes and self._items:
                gone, (_, gone_weight) = self._items.popitem(last=False)
                self._bytes -= gone_weight
                evicted.append(gone)
        if self._on_evict is not None:
            for gone in evicted:
                self._on_evict(gone)

    def clear(self) -> None:
        with self._lock:
            keys = list(self._items)
            self._items.clear()
            self._bytes = 0
        if self._on_evict is not None:
            for key in keys:
                self._on_evict(key)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    @property
    def bytes(self) -> int:
        """The summed weight of what is kept."""
        return self._bytes
