"""One transaction per use case; a lost race of any kind becomes a Conflict, never a half-written case."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .errors import N_, Conflict
from .services import Services

_LOST_RACE = ("database is locked", "could not serialize", "deadlock detected", "lock not available")


@contextmanager
def unit_of_work(svc: Services) -> Iterator[Session]:
    try:
        with svc.db.transaction() as session:
            yield session
    except StaleDataError:
        raise Conflict(N_("someone else changed this case first; reload it and try again")) from None
    except IntegrityError as exc:
        text = str(exc.orig)
        if "events" in text or "work_items" in text or "event_streams" in text or "UNIQUE" in text.upper():
            raise Conflict(N_("someone else changed this case first; reload it and try again")) from None
        raise
    except OperationalError as exc:
        if any(marker in str(exc.orig).lower() for marker in _LOST_RACE):
            raise Conflict(N_("the case is busy with another change; try again")) from None
        raise
