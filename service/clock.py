"""The application's idea of "now", replaceable in tests (time travel) without touching the system clock.

Every timestamp tejun writes and every timer the engine evaluates reads `now()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

# Japan Standard Time (UTC+9, no summer time): the one definition every module uses for dates shown or decided
# "in Japan" (due dates, list dates, pages); stored moments stay in UTC
JST = timezone(timedelta(hours=9), "JST")

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
_held = threading.local()


def now() -> datetime:
    moment = getattr(_held, "moment", None)
    return moment if moment is not None else _source()


def set_source(source: Callable[[], datetime]) -> None:
    global _source
    _source = source


def reset() -> None:
    set_source(lambda: datetime.now(UTC))




@contextmanager
def held_at(moment: datetime) -> Iterator[datetime]:
    """Make `now()` return `moment` in this thread only, inside the block.

    A use case runs at one instant (its events' `at` is the time its engine steps and scripts saw), and a
    replay re-runs each event at its recorded instant, without disturbing other threads of the process.
    """
    previous = getattr(_held, "moment", None)
    _held.moment = moment
    try:
        yield moment
    finally:
        _held.moment = previous


class TravellingClock:
    """A clock for tests: starts at a given moment and moves only when told to."""

    def __init__(self, start: datetime):
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment
