"""One least-recently-used table, bounded in entries and in bytes, for every per-worker cache.

Clients choose many keys (query values, Host headers, ETags they send back),
so every table a worker keeps is one of these: the oldest entries leave when
either bound is passed, and a value larger than the whole byte budget is
never kept. Sizes are estimates of what the entry holds, key included.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

ENTRY_OVERHEAD = 200  # dict slot, tuple and object headers of one entry, roughly


def key_bytes(key: object) -> int:
    """A cheap estimate of what a cache key holds: strings by length, the rest by count.

    Named tuples (the store's entries and stats) are the store's own objects, which
    a key only refers to: 8 bytes each, not their fields again (and a feed's key,
    holding fifty entries, is counted without walking some 500 fields).
    """
    if isinstance(key, str | bytes):
        return len(key)
    if type(key) is tuple:
        return 8 * len(key) + sum(key_bytes(part) for part in key
                                  if isinstance(part, str | bytes) or type(part) is tuple)
    return 8


class Bounded(Generic[K, V]):
    """An LRU mapping: at most max_entries entries and max_bytes bytes, thread-safe."""

    def __init__(self, max_entries: int, max_bytes: int, size: Callable[[K, V], int]) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._size = size
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self.bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> None:
        """Keep value under key (replacing any), then drop the oldest entries past a bound."""
        size = self._size(key, value) + ENTRY_OVERHEAD
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            if size > self.max_bytes:
                return  # would push out everything else and still not fit
            self._items[key] = (value, size)
            self.bytes += size
            while len(self._items) > self.max_entries or self.bytes > self.max_bytes:
                self.bytes -= self._items.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0
