"""The application's idea of "now", replaceable in tests (time travel) without touching the system clock.

Every timestamp tejun writes and every timer the engine evaluates reads `now()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _source()


def set_source(source: Callable[[], datetime]) -> None:
    global _source
    _source = source


def reset() -> None:
    set_source(lambda: datetime.now(UTC))


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Make `now()` return `moment` inside the block (process-wide, for tests and replays)."""
    previous = _source
    set_source(lambda: moment)
    try:
        yield
    finally:
        set_source(previous)


class TravellingClock:
    """A clock for tests: starts at a given moment and moves only when told to."""

    def __init__(self, start: datetime):
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment
