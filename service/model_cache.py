"""The one owner of the per-process caches of what a model version determines.

A published model version never changes, so what is derived from it (the restored specs, its files, parsed
forms, the element map of the history view, expanded form schemas) is computed once per process and kept.
Kept, not forever: each cache here is bounded (least recently used entries go first), so a process that
meets many versions over its life (designers publishing, cases migrated between versions, the audit
replaying old cases) holds a fixed amount of memory. Each cache is named and sized here, in one place, and
`forget()` empties them all (tests that build a second database whose ids repeat the first's).

Caches of things that do change (reference lists, the localized schemas built from them) carry a time to
live as well (`timed`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import LRUCache, TTLCache

T = TypeVar("T")


class ModelCache:
    """A named, bounded map; `get(key, load)` returns the cached value or stores what `load()` returns."""

    def __init__(self, name: str, maxsize: int, ttl: float | None = None):
        self.name = name
        self._data = LRUCache(maxsize) if ttl is None else TTLCache(maxsize, ttl)
        # the timer worker and gunicorn's threaded workers share a process's caches between threads
        self._lock = threading.Lock()

    @property
    def maxsize(self) -> int:
        return int(self._data.maxsize)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        with self._lock:
            try:
                return self._data[key]
            except KeyError:
                pass
        value = load()  # outside the lock: loading reads the database, and two loads of one key agree
        with self._lock:
            self._data[key] = value
        return value

    def peek(self, key: Hashable, default=None):
        with self._lock:
            return self._data.get(key, default)

    def put(self, key: Hashable, value) -> None:
        with self._lock:
            self._data[key] = value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_ALL: dict[str, ModelCache] = {}


def bounded(name: str, maxsize: int) -> ModelCache:
    """A cache of immutable version content, keeping the `maxsize` most recently used entries."""
    return _ALL.setdefault(name, ModelCache(name, maxsize))


def timed(name: str, maxsize: int, ttl: float) -> ModelCache:
    """A bounded cache whose entries also expire after `ttl` seconds (content built from data that changes)."""
    return _ALL.setdefault(name, ModelCache(name, maxsize, ttl))


def caches() -> dict[str, ModelCache]:
    return dict(_ALL)


def forget() -> None:
    """Empty every cache (a test process that builds a second database, whose ids repeat the first's)."""
    for cache in _ALL.values():
        cache.clear()
